"""Checking a chunk of activity rows column by column: the import's fast path.

Row by row, an activity costs a dozen Python calls (parse each cell, slug the kind, check the
outcome, hash the record); a large import spent most of its time there. Here a chunk of rows
is read column by column (`RowReader.read_columns`), and each rule of `finish_activity` is
applied once per distinct value of what it looks at (a chunk of 4,096 rows names a few
dozen kinds and outcomes, a few hundred days), through dictionaries filled on first use.

The path only says yes: a row it cannot vouch for is handed back (None), and the importer
takes it through `RowReader.read` and `finish_activity`, which say why it is refused. So a
rejection reads exactly the same whichever path found it, and the records this path builds
are the records that path would build, key for key, down to their `row_hash`
(tests/ingest/test_columns.py compares the two).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import itertools
import operator
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from paceline.calendar import local_midnight_utc
from paceline.config import Settings
from paceline.ingest.entities import (
    BAD,
    Column,
    Record,
    RowReader,
    check_fits,
    check_longest,
    check_moment,
    check_not_negative,
    engaged_of,
    has_ask_of,
    keyed_moment,
    mark_bad,
    slug,
    wall_to_utc,
)
from paceline.ingest.fields import FieldError, FileTime, Moments, hour_shifts

# The fields of an activity record before its hash, in the order `finish_activity` builds
# them, and the same names sorted: the order `content_hash` writes them in.
ACTIVITY_FIELDS = (
    "rep",
    "kind",
    "occurred_at",
    "local_date",
    "duration_min",
    "outcome",
    "has_ask",
    "engaged",
    "account",
    "account_ref",
    "contact",
    "contact_ref",
    "deal_ref",
    "notes",
)
HASHED = tuple(sorted(ACTIVITY_FIELDS))


class _Memo(dict[Any, Any]):
    """A function of one value, computed once per distinct value (from C, through `map`)."""

    def __init__(self, compute: Callable[[Any], Any]) -> None:
        super().__init__()
        self.compute = compute

    def __missing__(self, key: Any) -> Any:
        value = self[key] = self.compute(key)
        return value

    def over(self, values: Iterable[Any]) -> list[Any]:
        return list(map(self.__getitem__, values))


def _piece(name: str) -> _Memo:
    """The text one (name, value) pair adds to a record's fingerprint: what `repr` of the
    sorted pairs writes for it, with its separator; nothing for an empty value.

    One memo a field for every chunk and import (the text is a function of the value
    alone), emptied when it holds more than `PIECES_KEPT` values: a file names the same
    reps and accounts chunk after chunk, and writing each chunk's afresh was a Python call
    per distinct value and chunk."""
    memo = _PIECES.get(name)
    if memo is None or len(memo) > PIECES_KEPT:
        end = "]" if name == HASHED[-1] else ", "
        memo = _Memo(lambda value: "" if value is None else f"({name!r}, {value!r}){end}")
        if name not in _PIECES_OF_A_CHUNK:
            _PIECES[name] = memo
    return memo


_PIECES: dict[str, _Memo] = {}
PIECES_KEPT = 20_000
# Notes may each be a megabyte long and rarely repeat: their texts are kept for one chunk.
_PIECES_OF_A_CHUNK = frozenset({"notes"})


# The fields of a checked activity, in the order of its record's keys: what
# `check_activities` gives column by column (`ChunkColumns`).
CHECKED_FIELDS = (*ACTIVITY_FIELDS, "row_hash", "external_id")
# A chunk's checked activities column by column: one list a field, in CHECKED_FIELDS order.
ChunkColumns = list[list[Any]]


def finish_activities(
    reader: RowReader, rows: list[list[str]], settings: Settings, now: dt.datetime
) -> list[Record | None]:
    """`finish_activity(reader.read(row), settings, now)` for each row, or None for a row
    that the row-by-row path must take (it is refused there, or may be)."""
    return records_of(*check_activities(reader, rows, settings, now))


def records_of(columns: ChunkColumns, bad: set[int] | frozenset[int] = frozenset()) -> list[Any]:
    """The records of checked columns (None at the positions in `bad`), built in C calls."""
    if not columns:
        return []
    records: list[Any] = list(
        map(dict, map(zip, itertools.repeat(CHECKED_FIELDS), zip(*columns, strict=True)))
    )
    for i in bad:
        records[i] = None
    return records


def check_activities(
    reader: RowReader, rows: list[list[str]], settings: Settings, now: dt.datetime
) -> tuple[ChunkColumns, set[int]]:
    """What `finish_activities` vouches for, column by column (CHECKED_FIELDS order), and
    the positions of the rows it cannot vouch for (their values in the columns mean
    nothing). A chunk with none of those travels and is written by column, its records
    never built (`accounting.ColumnBatch`)."""
    if not rows:
        return [], set()
    return check_activity_columns(reader, list(zip(*rows, strict=True)), settings, now, rows)


def check_activity_columns(
    reader: RowReader,
    cells: Sequence[Sequence[str]],
    settings: Settings,
    now: dt.datetime,
    rows: list[list[str]] | None = None,
) -> tuple[ChunkColumns, set[int]]:
    """`check_activities` for rows given by column (`cells`, as wide as the header, one
    or more rows), as the checking process reads a usual block (`csvfile.split_block`);
    `rows`, the same cells row by row, when the caller has them."""
    columns, bad = reader.read_columns(rows, cells)
    n = len(cells[0]) if cells else len(rows or ())
    empty = Column((None,) * n, [None] * n)
    given = {name: columns.get(name, empty) for name in (*ACTIVITY_FIELDS, "external_id")}
    rules = _rules(reader, settings)
    verdicts = rules.over(
        zip(
            given["kind"].values,
            given["outcome"].values,
            given["has_ask"].values,
            given["engaged"].values,
            strict=True,
        )
    )
    if rules.refused and any(map(operator.is_, verdicts, itertools.repeat(_REFUSED))):
        bad.update(i for i, verdict in enumerate(verdicts) if verdict is _REFUSED)
    mark_bad(bad, rules.durations.over(given["duration_min"].values))
    values: dict[str, list[Any]] = {name: given[name].values for name in ACTIVITY_FIELDS}
    for at, name in enumerate(_RULED):
        values[name] = list(map(operator.itemgetter(at), verdicts))
    moments = _moments(values, given["occurred_at"], settings, now, bad)
    hashed = values
    file_moments = moments
    if reader.key_zone.key != reader.business_zone.key:  # after a change of zone
        days = _keyed_days(moments, reader) if moments is not None else None
        if days is not None:  # the instants stay, and their texts: only the days move
            hashed = {**values, "local_date": days}
        else:
            hashed, moments = _keyed_columns(values, reader), None
    pieces = _fingerprint_pieces(hashed, given, verdicts, moments, n, rules.duration_texts)
    texts = map(str.encode, map("".join, zip(*pieces, strict=True)))
    hashes = list(map(_HEX, map(_BLAKE, texts)))
    externals = given["external_id"].values
    values["row_hash"] = hashes
    if None in externals or "" in externals:  # a row without an id is known by its hash
        keys = (
            hashes
            if hashed is values
            else _keys(
                hashed, given, verdicts, hashes, reader, rules.duration_texts, file_moments, values
            )
        )
        externals = [ext or f"h:{h}" for ext, h in zip(externals, keys, strict=True)]
    values["external_id"] = externals
    return [values[name] for name in CHECKED_FIELDS], bad


# The fields the rules of `finish_activity` decide together (`_Rules`), in a verdict's order.
_RULED = ("kind", "outcome", "has_ask", "engaged")
# What the fingerprint holds of them: engaged, has_ask and kind are neighbours in `HASHED`.
_TOGETHER = ("engaged", "has_ask", "kind")
_TOGETHER_PIECE = operator.itemgetter(len(_RULED))
_OUTCOME_PIECE = operator.itemgetter(len(_RULED) + 1)
# The verdict of a row some rule refuses: its values mean nothing, its pieces are empty.
_REFUSED = (None, None, None, None, "", "")
_RULES: weakref.WeakKeyDictionary[RowReader, _Rules] = weakref.WeakKeyDictionary()


def _rules(reader: RowReader, settings: Settings) -> _Rules:
    """The rules' memo of an import (its reader) and settings, kept from chunk to chunk."""
    rules = _RULES.get(reader)
    if rules is None or rules.settings is not settings or rules.full():
        rules = _RULES[reader] = _Rules(settings)
    return rules


class _Rules(_Memo):
    """The rules of `finish_activity` over a row's (kind, outcome, Ask, engaged) as read,
    once per distinct combination (a file holds a few hundred): the kind and outcome as
    slugs, the Ask and engagement they imply, and the fingerprint's texts for them; or
    `_REFUSED` (then `refused` is set), where the row path refuses the row.

    Beside them, the rules over a duration, once per distinct value (`durations`), and
    the fingerprint's text of a duration, once per distinct cell (`duration_texts`): a
    file of 4,096-row chunks repeats a few hundred durations in every chunk, and working
    them out afresh per chunk was a tenth of the checking process's Python calls."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(self._verdict)
        self.settings = settings
        self.refused = False
        self.durations = _Memo(lambda value: _duration(value, settings))
        self.duration_texts: dict[Any, str] = {}

    def full(self) -> bool:
        """Whether one of the memos holds more than `PIECES_KEPT` values (then a new one
        is started: a file of distinct durations would otherwise grow them without end)."""
        return max(len(self), len(self.durations), len(self.duration_texts)) > PIECES_KEPT

    def _verdict(self, given: tuple[Any, Any, Any, Any]) -> tuple[Any, ...]:
        settings = self.settings
        kind = _known(given[0], settings.kind_names)
        outcome = _outcome(given[1], settings)
        decided = (
            kind,
            outcome,
            _fits(kind, outcome, settings),
            _ask(given[2], outcome, settings),
            _engaged(given[3], outcome, settings),
        )
        if BAD in decided:
            self.refused = True
            return _REFUSED
        ruled = (kind, outcome, decided[3], decided[4])
        value = dict(zip(_RULED, ruled, strict=True))
        together = "".join(_piece(name)[value[name]] for name in _TOGETHER)
        return (*ruled, together, _piece("outcome")[outcome])


def _fingerprint_pieces(
    values: dict[str, list[Any]],
    given: dict[str, Column],
    verdicts: list[tuple[Any, ...]],
    moments: Moments | None,
    n: int,
    duration_texts: dict[Any, str],
) -> list[Iterable[str]]:
    """The pieces of each row's fingerprint text, column by column, in `HASHED` order; a
    column empty in every row adds nothing to any text and is left out (a file often has
    no contacts, no deal references: four lookups a row less)."""
    pieces: list[Iterable[str]] = [itertools.repeat("[", n)]
    for name in HASHED:
        column = values[name]
        if name == "engaged":  # with has_ask and kind, from the rules' verdicts
            pieces.append(map(_TOGETHER_PIECE, verdicts))
        elif name == "outcome":
            pieces.append(map(_OUTCOME_PIECE, verdicts))
        elif name in _TOGETHER:
            continue
        elif name == "duration_min":
            pieces.append(_duration_pieces(given["duration_min"], duration_texts))
        elif name == "occurred_at":
            pieces.extend(_moment_pieces(moments) or [_distinct_pieces(name, column)])
        elif name == HASHED[-1] or column.count(None) != n:
            pieces.append(map(_piece(name).__getitem__, column))
    return pieces


def _distinct_pieces(name: str, column: list[Any]) -> list[str]:
    """`_piece(name).over(column)` for a column whose values are nearly all distinct (the
    timestamps): the same texts, from C calls over the column (`repr`, then the text
    around it), without the memo's Python call per distinct value (5.1 against 3.1 ms a
    chunk of 4,096 timestamps, measured)."""
    end = "]" if name == HASHED[-1] else ", "
    texts = list(map(f"({name!r}, ".__add__, map(repr, column)))
    texts = list(map(str.__add__, texts, itertools.repeat(")" + end, len(column))))
    if None in column:  # an empty value adds nothing
        texts = ["" if value is None else text for value, text in zip(column, texts, strict=True)]
    return texts


def _moment_pieces(moments: Moments | None) -> list[Iterable[str]] | None:
    """The texts the UTC moments add to the fingerprints (`_piece("occurred_at")`'s), in two
    parts a row: the moment's hour, written once per distinct hour of the file's zone, and
    the time into it, once per distinct time into an hour; None (write each with `repr`)
    where a shift to UTC is not whole hours (a moment's hour in UTC is not then its hour
    in the file's zone shifted). `repr` of a million datetimes was a tenth of the reading
    process's work."""
    if moments is None:
        return None
    shifts = moments.shifts
    starts = _Memo(lambda hour: _hour_text(hour + shifts[hour]))
    hours = starts.over(moments.hours)
    if None in starts.values():
        return None
    return [hours, map(_INTO_TEXT.__getitem__, moments.into)]


def _hour_text(start: dt.datetime) -> str | None:
    """The fingerprint's text of a UTC moment up to its minutes (`repr` writes hour and
    minute always, seconds and microseconds when either is not zero); None when `start`
    is not the start of an hour."""
    if start.minute or start.second or start.microsecond:
        return None
    day = f"{start.year}, {start.month}, {start.day}"
    return f"('occurred_at', datetime.datetime({day}, {start.hour}, "


class _IntoText(dict[dt.timedelta, str]):
    """The fingerprint's text of a UTC moment after its hour, by the time into the hour
    (under an hour): minutes, then seconds and microseconds as `repr` writes them."""

    def __missing__(self, into: dt.timedelta) -> str:
        if len(self) > PIECES_KEPT:  # times to the microsecond: few repeat
            self.clear()
        minutes, seconds = divmod(into.seconds, 60)
        parts = [minutes, seconds, into.microseconds]
        shown = 3 if parts[2] else 2 if parts[1] else 1
        text = self[into] = ", ".join(map(str, parts[:shown])) + ")), "
        return text


_INTO_TEXT = _IntoText()


# Equal values of a chunk become one object (`_shared`): each distinct object costs the
# checking process a pickled value and the importer one built from the pipe
# (`ingest.pipeline`). Text columns come out of `RowReader.read_columns` that way already;
# the moments and days are made so here.


def _shared(column: list[Any]) -> list[Any]:
    """`column` with each value replaced by the first equal one (C calls only)."""
    first: dict[Any, Any] = {}
    return list(map(first.setdefault, column, column))


_BLAKE = functools.partial(hashlib.blake2b, digest_size=16)
_HEX = operator.methodcaller("hexdigest")
_DATE = operator.methodcaller("date")
_FIRST = operator.itemgetter(0)
_SECOND = operator.itemgetter(1)


def _moments(
    values: dict[str, list[Any]],
    column: Column,
    settings: Settings,
    now: dt.datetime,
    bad: set[int],
) -> Moments | None:
    """Split the parsed timestamps into `occurred_at` (UTC) and `local_date`, marking those
    `check_moment` refuses (too far in the future, too old); the column read whole when its
    every moment is allowed (for the fingerprints' texts), else None.

    That rule allows a range of moments, so when it allows the chunk's earliest and latest,
    it allows every moment between; only a chunk with a refused moment is checked row by row.
    """
    whole = column.moments
    if whole is not None and all(_allowed(f(whole.utc), settings, now) for f in (min, max)):
        values["occurred_at"] = _shared(whole.utc)
        if whole.local_is_file_time:  # a moment's day is its hour's: once per hour
            days: dict[dt.date, dt.date] = {}
            day = _Memo(lambda hour: days.setdefault(hour.date(), hour.date()))
            values["local_date"] = day.over(whole.hours)
        else:
            values["local_date"] = _shared(list(map(_DATE, whole.local)))
        return whole
    moments: list[Any] = values["occurred_at"] if whole is None else whole.pairs()
    if None not in moments and BAD not in moments:  # the usual chunk: a C scan or two
        parsed: list[int] | range = range(len(moments))
        refused: set[int] = set()
        utc = list(map(_FIRST, moments))
    else:
        parsed = [i for i, m in enumerate(moments) if m is not None and m is not BAD]
        refused = set(range(len(moments))).difference(parsed)
        utc = [moments[i][0] for i in parsed]
    if utc and not (_allowed(min(utc), settings, now) and _allowed(max(utc), settings, now)):
        refused.update(i for i in parsed if not _allowed(moments[i][0], settings, now))
    for i in refused:
        bad.add(i)
        moments[i] = (None, None)
    values["occurred_at"] = _shared(utc if not refused else list(map(_FIRST, moments)))
    local = list(map(_SECOND, moments))
    # A day per row in C calls; the memo only where a refused row left no moment.
    days_of = _Memo(_day).over(local) if refused else list(map(_DATE, local))
    values["local_date"] = _shared(days_of)
    return None


def _keyed_columns(values: dict[str, list[Any]], reader: RowReader) -> dict[str, list[Any]]:
    """`values` with the moments and days the fingerprints hold (`keyed_moment`), in the
    reader's key zone; a refused row's (None) stay None."""
    business, key_zone = reader.business_zone, reader.key_zone

    def keyed(utc: dt.datetime | None, day: dt.date | None) -> tuple[Any, Any]:
        if utc is None or day is None:
            return None, None
        return keyed_moment(utc, day, business, key_zone)

    pairs = list(map(keyed, values["occurred_at"], values["local_date"]))
    keyed_values = dict(values)
    keyed_values["occurred_at"] = list(map(_FIRST, pairs))
    keyed_values["local_date"] = list(map(_SECOND, pairs))
    return keyed_values


def _keyed_days(moments: Moments, reader: RowReader) -> list[dt.date] | None:
    """The days of a column read whole (`moments`) in the key zone, as `keyed_moment`
    gives them (its instants stay), worked out once per distinct hour of the file; None
    where that cannot be told per hour (then `_keyed_columns` goes row by row): times read
    in another zone than the calendar's, a time at the calendar's midnight (which
    `keyed_moment` takes for a date and moves), a key zone whose hours do not start on
    the UTC hour's shift, an hour in which an offset changes.

    Row by row, re-importing a file after a change of zone cost about a quarter more CPU
    than before it: a `keyed_moment` for every row, and the fingerprint's text of every
    instant written by `repr` (the column's texts per hour were left out)."""
    if not moments.local_is_file_time:
        return None
    to_key = hour_shifts(reader.key_zone, False)
    days: dict[dt.datetime, dt.date] = {}
    same: dict[dt.date, dt.date] = {}  # one object a day (`_shared`)
    for hour in set(moments.hours):
        utc = hour + moments.shifts[hour]  # type: ignore[operator]  # read whole: never None
        if utc <= _midnight(reader.business_zone, hour.date()) < utc + _HOUR:
            return None  # the calendar's midnight may be in it: `keyed_moment` row by row
        shift = to_key[utc]
        if shift is None or _not_whole(utc + shift):
            return None
        day = (utc + shift).date()
        days[hour] = same.setdefault(day, day)
    return list(map(days.__getitem__, moments.hours))


def _wall_moments(moments: Moments, key_zone: ZoneInfo) -> Moments | None:
    """A column read whole (`moments`) with its times as the file wrote them read in the
    key zone (`wall_keyed`): the same hours and times into them, the key zone's shifts to
    UTC; None where the fingerprint's text of an hour cannot be written per hour (an hour
    in which the offset changes, a shift that is not whole hours)."""
    if not moments.local_is_file_time:
        return None
    shifts = hour_shifts(key_zone, True)
    for hour in set(moments.hours):
        shift = shifts[hour]
        if shift is None or _not_whole(hour + shift):
            return None
    return Moments(moments.utc, moments.local, moments.hours, moments.into, shifts, True)


def _not_whole(moment: dt.datetime) -> bool:
    return bool(moment.minute or moment.second or moment.microsecond)


_HOUR = dt.timedelta(hours=1)
# A day's midnight in a zone, remembered: a file's rows share few days.
_midnight = functools.lru_cache(maxsize=65_536)(local_midnight_utc)


def _keys(
    hashed: dict[str, list[Any]],
    given: dict[str, Column],
    verdicts: list[tuple[Any, ...]],
    hashes: list[str],
    reader: RowReader,
    duration_texts: dict[Any, str],
    moments: Moments | None = None,
    values: dict[str, list[Any]] | None = None,
) -> list[str]:
    """The keys of rows without ids after a change of zone: the fingerprints, but for the
    times the file wrote without an offset, read in the key zone (`wall_keyed`), hashed
    column by column as the fingerprints are; for a column read whole (`moments`, of the
    calendar's zone, its days in `values`), the instants' texts once per hour."""
    n = len(hashes)
    wall = None if moments is None or values is None else _wall_moments(moments, reader.key_zone)
    if wall is not None and values is not None:
        # The days are the file's own (`wall_keyed`): the calendar's days of a file in it.
        walled = {**hashed, "local_date": values["local_date"]}
        pieces = _fingerprint_pieces(walled, given, verdicts, wall, n, duration_texts)
        texts = map(str.encode, map("".join, zip(*pieces, strict=True)))
        return list(map(_HEX, map(_BLAKE, texts)))
    walls = _file_times(given["occurred_at"], n)
    if walls.count(None) == n:
        return hashes
    to_utc = wall_to_utc(reader.key_zone)
    keyed = dict(hashed)
    keyed["occurred_at"] = [
        at if wall is None or at is None else to_utc(wall)
        for wall, at in zip(walls, hashed["occurred_at"], strict=True)
    ]
    keyed["local_date"] = [
        day if wall is None or day is None else wall.date()
        for wall, day in zip(walls, hashed["local_date"], strict=True)
    ]
    pieces = _fingerprint_pieces(keyed, given, verdicts, None, n, duration_texts)
    texts = map(str.encode, map("".join, zip(*pieces, strict=True)))
    return list(map(_HEX, map(_BLAKE, texts)))


def _file_times(column: Column, n: int) -> list[dt.datetime | None]:
    """Each row's time as the file wrote it, where it carries no offset and was read in
    the business zone (`FileTime`); None elsewhere."""
    whole = column.moments
    if whole is not None:
        return list(whole.local) if whole.local_is_file_time else [None] * n
    return [m[1] if type(m) is FileTime else None for m in column.values]


def _allowed(moment: dt.datetime, settings: Settings, now: dt.datetime) -> bool:
    try:
        check_moment(moment, settings, now)
    except FieldError:
        return False
    return True


def _day(local: dt.datetime | None) -> dt.date | None:
    return None if local is None else local.date()


def _duration_pieces(duration: Column, texts: dict[Any, str]) -> list[str]:
    """The fingerprint's text for the durations, by cell: a float's text is not a function
    of its value as a dictionary key sees it (0.0 and -0.0 are one key, printed apart).
    `texts` holds the texts of the cells seen before (the reader's parser makes a cell's
    value, so its text, a function of the cell alone) and takes this chunk's new ones."""
    new = set(duration.raw).difference(texts)
    if new:
        value_of = dict(zip(duration.raw, duration.values, strict=True))
        for raw in new:
            value = value_of[raw]
            texts[raw] = "" if value is None else f"('duration_min', {value!r}), "
    return list(map(texts.__getitem__, duration.raw))


def _known(value: Any, names: frozenset[str]) -> Any:
    if value is BAD:
        return BAD
    kind = slug(str(value))
    return kind if kind in names else BAD


def _outcome(value: Any, settings: Settings) -> Any:
    if not value or value is BAD:
        return BAD if value is BAD else None
    return _known(value, settings.outcome_names)


def _vouch(value: Any, *rules: Callable[[], object]) -> Any:
    """`value`, or BAD where one of the row path's rules refuses it: the rules are
    `finish_activity`'s own, so the two paths cannot drift apart."""
    try:
        for rule in rules:
            rule()
    except FieldError:
        return BAD
    return value


def _duration(value: Any, settings: Settings) -> Any:
    if value is None or value is BAD:
        return value
    return _vouch(value, lambda: check_not_negative(value), lambda: check_longest(value, settings))


def _fits(kind: Any, outcome: Any, settings: Settings) -> Any:
    if not outcome or outcome is BAD:
        return None
    return _vouch(None, lambda: check_fits(kind, outcome, settings))


def _ask(given: Any, outcome: Any, settings: Settings) -> Any:
    if given is BAD or outcome is BAD:
        return BAD
    try:
        return has_ask_of(given, outcome, settings)
    except FieldError:
        return BAD


def _engaged(given: Any, outcome: Any, settings: Settings) -> Any:
    if given is BAD or outcome is BAD:
        return BAD
    return engaged_of(given, outcome, settings)
