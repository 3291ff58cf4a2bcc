"""The suite's PostgreSQL databases: a test run killed midway leaves its databases on the
server, and the next run drops them, but never those of a run still going.

Each run's databases are named for it (`paceline_run_<run>_...`) and its first process holds
an advisory lock keyed by the run's id for as long as it lives; the server lets go of the lock
when that process's connection closes, however it ended (`run_databases.sweep_stale_databases`).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from alembic import command
from sqlalchemy import Engine

import factories
import run_databases
from factories import sqlite_content, sqlite_file_closed
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade
from run_databases import (
    PG_ADMIN_URL,
    RUN_ID,
    drop_databases,
    hold_run_lock,
    pg_conninfo,
    run_database_name,
    run_lock_key,
    sweep_stale_databases,
)


@pytest.fixture
def pg_admin() -> Iterator[psycopg.Connection]:
    """A connection to the server's admin database (`pg_`: left out of `make test-fast`)."""
    try:
        conn = psycopg.connect(pg_conninfo(PG_ADMIN_URL), autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL server answers at {PG_ADMIN_URL}: {exc}".strip())
    with conn:
        yield conn


def _databases(conn: psycopg.Connection, names: list[str]) -> set[str]:
    found = conn.execute("SELECT datname FROM pg_database WHERE datname = ANY(%s)", [names])
    return {name for (name,) in found}


def test_a_killed_runs_databases_are_dropped_and_a_live_runs_kept(
    pg_admin: psycopg.Connection,
) -> None:
    """Three runs planted on the server: one killed (no lock held), one alive (its lock held
    on a connection of its own, as its first process holds it) and this run itself. The
    sweep drops only the killed run's databases; the live run's lock is still held after."""
    killed, alive = uuid.uuid4().hex[:12], uuid.uuid4().hex[:12]
    own = os.environ[RUN_ID]
    planted = {
        "killed": [run_database_name("tpl", killed), run_database_name("copy", killed)],
        "alive": [run_database_name("copy", alive)],
        "own": [run_database_name("sweep", own)],
    }
    everything = [name for names in planted.values() for name in names]
    live_lock = hold_run_lock(alive)
    assert live_lock is not None
    try:
        for name in everything:
            pg_admin.execute(f'CREATE DATABASE "{name}"')
        dropped = sweep_stale_databases(own)  # and any other killed run's, which is right
        assert set(planted["killed"]) <= set(dropped)
        assert not set(dropped) & {*planted["alive"], *planted["own"]}
        assert _databases(pg_admin, everything) == {*planted["alive"], *planted["own"]}
        taken = pg_admin.execute("SELECT pg_try_advisory_lock(%s)", [run_lock_key(alive)])
        assert taken.fetchone() == (False,)  # the sweep did not take or free the live run's lock

        live_lock.close()  # that run ends without dropping its databases: killed, now
        live_lock = None
        assert set(planted["alive"]) <= set(sweep_stale_databases(own))
        assert _databases(pg_admin, everything) == set(planted["own"])
    finally:
        if live_lock is not None:
            live_lock.close()
        drop_databases(everything)


def test_this_run_holds_its_lock(pg_admin: psycopg.Connection) -> None:
    """The run under way holds its own lock (taken at start-up by conftest.py), so another
    run's sweep leaves this run's databases alone."""
    taken = pg_admin.execute("SELECT pg_try_advisory_lock(%s)", [run_lock_key(os.environ[RUN_ID])])
    assert taken.fetchone() == (False,)


def test_database_names_carry_the_run_and_fit_postgresql() -> None:
    run = "0123456789ab"
    name = run_database_name("session_gw12", run)
    assert name.startswith(f"paceline_run_{run}_session_gw12_")
    assert len(name) <= 63  # PostgreSQL's limit: a longer name is cut, and would not match


def test_databases_are_dropped_all_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each drop waits for a checkpoint, which drops waiting together share: `drop_databases`
    has every drop under way at the same time. A barrier stands in for the server: it lets
    the three drops through only once all three wait at it (one after another, the first
    would wait alone until the barrier gave up)."""
    barrier = threading.Barrier(3, timeout=60)
    dropped: list[str] = []

    def drop(name: str) -> None:
        barrier.wait()
        dropped.append(name)

    monkeypatch.setattr(run_databases, "_drop", drop)
    drop_databases(["a", "b", "c"])
    assert sorted(dropped) == ["a", "b", "c"]


def _synchronous_commit(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.exec_driver_sql("SHOW synchronous_commit").scalar())


def test_a_tests_copy_commits_without_waiting_for_the_disk(
    request: pytest.FixtureRequest, pg_admin: psycopg.Connection
) -> None:
    """The `engine` fixture's PostgreSQL copies commit with synchronous_commit off (a commit
    that waits for the write-ahead log's flush took ten times as long on the shared machine),
    every connection of the engine's pool alike, while the server's own setting, which the
    admin connection sees, stays on."""
    for engine in factories.postgres_engine(request):
        with engine.connect() as first, engine.connect() as second:
            seen = [
                str(conn.exec_driver_sql("SHOW synchronous_commit").scalar())
                for conn in (first, second)  # two connections: the option is every one's
            ]
        assert seen == ["off", "off"]
    assert pg_admin.execute("SHOW synchronous_commit").fetchone() == ("on",)


def test_pg_engine_keeps_the_servers_commits(pg_engine: Engine) -> None:
    """`pg_engine` is for tests of the server's behaviour: its commits wait for the disk, as
    the server is set (the import's end relies on that, tests/ingest/test_import_pg_load.py)."""
    assert _synchronous_commit(pg_engine) == "on"


def test_an_empty_sqlite_database_upgraded_gets_what_the_migrations_make(
    tmp_path: Path, replayed_migrations: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`paceline init` and the builders upgrade new SQLite files in the tests; they get the
    run's migrated database replayed (`factories.replayed_head_upgrades`), which must be what
    running the migrations from nothing makes: the same tables, columns, constraints, indexes
    and rows."""
    replayed = make_engine(f"sqlite:///{tmp_path / 'replayed.db'}")
    migrated = make_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
    upgrade(replayed)
    with monkeypatch.context() as patched:
        patched.setattr(command, "upgrade", replayed_migrations)  # the real one
        upgrade(migrated)
    contents = []
    for engine in (replayed, migrated):
        sqlite_file_closed(engine)
        with contextlib.closing(sqlite3.connect(engine.url.database or "")) as conn:
            contents.append(sqlite_content(conn))
    # Letter for letter and in order: the migrations write the same text on every run
    # (`paceline.store.migration_batch`; tests/store/test_migration_batch.py).
    assert contents[0].statements == contents[1].statements
    assert contents[0].rows == contents[1].rows
    assert len(contents[0].statements) > 30
    assert [table for table, _ in contents[0].rows] == ["alembic_version"]
