"""A large bulk insert into `activity` marks its rep-days once per (rep, day), not by the row
trigger, and leaves the trigger exactly as it found it, committed or rolled back (SQLite)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, insert, text

from paceline.store import bulk
from paceline.store.bulk import insert_columns, insert_rows
from paceline.store.models import Activity, Rep

COLUMNS = (
    "rep_id",
    "kind",
    "occurred_at",
    "local_date",
    "has_ask",
    "engaged",
    "source",
    "external_id",
    "created_at",
    "updated_at",
)
DAY_1, DAY_2 = dt.date(2026, 11, 2), dt.date(2026, 11, 3)


def _rows(count: int, rep_id: int, day: dt.date, prefix: str) -> list[tuple[object, ...]]:
    moment = dt.datetime(day.year, day.month, day.day, 10)
    return [
        (rep_id, "call", moment, day, False, False, "bulk", f"{prefix}{i}", moment, moment)
        for i in range(count)
    ]


def _marks(engine: Engine) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        return [
            (r[0], str(r[1]))
            for r in conn.execute(
                text("SELECT rep_id, local_date FROM rollup_dirty ORDER BY rep_id, local_date")
            )
        ]


def _trigger_sql(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT sql FROM sqlite_master WHERE name = 'activity_rollup_insert'")
        ).scalar()


@pytest.fixture
def two_reps(sqlite_engine: Engine) -> Engine:
    with sqlite_engine.begin() as conn:
        conn.execute(insert(Rep), [{"id": 1, "name": "Ana Ruiz"}, {"id": 2, "name": "Ben Ode"}])
    return sqlite_engine


def test_a_large_insert_marks_each_rep_day_once_and_keeps_the_trigger(two_reps: Engine) -> None:
    engine = two_reps
    trigger = _trigger_sql(engine)
    assert trigger is not None
    # 600 rows of rep 1 on day 1 and 400 of rep 2 on day 2: above the bulk threshold (500).
    rows = _rows(600, 1, DAY_1, "a") + _rows(400, 2, DAY_2, "b")
    with engine.begin() as conn:
        insert_rows(conn, Activity.__table__, COLUMNS, rows)  # type: ignore[arg-type]
    assert _marks(engine) == [(1, "2026-11-02"), (2, "2026-11-03")]
    assert _trigger_sql(engine) == trigger
    # The trigger is back in force: a small insert marks its row as before.
    with engine.begin() as conn:
        insert_rows(conn, Activity.__table__, COLUMNS, _rows(1, 2, DAY_1, "c"))  # type: ignore[arg-type]
    assert _marks(engine) == [(1, "2026-11-02"), (2, "2026-11-02"), (2, "2026-11-03")]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM activity")).scalar() == 1001


def test_a_large_column_insert_marks_each_rep_day_once(two_reps: Engine) -> None:
    """The same 1,000 rows given by column (`insert_columns`): two marks, the trigger kept."""
    engine = two_reps
    trigger = _trigger_sql(engine)
    rows = _rows(600, 1, DAY_1, "a") + _rows(400, 2, DAY_2, "b")
    with engine.begin() as conn:
        insert_columns(conn, Activity.__table__, COLUMNS, list(zip(*rows, strict=True)))
    assert _marks(engine) == [(1, "2026-11-02"), (2, "2026-11-03")]
    assert _trigger_sql(engine) == trigger
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM activity")).scalar() == 1_000


def test_a_rep_and_day_the_same_in_every_row_still_mark_their_rep_day(
    two_reps: Engine,
) -> None:
    """600 rows whose rep and day are given once (`same`) rather than by column: one mark
    for the pair, the trigger kept, every row stored with rep 2 and day 2."""
    engine = two_reps
    trigger = _trigger_sql(engine)
    rows = _rows(600, 2, DAY_2, "a")
    by_column = dict(zip(COLUMNS, zip(*rows, strict=True), strict=True))
    same = {"rep_id": 2, "local_date": DAY_2}
    names = [c for c in COLUMNS if c not in same]
    with engine.begin() as conn:
        insert_columns(conn, Activity.__table__, names, [by_column[c] for c in names], same)
    assert _marks(engine) == [(2, "2026-11-03")]
    assert _trigger_sql(engine) == trigger
    with engine.connect() as conn:
        query = "SELECT rep_id, local_date, count(*) FROM activity GROUP BY 1, 2"
        stored = conn.execute(text(query))
        assert [tuple(r) for r in stored] == [(2, "2026-11-03", 600)]


def test_a_small_insert_is_marked_by_the_trigger_row_by_row(two_reps: Engine) -> None:
    with two_reps.begin() as conn:
        insert_rows(conn, Activity.__table__, COLUMNS, _rows(3, 1, DAY_1, "a"))  # type: ignore[arg-type]
    assert _marks(two_reps) == [(1, "2026-11-02")] * 3


def test_a_rolled_back_bulk_insert_leaves_rows_marks_and_trigger_as_they_were(
    two_reps: Engine,
) -> None:
    engine = two_reps
    trigger = _trigger_sql(engine)
    with pytest.raises(RuntimeError), engine.begin() as conn:
        insert_rows(conn, Activity.__table__, COLUMNS, _rows(800, 1, DAY_1, "a"))  # type: ignore[arg-type]
        raise RuntimeError("the batch fails after its insert")
    assert _marks(engine) == []
    assert _trigger_sql(engine) == trigger
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM activity")).scalar() == 0


def test_a_refused_bulk_insert_restores_the_trigger(
    two_reps: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row the database refuses (a rep that does not exist: the foreign key) fails the
    statement inside the swap; the caller's rollback brings the trigger back."""
    engine = two_reps
    trigger = _trigger_sql(engine)
    monkeypatch.setattr(bulk, "BULK_MARK_ROWS", 2)
    with pytest.raises(Exception, match="FOREIGN KEY"), engine.begin() as conn:
        insert_rows(conn, Activity.__table__, COLUMNS, _rows(3, 99, DAY_1, "a"))  # type: ignore[arg-type]
    assert _trigger_sql(engine) == trigger
    assert _marks(engine) == []


def test_a_caller_that_commits_after_a_refused_bulk_insert_keeps_the_trigger(
    two_reps: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even when the caller swallows the error and commits what went in before it."""
    engine = two_reps
    trigger = _trigger_sql(engine)
    monkeypatch.setattr(bulk, "BULK_MARK_ROWS", 2)
    rows = [*_rows(2, 1, DAY_1, "a"), *_rows(1, 99, DAY_2, "z")]  # the third row is refused
    with engine.begin() as conn, pytest.raises(Exception, match="FOREIGN KEY"):
        insert_rows(conn, Activity.__table__, COLUMNS, rows)  # type: ignore[arg-type]
    assert _trigger_sql(engine) == trigger
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM activity")).scalar()
    assert stored == 2  # sqlite3 stops at the refused row; the two before it stay
    assert (1, "2026-11-02") in _marks(engine)
