"""The audit log: who changed what, when, from which face, before and after.

Written only by the write paths (`paceline.services`, through the store functions they call,
and `ingest` once per import run), inside the transaction of the change itself: a change that
rolls back leaves no entry, and no face can make a change without one. `before` and `after`
hold the changed fields only, as JSON; a creation has no `before`, a deletion no `after`.
Secret columns (password hashes, token digests, CSRF tokens) are never read into it.

Reading the log back (its entries and their pages) is `store.audit_log`: every write loads
this module, `paceline log` included, and Python 3.11 compiles each dataclass's methods when
the class is defined (about 5 M instructions a class; benchmarks/README.md, cli_startup).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Connection, FromClause, insert, select

from paceline.store.models import AuditEntry, utcnow

Face = Literal["cli", "api", "web", "import"]
FACES: tuple[Face, ...] = ("cli", "api", "web", "import")
ENTITIES = ("activity", "deal", "target", "user", "rep", "token", "import")
SECRETS = frozenset({"password_hash", "token_hash", "csrf_token"})
NOT_CHANGES = frozenset({"updated_at", "last_used_at"})
MAX_PAGE = 500


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a user name (or "operator", "import N"), their id, the face."""

    name: str
    user_id: int | None
    face: Face


def _plain(value: Any) -> Any:
    """A column value as JSON can hold it."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def snapshot(conn: Connection, table: FromClause, row_id: int) -> dict[str, Any] | None:
    """A row's columns (no secrets), as JSON values; None when there is no such row."""
    columns = [c for c in table.columns if c.name not in SECRETS]
    row = conn.execute(select(*columns).where(table.c.id == row_id)).first()
    if row is None:
        return None
    return {k: _plain(v) for k, v in row._mapping.items()}


def changed(
    before: dict[str, Any] | None, after: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Only the fields that differ (all of them for a creation or a deletion)."""
    if before is None or after is None:
        return before, after
    keys = [k for k in after if k not in NOT_CHANGES and before.get(k) != after[k]]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def write(
    conn: Connection,
    actor: Actor,
    entity: str,
    entity_id: int | str | None,
    action: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Add one entry, in the caller's transaction."""
    leaked = SECRETS & (set(before or {}) | set(after or {}))
    assert not leaked, f"secret fields in an audit entry: {sorted(leaked)}"
    conn.execute(
        insert(AuditEntry).values(
            at=utcnow(),
            actor=actor.name[:160],
            user_id=actor.user_id,
            face=actor.face,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            action=action,
            before=None if before is None else json.dumps(before, sort_keys=True),
            after=None if after is None else json.dumps(after, sort_keys=True),
        )
    )


def write_change(
    conn: Connection,
    actor: Actor | None,
    table: FromClause,
    entity: str,
    row_id: int,
    action: str,
    before: dict[str, Any] | None,
) -> None:
    """Entry for a row changed in this transaction: `before` is its snapshot taken before the
    change (None for a creation); the after is read now. Nothing when `actor` is None (only
    tests and internal maintenance write without one) or when nothing changed."""
    if actor is None:
        return
    after = snapshot(conn, table, row_id)
    old, new = changed(before, after)
    if old == {} and new == {}:
        return
    write(conn, actor, entity, row_id, action, old, new)
