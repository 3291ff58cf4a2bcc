"""Which layout is this file? `paceline import detect`: the known mapping (or the generic
columns) a file's header fits, or a starting mapping for a layout nobody has mapped yet.

The known layouts are a registry with no list to maintain: every mapping file in the
folders below joins it by what it already says, the columns it reads.

- the mappings shipped inside the package (`paceline/ingest/crm/mappings/<crm>/*.toml`,
  named `crm:name`), when there are any;
- the examples of a source checkout (`examples/mappings/**.toml`, e.g. the Zoho set);
- the folders the web's Import page offers: `$PACELINE_MAPPINGS`, else `./mappings` and
  `./examples/mappings`;
- and the generic Paceline columns of each entity.

A mapping fits when the file has every column it reads (else the import would refuse the
file); among those that fit, the one that explains most of the header wins. A file no
mapping fits gets a starting mapping: each Paceline field guessed from the column names
("Activity Date" -> occurred_at, "Owner" -> rep, "Amount" -> amount, "Stage" -> stage), the
entity whose fields the names match best, value maps for kinds, outcomes and stages from
the values the file holds (matched to the configuration, unmatched ones left as comments),
and the date formats its dates are written in.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import paceline
from paceline.config import Settings
from paceline.ingest.entities import ENTITY_FIELDS, field_names, required_fields, slug
from paceline.ingest.mapping import ENTITIES, Entity, MappingError, load_mapping
from paceline.ingest.sources import ImportSource, ReadOptions, RowTable

MAPPINGS_ENV = "PACELINE_MAPPINGS"
SAMPLE_ROWS = 2_000
MAX_MAPPED_VALUES = 60
CANDIDATE_DELIMITERS = (",", ";", "\t", "|")


# --- the registry -----------------------------------------------------------------------------


def mapping_folders() -> list[tuple[str, Path]]:
    """(kind, folder) of every place mapping files are looked for; missing ones left out."""
    package = Path(paceline.__file__).resolve().parent
    checkout = package.parents[1] / "examples" / "mappings"
    configured = os.environ.get(MAPPINGS_ENV)
    local = (
        [Path(p) for p in configured.split(os.pathsep) if p]
        if configured
        else [Path.cwd() / "mappings", Path.cwd() / "examples" / "mappings"]
    )
    folders = [("shipped", package / "ingest" / "crm" / "mappings"), ("example", checkout)]
    folders += [("local", folder) for folder in local]
    seen: set[Path] = set()
    found = []
    for kind, folder in folders:
        resolved = folder.resolve()
        if folder.is_dir() and resolved not in seen:
            seen.add(resolved)
            found.append((kind, folder))
    return found


@dataclass(frozen=True)
class Layout:
    """One known layout: a mapping file or the generic columns of an entity."""

    name: str  # how the command line names it: a path, "crm:name" or "generic"
    entity: Entity
    columns: frozenset[str]  # every column it reads
    needed: frozenset[str]  # the columns a file must have for it to fit
    reader: str | None = None  # the import source its mapping asks for, if any
    path: Path | None = None
    delimiter: str = ","


def known_layouts() -> list[Layout]:
    """Every mapping file in the registry's folders, then the generic columns."""
    layouts = []
    for kind, folder in mapping_folders():
        for path in sorted(folder.rglob("*.toml")):
            try:
                mapping = load_mapping(path)
            except MappingError:
                continue  # not a mapping file (or a broken one): the import would say why
            columns = frozenset(
                [c for spec in mapping.specs().values() for c in spec.source_columns]
                + list(mapping.skip)
            )
            if not columns:
                continue
            name = f"{path.parent.name}:{path.stem}" if kind == "shipped" else _shown(path)
            reader = getattr(mapping, "reader", None)
            layouts.append(
                Layout(name, mapping.entity, columns, columns, reader, path, mapping.delimiter)
            )
    for entity in ENTITIES:
        if entity not in ENTITY_FIELDS:
            continue
        layouts.append(
            Layout(
                "generic",
                entity,
                frozenset(field_names(entity)),
                frozenset(required_fields(entity)),
            )
        )
    return layouts


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to the current folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


# --- matching ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fit:
    """How well one layout fits a header."""

    layout: Layout
    found: int  # columns of the layout the file has
    missing: tuple[str, ...]  # columns the layout needs that the file lacks
    used_share: float  # share of the file's columns the layout reads

    @property
    def fits(self) -> bool:
        return not self.missing

    def key(self) -> tuple[bool, float, int, bool]:
        return (self.fits, self.used_share, self.found, self.layout.path is not None)


def fit_layouts(header: list[str], layouts: Iterable[Layout]) -> list[Fit]:
    """Every layout scored against the header, the best first."""
    names = {h.strip() for h in header if h.strip()}
    fits = []
    for layout in layouts:
        found = len(layout.columns & names)
        if not found:
            continue
        missing = tuple(sorted(layout.needed - names))
        fits.append(Fit(layout, found, missing, found / max(1, len(names))))
    return sorted(fits, key=Fit.key, reverse=True)


# --- guessing a starting mapping --------------------------------------------------------------

# Per entity and field, the column names (lower case, words only) that mean it, best first.
SYNONYMS: dict[Entity, dict[str, tuple[str, ...]]] = {
    "activities": {
        "external_id": ("id", "activity id", "task id", "call id", "event id", "record id",
                        "taskid", "eventid", "activityid"),
        "rep": ("rep", "owner", "sales rep", "activity owner", "call owner", "task owner",
                "event owner", "assigned to", "user", "salesperson", "owner name"),
        "kind": ("kind", "activity type", "type", "call type", "task type", "channel"),
        "occurred_at": ("occurred at", "activity date", "date", "start", "start time",
                        "start date", "call start time", "start datetime", "date time",
                        "due date", "timestamp", "when", "created time", "created"),
        "duration_min": ("duration", "duration min", "duration minutes", "call duration",
                         "minutes", "length"),
        "outcome": ("outcome", "result", "call result", "disposition", "call outcome"),
        "has_ask": ("has ask", "ask"),
        "account": ("account", "account name", "company", "organization", "organisation",
                    "customer"),
        "contact": ("contact", "contact name", "person"),
        "notes": ("notes", "subject", "description", "comments", "comment", "summary"),
    },
    "deals": {
        "external_id": ("id", "deal id", "opportunity id", "potential id", "record id"),
        "name": ("name", "deal name", "opportunity name", "potential name", "deal",
                 "opportunity", "title"),
        "rep": ("rep", "owner", "deal owner", "opportunity owner", "potential owner",
                "sales rep", "salesperson", "assigned to"),
        "amount": ("amount", "value", "deal value", "deal amount", "opportunity amount",
                   "revenue"),
        "stage": ("stage", "deal stage", "stage name", "pipeline stage", "sales stage"),
        "status": ("status", "deal status"),
        "created_at": ("created at", "created", "created date", "created time", "create date",
                       "date created", "open date"),
        "closed_at": ("closed at", "close date", "closing date", "closed date", "closed",
                      "date closed", "won time"),
        "expected_close": ("expected close", "expected close date"),
        "account": ("account", "account name", "company", "organization", "customer"),
    },
    "reps": {
        "name": ("name", "full name", "rep", "user", "user name", "employee", "sales rep"),
        "external_id": ("id", "user id", "employee id", "rep id"),
        "email": ("email", "e mail", "email address"),
        "role": ("role", "job title", "position", "title"),
        "team": ("team", "department", "group", "sales team", "region"),
        "manager": ("manager", "reports to", "manager name"),
        "start_date": ("start date", "hire date", "hired", "started"),
        "capacity": ("capacity", "quota share"),
    },
    "accounts": {
        "name": ("name", "account name", "company", "company name", "organization",
                 "organisation", "account"),
        "external_id": ("id", "account id", "company id", "accountid"),
        "industry": ("industry", "sector"),
        "account_type": ("account type", "type", "customer type"),
        "owner": ("owner", "account owner", "rep", "sales rep"),
    },
    "contacts": {
        "name": ("name", "full name", "contact name", "contact", "last name"),
        "external_id": ("id", "contact id", "contactid", "person id"),
        "account": ("account", "account name", "company", "organization"),
        "account_ref": ("account id", "company id", "accountid"),
        "title": ("title", "job title", "position"),
        "seniority": ("seniority", "level"),
        "decision_maker": ("decision maker",),
        "email": ("email", "e mail", "email address"),
    },
}  # fmt: skip
DATE_FORMATS = (
    "%d %b, %Y %H:%M:%S", "%d %b, %Y %H:%M", "%d %b %Y %H:%M", "%d %b %Y", "%b %d, %Y",
    "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%m/%d/%Y",
    "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%d.%m.%Y %H:%M", "%d.%m.%Y",
    "%m/%d/%y", "%d/%m/%y",
)  # fmt: skip
_WORDS = re.compile(r"[^a-z0-9]+")


def words(column: str) -> str:
    """ "Call Start Time" -> "call start time", "E-mail" -> "e mail"."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", column.strip())
    return _WORDS.sub(" ", spaced.lower()).strip()


def _match(column: str, synonym: str) -> int:
    """3: the column is the synonym; 2: the synonym is whole words of it; 0: neither."""
    said = words(column)
    if said == synonym:
        return 3
    if len(synonym) > 2 and f" {synonym} " in f" {said} ":
        return 2
    return 0


@dataclass
class Guess:
    """A starting mapping: the entity, a column per field, and why."""

    entity: Entity
    columns: dict[str, str] = field(default_factory=dict)  # field -> column
    unit: str | None = None  # of duration_min, from its column's name
    score: int = 0

    @property
    def missing(self) -> list[str]:
        return [f for f in required_fields(self.entity) if f not in self.columns]


def guess_fields(entity: Entity, header: list[str]) -> Guess:
    """Each field's best column by name (a column serves one field; required first)."""
    guess = Guess(entity)
    taken: set[str] = set()
    fields = sorted(SYNONYMS[entity], key=lambda f: f not in required_fields(entity))
    for name in fields:
        best: tuple[int, int, str] | None = None
        for column in header:
            if not column.strip() or column in taken:
                continue
            for rank, synonym in enumerate(SYNONYMS[entity][name]):
                strength = _match(column, synonym)
                if strength and (best is None or (strength, -rank) > best[:2]):
                    best = (strength, -rank, column)
        if best is not None:
            guess.columns[name] = best[2]
            taken.add(best[2])
            guess.score += best[0] * (2 if name in required_fields(entity) else 1)
    first = next((c for c in header if c.strip()), "")
    id_like = first not in taken and words(first).replace(" ", "").endswith("id")
    if "external_id" in SYNONYMS[entity] and "external_id" not in guess.columns and id_like:
        guess.columns["external_id"] = first  # exports put the record's id first
        taken.add(first)
    duration = guess.columns.get("duration_min")
    if duration is not None:
        said = f" {words(duration)} "
        guess.unit = (
            "seconds" if " seconds " in said or " sec " in said or " s " in said
            else "hours" if " hours " in said or " h " in said
            else None
        )  # fmt: skip
    return guess


def guess_entity(header: list[str]) -> list[Guess]:
    """A guess per entity, the likeliest first: the most (and the closest) names matched,
    required fields counting double, times the square of the share of required fields
    found (a leads file's "Lead Owner" and "Created Time" do not make it deals without an
    amount or a stage)."""

    def likelihood(guess: Guess) -> float:
        required = required_fields(guess.entity)
        found = (len(required) - len(guess.missing)) / len(required)
        return guess.score * found * found  # a missing required field costs dearly

    return sorted((guess_fields(e, header) for e in SYNONYMS), key=likelihood, reverse=True)


def guess_date_formats(samples: list[str]) -> tuple[list[str], bool]:
    """Formats every sampled value parses with (ISO 8601 needs none), and whether day and
    month could not be told apart (every value read both ways)."""
    values = [s.strip() for s in samples if s.strip()]
    if not values or all(_iso(v) for v in values):
        return [], False
    formats = []
    for fmt in DATE_FORMATS:
        if all(_iso(v) or _parses(v, fmt) for v in values):
            formats.append(fmt)
    month_first = any("%m/%d" in f for f in formats)
    day_first = any("%d/%m" in f for f in formats)
    if month_first and day_first:  # keep one reading, and say so
        formats = [f for f in formats if "%d/%m" not in f]
    return formats[:3], month_first and day_first


def _iso(text: str) -> bool:
    try:
        dt.datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _parses(text: str, fmt: str) -> bool:
    try:
        dt.datetime.strptime(text, fmt)
    except ValueError:
        return False
    return True


def _configured(entity: Entity, name: str, settings: Settings) -> list[str] | None:
    """The configured names a field's values must be (kinds, outcomes, stages), if any."""
    if name == "kind":
        return sorted(settings.kind_names)
    if name == "outcome":
        return sorted(settings.outcome_names)
    if name == "stage" and entity == "deals":
        return [s.name for s in settings.stages]
    return None


def _closest(value: str, names: list[str]) -> str | None:
    word = slug(value)
    if word in names:
        return word
    containing = [n for n in names if word and (n in word.split("_") or word in n.split("_"))]
    if len(containing) == 1:
        return containing[0]
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.75)
    return close[0] if close else None


def _toml(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def starting_mapping(
    guess: Guess,
    header: list[str],
    samples: dict[str, list[str]],
    settings: Settings,
    file_name: str,
    others: list[Guess],
    reader: str | None = None,
) -> str:
    """The text of a starting mapping file, with comments saying what to check."""
    entity = guess.entity
    dated = [
        guess.columns[f.name]
        for f in ENTITY_FIELDS[entity]
        if f.kind in ("date", "timestamp") and f.name in guess.columns
    ]
    formats, ambiguous = guess_date_formats([v for c in dated for v in samples.get(c, [])])
    lines = [
        f"# A starting mapping for {file_name}, written by `paceline import detect`.",
        "# Every line is a guess from the column names and the values in the file: check each",
        "# one, then import with the command `detect` printed. docs/import.md explains the keys.",
        "#",
        f"# The file's columns: {', '.join(h for h in header if h.strip())}",
    ]
    if others:
        alternatives = ", ".join(
            f"{g.entity} ({len(g.columns)} fields)" for g in others if g.columns
        )
        lines.append(f"# Other readings of this header: {alternatives}")
    lines += [
        "",
        f'entity = "{entity}"',
        "# The system the ids come from (e.g. zoho): give every mapping of one export the same",
        "# name, so references between files (account_ref, contact_ref) match.",
        'source = "csv"',
    ]
    if reader is not None:
        lines.append(f'reader = "{reader}"')
    lines.append("# Zone of times written without an offset (default: the calendar's).")
    lines.append(f'# timezone = "{settings.calendar.timezone}"')
    if formats:
        if ambiguous:
            lines.append("# Day and month cannot be told apart in these dates: month first here.")
        lines.append(f"date_formats = [{', '.join(_toml(f) for f in formats)}]")
    lines += ["", "[columns]"]
    tables: list[str] = []
    for f in ENTITY_FIELDS[entity]:
        column = guess.columns.get(f.name)
        required = " (required)" if f.required else ""
        if column is None:
            if f.required:
                lines.append(
                    f'# {f.name} = "?"   # REQUIRED: no column looked like it; name one, '
                    "or give a constant under [constants]"
                )
            continue
        names = _configured(entity, f.name, settings)
        if names is not None:
            tables += _value_table(f.name, column, samples.get(column, []), names)
            continue
        if f.name == "duration_min" and guess.unit:
            lines.append(
                f'{f.name} = {{ column = {_toml(column)}, unit = "{guess.unit}" }}'
                f"   # {f.help or f.kind}{required}"
            )
            continue
        lines.append(f"{f.name} = {_toml(column)}   # {f.help or f.kind}{required}")
    unused = [h for h in header if h.strip() and h not in guess.columns.values()]
    if unused:
        lines.append(f"# Columns not read: {', '.join(unused)}")
    return "\n".join([*lines, *tables, ""])


def _value_table(name: str, column: str, values: list[str], names: list[str]) -> list[str]:
    """`[columns.NAME]` with a map from the file's values to configured names."""
    lines = ["", f"[columns.{name}]", f"column = {_toml(column)}"]
    distinct = sorted({v.strip() for v in values if v.strip()})
    if not distinct:
        return lines
    lines += ["", f"[columns.{name}.map]"]
    lines.append(f"# Every {name} must be one of: {', '.join(names) or '(none configured)'}")
    for value in distinct[:MAX_MAPPED_VALUES]:
        found = _closest(value, names)
        if found is not None:
            lines.append(f"{_toml(value)} = {_toml(found)}")
        else:
            lines.append(f'# {_toml(value)} = "?"   # no configured {name} looks like it')
    if len(distinct) > MAX_MAPPED_VALUES:
        lines.append(f"# ... and {len(distinct) - MAX_MAPPED_VALUES} more values")
    return lines


# --- the whole detection ----------------------------------------------------------------------


@dataclass
class Detection:
    """What `paceline import detect` found for one file."""

    file: str
    reader: str
    sheet: str | None
    header: list[str]
    entity: Entity | None = None
    mapping: str | None = None  # the fitting mapping's name; None: generic or unknown
    known: bool = False
    command: str | None = None
    fits: list[dict[str, object]] = field(default_factory=list)
    written: str | None = None  # the starting mapping written, for an unknown layout
    missing_fields: list[str] = field(default_factory=list)
    # A CRM's pipeline definition (stages, not records): how many stages it defines.
    pipeline_stages: int | None = None


def read_sample(
    source: ImportSource, path: Path, sheet: str | None
) -> tuple[RowTable, list[list[str]]]:
    """The file's header and first rows; a CSV's delimiter is the one that splits its header
    into the most columns."""
    best: tuple[RowTable, list[list[str]]] | None = None
    delimiters = CANDIDATE_DELIMITERS if source.name == "csv" else (",",)
    for delimiter in delimiters:
        table = source.open(path, ReadOptions(delimiter=delimiter, sheet=sheet))
        try:
            rows = []
            for _, row, problem in table.rows():
                if problem is None and len(row) == len(table.header):
                    rows.append(row)
                if len(rows) >= SAMPLE_ROWS:
                    break
        finally:
            table.close()
        if best is None or len(table.header) > len(best[0].header):
            best = (table, rows)
    assert best is not None
    return best


def detect(
    path: Path,
    source: ImportSource,
    settings: Settings,
    sheet: str | None = None,
    output: Path | None = None,
    force: bool = False,
    explicit_reader: bool = False,
) -> Detection:
    """Recognise the file's layout, or write a starting mapping to `output` (default
    `<file>.mapping.toml` beside the current folder) unless one is there (`force` replaces it).
    """
    if source.stages is not None:
        pipeline = _pipeline_definition(path, source)
        if pipeline is not None:
            return pipeline
    table, rows = read_sample(source, path, sheet)
    header = table.header
    delimiter = getattr(getattr(table, "csv_file", None), "delimiter", ",")
    found = Detection(str(path), source.name, sheet, header)
    layouts = known_layouts()
    if source.sniff is not None:  # an API answer never has Paceline's generic columns
        layouts = [layout for layout in layouts if layout.path is not None]
    fits = fit_layouts(header, layouts)
    found.fits = [
        {
            "mapping": f.layout.name,
            "entity": f.layout.entity,
            "fits": f.fits,
            "columns_found": f.found,
            "columns_read": len(f.layout.columns),
            "missing": list(f.missing),
        }
        for f in fits[:5]
    ]
    extra = _extra_options(path, source, sheet, delimiter, explicit_reader)
    if fits and fits[0].fits:
        best = fits[0].layout
        found.entity, found.known = best.entity, True
        found.mapping = None if best.path is None else best.name
        via = f" --mapping {_quoted(best.name)}" if best.path is not None else ""
        if delimiter != best.delimiter and source.name == "csv":
            extra += f" --delimiter {_quoted(delimiter)}"
        if best.reader and best.reader != source.name:
            extra = extra.replace(f" --from {source.name}", "") + f" --from {best.reader}"
        found.command = f"paceline import {best.entity} {_quoted(str(path))}{via}{extra}"
        return found
    guesses = guess_entity(header)
    guess = guesses[0]
    samples = {c: [row[i] for row in rows] for i, c in enumerate(header)}
    text = starting_mapping(guess, header, samples, settings, path.name, guesses[1:3])
    if delimiter != ",":
        text = text.replace("\n[columns]", f"\ndelimiter = {_toml(delimiter)}\n\n[columns]", 1)
    target = output or Path.cwd() / f"{path.stem}.mapping.toml"
    found.entity = guess.entity
    found.missing_fields = guess.missing
    if target.exists() and not force:
        found.written = None
    else:
        target.write_text(text, encoding="utf-8")
        found.written = str(target)
    found.mapping = _shown(target)
    found.command = (
        f"paceline import {guess.entity} {_quoted(str(path))} --mapping "
        f"{_quoted(_shown(target))}{extra}"
    )
    return found


def _pipeline_definition(path: Path, source: ImportSource) -> Detection | None:
    """A CRM source's pipeline definition (HubSpot's deal pipelines, Pipedrive's stages,
    Close's pipelines) is no list of records to import but the stages to configure: said
    so, with the command that prints them. None: the file is not one."""
    from paceline.ingest.csvfile import ImportFileError

    assert source.stages is not None
    try:
        stages = source.stages(path)
    except (ImportFileError, KeyError, TypeError, ValueError, AttributeError):
        return None
    if not stages:
        return None
    found = Detection(str(path), source.name, None, [], known=True, pipeline_stages=len(stages))
    found.command = f"paceline import stages {_quoted(str(path))} --from {source.name}"
    return found


def _extra_options(
    path: Path, source: ImportSource, sheet: str | None, delimiter: str, explicit: bool
) -> str:
    """The options the import needs besides the mapping to read the file the same way."""
    extra = ""
    if explicit or (path.suffix.lower() not in source.extensions and source.name != "csv"):
        extra += f" --from {source.name}"
    if sheet is not None:
        extra += f" --sheet {_quoted(sheet)}"
    return extra


def _quoted(text: str) -> str:
    import shlex

    return shlex.quote(text)
