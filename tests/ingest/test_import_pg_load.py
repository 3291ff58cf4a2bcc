"""A load into an empty `activity` table on PostgreSQL builds its secondary indexes once, at
its end, and each of its large batches checks its references by set (one anti-join per
column, the foreign keys dropped for the insert and added back NOT VALID in the same
transaction), validated when the load ends. Between batches every foreign key is there and
enforced; when the load ends, done or stopped, the table has exactly the indexes and the
(validated) constraints it had. A load killed on the way leaves them for the next import to
build and validate. A row naming a referenced row that is not there is refused on its own,
with its line. Every figure below is counted by hand from the files."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, select, text

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

REFERENCES = {
    "fk_activity_account_id_account",
    "fk_activity_contact_id_contact",
    "fk_activity_deal_id_deal",
    "fk_activity_rep_id_rep",
}


def _pg_rows(first: int, count: int) -> list[str]:
    """Calls p1.., naming Acme and (every third) Globex: a batch with two new accounts."""
    return call_rows(first, count, prefix="p", account=lambda i: "Acme" if i % 3 else "Globex")


def _indexes(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'activity'")
        )
        return {name: definition for name, definition in found}


def _constraints(engine: Engine) -> dict[str, tuple[str, bool]]:
    """activity's foreign keys: name -> (definition, validated)."""
    with engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT conname, pg_get_constraintdef(oid), convalidated FROM pg_constraint "
                "WHERE conrelid = 'activity'::regclass AND contype = 'f'"
            )
        )
        return {name: (definition, valid) for name, definition, valid in found}


def _import(
    engine: Engine,
    settings: Settings,
    path: Path,
    seen: list[tuple[set[str], dict[str, tuple[str, bool]]]] | None = None,
) -> ImportResult:
    """Batches of 3 rows; after each batch commits, the indexes and constraints seen then."""
    options = ImportOptions(errors_path=path.with_suffix(".errors.csv"), batch_size=3)
    return import_csv(
        engine,
        settings,
        path,
        "activities",
        options=options,
        progress=(lambda done, total: seen.append((set(_indexes(engine)), _constraints(engine))))
        if seen is not None
        else None,
    )


@pytest.fixture
def set_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of 2 new rows or more check their references by set (1,000 in production)."""
    monkeypatch.setattr(writers, "SET_CHECK_ROWS", 2)


def test_a_load_into_an_empty_table_defers_indexes_and_checks_references_by_set(
    pg_engine: Engine, settings: Settings, tmp_path: Path, set_checks: None
) -> None:
    indexes, constraints = _indexes(pg_engine), _constraints(pg_engine)
    assert set(indexes) >= SECONDARY and set(constraints) == REFERENCES
    assert all(valid for _, valid in constraints.values())
    seen: list[tuple[set[str], dict[str, tuple[str, bool]]]] = []
    result = _import(pg_engine, settings, calls_file(tmp_path / "a.csv", _pg_rows(1, 6)), seen)
    assert (result.inserted, result.rejected) == (6, 0)
    assert len(seen) == 3  # 2 batches of 3 rows, then the last call once the import ended
    for during, references in seen[:2]:
        assert during == set(indexes) - SECONDARY  # the unique key is always there
        # Every constraint is there; those of the columns the rows fill (rep, account) were
        # added back NOT VALID, the others (no contact, no deal) left as they were.
        assert {name: d.removesuffix(" NOT VALID") for name, (d, _) in references.items()} == {
            name: d for name, (d, _) in constraints.items()
        }
        assert {name for name, (_, valid) in references.items() if not valid} == {
            "fk_activity_account_id_account",
            "fk_activity_rep_id_rep",
        }
    assert _indexes(pg_engine) == indexes  # the same names, the same definitions
    assert _constraints(pg_engine) == constraints  # validated again
    with pg_engine.connect() as conn:
        conn.execute(text("SET enable_seqscan = off"))
        plan = conn.execute(text("EXPLAIN SELECT count(*) FROM activity WHERE account_id = 1"))
        assert "ix_activity_account" in " ".join(row[0] for row in plan)
        assert conn.execute(text("SELECT count(*) FROM activity")).scalar() == 6


def test_a_table_with_rows_keeps_its_indexes_and_row_checks(
    pg_engine: Engine, settings: Settings, tmp_path: Path, set_checks: None
) -> None:
    _import(pg_engine, settings, calls_file(tmp_path / "a.csv", _pg_rows(1, 2)))
    indexes, constraints = _indexes(pg_engine), _constraints(pg_engine)
    seen: list[tuple[set[str], dict[str, tuple[str, bool]]]] = []
    result = _import(pg_engine, settings, calls_file(tmp_path / "b.csv", _pg_rows(3, 6)), seen)
    assert result.inserted == 6
    assert all(during == (set(indexes), constraints) for during in seen)


def test_a_reference_to_a_missing_row_is_refused_with_its_line(
    pg_engine: Engine,
    settings: Settings,
    tmp_path: Path,
    set_checks: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A row whose account is gone when its batch is written (planted: the account id of the
    file's line 3 replaced by one no account has) is refused alone, with its line; the
    batch's other rows are stored and the constraints end validated."""
    real = writers.ActivityWriter._store
    account_at = writers.ACTIVITY_VALUES.index("account_id")

    def one_gone(self: writers.ActivityWriter, conn: Connection, batch: Any) -> None:
        values = batch.values  # the values stored, whether the batch came by record or column

        def planted(positions: list[int] | None) -> list[list[Any]]:
            columns = [list(column) for column in values(positions)]
            at = range(len(batch.externals)) if positions is None else positions
            for i, pos in enumerate(at):
                if batch.externals[pos] == "p2":
                    columns[account_at][i] = 987654
            return columns

        batch.values = planted
        real(self, conn, batch)

    monkeypatch.setattr(writers.ActivityWriter, "_store", one_gone)
    constraints = _constraints(pg_engine)
    result = _import(pg_engine, settings, calls_file(tmp_path / "a.csv", _pg_rows(1, 6)))
    assert (result.inserted, result.rejected) == (5, 1)
    assert result.errors_file is not None
    with open(result.errors_file, encoding="utf-8", newline="") as handle:
        (error,) = list(csv.DictReader(handle))
    assert error["line"] == "3"
    assert "fk_activity_account_id_account" in error["reason"]
    with pg_engine.connect() as conn:
        stored = conn.execute(select(Activity.external_id).order_by(Activity.external_id))
        assert stored.scalars().all() == ["p1", "p3", "p4", "p5", "p6"]
    assert _constraints(pg_engine) == constraints


def test_a_load_stopped_by_an_error_still_builds_and_validates(
    pg_engine: Engine,
    settings: Settings,
    tmp_path: Path,
    set_checks: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    indexes, constraints = _indexes(pg_engine), _constraints(pg_engine)
    fail_the_second_activity_batch(monkeypatch)
    with pytest.raises(RuntimeError, match="disk on fire"):
        _import(pg_engine, settings, calls_file(tmp_path / "a.csv", _pg_rows(1, 6)))
    assert (_indexes(pg_engine), _constraints(pg_engine)) == (indexes, constraints)
    with pg_engine.connect() as conn:
        assert sorted(conn.execute(select(Activity.external_id)).scalars()) == ["p1", "p2", "p3"]
        assert conn.execute(select(ImportRun.status)).scalar() == "failed"


def _killed_load(engine: Engine, pid: int) -> None:
    """What a load killed after its first batch leaves: no secondary indexes, two foreign
    keys NOT VALID, and its run still recorded as running (by `pid` on this host)."""
    with engine.begin() as conn:
        leave_killed_activity_load(conn, pid)
        for name, column, referenced in (
            ("fk_activity_account_id_account", "account_id", "account"),
            ("fk_activity_rep_id_rep", "rep_id", "rep"),
        ):
            conn.execute(text(f"ALTER TABLE activity DROP CONSTRAINT {name}"))
            conn.execute(
                text(
                    f"ALTER TABLE activity ADD CONSTRAINT {name} FOREIGN KEY ({column}) "
                    f"REFERENCES {referenced}(id) NOT VALID"
                )
            )


def test_the_next_import_builds_and_validates_what_a_killed_load_left(
    pg_engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    indexes, constraints = _indexes(pg_engine), _constraints(pg_engine)
    _killed_load(pg_engine, pid=2**22 + 12345)  # no such process: the run is swept
    assert not _constraints(pg_engine)["fk_activity_rep_id_rep"][1]
    result = _import(pg_engine, settings, calls_file(tmp_path / "a.csv", _pg_rows(1, 2)))
    assert (_indexes(pg_engine), _constraints(pg_engine)) == (indexes, constraints)
    assert result.notes == {
        "indexes an interrupted import left out, built: ix_activity_account, "
        "ix_activity_deal, ix_activity_occurred_id, ix_activity_rep_day_kind": 1,
        "references an interrupted import left unvalidated, validated: "
        "fk_activity_account_id_account, fk_activity_rep_id_rep": 1,
    }


def test_an_import_beside_a_running_load_leaves_them_to_it(
    pg_engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    import os

    indexes = _indexes(pg_engine)
    _killed_load(pg_engine, pid=os.getpid())  # alive: a load still under way
    result = _import(pg_engine, settings, calls_file(tmp_path / "a.csv", _pg_rows(1, 2)))
    assert result.inserted == 2
    assert set(_indexes(pg_engine)) == set(indexes) - SECONDARY
    assert not _constraints(pg_engine)["fk_activity_rep_id_rep"][1]


@pytest.fixture
def probes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per look-up of a batch's stored rows (`Staged.matches`)."""
    from paceline.store.bulk import Staged

    real = Staged.matches
    made: list[int] = []

    def counted(self: Staged, *args: object) -> dict[object, tuple[object, ...]]:
        made.append(1)
        return real(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Staged, "matches", counted)
    return made


@pytest.fixture
def staged(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of each batch sent to the staging table (`Staged`)."""
    from paceline.store.bulk import Staged

    real = Staged.__init__
    sizes: list[int] = []

    def counted(self: Staged, conn: Connection, *args: Any) -> None:
        sizes.append(len(args[-1]))
        real(self, conn, *args)

    monkeypatch.setattr(Staged, "__init__", counted)
    return sizes


def test_a_source_with_nothing_stored_inserts_without_looking(
    pg_engine: Engine, settings: Settings, tmp_path: Path, probes: list[int], staged: list[int]
) -> None:
    """With no row of the source stored when the import begins, a batch has nothing to
    match: it is inserted without looking, straight into `activity` (no staging table).
    The same file again is staged and looks once a batch."""
    path = calls_file(tmp_path / "a.csv", _pg_rows(1, 6))
    first = _import(pg_engine, settings, path)
    assert (first.inserted, len(probes), staged) == (6, 0, [])
    with pg_engine.connect() as conn:  # the rollup's statement trigger saw the COPY's rows
        days = conn.execute(text("SELECT count(DISTINCT (rep_id, local_date)) FROM activity"))
        marks = conn.execute(text("SELECT count(DISTINCT (rep_id, local_date)) FROM rollup_dirty"))
        assert days.scalar() == marks.scalar() > 1
    again = _import(pg_engine, settings, path)
    assert (again.inserted, again.unchanged, len(probes)) == (0, 6, 2)  # 2 batches of 3
    assert staged == [3, 3]


def test_a_repeat_in_a_source_with_nothing_stored_is_counted_as_before(
    pg_engine: Engine, settings: Settings, tmp_path: Path, probes: list[int]
) -> None:
    """A batch repeating a row of an earlier one (line 5, p1 again, the same values) is
    refused by the unique key, rolled back and written again with the look-up: p1 counted
    a duplicate; from then on every batch looks."""
    rows = _pg_rows(1, 6)
    result = _import(
        pg_engine, settings, calls_file(tmp_path / "a.csv", [*rows[:3], rows[0], *rows[3:]])
    )
    assert (result.read, result.inserted, result.duplicate, result.rejected) == (7, 6, 1, 0)
    # Batch 1 (lines 2-4) without a look-up; batch 2 (lines 5-7) refused, then written
    # again with one; batch 3 (line 8) with one.
    assert len(probes) == 2
    with pg_engine.connect() as conn:
        stored = conn.execute(select(Activity.external_id)).scalars()
        assert sorted(stored) == ["p1", "p2", "p3", "p4", "p5", "p6"]


def test_a_load_into_an_empty_partitioned_table_keeps_its_indexes_and_row_checks(
    pg_engine: Engine, settings: Settings, tmp_path: Path, set_checks: None
) -> None:
    """PostgreSQL 15 cannot add a foreign key NOT VALID to a partitioned table
    (`store.partition`): a load into one keeps its indexes and checks row by row."""
    from paceline.store.partition import partition_by_month

    partition_by_month(pg_engine)
    indexes, constraints = _indexes(pg_engine), _constraints(pg_engine)
    seen: list[tuple[set[str], dict[str, tuple[str, bool]]]] = []
    result = _import(pg_engine, settings, calls_file(tmp_path / "a.csv", _pg_rows(1, 6)), seen)
    assert (result.inserted, result.rejected) == (6, 0)
    assert all(during == (set(indexes), constraints) for during in seen)


def test_a_repeat_in_a_fresh_source_of_a_partitioned_table_is_counted_as_before(
    pg_engine: Engine, settings: Settings, tmp_path: Path, probes: list[int]
) -> None:
    """On the partitioned form the unique key across months is `activity_key`'s: it refuses
    the repeat (p1, line 5) the batch inserted without looking, as the plain table's key does."""
    from paceline.store.partition import partition_by_month

    partition_by_month(pg_engine)
    rows = _pg_rows(1, 6)
    result = _import(
        pg_engine, settings, calls_file(tmp_path / "a.csv", [*rows[:3], rows[0], *rows[3:]])
    )
    assert (result.read, result.inserted, result.duplicate, result.rejected) == (7, 6, 1, 0)
    assert len(probes) == 2


def test_batches_commit_without_waiting_for_the_disk_and_the_end_waits(
    pg_engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each batch's transaction runs with synchronous_commit off; the one that records the
    end runs with the server's setting (on), so its commit makes every batch durable."""
    seen: list[tuple[str, str]] = []

    def setting(conn: Connection) -> str:
        return str(conn.exec_driver_sql("SHOW synchronous_commit").scalar())

    real_batch, real_end = writers.ActivityWriter.write_any, writers.ActivityWriter.finishing

    def batch(self: writers.ActivityWriter, conn: Connection, rows: Batch) -> None:
        seen.append(("batch", setting(conn)))
        real_batch(self, conn, rows)

    def end(self: writers.ActivityWriter, conn: Connection) -> None:
        seen.append(("end", setting(conn)))
        real_end(self, conn)

    monkeypatch.setattr(writers.ActivityWriter, "write_any", batch)
    monkeypatch.setattr(writers.ActivityWriter, "finishing", end)
    result = _import(pg_engine, settings, calls_file(tmp_path / "a.csv", _pg_rows(1, 6)))
    assert result.inserted == 6
    assert seen == [("batch", "off"), ("batch", "off"), ("end", "on")]


def test_a_load_writes_each_rep_day_mark_once_with_the_trigger_back_on(
    pg_engine: Engine, settings: Settings, tmp_path: Path, set_checks: None
) -> None:
    """Calls 1-6 fall on Nov 3, 4, 5, 6, 2, 3 (day 2 + i % 5) for Ana (odd) and Ben (even),
    in batches of 3 checked by set, whose marks are written by set: the same six marks as
    the trigger writes on the row-by-row path (one per distinct rep and day of each batch),
    none doubled, and the trigger on at the end."""
    result = _import(pg_engine, settings, calls_file(tmp_path / "a.csv", _pg_rows(1, 6)))
    assert result.inserted == 6
    with pg_engine.connect() as conn:
        marks = conn.execute(
            text(
                "SELECT r.name, d.local_date::text FROM rollup_dirty d "
                "JOIN rep r ON r.id = d.rep_id ORDER BY 1, 2"
            )
        ).all()
        trigger = conn.execute(
            text("SELECT tgenabled FROM pg_trigger WHERE tgname = 'activity_rollup_insert'")
        ).scalar()
    # Batch 1: p1 Ana Nov 3, p2 Ben Nov 4, p3 Ana Nov 5; batch 2: p4 Ben Nov 6, p5 Ana
    # Nov 2, p6 Ben Nov 3.
    assert [tuple(m) for m in marks] == [
        ("Ana Ruiz", "2026-11-02"),
        ("Ana Ruiz", "2026-11-03"),
        ("Ana Ruiz", "2026-11-05"),
        ("Ben Ode", "2026-11-03"),
        ("Ben Ode", "2026-11-04"),
        ("Ben Ode", "2026-11-06"),
    ]
    assert trigger == "O"
