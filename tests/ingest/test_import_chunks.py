"""A chunk of rows the column-wise check vouches for whole is queued without a Python step
per row (`importer._take_whole`): its batches, heartbeats, progress calls and counts must be
those of the row-by-row loop, and a chunk with one bad row must still go row by row.

The chunk size and the heartbeat interval are made small here, so that a dozen rows span
several chunks and batches; every figure below is counted by hand from the file."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from factories import CALLS_HEADER as HEADER
from factories import call_rows, calls_file, import_counting_progress, write
from paceline.config import Settings
from paceline.ingest import csvfile, importer
from paceline.ingest.sources import Row
from paceline.ingest.writers import Writer
from paceline.store.models import Account, Activity, ImportRun


@pytest.fixture
def beats(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Chunks of 5 rows, a heartbeat every 3 rows read; the calls in order, beats with the
    rows read so far."""
    calls: list[str] = []
    monkeypatch.setattr(importer, "CHUNK_ROWS", 5)
    monkeypatch.setattr(importer, "HEARTBEAT_ROWS", 3)
    monkeypatch.setattr(Writer, "beat", lambda self: calls.append(f"beat {self.result.read}"))
    return calls


def test_whole_chunks_are_written_in_the_same_batches_with_the_same_heartbeats(
    engine: Engine, settings: Settings, tmp_path: Path, beats: list[str]
) -> None:
    # 12 rows in chunks of 5, 5, 2; batches of 2. Nothing is queued when reading rows 1, 3,
    # 5, 7, 9, 11 begins; of those counts, 3 and 9 are multiples of 3: beats there. Six
    # batches each say their progress, and the end once more.
    path = calls_file(tmp_path / "a.csv", call_rows(1, 12))
    result = import_counting_progress(engine, settings, path, 2, beats)
    assert (result.read, result.inserted, result.rejected) == (12, 12, 0)
    assert beats == [
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
    with engine.connect() as conn:
        stored = conn.execute(select(Activity.external_id, Activity.duration_min)).all()
        run = conn.execute(select(ImportRun.rows_read, ImportRun.inserted)).one()
    assert sorted(stored) == sorted((f"c{i}", float(i)) for i in range(1, 13))
    assert tuple(run) == (12, 12)


def test_a_chunk_with_a_bad_row_goes_row_by_row_between_whole_ones(
    engine: Engine, settings: Settings, tmp_path: Path, beats: list[str]
) -> None:
    # Rows 6-10 (lines 7-11) are the second chunk; c8 (line 9) has an unknown kind. With
    # batches of 4: rows 1-4, then 5, 6, 7, 9 (the bad one skipped), then 10, 11, 12, and
    # the rest (none). Beats: nothing queued when reading rows 1, 5 and 10 begins, and
    # none of those is a multiple of 3.
    rows = call_rows(1, 12)
    rows[7] = rows[7].replace(",call,", ",carrier_pigeon,")
    path = calls_file(tmp_path / "b.csv", rows)
    result = import_counting_progress(engine, settings, path, 4, beats)
    assert (result.read, result.inserted, result.rejected) == (12, 11, 1)
    assert beats == ["progress", "progress", "progress"]
    assert result.errors_file is not None
    with open(result.errors_file, encoding="utf-8", newline="") as handle:
        (error,) = csv.DictReader(handle)
    assert (error["line"], error["field"]) == ("9", "kind")
    with engine.connect() as conn:
        stored = set(conn.execute(select(Activity.external_id)).scalars())
    assert stored == {f"c{i}" for i in range(1, 13)} - {"c8"}


def test_blank_lines_are_skipped_and_a_quoted_line_break_is_kept(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    rows = call_rows(1, 3)
    rows[1] = rows[1] + '"first line\nsecond line"'  # c2's notes span lines 3-4
    text = "\n".join([HEADER, rows[0], "", rows[1], "", "", rows[2]]) + "\n"
    path = write(tmp_path / "c.csv", text)
    result = import_counting_progress(engine, settings, path, 10, [])
    assert (result.read, result.inserted, result.rejected) == (3, 3, 0)
    with engine.connect() as conn:
        notes = conn.execute(select(Activity.notes).where(Activity.external_id == "c2"))
        assert notes.scalar_one() == "first line\nsecond line"


def test_a_valid_accented_name_takes_the_whole_chunk_path_and_bad_bytes_do_not(
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    beats: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    whole: list[int] = []  # the size of each chunk taken whole
    take_whole = importer._take_whole

    def spy(chunk: list[Row], *args: Any) -> Any:
        whole.append(len(chunk))
        return take_whole(chunk, *args)

    monkeypatch.setattr(importer, "_take_whole", spy)
    rows = [row.replace("Acme", "Café Müller") for row in call_rows(1, 7)]
    rows[6] = rows[6].replace("Café Müller", "caf\udce9")  # line 8: a lone cp1252 byte
    path = tmp_path / "d.csv"
    path.write_bytes("\n".join([HEADER, *rows, ""]).encode("utf-8", "surrogateescape"))
    result = import_counting_progress(engine, settings, path, 10, beats)
    assert (result.read, result.inserted, result.rejected) == (7, 6, 1)
    assert whole == [5]  # rows 1-5; rows 6-7 (with the bad bytes) row by row
    assert result.errors_file is not None
    with open(result.errors_file, encoding="utf-8", newline="") as handle:
        (error,) = csv.DictReader(handle)
    assert error["line"] == "8"
    assert "not valid in the file's encoding" in error["reason"]
    with engine.connect() as conn:
        names = conn.execute(select(Account.name)).scalars().all()
    assert names == ["Café Müller"]


def test_a_batch_of_large_cells_ends_at_its_bytes_before_its_rows(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twelve calls with 100,000-character notes: each line is about 100,050 bytes. Read
    here a row a chunk (the file's position after each line known to within the text
    reader's 8,192-byte reads), with batches of up to 10 rows but 250,000 bytes: two rows
    span at most 200,100 + 8,192 bytes, three at least 300,150 - 8,192, so every batch is
    two rows: six batches, the first five saying their progress as they are written, the
    sixth written at the end, which says it once. By rows alone the batches were 10 rows
    (one progress call) and 2 (the end's)."""
    monkeypatch.setenv("PACELINE_IMPORT_PROCESS", "never")
    monkeypatch.setattr(importer, "CHUNK_ROWS", 1)
    monkeypatch.setattr(importer, "BATCH_BYTES", 250_000, raising=False)
    monkeypatch.setattr(csvfile, "READ_CHARS", 1, raising=False)  # a line a read
    note = "n" * 100_000
    path = calls_file(tmp_path / "big.csv", [row + note for row in call_rows(1, 12)])
    calls: list[str] = []
    result = import_counting_progress(engine, settings, path, 10, calls)
    assert (result.read, result.inserted, result.rejected) == (12, 12, 0)
    assert calls == ["progress"] * 6
    with engine.connect() as conn:
        notes = conn.execute(select(Activity.external_id, Activity.notes)).all()
    assert sorted(notes) == sorted((f"c{i}", note) for i in range(1, 13))
