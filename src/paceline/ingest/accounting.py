"""The books of an import: what came in, what happened to each row, what was rejected.

Shared by the importer (which reads and checks rows) and the writers (which store them), so
both sides count into the same result and reject into the same errors file.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from paceline.files import is_special, remove_if_regular
from paceline.ingest.columns import CHECKED_FIELDS, ChunkColumns, records_of
from paceline.ingest.entities import Record
from paceline.ingest.sources import RowProblem

DEFAULT_BATCH_SIZE = 10_000
MAX_WARNINGS = 20
MAX_REASONS = 1_000  # distinct rejection reasons counted one by one; the rest are lumped
MAX_EXAMPLES = 3  # where rows rejected for one reason are, when the reason does not say


class RejectedReason(NamedTuple):
    """Rows rejected for one reason: the field, the reason, how many, and where the first
    few were when the reason alone does not say (a calendar's file, event and start)."""

    field: str
    reason: str
    rows: int
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class IgnoredOwner:
    """A rep the user named for every row (`--owner`, the web's "Whose rows are these?")
    that the import did not use, and why: the user believes the rows are that rep's, so
    every face says they are not."""

    rep: str
    reason: str  # "every row names its owner in OwnerId"


@dataclass
class ImportResult:
    """What an import did, row by row accounted for."""

    entity: str
    source: str  # the system the ids come from: records are keyed by (source, external id)
    file: str
    # The import source that read the file ("xlsx"): not `source`, which a generic file of
    # any format keeps as "csv", so that a CSV and a spreadsheet export of the same records,
    # or a spreadsheet imported before and after this was said, never double them.
    reader: str = "csv"
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicate: int = 0
    skipped: int = 0
    rejected: int = 0
    new_reps: list[str] = field(default_factory=list)
    # New rep names refused as look-alikes of an existing rep: new name -> existing name.
    near_duplicates: dict[str, str] = field(default_factory=dict)
    new_accounts: int = 0
    new_contacts: int = 0
    notes: dict[str, int] = field(default_factory=dict)
    errors_file: str | None = None
    first_errors: list[tuple[int, str, str]] = field(default_factory=list)
    # The commonest reasons, so a summary can say "283 rows: unknown stage 'Initial Offer'"
    # instead of showing five lines out of thousands.
    rejected_by_reason: list[RejectedReason] = field(default_factory=list)
    seconds: float = 0.0
    import_run_id: int | None = None
    # How the import ended, as its `import_run` records it: "done", or "failed" with the
    # reason (every row rejected, more than --max-rejected, or stopped by an error).
    status: str = "running"
    failure: str | None = None
    # Problems with the file as a whole that rows alone do not show (an unbalanced quote).
    warnings: list[str] = field(default_factory=list)
    # The rep credited with every row because the file has no owner column (`--owner`);
    # "" when the rows named their owners, so a face can say which of the two happened.
    owner: str = ""
    # The rep named for every row but not used (the file names its owners), else None.
    owner_ignored: IgnoredOwner | None = None

    def warn(self, text: str) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(text)

    @property
    def accounted(self) -> int:
        return (
            self.inserted
            + self.updated
            + self.unchanged
            + self.duplicate
            + self.skipped
            + self.rejected
        )

    @property
    def rows_per_second(self) -> float:
        return self.read / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class RejectLimit:
    """How many rejected rows an import may have and still succeed: a count or a share."""

    text: str
    rows: int | None = None
    share: float | None = None

    @classmethod
    def parse(cls, text: str) -> RejectLimit:
        """'25' (rows) or '2%' / '2.5%' (of the rows read); a ValueError names the problem."""
        value = text.strip()
        try:
            if value.endswith("%"):
                share = float(value[:-1]) / 100
                if not 0 <= share <= 1:
                    raise ValueError
                return cls(value, share=share)
            rows = int(value)
            if rows < 0:
                raise ValueError
            return cls(value, rows=rows)
        except ValueError:
            raise ValueError(
                f"--max-rejected must be a number of rows (e.g. 10) or a percentage of the "
                f"rows read (e.g. 2%), not {text!r}"
            ) from None

    def exceeded_by(self, result: ImportResult) -> bool:
        if self.rows is not None:
            return result.rejected > self.rows
        return result.rejected > (self.share or 0.0) * result.read


def import_failure(result: ImportResult, limit: RejectLimit | None = None) -> str | None:
    """Why an import that ran to its end still failed, or None.

    An import that rejects every row (a wrong mapping, the wrong file) must not look like a
    success to a script: it and one over `--max-rejected` fail with a reason. The rows that
    were accepted stay stored either way (each batch is committed).
    """
    accepted = result.inserted + result.updated + result.unchanged + result.duplicate
    if result.rejected and not accepted:
        return f"every row was rejected ({result.rejected:,} of {result.read:,})"
    if limit is not None and limit.exceeded_by(result):
        return (
            f"{result.rejected:,} of {result.read:,} rows were rejected, more than "
            f"--max-rejected {limit.text} allows"
        )
    return None


# A row's cells as one text, joined by UNIT (the ASCII unit separator): how the checking
# process sends the rows of a usual chunk (`ingest.pipeline`). Only a rejected row needs its
# cells again; unpickling every row's cells one string at a time cost the importer more
# than any other step of reading what the child sent.
UNIT = "\x1f"
Raw = list[str] | str


def cells_of(raw: Raw) -> list[str]:
    """A row's cells, from either form of `Raw`."""
    return raw.split(UNIT) if isinstance(raw, str) else raw


@dataclass(slots=True)
class Pending:
    line: int
    record: Record
    raw: Raw  # the row as read: its cells, or their text joined by UNIT


class ColumnBatch:
    """A batch of activities kept column by column (`columns.CHECKED_FIELDS` order), as the
    column check made them: the activity writer inserts them by column, resolving each
    distinct rep and account name once, and builds a row's record (`pending`) only for a
    row it must reject, update or report, or the whole batch's (`pendings`) for a batch it
    takes down the record path (a rare one: a contact or deal named, a rep refused).

    Unpickling a chunk's records as dicts cost the importer about 1 CPU s per million rows,
    and taking their values apart again to insert them 0.7 (benchmarks/README.md)."""

    __slots__ = ("columns", "lines", "raws")

    def __init__(self, lines: Sequence[int], raws: Sequence[Raw], columns: ChunkColumns) -> None:
        self.lines = lines
        self.raws = raws
        self.columns = columns

    def __len__(self) -> int:
        return len(self.lines)

    def column(self, name: str) -> list[Any]:
        """Every row's value of the field `name`."""
        return self.columns[_FIELD_AT[name]]

    def pending(self, at: int) -> Pending:
        """The row at position `at`, as the record path has it."""
        record = dict(zip(CHECKED_FIELDS, [column[at] for column in self.columns], strict=True))
        return Pending(self.lines[at], record, self.raws[at])

    def pendings(self) -> list[Pending]:
        """Every row, as the record path has them."""
        return list(map(Pending, self.lines, records_of(self.columns), self.raws))


_FIELD_AT = {name: at for at, name in enumerate(CHECKED_FIELDS)}
# A batch as the writers take it: records, or (activities) columns.
Batch = list[Pending] | ColumnBatch


@dataclass
class ImportOptions:
    source: str | None = None
    timezone: str | None = None
    delimiter: str | None = None
    encoding: str | None = None
    allow_new_reps: bool = True
    # New rep names confirmed as new people although they look like an existing rep's
    # (`--allow-new-rep`, the import page's confirm box): without, such rows are refused.
    confirmed_new_reps: frozenset[str] = frozenset()
    errors_path: Path | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    now: dt.datetime | None = None  # naive UTC that "in the future" is measured from
    max_rejected: RejectLimit | None = None  # more rejected rows than this fail the import
    # The CRM's own pipeline definition and owners (users) lists, for sources that read them.
    pipelines: Path | None = None
    owners: Path | None = None
    sheet: str | None = None  # a spreadsheet's sheet (name or 1-based number)
    # A Salesforce export's `--owner REP` and `--unlinked-events` (see `ReadOptions`).
    owner: str = ""
    unlinked_events: bool = False
    # For a source that meets people (a calendar; `ReadOptions` says why each is there):
    calendar_owner: str | None = None  # the rep whose calendar it is (--rep)
    internal_domains: tuple[str, ...] = ()  # the company's domains besides [meetings]'
    since: dt.datetime | None = None  # naive UTC: older records are not read (--since)
    # Where the face that runs the import lets the user name that rep (see `ReadOptions`).
    owner_field: str = ""
    # Set by the importer, not a user: the database's first zone (`store.day_zone.key_zone`)
    # when this file's times without an offset are read in another, the configured one.
    first_zone: str | None = None


# What `ErrorSink.mark` remembers: the file's position, the count, the first rows, the
# reasons counted and their examples.
SinkMark = tuple[
    int,
    int,
    list[tuple[int, str, str]],
    Counter[tuple[str, str]],
    dict[tuple[str, str], list[str]],
]


class ErrorSink:
    """Rejected rows, written to a CSV as they occur (the file is created on the first one).

    A rejected row is never lost: `check_writable` proves the file can be written before
    the import writes anything, `flush` puts every row on disk before the import records
    itself done, and a write that fails (a full disk) stops the import, recorded failed.
    """

    def __init__(self, path: Path, header: list[str], cells: bool = False) -> None:
        self.path = path
        self.header = header
        self.cells = cells  # a spreadsheet's rows: each rejection also names its cell
        self._handle: TextIO | None = None
        self._writer: Any = None
        self.count = 0
        self.first: list[tuple[int, str, str]] = []
        self.reasons: Counter[tuple[str, str]] = Counter()
        self.examples: dict[tuple[str, str], list[str]] = {}

    def check_writable(self) -> None:
        """Raise OSError (naming the path) unless the errors file can be created or written:
        a folder that cannot be made or written, a file that is read-only or a folder.
        The file is left as it was (a probe that created it removes it)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        existed = self.path.exists()
        with self.path.open("a", encoding="utf-8"):
            pass
        if not existed:
            self.path.unlink(missing_ok=True)

    def flush(self) -> None:
        """Every rejected row so far on disk (an OSError, e.g. a full disk, if not)."""
        if self._handle is not None:
            self._handle.flush()
            if not is_special(self.path):  # a device or pipe has no disk to sync (EINVAL)
                os.fsync(self._handle.fileno())

    def reject(
        self,
        line: int,
        field_name: str,
        reason: str | RowProblem,
        raw: Raw,
        cell: str | None = None,
    ) -> None:
        """Record one rejected row; `cell` ("Calls!B7") names the value in a spreadsheet. A
        `RowProblem` is written whole and counted by its reason, with its example."""
        problem = reason if isinstance(reason, RowProblem) else None
        reason = str(reason)
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("w", encoding="utf-8", newline="", errors="replace")
            self._writer = csv.writer(self._handle)
            where = ["line", "cell"] if self.cells else ["line"]
            self._writer.writerow([*where, "field", "reason", *self.header])
        where_values: list[object] = [line, cell or ""] if self.cells else [line]
        self._writer.writerow([*where_values, field_name, reason, *printable(cells_of(raw))])
        self.count += 1
        if len(self.first) < 20:
            self.first.append((line, f"{field_name} ({cell})" if cell else field_name, reason))
        key = (field_name, problem.reason if problem else reason)
        if key not in self.reasons and len(self.reasons) >= MAX_REASONS:
            key = (field_name, "other reasons")
        self.reasons[key] += 1
        if problem is not None:
            examples = self.examples.setdefault(key, [])
            if len(examples) < MAX_EXAMPLES:
                examples.append(problem.example)

    def mark(self) -> SinkMark:
        """Where the sink stands, so rows rejected in a rolled-back batch can be taken back."""
        if self._handle is not None:
            self._handle.flush()
        position = self._handle.tell() if self._handle is not None else -1
        examples = {key: list(found) for key, found in self.examples.items()}
        return position, self.count, list(self.first), Counter(self.reasons), examples

    def rollback(self, mark: SinkMark) -> None:
        position, self.count, self.first, self.reasons, self.examples = mark
        if self._handle is None:
            return
        if position < 0:  # the file was created after the mark
            self._handle.close()
            self._handle = self._writer = None
            remove_if_regular(self.path)
            return
        if is_special(self.path):  # a device or a pipe: what went out cannot be taken back
            return
        self._handle.seek(position)
        self._handle.truncate()

    def by_reason(self, limit: int = 20) -> list[RejectedReason]:
        return [
            RejectedReason(f, reason, n, tuple(self.examples.get((f, reason), ())))
            for (f, reason), n in self.reasons.most_common(limit)
        ]

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


def printable(raw: list[str]) -> list[str]:
    return [v.encode("utf-8", "surrogateescape").decode("utf-8", "replace") for v in raw]
