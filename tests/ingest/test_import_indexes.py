"""A load into an empty `activity` table builds its secondary indexes once, at its end
(SQLite): between its batches the table has its rows and its unique key but not those
indexes, and when it ends, successful or stopped, the table has exactly the indexes it had.
A load killed on the way leaves them out; the next import builds them before anything else,
unless an import still running may be that load. A table that already has rows keeps its
indexes throughout. Every figure below is counted by hand from the file."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, select, text, update

from factories import ACTIVITY_SECONDARY_INDEXES as SECONDARY
from factories import (
    call_rows,
    calls_file,
    fail_the_second_activity_batch,
    leave_killed_activity_load,
)
from paceline.config import Settings
from paceline.ingest import writers
from paceline.ingest.accounting import Batch
from paceline.ingest.importer import ImportOptions, ImportResult, import_csv
from paceline.store.models import Activity, ImportRun


def _indexes(engine: Engine) -> dict[str, str | None]:
    """The activity table's indexes as SQLite stores them: name -> its CREATE statement."""
    with engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'activity'"
            )
        )
        return {name: sql for name, sql in found}


def _import(
    engine: Engine, settings: Settings, path: Path, seen: list[set[str]] | None = None
) -> ImportResult:
    """Batches of 2 rows; after each batch commits, the indexes a reader sees then."""
    options = ImportOptions(errors_path=path.with_suffix(".errors.csv"), batch_size=2)
    return import_csv(
        engine,
        settings,
        path,
        "activities",
        options=options,
        progress=(lambda done, total: seen.append(set(_indexes(engine))))
        if seen is not None
        else None,
    )


def test_a_load_into_an_empty_table_builds_its_indexes_at_the_end(
    sqlite_engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    before = _indexes(sqlite_engine)
    assert set(before) >= SECONDARY
    path = calls_file(tmp_path / "a.csv", call_rows(1, 6))
    seen: list[set[str]] = []
    result = _import(sqlite_engine, settings, path, seen)
    assert (result.inserted, result.rejected) == (6, 0)
    # 3 batches of 2 rows, then the last call once the import has ended.
    assert len(seen) == 4
    for during in seen[:3]:
        assert during == set(before) - SECONDARY  # the unique key is always there
    assert _indexes(sqlite_engine) == before  # the same names, the same statements
    with sqlite_engine.connect() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        # The rebuilt index answers: the account index finds all 6 rows.
        plan = conn.execute(
            text("EXPLAIN QUERY PLAN SELECT count(*) FROM activity WHERE account_id = 1")
        ).all()
        assert "ix_activity_account" in " ".join(str(row) for row in plan)
        assert (
            conn.execute(
                text(
                    "SELECT count(*) FROM activity INDEXED BY ix_activity_account"
                    " WHERE account_id = 1"
                )
            ).scalar()
            == 6
        )


def test_a_table_with_rows_keeps_its_indexes_throughout(
    sqlite_engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    _import(sqlite_engine, settings, calls_file(tmp_path / "a.csv", call_rows(1, 2)))
    before = _indexes(sqlite_engine)
    seen: list[set[str]] = []
    result = _import(sqlite_engine, settings, calls_file(tmp_path / "b.csv", call_rows(3, 4)), seen)
    assert result.inserted == 4
    assert all(during == set(before) for during in seen)
    assert _indexes(sqlite_engine) == before


def test_a_load_stopped_by_an_error_still_builds_its_indexes(
    sqlite_engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _indexes(sqlite_engine)
    fail_the_second_activity_batch(monkeypatch)
    with pytest.raises(RuntimeError, match="disk on fire"):
        _import(sqlite_engine, settings, calls_file(tmp_path / "a.csv", call_rows(1, 6)))
    assert _indexes(sqlite_engine) == before
    with sqlite_engine.connect() as conn:
        assert conn.execute(select(Activity.external_id)).scalars().all() == ["c1", "c2"]
        assert conn.execute(select(ImportRun.status)).scalar() == "failed"


def _killed_load(engine: Engine, pid: int) -> None:
    """What a load killed after its first batch leaves: rows without the secondary indexes,
    and its run still recorded as running (by `pid` on this host)."""
    with engine.begin() as conn:
        leave_killed_activity_load(conn, pid)


def test_the_next_import_builds_the_indexes_a_killed_load_left_out(
    sqlite_engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    before = _indexes(sqlite_engine)
    _killed_load(sqlite_engine, pid=2**22 + 12345)  # no such process: the run is swept
    result = _import(sqlite_engine, settings, calls_file(tmp_path / "a.csv", call_rows(1, 2)))
    assert _indexes(sqlite_engine) == before
    assert result.notes == {
        "indexes an interrupted import left out, built: ix_activity_account, "
        "ix_activity_deal, ix_activity_occurred_id, ix_activity_rep_day_kind": 1
    }


def test_an_import_beside_a_running_load_leaves_its_indexes_to_it(
    sqlite_engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    import os

    before = _indexes(sqlite_engine)
    _killed_load(sqlite_engine, pid=os.getpid())  # alive: a load still under way
    result = _import(sqlite_engine, settings, calls_file(tmp_path / "a.csv", call_rows(1, 2)))
    assert result.inserted == 2
    assert set(_indexes(sqlite_engine)) == set(before) - SECONDARY


def test_an_import_that_ends_after_the_load_builds_what_it_left_out(
    sqlite_engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The load still runs when this import starts and has been killed when it ends (its run
    since marked interrupted): this import builds the indexes, being the last one running."""
    import os

    before = _indexes(sqlite_engine)
    _killed_load(sqlite_engine, pid=os.getpid())
    real = writers.ActivityWriter.write_any

    def load_dies(self: writers.ActivityWriter, conn: Connection, batch: Batch) -> None:
        real(self, conn, batch)
        conn.execute(
            update(ImportRun).where(ImportRun.file_name == "big.csv").values(status="interrupted")
        )

    monkeypatch.setattr(writers.ActivityWriter, "write_any", load_dies)
    result = _import(sqlite_engine, settings, calls_file(tmp_path / "a.csv", call_rows(1, 2)))
    assert result.inserted == 2
    assert _indexes(sqlite_engine) == before
