"""The databases a test run makes on the PostgreSQL server: their names, the run's lock, the
copies made ahead and the drops made in the background.

Apart from `factories` because `tests/conftest.py`'s hooks need them in every process of a run,
the xdist controller included, which runs no test: importing `factories` (the application,
SciPy, the demo) cost the controller some 2.4 CPU s of each run to read four functions. This
module imports psycopg and the standard library only; `factories.pg_copy` makes engines on the
copies.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import psycopg

PG_ADMIN_URL = os.environ.get("PACELINE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
_DRIVER = re.compile(r"^postgresql\+\w+://")


def pg_conninfo(url: str) -> str:
    """A SQLAlchemy URL as psycopg's connection string: the same URL without its driver
    (`postgresql+psycopg://` -> `postgresql://`), which libpq reads as it is."""
    return _DRIVER.sub("postgresql://", url)


# Every database the suite makes on the server is named `paceline_run_<run>_<kind>_<random>`,
# <run> being the test run's id (conftest.py sets it for the run and its xdist workers). The
# run's first process holds a PostgreSQL advisory lock keyed by that id for as long as it lives
# (`hold_run_lock`): the server lets go of it when the connection closes, however the process
# ended. The run drops its databases when it ends (`drop_run_databases`), and at start-up it
# drops those of every other run whose lock is free (`sweep_stale_databases`): such a run was
# killed midway (Ctrl-C, a CI time-out) before its teardown could. A run still going holds its
# lock, and its databases are left alone.
RUN_ID = "PACELINE_TEST_RUN"
RUN_DB_PREFIX = "paceline_run_"
_RUN_DB_NAME = re.compile(r"paceline_run_([0-9a-f]{12})_.+")
_RUN_LOCK_SPACE = 0x5041 << 48  # the test runs' advisory locks, apart from any other's


def run_lock_key(run: str) -> int:
    """The advisory lock (a bigint) the test run `run` (12 hex digits) holds while it lives."""
    return _RUN_LOCK_SPACE | int(run, 16)


def run_database_name(kind: str, run: str | None = None) -> str:
    """A new database name of this test run (or of `run`): `paceline_run_<run>_<kind>_<random>`."""
    return f"{RUN_DB_PREFIX}{run or os.environ[RUN_ID]}_{kind}_{uuid.uuid4().hex[:10]}"


def admin_connection(connect_timeout: int = 30) -> psycopg.Connection:
    """A connection to the server's admin database. Patient: the copies and drops made in
    background threads (three workers, two threads each, beside the dated days) once waited
    more than 3 s for the server to accept a connection on an otherwise idle machine. A server
    that is not there refuses at once, whatever the time-out."""
    return psycopg.connect(
        pg_conninfo(PG_ADMIN_URL), autocommit=True, connect_timeout=connect_timeout
    )


def hold_run_lock(run: str) -> psycopg.Connection | None:
    """A connection holding the run `run`'s advisory lock until it is closed (when the process
    ends, at the latest); None when no server answers."""
    try:
        conn = admin_connection(connect_timeout=3)
    except psycopg.OperationalError:
        return None
    conn.execute("SELECT pg_advisory_lock(%s)", [run_lock_key(run)])
    return conn


def _run_databases(conn: psycopg.Connection) -> dict[str, list[str]]:
    """The suite's databases on the server, by the id of the run that made them."""
    runs: dict[str, list[str]] = {}
    found = conn.execute(
        "SELECT datname FROM pg_database WHERE datname LIKE 'paceline\\_run\\_%' ORDER BY 1"
    )
    for (name,) in found:
        match = _RUN_DB_NAME.fullmatch(name)
        if match:
            runs.setdefault(match.group(1), []).append(name)
    return runs


def drop_databases(names: Sequence[str]) -> None:
    """Drop the databases `names` (FORCE: a dead run's worker may still hold a connection)
    all at once, each on a connection of its own: on PostgreSQL 15 each DROP DATABASE waits
    for a checkpoint, and drops waiting together share one. Four drops took 5.3 and 8.2 s one
    after another, 0.43 s at once (2026-12-07, the shared machine under a load of 5); the
    run's last drops (its templates) waited so with both cores idle."""
    if names:
        with ThreadPoolExecutor(min(len(names), 16), thread_name_prefix="pg-drop-all") as pool:
            list(pool.map(_drop, names))


def sweep_stale_databases(own_run: str) -> list[str]:
    """Drop the databases of every test run but `own_run` whose advisory lock is free (it was
    killed before its teardown ran); the names dropped. A run that holds its lock is alive,
    and its databases stay."""
    try:
        conn = admin_connection(connect_timeout=3)
    except psycopg.OperationalError:
        return []
    with conn:
        stale: dict[str, list[str]] = {}
        for run, names in _run_databases(conn).items():
            if run == own_run:
                continue
            free = conn.execute("SELECT pg_try_advisory_lock(%s)", [run_lock_key(run)])
            if free.fetchone() == (True,):
                stale[run] = names  # else its run is alive
        try:  # the locks held while dropping: a run cannot start with such an id meanwhile
            dropped = [name for names in stale.values() for name in names]
            drop_databases(dropped)  # every killed run's at once
        finally:
            for run in stale:
                conn.execute("SELECT pg_advisory_unlock(%s)", [run_lock_key(run)])
    return dropped


def drop_run_databases(run: str) -> None:
    """Drop the databases this test run made (none when no server answers)."""
    try:
        conn = admin_connection()
    except psycopg.OperationalError:
        return
    with conn:
        names = _run_databases(conn).get(run, [])
    drop_databases(names)


# A copy of the migrated template takes half a second to make (CREATE DATABASE ... TEMPLATE
# writes its 9 MB through the write-ahead log), nearly all of it spent waiting on the server:
# every test on PostgreSQL waited that long in its set-up while its core stood idle. Each
# process makes the next copy of a template in a thread while the current test runs, and drops
# a used copy the same way, as every database a test made (`drop_soon`); `settle_pg_copies`
# waits for that work when the session ends. The copies carry the run's id, so
# `drop_run_databases` also drops any a crashed worker left behind.
# Two threads and two copies ahead: a quick test on PostgreSQL ends before one copy is made,
# and the server makes two copies at once in about the time of one (4 in 0.78 s, not 1.54).
# The drops have threads of their own, six of them. On PostgreSQL 15 each DROP DATABASE waits
# for a checkpoint, and a checkpoint's fsyncs took 3.4 s on average on the shared machine
# (pg_stat_bgwriter, 2026-12-06, 939 checkpoints requested): on the copies' two threads each
# drop held up the copies queued behind it, and set-ups waited up to 131 s for a copy
# (tests/services and tests/channels on PostgreSQL, -n 0). Drops waiting at the same time
# share the next checkpoint, so six threads drain a backlog of drops six at a time.
_AHEAD = ThreadPoolExecutor(2, thread_name_prefix="pg-copies")
_DROPPER = ThreadPoolExecutor(6, thread_name_prefix="pg-drops")
_COPIES_AHEAD = 2
_next_copies: dict[str, list[Future[str]]] = {}
_drops: list[Future[None]] = []


def _new_copy(template: str) -> str:
    name = run_database_name("copy")
    with admin_connection() as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return name


def _drop(name: str) -> None:
    with admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def next_copy(template: str, *, ahead: bool = False) -> str:
    """The name of a new database copied from `template`: one made ahead when there is one.
    `ahead`: the next copies of `template` are started now, for templates many tests copy
    (copies made ahead and never taken are dropped by `settle_pg_copies`)."""
    queued = _next_copies.setdefault(template, [])
    name = queued.pop(0).result() if queued else _new_copy(template)
    while ahead and len(queued) < _COPIES_AHEAD:
        queued.append(_AHEAD.submit(_new_copy, template))
    return name


def drop_soon(name: str) -> None:
    """Drop the database `name` in the background (FORCE: a connection left open, such as a
    killed server's, does not stop it); `settle_pg_copies` waits for it at the session's end,
    and a drop that failed fails there."""
    _drops.append(_DROPPER.submit(_drop, name))


def settle_pg_copies() -> None:
    """Drop the copies made ahead that no test took and wait for every drop; a drop that
    failed fails here, as it did in the test's teardown before drops ran in the background."""
    for queued in _next_copies.values():
        _drops.extend(_DROPPER.submit(_drop, made.result()) for made in queued)
    _next_copies.clear()
    done, _drops[:] = list(_drops), []
    for drop in done:
        drop.result()
