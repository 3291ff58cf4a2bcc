"""Imports at once, an import killed mid-file, and an errors file that cannot be written.

As seen (issue 16): two imports at once crashed on the unique rep name when both brought new
reps, made 33 and 30 copies of account names, and counted the rows the other import wrote
as "duplicate"; a killed import left its run "running" forever with its `import_seen` rows;
an errors file that could not be written lost rejected rows or stopped a half-done import.

Every fault is injected for real: imports in parallel threads, each with its own engine (its
own connections, as separate processes have) over overlapping files, on SQLite and on
PostgreSQL (a database of its own per test); a subprocess killed with SIGKILL mid-file; an
errors path under a regular file; an errors file on /dev/full (a full disk).

The files are built so the right answers are known by hand: import k of n reads ids
200k .. 200k+399 and then repeats its first 10 rows, so it reads 410 rows of which exactly
10 are duplicates, and together they store ids 0 .. 200(n+1)-1. The same id has the same
line in every file; the 6 reps, 40 accounts and 40 contacts are spelled three ways
("Nova Quinn", "nova quinn", "NOVA  QUINN"), which are one name each.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, inspect, select
from typer.testing import CliRunner

import paceline
from factories import migrated_sqlite_copy, postgres_engine
from paceline.cli import app
from paceline.config import Settings
from paceline.ingest import writers
from paceline.ingest.csvfile import ImportFileError
from paceline.ingest.importer import ImportOptions, ImportResult, import_csv
from paceline.store.engine import make_engine
from paceline.store.models import (
    Account,
    Activity,
    Contact,
    ImportRun,
    ImportSeen,
    Rep,
    utcnow,
)
from paceline.store.names import name_key
from paceline.store.partition import partition_by_month
from paceline.store.runs import process_start, this_host

pytestmark = pytest.mark.faults

REPS = ("Nova Quinn", "Omar Vale", "Pia Rask", "Quinn Otto", "Rhea Moss", "Sami Lund")
ACCOUNTS = tuple(f"Harbor Foods {n:02d}" for n in range(40))
CONTACTS = ("Ann Lee", "Bo Chan", "Cy Diaz", "Di Fox", "Ed Gray")
SPELLINGS: tuple[Callable[[str], str], ...] = (
    lambda name: name,
    str.lower,
    lambda name: "  ".join(name.upper().split()),
)
HEADER = "external_id,rep,kind,occurred_at,account,contact\n"
FIRST = dt.datetime(2026, 11, 2, 8, 0)  # before the test clock's today (2026-12-07)
REPEATED = 10


# --- databases and files ---------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql", "postgresql-partitioned"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database of each kind, by URL: each import makes its own engine.
    `postgresql-partitioned` has `activity` partitioned by month (store.partition), where
    the unique key that tells an import of another's row is kept by `activity_key`. Each is a
    copy of the run's migrated database (`factories.migrated_sqlite_copy`, `postgres_engine`):
    migrating for each test took seconds on PostgreSQL."""
    if request.param == "sqlite":
        migrated_sqlite_copy(request.getfixturevalue("tmp_path_factory"), tmp_path).dispose()
        yield f"sqlite:///{tmp_path / 'paceline.db'}"
        return
    for engine in postgres_engine(request):
        if request.param == "postgresql-partitioned":
            partition_by_month(engine, [dt.date(2026, 11, 1), dt.date(2026, 12, 1)])
        engine.dispose()
        yield engine.url.render_as_string(hide_password=False)


def line(
    i: int, rep: str | None = None, account: str | None = None, first: dt.datetime = FIRST
) -> str:
    """Row i: the same text in every file that has it."""
    spell = SPELLINGS[(i // 7) % 3]
    when = first + dt.timedelta(minutes=5 * i)
    return (
        f"A{i:05d},{rep or spell(REPS[i % 6])},call,{when:%Y-%m-%dT%H:%M},"
        f"{account or spell(ACCOUNTS[i % 40])},{spell(CONTACTS[i % 5])}\n"
    )


def write_rows(path: Path, rows: list[str], repeat: int = 0) -> Path:
    path.write_text(HEADER + "".join(rows + rows[:repeat]), encoding="utf-8")
    return path


def options(path: Path, batch_size: int = 25) -> ImportOptions:
    return ImportOptions(batch_size=batch_size, errors_path=path.with_suffix(".errors.csv"))


def import_in_parallel(url: str, settings: Settings, paths: list[Path]) -> list[ImportResult]:
    """Every file imported at once, each by its own thread and engine, started together."""
    start = threading.Barrier(len(paths))

    def one(path: Path) -> ImportResult:
        engine = make_engine(url)
        try:
            start.wait()
            return import_csv(engine, settings, path, "activities", options=options(path))
        finally:
            engine.dispose()

    with ThreadPoolExecutor(len(paths)) as pool:
        return list(pool.map(one, paths))  # an import that raised raises here


def count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def names(engine: Engine, column: object) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(column)).scalars())  # type: ignore[call-overload]


def runs(engine: Engine) -> dict[int, tuple[str, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(select(ImportRun.id, ImportRun.status, ImportRun.failure))
        return {run_id: (status, failure) for run_id, status, failure in rows}


# --- imports at once -------------------------------------------------------------------------


@pytest.mark.parametrize("imports", [2, 3])
def test_imports_at_once_create_each_name_once_and_count_their_own_rows(
    db_url: str, settings: Settings, tmp_path: Path, imports: int
) -> None:
    paths = [
        write_rows(tmp_path / f"part{k}.csv", [line(i) for i in range(200 * k, 200 * k + 400)], 10)
        for k in range(imports)
    ]
    results = import_in_parallel(db_url, settings, paths)

    stored = 200 * (imports + 1)
    for r in results:
        assert (r.status, r.failure, r.rejected, r.skipped, r.updated) == ("done", None, 0, 0, 0)
        assert r.read == 410 == r.accounted
        assert r.duplicate == REPEATED  # its own repeats; never a row the other import wrote
        assert r.inserted + r.unchanged == 400
    assert sum(r.inserted for r in results) == stored  # each row inserted by exactly one

    engine = make_engine(db_url)
    try:
        ids = names(engine, Activity.external_id)
        assert sorted(ids) == [f"A{i:05d}" for i in range(stored)]  # nothing lost or doubled
        rep_keys = sorted(name_key(n) for n in names(engine, Rep.name))
        assert rep_keys == sorted(name_key(n) for n in REPS)  # each once, however spelled
        account_keys = sorted(name_key(n) for n in names(engine, Account.name))
        assert account_keys == sorted(name_key(n) for n in ACCOUNTS)
        assert count(engine, Contact) == 40  # contact i % 5 at account i % 40: 40 pairs
        # Each name created by exactly one of the imports, and said so by that one.
        assert sum(len(r.new_reps) for r in results) == len(REPS)
        assert sum(r.new_accounts for r in results) == len(ACCOUNTS)
        assert sum(r.new_contacts for r in results) == 40
        assert count(engine, ImportSeen) == 0
        assert {status for status, _ in runs(engine).values()} == {"done"}
    finally:
        engine.dispose()


def test_rows_and_names_another_import_wrote_meanwhile_are_not_this_ones(
    db_url: str, settings: Settings, tmp_path: Path
) -> None:
    """Import A (ids 0-299, batches of 50) is between its first and second batch when import
    B stores ids 150-299 and a new rep and account, spelled as A spells them later: A finds
    them. Before, A counted B's 150 rows as duplicates (their ids were above A's starting
    watermark), and creating "Tess Ulm" again failed on the unique rep name."""
    tess = [line(i, rep="Tess Ulm", account="Zed Corp") for i in range(200, 300)]
    rows_a = [line(i) for i in range(200)] + tess
    path_a = write_rows(tmp_path / "a.csv", rows_a)
    path_b = write_rows(tmp_path / "b.csv", [*rows_a[150:], line(9000, "TESS  ULM", "ZED CORP")])
    during: list[ImportResult] = []

    def between_batches(done: int, total: int) -> None:
        if not during:
            other = make_engine(db_url)
            try:
                during.append(
                    import_csv(other, settings, path_b, "activities", options=options(path_b))
                )
            finally:
                other.dispose()

    engine = make_engine(db_url)
    try:
        a = import_csv(
            engine,
            settings,
            path_a,
            "activities",
            options=options(path_a, 50),
            progress=between_batches,
        )
        (b,) = during
        assert (b.read, b.inserted, b.unchanged, b.duplicate, b.rejected) == (151, 151, 0, 0, 0)
        assert b.new_reps == ["Tess Ulm"] and b.new_accounts == 1
        assert (a.read, a.inserted, a.unchanged, a.duplicate, a.rejected) == (300, 150, 150, 0, 0)
        assert sorted(name_key(n) for n in a.new_reps) == sorted(name_key(n) for n in REPS)
        assert a.new_accounts == 40
        assert count(engine, Activity) == 301
        assert [n for n in names(engine, Rep.name) if name_key(n) == "tess ulm"] == ["Tess Ulm"]
        assert [n for n in names(engine, Account.name) if name_key(n) == "zed corp"] == ["Zed Corp"]
    finally:
        engine.dispose()


def test_a_batch_that_meets_a_row_another_import_committed_after_its_look_up_is_written_again(
    db_url: str, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The narrowest race, made certain: another import commits row A00003 after this
    import's batch looked it up (missing) and before it inserts it. On PostgreSQL the insert
    is refused on the unique key; the batch is written again and finds the row: 9 inserted,
    1 unchanged, none rejected or duplicate (before, the refused batch was written row by
    row, or the driver's error escaped and the import crashed). On SQLite the batch holds
    the write lock from its look-up, so the other writer commits after it instead."""
    names_first = write_rows(tmp_path / "names.csv", [line(i) for i in range(100, 140)])
    path = write_rows(tmp_path / "a.csv", [line(i) for i in range(10)])
    other = write_rows(tmp_path / "other.csv", [line(3)])
    looked_up = writers._existing

    def look_up_then_race(*args: object, **kwargs: object) -> object:
        found = looked_up(*args, **kwargs)  # type: ignore[arg-type]
        if not racing:
            racing.append(threading.Thread(target=import_other))
            racing[0].start()
            racing[0].join(timeout=2)  # PostgreSQL: done; SQLite: waits for the lock
        return found

    def import_other() -> None:
        engine = make_engine(db_url)
        try:
            results.append(
                import_csv(engine, settings, other, "activities", options=options(other))
            )
        finally:
            engine.dispose()

    racing: list[threading.Thread] = []
    results: list[ImportResult] = []
    engine = make_engine(db_url)
    try:
        # Every name is stored first, so the batch takes no lock to create one.
        import_csv(engine, settings, names_first, "activities", options=options(names_first))
        monkeypatch.setattr(writers, "_existing", look_up_then_race)
        r = import_csv(engine, settings, path, "activities", options=options(path))
        racing[0].join()
        (o,) = results
        if db_url.startswith("postgresql"):
            assert (o.inserted, o.unchanged) == (1, 0)
            assert (r.read, r.inserted, r.unchanged, r.duplicate, r.rejected) == (10, 9, 1, 0, 0)
        else:
            assert (o.inserted, o.unchanged) == (0, 1)
            assert (r.read, r.inserted, r.unchanged, r.duplicate, r.rejected) == (10, 10, 0, 0, 0)
        assert count(engine, Activity) == 50
    finally:
        engine.dispose()


# --- imports that die ------------------------------------------------------------------------


def _seen(engine: Engine) -> int:
    return count(engine, ImportSeen)


def _wait_until(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _killed_cli_import(
    db_url: str, path: Path, folder: Path, started: Callable[[], bool]
) -> subprocess.Popen[bytes]:
    """`paceline import activities` of `path` in batches of 50, in a process of its own,
    killed with SIGKILL as soon as `started` holds (it must hold before the import ends)."""
    src = str(Path(paceline.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "paceline.cli", "--db", db_url, "import", "activities"]
    command += [str(path), "--batch-size", "50", "--errors", str(folder / "k.csv"), "--json"]
    process = subprocess.Popen(
        command, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        _wait_until(lambda: started() or process.poll() is not None, 120)
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(60)
    assert process.returncode == -signal.SIGKILL
    return process


@pytest.mark.slow
def test_a_killed_import_is_marked_interrupted_by_the_next_and_leaves_no_seen_rows(
    db_url: str, settings: Settings, tmp_path: Path
) -> None:
    """A re-import (matching stored rows, so it keeps `import_seen` rows) killed with
    SIGKILL after its first batches; the next import closes its run and deletes its rows."""
    rows = [line(i, first=dt.datetime(2026, 8, 3, 8)) for i in range(20_000)]  # to Oct 11
    path = write_rows(tmp_path / "big.csv", rows)
    engine = make_engine(db_url)
    try:
        first = import_csv(engine, settings, path, "activities", options=options(path, 5_000))
        assert first.inserted == 20_000
        process = _killed_cli_import(db_url, path, tmp_path, lambda: _seen(engine) > 0)
        left = {i: s for i, s in runs(engine).items() if s[0] == "running"}
        assert len(left) == 1 and _seen(engine) > 0  # the fault as it was seen
        (killed,) = left

        small = write_rows(
            tmp_path / "small.csv",
            [line(i, first=dt.datetime(2026, 1, 5)) for i in range(30_000, 30_010)],
        )
        after = import_csv(engine, settings, small, "activities", options=options(small))
        assert after.inserted == 10
        status, failure = runs(engine)[killed]
        assert status == "interrupted"
        assert failure is not None and f"({process.pid} on {this_host()})" in failure
        assert [s for s, _ in runs(engine).values()].count("running") == 0
        assert _seen(engine) == 0
        assert count(engine, Activity) == 20_010  # whole batches only: nothing lost or doubled
    finally:
        engine.dispose()


def _activity_indexes(engine: Engine) -> set[str]:
    """The activity table's indexes besides its unique key, as the database has them."""
    return {str(index["name"]) for index in inspect(engine).get_indexes("activity")}


def _partitioned(engine: Engine) -> bool:
    """Whether `activity` is partitioned (PostgreSQL, `store.partition`)."""
    if engine.dialect.name != "postgresql":
        return False
    with engine.connect() as conn:
        found = "SELECT relkind FROM pg_class WHERE oid = 'activity'::regclass"
        return conn.exec_driver_sql(found).scalar() == "p"


@pytest.mark.slow
def test_a_load_killed_between_dropping_and_building_its_indexes_loses_nothing(
    db_url: str, settings: Settings, tmp_path: Path
) -> None:
    """A load into the empty table drops its secondary indexes in its first batch and builds
    them at its end (`store.bulk.defer_indexes`); killed with SIGKILL in between, it leaves
    whole batches, a sound database, and a run the next import marks interrupted; that
    import builds the indexes before its first batch and completes the file, doubling
    nothing. (A partitioned table keeps its indexes throughout.)"""
    rows = [line(i, first=dt.datetime(2026, 8, 3, 8)) for i in range(20_000)]  # to Oct 11
    path = write_rows(tmp_path / "big.csv", rows)
    engine = make_engine(db_url)
    try:
        before = _activity_indexes(engine)
        assert len(before) >= 4
        _killed_cli_import(db_url, path, tmp_path, lambda: count(engine, Activity) > 0)
        engine.dispose()  # the inspector's cache: the schema as the killed load left it
        kept = count(engine, Activity)
        assert 0 < kept < 20_000 and kept % 50 == 0  # whole batches of 50 only
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        left_out = before - _activity_indexes(engine)
        assert bool(left_out) != _partitioned(engine)  # the fault as it is, until then

        again = import_csv(engine, settings, path, "activities", options=options(path, 5_000))
        assert (again.read, again.inserted, again.unchanged) == (20_000, 20_000 - kept, kept)
        assert count(engine, Activity) == 20_000
        engine.dispose()
        assert _activity_indexes(engine) == before
        assert [status for status, _ in runs(engine).values()] == ["interrupted", "done"]
        if left_out:
            built = ", ".join(sorted(left_out))
            assert again.notes.get(f"indexes an interrupted import left out, built: {built}")
    finally:
        engine.dispose()


def _ended_pid() -> int:
    """The id of a process that has ended (and been reaped)."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_a_run_is_interrupted_when_its_process_is_gone_here_or_its_heartbeat_stopped_elsewhere(
    db_url: str, settings: Settings, tmp_path: Path
) -> None:
    """Runs left "running", made by hand; the next import judges each. On this host by the
    process (gone, or its id reused by a later process: interrupted; alive however quiet:
    running); elsewhere by the heartbeat (quiet for over 10 minutes: interrupted)."""
    now = utcnow()  # the test clock
    here, me = this_host(), os.getpid()
    cases: dict[str, tuple[dict[str, object], str]] = {
        "gone here": ({"host": here, "pid": _ended_pid(), "heartbeat_at": now}, "interrupted"),
        "alive here, quiet": (
            {"host": here, "pid": me, "heartbeat_at": now - dt.timedelta(days=1)},
            "running",
        ),
        "quiet elsewhere": (
            {"host": "elsewhere", "pid": me, "heartbeat_at": now - dt.timedelta(minutes=11)},
            "interrupted",
        ),
        "beating elsewhere": (
            {"host": "elsewhere", "pid": me, "heartbeat_at": now - dt.timedelta(minutes=9)},
            "running",
        ),
        "from before heartbeats": ({"started_at": now - dt.timedelta(hours=1)}, "interrupted"),
    }
    started = process_start(me)
    if started is not None:  # Linux: a live process with the id, started at another time
        reused = {"host": here, "pid": me, "pid_started": started + 1, "heartbeat_at": now}
        cases["id reused here"] = (reused, "interrupted")
    engine = make_engine(db_url)
    try:
        ids: dict[str, int] = {}
        with engine.begin() as conn:
            for case, (values, _) in cases.items():
                ids[case] = conn.execute(
                    insert(ImportRun)
                    .values(entity="activities", source="csv", file_name=case, **values)
                    .returning(ImportRun.id)
                ).scalar_one()
                seen = [{"run_id": ids[case], "external_id": f"x{n}"} for n in range(3)]
                conn.execute(insert(ImportSeen), seen)
        small = write_rows(tmp_path / "small.csv", [line(i) for i in range(5)])
        import_csv(engine, settings, small, "activities", options=options(small))
        after = runs(engine)
        assert {case: after[ids[case]][0] for case in cases} == {
            case: expected for case, (_, expected) in cases.items()
        }
        with engine.connect() as conn:
            left = set(conn.execute(select(ImportSeen.run_id).distinct()).scalars())
        assert left == {ids["alive here, quiet"], ids["beating elsewhere"]}
    finally:
        engine.dispose()


@pytest.mark.parametrize("error", [RuntimeError("stop"), KeyboardInterrupt()])
def test_an_import_stopped_by_an_error_records_it_and_deletes_its_seen_rows(
    db_url: str, settings: Settings, tmp_path: Path, error: BaseException
) -> None:
    path = write_rows(tmp_path / "a.csv", [line(i) for i in range(300)])
    engine = make_engine(db_url)

    def stop(done: int, total: int) -> None:
        raise error

    try:
        import_csv(engine, settings, path, "activities", options=options(path, 100))
        with pytest.raises(type(error)):  # a re-import: its first batch matched 100 rows
            import_csv(
                engine, settings, path, "activities", options=options(path, 100), progress=stop
            )
        (status, failure) = list(runs(engine).values())[-1]
        assert status == "failed"
        assert failure is not None and failure.startswith(
            f"stopped by an error: {type(error).__name__}"
        )
        assert _seen(engine) == 0
    finally:
        engine.dispose()


# --- the errors file -------------------------------------------------------------------------


def _bad_and_good(path: Path) -> Path:
    """20 good rows, then 3 with an unknown kind (rejected after the last batch is written)."""
    good = [line(i) for i in range(20)]
    bad = [line(i).replace(",call,", ",carrier pigeon,") for i in range(20, 23)]
    return write_rows(path, good + bad)


@pytest.mark.parametrize("where", ["under a regular file", "an existing folder"])
def test_an_errors_file_that_cannot_be_written_stops_the_import_before_it_writes(
    sqlite_engine: Engine, settings: Settings, tmp_path: Path, where: str
) -> None:
    blocker = tmp_path / "blocker"
    if where == "under a regular file":
        blocker.write_text("not a folder", encoding="utf-8")
        errors = blocker / "rejected.csv"
    else:
        errors = blocker
        errors.mkdir()
    path = _bad_and_good(tmp_path / "rows.csv")
    with pytest.raises(ImportFileError, match=f"cannot write the errors file {errors}: "):
        import_csv(
            sqlite_engine,
            settings,
            path,
            "activities",
            options=ImportOptions(batch_size=10, errors_path=errors),
        )
    for model in (Activity, Rep, Account, ImportRun):  # nothing written, not even the run
        assert count(sqlite_engine, model) == 0

    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    assert runner.invoke(app, ["--db", db, "init"]).exit_code == 0
    result = runner.invoke(
        app,
        ["--db", db, "import", "activities", str(path), "--errors", str(errors)],
    )
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"error: cannot write the errors file {errors}: " + result.output.split(": ")[-1].strip()
    ]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (a full disk)")
def test_rejected_rows_that_cannot_be_written_fail_the_import(
    sqlite_engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """The three rejected rows come after the last batch; writing them hits a full disk. The
    import must not be recorded "done" (before, it was, and the rows were lost)."""
    path = _bad_and_good(tmp_path / "rows.csv")
    with pytest.raises(OSError) as raised:
        import_csv(
            sqlite_engine,
            settings,
            path,
            "activities",
            options=ImportOptions(batch_size=10, errors_path=Path("/dev/full")),
        )
    assert raised.value.errno == errno.ENOSPC
    ((status, failure),) = runs(sqlite_engine).values()
    assert status == "failed"
    assert failure is not None and "No space left on device" in failure
