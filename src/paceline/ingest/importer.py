"""Import (CSV or any import source): stream, check, resolve and upsert, accounting for every row.

Guarantees (DESIGN.md, "nothing lost, nothing doubled"):
- Idempotent: a record is identified by (source, external id); re-importing a file inserts
  nothing, a changed row updates its record (a deal that changed stage gains a history row).
- Every row is accounted for: read = inserted + updated + unchanged + duplicate + skipped +
  rejected. Rejected rows go to an errors CSV with line number, field and reason; an errors
  file that cannot be written stops the import before it writes anything, and a rejected
  row that cannot be written (a full disk) fails the import: none is ever lost silently.
- Imports may run at once (several processes, SQLite or PostgreSQL): each creates a rep,
  team, account or contact only if no one has (see `store.names.lock_names`), and counts
  against what it did itself; a record another import wrote meanwhile is unchanged or
  updated, never a duplicate (rows carry the import run that last wrote them).
- A run whose process died is marked "interrupted" by the next import (`store.runs`).
- Nothing is half-written: file-level problems (encoding, delimiter, missing columns) stop
  the import before anything is written, and each batch is one transaction, so an
  interruption leaves whole batches only and a re-run completes the file without doubling.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import itertools
import operator
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Engine

from paceline.collector import fewer_collections
from paceline.config import Settings
from paceline.ingest import pipeline
from paceline.ingest.accounting import (
    DEFAULT_BATCH_SIZE,
    Batch,
    ColumnBatch,
    ErrorSink,
    IgnoredOwner,
    ImportOptions,
    ImportResult,
    Pending,
    Raw,
    import_failure,
)
from paceline.ingest.columns import (
    CHECKED_FIELDS,
    ChunkColumns,
    check_activities,
    finish_activities,
)
from paceline.ingest.csv_source import CSV_SOURCE, CsvTable
from paceline.ingest.csvfile import ImportFileError, bad_bytes
from paceline.ingest.entities import (
    FINISHERS,
    Record,
    RowReader,
    field_names,
    finish_activity,
    finish_imported_deal,
    required_fields,
)
from paceline.ingest.fields import CurrencyCheck, FieldError, currency_codes
from paceline.ingest.mapping import Entity, Mapping, generic_mapping
from paceline.ingest.people import load_directory
from paceline.ingest.pipeline import (
    Checked,
    CheckingProcess,
    ColumnCheck,
    PackedRows,
    checked_together,
    job_for,
    worth_a_process,
)
from paceline.ingest.sources import ImportSource, ReadOptions, Row, RowTable
from paceline.ingest.writers import WRITERS, Writer
from paceline.store.currency import (
    amounts_without_currency,
    claim_currency,
    forget_unused_currency,
    stored_currency,
)
from paceline.store.day_zone import align_stored_days, key_zone
from paceline.store.models import utcnow

__all__ = ["DEFAULT_BATCH_SIZE", "ImportOptions", "ImportResult", "import_csv", "import_file"]
Progress = Callable[[int, int], None]
HEARTBEAT_ROWS = 50_000  # rows read without a batch written before the run says it is alive
CHUNK_ROWS = 4_096  # rows read ahead and checked together, column by column
# The most of the input a batch's rows span (`progress`' unit: bytes of a CSV file), within
# a chunk (`_queue_all`): its rows are held in memory, several times over, until written.
BATCH_BYTES = 32 * 1024 * 1024


# A row with bytes the encoding cannot read: the message says what to do about it, since the
# usual cause (a file Excel saved as cp1252 among UTF-8 ones) is fixed by naming the encoding.
BAD_BYTES = (
    "bytes that are not valid in the file's encoding (UTF-8 unless another is given): the file "
    "is probably in another one, such as cp1252 (Excel on Windows) or latin-1; import it again "
    "in that encoding (--encoding cp1252, or the Import page's Encoding field)"
)


def import_csv(
    engine: Engine,
    settings: Settings,
    path: Path,
    entity: Entity,
    mapping: Mapping | None = None,
    options: ImportOptions | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import one CSV file of `entity` records; see the module docstring for guarantees."""
    return import_file(engine, settings, path, entity, mapping, options, progress, CSV_SOURCE)


def import_file(
    engine: Engine,
    settings: Settings,
    path: Path,
    entity: Entity,
    mapping: Mapping | None = None,
    options: ImportOptions | None = None,
    progress: Progress | None = None,
    reader: ImportSource = CSV_SOURCE,
    on_start: Callable[[int], None] | None = None,
    on_open: Callable[[ImportResult], None] | None = None,
) -> ImportResult:
    """Import one input of `entity` records read by the import source `reader`; whatever
    reads it, the same mapping, checks, accounting and batches apply. `on_start` is told the
    import run's id once the file has passed its file-level checks and the run is recorded
    (before the first row is written): the web import answers then, and runs on. `on_open`
    is given the result once the file has passed its checks, before anything is written,
    with what the reading settled that a face must say first (`owner`: every row credited
    to the rep `--owner` named)."""
    started = time.perf_counter()
    # "In the future" (and a calendar's end) is measured from the import's start.
    options = dataclasses.replace(options or ImportOptions())
    options.now = options.now or utcnow()
    _check_said_to(reader, options)
    read_options = _read_options(engine, settings, entity, mapping, options)
    table = reader.open(path, read_options)
    try:
        if not table.creates_reps:
            options.allow_new_reps = False
        own = table.default_mapping()
        mapping = mapping or own
        generic = mapping is None
        if mapping is None:
            mapping = generic_mapping(entity, table.header, field_names(entity))
        elif mapping.entity != entity:
            whose = f" (the {reader.name} source's own, for {table.name})" if mapping is own else ""
            raise ImportFileError(f"the mapping is for {mapping.entity}, not {entity}{whose}")
        source = options.source or mapping.source
        zone = _zone(options, mapping, settings)
        check = _currency_check(engine, settings, entity)
        # The stored days in the zone these rows are read in, before they join them.
        align_stored_days(engine, settings.calendar.zone)
        keys_in = key_zone(engine, settings.calendar.zone)  # rows without ids: their keys'
        options.first_zone = _first_zone_left(options, mapping, zone, keys_in)
        row_reader = _row_reader(entity, mapping, table, zone, settings, generic, check, keys_in)
        errors_path = options.errors_path or Path.cwd() / f"{path.stem}.errors.csv"
        located = table.locate(0, 0) is not None
        sink = ErrorSink(errors_path, table.header, cells=located)
        try:
            sink.check_writable()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise ImportFileError(f"cannot write the errors file {errors_path}: {reason}") from None
        result = ImportResult(entity=entity, source=source, file=str(path), reader=reader.name)
        result.owner = table.fixed_owner
        result.owner_ignored = _ignored_owner(options, table)
        if on_open is not None:  # before the first write: what the face must say first
            on_open(result)
        job = None
        # Only the built-in CSV table: a subclass may change the rows it reads.
        if entity == "activities" and type(table) is CsvTable and worth_a_process(path):
            # Read and checked in a second process while this one writes (ingest.pipeline).
            reader_args = {
                "mapping": mapping,
                "header": table.header,
                "zone": zone.key,
                "business_zone": settings.calendar.zone.key,
                "key_zone": keys_in.key,
                "currency": settings.money.currency,
            }
            job = functools.partial(
                job_for, path, read_options.encoding, read_options.delimiter, reader_args, settings
            )
        try:
            with fewer_collections():
                _run(
                    engine,
                    settings,
                    table,
                    row_reader,
                    sink,
                    result,
                    options,
                    progress,
                    on_start,
                    job,
                )
        finally:
            sink.close()
        result.errors_file = str(errors_path) if sink.count else None
        result.first_errors = sink.first
        result.rejected_by_reason = sink.by_reason()
    finally:
        table.close()
    result.seconds = time.perf_counter() - started
    return result


def _read_options(
    engine: Engine,
    settings: Settings,
    entity: Entity,
    mapping: Mapping | None,
    options: ImportOptions,
) -> ReadOptions:
    """What the source is told about reading the input: the user's reading options, and
    what a source meeting people and times needs (the configuration, who is who by e-mail,
    loaded only when asked, the import's moment)."""
    domains = [*settings.meetings.internal_domains, *options.internal_domains]
    return ReadOptions(
        encoding=options.encoding or (mapping.encoding if mapping else "utf-8-sig"),
        delimiter=options.delimiter or (mapping.delimiter if mapping else ","),
        pipelines=options.pipelines,
        owners=options.owners,
        sheet=options.sheet,
        columns=_read_columns(entity, mapping),
        settings=settings,
        people=functools.cache(functools.partial(load_directory, engine, domains)),
        owner=options.owner,
        unlinked_events=options.unlinked_events,
        owner_field=options.owner_field,
        calendar_owner=options.calendar_owner,
        since=options.since,
        now=options.now,
    )


def _ignored_owner(options: ImportOptions, table: RowTable) -> IgnoredOwner | None:
    """The rep named for every row, when the input does not use it, with the input's
    reason; None when it credits the rows, or none was named."""
    if not options.owner or not table.owner_ignored:
        return None
    return IgnoredOwner(" ".join(options.owner.split()), table.owner_ignored)


def _check_said_to(reader: ImportSource, options: ImportOptions) -> None:
    """Refuse `--owner`, `--unlinked-events` or a calendar's `--rep` for a source that does
    not read them: the user would believe rows were credited, or events kept, when nothing
    heard it."""
    said = [
        name
        for name, given in (
            ("--owner", options.owner),
            ("--unlinked-events", options.unlinked_events),
        )
        if given
    ]
    if said and not reader.takes_owner:
        raise ImportFileError(
            f"{said[0]}: only Salesforce exports (read as salesforce or sfdx-tree) take it; "
            f"the {reader.name} reader reads its owners and links from the file"
        )
    if options.calendar_owner is not None and not reader.takes_calendar_owner:
        raise ImportFileError(
            f"--rep: only calendars (read as calendar) take it; the {reader.name} reader "
            "reads each row's rep from the file"
        )


def _read_columns(entity: Entity, mapping: Mapping | None) -> tuple[str, ...]:
    """The columns the import will read: the mapping's, or the generic required ones."""
    if mapping is None:
        return tuple(required_fields(entity))
    specs = mapping.specs().values()
    read = [c for spec in specs for c in spec.source_columns]
    return tuple(dict.fromkeys([*read, *mapping.skip]))


def _zone(options: ImportOptions, mapping: Mapping, settings: Settings) -> ZoneInfo:
    name = options.timezone or mapping.timezone or settings.calendar.timezone
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ImportFileError(f"unknown time zone {name!r}") from None


def _first_zone_left(
    options: ImportOptions, mapping: Mapping, zone: ZoneInfo, keys_in: ZoneInfo
) -> str | None:
    """The database's first zone, when this file's times without an offset are read in
    the configured zone and it is another one (`[calendar] timezone` changed since): the
    writer then says which stored rows this moves (`writers.zone_moved_rows`). None when
    the zone is the first one, or was named (`--timezone`, the mapping's): then the user
    said which zone the file's times are in."""
    if options.timezone or mapping.timezone or zone.key == keys_in.key:
        return None
    return keys_in.key


def _row_reader(
    entity: Entity,
    mapping: Mapping,
    table: RowTable,
    zone: ZoneInfo,
    settings: Settings,
    generic: bool,
    check: CurrencyCheck,
    key_zone: ZoneInfo,
) -> RowReader:
    """The row reader: timestamps read in the file's zone, days counted in the calendar's,
    fingerprints worked out in `key_zone`, money in the currency `check` counts in."""
    try:
        reader = RowReader(
            entity, mapping, table.header, zone, settings.calendar.zone, check, key_zone
        )
    except FieldError as exc:
        raise ImportFileError(str(exc)) from None
    if reader.missing_fields and not generic:
        raise ImportFileError(
            f"the mapping gives no column for required field(s) of {entity}: "
            f"{', '.join(reader.missing_fields)}"
        )
    if reader.missing_fields:
        raise ImportFileError(
            f"{table.name}: missing required column(s) for {entity}: "
            f"{', '.join(reader.missing_fields)}{table.header_hint(required_fields(entity))}"
        )
    if reader.missing_columns:
        raise ImportFileError(
            f"{table.name}: the mapping names column(s) the file does not have: "
            f"{', '.join(reader.missing_columns)}{table.header_hint(required_fields(entity))}"
        )
    return reader


def _currency_check(engine: Engine, settings: Settings, entity: Entity) -> CurrencyCheck:
    """The check money is read with: in the configured currency, else in the one the
    database's amounts are in, else in the first one the file marks; what it settles on is
    recorded (`store.currency`) before a row in it is written. A configured currency that
    disagrees with the stored amounts stops the import before anything is written."""
    configured = settings.money.currency
    stored = stored_currency(engine)
    if stored is not None and forget_unused_currency(engine):  # a write only when one is held
        stored = None
    if configured and stored and configured not in currency_codes(stored):
        raise ImportFileError(
            f"[money] currency is {configured}, but the amounts already in the database are "
            f"in {stored}: amounts in different currencies cannot be added, and are never "
            f'converted (set [money] currency = "{stored}", or import into another database)'
        )
    if configured and stored != configured and entity in ("deals", "stage_history"):
        stored = claim_currency(engine, configured, stored)
        if stored != configured:  # another import recorded another currency meanwhile
            return _currency_check(engine, settings, entity)
    unrecorded = stored is None and not configured and amounts_without_currency(engine)
    return CurrencyCheck(configured, stored, functools.partial(claim_currency, engine), unrecorded)


def _run(
    engine: Engine,
    settings: Settings,
    table: RowTable,
    reader: RowReader,
    sink: ErrorSink,
    result: ImportResult,
    options: ImportOptions,
    progress: Progress | None,
    on_start: Callable[[int], None] | None = None,
    job: Callable[[dt.datetime, int], dict[str, Any]] | None = None,
) -> None:
    """Read, check and write every row; `job` (a large CSV file of activities) says how a
    second process reads and checks the file while this one writes (`ingest.pipeline`)."""
    # "In the future" is measured from the import's start.
    now = options.now or utcnow()
    with contextlib.ExitStack() as stack:
        child = None
        if job is not None and reader.entity == "activities":
            # Started first: its start-up overlaps the run's own.
            with contextlib.suppress(OSError):  # no interpreter to start: read here
                child = stack.enter_context(CheckingProcess(job(now, CHUNK_ROWS)))
        writer = WRITERS[reader.entity](engine, settings, result, options, sink)
        if on_start is not None:
            on_start(writer.run_id)
        _write_all(settings, table, reader, writer, progress, now, child)


def _write_all(
    settings: Settings,
    table: RowTable,
    reader: RowReader,
    writer: Writer,
    progress: Progress | None,
    now: dt.datetime,
    child: CheckingProcess | None,
) -> None:
    """Every row read, checked (here, or by `child`) and written; the run recorded ended."""
    result, sink, options = writer.result, writer.sink, writer.options
    finish = FINISHERS[reader.entity]
    fast: Callable[[list[list[str]]], list[Record | None]] | None = None
    by_column: ColumnCheck | None = None
    if reader.entity == "deals":  # fingerprints in the key zone, as activities'
        finish = functools.partial(finish_imported_deal, key_zone=reader.key_zone)
    if reader.entity == "activities":
        finish = functools.partial(finish_activity, now=now, key_zone=reader.key_zone)
        fast = functools.partial(finish_activities, reader, settings=settings, now=now)
        if pipeline.BY_COLUMN:
            by_column = functools.partial(check_activities, reader, settings=settings, now=now)
    width = len(table.header)

    def position() -> tuple[int, int]:
        done, total = table.progress()
        return (child.bytes_read, total) if child is not None else (done, total)

    def write(batch: Batch) -> None:
        writer.write_or_isolate(batch)
        if progress:
            progress(*position())

    def settled(row: list[str]) -> Record:
        return finish(reader.read(row), settings)

    try:
        source = (
            child.checked()
            if child is not None
            else _checked_here(table, fast, width, reader, by_column)
        )
        pending = _queue_all(source, fast is not None, settled, reader, table, writer, write)
        if pending:
            writer.write_or_isolate(pending.take())
        result.rejected = sink.count
        sink.flush()  # every rejected row on disk before the run is recorded done
        writer.finish(import_failure(result, options.max_rejected))
    except BaseException as exc:
        writer.finish(_stopped_by(exc))
        raise
    finally:
        result.rejected = sink.count
        if progress:
            total = table.progress()[1]
            progress(total, total)


def _checked_here(
    table: RowTable,
    fast: Callable[[list[list[str]]], list[Record | None]] | None,
    width: int,
    reader: RowReader,
    by_column: ColumnCheck | None = None,
) -> Iterator[Checked]:
    """The table's rows a chunk at a time, with the records (or the columns) the chunk's
    column-wise check vouches for (activities; none for other entities), checked in this
    process."""
    for chunk in table.chunks(CHUNK_ROWS):
        read = table.progress()[0]
        if fast is None:
            yield chunk, {}, read
        else:
            yield chunk, checked_together(chunk, fast, width, reader, by_column), read


class _Queue:
    """The rows waiting for the next batch, in the file's order: records (`Pending`), and
    spans of chunks the column check vouched for whole, kept by column. A batch with any
    such span is written by column (`ColumnBatch`), its records put into columns too."""

    def __init__(self) -> None:
        self.parts: list[list[Pending] | ColumnBatch] = []
        self.size = 0
        # Where in the input the queued rows begin (`progress`' unit: bytes of a CSV
        # file), at the start of the chunk the first of them came from; None when the
        # queue was emptied since (`_queue_all` says where it begins again).
        self.start: int | None = None

    def __len__(self) -> int:
        return self.size

    def append(self, p: Pending) -> None:
        if not self.parts or isinstance(self.parts[-1], ColumnBatch):
            self.parts.append([])
        last = self.parts[-1]
        assert isinstance(last, list)
        last.append(p)
        self.size += 1

    def add(self, part: list[Pending] | ColumnBatch) -> None:
        self.parts.append(part)
        self.size += len(part)

    def take(self) -> Batch:
        """The queued rows as one batch; the queue is left empty."""
        parts, self.parts, self.size, self.start = self.parts, [], 0, None
        records = [part for part in parts if isinstance(part, list)]
        if len(records) == len(parts):  # no span by column: a batch of records, as ever
            return list(itertools.chain.from_iterable(records))
        if len(parts) == 1:
            return parts[0]
        spans = [part if isinstance(part, ColumnBatch) else _by_column(part) for part in parts]
        return ColumnBatch(
            list(itertools.chain.from_iterable(span.lines for span in spans)),
            list(itertools.chain.from_iterable(span.raws for span in spans)),
            [
                list(itertools.chain.from_iterable(span.columns[at] for span in spans))
                for at in range(len(CHECKED_FIELDS))
            ],
        )


_checked_values = operator.itemgetter(*CHECKED_FIELDS)


def _by_column(pending: list[Pending]) -> ColumnBatch:
    """Records checked row by row, by column (their fields are the column check's)."""
    records = [p.record for p in pending]
    columns = [list(column) for column in zip(*map(_checked_values, records), strict=True)]
    return ColumnBatch([p.line for p in pending], [p.raw for p in pending], columns)


def _queue_all(
    source: Iterator[Checked],
    column_checked: bool,
    settled: Callable[[list[str]], Record],
    reader: RowReader,
    table: RowTable,
    writer: Writer,
    write: Callable[[Batch], None],
) -> _Queue:
    """Count and queue the checked chunks' rows, writing a batch whenever one is full; the
    rows the column check did not vouch for are taken one by one, as every row once was.
    What is still queued at the end is returned.

    A batch is full at the batch size in rows, or earlier, before a chunk that would take
    the rows queued past `BATCH_BYTES` of the input: a batch of 10,000 rows of 1 MB notes
    held 10 GB (a chunk is bounded already: `CsvFile.chunks`). The usual file's batch of
    10,000 rows is about 1 MB, so its batches are as before."""
    result, sink, batch_size = writer.result, writer.sink, writer.options.batch_size
    width = len(table.header)
    skips = reader.has_skip_rules
    pending = _Queue()
    before = previous = 0  # where the input stood before this chunk, and the one before
    for given, checked, read in source:
        if pending.start is None:  # the rows queued (if any) came from the last chunk
            pending.start = previous if pending else before
        elif read - pending.start > BATCH_BYTES:
            write(pending.take())
            pending.start = before
        previous, before = before, read
        if isinstance(checked, list):  # vouched for whole, by column
            _take_whole(given, _columns_of(given, checked), pending, writer, write)
            continue
        if column_checked and len(checked) == len(given) and None not in checked.values():
            _take_whole(given, _records_of(given, checked), pending, writer, write)
            continue
        chunk = given.rows() if isinstance(given, PackedRows) else given
        for at, (line, row, problem) in enumerate(chunk):
            result.read += 1
            if result.read % HEARTBEAT_ROWS == 0 and not pending:
                writer.beat()
            record = checked.get(at)
            if record is not None:
                pending.append(Pending(line, record, row))
            elif problem is not None:
                sink.reject(line, "", problem, row)
                if table.problems_are_warnings:
                    result.warn(f"line {line}: {problem}")
                continue
            elif len(row) != width:
                sink.reject(line, "", f"expected {width} fields, found {len(row)}", row)
                continue
            elif bad_bytes(row):
                sink.reject(line, "", BAD_BYTES, row)
                continue
            elif skips and reader.should_skip(row):
                result.skipped += 1
                reason = f"skipped, {reader.skip_reason(row)}"
                result.notes[reason] = result.notes.get(reason, 0) + 1
                continue
            else:
                try:
                    pending.append(Pending(line, settled(row), row))
                except FieldError as exc:
                    column = reader.column_of(exc.field)
                    cell = table.locate(line, column) if column is not None else None
                    sink.reject(line, exc.field, exc.reason, row, cell)
                    continue
            if len(pending) >= batch_size:
                write(pending.take())
    return pending


def _lines_and_raws(chunk: list[Row] | PackedRows) -> tuple[Sequence[int], Sequence[Raw]]:
    if isinstance(chunk, PackedRows):  # each row kept as its text, split only if rejected
        return chunk.lines, chunk.raws()
    lines, raws, _ = zip(*chunk, strict=True)
    return lines, raws


def _records_of(
    chunk: list[Row] | PackedRows, checked: dict[int, Record | None]
) -> Callable[[int, int], list[Pending]]:
    """The rows from `start` to `end` of a chunk vouched for whole, as records."""
    records = cast("list[Record]", [checked[at] for at in range(len(chunk))])  # none is None
    lines, raws = _lines_and_raws(chunk)

    def span(start: int, end: int) -> list[Pending]:
        return list(map(Pending, lines[start:end], records[start:end], raws[start:end]))

    return span


def _columns_of(
    chunk: list[Row] | PackedRows, columns: ChunkColumns
) -> Callable[[int, int], ColumnBatch]:
    """The rows from `start` to `end` of a chunk vouched for whole, by column."""
    lines, raws = _lines_and_raws(chunk)

    def span(start: int, end: int) -> ColumnBatch:
        if start == 0 and end == len(lines):
            return ColumnBatch(lines, raws, columns)
        return ColumnBatch(lines[start:end], raws[start:end], [c[start:end] for c in columns])

    return span


def _take_whole(
    chunk: list[Row] | PackedRows,
    span: Callable[[int, int], list[Pending] | ColumnBatch],
    pending: _Queue,
    writer: Writer,
    write: Callable[[Batch], None],
) -> None:
    """A chunk whose every row the column-wise check vouched for: its rows are counted and
    queued a batch's worth at a time (`span` gives them), with the row-by-row loop's
    batches and heartbeats (a beat when the count reaches a multiple of HEARTBEAT_ROWS with
    nothing queued), but no Python frame per row."""
    result = writer.result
    start = 0
    while start < len(chunk):
        # At least one row (a batch size below 1 writes each row, as in the row loop).
        take = max(1, min(len(chunk) - start, writer.options.batch_size - len(pending)))
        result.read += 1  # the first row: the loop counts a row before it beats
        if not pending and result.read % HEARTBEAT_ROWS == 0:
            writer.beat()
        end = start + take
        pending.add(span(start, end))
        result.read += take - 1
        start += take
        if len(pending) >= writer.options.batch_size:
            write(pending.take())


def _stopped_by(exc: BaseException) -> str:
    """Why an interrupted import failed, for its record (Ctrl-C has no message of its own)."""
    detail = str(exc).strip()
    return f"stopped by an error: {type(exc).__name__}" + (f": {detail}" if detail else "")
