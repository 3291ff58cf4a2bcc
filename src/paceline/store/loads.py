"""Completing what a bulk load killed before its end left out.

A load into an empty `activity` table drops its secondary indexes and, on PostgreSQL, adds
its foreign keys back NOT VALID; it builds and validates them when it ends, done or failed
(`store.bulk.defer_indexes`). Killed on the way (SIGKILL, a power cut), it leaves whole
batches, but the table without those indexes: every answer stays right, only slower. The
next import completes the schema before its first batch, and `paceline init` does on
demand, both only when no import that may be that load is still running.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from paceline.store.bulk import build_indexes, validate_references
from paceline.store.engine import write_transaction
from paceline.store.models import Activity
from paceline.store.runs import any_running, sweep_interrupted


@dataclass(frozen=True)
class Completed:
    """What was completed: the indexes built and the foreign keys validated, by name."""

    indexes: tuple[str, ...] = ()
    references: tuple[str, ...] = ()


def complete_interrupted_load(conn: Connection) -> Completed:
    """On the caller's write transaction, after the runs whose process is gone are marked
    interrupted (`store.runs.sweep_interrupted`): build the indexes and validate the
    references a killed load left out, unless an import is still running (it may be that
    load, which builds them itself when it ends)."""
    if any_running(conn):
        return Completed()
    table = Activity.__table__
    return Completed(build_indexes(conn, table), validate_references(conn, table))


def complete_interrupted_loads(engine: Engine) -> Completed:
    """`complete_interrupted_load` in a transaction of its own, the dead runs swept first."""
    with write_transaction(engine) as conn:
        sweep_interrupted(conn)
        return complete_interrupted_load(conn)
