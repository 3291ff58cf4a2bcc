"""What each importable entity's fields are, and how a CSV row becomes a checked record.

A `RowReader` is compiled once per file from the mapping and the header: per field, where the
raw text comes from and how it is parsed. Per row it then only indexes, maps and parses. The
entity's `finish_*` function applies the rules that span fields (a won deal needs a close
date, an engaged outcome makes the activity engaged) and the configuration (known kinds).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from paceline.calendar import local_midnight_utc
from paceline.config import Settings
from paceline.errors import did_you_mean
from paceline.ingest.entity_names import Entity
from paceline.ingest.fields import (
    MIN_YEAR,
    CurrencyCheck,
    FieldError,
    FileTime,
    Moments,
    Parser,
    TimestampParser,
    local_to_utc,
    make_date_parser,
    make_money_parser,
    make_text_parser,
    make_timestamp_parser,
    parse_bool,
    parse_float,
    parse_text,
)
from paceline.store.models import utcnow
from paceline.store.names import default_role

if TYPE_CHECKING:  # the mapping's Pydantic models load with an import, not with `log`
    from paceline.ingest.mapping import ColumnSpec, Mapping

FieldKind = Literal["text", "bool", "number", "money", "currency", "date", "timestamp"]
Record = dict[str, Any]
UNIT_TO_MINUTES = {"minutes": 1.0, "seconds": 1 / 60, "milliseconds": 1 / 60_000, "hours": 60.0}
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class FieldDef:
    name: str
    kind: FieldKind
    required: bool = False
    help: str = ""
    # A required field whose column must be there but whose cell may be empty: the value is
    # then unknown (None), e.g. a deal's amount that the CRM left blank, which is not 0.
    blank_ok: bool = False


ENTITY_FIELDS: dict[Entity, tuple[FieldDef, ...]] = {
    "activities": (
        FieldDef("external_id", "text", help="id in the source system; makes re-import safe"),
        FieldDef("rep", "text", True, "rep name (created if new, unless --no-new-reps)"),
        FieldDef("kind", "text", True, "activity kind from the configuration, e.g. call"),
        FieldDef("occurred_at", "timestamp", True, "when; ISO 8601, offset optional"),
        FieldDef("duration_min", "number", help="minutes, 0 or more"),
        FieldDef("outcome", "text", help="outcome from the configuration, e.g. meeting_set"),
        FieldDef("has_ask", "bool", help="yes if the rep put an Ask in front of the prospect"),
        FieldDef("engaged", "bool", help="yes if the client acted at our request"),
        FieldDef("account", "text", help="account name (created if new)"),
        FieldDef("account_ref", "text", help="account id in the same source system"),
        FieldDef("contact", "text", help="contact name at the account (created if new)"),
        FieldDef("contact_ref", "text", help="contact id in the same source system"),
        FieldDef("deal_ref", "text", help="deal id in the same source system"),
        FieldDef("notes", "text"),
    ),
    "deals": (
        FieldDef("external_id", "text", True, "id in the source system"),
        FieldDef("name", "text", True),
        FieldDef("rep", "text", True, "owner's name (created if new, unless --no-new-reps)"),
        FieldDef("sourced_by", "text", help="rep who sourced it, e.g. the SDR (created if new)"),
        FieldDef("amount", "money", True, 'e.g. 22700 or "$22,700.00"; empty: unknown', True),
        FieldDef("currency", "currency", help="ISO code of the amount's currency, e.g. USD"),
        FieldDef("stage", "text", True, "stage name; its status comes from the configuration"),
        FieldDef("status", "text", help="open, won or lost (overrides the stage's status)"),
        FieldDef("created_at", "timestamp", True),
        FieldDef("closed_at", "timestamp", help="required for won and lost deals"),
        FieldDef("expected_close", "date", help="expected close date of an open deal"),
        FieldDef("account", "text", help="account name (created if new)"),
        FieldDef("account_ref", "text", help="account id in the same source system"),
        FieldDef("stage_changed_at", "timestamp", help="when the current stage was entered"),
    ),
    "reps": (
        FieldDef("name", "text", True),
        FieldDef("external_id", "text"),
        FieldDef("email", "text"),
        FieldDef("role", "text", help="role from the configuration, e.g. sdr, ae, field"),
        FieldDef("team", "text", help="team name (created if new)"),
        FieldDef("manager", "text", help="manager's rep name"),
        FieldDef("start_date", "date"),
        FieldDef("capacity", "number", help="share of a full quota, e.g. 0.5 while ramping"),
    ),
    "accounts": (
        FieldDef("name", "text", True),
        FieldDef("external_id", "text"),
        FieldDef("industry", "text"),
        FieldDef("account_type", "text"),
        FieldDef("owner", "text", help="owning rep's name"),
    ),
    "contacts": (
        FieldDef("name", "text", True),
        FieldDef("external_id", "text", help="id in the source system"),
        FieldDef("account", "text", help="account name (created if new)"),
        FieldDef("account_ref", "text", help="account id in the same source system"),
        FieldDef("title", "text"),
        FieldDef("seniority", "text", help="e.g. staff, manager, director, vp, c_level"),
        FieldDef("decision_maker", "bool", help="yes if they can decide the purchase"),
        FieldDef("email", "text"),
    ),
    "stage_history": (
        FieldDef("deal_ref", "text", True, "the deal's id in the same source system"),
        FieldDef("stage", "text", True, "the stage the deal entered"),
        FieldDef("entered_at", "timestamp", True, "when it entered the stage"),
        FieldDef("status", "text", help="open, won or lost (overrides the stage's status)"),
        FieldDef("amount", "money", help="the deal's amount then (default: its amount now)"),
        FieldDef("currency", "currency", help="ISO code of the amount's currency, e.g. USD"),
        FieldDef("external_id", "text", help="id of the history row in the source system"),
    ),
}


MAX_AMOUNT = Decimal(10) ** 14  # what the amount column (16 digits, 2 of them cents) holds
# Longest text each field may hold (the narrowest database column it is stored in).
DEFAULT_TEXT_LIMIT = 200
TEXT_LIMITS: dict[str, int] = {
    "notes": 1_000_000,
    "email": 320,
    "account": 300,
    "contact": 300,
    "account_type": 64,
    "seniority": 32,
}
WIDE_NAMES: frozenset[Entity] = frozenset({"deals", "accounts", "contacts"})  # name up to 300


def text_limit(entity: Entity, field_name: str) -> int:
    if field_name == "name" and entity in WIDE_NAMES:
        return 300
    return TEXT_LIMITS.get(field_name, DEFAULT_TEXT_LIMIT)


def field_names(entity: Entity) -> list[str]:
    return [f.name for f in ENTITY_FIELDS[entity]]


def required_fields(entity: Entity) -> list[str]:
    return [f.name for f in ENTITY_FIELDS[entity] if f.required]


@functools.lru_cache(maxsize=4096)
def slug(text: str) -> str:
    """'Closed Won' -> 'closed_won': how stage, kind and outcome names are compared."""
    return _SLUG.sub("_", text.strip().lower()).strip("_")


def content_hash(record: Record) -> str:
    """A record's fingerprint: detects changed rows on re-import, and keys rows without ids.

    It must not move between Paceline versions, or every re-import after an upgrade would
    count each row as updated (and rows keyed by content would be doubled). So it hashes
    (field, value) pairs in name order and leaves out empty fields: a new optional field
    changes nothing for records that do not use it. New fields must default to None.
    """
    names = tuple(record)
    order = _NAME_ORDER.get(names)
    if order is None:  # records of one entity share their keys: sorted once per key set
        order = _NAME_ORDER[names] = tuple(sorted(names))
    # The same text as repr(sorted(pairs)): names are unique, so values are never compared.
    pairs = [(name, value) for name in order if (value := record[name]) is not None]
    return hashlib.blake2b(repr(pairs).encode(), digest_size=16).hexdigest()


_NAME_ORDER: dict[tuple[str, ...], tuple[str, ...]] = {}


def _refuse_repeated_columns(header: list[str], used: set[str]) -> None:
    """A column read by the mapping that appears twice: which one is meant is unknowable, and
    taking either would change rows silently (an unused repeated column does no harm)."""
    positions: dict[str, list[int]] = {}
    for number, name in enumerate(header, start=1):
        if name in used:
            positions.setdefault(name, []).append(number)
    repeated = {name: where for name, where in positions.items() if len(where) > 1}
    if repeated:
        said = "; ".join(
            f"{name!r} is columns {', '.join(map(str, where))}" for name, where in repeated.items()
        )
        raise FieldError(f"the header repeats a column the import reads: {said}")


class RowReader:
    """Turns one CSV row (a list of strings) into parsed field values."""

    def __init__(
        self,
        entity: Entity,
        mapping: Mapping,
        header: list[str],
        zone: ZoneInfo,
        business_zone: ZoneInfo | None = None,
        currency: str | CurrencyCheck | None = None,
        key_zone: ZoneInfo | None = None,
    ) -> None:
        """`currency` is the configured one (`[money] currency`): money in another is
        refused; None: the first currency the file marks, and no other; or the check to
        read money with (the importer's, which knows the database's currency). `key_zone`:
        the zone the rows' fingerprints are worked out in (`keyed_moment`; default the
        business zone)."""
        self.entity = entity
        self.business_zone = business_zone or zone
        self.key_zone = key_zone or self.business_zone
        self.header = header
        index = {name: i for i, name in enumerate(header)}
        known = {f.name: f for f in ENTITY_FIELDS[entity]}
        specs = mapping.specs()
        unknown = sorted(set(specs) - set(known))
        if unknown:
            raise FieldError(f"unknown field(s) for {entity}: {', '.join(unknown)}")
        used = {c for spec in specs.values() for c in spec.source_columns}
        _refuse_repeated_columns(header, used)
        self.missing_columns = sorted(c for c in used if c not in index)
        self.missing_fields = [f for f in required_fields(entity) if f not in specs]
        # The column each field reads first, so an error can name the cell it came from.
        self._columns = {
            name: index[spec.source_columns[0]]
            for name, spec in specs.items()
            if spec.source_columns and spec.source_columns[0] in index
        }
        check = currency if isinstance(currency, CurrencyCheck) else CurrencyCheck(currency)
        parsers = _parsers(mapping, zone, business_zone or zone, check)
        dates_only = make_timestamp_parser(mapping.date_formats, zone, business_zone, True)
        # (field, the column a plain field reads or None, getter, parser)
        self._steps = [
            (
                name,
                _plain_column(spec, index),
                _getter(spec, index),
                _scaled(_parser(entity, known[name], spec, parsers, dates_only), spec),
            )
            for name, spec in specs.items()
            if not self.missing_columns
        ]
        # Text fields, read column-wise by `read_columns` with their length limit.
        self._texts = {
            name: text_limit(entity, name)
            for name, spec in specs.items()
            if known[name].kind == "text" and spec.unit in (None, "minutes")
        }
        blank_ok = {f.name for f in ENTITY_FIELDS[entity] if f.blank_ok}
        self._required = [f for f in required_fields(entity) if f in specs and f not in blank_ok]
        self._skip = [
            (index[col], set(values), col) for col, values in mapping.skip.items() if col in index
        ]
        # Fields whose parser is a function of the cell's text alone and whose cells repeat
        # from chunk to chunk (numbers, yes/no): their values kept by `read_columns` for the
        # whole import (`_parsed`), not parsed afresh in every chunk.
        self._kept = {name for name in specs if known[name].kind in _KEPT_KINDS}
        self._memos: dict[str, _Parsed] = {}
        self.missing_columns += sorted(c for c in mapping.skip if c not in index)

    def column_of(self, field_name: str) -> int | None:
        """The position of the (first) column `field_name` is read from, if any."""
        return self._columns.get(field_name)

    @property
    def has_skip_rules(self) -> bool:
        return bool(self._skip)

    def should_skip(self, row: list[str]) -> bool:
        return any(row[i] in values for i, values, _ in self._skip)

    def skip_reason(self, row: list[str]) -> str:
        """Why `should_skip` passes over the row, for the import's notes: a count of rows
        "skipped" alone leaves a user guessing whether rows were lost. A CRM reader's derived
        `paceline:skip` column holds the reason itself ("open task"); a mapping's own rule
        is named by its column and value."""
        for i, values, column in self._skip:
            if row[i] in values:
                return row[i] if column.startswith("paceline:") else f"{column} is {row[i]!r}"
        return "skip rule"

    def read(self, row: list[str]) -> dict[str, object]:
        values: dict[str, object] = {}
        for name, position, get, parse in self._steps:
            # The hot path of every import: a plain column is indexed without a call.
            raw = row[position] if position is not None else get(row)
            if not raw:  # None or ""
                values[name] = None
                continue
            try:
                values[name] = parse(raw)
            except FieldError as exc:
                exc.field = name
                raise
        for name in self._required:
            if values.get(name) is None:
                raise FieldError("required value is empty", name)
        return values

    def _parsed(self, name: str, parse: Parser) -> _Parsed:
        """The memo of a field's parser: one per chunk, or kept for the import for a
        field of `_KEPT_KINDS` (started again once it holds `PARSED_KEPT` texts)."""
        if name not in self._kept:
            return _Parsed(parse)
        memo = self._memos.get(name)
        if memo is None or len(memo) > PARSED_KEPT:
            memo = self._memos[name] = _Parsed(parse)
        return memo

    def read_columns(
        self, rows: list[list[str]] | None, cells: Sequence[Sequence[str]] | None = None
    ) -> tuple[dict[str, Column], set[int]]:
        """`read` for many rows at once, column by column: per field, the raw cells and
        their values, and the positions of the rows `read` would refuse. `cells` are the
        file's columns when the caller has them already (`csvfile.split_block`); the rows
        are then needed only for a field not read from one column as it is.

        Every parser is a function of the cell's text alone, so each distinct text of a
        column is parsed once (a file repeats its reps, kinds, days and durations). A refused
        row is only marked here: `read` itself, row by row, says why, so a rejection reads
        the same whichever way the rows went."""
        columns: dict[str, Column] = {}
        bad: set[int] = set()
        if cells is None:  # the file's columns (rows are all as wide)
            cells = list(zip(*(rows or ()), strict=True))
        for name, position, get, parse in self._steps:
            if position is None and rows is None:
                rows = list(map(list, zip(*cells, strict=True)))
            raw = cells[position] if position is not None else tuple(map(get, rows or ()))
            limit = self._texts.get(name)
            values = _texts(raw, limit, name == "external_id") if limit is not None else None
            moments = None
            if values is None and isinstance(parse, TimestampParser):
                moments = parse.column(raw)  # every cell a moment
                values = moments.utc if moments is not None else None
            if values is None:
                values = list(map(self._parsed(name, parse).__getitem__, raw))
                mark_bad(bad, values)  # (texts and moments read whole are never BAD)
            if name in self._required and None in values:
                bad.update(i for i, value in enumerate(values) if value is None)
            columns[name] = Column(raw, values, moments)
        return columns, bad


BAD: Any = object()  # a value that cannot be used; its row is read again, row by row
# The kinds of field whose parsed values `read_columns` keeps for a whole import: their
# parsers are functions of the text alone (money is not: the first currency a file marks
# decides the rest), and their cells repeat (a file's durations are a few hundred values).
_KEPT_KINDS = frozenset({"number", "bool"})
PARSED_KEPT = 20_000


def _texts(raw: Sequence[str | None], limit: int, unique: bool = False) -> list[Any] | None:
    """A text column as `make_text_parser(limit)` reads it, in C calls over the column; None
    when a cell needs the parser itself (too long, a NUL byte, no cell at all).

    A column empty in every row (a file's unused contacts, deal references) costs one C
    scan. Otherwise each distinct cell is stripped and checked once, and equal values come
    out as one object (an empty cell as None, a blank one as an empty text), so that a
    chunk's equal reps and accounts pickle as one value each; a column of `unique` values
    (the external ids) is stripped and checked cell by cell instead, which costs less."""
    if not any(raw):  # nothing in any cell
        return [None] * len(raw)
    if None in raw:
        return None
    if unique:
        values: list[Any] = list(map(str.strip, raw))  # type: ignore[arg-type]
        if max(map(len, values)) > limit or "\x00" in "".join(values):
            return None
        if "" in raw:
            values = [value if cell else None for cell, value in zip(raw, values, strict=True)]
        return values
    cells: dict[Any, Any] = dict.fromkeys(raw)
    texts = list(map(str.strip, cells))
    if max(map(len, texts)) > limit or "\x00" in "".join(texts):
        return None
    first: dict[str, str] = {}
    cells = dict(zip(cells, map(first.setdefault, texts, texts), strict=True))
    if "" in cells:  # an empty cell is no value (a blank one is an empty text)
        cells[""] = None
    return list(map(cells.__getitem__, raw))


def mark_bad(bad: set[int], values: list[Any]) -> None:
    """Add the positions of `BAD` values to `bad` (most columns have none: one C scan)."""
    if BAD in values:  # values are text, numbers, dates: none equals BAD but itself
        bad.update(i for i, value in enumerate(values) if value is BAD)


@dataclass(frozen=True)
class Column:
    """One field over many rows: the raw cells (what the values are functions of) and the
    values `read` gives them (`BAD` where it refuses one)."""

    raw: Sequence[str | None]
    values: list[Any]
    # A timestamp column read whole (`TimestampParser.column`); `values` then holds only
    # the UTC moments (`Moments.pairs` gives what `read` gives).
    moments: Moments | None = None


class _Parsed(dict[Any, Any]):
    """A parser that remembers each text's value (or `BAD`); empty cells are None, as in
    `read`."""

    def __init__(self, parse: Parser) -> None:
        super().__init__({"": None, None: None})
        self.parse = parse

    def __missing__(self, raw: str) -> Any:
        try:
            value = self.parse(raw)
        except FieldError:
            value = BAD
        self[raw] = value
        return value


def _parsers(
    mapping: Mapping, zone: ZoneInfo, business_zone: ZoneInfo, currency: CurrencyCheck
) -> dict[FieldKind, Parser]:
    return {
        "text": parse_text,
        "bool": parse_bool,
        "number": parse_float,
        "money": make_money_parser(currency),
        "currency": currency.parse_code,
        "date": make_date_parser(mapping.date_formats, business_zone),
        "timestamp": make_timestamp_parser(mapping.date_formats, zone, business_zone),
    }


def _parser(
    entity: Entity,
    field_def: FieldDef,
    spec: ColumnSpec,
    parsers: dict[FieldKind, Parser],
    dates_only: Parser,
) -> Parser:
    if field_def.kind == "text":
        return make_text_parser(text_limit(entity, field_def.name))
    if field_def.kind == "timestamp" and spec.date_only:
        return dates_only
    return parsers[field_def.kind]


def _plain_column(spec: ColumnSpec, index: dict[str, int]) -> int | None:
    """The position of the one column a field reads as it is (no constant, join or map)."""
    if spec.value is not None or spec.columns is not None:
        return None
    if spec.map or spec.otherwise is not None or spec.default is not None:
        return None
    return index[spec.column or ""]


def _getter(spec: ColumnSpec, index: dict[str, int]) -> Callable[[list[str]], str | None]:
    """Raw text for a field: from a column, several columns, or a constant; then mapped."""
    if spec.value is not None:
        constant = spec.value
        return lambda _row: constant
    if spec.columns is not None:
        positions = [index[c] for c in spec.columns]

        def joined(row: list[str]) -> str | None:
            parts = [row[i].strip() for i in positions]
            return "|".join(parts) if any(parts) else None

        base: Callable[[list[str]], str | None] = joined
    else:
        position = index[spec.column or ""]
        base = lambda row: row[position]  # noqa: E731 - the hot path wants no extra frame
    if not (spec.map or spec.otherwise is not None or spec.default is not None):
        return base
    table, otherwise, default = spec.map, spec.otherwise, spec.default

    def mapped(row: list[str]) -> str | None:
        raw = base(row)
        key = raw.strip() if raw else ""
        if key in table:
            return table[key]
        if key == "":
            return default if default is not None else otherwise
        return otherwise if otherwise is not None else raw

    return mapped


def _scaled(parse: Parser, spec: ColumnSpec) -> Parser:
    if spec.unit is None or spec.unit == "minutes":
        return parse
    factor = UNIT_TO_MINUTES[spec.unit]
    return lambda raw: _number(parse(raw)) * factor


# --- per-entity rules ------------------------------------------------------------------------


def finish_activity(
    values: dict[str, object],
    settings: Settings,
    now: dt.datetime | None = None,
    key_zone: ZoneInfo | None = None,
) -> Record:
    """A checked activity record. `now` (naive UTC; default: the time of the call) is what
    "in the future" is measured against; tests and imports pass a fixed one. Its
    fingerprint is worked out in `key_zone` (default the calendar's; `keyed_moment`)."""
    kind = slug(str(values["kind"]))
    if kind not in settings.kind_names:
        hint = did_you_mean(kind, settings.kind_names)
        raise FieldError(
            f"unknown kind {values['kind']!r}{hint}{_known(settings.kind_names)}", "kind"
        )
    outcome = slug(str(values["outcome"])) if values.get("outcome") else None
    if outcome is not None and outcome not in settings.outcome_names:
        hint = did_you_mean(outcome, settings.outcome_names)
        raise FieldError(
            f"unknown outcome {values['outcome']!r}{hint}{_known(settings.outcome_names)}",
            "outcome",
        )
    duration = values.get("duration_min")
    check_not_negative(duration)
    occurred_utc, occurred_local = _moment(values["occurred_at"])
    check_activity(
        kind, outcome, duration, occurred_utc, settings, utcnow() if now is None else now
    )
    record: Record = {
        "rep": values["rep"],
        "kind": kind,
        "occurred_at": occurred_utc,
        "local_date": occurred_local.date(),
        "duration_min": duration,
        "outcome": outcome,
        "has_ask": has_ask_of(values.get("has_ask"), outcome, settings),
        "engaged": engaged_of(values.get("engaged"), outcome, settings),
        "account": values.get("account"),
        "account_ref": values.get("account_ref"),
        "contact": values.get("contact"),
        "contact_ref": values.get("contact_ref"),
        "deal_ref": values.get("deal_ref"),
        "notes": values.get("notes"),
    }
    hashed = _keyed(record, settings.calendar.zone, key_zone)
    record["row_hash"] = content_hash(hashed)
    external_id = values.get("external_id")
    record["external_id"] = external_id or f"h:{_key(record, hashed, values, key_zone)}"
    return record


def _key(
    record: Record, hashed: Record, values: dict[str, object], key_zone: ZoneInfo | None
) -> str:
    """The hash that keys an activity without an id: its fingerprint, but for a time the
    file wrote without an offset (`FileTime`) once the zone has changed, which is read
    in the key zone as it was when first imported (`wall_keyed`)."""
    moment = values["occurred_at"]
    if hashed is record or key_zone is None or type(moment) is not FileTime:
        return str(record["row_hash"])
    return content_hash(wall_keyed(hashed, moment[1], key_zone))


def wall_keyed(hashed: Record, wall: dt.datetime, key_zone: ZoneInfo) -> Record:
    """A fingerprint's record with the time the file wrote (`wall`, no offset) read in
    `key_zone`.

    A file without offsets is read in the configured zone: after a change of zone its
    times are other instants, and its rows without ids, keyed by them, were added again
    beside the rows read before. Read in the key zone, the file's time gives the key it
    gave then; the row is found and updated to the instant read now."""
    return {
        **hashed,
        "occurred_at": wall_to_utc(key_zone)(wall),
        "local_date": wall.date(),
    }


@functools.lru_cache(maxsize=64)
def wall_to_utc(zone: ZoneInfo) -> Callable[[dt.datetime], dt.datetime]:
    """A time as a file wrote it, read in `zone`, in UTC (`fields.local_to_utc`, per zone)."""
    return local_to_utc(zone)


def _keyed(record: Record, business: ZoneInfo, key_zone: ZoneInfo | None) -> Record:
    """`record` as its fingerprint sees it: its moment and day in `key_zone`."""
    if key_zone is None or key_zone.key == business.key:
        return record
    occurred_at, local_date = keyed_moment(
        record["occurred_at"], record["local_date"], business, key_zone
    )
    return {**record, "occurred_at": occurred_at, "local_date": local_date}


def keyed_moment(
    utc: dt.datetime, day: dt.date, business: ZoneInfo, key_zone: ZoneInfo
) -> tuple[dt.datetime, dt.date]:
    """An activity's moment (naive UTC) and day (`day`, in `business`) as its fingerprint
    holds them: in `key_zone`, the zone of the database's first imports (`store.day_zone.
    key_zone`).

    The fingerprint tells a changed row on import, and is the key of a row without an id.
    Worked out in the configured zone, it moved when the zone changed: a date without a
    time is stored at the zone's midnight, and every day is the zone's. So a file imported
    again after a change of zone was "updated" where nothing had changed, and the rows of a
    file without ids were added a second time. In one fixed zone, the same row gives the
    same fingerprint: a date without a time (at `business`'s midnight, as `store.day_zone`
    tells one) is `key_zone`'s midnight of its date; an instant stays, on its day there."""
    if utc == _midnight(business, day):
        return _midnight(key_zone, day), day
    return utc, utc.replace(tzinfo=dt.UTC).astimezone(key_zone).date()


# A day's midnight in a zone, remembered: a file's rows share few days.
_midnight = functools.lru_cache(maxsize=65_536)(local_midnight_utc)


def check_activity(
    kind: str,
    outcome: str | None,
    duration: object,
    occurred_utc: dt.datetime,
    settings: Settings,
    now: dt.datetime,
) -> None:
    """Refuse an activity that cannot have happened as stated, naming the field.

    One rule for every write (import, `log`, the API, the web form). An outcome must fit the
    kind (an admin task does not set a meeting); a duration or a date beyond the configured
    limits is a typo ("100000" minutes, next year instead of this one). `now` is naive UTC.
    """
    check_fits(kind, outcome, settings)
    check_longest(duration, settings)
    check_moment(occurred_utc, settings, now)


def check_fits(kind: object, outcome: str | None, settings: Settings) -> None:
    """An outcome must fit the kind (an admin task does not set a meeting)."""
    fits = settings.outcome_kinds.get(outcome) if outcome else None
    if fits is not None and kind not in fits:
        raise FieldError(
            f"outcome {outcome!r} does not fit kind {kind!r} (it fits: {', '.join(fits)})",
            "outcome",
        )


def check_not_negative(duration: object) -> None:
    if duration is not None and _number(duration) < 0:
        raise FieldError(f"duration cannot be negative: {duration}", "duration_min")


def check_longest(duration: object, settings: Settings) -> None:
    """A duration beyond the configured limit is a typo ("100000" minutes)."""
    rules = settings.activities
    # Reasons without the value, so the summary counts them as one (the row has the value).
    if duration is not None and _number(duration) > rules.max_duration_min:
        raise FieldError(
            f"duration longer than {rules.max_duration_min:,g} minutes "
            "([activities] max_duration_min)",
            "duration_min",
        )


def check_moment(occurred_utc: dt.datetime, settings: Settings, now: dt.datetime) -> None:
    """A date beyond the configured future, or before any sales record, is a typo (next
    year instead of this one). Both naive UTC."""
    rules = settings.activities
    if occurred_utc > now + dt.timedelta(days=rules.max_future_days):
        raise FieldError(
            f"occurred_at more than {rules.max_future_days} day(s) in the future "
            f"(after {now:%Y-%m-%d %H:%M} UTC; [activities] max_future_days)",
            "occurred_at",
        )
    if occurred_utc.year < MIN_YEAR:
        raise FieldError(f"occurred_at is before {MIN_YEAR}", "occurred_at")


def has_ask_of(given: object, outcome: str | None, settings: Settings) -> bool:
    """An outcome only an Ask produces (a meeting set) implies the Ask; a row that says
    "no Ask" with it contradicts itself and is refused rather than silently flipped.
    False from a form or the API is "not ticked", so the faces pass None for it."""
    if outcome is None or outcome not in settings.ask_outcomes:
        return bool(given or False)
    if given is False:
        raise FieldError(f"outcome {outcome!r} implies an Ask, but has_ask says no", "has_ask")
    return True


def engaged_of(given: object, outcome: str | None, settings: Settings) -> object:
    """Engagement as stated, or else as the outcome implies (a reply is engaged)."""
    return (outcome in settings.engaged_outcomes) if given is None else given


# An imported deal whose close comes before its creation (the key the writer counts it by).
ENTERED_AFTER_CLOSE = "entered_after_close"


def finish_deal(
    values: dict[str, object],
    settings: Settings,
    *,
    imported: bool = False,
    key_zone: ZoneInfo | None = None,
) -> Record:
    """A checked deal. A close before the creation is refused when a person types it (a
    typo), but kept when `imported`: CRMs' close dates are typed by people while the
    creation is the system's timestamp, so a deal entered after it was won (a migration, a
    late entry) closes "before" it was created. Its close stays as given (revenue lands in
    the period it was won), its creation too, and the record is flagged
    (`ENTERED_AFTER_CLOSE`) for the import to count; the analyses leave its unknown sales
    cycle out (`pipeline_history.KnownDeal.entered_after_close`). Its fingerprint is worked
    out in `key_zone` (`keyed_instant`)."""
    stage = slug(str(values["stage"]))
    if not stage:
        raise FieldError("stage is empty after normalising", "stage")
    if stage not in settings.stage_status:
        raise FieldError(unknown_stage(str(values["stage"]), settings), "stage")
    status = slug(str(values["status"])) if values.get("status") else None
    status = status or settings.stage_status[stage]
    if status not in ("open", "won", "lost"):
        raise FieldError(f"status must be open, won or lost, not {values['status']!r}", "status")
    amount = values.get("amount")  # None: the source left it empty (unknown, not 0)
    assert amount is None or isinstance(amount, Decimal)
    if amount is not None and amount < 0:
        raise FieldError(f"amount cannot be negative: {amount}", "amount")
    if amount is not None and amount >= MAX_AMOUNT:
        raise FieldError(f"amount too large: {amount} (at most {MAX_AMOUNT - 1:,})", "amount")
    created_utc, created_local = _moment(values["created_at"])
    closed = values.get("closed_at")
    closed_utc = _utc(closed)
    entered_after_close = False
    if status == "open":
        closed_utc = None
    elif closed is None:
        raise FieldError(f"a {status} deal needs closed_at", "closed_at")
    elif _closed_before_created(_moment(closed), (created_utc, created_local)):
        if not imported:
            raise FieldError("closed_at is before created_at", "closed_at")
        entered_after_close = True
    record: Record = {
        "name": values["name"],
        "rep": values["rep"],
        "sourced_by": values.get("sourced_by"),
        "amount": None if amount is None else amount.quantize(Decimal("0.01")),
        "stage": stage,
        "status": status,
        "created_at": created_utc,
        "closed_at": closed_utc,
        "expected_close": values.get("expected_close"),
        "account": values.get("account"),
        "account_ref": values.get("account_ref"),
    }
    record["row_hash"] = content_hash(_deal_keyed(record, values, settings.calendar.zone, key_zone))
    record["external_id"] = values["external_id"]
    record["stage_changed_at"] = _utc(values.get("stage_changed_at"))
    record[ENTERED_AFTER_CLOSE] = entered_after_close
    return record


def finish_imported_deal(
    values: dict[str, object], settings: Settings, key_zone: ZoneInfo | None = None
) -> Record:
    """`finish_deal` for imports: a close before the creation is kept and flagged."""
    return finish_deal(values, settings, imported=True, key_zone=key_zone)


def _deal_keyed(
    record: Record, values: dict[str, object], business: ZoneInfo, key_zone: ZoneInfo | None
) -> Record:
    """`record` as its fingerprint sees it: its dates without a time at `key_zone`'s
    midnight (a deal closed "2021-04-01", imported again after a change of zone, read as
    updated where nothing had changed)."""
    if key_zone is None or key_zone.key == business.key:
        return record
    keyed = dict(record)
    for name in ("created_at", "closed_at"):
        if record[name] is not None:
            keyed[name] = keyed_instant(_moment(values[name]), key_zone)
    return keyed


def keyed_instant(moment: tuple[dt.datetime, dt.datetime], key_zone: ZoneInfo) -> dt.datetime:
    """A parsed (UTC, business-local) value as a fingerprint holds it: a date without a time
    (local midnight) at `key_zone`'s midnight of its date, an instant as it is."""
    utc, local = moment
    if local.time() != dt.time():
        return utc
    return _midnight(key_zone, local.date())


def unknown_stage(raw: str, settings: Settings) -> str:
    """Why a stage is refused: a deal in a stage the configuration lacks has no status, and
    guessing "open" once turned a whole export of won deals into open ones with no revenue."""
    stages = [s.name for s in settings.stages]
    if not stages:
        return f"unknown stage {raw!r}: the configuration defines no [[stages]]"
    word = slug(raw)
    # "Won" is closest to closed_won by meaning, not by spelling: a stage containing the
    # word is the better guess.
    containing = [s for s in stages if word and word in s.split("_")]
    hint = (
        (did_you_mean(word, containing, n=len(containing), cutoff=0.0) if containing else "")
        or did_you_mean(word, stages)
        or f" (known: {', '.join(stages)})"
    )
    return (
        f"unknown stage {raw!r}{hint}; add it to [[stages]] in the configuration or map it "
        "to a known stage in the mapping file"
    )


def _closed_before_created(
    closed: tuple[dt.datetime, dt.datetime], created: tuple[dt.datetime, dt.datetime]
) -> bool:
    """A close at local midnight is a close *date*: it may fall on the day the deal was
    created at a later hour, so it is compared by date; a close with a time, by instant."""
    (closed_utc, closed_local), (created_utc, created_local) = closed, created
    if closed_local.time() == dt.time():
        return closed_local.date() < created_local.date()
    return closed_utc < created_utc


def finish_rep(values: dict[str, object], settings: Settings) -> Record:
    role = slug(str(values["role"])) if values.get("role") else default_role(settings)
    if role not in settings.role_names:
        raise FieldError(f"unknown role {values['role']!r}{_known(settings.role_names)}", "role")
    capacity = values.get("capacity")
    if capacity is not None and not 0 < _number(capacity) <= 2:
        raise FieldError(f"capacity must be above 0 and at most 2, not {capacity}", "capacity")
    record: Record = {
        "name": values["name"],
        "email": values.get("email"),
        "role": role,
        "team": values.get("team"),
        "manager": values.get("manager"),
        "start_date": values.get("start_date"),
        "capacity": 1.0 if capacity is None else capacity,
    }
    record["row_hash"] = content_hash(record)
    record["external_id"] = values.get("external_id")
    record["given"] = rep_fields_given(values)
    return record


def rep_fields_given(values: dict[str, object]) -> tuple[str, ...]:
    """The rep fields this row sets: those whose column the file has. A column absent from
    the file leaves a stored rep's field alone (a name,team file once wiped e-mails, start
    dates and managers); an empty role or capacity is no role or capacity, so it does too."""
    given = {name for name in values if name != "name"}
    return tuple(sorted(given - {f for f in ("role", "capacity") if values.get(f) is None}))


def finish_account(values: dict[str, object], settings: Settings) -> Record:
    record: Record = {
        "name": values["name"],
        "industry": values.get("industry"),
        "account_type": values.get("account_type"),
        "owner": values.get("owner"),
    }
    record["row_hash"] = content_hash(record)
    record["external_id"] = values.get("external_id")
    return record


def finish_contact(values: dict[str, object], settings: Settings) -> Record:
    seniority = slug(str(values["seniority"])) if values.get("seniority") else None
    record: Record = {
        "name": " ".join(str(values["name"]).split()),
        "account": values.get("account"),
        "account_ref": values.get("account_ref"),
        "title": values.get("title"),
        "seniority": seniority,
        "is_decision_maker": bool(values.get("decision_maker") or False),
        "email": values.get("email"),
    }
    record["row_hash"] = content_hash(record)
    record["external_id"] = values.get("external_id")
    return record


def finish_stage_history(values: dict[str, object], settings: Settings) -> Record:
    """A checked stage-history entry: a known stage, a status, a plausible amount.

    An entry has no id of its own in the store: it is known by (deal, stage, entered_at),
    which the writer matches on, so a re-import of the same history changes nothing."""
    stage = slug(str(values["stage"]))
    if stage not in settings.stage_status:
        raise FieldError(unknown_stage(str(values["stage"]), settings), "stage")
    status = slug(str(values["status"])) if values.get("status") else settings.stage_status[stage]
    if status not in ("open", "won", "lost"):
        raise FieldError(f"status must be open, won or lost, not {values['status']!r}", "status")
    amount = values.get("amount")
    if amount is not None:
        assert isinstance(amount, Decimal)
        if not 0 <= amount < MAX_AMOUNT:
            raise FieldError(f"amount out of range: {amount}", "amount")
        amount = amount.quantize(Decimal("0.01"))
    record: Record = {
        "deal_ref": values["deal_ref"],
        "stage": stage,
        "status": status,
        "amount": amount,
        "entered_at": _utc(values["entered_at"]),
    }
    record["row_hash"] = content_hash(record)
    record["external_id"] = values.get("external_id")
    return record


FINISHERS: dict[Entity, Callable[[dict[str, object], Settings], Record]] = {
    "activities": finish_activity,
    "deals": finish_imported_deal,
    "reps": finish_rep,
    "accounts": finish_account,
    "contacts": finish_contact,
    "stage_history": finish_stage_history,
}


def _number(value: object) -> float:
    assert isinstance(value, (int, float)) and not isinstance(value, bool)
    return float(value)


def _moment(value: object) -> tuple[dt.datetime, dt.datetime]:
    """A parsed timestamp: (UTC, business-local), both naive."""
    assert isinstance(value, tuple) and len(value) == 2
    utc, local = value
    assert isinstance(utc, dt.datetime) and isinstance(local, dt.datetime)
    return utc, local


def _utc(value: object) -> dt.datetime | None:
    return None if value is None else _moment(value)[0]


def _known(names: frozenset[str]) -> str:
    listed = sorted(names)
    more = f", ... ({len(listed)} in all)" if len(listed) > 12 else ""
    return f" (known: {', '.join(listed[:12])}{more})"
