"""A large CSV file of activities is read and checked by a second process while the importer
writes (`ingest.pipeline`): the rows, batches, rejections and counts must be those of the
in-process path, and a child that fails must stop the import with a clear error, leaving
only whole batches, which a second import completes without doubling a row.

The size above which the child is used is set to 0 here and the chunks to 5 rows, so that a
dozen hand-written rows span several chunks and batches; every figure below is counted by
hand from the file."""

from __future__ import annotations

import csv
import datetime as dt
import functools
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select

from factories import CALLS_HEADER, call_rows, calls_file, import_counting_progress, write
from paceline.config import Settings
from paceline.ingest import csvfile, importer, pipeline
from paceline.ingest.columns import CHECKED_FIELDS, check_activities, finish_activities, records_of
from paceline.ingest.csvfile import ImportFileError
from paceline.ingest.entities import RowReader, field_names
from paceline.ingest.importer import ImportOptions, ImportResult, import_csv
from paceline.ingest.mapping import Mapping, generic_mapping
from paceline.ingest.pipeline import PipelineError
from paceline.ingest.sources import Row
from paceline.ingest.writers import Writer
from paceline.store.models import Activity, ImportRun


@pytest.fixture
def children(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every file goes through a child, in chunks of 5 rows; a list that counts the
    children started."""
    started: list[int] = []
    monkeypatch.setattr(pipeline, "PIPELINE_MIN_BYTES", 0)
    monkeypatch.setenv("PACELINE_IMPORT_PROCESS", "always")
    monkeypatch.setattr(importer, "CHUNK_ROWS", 5)
    real_init = pipeline.CheckingProcess.__init__

    def counted(self: pipeline.CheckingProcess, job: dict[str, object]) -> None:
        started.append(1)
        real_init(self, job)

    monkeypatch.setattr(pipeline.CheckingProcess, "__init__", counted)
    return started


def _errors(result: ImportResult) -> list[tuple[str, str, str]]:
    assert result.errors_file is not None
    with open(result.errors_file, encoding="utf-8", newline="") as handle:
        return [(e["line"], e["field"], e["reason"]) for e in csv.DictReader(handle)]


def _stored(engine: Engine) -> list[tuple[str, float]]:
    with engine.connect() as conn:
        rows = conn.execute(select(Activity.external_id, Activity.duration_min))
        return sorted((ext, duration) for ext, duration in rows)


def test_rows_checked_in_the_child_are_written_in_the_same_batches_with_the_same_beats(
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    children: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As in test_import_chunks: 12 rows in chunks of 5, 5, 2, batches of 2, a heartbeat
    # every 3 rows: beats when reading rows 3 and 9 begins with nothing queued.
    calls: list[str] = []
    monkeypatch.setattr(importer, "HEARTBEAT_ROWS", 3)
    monkeypatch.setattr(Writer, "beat", lambda self: calls.append(f"beat {self.result.read}"))
    path = calls_file(tmp_path / "a.csv", call_rows(1, 12))
    result = import_counting_progress(engine, settings, path, 2, calls)
    assert children == [1]
    assert (result.read, result.inserted, result.rejected, result.status) == (12, 12, 0, "done")
    assert calls == [
        "progress",
        "beat 3",
        "progress",
        "progress",
        "progress",
        "beat 9",
        "progress",
        "progress",
        "progress",  # the end
    ]
    assert _stored(engine) == sorted((f"c{i}", float(i)) for i in range(1, 13))


def test_bad_rows_in_chunks_checked_by_the_child_are_rejected_as_in_process(
    engine: Engine, settings: Settings, tmp_path: Path, children: list[int]
) -> None:
    # Line 4 (c3) names an unknown kind, line 9 (c8) has one field too few, line 12 (c11)
    # a date that is not one: the child hands the first and the last back for the row path,
    # which says why; the ragged row fails the chunk's row check. The rest go in.
    rows = call_rows(1, 12)
    rows[2] = rows[2].replace(",call,", ",carrier_pigeon,")
    rows[7] = rows[7].rsplit(",", 1)[0]
    rows[10] = rows[10].replace("2026-11-", "2026-13-")
    path = calls_file(tmp_path / "b.csv", rows)
    result = import_counting_progress(engine, settings, path, 4, [])
    assert children == [1]
    assert (result.read, result.inserted, result.rejected) == (12, 9, 3)
    errors = _errors(result)
    assert [(line, field) for line, field, _ in errors] == [
        ("4", "kind"),
        ("9", ""),
        ("12", "occurred_at"),
    ]
    assert errors[1][2] == "expected 9 fields, found 8"
    assert _stored(engine) == sorted(
        (f"c{i}", float(i)) for i in range(1, 13) if i not in (3, 8, 11)
    )


def test_a_note_breaking_lines_across_the_childs_blocks_keeps_the_line_numbers(
    engine: Engine, settings: Settings, tmp_path: Path, children: list[int]
) -> None:
    """The child reads blocks of 5 lines: c5's note opens on line 6, the first block's
    last, and closes on line 7, so every row after it starts a line later than its number
    says. c7 (line 9) names an unknown kind, c11 (line 13) a date that is not one: the
    errors file names those lines, and c5's note is stored with its line break."""
    rows = call_rows(1, 12)
    rows[4] = rows[4] + '"first\nsecond"'
    rows[6] = rows[6].replace(",call,", ",carrier_pigeon,")
    rows[10] = rows[10].replace("2026-11-", "2026-13-")
    path = calls_file(tmp_path / "n.csv", rows)
    result = import_counting_progress(engine, settings, path, 4, [])
    assert children == [1]
    assert (result.read, result.inserted, result.rejected) == (12, 10, 2)
    assert [(line, field) for line, field, _ in _errors(result)] == [
        ("9", "kind"),
        ("13", "occurred_at"),
    ]
    with engine.connect() as conn:
        notes = conn.execute(select(Activity.notes).where(Activity.external_id == "c5"))
        assert notes.scalar_one() == "first\nsecond"


def test_a_small_file_is_checked_in_process(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[int] = []
    monkeypatch.setenv("PACELINE_IMPORT_PROCESS", "always")
    monkeypatch.setattr(pipeline.CheckingProcess, "__init__", lambda *a: started.append(1))
    path = calls_file(tmp_path / "s.csv", call_rows(1, 3))
    assert (pipeline.PIPELINE_MIN_BYTES, path.stat().st_size < pipeline.PIPELINE_MIN_BYTES) == (
        8 * 1024 * 1024,
        True,
    )
    result = import_counting_progress(engine, settings, path, 10, [])
    assert (result.read, result.inserted, started) == (3, 3, [])


# A child that checks and sends two chunks as the real one does, then fails at the third:
# killed (as by the kernel when memory runs out) once the two are in the pipe, or with an
# exception of its own (sent after them).
FAILING_CHILD = """
import os, signal, sys
from paceline.ingest import pipeline
real_check, real_send = pipeline._message, pipeline._Sender.send
sent = []
def failing_check(*args):
    if len(sent) == 2 and sys.argv[1] == "raise":
        raise ValueError("no more rows today")
    return real_check(*args)
def failing_send(self, message):
    if message and message[0] in ("chunk", "packed", "columns"):
        if len(sent) == 2:
            self.close()
            os.kill(os.getpid(), signal.SIGKILL)
        sent.append(1)
    real_send(self, message)
pipeline._message = failing_check
pipeline._Sender.send = failing_send
sys.exit(pipeline.main())
"""


@pytest.mark.parametrize(
    ("how", "said"),
    [
        ("kill", "stopped (exit status -9) before the end of the file"),
        ("raise", "failed: ValueError: no more rows today"),
    ],
)
def test_a_failing_child_stops_the_import_with_whole_batches_and_a_rerun_completes_it(
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    children: list[int],
    monkeypatch: pytest.MonkeyPatch,
    how: str,
    said: str,
) -> None:
    path = calls_file(tmp_path / "k.csv", call_rows(1, 12))
    monkeypatch.setattr(pipeline, "CHILD_ARGS", ("-c", FAILING_CHILD, how))
    # Chunks of 5, batches of 3: the two chunks the child sent are 10 rows, three whole
    # batches (9 rows) written; the tenth row was queued, never written.
    with pytest.raises(PipelineError) as raised:
        import_counting_progress(engine, settings, path, 3, [])
    message = str(raised.value)
    assert message.startswith("the process reading and checking the file's rows ")
    assert said in message
    assert message.endswith("import the file again to complete it")
    assert _stored(engine) == sorted((f"c{i}", float(i)) for i in range(1, 10))
    with engine.connect() as conn:
        run = conn.execute(select(ImportRun.status, ImportRun.inserted, ImportRun.failure)).one()
    assert (run.status, run.inserted) == ("failed", 9)
    assert run.failure.startswith("stopped by an error: PipelineError: the process reading")

    monkeypatch.setattr(pipeline, "CHILD_ARGS", ("-m", "paceline.ingest.pipeline"))
    again = import_counting_progress(engine, settings, path, 3, [])
    assert (again.read, again.inserted, again.unchanged, again.status) == (12, 3, 9, "done")
    assert _stored(engine) == sorted((f"c{i}", float(i)) for i in range(1, 13))
    assert children == [1, 1]


def test_a_child_that_cannot_start_is_a_clear_error(
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    children: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = calls_file(tmp_path / "n.csv", call_rows(1, 4))
    monkeypatch.setattr(pipeline, "CHILD_ARGS", ("-c", "import sys; sys.exit('no interpreter')"))
    with pytest.raises(PipelineError, match=r"exit status 1\) before the end of the file: no "):
        import_counting_progress(engine, settings, path, 3, [])
    assert _stored(engine) == []


def test_without_an_interpreter_to_start_the_file_is_read_in_process(
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    children: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pipeline.sys, "executable", str(tmp_path / "no-such-python"))
    path = calls_file(tmp_path / "e.csv", call_rows(1, 7))
    result = import_counting_progress(engine, settings, path, 3, [])
    assert children == [1]  # tried, and refused by the system: nothing started
    assert (result.read, result.inserted, result.status) == (7, 7, "done")
    assert _stored(engine) == sorted((f"c{i}", float(i)) for i in range(1, 8))


@pytest.mark.parametrize(
    ("choice", "cores", "load", "second_process"),
    [
        ("auto", 2, 0.9, True),  # one core free
        ("auto", 2, 1.2, False),  # both busy: the process would only add its own cost
        ("auto", 1, 0.0, False),
        ("auto", 8, 6.5, True),
        ("always", 2, 9.0, True),
        ("never", 8, 0.0, False),
        ("", 2, 0.0, True),  # unset or empty: auto
    ],
)
def test_when_a_second_process_reads_the_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    choice: str,
    cores: int,
    load: float,
    second_process: bool,
) -> None:
    monkeypatch.setattr(pipeline, "PIPELINE_MIN_BYTES", 10)
    monkeypatch.setattr(pipeline.os, "cpu_count", lambda: cores)
    monkeypatch.setattr(pipeline.os, "getloadavg", lambda: (load, 0.0, 0.0))
    monkeypatch.setenv("PACELINE_IMPORT_PROCESS", choice)
    assert pipeline.worth_a_process(write(tmp_path / "big.csv", "x" * 10)) is second_process
    assert pipeline.worth_a_process(write(tmp_path / "small.csv", "x" * 9)) is False


def test_an_unknown_choice_of_process_stops_the_import_before_anything_is_written(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PACELINE_IMPORT_PROCESS", "sometimes")
    path = calls_file(tmp_path / "u.csv", call_rows(1, 2))
    with pytest.raises(ImportFileError, match=r"PACELINE_IMPORT_PROCESS is 'sometimes': give "):
        import_counting_progress(engine, settings, path, 3, [])
    with engine.connect() as conn:
        assert conn.execute(select(ImportRun.id)).all() == []
    assert _stored(engine) == []


def test_an_import_stopped_by_its_own_error_ends_the_child(
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    children: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[pipeline.CheckingProcess] = []
    real_enter = pipeline.CheckingProcess.__enter__
    monkeypatch.setattr(
        pipeline.CheckingProcess, "__enter__", lambda self: made.append(self) or real_enter(self)
    )
    real_write = Writer.write

    def second_fails(self: Writer, batch: list[object]) -> None:
        if self.result.inserted:
            raise RuntimeError("disk on fire")
        real_write(self, batch)  # type: ignore[arg-type]

    monkeypatch.setattr(Writer, "write", second_fails)
    path = calls_file(tmp_path / "f.csv", call_rows(1, 12))
    with pytest.raises(RuntimeError, match="disk on fire"):
        import_counting_progress(engine, settings, path, 3, [])
    (child,) = made
    assert child._process.poll() is not None  # ended (killed), not left running
    assert _stored(engine) == sorted((f"c{i}", float(i)) for i in range(1, 4))


def test_a_mapped_file_with_its_own_delimiter_and_zone_is_read_by_the_child_as_mapped(
    engine: Engine, settings: Settings, tmp_path: Path, children: list[int]
) -> None:
    # Semicolons, other column names, a constant kind, a skip rule and times in Tokyo: the
    # child must read the file as the mapping says. Line 3 is skipped (Status = Cancelled).
    mapping = Mapping(
        entity="activities",
        delimiter=";",
        timezone="Asia/Tokyo",
        columns={
            "external_id": "Id",
            "rep": "Owner",
            "occurred_at": "When",
            "outcome": "Result",
            "account": "Company",
        },
        constants={"kind": "call"},
        skip={"Status": ["Cancelled"]},
    )
    text = (
        "Id;Owner;When;Result;Company;Status\n"
        "m1;Ana Ruiz;2026-11-02 09:00;no_answer;Acme;Done\n"
        "m2;Ana Ruiz;2026-11-02 10:00;no_answer;Acme;Cancelled\n"
        "m3;Ben Ode;2026-11-03 08:30;no_answer;Beta; Done\n"
    )
    path = write(tmp_path / "m.csv", text)
    result = import_csv(
        engine,
        settings,
        path,
        "activities",
        mapping,
        ImportOptions(errors_path=tmp_path / "m.errors.csv"),
    )
    assert children == [1]
    assert (result.read, result.inserted, result.skipped, result.rejected) == (3, 2, 1, 0)
    with engine.connect() as conn:
        stored = conn.execute(select(Activity.external_id, Activity.occurred_at, Activity.kind))
        got = sorted((ext, str(at)[:16], kind) for ext, at, kind in stored)
    # 09:00 and 08:30 in Tokyo (UTC+9) are 00:00 and 23:30 the day before in UTC.
    assert got == [("m1", "2026-11-02 00:00", "call"), ("m3", "2026-11-02 23:30", "call")]


def test_a_usual_chunk_is_packed_into_one_text_that_gives_its_rows_back() -> None:
    rows: list[tuple[int, list[str], str | None]] = [
        (2, ["c1", "Ana, Ruiz", ""], None),
        (3, ["c2", 'say "hi"', "é"], None),
        (5, ["c3", "two\nlines", "x"], None),  # the cell before spanned lines 3-4
    ]
    packed = pipeline.pack(rows, 3)
    assert packed is not None
    assert packed.lines == [2, 3, 5]  # not consecutive: the numbers themselves
    assert packed.rows() == rows
    assert packed.raws()[0] == "c1\x1fAna, Ruiz\x1f"
    consecutive = pipeline.pack(rows[:2], 3)
    assert consecutive is not None and consecutive.lines == range(2, 4)
    assert consecutive.rows() == rows[:2]


@pytest.mark.parametrize(
    "chunk",
    [
        [(2, ["c1", "a\x1fb", "x"], None)],  # a cell holding a separator
        [(2, ["c1", "a\x1eb", "x"], None)],
        [(2, ["c1", "a"], None)],  # a row short of a cell
        [(2, ["c1", "a", "x"], "a stray quote")],  # a row the reader had a problem with
        [],
    ],
)
def test_a_chunk_that_cannot_be_packed_is_sent_as_it_is(
    chunk: list[tuple[int, list[str], str | None]],
) -> None:
    assert pipeline.pack(chunk, 3) is None


def test_rows_the_writer_rejects_from_a_packed_chunk_are_written_whole_to_the_errors_file(
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    children: list[int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Line 8 repeats c2's id with other values: the writer refuses it, holding only the
    # row's packed text; the errors file must show its cells, and the commas and quotes of
    # the note, as the in-process path writes them.
    rows = call_rows(1, 12)
    rows[6] = rows[1].replace(",2,no_answer", ",7,no_answer") + '"a note, with ""quotes"""'
    path = calls_file(tmp_path / "r.csv", rows)
    result = import_counting_progress(engine, settings, path, 100, [])
    assert children == [1]
    assert (result.read, result.inserted, result.rejected) == (12, 11, 1)
    assert result.errors_file is not None
    with open(result.errors_file, encoding="utf-8", newline="") as handle:
        (refused,) = list(csv.reader(handle))[1:]
    assert refused[:2] == ["8", "external_id"]
    assert refused[3:] == [
        "c2",
        "Ben Ode",
        "call",
        "2026-11-04T10:02:00",
        "7",
        "no_answer",
        "no",
        "Acme",
        'a note, with "quotes"',
    ]


def test_a_chunk_vouched_for_whole_is_given_by_column_one_with_a_bad_row_by_record(
    settings: Settings,
) -> None:
    """A usual chunk the column check vouches for whole comes back as its columns (what the
    child sends and the writer inserts), equal values one object; one with a row the check
    cannot vouch for comes back as records by position, None for that row."""
    header = ["external_id", "rep", "kind", "occurred_at", "account"]
    mapping = generic_mapping("activities", header, field_names("activities"))
    zone = ZoneInfo("Europe/Berlin")
    reader = RowReader("activities", mapping, header, zone, zone)
    now = dt.datetime(2026, 12, 1)
    fast = functools.partial(finish_activities, reader, settings=settings, now=now)
    by_column = functools.partial(check_activities, reader, settings=settings, now=now)
    rows = [
        ["a1", "Ana Ruiz", "call", "2026-11-20T10:00:00", "Acme"],
        ["a2", "Ana Ruiz", "Email", "2026-11-20T11:00:00", "Acme"],
    ]
    chunk: list[Row] = [(2, rows[0], None), (3, rows[1], None)]
    columns = pipeline.checked_together(chunk, fast, 5, reader, by_column)
    assert isinstance(columns, list)
    by_name = dict(zip(CHECKED_FIELDS, columns, strict=True))
    assert by_name["external_id"] == ["a1", "a2"]
    assert by_name["kind"] == ["call", "email"]
    assert by_name["local_date"] == [dt.date(2026, 11, 20)] * 2
    assert by_name["occurred_at"] == [dt.datetime(2026, 11, 20, 9), dt.datetime(2026, 11, 20, 10)]
    assert by_name["rep"][0] is by_name["rep"][1] and by_name["account"][0] is by_name["account"][1]
    assert records_of(columns) == fast(rows)
    bad: list[Row] = [*chunk, (4, ["a3", "Ana Ruiz", "nap", "2026-11-20T12:00:00", ""], None)]
    records = pipeline.checked_together(bad, fast, 5, reader, by_column)
    assert isinstance(records, dict)
    assert [records[0], records[1], records[2]] == [*fast(rows), None]


# An awkward file under the generic header, with a byte order mark, in chunks of 5: lines
# 2-6 usual (a day without a time, blank durations and outcome, a quoted note with a comma
# and doubled quotes, a quote inside a field, CRLF), lines 7-11 with two rows the column
# check cannot vouch for (a kind nobody knows, a negative duration), lines 12-16 a stray
# quote on line 13 that swallows line 14, lines 17-18 a partial last line without its end.
AWKWARD_CALLS = "\ufeff" + "\n".join(
    [
        CALLS_HEADER,
        "c1,Ana Ruiz,call,2026-11-02T10:01:00,1,no_answer,no,Acme,",
        'c2,Ben Ode,call,2026-11-03,,no_answer,no,Acme,"a note, with ""quotes"""',
        'c3,Ana Ruiz,email,2026-11-04T09:00:00,,,,"Beta, Inc",plain',
        'c4,Ben Ode,call,2026-11-04T10:04:00,4,no_answer,no,Acme,5" screen',
        "c5,Ana Ruiz,call,2026-11-05,5,no_answer,no,Acme,crlf\r",
        "c6,Ben Ode,nap,2026-11-05T10:06:00,6,no_answer,no,Acme,",
        "c7,Ana Ruiz,call,2026-11-05T10:07:00,-3,no_answer,no,Acme,",
        "c8,Ben Ode,call,2026-11-05T10:08:00,8,no_answer,no,Acme,",
        'c9,Ana Ruiz,call,2026-11-05T10:09:00,9,no_answer,no,"Acme",',
        "c10,Ben Ode,call,2026-11-06,,no_answer,no,Acme,",
        "c11,Ana Ruiz,call,2026-11-06T10:11:00,11,no_answer,no,Acme,",
        'c12,Ben Ode,call,2026-11-06T10:12:00,12,no_answer,no,Acme,"oops',
        'c13,Ana Ruiz,call,2026-11-06T10:13:00,13,no_answer,no,Acme,closing" quote',
        "c14,Ben Ode,call,2026-11-06T10:14:00,14,no_answer,no,Acme,",
        "c15,Ana Ruiz,call,2026-11-06T10:15:00,15,no_answer,no,Acme,",
        "c16,Ben Ode,call,2026-11-06T10:16:00,16,no_answer,no,Acme,last",
        "c17,Ana Ruiz,call",
    ]
)


def _messages(settings: Settings, path: Path, split: bool) -> list[tuple[object, ...]]:
    """Every message the checking process sends for `path` (chunks of 5), read in this
    process."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle))
    mapping = generic_mapping("activities", header, field_names("activities"))
    zone = settings.calendar.zone.key
    reader = {"mapping": mapping, "header": header, "zone": zone, "business_zone": zone}
    job = pipeline.job_for(
        path,
        "utf-8",
        ",",
        {**reader, "key_zone": zone, "currency": settings.money.currency},
        settings,
        dt.datetime(2026, 12, 1),
        5,
    )
    job["split"] = split
    sent: list[tuple[object, ...]] = []

    class Collect:
        def send(self, message: tuple[object, ...]) -> None:
            sent.append(message)

    pipeline._serve(job, Collect())  # type: ignore[arg-type]
    return sent


def test_blocks_read_by_splitting_their_text_send_the_csv_modules_messages(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checking process reads a usual block by splitting its text: what it sends of
    the awkward file (rows, lines, packed text, columns, records, the bytes read) is what
    reading it with the csv module sends, message for message. The first two blocks are
    split; the stray quote's and the partial line's are the csv module's."""
    path = write(tmp_path / "a.csv", AWKWARD_CALLS)
    real_split = csvfile.split_block
    split_lines: list[str] = []

    def noted(block: list[str], *args: str | int) -> tuple[str, list[list[str]]] | None:
        done = real_split(block, *args)  # type: ignore[arg-type]
        if done is not None:
            split_lines.append(block[0][:3])
        return done

    monkeypatch.setattr(csvfile, "split_block", noted)
    split, by_csv = _messages(settings, path, True), _messages(settings, path, False)
    assert split_lines == ["c1,", "c6,"]
    assert split == by_csv
    assert [message[0] for message in split] == ["columns", "packed", "chunk", "chunk", "end"]
    assert split[0][1] == range(2, 7)
    columns = dict(zip(CHECKED_FIELDS, split[0][3], strict=True))  # type: ignore[arg-type]
    assert columns["duration_min"] == [1.0, None, None, 4.0, 5.0]
    assert columns["notes"] == [None, 'a note, with "quotes"', "plain", '5" screen', "crlf"]
    assert columns["account"] == ["Acme", "Acme", "Beta, Inc", "Acme", "Acme"]


@pytest.mark.parametrize("split", [True, False])
def test_the_awkward_file_imports_the_same_through_either_reading(
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    children: list[int],
    monkeypatch: pytest.MonkeyPatch,
    split: bool,
) -> None:
    """Through the checking process, read by splitting or by the csv module, the awkward
    file gives the same counts, stored rows and errors file, counted by hand: 16 records
    read (c13's line is inside c12's note), c6 (the kind), c7 (the duration), c12 (the
    stray quote, lines 13-14) and c17 (3 fields) refused, the 12 others stored."""
    monkeypatch.setattr(pipeline, "SPLIT", split)
    path = write(tmp_path / "a.csv", AWKWARD_CALLS)
    options = ImportOptions(
        errors_path=tmp_path / "a.errors.csv", batch_size=4, now=dt.datetime(2026, 12, 1)
    )
    result = import_csv(engine, settings, path, "activities", options=options)
    assert children == [1]
    assert (result.read, result.inserted, result.rejected) == (16, 12, 4)
    assert [(line, field) for line, field, _ in _errors(result)] == [
        ("7", "kind"),
        ("8", "duration_min"),
        ("13", ""),
        ("18", ""),
    ]
    with engine.connect() as conn:
        stored = conn.execute(
            select(Activity.external_id, Activity.local_date, Activity.duration_min, Activity.notes)
        ).all()
    assert sorted(stored) == sorted(
        [
            ("c1", dt.date(2026, 11, 2), 1.0, None),
            ("c2", dt.date(2026, 11, 3), None, 'a note, with "quotes"'),
            ("c3", dt.date(2026, 11, 4), None, "plain"),
            ("c4", dt.date(2026, 11, 4), 4.0, '5" screen'),
            ("c5", dt.date(2026, 11, 5), 5.0, "crlf"),
            ("c8", dt.date(2026, 11, 5), 8.0, None),
            ("c9", dt.date(2026, 11, 5), 9.0, None),
            ("c10", dt.date(2026, 11, 6), None, None),
            ("c11", dt.date(2026, 11, 6), 11.0, None),
            ("c14", dt.date(2026, 11, 6), 14.0, None),
            ("c15", dt.date(2026, 11, 6), 15.0, None),
            ("c16", dt.date(2026, 11, 6), 16.0, "last"),
        ]
    )
