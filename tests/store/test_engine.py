"""The engine's PostgreSQL connections: one the server has ended is replaced before it is
used (what `pool_pre_ping` guaranteed, now without a round trip per check-out), reads on
`read_connection` run in autocommit, and the pool's next writer still gets a transaction;
and `wait_for_replay`, what an analysis on a read replica waits for (on a real standby,
`pg_last_wal_replay_lsn()` passing the primary's WAL position, measured against a streaming
replica in benchmarks/replica.py, since a test suite cannot start one)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, text
from sqlalchemy.exc import DBAPIError

from factories import count_rows
from paceline.config import DatabaseSettings
from paceline.store.engine import (
    make_engine,
    read_connection,
    wait_for_replay,
    write_transaction,
    write_transaction_unchecked,
)
from paceline.store.models import Rep, Team


@pytest.fixture
def one_connection(pg_engine: Engine) -> Iterator[Engine]:
    """An engine of Paceline's on the same database whose pool holds a single connection, so
    every check-out below is the same pooled connection unless it was replaced."""
    url = pg_engine.url.render_as_string(hide_password=False)
    engine = make_engine(url, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(text("SELECT pg_backend_pid()")))


def test_a_pooled_connection_the_server_ended_is_replaced_before_use(
    pg_engine: Engine, one_connection: Engine
) -> None:
    first = _backend_pid(one_connection)
    assert _backend_pid(one_connection) == first  # pooled: the same server process again
    with pg_engine.connect() as admin:  # waits (up to 10 s) until the process has exited
        ended = admin.scalar(text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": first})
    assert ended is True

    with read_connection(one_connection) as conn:  # no error: a new connection
        second = int(conn.scalar(text("SELECT pg_backend_pid()")))
    assert second != first
    assert _backend_pid(one_connection) == second


def test_a_write_on_a_read_connection_commits_on_its_own(
    pg_engine: Engine, one_connection: Engine
) -> None:
    with read_connection(one_connection) as conn:
        conn.execute(insert(Team).values(name="East"))
        assert count_rows(pg_engine, Team) == 1  # seen by another connection, before the end


def test_the_pooled_connection_is_transactional_again_after_a_read_connection(
    one_connection: Engine,
) -> None:
    with read_connection(one_connection) as conn:
        assert conn.scalar(text("SELECT count(*) FROM team")) == 0
    with pytest.raises(RuntimeError, match="half-way"), write_transaction(one_connection) as conn:
        conn.execute(insert(Team).values(name="East"))
        raise RuntimeError("half-way")
    assert count_rows(one_connection, Team) == 0  # rolled back: nothing half-written

    with one_connection.connect() as conn:  # a plain connection is not in autocommit either
        conn.execute(insert(Team).values(name="West"))
    assert count_rows(one_connection, Team) == 0


def test_a_read_connection_whose_statement_failed_goes_back_transactional(
    one_connection: Engine,
) -> None:
    with pytest.raises(DBAPIError), read_connection(one_connection) as conn:
        conn.execute(text("SELECT 1 / 0"))
    with one_connection.connect() as conn:  # the same pooled connection: not in autocommit
        conn.execute(insert(Team).values(name="West"))
    assert count_rows(one_connection, Team) == 0


def test_a_pooled_connection_left_in_autocommit_is_replaced(one_connection: Engine) -> None:
    first = _backend_pid(one_connection)
    with one_connection.connect() as conn:  # as a read_connection that failed to switch back
        conn.connection.driver_connection.autocommit = True
    with one_connection.connect() as conn:
        assert int(conn.scalar(text("SELECT pg_backend_pid()"))) != first
        conn.execute(insert(Team).values(name="West"))
    assert count_rows(one_connection, Team) == 0


def test_a_database_that_is_not_a_standby_is_not_waited_for(
    pg_engine: Engine, sqlite_engine: Engine
) -> None:
    # pg_last_wal_replay_lsn() is NULL outside recovery: a second database standing in for a
    # replica is current at once, even with no time allowed.
    assert wait_for_replay(pg_engine, pg_engine, timeout=0) is True
    assert wait_for_replay(sqlite_engine, sqlite_engine, timeout=0) is True


def test_the_default_pool_keeps_every_connection_it_opens(tmp_path: Path) -> None:
    """Up to its ceiling, the default pool keeps the connections a burst opened: an overflow
    connection (beyond `pool_size`) is closed when returned to a full pool, so a server whose
    load hovers about `pool_size` opened and closed PostgreSQL backends all the time (with
    the old 10 + 10 only 10 of these 15 stayed open)."""
    settings = DatabaseSettings()
    assert settings.pool_size + settings.max_overflow == 20  # the ceiling did not move
    engine = make_engine(f"sqlite:///{tmp_path / 'pool.db'}", **settings.pool())
    try:
        held = [engine.connect() for _ in range(15)]
        for conn in held:
            conn.close()
        assert engine.pool.checkedin() == 15  # type: ignore[attr-defined]
    finally:
        engine.dispose()


def _foreign_keys(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one())


def test_an_unchecked_write_transaction_turns_the_row_checks_back_on(tmp_path: Path) -> None:
    """SQLite's foreign-key row checks are off inside `write_transaction_unchecked` only (a
    rep naming team 99, which no team is, goes in there and nowhere else), and the one
    pooled connection has them on again after a commit and after a rollback."""
    engine = make_engine(f"sqlite:///{tmp_path / 'fk.db'}", pool_size=1, max_overflow=0)
    Rep.__table__.create(engine)
    Team.__table__.create(engine)
    dangling = {"name": "Ana Ruiz", "role": "ae", "source": "test", "team_id": 99}
    with write_transaction_unchecked(engine) as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 0
        conn.execute(insert(Rep), dangling)
    assert _foreign_keys(engine) == 1
    with pytest.raises(RuntimeError, match="stop"), write_transaction_unchecked(engine) as conn:
        conn.execute(insert(Rep), {**dangling, "name": "Ben Ode"})
        raise RuntimeError("stop")
    assert _foreign_keys(engine) == 1
    assert count_rows(engine, Rep) == 1  # Ben's row rolled back, Ana's committed
    with pytest.raises(DBAPIError, match="FOREIGN KEY"), write_transaction(engine) as conn:
        conn.execute(insert(Rep), {**dangling, "name": "Cleo Park"})
    engine.dispose()
