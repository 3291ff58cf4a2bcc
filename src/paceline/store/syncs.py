"""Live CRM syncs: the only module that reads or writes `sync_run` and `sync_cursor`.

A sync records itself before it fetches anything (so a sync that dies shows as `running`,
then as failed by the next one), and moves its cursors in the same transaction that records
it finished: either every cursor of the run moves with the `done`, or none does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import Engine, delete, insert, select, update

from paceline.store.models import SyncCursor, SyncRun, utcnow

FAILURE_LENGTH = 1000
COUNTS = ("rows_read", "inserted", "updated", "unchanged", "duplicate", "skipped", "rejected")


SyncState = Literal["running", "done", "failed"]


def _doc(text: str) -> dict[str, str]:
    """A field's description, which the API publishes (`serialize.json_model`)."""
    return {"description": text}


@dataclass
class SyncStatus:
    """One source as the status view shows it: its last run and its cursors."""

    source: str = field(metadata=_doc("The connector, as `paceline sync SOURCE` names it."))
    run_id: int | None = field(default=None, metadata=_doc("Its last run; null: never synced."))
    status: SyncState | None = field(
        default=None, metadata=_doc("How its last sync ended; null: never synced.")
    )
    full: bool = field(default=False, metadata=_doc("The last sync fetched everything (--full)."))
    started_at: dt.datetime | None = field(
        default=None, metadata=_doc("When its last sync started (UTC).")
    )
    finished_at: dt.datetime | None = field(
        default=None, metadata=_doc("When its last sync ended (UTC); null while it runs.")
    )
    failure: str | None = field(default=None, metadata=_doc("Why the last sync failed."))
    fetched: int = field(default=0, metadata=_doc("Records the API sent in the last sync."))
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicate: int = 0
    skipped: int = 0
    rejected: int = 0
    cursors: dict[str, str] = field(
        default_factory=dict,
        metadata=_doc("Per object, the latest modification time fetched (the API's format)."),
    )
    last_done_at: dt.datetime | None = field(
        default=None, metadata=_doc("When its last successful sync ended (UTC).")
    )


def start_run(engine: Engine, source: str, full: bool) -> int:
    """Record a sync as running; a run of this source still `running` (its process died)
    is closed as failed first, so the status never shows two."""
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(
            update(SyncRun)
            .where(SyncRun.source == source, SyncRun.status == "running")
            .values(
                status="failed",
                finished_at=now,
                failure="ended without finishing (its process stopped); a later sync started",
            )
        )
        values = {c: 0 for c in (*COUNTS, "fetched", "requests")}
        run_id = conn.execute(
            insert(SyncRun)
            .values(source=source, full=full, started_at=now, status="running", **values)
            .returning(SyncRun.id)
        ).scalar_one()
    return int(run_id)


def cursors(engine: Engine, source: str) -> dict[str, str]:
    """object -> cursor of one source (empty: never synced, every object fetched whole)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(SyncCursor.object, SyncCursor.cursor).where(SyncCursor.source == source)
        ).all()
    return {row.object: row.cursor for row in rows}


def finish_run(
    engine: Engine,
    run_id: int,
    source: str,
    counts: dict[str, int],
    moved: dict[str, str],
    failure: str | None,
) -> None:
    """Record how a sync ended with its counts; when it succeeded (no failure), move the
    cursors in `moved` in the same transaction."""
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(
            update(SyncRun)
            .where(SyncRun.id == run_id)
            .values(
                status="failed" if failure else "done",
                finished_at=now,
                failure=failure[:FAILURE_LENGTH] if failure else None,
                **counts,
            )
        )
        if failure:
            return
        for obj, mark in moved.items():
            conn.execute(
                delete(SyncCursor).where(SyncCursor.source == source, SyncCursor.object == obj)
            )
            conn.execute(
                insert(SyncCursor).values(
                    source=source, object=obj, cursor=mark, run_id=run_id, updated_at=now
                )
            )


def statuses(engine: Engine, sources: list[str]) -> list[SyncStatus]:
    """Each source's last run and cursors, in the order given, plus any source the database
    knows that is not in the list (a connector since removed)."""
    with engine.connect() as conn:
        known = list(conn.execute(select(SyncRun.source).distinct()).scalars())
        every = [*sources, *sorted(set(known) - set(sources))]
        found: list[SyncStatus] = []
        for source in every:
            status = SyncStatus(source)
            last = conn.execute(
                select(SyncRun.__table__)
                .where(SyncRun.source == source)
                .order_by(SyncRun.started_at.desc(), SyncRun.id.desc())
                .limit(1)
            ).first()
            if last is not None:
                row = last._mapping
                status.run_id, status.status, status.full = row["id"], row["status"], row["full"]
                status.started_at, status.finished_at = row["started_at"], row["finished_at"]
                status.failure, status.fetched = row["failure"], row["fetched"]
                for name in COUNTS:
                    setattr(status, name, row[name])
            status.last_done_at = conn.execute(
                select(SyncRun.finished_at)
                .where(SyncRun.source == source, SyncRun.status == "done")
                .order_by(SyncRun.finished_at.desc())
                .limit(1)
            ).scalar_one_or_none()
            marks = conn.execute(
                select(SyncCursor.object, SyncCursor.cursor)
                .where(SyncCursor.source == source)
                .order_by(SyncCursor.object)
            ).all()
            status.cursors = {row.object: row.cursor for row in marks}
            found.append(status)
    return found


def add_fetched(engine: Engine, run_id: int, fetched: int, requests: int) -> None:
    """Record what the fetch brought (before the imports start), for a run that then dies."""
    with engine.begin() as conn:
        conn.execute(
            update(SyncRun).where(SyncRun.id == run_id).values(fetched=fetched, requests=requests)
        )
