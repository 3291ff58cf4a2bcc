"""Reading the audit log back: its entries, newest first, a page at a time (admins only,
through `services.audit.read`). Apart from `store.audit`, which every write loads, so that a
write defines none of these dataclasses (benchmarks/README.md, cli_startup)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select

from paceline.store.audit import MAX_PAGE
from paceline.store.models import AuditEntry


@dataclass(frozen=True)
class Entry:
    id: int
    at: dt.datetime
    actor: str
    user_id: int | None
    face: str
    entity: str
    entity_id: str | None
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True)
class EntryPage:
    items: list[Entry]
    total: int
    limit: int
    offset: int


def entries(
    engine: Engine,
    *,
    since: dt.datetime | None = None,
    user: str | None = None,
    entity: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> EntryPage:
    """Entries newest first, filtered by time (UTC, naive), actor name and entity. Each entry's
    time is read back as an aware UTC time, so every face writes the same instant the same way."""
    limit = max(1, min(limit, MAX_PAGE))
    query = select(*AuditEntry.__table__.columns)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if user is not None:
        query = query.where(AuditEntry.actor == user)
    if entity is not None:
        query = query.where(AuditEntry.entity == entity)
    with engine.connect() as conn:
        total = conn.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = conn.execute(
            query.order_by(AuditEntry.id.desc()).limit(limit).offset(max(0, offset))
        ).all()
    found = [
        Entry(
            int(r.id),
            r.at.replace(tzinfo=dt.UTC),
            r.actor,
            r.user_id,
            r.face,
            r.entity,
            r.entity_id,
            r.action,
            None if r.before is None else json.loads(r.before),
            None if r.after is None else json.loads(r.after),
        )
        for r in rows
    ]
    return EntryPage(found, int(total), limit, max(0, offset))
