"""Salesforce exports as import sources: Data Loader / Data Export CSVs and SFDX tree JSON.

Salesforce names its export files by object (`Task.csv`, `Opportunity.csv`, the tree
export's `Opportunitys.json`) and its columns by API name (`OwnerId`, `StageName`, `IsWon`).
What varies between orgs and export tools is which columns are present, so the readers here
turn any such file into one stable table: the file's own columns, the standard ones the
shipped mappings read (empty when absent), and a few `paceline:*` columns worked out from
several API fields (who the owner is, whether a task was a call, what a WhatId points at).
The shipped mappings (`salesforce:Task`, ...) then say which column is which field, and the
import's checks, accounting and batches do the rest, exactly as for any CSV.

Facts, not guesses, are derived here: `IsWon`/`IsClosed` give a deal's status; `OwnerId`
resolves to the name of the user in the User export of the same folder (an id that is not
there is refused with the row, never turned into a new rep); ids are compared in their
18-character form; Data Export's null id `000000000000000AAA` is no id. Choices a business
might make otherwise (which task type is which activity kind, which call disposition is
which outcome, which stage is which) live in the mapping files, where a copy can change them.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paceline.hookspecs import hookimpl
from paceline.ingest.csvfile import ImportFileError, open_csv
from paceline.ingest.fields import FALSE_WORDS, TRUE_WORDS
from paceline.ingest.placeholders import placeholder_rep
from paceline.ingest.sources import ImportSource, ReadOptions, Row, RowTable

if TYPE_CHECKING:  # for the hint only: every command loads this plugin at start-up
    from paceline.ingest.mapping import Mapping

SOURCE = "salesforce"
_CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
# Key prefixes of the standard objects an activity can point at.
_PREFIXES = {"001": "account", "003": "contact", "006": "deal", "00Q": "lead", "005": "user"}
_REF_PREFIXES = {"AccountRef": "account", "ContactRef": "contact", "OpportunityRef": "deal"}
# Values of `paceline:skip`: rows that are no activity (the shipped mappings skip them).
# The column a tree export's records carry their referenceId in (they have no Id).
REFERENCE = "paceline:reference"
SKIP_REASONS = (
    "deleted",
    "open task",
    "recurring series",
    "all-day event",
    "invitee copy",
    "not linked to any prospect",
)
# An event no prospect is named on (see `_prospect_linked`): skipped unless the user keeps it.
UNLINKED = "not linked to any prospect"


# --- ids and values --------------------------------------------------------------------------


def id18(raw: str) -> str:
    """A Salesforce id in its case-safe 18-character form ('' for none).

    Reports print 15-character ids, the API and Data Loader 18; both name the same record,
    so links are compared in one form. Data Export writes `000000000000000AAA` for "no
    record". A tree export's `@AccountRef1` reference becomes `AccountRef1`, the record's
    referenceId. Anything else (a placeholder id of a hand-made file) is kept as it is.
    """
    if len(raw) == 18 and not raw.startswith("000"):  # the common case, as the API writes it
        return raw
    text = raw.strip()
    if text.startswith("@"):
        return text[1:]
    if text.strip("0") in ("", "AAA") and len(text) in (15, 18):
        return ""
    if len(text) != 15 or not text.isalnum() or not text.isascii():
        return text
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, ch in enumerate(text[start : start + 5]) if ch.isupper())
        suffix += _CHECKSUM[bits]
    return text + suffix


def points_at(ref: str) -> str | None:
    """What an id or tree reference names: account, contact, deal, lead, user.

    The key prefix says it (`006...` an opportunity), whatever the id's length: a hand-made
    export's placeholder ids (`0060000000000001`, 16 characters) link its tasks to its
    opportunities as real ids do, and reading them as no link would drop the deal link
    without a word when that export's Opportunity file is left out."""
    kind = _PREFIXES.get(ref[:3])
    if kind is not None and len(ref) >= 15 and ref.isalnum() and ref.isascii():
        return kind
    for prefix, kind in _REF_PREFIXES.items():
        if ref.startswith(prefix):
            return kind
    return None


def flag(raw: str) -> bool:
    """A Salesforce boolean: 1/0, true/false; empty is false (Data Loader writes false so)."""
    word = raw.strip().lower()
    return word in TRUE_WORDS and word not in FALSE_WORDS


def _day(raw: str) -> str:
    """A date column as a date: Data Export prints `2023-09-06 00:00:00` for a date, and
    read as an instant that midnight would move to the previous day west of UTC."""
    text = raw.strip()
    return text[:10] if len(text) > 10 and text[10:].strip(" T:0.Z+") == "" else text


# --- objects ---------------------------------------------------------------------------------

Values = dict[str, str]


@dataclass(frozen=True)
class SObject:
    """One exportable object: its shipped mapping, the columns it cannot do without (each a
    tuple of alternatives), the columns its mapping reads, and its derived columns."""

    name: str
    entity: str
    required: tuple[tuple[str, ...], ...]
    reads: tuple[str, ...]
    derived: tuple[str, ...]
    owner_required: bool = False


OBJECTS: dict[str, SObject] = {
    o.name: o
    for o in (
        SObject(
            "User",
            "reps",
            (("Id", REFERENCE), ("Name", "LastName", "Username")),
            ("Email",),
            ("paceline:id", "paceline:name", "paceline:manager"),
        ),
        SObject(
            "Account",
            "accounts",
            (("Name",),),
            ("Industry", "Type"),
            ("paceline:id", "paceline:owner"),
        ),
        SObject(
            "Contact",
            "contacts",
            (("Name", "LastName"),),
            ("Title", "Email"),
            ("paceline:id", "paceline:name", "paceline:account_ref"),
        ),
        SObject(
            "Opportunity",
            "deals",
            (
                ("Id", REFERENCE),
                ("Name",),
                ("StageName",),
                ("Amount",),
                ("CreatedDate",),
                ("OwnerId",),
            ),
            ("CloseDate", "LastStageChangeDate"),
            ("paceline:id", "paceline:owner", "paceline:status", "paceline:account_ref"),
            owner_required=True,
        ),
        SObject(
            "OpportunityHistory",
            "stage_history",
            (("OpportunityId",), ("StageName",), ("CreatedDate",)),
            ("Amount",),
            ("paceline:id", "paceline:deal_ref"),
        ),
        SObject(
            "Task",
            "activities",
            (("OwnerId",), ("CompletedDateTime", "ActivityDate", "CreatedDate")),
            ("Subject", "CallDisposition"),
            (
                "paceline:id",
                "paceline:owner",
                "paceline:type",
                "paceline:when",
                "paceline:call_seconds",
                "paceline:account_ref",
                "paceline:contact_ref",
                "paceline:deal_ref",
                "paceline:skip",
            ),
            owner_required=True,
        ),
        SObject(
            "Event",
            "activities",
            (("OwnerId",), ("ActivityDateTime", "ActivityDate", "StartDateTime")),
            ("Subject", "DurationInMinutes"),
            (
                "paceline:id",
                "paceline:owner",
                "paceline:type",
                "paceline:when",
                "paceline:account_ref",
                "paceline:contact_ref",
                "paceline:deal_ref",
                "paceline:skip",
            ),
            owner_required=True,
        ),
    )
}
# The order a folder is imported in: each object's links point at objects before it.
IMPORT_ORDER = tuple(OBJECTS)
_ALIASES = {
    "users": "User",
    "accounts": "Account",
    "contacts": "Contact",
    "opportunities": "Opportunity",
    "opportunitys": "Opportunity",
    "opportunityhistories": "OpportunityHistory",
    "opportunityhistorys": "OpportunityHistory",
    "tasks": "Task",
    "events": "Event",
}
# Columns only one object has: how a CSV with an unusual name is still recognised.
_SIGNATURES = (
    ("OpportunityHistory", {"OpportunityId", "StageName"}),
    ("Opportunity", {"StageName", "IsWon"}),
    ("Opportunity", {"StageName", "CloseDate"}),
    ("Task", {"TaskSubtype"}),
    ("Task", {"CallDurationInSeconds"}),
    ("Event", {"ActivityDateTime", "DurationInMinutes"}),
    ("User", {"Username"}),
    ("Contact", {"FirstName", "LastName", "AccountId"}),
    ("Account", {"BillingCity"}),
)


def object_named(name: str) -> str | None:
    """The object a file name names: `Task.csv`, `opportunity.csv`, `timeline-Tasks.json`."""
    stem = name.rsplit(".", 1)[0].lower()
    words = [w for w in stem.replace("_", "-").split("-") if w]
    for word in [stem, *reversed(words)]:
        for obj in OBJECTS:
            if word == obj.lower():
                return obj
        if word in _ALIASES:
            return _ALIASES[word]
    return None


def object_of(path: Path, header: list[str], record_type: str | None = None) -> str:
    """Which object a file holds: the tree export's record type, else its name, else its
    columns; an ImportFileError when none tells."""
    if record_type is not None:
        if record_type in OBJECTS:
            return record_type
        raise ImportFileError(
            f"{path.name}: holds {record_type} records; Paceline imports {', '.join(OBJECTS)}"
        )
    named = object_named(path.name)
    if named is not None:
        return named
    columns = set(header)
    for obj, signature in _SIGNATURES:
        if signature <= columns:
            return obj
    raise ImportFileError(
        f"{path.name}: cannot tell which Salesforce object it holds; name it after the object "
        f"({', '.join(f'{o}.csv' for o in OBJECTS)})"
    )


# --- owners ----------------------------------------------------------------------------------


def user_name(values: Values) -> str:
    """A user's (or contact's) display name: Name, else first and last name, else Username."""
    name = " ".join(values.get("Name", "").split())
    if name:
        return name
    full = " ".join(f"{values.get('FirstName', '')} {values.get('LastName', '')}".split())
    return full or values.get("Username", "").strip()


@dataclass(frozen=True)
class Owners:
    """OwnerId -> rep name, from the User export next to the file (None: there is none).

    `fixed` is the rep a user named (`paceline import salesforce --owner NAME`) for the
    files that have no OwnerId column at all: an export whose query left OwnerId out says
    nothing about its owners, so the person importing it says it instead, for every row. It
    never overrides an OwnerId a file has, nor fills an empty one (that row has no owner).
    """

    names: dict[str, str] | None
    file_name: str = ""
    fixed: str = ""

    def problem_or_name(self, owner_id: str, required: bool) -> tuple[str, str | None]:
        """(rep name, None), or ("", why the row cannot be credited to anyone)."""
        if not owner_id:
            return "", "OwnerId is empty: the row has no owner to credit" if required else None
        if owner_id.startswith("00G"):
            return "", f"OwnerId {owner_id!r} is a queue, not a user: assign the record first"
        if self.names is None:
            return placeholder_rep(SOURCE, owner_id), None
        name = self.names.get(owner_id)
        if name is None:
            return "", (
                f"OwnerId {owner_id!r} is not a user in {self.file_name}: export that user "
                "with the others (rows are never credited to a made-up rep)"
            )
        return name, None


def owners_near(path: Path, options: ReadOptions | None = None) -> Owners:
    """The users exported beside `path` (a User CSV or tree JSON in the same folder), and
    the rep the user named for a file without OwnerId (`options.owner`)."""
    options = options or ReadOptions()
    fixed = " ".join(options.owner.split())
    found = find_export(path.parent, "User").get("User")
    if found is None:
        return Owners(None, fixed=fixed)
    return Owners(user_names(found, options), found.name, fixed)


def user_names(path: Path, options: ReadOptions) -> dict[str, str]:
    """Id (or tree referenceId) -> display name of every user in a User export."""
    names = {}
    for row in raw_records(path, options):
        ident = id18(row.get("Id", "")) or row.get(REFERENCE, "")
        if ident:
            names[ident] = user_name(row)
    return names


def raw_records(path: Path, options: ReadOptions) -> Iterator[Values]:
    """The records of an export file as plain dicts, for the small look-ups (users)."""
    if path.suffix.lower() == ".json":
        for record in _tree_records(path, options.encoding):
            yield {**_flat(record), REFERENCE: _reference(record)}
        return
    with path.open(encoding=options.encoding, newline="", errors="replace") as handle:
        yield from csv.DictReader(handle, delimiter=options.delimiter)


# --- derived columns -------------------------------------------------------------------------


def _links(values: Values) -> dict[str, str]:
    """account/contact/deal refs of an activity from AccountId, WhatId and WhoId."""
    what, who = id18(values.get("WhatId", "")), id18(values.get("WhoId", ""))
    account = id18(values.get("AccountId", ""))
    if not account and points_at(what) == "account":
        account = what
    return {
        "paceline:account_ref": account,
        "paceline:deal_ref": what if points_at(what) == "deal" else "",
        "paceline:contact_ref": who if points_at(who) == "contact" else "",
    }


def _task_type(values: Values) -> str:
    """call, email, linkedin, meeting, letter, quote or other, from TaskSubtype and Type."""
    subtype = values.get("TaskSubtype", "").strip().lower()
    kind = values.get("Type", "").strip().lower()
    seconds = values.get("CallDurationInSeconds", "").strip()
    if subtype == "call" or kind == "call" or values.get("CallType", "").strip():
        return "call"
    if seconds and seconds != "0" and seconds.replace(".", "", 1).isdigit():
        return "call"
    if subtype in ("email", "listemail") or kind == "email":
        return "email"
    if subtype == "linkedin":
        return "linkedin"
    if kind == "meeting":
        return "meeting"
    if "letter" in kind:
        return "letter"
    if "quote" in kind:
        return "quote"
    return "other"


def _task_done(values: Values, header: set[str]) -> bool:
    if "IsClosed" in header:
        return flag(values.get("IsClosed", ""))
    return values.get("Status", "").strip().lower() in ("completed", "closed", "done")


def _task(values: Values, header: set[str]) -> Values:
    kind = _task_type(values)
    skip = ""
    if flag(values.get("IsDeleted", "")):
        skip = "deleted"
    elif flag(values.get("IsRecurrence", "")):
        skip = "recurring series"
    elif not _task_done(values, header):
        skip = "open task"
    when = values.get("CompletedDateTime", "").strip() or _day(values.get("ActivityDate", ""))
    return {
        "paceline:type": kind,
        "paceline:when": when or values.get("CreatedDate", "").strip(),
        "paceline:call_seconds": values.get("CallDurationInSeconds", "") if kind == "call" else "",
        "paceline:skip": skip,
        **_links(values),
    }


def _prospect_linked(values: Values) -> bool:
    """Whether an activity names a prospect: an account (AccountId, or a WhatId of one), a
    deal (WhatId), a contact or a lead (WhoId).

    A sales manager reads a meeting as selling time only when it is with or about someone
    the team sells to. Salesforce's calendar also holds what is nobody's prospect: a
    dinner, a holiday party, a one-to-one, a meeting about a support case (WhatId naming a
    Case) or a custom object. Crediting those as meetings, which `--owner` would do for a
    whole file, inflates activity no one can act on; so an event linked to none of them is
    skipped with its reason counted, and `--unlinked-events` keeps them."""
    who, what = id18(values.get("WhoId", "")), id18(values.get("WhatId", ""))
    return bool(
        id18(values.get("AccountId", ""))
        or points_at(what) in ("account", "deal")
        or points_at(who) in ("contact", "lead")
    )


def _event(values: Values, header: set[str]) -> Values:
    kind = values.get("Type", "").strip().lower()
    skip = ""
    if flag(values.get("IsDeleted", "")):
        skip = "deleted"
    elif flag(values.get("IsRecurrence", "")):
        skip = "recurring series"
    elif flag(values.get("IsAllDayEvent", "")):
        skip = "all-day event"
    elif flag(values.get("IsChild", "")):
        skip = "invitee copy"
    elif not _prospect_linked(values):
        skip = UNLINKED
    when = (
        values.get("ActivityDateTime", "").strip()
        or values.get("StartDateTime", "").strip()
        or _day(values.get("ActivityDate", ""))
    )
    return {
        "paceline:type": kind if kind in ("call", "email") else "meeting",
        "paceline:when": when,
        "paceline:skip": skip,
        **_links(values),
    }


def _opportunity(values: Values, header: set[str]) -> Values:
    if flag(values.get("IsWon", "")):
        status = "won"
    elif flag(values.get("IsClosed", "")):
        status = "lost"
    else:
        status = "open" if {"IsWon", "IsClosed"} & header else ""
    return {
        "paceline:status": status,
        "paceline:account_ref": id18(values.get("AccountId", "")),
    }


DERIVERS: dict[str, Callable[[Values, set[str]], Values]] = {
    "Account": lambda v, h: {},
    "Contact": lambda v, h: {
        "paceline:name": user_name(v),
        "paceline:account_ref": id18(v.get("AccountId", "")),
    },
    "Opportunity": _opportunity,
    "OpportunityHistory": lambda v, h: {"paceline:deal_ref": id18(v.get("OpportunityId", ""))},
    "Task": _task,
    "Event": _event,
}


# --- the table -------------------------------------------------------------------------------


# Why `--owner` is not used for a file with the column: said by every face.
OWNER_IN_FILE = "every row names its owner in OwnerId"


class SalesforceTable(RowTable):
    """One Salesforce export file as the stable table the shipped mappings read.

    Subclasses read the records (`source_header`, `source_rows`); this class checks the
    object's required columns, adds the absent optional ones and the derived ones, and
    refuses (per row, with the reason) a row whose owner is not a known user.
    """

    record_type: str | None = None

    def __init__(
        self, path: Path, source_header: list[str], options: ReadOptions, owners: Owners | None
    ) -> None:
        self.path = path
        self.source_header = source_header
        self.sobject = OBJECTS[object_of(path, source_header, self.record_type)]
        self._present = set(source_header)
        self._owners = owners if owners is not None else owners_near(path, options)
        self._unlinked_kept = options.unlinked_events  # --unlinked-events: kept as meetings
        # The rep named for every row, when the file has no OwnerId column to say it.
        self.fixed_owner = (
            self._owners.fixed
            if self.sobject.owner_required and "OwnerId" not in self._present
            else ""
        )
        self.owner_ignored = self._why_owner_ignored()
        missing = [
            " or ".join(c for c in choices if c != REFERENCE)
            for choices in self.sobject.required
            if not any(c in self._present for c in choices)
            and not (choices == ("OwnerId",) and self.fixed_owner)
        ]
        if missing:
            raise ImportFileError(
                f"{path.name}: a Salesforce {self.sobject.name} export needs the column(s) "
                f"{', '.join(missing)}; export them too (in Data Loader, or in the SOQL query "
                f"of a tree export){_way_forward(path, missing, options.owner_field)}"
            )
        added = [c for c in self.sobject.reads if c not in self._present]
        super().__init__(path.name, [*source_header, *added, *self.sobject.derived])
        self._managers: dict[str, str] = {}
        if self.sobject.name == "User":
            self._managers = user_names(path, options)

    def _why_owner_ignored(self) -> str:
        """Why the rep named for every row (`--owner`) credits none here ("" if it does, or
        none was named): the file's OwnerId says each row's owner, and never gives way to
        it; an object without an owner has none to give."""
        if not self._owners.fixed or self.fixed_owner:
            return ""
        if "OwnerId" in self._present:
            return OWNER_IN_FILE
        return (
            f"a Salesforce {self.sobject.name} export is not credited to the rep named; only "
            "deals, tasks and events without OwnerId are"
        )

    def source_rows(self) -> Iterator[Row]:
        raise NotImplementedError

    def default_mapping(self) -> Mapping | None:
        from paceline.ingest.crm.shipped import resolve_mapping

        return resolve_mapping(f"{SOURCE}:{self.sobject.name}")

    def rows(self) -> Iterator[Row]:
        width = len(self.source_header)
        pad = [""] * (len(self.header) - width - len(self.sobject.derived))
        for line, values, problem in self.source_rows():
            if problem is not None or len(values) != width:
                yield line, values, problem
                continue
            row = dict(zip(self.source_header, values, strict=True))
            derived, problem = self._derive(row)
            extra = [derived.get(c, "") for c in self.sobject.derived]
            yield line, [*values, *pad, *extra], problem

    def _derive(self, values: Values) -> tuple[Values, str | None]:
        obj = self.sobject
        derived: Values = {"paceline:id": id18(values.get("Id", "")) or values.get(REFERENCE, "")}
        problem = None
        if self.fixed_owner:
            derived["paceline:owner"] = self.fixed_owner
        elif "paceline:owner" in obj.derived:
            owner, problem = self._owners.problem_or_name(
                id18(values.get("OwnerId", "")), obj.owner_required
            )
            derived["paceline:owner"] = owner
        if obj.name == "User":
            derived["paceline:name"] = user_name(values)
            manager = id18(values.get("ManagerId", ""))
            derived["paceline:manager"] = self._managers.get(manager, "") if manager else ""
        else:
            derived.update(DERIVERS[obj.name](values, self._present))
        if self._unlinked_kept and derived.get("paceline:skip") == UNLINKED:
            derived["paceline:skip"] = ""
        if derived.get("paceline:skip"):
            problem = None  # a row the mapping leaves out (an open task) needs no owner
        return derived, problem


def _way_forward(path: Path, missing: list[str], owner_field: str = "") -> str:
    """What a folder import can do short of re-exporting, for a file missing `missing`.

    A missing OwnerId can be stated by the user for every row (`--owner`, or the face's
    `owner_field`, where a file is imported alone and there is no folder to `--skip` it
    from); a missing CreatedDate cannot: a deal's creation places it in the pipeline (open
    on a day, the week's in-flow, its sales cycle), and no other column of an export says
    when that was, so any stand-in would be invented. Either way the file can be left out
    (`--skip`)."""
    said = []
    if "CreatedDate" in missing:
        said.append("a deal without CreatedDate cannot be placed in time, and is never guessed")
    if owner_field:
        if "OwnerId" in missing:
            said.append(f"or credit every row to one rep: name that rep in {owner_field}")
        return "".join(f"; {text}" for text in said)
    ways = ["leave the file out with --skip " + path.name]
    if "OwnerId" in missing:
        ways.insert(0, "credit every row to one rep with --owner REP")
    said.append("`paceline import salesforce` can " + ", or ".join(ways))
    return "; " + "; ".join(said)


class CsvExportTable(SalesforceTable):
    """A Data Loader or Data Export CSV."""

    def __init__(self, path: Path, options: ReadOptions, owners: Owners | None) -> None:
        self._csv = open_csv(path, options.encoding, options.delimiter)
        try:
            super().__init__(path, self._csv.header, options, owners)
        except BaseException:
            self._csv.close()
            raise

    def source_rows(self) -> Iterator[Row]:
        return self._csv.rows()

    def progress(self) -> tuple[int, int]:
        return (self._csv.bytes_read(), self._csv.size)

    def close(self) -> None:
        self._csv.close()


class TreeExportTable(SalesforceTable):
    """An SFDX tree export (`sf data export tree`): {"records": [{"attributes": {"type",
    "referenceId"}, field: value, ...}]}. Child relationships nested in a record are left
    out (export them as files of their own); numbers and booleans become their text; the
    referenceId is the id of a record exported without its Id."""

    def __init__(self, path: Path, options: ReadOptions, owners: Owners | None) -> None:
        records = _tree_records(path, options.encoding)
        types = {str(r.get("attributes", {}).get("type", "")) for r in records}
        if len(types) > 1:
            raise ImportFileError(f"{path.name}: records of several types ({', '.join(types)})")
        self.record_type = types.pop() if types else None
        header: list[str] = []
        for record in records:
            header += [k for k in _flat(record) if k not in header]
        self._records = records
        self._done = 0
        super().__init__(path, [*header, REFERENCE], options, owners)

    def source_rows(self) -> Iterator[Row]:
        for number, record in enumerate(self._records, start=1):
            self._done = number
            flat = {**_flat(record), REFERENCE: _reference(record)}
            yield number, [flat.get(column, "") for column in self.source_header], None

    def progress(self) -> tuple[int, int]:
        return (self._done, len(self._records))


def _flat(record: dict[str, Any]) -> Values:
    """A tree record's own fields as text (attributes and nested child records left out)."""
    return {
        key: _text(value)
        for key, value in record.items()
        if key != "attributes" and not isinstance(value, (dict, list))
    }


def _reference(record: dict[str, Any]) -> str:
    attributes = record.get("attributes")
    return str(attributes.get("referenceId", "")) if isinstance(attributes, dict) else ""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _tree_records(path: Path, encoding: str) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImportFileError(f"{path.name}: not a readable SFDX tree export: {exc}") from None
    records = data.get("records") if isinstance(data, dict) else None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ImportFileError(
            f'{path.name}: not an SFDX tree export (no list of records under "records")'
        )
    return records


def open_export(path: Path, options: ReadOptions, owners: Owners | None = None) -> SalesforceTable:
    """A Salesforce export file of either layout, by its extension."""
    if path.suffix.lower() == ".json":
        return TreeExportTable(path, options, owners)
    return CsvExportTable(path, options, owners)


# --- folders ---------------------------------------------------------------------------------


def find_export(
    folder: Path, only: str | None = None, skip: frozenset[str] = frozenset()
) -> dict[str, Path]:
    """The export file of each object in a folder (or of `only` that one): CSVs named by
    object, tree JSON files by the type of their records (a plan file is not one). Files
    named in `skip` (the user's `--skip`) are not looked at. One file per object; a second
    is an ImportFileError, as importing either would be a guess: the user names the one to
    leave out."""
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name in skip:
            continue
        obj = export_object(path)
        if obj is None or (only is not None and obj != only):
            continue
        if obj in found:
            raise ImportFileError(
                f"{folder}: two files for {obj} ({found[obj].name}, {path.name}); keep one, "
                f"or name the one to leave out: --skip {path.name} or --skip {found[obj].name}"
            )
        found[obj] = path
    return found


def export_object(path: Path) -> str | None:
    """The object an export file holds, as a folder import finds it (None: not an export
    file): a CSV by its name, a tree JSON file by the type of its records."""
    if path.suffix.lower() == ".csv":
        obj = object_named(path.name)
        if obj is None and path.stem.lower() in ("opportunitystage", "opportunitystages"):
            obj = "OpportunityStage"
        return obj
    if path.suffix.lower() == ".json" and not path.stem.lower().endswith("plan"):
        return _tree_type(path)
    return None


def _tree_type(path: Path) -> str | None:
    try:
        records = _tree_records(path, "utf-8-sig")
    except ImportFileError:
        return None
    types = {str(r.get("attributes", {}).get("type", "")) for r in records}
    return types.pop() if len(types) == 1 and next(iter(types)) in OBJECTS else None


# --- the stage picklist ----------------------------------------------------------------------


@dataclass(frozen=True)
class PicklistStage:
    label: str
    status: str
    probability: float | None
    order: int


def picklist_stages(path: Path) -> list[PicklistStage]:
    """The active stages of an OpportunityStage export, in their sort order."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    stages: list[PicklistStage] = []
    for row in rows:
        label = (row.get("MasterLabel") or row.get("ApiName") or "").strip()
        if not label or ("IsActive" in row and not flag(row["IsActive"])):
            continue
        won, closed = flag(row.get("IsWon", "")), flag(row.get("IsClosed", ""))
        status = "won" if won else "lost" if closed else "open"
        probability = row.get("DefaultProbability", "").strip()
        order = row.get("SortOrder", "").strip()
        stages.append(
            PicklistStage(
                label,
                status,
                float(probability) / 100 if probability else None,
                int(float(order)) if order else len(stages),
            )
        )
    return sorted(stages, key=lambda s: s.order)


def stages_toml(stages: list[PicklistStage], slug: Callable[[str], str]) -> str:
    """The `[[stages]]` entries of paceline.toml for a picklist, in its order."""
    blocks = []
    for stage in stages:
        lines = ["[[stages]]", f'name = "{slug(stage.label)}"']
        if stage.status != "open":
            lines.append(f'status = "{stage.status}"')
        if stage.probability is not None:
            lines.append(f"probability = {stage.probability:g}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


# --- the plugin ------------------------------------------------------------------------------


def open_csv_export(path: Path, options: ReadOptions) -> RowTable:
    return CsvExportTable(path, options, None)


def open_tree_export(path: Path, options: ReadOptions) -> RowTable:
    if path.suffix.lower() != ".json":
        raise ImportFileError(f"{path.name}: an SFDX tree export is a .json file")
    return TreeExportTable(path, options, None)


SALESFORCE_SOURCE = ImportSource(
    name="salesforce",
    description="Salesforce Data Loader / Data Export CSV, one file per object (Task.csv, ...).",
    open=open_csv_export,
    takes_owner=True,
)


def is_tree_export(path: Path) -> bool:
    """An SFDX tree export: records whose `attributes` name their sObject type."""
    from paceline.ingest.crm.jsonrows import sample_records

    _data, records = sample_records(path)
    attributes = records[0].get("attributes") if records else None
    return isinstance(attributes, dict) and "type" in attributes


SFDX_TREE_SOURCE = ImportSource(
    name="sfdx-tree",
    description="Salesforce SFDX tree export JSON (sf data export tree), one file per object.",
    open=open_tree_export,
    extensions=(".json",),
    sniff=is_tree_export,
    takes_owner=True,
)


@hookimpl
def register_import_sources() -> list[ImportSource]:
    return [SALESFORCE_SOURCE, SFDX_TREE_SOURCE]
