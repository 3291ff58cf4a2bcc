"""The few reads and writes the pages need beyond the analyses, ingest and `store.records`.

Who a user may see (reps and teams by id), the activity list (through `store.records`, in
the user's scope), and edit, delete and undo of an activity. Route functions and templates
never hold SQL; this module is the pages' door to the tables, and it knows nothing of HTTP.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from paceline.auth.access import Principal
from paceline.calendar import BusinessCalendar
from paceline.config import Settings
from paceline.errors import UserInputError
from paceline.ingest.entities import finish_activity
from paceline.ingest.fields import FieldError
from paceline.ingest.manual import MANUAL_SOURCE, InputError
from paceline.ingest.resolve import AccountResolver, name_key
from paceline.store.models import Account, Activity, Rep, Team, utcnow
from paceline.store.records import (
    ActivityFilter,
    ActivityRecord,
    Scope,
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


def scope_of(principal: Principal) -> Scope:
    """The records a user may read, in the store's terms (the same rule as `can_read_rep`)."""
    if principal.is_admin:
        return Scope(everyone=True)
    if principal.role == "manager":
        return Scope(team_id=principal.team_id)
    return Scope(rep_id=principal.rep_id)


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


@dataclass(frozen=True)
class ActivityEdit:
    """The fields of an activity a person may change (the rep stays)."""

    kind: str
    occurred_at: dt.datetime  # business-local, naive
    account: str | None
    outcome: str | None
    has_ask: bool
    duration_min: float | None
    notes: str | None


def update_activity(
    engine: Engine, settings: Settings, activity_id: int, edit: ActivityEdit
) -> None:
    """Check the edit with the rules every activity passes, then store it."""
    calendar = BusinessCalendar(settings.calendar)
    local = edit.occurred_at.replace(tzinfo=None)
    utc = local.replace(tzinfo=calendar.zone).astimezone(dt.UTC).replace(tzinfo=None)
    try:
        record = finish_activity(
            {
                "rep": "",
                "kind": edit.kind,
                "occurred_at": (utc, local),
                "outcome": edit.outcome,
                "has_ask": edit.has_ask or None,  # an unticked box is "not said"
                "engaged": None,
                "duration_min": edit.duration_min,
                "notes": edit.notes,
            },
            settings,
        )
    except FieldError as exc:
        raise InputError(exc.field, exc.reason) from None
    with engine.begin() as conn:
        account_id = _account_id(conn, edit.account)
        done = conn.execute(
            update(Activity)
            .where(Activity.id == activity_id)
            .values(
                kind=record["kind"],
                occurred_at=utc,
                local_date=local.date(),
                account_id=account_id,
                outcome=record["outcome"],
                has_ask=record["has_ask"],
                engaged=record["engaged"],
                duration_min=record["duration_min"],
                notes=record["notes"],
                updated_at=utcnow(),
            )
        )
        if done.rowcount == 0:
            raise UserInputError(f"activity: no activity {activity_id}")


def _account_id(conn: Connection, name: str | None) -> int | None:
    if not name or not name.strip():
        return None
    return AccountResolver(MANUAL_SOURCE).resolve_names(conn, [name])[name_key(name)]


Stash = dict[str, Any]


def delete_activity(engine: Engine, activity_id: int) -> Stash:
    """Delete an activity and return everything needed to put it back exactly."""
    columns = list(Activity.__table__.columns)
    with engine.begin() as conn:
        row = conn.execute(select(*columns).where(Activity.id == activity_id)).first()
        if row is None:
            raise UserInputError(f"activity: no activity {activity_id}")
        conn.execute(delete(Activity).where(Activity.id == activity_id))
    return dict(row._mapping)


def restore_activity(engine: Engine, stash: Stash) -> int:
    """Put a deleted activity back, with its id, source and external id."""
    try:
        with engine.begin() as conn:
            conn.execute(insert(Activity).values(**stash))
    except IntegrityError:
        raise UserInputError(
            "activity: cannot undo, an activity with the same id or source record exists again"
        ) from None
    return int(stash["id"])
