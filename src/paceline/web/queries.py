"""The few reads and writes the pages need beyond the analyses, ingest and `store.records`.

Reps and teams by id, and the activity list (through `store.records`, in the user's scope
as `paceline.access` draws it). Route functions and templates never hold SQL; this module is
the pages' door to the tables for reading, and it knows nothing of HTTP. Writes of an
activity: `paceline.services.activities`.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select

from paceline.access import scope_of
from paceline.auth.access import Principal
from paceline.store.models import Account, Activity, Rep, Team, utcnow
from paceline.store.names import name_key
from paceline.store.records import (
    ActivityFilter,
    ActivityRecord,
    get_activity,
    list_activities,
)

# --- people ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RepRef:
    id: int
    name: str
    role: str
    team_id: int | None
    team: str | None


@dataclass(frozen=True)
class TeamRef:
    id: int
    name: str


def _rep_query() -> Any:
    return (
        select(Rep.id, Rep.name, Rep.role, Rep.team_id, Team.name)
        .outerjoin(Team, Team.id == Rep.team_id)
        .order_by(Rep.name)
    )


def rep_ref(engine: Engine, rep_id: int) -> RepRef | None:
    with engine.connect() as conn:
        row = conn.execute(_rep_query().where(Rep.id == rep_id)).first()
    return RepRef(*row) if row else None


def all_reps(engine: Engine) -> list[RepRef]:
    with engine.connect() as conn:
        return [RepRef(*row) for row in conn.execute(_rep_query())]


def visible_reps(engine: Engine, principal: Principal) -> list[RepRef]:
    """The reps whose scorecards and activities this user may read."""
    return [r for r in all_reps(engine) if principal.can_read_rep(r.id, r.team_id)]


def teams(engine: Engine) -> list[TeamRef]:
    with engine.connect() as conn:
        return [
            TeamRef(*row) for row in conn.execute(select(Team.id, Team.name).order_by(Team.name))
        ]


def team_by_id(engine: Engine, team_id: int | None) -> TeamRef | None:
    if team_id is None:
        return None
    with engine.connect() as conn:
        row = conn.execute(select(Team.id, Team.name).where(Team.id == team_id)).first()
    return TeamRef(*row) if row else None


def team_by_name(engine: Engine, name: str) -> TeamRef | None:
    key = name_key(name)
    return next((t for t in teams(engine) if name_key(t.name) == key), None)


# --- activities -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivityPage:
    """One page of the activity list, numbered from 1."""

    rows: list[ActivityRecord]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def activity_page(
    engine: Engine, principal: Principal, wanted: ActivityFilter, page: int, per_page: int
) -> ActivityPage:
    """Activities the user may read, newest first, one page."""
    page = max(1, page)
    found = list_activities(engine, scope_of(principal), wanted, per_page, (page - 1) * per_page)
    return ActivityPage(found.items, found.total, page, per_page)


def readable_activity(
    engine: Engine, principal: Principal, activity_id: int
) -> ActivityRecord | None:
    return get_activity(engine, scope_of(principal), activity_id)


def recent_accounts(engine: Engine, rep_id: int | None, limit: int = 30) -> list[str]:
    """Accounts the rep touched most recently, for the quick-add form's suggestions."""
    if rep_id is None:
        return []
    last = func.max(Activity.occurred_at)
    query = (
        select(Account.name, last)
        .join(Activity, Activity.account_id == Account.id)
        .where(Activity.rep_id == rep_id)
        .where(Activity.occurred_at >= utcnow() - dt.timedelta(days=90))
        .group_by(Account.name)
        .order_by(last.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        return [name for name, _ in conn.execute(query)]
