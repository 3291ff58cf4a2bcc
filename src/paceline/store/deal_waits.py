"""Activities waiting for their deal: linked by the deal's import, never by a re-pull.

An activity may be imported before the deal it names (the deal was refused, or created
after the deals were fetched). It is kept without its deal link and counted in a warning.
Importing the activities again links it, but `paceline sync` pulls only records changed
since the last sync: an activity that did not change is never pulled again, and stayed
unlinked while the deal, once corrected, was. The activity writer records each such row
here (`hold`), and the deal writer links the rows waiting for the deals it writes
(`link_arrived`), in the same transaction as the deals.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, exists, insert, select, update

from paceline.store.models import Activity, Deal, DealWait, utcnow
from paceline.store.names import chunks

# (activity's source id, the deal's source id it names, its fingerprint once linked)
Wait = tuple[str, str, str | None]


def any_waiting(conn: Connection, source: str) -> bool:
    """Whether some activity of `source` waits for its deal (most imports: none)."""
    return bool(conn.execute(select(exists().where(DealWait.source == source))).scalar())


def hold(conn: Connection, source: str, batch_refs: Iterable[str], waits: list[Wait]) -> None:
    """Record what the activities of a batch (`batch_refs`, their source ids) wait for now:
    `waits`, and nothing for the others (their deal was found, or they name none: a wait
    left from an earlier import would link them to a deal they no longer name)."""
    refs = sorted({ref for ref in batch_refs if ref})
    for chunk in chunks(refs):
        conn.execute(
            delete(DealWait).where(DealWait.source == source, DealWait.activity_ref.in_(chunk))
        )
    latest = {activity: (deal, file_hash) for activity, deal, file_hash in waits if activity}
    if latest:
        rows = [
            {"source": source, "activity_ref": a, "deal_ref": d, "file_hash": h}
            for a, (d, h) in sorted(latest.items())
        ]
        conn.execute(insert(DealWait), rows)


def link_arrived(conn: Connection, source: str, deal_refs: Sequence[str], run_id: Any) -> int:
    """Link the activities of `source` waiting for the deals `deal_refs` (now stored) to
    them, with the fingerprint their own import would store; the number linked."""
    found: list[tuple[str, Any, str | None]] = []
    for chunk in chunks(sorted({ref for ref in deal_refs if ref})):
        query = (
            select(DealWait.activity_ref, Deal.id, DealWait.file_hash)
            .join(Deal, and_(Deal.source == DealWait.source, Deal.external_id == DealWait.deal_ref))
            .where(DealWait.source == source, DealWait.deal_ref.in_(chunk))
        )
        found.extend(
            (activity, deal_id, file_hash) for activity, deal_id, file_hash in conn.execute(query)
        )
    if not found:
        return 0
    waiting = {activity: (deal_id, file_hash) for activity, deal_id, file_hash in found}
    rows = _activity_rows(conn, source, waiting, run_id)
    if rows:
        statement = (
            update(Activity)
            .where(Activity.id == bindparam("_id"))
            .values(
                deal_id=bindparam("_deal"),
                row_hash=bindparam("_hash"),
                updated_at=bindparam("_at"),
                import_run_id=bindparam("_run"),
            )
        )
        conn.execute(statement, rows)
    for chunk in chunks(sorted(waiting)):
        conn.execute(
            delete(DealWait).where(DealWait.source == source, DealWait.activity_ref.in_(chunk))
        )
    return len(rows)


def _activity_rows(
    conn: Connection, source: str, waiting: dict[str, tuple[Any, str | None]], run_id: Any
) -> list[dict[str, Any]]:
    """The update of each stored activity in `waiting`, in id order (two imports updating
    the same rows lock them in the same order: no deadlock)."""
    now = utcnow()
    rows = []
    for chunk in chunks(sorted(waiting)):
        query = select(Activity.id, Activity.external_id, Activity.row_hash).where(
            Activity.source == source, Activity.external_id.in_(chunk)
        )
        for activity_id, ref, stored_hash in conn.execute(query):
            deal_id, file_hash = waiting[str(ref)]
            rows.append(
                {
                    "_id": activity_id,
                    "_deal": deal_id,
                    "_hash": file_hash or stored_hash,
                    "_at": now,
                    "_run": run_id,
                }
            )
    return sorted(rows, key=lambda row: row["_id"])
