"""Scheduled jobs' runs and deliveries, and users' delivery preferences: the only module that
reads or writes `job_run`, `job_delivery` and `user_preference`.

Every claim is an INSERT that a unique key lets only one writer make (ON CONFLICT DO NOTHING
on SQLite and PostgreSQL alike), or an UPDATE guarded by the state it expects, so two
schedulers on one database agree on who runs a slot and who sends a message without locks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from paceline.store.models import (
    AppUser,
    JobDelivery,
    JobRun,
    Rep,
    Team,
    UserPreference,
    rep_there_on,
)

OUTCOME_LENGTH = 1000
MAX_ATTEMPTS = 10  # a failed message is tried again by later calls until it has had this many
RETRY_AFTER = dt.timedelta(minutes=5)  # ...each at least this long after the last


def _insert(engine: Engine):  # type: ignore[no-untyped-def]
    return postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert


@dataclass(frozen=True)
class Run:
    """A claimed run: its row id and slot."""

    id: int
    job: str
    scope: str
    scheduled_for: dt.datetime
    resumed: bool  # taken over from a run whose claimer died


def claim_run(
    engine: Engine,
    job: str,
    scope: str,
    scheduled_for: dt.datetime,
    now: dt.datetime,
    lease: dt.timedelta,
    status: str = "running",
    outcome: str | None = None,
) -> Run | None:
    """Claim one slot: a fresh row, or a `running` row whose lease has passed (its claimer
    died). None: another scheduler holds it, or it is already finished."""
    values = {
        "job": job,
        "scope": scope,
        "scheduled_for": scheduled_for,
        "status": status,
        "claimed_at": now,
        "lease_until": now + lease,
        "attempts": 1,
        "outcome": outcome,
        "finished_at": now if status != "running" else None,
    }
    table = JobRun.__table__.c
    statement = _insert(engine)(JobRun).values(values).on_conflict_do_nothing().returning(table.id)
    with engine.begin() as conn:
        inserted = conn.execute(statement).scalar()
        if inserted is not None:
            return Run(int(inserted), job, scope, scheduled_for, False)
        taken = conn.execute(
            update(JobRun)
            .where(
                JobRun.job == job,
                JobRun.scope == scope,
                JobRun.scheduled_for == scheduled_for,
                JobRun.status == "running",
                JobRun.lease_until <= now,
            )
            .values(claimed_at=now, lease_until=now + lease, attempts=JobRun.attempts + 1)
            .returning(table.id)
        ).scalar()
    if taken is None:
        return None
    return Run(int(taken), job, scope, scheduled_for, True)


def stale_runs(engine: Engine, now: dt.datetime) -> list[tuple[str, str, dt.datetime]]:
    """(job, scope, slot) of running rows whose claimer's lease has passed."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(JobRun.job, JobRun.scope, JobRun.scheduled_for).where(
                JobRun.status == "running", JobRun.lease_until <= now
            )
        )
        return [(j, s, t) for j, s, t in rows]


def finish_run(engine: Engine, run_id: int, status: str, outcome: str, now: dt.datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(JobRun)
            .where(JobRun.id == run_id)
            .values(status=status, outcome=outcome[:OUTCOME_LENGTH], finished_at=now)
        )


def last_slots(engine: Engine) -> dict[tuple[str, str], dt.datetime]:
    """The latest claimed slot of each (job, scope), whatever its status."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(JobRun.job, JobRun.scope, func.max(JobRun.scheduled_for)).group_by(
                JobRun.job, JobRun.scope
            )
        )
        return {(job, scope): last for job, scope, last in rows}


@dataclass(frozen=True)
class RunRecord:
    """One row of the jobs page: a run and what came of it."""

    job: str
    scope: str
    scheduled_for: dt.datetime
    status: str
    attempts: int
    finished_at: dt.datetime | None
    outcome: str | None


def latest_runs(engine: Engine) -> dict[str, RunRecord]:
    """Each job's newest run (any scope)."""
    newest = (
        select(JobRun.job, func.max(JobRun.scheduled_for).label("last"))
        .group_by(JobRun.job)
        .subquery()
    )
    query = (
        select(JobRun)
        .join(newest, and_(JobRun.job == newest.c.job, JobRun.scheduled_for == newest.c.last))
        .order_by(JobRun.job, JobRun.scope)
    )
    found: dict[str, RunRecord] = {}
    with engine.connect() as conn:
        for row in conn.execute(query).mappings():
            found.setdefault(
                row["job"],
                RunRecord(
                    row["job"],
                    row["scope"],
                    row["scheduled_for"],
                    row["status"],
                    row["attempts"],
                    row["finished_at"],
                    row["outcome"],
                ),
            )
    return found


# --- deliveries --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One message of a run: to whom, about what, through which channel, and since when."""

    id: int
    run_id: int
    recipient: str
    subject: str
    channel: str
    status: str
    not_before: dt.datetime


def plan_items(
    engine: Engine, run_id: int, items: list[tuple[str, str, str, str, dt.datetime]]
) -> None:
    """Record a run's messages (recipient, subject, channel, status, not_before) before any is
    sent; ones already recorded (a run taken over) are kept as they are."""
    if not items:
        return
    rows = [
        {
            "run_id": run_id,
            "recipient": recipient,
            "subject": subject,
            "channel": channel,
            "status": status,
            "not_before": not_before,
            "attempts": 0,
        }
        for recipient, subject, channel, status, not_before in items
    ]
    with engine.begin() as conn:
        conn.execute(_insert(engine)(JobDelivery).values(rows).on_conflict_do_nothing())


def items_to_send(engine: Engine, now: dt.datetime, run_id: int | None = None) -> list[Item]:
    """Messages that may go now: pending or failed ones of `run_id`, or (no run) deferred ones
    whose quiet hours are over and failed ones not yet tried `MAX_ATTEMPTS` times, of any run."""
    c = JobDelivery.__table__.c
    query = select(
        c.id, c.run_id, c.recipient, c.subject, c.channel, c.status, c.not_before
    ).order_by(c.id)
    if run_id is not None:
        query = query.where(c.run_id == run_id, c.status.in_(("pending", "failed")))
    else:
        query = query.where(
            or_(
                and_(c.status == "deferred", c.not_before <= now),
                and_(c.status == "failed", c.attempts < MAX_ATTEMPTS, c.not_before <= now),
            )
        )
    with engine.connect() as conn:
        return [Item(*row) for row in conn.execute(query)]


def take_item(engine: Engine, item_id: int, status: str) -> bool:
    """Claim a deferred or failed message for sending (only one scheduler wins)."""
    with engine.begin() as conn:
        result = conn.execute(
            update(JobDelivery)
            .where(JobDelivery.id == item_id, JobDelivery.status == status)
            .values(status="pending")
        )
        return result.rowcount == 1


def record_item(
    engine: Engine, item_id: int, attempts: int, error: str | None, now: dt.datetime
) -> None:
    values: dict[str, object] = {
        "attempts": JobDelivery.attempts + attempts,
        "status": "failed" if error else "sent",
        "error": error[:OUTCOME_LENGTH] if error else None,
    }
    if error:
        values["not_before"] = now + RETRY_AFTER  # not again in the same call
    else:
        values["sent_at"] = now
    with engine.begin() as conn:
        conn.execute(update(JobDelivery).where(JobDelivery.id == item_id).values(values))


def run_of(engine: Engine, run_id: int) -> tuple[str, str, dt.datetime]:
    with engine.connect() as conn:
        row = conn.execute(
            select(JobRun.job, JobRun.scope, JobRun.scheduled_for).where(JobRun.id == run_id)
        ).one()
        return row[0], row[1], row[2]


def items_of_run(engine: Engine, run_id: int) -> dict[str, int]:
    """How many of a run's messages are in each status."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(JobDelivery.status, func.count())
            .where(JobDelivery.run_id == run_id)
            .group_by(JobDelivery.status)
        )
        return {status: int(n) for status, n in rows}


# --- people and preferences ----------------------------------------------------------------------


@dataclass(frozen=True)
class Preference:
    rep_digest: bool = True
    manager_digest: bool = True
    alerts: bool = True
    channel: str | None = None
    quiet_start: str | None = None
    quiet_end: str | None = None


@dataclass(frozen=True)
class Member:
    """Someone a digest may go to: a rep (about themself) or a manager user (their team)."""

    address: str
    name: str
    role: str  # rep / manager
    team: str | None
    username: str | None
    preference: Preference


def _preferences(conn: object, ids: list[int]) -> dict[int, Preference]:
    from sqlalchemy.engine import Connection

    assert isinstance(conn, Connection)
    if not ids:
        return {}
    rows = conn.execute(select(UserPreference).where(UserPreference.user_id.in_(ids))).mappings()
    return {
        row["user_id"]: Preference(
            row["rep_digest"],
            row["manager_digest"],
            row["alerts"],
            row["channel"],
            row["quiet_start"],
            row["quiet_end"],
        )
        for row in rows
    }


def members(engine: Engine, as_of: dt.date) -> list[Member]:
    """Reps with an address who are there on `as_of` (started, not gone: `rep_there_on`) and
    do not manage (with the preferences of the rep user linked to them, if any), then
    active manager users linked to a rep with an address who is there that day too."""
    # A manager's own rep record gets the team's digest, not a rep's.
    managers = select(AppUser.rep_id).where(
        AppUser.role == "manager", AppUser.active.is_(True), AppUser.rep_id.is_not(None)
    )
    with engine.connect() as conn:
        rep_rows = conn.execute(
            select(Rep.email, Rep.name, Team.name, AppUser.id, AppUser.username)
            .outerjoin(Team, Team.id == Rep.team_id)
            .outerjoin(
                AppUser,
                and_(AppUser.rep_id == Rep.id, AppUser.role == "rep", AppUser.active.is_(True)),
            )
            .where(Rep.email.is_not(None), Rep.email != "")
            .where(rep_there_on(as_of))
            .where(~Rep.id.in_(managers))
            .order_by(Rep.name)
        ).all()
        manager_rows = conn.execute(
            select(Rep.email, Rep.name, Team.name, AppUser.id, AppUser.username)
            .select_from(AppUser)
            .join(Rep, Rep.id == AppUser.rep_id)
            .join(Team, Team.id == AppUser.team_id)
            .where(AppUser.role == "manager", AppUser.active.is_(True))
            .where(Rep.email.is_not(None), Rep.email != "")
            .where(rep_there_on(as_of))
            .order_by(Team.name, Rep.name)
        ).all()
        ids = [row[3] for row in [*rep_rows, *manager_rows] if row[3] is not None]
        prefs = _preferences(conn, ids)
    found: list[Member] = []
    for role, rows in (("rep", rep_rows), ("manager", manager_rows)):
        for email, name, team, user_id, username in rows:
            preference = prefs.get(user_id, Preference()) if user_id else Preference()
            found.append(Member(str(email).strip(), name, role, team, username, preference))
    return found


def preference_of(engine: Engine, user_id: int) -> Preference:
    with engine.connect() as conn:
        return _preferences(conn, [user_id]).get(user_id, Preference())


def save_preference(engine: Engine, user_id: int, preference: Preference, now: dt.datetime) -> None:
    """Insert or replace one user's preferences (one statement)."""
    values = {
        "user_id": user_id,
        "rep_digest": preference.rep_digest,
        "manager_digest": preference.manager_digest,
        "alerts": preference.alerts,
        "channel": preference.channel,
        "quiet_start": preference.quiet_start,
        "quiet_end": preference.quiet_end,
        "updated_at": now,
    }
    statement = _insert(engine)(UserPreference).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=["user_id"], set_={k: v for k, v in values.items() if k != "user_id"}
    )
    with engine.begin() as conn:
        conn.execute(statement)


def team_names(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [name for (name,) in conn.execute(select(Team.name).order_by(Team.name))]


def user_by_name(engine: Engine, username: str) -> tuple[int, str] | None:
    """(id, username) of the user named `username` (any case), or None."""
    from paceline.store.names import name_key

    with engine.connect() as conn:
        row = conn.execute(
            select(AppUser.id, AppUser.username).where(AppUser.username_key == name_key(username))
        ).first()
    return None if row is None else (int(row[0]), str(row[1]))
