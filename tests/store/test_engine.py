"""`store.engine.wait_for_replay`: what an analysis on a read replica waits for.

On a real standby it waits for `pg_last_wal_replay_lsn()` to pass the primary's WAL position
(measured against a streaming replica in benchmarks/replica.py; a test suite cannot start
one). Here: it does not wait where there is nothing to wait for.
"""

from __future__ import annotations

from sqlalchemy import Engine

from paceline.store.engine import wait_for_replay


def test_a_database_that_is_not_a_standby_is_not_waited_for(
    pg_engine: Engine, sqlite_engine: Engine
) -> None:
    # pg_last_wal_replay_lsn() is NULL outside recovery: a second database standing in for a
    # replica is current at once, even with no time allowed.
    assert wait_for_replay(pg_engine, pg_engine, timeout=0) is True
    assert wait_for_replay(sqlite_engine, sqlite_engine, timeout=0) is True
