"""Alert deliveries: who can receive alerts, what each channel has sent, the delivery log.

The only module that reads or writes `alert_delivery`; `paceline.channels.delivery` decides
what to send and calls these, and the faces read the log through `delivery_log`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, select, update
from sqlalchemy.dialects import postgresql, sqlite

from paceline.store.models import AlertDelivery, AppUser, Rep, Team, rep_there_on
from paceline.store.names import name_key

Key = tuple[str, str, str, str]  # (rep, metric, rule, period): an alert's identity
ERROR_LENGTH = 1000


@dataclass(frozen=True)
class Person:
    """Someone with an e-mail address who may receive alerts: a rep (their own alerts) or a
    manager (their team's: an active manager user linked to a rep with an address)."""

    address: str
    name: str
    role: str  # rep / manager
    rep: str | None  # a rep: their name
    team: str | None  # a manager: the team they manage


def people(engine: Engine, as_of: dt.date) -> list[Person]:
    """Reps with an address who are there on `as_of` (started, not gone), then managers
    (their rep there too), by address."""
    found: list[Person] = []
    with engine.connect() as conn:
        reps = conn.execute(
            select(Rep.email, Rep.name)
            .where(Rep.email.is_not(None), Rep.email != "")
            .where(rep_there_on(as_of))
            .order_by(Rep.name)
        )
        found += [Person(str(email).strip(), name, "rep", name, None) for email, name in reps]
        managers = conn.execute(
            select(Rep.email, Rep.name, Team.name)
            .select_from(AppUser)
            .join(Rep, Rep.id == AppUser.rep_id)
            .join(Team, Team.id == AppUser.team_id)
            .where(AppUser.role == "manager", AppUser.active.is_(True))
            .where(Rep.email.is_not(None), Rep.email != "")
            .where(rep_there_on(as_of))
            .order_by(Team.name, Rep.name)
        )
        found += [
            Person(str(email).strip(), name, "manager", None, team)
            for email, name, team in managers
        ]
    return found


def team_reps(engine: Engine, team: str) -> set[str]:
    """The names of the reps of one team, named in any case and spacing (a run for one team
    leaves the other teams' rows be)."""
    wanted = name_key(team)
    with engine.connect() as conn:
        rows = conn.execute(select(Rep.name, Team.name).join(Team, Team.id == Rep.team_id))
        return {rep for rep, team_name in rows if name_key(team_name) == wanted}


@dataclass(frozen=True)
class Standing:
    """An active delivery row: the alert was there at the last run for this recipient."""

    id: int
    key: Key
    status: str  # pending / sent / failed


def standing(engine: Engine, channel: str) -> dict[str, dict[Key, Standing]]:
    """The channel's active rows, by recipient and alert identity (one query per run)."""
    table = AlertDelivery.__table__.c
    query = select(
        table.id, table.recipient, table.rep, table.metric, table.rule, table.period, table.status
    ).where(table.channel == channel, table.active.is_(True))
    found: dict[str, dict[Key, Standing]] = {}
    with engine.connect() as conn:
        for id_, recipient, rep, metric, rule, period, status in conn.execute(query):
            key = (rep, metric, rule, period)
            found.setdefault(recipient, {})[key] = Standing(id_, key, status)
    return found


def claim(
    engine: Engine,
    channel: str,
    recipient: str,
    keys: Sequence[Key],
    as_of: dt.date,
    now: dt.datetime,
) -> dict[Key, int]:
    """Open a pending row per new alert, before anything is sent, in one statement; an
    identity another run claimed first (the unique index on active rows refuses a second)
    is skipped (ON CONFLICT DO NOTHING, on SQLite and PostgreSQL alike) and left to it."""
    if not keys:
        return {}
    rows = [
        {
            "channel": channel,
            "recipient": recipient,
            "rep": rep,
            "metric": metric,
            "rule": rule,
            "period": period,
            "as_of": as_of,
            "status": "pending",
            "active": True,
            "attempts": 0,
            "found_at": now,
        }
        for rep, metric, rule, period in keys
    ]
    table = AlertDelivery.__table__.c
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(AlertDelivery)
        .values(rows)
        .on_conflict_do_nothing()
        .returning(table.id, table.rep, table.metric, table.rule, table.period)
    )
    with engine.begin() as conn:
        inserted = conn.execute(statement).all()
    return {(rep, metric, rule, period): id_ for id_, rep, metric, rule, period in inserted}


def record_attempts(
    engine: Engine, ids: Sequence[int], attempts: int, error: str | None, now: dt.datetime
) -> None:
    """The outcome of sending these rows' message: sent (no error) or failed, and why."""
    if not ids:
        return
    values: dict[str, object] = {
        "attempts": AlertDelivery.attempts + attempts,
        "last_attempt_at": now,
        "status": "failed" if error else "sent",
        "error": error[:ERROR_LENGTH] if error else None,
    }
    if not error:
        values["sent_at"] = now
    with engine.begin() as conn:
        conn.execute(update(AlertDelivery).where(AlertDelivery.id.in_(ids)).values(values))


def clear(engine: Engine, ids: Sequence[int], now: dt.datetime) -> None:
    """Close rows whose alert no longer stands: if it comes back, it is news again."""
    if not ids:
        return
    with engine.begin() as conn:
        conn.execute(
            update(AlertDelivery)
            .where(AlertDelivery.id.in_(ids))
            .values(active=False, cleared_at=now)
        )


@dataclass(frozen=True)
class DeliveryRecord:
    """One row of the delivery log."""

    id: int
    channel: str
    recipient: str
    rep: str
    metric: str | None
    rule: str
    period: str
    as_of: dt.date
    status: str
    active: bool
    attempts: int
    error: str | None
    found_at: dt.datetime
    last_attempt_at: dt.datetime | None
    sent_at: dt.datetime | None
    cleared_at: dt.datetime | None


def delivery_channels(engine: Engine) -> list[str]:
    """The channels the delivery log records, by name (a plugin's since removed among them)."""
    channel = AlertDelivery.__table__.c.channel
    with engine.connect() as conn:
        return sorted(conn.execute(select(channel).distinct()).scalars())


def delivery_log(
    engine: Engine, channel: str | None = None, failed: bool = False, limit: int = 200
) -> list[DeliveryRecord]:
    """The newest deliveries first; `failed`: only those whose last attempt failed."""
    table = AlertDelivery.__table__.c
    query = select(*table).order_by(table.found_at.desc(), table.id.desc())
    if channel is not None:
        query = query.where(table.channel == channel)
    if failed:
        query = query.where(table.status == "failed")
    with engine.connect() as conn:
        rows = conn.execute(query.limit(limit)).mappings().all()
    return [DeliveryRecord(**{**row, "metric": row["metric"] or None}) for row in rows]
