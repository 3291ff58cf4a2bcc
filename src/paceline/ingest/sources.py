"""Import sources: what reads an input into named columns before the import maps it.

The import is one pipeline (map columns to fields, check every value, resolve names, write
in batches, account for every row); only the reading differs between a CSV file, a JSON
lines export or a CRM's API. A source turns its input into a `RowTable` (a header and rows of
text values) and the pipeline does the rest, so a source never has to re-implement the
guarantees of DESIGN.md ("nothing lost, nothing doubled").

Sources come from plugins (`register_import_sources`); CSV, spreadsheets, the CRMs' exports
and calendars are built-in ones.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from paceline.ingest.entity_names import ENTITIES as ENTITIES
from paceline.ingest.entity_names import Entity as Entity

if TYPE_CHECKING:
    from paceline.config import Settings
    from paceline.ingest.crm.jsonrows import CrmStage
    from paceline.ingest.mapping import Mapping
    from paceline.ingest.people import Directory
    from paceline.ingest.sync import Connector

# What an import loads: one `paceline import` command each (re-exported here and by
# `ingest.mapping`; defined alone in `ingest.entity_names`, which `log` loads without this).


@dataclass(frozen=True)
class RowProblem:
    """Why a record cannot be trusted, said in two parts: `reason`, the same for every record
    with this problem, and `example`, where this one is (a calendar's file, event and start).

    Why not one text: the import's summary counts rejected rows by reason ("40 row(s): no
    rep ..."); a reason that names its record is a reason of its own for every record, and
    the summary listed forty reasons of one row each. `text` is the whole message, as the
    errors file and the first rejected rows show it."""

    text: str
    reason: str
    example: str

    def __str__(self) -> str:
        return self.text


# (line or record number, the values in header order, why the record cannot be trusted)
Row = tuple[int, list[str], str | RowProblem | None]


@dataclass(frozen=True)
class ReadOptions:
    """What the user said about reading the input (a source ignores what it does not use)."""

    encoding: str = "utf-8-sig"
    delimiter: str = ","
    # A CRM export's companions: its pipeline definition (stage ids -> labels and won/lost)
    # and its owners or users list (owner ids -> names). Sources that need neither ignore them.
    pipelines: Path | None = None
    owners: Path | None = None
    sheet: str | None = None  # a spreadsheet's sheet, by name or 1-based number
    # The columns the mapping reads: a source that must find its header row (a spreadsheet
    # with title rows above it) looks for them.
    columns: tuple[str, ...] = ()
    # What a source that meets people and times needs (a calendar: whose e-mail is whose,
    # the organisation's own domains, the business time zone), given by the import so that
    # no face and no plugin queries the store for it. None outside an import (`paceline
    # import detect` only samples a file's rows).
    settings: Settings | None = None  # the configuration: [calendar] timezone, [meetings]
    # Who is who by e-mail, loaded from the store on the first call (a CSV file never pays
    # for it). Its internal domains are [meetings] internal_domains and those given for the
    # import (--internal-domain), else the reps' e-mail domains.
    people: Callable[[], Directory] | None = None
    # The rep whose calendar it is, for the events no rep's e-mail is in (`paceline import
    # calendar --rep`, the Import page's “Whose rows are these?”); not `owner` below, which credits
    # every row of a file with no owner column.
    calendar_owner: str | None = None
    since: dt.datetime | None = None  # naive UTC: records before it are not read (--since)
    now: dt.datetime | None = None  # naive UTC: the import's moment; later ones are not read
    # What the user says that a CRM export does not (sources with `takes_owner` read them):
    # the rep credited with every row of a file that has no owner column at all (`--owner`),
    # and whether an event linked to no prospect is kept as a meeting (`--unlinked-events`).
    owner: str = ""
    unlinked_events: bool = False
    # Where the face running the import lets the user name that rep, for the refusal of a
    # file without an owner column to point at it: "" is the command line's `--owner REP`;
    # the web's Import page has no such option, but a field ("the field “Whose rows are
    # these?” of this page"). A calendar's refusal of an owner who is no rep names it too
    # (the command line's `--rep`): the page asks one question for both.
    owner_field: str = ""


class RowTable:
    """One opened input: a header and a stream of rows with the same number of values.

    Subclasses give `rows()`; the defaults below suit a source that cannot tell progress or
    guess why columns are missing. A row with a different number of values than the header
    is rejected by the import, with its number, like a ragged CSV line.
    """

    # A row's problem (the third value of a Row) is also a warning about the whole input:
    # true for a CSV file (an unbalanced quote); a source whose rows are records of their
    # own says False.
    problems_are_warnings = True
    # Whether the rep names in the rows may create reps (with the import's allow_new_reps):
    # False for a source that names only the reps it found in the store (a calendar).
    creates_reps = True
    # The rep every row is credited to because the input has no owner column and the user
    # named one (`ReadOptions.owner`); "" when the rows say their owners (or none was named).
    fixed_owner = ""
    # Why the rep the user named for every row (`ReadOptions.owner`) credits none of them,
    # when one was named and the input does not take it (its rows name their owners); ""
    # otherwise. The import hands it to the faces, which say so before the first write.
    owner_ignored = ""

    def __init__(self, name: str, header: list[str]) -> None:
        self.name = name  # how messages name the input, e.g. the file name
        self.header = header

    def rows(self) -> Iterator[Row]:
        raise NotImplementedError

    def chunks(self, size: int) -> Iterator[list[Row]]:
        """The rows `size` at a time (fewer when a source bounds what a chunk holds, as a
        CSV file does by characters: `CsvFile.chunks`); the import checks a chunk at a
        time."""
        rows = self.rows()
        while chunk := list(itertools.islice(rows, size)):
            yield chunk

    def progress(self) -> tuple[int, int]:
        """(done, total) in any unit, for a progress bar; (0, 0) when unknown."""
        return (0, 0)

    def header_hint(self, wanted: list[str]) -> str:
        """Appended to "missing required column(s)": help to find the right columns."""
        shown = ", ".join(self.header[:15])
        return f" (the input's columns: {shown}{', ...' if len(self.header) > 15 else ''})"

    def default_mapping(self) -> Mapping | None:
        """The mapping this input is read with when the user names none (a CRM reader knows
        its layout); None: the generic columns."""

    def locate(self, line: int, column: int) -> str | None:
        """Where a value is, for an error (a spreadsheet's "Calls!B7"); None: the line says it."""
        return None

    def close(self) -> None:
        """Release the input; called once, also after an error."""


@dataclass(frozen=True)
class ImportSource:
    """A named reader of one kind of input: `open(path, options)` returns its RowTable, or
    raises `ImportFileError` (nothing is written then) when the input as a whole is bad.
    `stages(path)` reads the system's pipeline definition into stages, for a CRM source."""

    name: str
    description: str
    open: Callable[[Path, ReadOptions], RowTable]
    # Reads the CRM's pipeline definition (for `paceline import stages`), if it has one.
    stages: Callable[[Path], list[CrmStage]] | None = None
    # File name endings this source reads (".xlsx"): the import picks it for such a file
    # when no --from is given. Several sources may claim one ending (".json"): then each
    # one's `sniff` says whether a file is its own.
    extensions: tuple[str, ...] = ()
    # Whether a file is in this source's layout (a CRM's API answer), read cheaply; a source
    # without one takes every file with its extensions.
    sniff: Callable[[Path], bool] | None = None
    # The live connector that pulls this source's records through the CRM's API
    # (`paceline sync NAME`), when it has one.
    sync: Connector | None = None
    # Whether it reads `ReadOptions.owner` and `unlinked_events` (a Salesforce export): an
    # import given either for another source is refused, rather than the words ignored.
    takes_owner: bool = False
    # Whether it reads `ReadOptions.calendar_owner` (a calendar): the web's Import page asks
    # one question, whose rows these are, and hands the answer to whichever of the two the
    # file's source reads; a source reading neither refuses the answer.
    takes_calendar_owner: bool = False
