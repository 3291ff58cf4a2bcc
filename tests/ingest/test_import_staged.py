"""PostgreSQL imports of activities go through a staging table (COPY, then one INSERT ...
SELECT and one UPDATE ... FROM per batch): the same accounting, idempotency, errors and
batch atomicity as row-by-row writes. Figures are counted by hand from the files below."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text

from factories import count_rows, write
from paceline.config import Settings
from paceline.ingest import writers
from paceline.ingest.importer import ImportOptions, ImportResult, import_csv
from paceline.ingest.writers import ACTIVITY_COLUMNS
from paceline.store.bulk import Staged
from paceline.store.models import Activity

HEADER = "external_id,rep,kind,occurred_at,duration_min,outcome,has_ask,account,notes"
# Ten good rows: two reps, three accounts, 2026-11-02 .. 2026-11-06.
GOOD = [
    f"s{i},{'Ana Ruiz' if i % 2 else 'Ben Ode'},call,2026-11-0{2 + i % 5}T10:{i:02d}:00,"
    f"{i},no_answer,no,{['Acme', 'Globex', 'Initech'][i % 3]},"
    for i in range(10)
]


def _import(engine: Engine, settings: Settings, path: Path, batch_size: int = 4) -> ImportResult:
    options = ImportOptions(errors_path=path.with_suffix(".errors.csv"), batch_size=batch_size)
    return import_csv(engine, settings, path, "activities", options=options)


def _errors(result: ImportResult) -> list[dict[str, str]]:
    assert result.errors_file is not None
    with open(result.errors_file, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_fresh_import_then_reimport_writes_nothing(
    pg_engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    path = write(tmp_path / "a.csv", "\n".join([HEADER, *GOOD]) + "\n")
    first = _import(pg_engine, settings, path)
    assert (first.read, first.inserted, first.updated, first.unchanged) == (10, 10, 0, 0)
    with pg_engine.connect() as conn:
        durations = dict(conn.execute(select(Activity.external_id, Activity.duration_min)).all())
        days = conn.execute(text("SELECT count(DISTINCT (rep_id, local_date)) FROM activity"))
        marked = conn.execute(text("SELECT count(DISTINCT (rep_id, local_date)) FROM rollup_dirty"))
        assert days.scalar() == marked.scalar() == 10  # every rep-day marked for the rollup
    assert durations == {f"s{i}": float(i) for i in range(10)}
    again = _import(pg_engine, settings, path)
    assert (again.inserted, again.updated, again.unchanged, again.duplicate) == (0, 0, 10, 0)
    assert count_rows(pg_engine, Activity) == 10


def test_a_changed_row_is_updated_in_place(
    pg_engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    _import(pg_engine, settings, write(tmp_path / "a.csv", "\n".join([HEADER, *GOOD]) + "\n"))
    changed = [*GOOD[:3], GOOD[3].replace(",3,no_answer,", ",33,no_answer,"), *GOOD[4:]]
    result = _import(pg_engine, settings, write(tmp_path / "b.csv", "\n".join([HEADER, *changed])))
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 9)
    with pg_engine.connect() as conn:
        stored = conn.execute(
            select(Activity.duration_min, Activity.import_run_id).where(
                Activity.external_id == "s3"
            )
        ).one()
    assert stored == (33.0, result.import_run_id)
    assert count_rows(pg_engine, Activity) == 10


def test_bad_rows_and_repeats_are_counted_and_named(
    pg_engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    lines = [
        HEADER,
        *GOOD[:4],  # lines 2-5, the first batch
        "s0,Ben Ode,call,2026-11-02T10:00:00,0,no_answer,no,Acme,",  # line 6: s0 again, same
        "s1,Ana Ruiz,call,2026-11-03T10:01:00,9,no_answer,no,Globex,",  # line 7: s1, other values
        "s9,Ana Ruiz,call,not a date,1,,no,Acme,",  # line 8
        "s8,Ana Ruiz,dance,2026-11-04T10:00:00,1,,no,Acme,",  # line 9
    ]
    result = _import(pg_engine, settings, write(tmp_path / "c.csv", "\n".join(lines) + "\n"))
    assert (result.read, result.inserted, result.duplicate, result.rejected) == (8, 4, 1, 3)
    assert result.accounted == result.read
    rejected = {(row["line"], row["field"]) for row in _errors(result)}
    assert rejected == {("7", "external_id"), ("8", "occurred_at"), ("9", "kind")}
    assert count_rows(pg_engine, Activity) == 4


@pytest.mark.parametrize("path", ["copied", "staged"])
def test_a_batch_failing_half_way_leaves_nothing_and_a_rerun_completes(
    pg_engine: Engine,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
) -> None:
    """The second batch fails after its rows went into `activity` (planted): straight by
    COPY (a source with nothing stored), or from the staging table (a source with a row
    stored, s99). Nothing of it stays; a re-run stores the rest and counts the first
    batch's rows unchanged."""
    if path == "staged":
        other = GOOD[0].replace("s0,", "s99,", 1)
        _import(pg_engine, settings, write(tmp_path / "s.csv", f"{HEADER}\n{other}\n"))
    before = count_rows(pg_engine, Activity)
    owner, name = (writers, "copy_rows") if path == "copied" else (Staged, "insert")
    real = getattr(owner, name)
    calls = 0

    def fail_the_second_batch_after_writing(*args: object) -> int:
        nonlocal calls
        calls += 1
        written = int(real(*args))
        assert written > 0
        if calls == 2:
            raise RuntimeError("the server went away")
        return written

    monkeypatch.setattr(owner, name, fail_the_second_batch_after_writing)
    file = write(tmp_path / "a.csv", "\n".join([HEADER, *GOOD]) + "\n")
    with pytest.raises(RuntimeError, match="went away"):
        _import(pg_engine, settings, file)
    assert calls == 2
    assert count_rows(pg_engine, Activity) == before + 4  # the first batch of 4 only
    with pg_engine.connect() as conn:
        stored = conn.execute(select(Activity.external_id).where(Activity.external_id < "s9"))
        assert sorted(stored.scalars()) == ["s0", "s1", "s2", "s3"]
    monkeypatch.setattr(owner, name, real)
    resumed = _import(pg_engine, settings, file)
    assert (resumed.inserted, resumed.unchanged, resumed.rejected) == (6, 4, 0)
    assert count_rows(pg_engine, Activity) == before + 10


def test_matching_a_batch_probes_the_unique_index_whatever_the_statistics(
    pg_engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """A plan regression test: joined plainly, the staged batch was matched by a hash join
    over every stored activity (a full scan per batch, quadratic over a large import)."""
    rows = [f"p{i},Rep {i % 7},call,2026-11-02T10:00:00,1,,no,," for i in range(3_000)]
    _import(pg_engine, settings, write(tmp_path / "p.csv", "\n".join([HEADER, *rows])), 3_000)
    with pg_engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE activity")  # statistics that favour a hash join
        stored = conn.exec_driver_sql(
            f"SELECT {', '.join(ACTIVITY_COLUMNS)} FROM activity LIMIT 500"
        ).all()
        staged = Staged(conn, Activity.__table__, ACTIVITY_COLUMNS, [tuple(r) for r in stored])
        wanted = ("id", "row_hash", "import_run_id")
        sql = staged.matches_sql([("source", "csv")], "external_id", wanted)
        plan = "\n".join(conn.exec_driver_sql("EXPLAIN " + sql, {"source": "csv"}).scalars())
        found = staged.matches([("source", "csv")], "external_id", wanted)
    assert "Hash" not in plan and "Seq Scan on activity" not in plan
    assert "uq_activity_source_external_id" in plan
    assert len(found) == 500


def test_staged_rows_arrive_as_given_whatever_python_type_carried_them(
    pg_engine: Engine,
) -> None:
    """The batch is COPYed in binary, each value encoded as its column's own type: an int in
    the float column, a large id in a bigint one, NULLs, quotes, commas and line breaks."""
    at = dt.datetime(2026, 11, 2, 15, 4, 5, 123456)
    now = dt.datetime(2027, 1, 1)
    notes = 'Café, "quoted"\nsecond line'
    first = (7, None, None, None, "call", at, at.date(), 12, "no_answer", True, False, notes)
    second = (2**40, 5, 6, 8, "email", at, at.date(), 0.5, None, False, True, None)
    given = [(*first, "x1", "ab" * 16, "csv", now, now, 3)]
    given.append((*second, "x2", "cd" * 16, "csv", now, now, None))
    with pg_engine.begin() as conn:
        Staged(conn, Activity.__table__, ACTIVITY_COLUMNS, given)
        stored = conn.exec_driver_sql(
            f"SELECT pos, {', '.join(ACTIVITY_COLUMNS)} FROM paceline_stage_activity ORDER BY pos"
        ).all()
    assert [tuple(row) for row in stored] == [
        (0, *first[:7], 12.0, *first[8:], "x1", "ab" * 16, "csv", now, now, 3),
        (1, *second, "x2", "cd" * 16, "csv", now, now, None),
    ]


def _statistics(engine: Engine) -> tuple[list[str], float]:
    """The columns of `activity` analysed, and the size its statistics give it."""
    with engine.connect() as conn:
        analysed = conn.exec_driver_sql(
            "SELECT attname FROM pg_stats WHERE tablename = 'activity' ORDER BY attname"
        ).scalars()
        size = conn.exec_driver_sql(
            "SELECT reltuples FROM pg_class WHERE relname = 'activity'"
        ).scalar_one()
    return list(analysed), float(size)


def test_a_growing_import_analyses_the_columns_its_look_ups_rest_on(
    pg_engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the import has written enough rows, it analyses `activity`: the table's size and
    the columns its statements filter on, not every column (autovacuum does those). The
    source has a row stored (s99), so every batch looks its rows up."""
    other = GOOD[0].replace("s0,", "s99,", 1)
    _import(pg_engine, settings, write(tmp_path / "s.csv", f"{HEADER}\n{other}\n"))
    monkeypatch.setattr("paceline.ingest.writers.MIN_ROWS_BEFORE_ANALYZE", 4)
    # A load keeping its indexes: building them at its end would count the table again.
    monkeypatch.setattr("paceline.ingest.writers.defer_indexes", lambda conn, table: ())
    _import(pg_engine, settings, write(tmp_path / "a.csv", "\n".join([HEADER, *GOOD]) + "\n"))
    # Analysed before the last batch of 4 (of 10 rows, in batches of 4): s99 and 8 rows.
    assert _statistics(pg_engine) == (["external_id", "id", "source"], 9)


def test_a_source_with_nothing_stored_is_analysed_once_at_its_end(
    pg_engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same import into a source with nothing stored reads nothing of `activity` on
    the way, so it analyses nothing then, however much it writes; it analyses once at its
    end, for the look-ups of the imports after it."""
    monkeypatch.setattr("paceline.ingest.writers.MIN_ROWS_BEFORE_ANALYZE", 4)
    monkeypatch.setattr("paceline.ingest.writers.defer_indexes", lambda conn, table: ())
    path = write(tmp_path / "a.csv", "\n".join([HEADER, *GOOD]))
    during: list[list[str]] = []
    options = ImportOptions(errors_path=path.with_suffix(".errors.csv"), batch_size=4)
    result = import_csv(
        pg_engine,
        settings,
        path,
        "activities",
        options=options,
        progress=lambda done, total: during.append(_statistics(pg_engine)[0]),
    )
    assert result.inserted == 10
    assert during[:-1] == [[], []]  # after the first two batches (the last call: its end)
    assert _statistics(pg_engine) == (["external_id", "id", "source"], 10)
