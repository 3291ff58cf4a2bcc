"""Reading and checking a large activity file in a second process while this one writes.

A fresh import of activities spends about half of its CPU reading the CSV and checking the
rows (`columns.finish_activities`, the fingerprints) and the other half writing them; one
Python process does one after the other. For a CSV file of `PIPELINE_MIN_BYTES` or more,
when a core is free for it (`worth_a_process`), a child process (`python -m
paceline.ingest.pipeline`) reads the file and checks it a chunk at a time, as the importer does
in-process (`chunks`, `checked_together`: the same functions), and sends each chunk's rows
and records back through a pipe; the importer writes chunk n while the child checks the next.

Nothing else changes: the importer counts the rows, builds the batches, takes the rows the
column check did not vouch for through the row-by-row path, rejects, beats and commits as
before, in the same order, so the stored data is the same byte for byte. The child checks at
most `AHEAD_CHUNKS` chunks ahead of the importer (it waits while they are not taken), so
memory stays flat.

If the child fails (a bug, killed, out of memory), the import stops with `PipelineError`
naming the process and its exit status; every batch written before is whole (each is one
transaction) and the run is recorded failed, as after any other interruption, so importing
the file again completes it without doubling a row.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import os
import pickle
import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from paceline.collector import fewer_collections
from paceline.ingest.accounting import UNIT
from paceline.ingest.columns import ChunkColumns, records_of
from paceline.ingest.csvfile import ImportFileError, RecordChunk, SplitChunk, bad_bytes
from paceline.ingest.entities import Record, RowReader
from paceline.ingest.sources import Row

# Files smaller than this are checked in-process: the child's start-up (some 0.3 CPU s to
# import the checking code) is not worth it for a few thousand rows.
PIPELINE_MIN_BYTES = 8 * 1024 * 1024
# Between two rows in the text of a packed chunk (`PackedRows`): the ASCII record separator.
RECORD = "\x1e"


class PackedRows:
    """A chunk's rows as the child sends a usual one: its line numbers and one text holding
    every row, cells joined by `UNIT`, rows by `RECORD`.

    Unpickling a chunk's rows as lists of strings (4,096 lists of 13 strings) was three
    quarters of what the importer spent reading the child's messages, and the importer
    needs a row's cells only to reject it: here it splits the text into one string per row
    (a C call per chunk), which `Pending` keeps as the row (`accounting.Raw`).
    """

    __slots__ = ("lines", "text")

    def __init__(self, lines: range | list[int], text: str) -> None:
        self.lines = lines
        self.text = text

    def __len__(self) -> int:
        return len(self.lines)

    def raws(self) -> list[str]:
        """Each row's text (cells joined by `UNIT`), in order."""
        return self.text.split(RECORD)

    def rows(self) -> list[Row]:
        """The rows as the CSV reader gave them (a chunk some row of which is not usual)."""
        cells = map(str.split, self.raws(), itertools.repeat(UNIT))
        return list(zip(self.lines, cells, itertools.repeat(None)))


def pack(chunk: list[Row], width: int) -> PackedRows | None:
    """The chunk as `PackedRows`, or None when it cannot be: a row with a problem or
    another number of cells than the header's, or a cell holding a separator (then
    splitting the text would not give the cells back; the rows are sent as they are)."""
    if not chunk or width < 1:
        return None
    lines, rows, problems = zip(*chunk, strict=True)
    if any(problems):
        return None
    # Consecutive lines (no cell spanning lines) go as a range: three numbers.
    numbers: range | list[int] = range(lines[0], lines[0] + len(lines))
    if tuple(numbers) != lines:
        numbers = list(lines)
    return pack_rows(numbers, rows, width)


def pack_rows(lines: range | list[int], rows: Sequence[list[str]], width: int) -> PackedRows | None:
    """`pack` for rows without a problem, their lines given."""
    if not rows or width < 1 or not all(map(width.__eq__, map(len, rows))):
        return None
    text = RECORD.join(map(UNIT.join, rows))
    if text.count(UNIT) != len(rows) * (width - 1) or text.count(RECORD) != len(rows) - 1:
        return None
    return PackedRows(lines, text)


# A chunk's rows (or packed: `PackedRows`), what the check made of them (by position;
# absent: refused by a row check; None: for the row-by-row path; or, for a chunk the
# column check vouched for whole, its columns: `columns.ChunkColumns`), and the bytes of
# the file read so far.
Checked = tuple[list[Row] | PackedRows, dict[int, Record | None] | ChunkColumns, int]
# The column check of a chunk's rows (`columns.check_activities` with its reader, settings
# and moment): the columns and the positions it cannot vouch for.
ColumnCheck = Callable[[list[list[str]]], tuple[ChunkColumns, set[int]]]
# The same for a chunk given by column (`columns.check_activity_columns`).
CellsCheck = Callable[[list[list[str]]], tuple[ChunkColumns, set[int]]]
# Whether a chunk the column check vouches for whole travels and is written by column
# (tests turn it off to hold the two paths to the same stored rows).
BY_COLUMN = True
PICKLE_PROTOCOL = 5
# The child's command line after the interpreter (tests run a child that fails on purpose).
CHILD_ARGS: tuple[str, ...] = ("-m", "paceline.ingest.pipeline")
# Whether the child reads a usual block by splitting its text (`csvfile.split_block`)
# rather than with the csv module record by record (tests turn it off to hold the two
# readings to the same messages).
SPLIT = True
# Chunks the child may have checked before the importer takes them (a few MB).
AHEAD_CHUNKS = 4


class PipelineError(RuntimeError):
    """The process reading and checking the file's rows stopped before the file's end."""


def checked_together(
    chunk: list[Row],
    fast: Callable[[list[list[str]]], list[Record | None]],
    width: int,
    reader: RowReader,
    by_column: ColumnCheck | None = None,
    packed: PackedRows | None = None,
) -> dict[int, Record | None] | ChunkColumns:
    """Records of the chunk's rows that pass the row checks, by position in the chunk; None
    for those the row-by-row path must look at (the rows that fail a row check are absent).
    With `by_column`, a usual chunk the column check vouches for whole is given as its
    columns instead, no record built. `packed` (the chunk's `pack`) holds every cell in one
    text already: its bytes are checked without joining the cells a second time."""
    _, rows, problems = zip(*chunk, strict=True)
    cells = (packed.text,) if packed is not None else itertools.chain.from_iterable(rows)
    if (
        not any(problems)
        and not reader.has_skip_rules
        and all(map(width.__eq__, map(len, rows)))
        and not bad_bytes(cells)
    ):  # the usual chunk, checked in C calls: every row usable, as the loop below finds
        if by_column is None:
            return dict(enumerate(fast(list(rows))))
        columns, bad = by_column(list(rows))
        return columns if not bad else dict(enumerate(records_of(columns, bad)))
    usable = [
        i
        for i, (_, row, problem) in enumerate(chunk)
        if problem is None
        and len(row) == width
        and not bad_bytes(row)
        and not (reader.has_skip_rules and reader.should_skip(row))
    ]
    if not usable:
        return {}
    return dict(zip(usable, fast([chunk[i][1] for i in usable]), strict=True))


def worth_a_process(path: Path) -> bool:
    """Whether a CSV file is checked in a second process: large enough, and a second core
    free for it. `$PACELINE_IMPORT_PROCESS` says `auto` (the default: when the machine has
    two cores or more and its load average over the last minute leaves one free), `always`
    (whatever the load) or `never`. On a machine whose cores are all busy the second
    process only adds its own cost (start-up, sending the rows), so `auto` leaves it out."""
    choice = os.environ.get("PACELINE_IMPORT_PROCESS", "auto").strip().lower() or "auto"
    if choice not in ("auto", "always", "never"):
        raise ImportFileError(f"$PACELINE_IMPORT_PROCESS is {choice!r}: give auto, always or never")
    try:
        size = path.stat().st_size
    except OSError:
        return False
    if choice == "never" or size < PIPELINE_MIN_BYTES:
        return False
    if choice == "always":
        return True
    cores = os.cpu_count() or 1
    return cores >= 2 and _load() <= cores - 1


def _load() -> float:
    """The load average over the last minute (0 where the system does not tell it)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0


class CheckingProcess:
    """The child process that reads and checks a CSV file of activities, as a context: on
    leaving, a child still running (the import stopped early) is killed and waited for."""

    def __init__(self, job: dict[str, Any]) -> None:
        self.job = job
        self.bytes_read = 0
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close)
        # The child imports this copy of Paceline, wherever it was imported from.
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (package_root, env.get("PYTHONPATH", "")) if p
        )
        try:
            self._process = subprocess.Popen(
                [sys.executable, *CHILD_ARGS],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                env=env,
                bufsize=1024 * 1024,
            )
        except BaseException:
            self._stderr.close()
            raise

    def __enter__(self) -> CheckingProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        process = self._process
        if process.poll() is None:
            process.kill()
        process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()
        self._stderr.close()

    def checked(self) -> Iterator[Checked]:
        """Each chunk as the child checked it, in the file's order."""
        process = self._process
        assert process.stdin is not None and process.stdout is not None
        try:
            pickle.dump(self.job, process.stdin, PICKLE_PROTOCOL)
            process.stdin.close()
        except OSError:  # the child died before reading its job: said below
            pass
        while True:
            try:
                message = pickle.load(process.stdout)
            except (EOFError, pickle.UnpicklingError, OSError):
                raise self._stopped() from None
            if message[0] == "chunk":
                _, chunk, checked, self.bytes_read = message
                yield chunk, checked, self.bytes_read
            elif message[0] == "packed":
                _, lines, text, checked, self.bytes_read = message
                yield PackedRows(lines, text), checked, self.bytes_read
            elif message[0] == "columns":  # a packed chunk vouched for whole, by column
                _, lines, text, columns, self.bytes_read = message
                yield PackedRows(lines, text), columns, self.bytes_read
            elif message[0] == "end":
                return
            else:
                raise PipelineError(
                    f"the process reading and checking the file's rows failed: {message[1]}{_AFTER}"
                )

    def _stopped(self) -> PipelineError:
        status = self._process.wait()
        self._stderr.seek(0)
        lines = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
        said = f": {lines[-1][:300]}" if lines else ""
        return PipelineError(
            f"the process reading and checking the file's rows stopped (exit status {status})"
            f" before the end of the file{said}{_AFTER}"
        )


_AFTER = (
    "; the batches written before it stopped are stored whole and the run is recorded "
    "failed: import the file again to complete it"
)


def job_for(
    path: Path,
    encoding: str,
    delimiter: str,
    reader_args: dict[str, Any],
    settings: Any,
    now: dt.datetime,
    chunk_rows: int,
) -> dict[str, Any]:
    """What the child needs, as picklable values: the file, how the importer's RowReader
    was built (zones by name), the settings, the moment "in the future" counts from."""
    return {
        "path": str(path),
        "encoding": encoding,
        "delimiter": delimiter,
        "reader": reader_args,
        "settings": settings,
        "now": now,
        "chunk_rows": chunk_rows,
        "by_column": BY_COLUMN,
        "split": SPLIT,
    }


class _Sender:
    """Sends the child's messages from a thread of its own, so that the child checks the
    next chunks while the importer is busy writing (the pipe holds only 64 KiB): up to
    `AHEAD_CHUNKS` checked chunks wait, pickled, which keeps the child's memory flat."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.queue: queue.Queue[bytes | None] = queue.Queue(AHEAD_CHUNKS)
        self.failed: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="paceline-send", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while (data := self.queue.get()) is not None:
                self.out.write(data)
                self.out.flush()
        except BaseException as exc:  # the importer stopped reading: the child stops too
            self.failed = exc

    def send(self, message: tuple[Any, ...] | None) -> None:
        data = None if message is None else pickle.dumps(message, PICKLE_PROTOCOL)
        while True:
            if self.failed is not None:
                raise self.failed
            try:
                self.queue.put(data, timeout=0.5)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        """Everything queued sent (or the failure to send it raised)."""
        self.send(None)
        self.thread.join()
        if self.failed is not None:
            raise self.failed


def _serve(job: dict[str, Any], sender: _Sender) -> None:
    """The child's work: read and check the file a chunk at a time, sending each chunk."""
    from paceline.ingest.columns import check_activities, check_activity_columns, finish_activities
    from paceline.ingest.csvfile import open_csv

    args = job["reader"]
    reader = RowReader(
        "activities",
        args["mapping"],
        args["header"],
        ZoneInfo(args["zone"]),
        ZoneInfo(args["business_zone"]),
        args["currency"],
        ZoneInfo(args["key_zone"]),
    )
    fast = functools.partial(finish_activities, reader, settings=job["settings"], now=job["now"])
    by_column = by_cells = None
    if job["by_column"]:
        by_column = functools.partial(
            check_activities, reader, settings=job["settings"], now=job["now"]
        )
        by_cells = functools.partial(
            check_activity_columns, reader, settings=job["settings"], now=job["now"]
        )
    csv_file = open_csv(Path(job["path"]), job["encoding"], job["delimiter"])
    try:
        width = len(csv_file.header)
        chunks: Iterator[RecordChunk | SplitChunk] = csv_file.chunks(job["chunk_rows"])
        if by_cells is not None and not reader.has_skip_rules and job.get("split", SPLIT):
            chunks = csv_file.split_chunks(job["chunk_rows"], (UNIT, RECORD))
        with fewer_collections():  # as in the importer: a chunk's records are many objects
            for chunk in chunks:
                message = _message(chunk, fast, width, reader, by_column, by_cells)
                sender.send((*message, csv_file.bytes_read()))
        sender.send(("end",))
    finally:
        csv_file.close()


def _message(
    chunk: RecordChunk | SplitChunk,
    fast: Callable[[list[list[str]]], list[Record | None]],
    width: int,
    reader: RowReader,
    by_column: ColumnCheck | None,
    by_cells: CellsCheck | None = None,
) -> tuple[Any, ...]:
    """What the child sends of a chunk (before the bytes read): a usual chunk (no problem,
    no skip rule, every row as wide as the header, no separator in a cell, no bad bytes)
    straight from its rows and lines; any other as `checked_together` checks it."""
    if isinstance(chunk, SplitChunk):
        return _split_message(chunk, fast, width, reader, by_column, by_cells)
    return _rows_message(chunk, fast, width, reader, by_column)


def _rows_message(
    chunk: RecordChunk,
    fast: Callable[[list[list[str]]], list[Record | None]],
    width: int,
    reader: RowReader,
    by_column: ColumnCheck | None,
) -> tuple[Any, ...]:
    """`_message` for a chunk the csv module read."""
    rows = chunk.rows
    packed = pack_rows(chunk.lines, rows, width) if chunk.problems is None else None
    if packed is not None and not reader.has_skip_rules and not bad_bytes((packed.text,)):
        if by_column is None:
            return ("packed", packed.lines, packed.text, dict(enumerate(fast(rows))))
        columns, bad = by_column(rows)
        if not bad:  # by column: each column one list, equal values shared
            return ("columns", packed.lines, packed.text, columns)
        return ("packed", packed.lines, packed.text, dict(enumerate(records_of(columns, bad))))
    given = chunk.as_rows()
    checked = checked_together(given, fast, width, reader, by_column, packed)
    if packed is None:
        if isinstance(checked, list):  # rows sent as they are: records too
            checked = dict(enumerate(records_of(checked)))
        return ("chunk", given, checked)
    kind = "columns" if isinstance(checked, list) else "packed"
    return (kind, packed.lines, packed.text, checked)


def _split_message(
    chunk: SplitChunk,
    fast: Callable[[list[list[str]]], list[Record | None]],
    width: int,
    reader: RowReader,
    by_column: ColumnCheck | None,
    by_cells: CellsCheck | None,
) -> tuple[Any, ...]:
    """`_message` for a block read by splitting its text (`csvfile.split_block`): the same
    message, its packed text and cells made without the csv module's reading and the
    transposition of rows into columns. A chunk the column check does not vouch for whole,
    or with bytes the encoding could not read, goes by its rows as before."""
    if by_cells is not None and not bad_bytes((chunk.text,)):
        columns, bad = by_cells(chunk.columns)
        if not bad:
            return ("columns", chunk.lines, chunk.text, columns)
    rows = [list(row) for row in zip(*chunk.columns, strict=True)]
    return _rows_message(RecordChunk(chunk.lines, rows, None), fast, width, reader, by_column)


def main() -> int:
    out = os.fdopen(sys.stdout.fileno(), "wb", buffering=1024 * 1024)
    sender = _Sender(out)
    try:
        _serve(pickle.load(sys.stdin.buffer), sender)
        sender.close()
    except Exception as exc:  # said to the importer, which stops with it
        if sender.failed is not None:  # the importer stopped reading: nothing to say
            return 1
        detail = str(exc).strip()
        sender.send(("error", f"{type(exc).__name__}: {detail}"))
        sender.close()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
