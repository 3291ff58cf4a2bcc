"""`hour_day`: the counts "when to sell" shows, per rep, business day and UTC hour.

Why: when to sell grouped every activity of its window by UTC hour; for a team at 10M
activities (a 180-day window, about a million of them) that took 6.6 s, where the
scorecards read a rollup in milliseconds. These rows hold the same five counts (every
activity, calls, connected calls, outreach attempts, engaged attempts) per UTC hour, so the
read sums a few rows per rep-day instead. Hours stay UTC in the table, as in the raw read:
the local weekday and hour depend on the offset in force on that day, which `timing` works
out per bucket.

A date without a time is stored at local midnight and counted apart (`timing.split_untimed`),
found as an instant at a whole minute equal to local midnight's minute past the UTC hour.
The table keeps such activities in rows of their own (`minute`, else -1) for the minutes
local midnight takes in the zone over `SPAN` (`candidate_minutes`: [0] in most zones, [30]
in India); a window whose own midnight minutes are not among them is read the raw way.

Kept by the rollup's marks (`rollup.ensure_rollup`: the marked rep-days, in the same
transaction as `metric_day`). What the rows depend on in the configuration (what a call is,
the connected outcomes, the selling kinds, the zone's midnight minutes) has its own
fingerprint in `rollup_state` row 2, so changing it, or the upgrade that adds the table,
rebuilds this table alone, not every aggregate.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Select,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    select,
)

from paceline.analytics.aggregates import Scope, in_scope
from paceline.analytics.metric_sql import activity_filter, needs_contact, outreach_condition
from paceline.config import Settings, derive
from paceline.store.models import Activity, Contact, HourDay, RollupState

CALLS_METRIC = "calls"  # what counts as a call (its filters), as on every other page
FINGERPRINT_ROW = 2  # `rollup_state`'s row for this table (row 1 is the rollup's)
# The days over which the zone's midnight minutes are collected for the table: any window
# inside reads the table; one outside whose midnight falls at another minute reads raw.
SPAN = (dt.date(1970, 1, 1), dt.date(2070, 1, 1))
NOT_MIDNIGHT = -1  # `minute` of the rows that cannot be a date without a time

_COLUMNS = [
    "rep_id",
    "local_date",
    "hour",
    "minute",
    "activities",
    "calls",
    "conversations",
    "attempts",
    "engaged",
]


def midnight_minutes(zone: dt.tzinfo, start: dt.date, end: dt.date) -> list[int]:
    """The minutes past a UTC hour at which local midnight falls between `start` and `end`
    (one per distinct UTC offset in force: [0] in most zones, [30] in India)."""
    minutes: set[int] = set()
    day = start
    while day <= end:
        midnight = dt.datetime.combine(day, dt.time(), zone)
        offset = midnight.utcoffset() or dt.timedelta()
        minutes.add(int(-offset.total_seconds() // 60) % 60)
        day += dt.timedelta(days=1)
    return sorted(minutes)


def candidate_minutes(settings: Settings) -> list[int]:
    """The minutes `hour_day` keeps apart: local midnight's on 1 January and 1 July of each
    year of `SPAN` (winter and summer time), once per configuration.

    Sampled, not every day (70 ms at every process's first analysis, measured): any set is
    exact, since a window whose midnight falls at a minute left out reads raw (`covers`)."""
    return derive(settings, "hours.minutes", lambda: _sampled_minutes(settings.calendar.zone))


def _sampled_minutes(zone: dt.tzinfo) -> list[int]:
    minutes: set[int] = set()
    for year in range(SPAN[0].year, SPAN[1].year):
        for month in (1, 7):
            day = dt.date(year, month, 1)
            minutes.update(midnight_minutes(zone, day, day))
    return sorted(minutes)


def fingerprint(settings: Settings) -> str:
    """Hash of what the rows depend on in the configuration."""
    return derive(settings, "hours.fingerprint", lambda: _fingerprint(settings))


def _fingerprint(settings: Settings) -> str:
    calls = settings.metric(CALLS_METRIC)
    parts: dict[str, object] = {
        "calls": calls.model_dump(
            mode="json", exclude={"label", "higher_is_better", "min_denominator"}
        ),
        "connected": sorted(settings.connected_outcomes),
        "selling_kinds": sorted(settings.selling_kinds),
        "minutes": candidate_minutes(settings),
    }
    if needs_contact(calls):
        # Rows built before the contact join counted every activity once per contact: a
        # new fingerprint rebuilds them. Only here, so other configurations keep theirs.
        parts["contacts_joined"] = True
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def utc_hour(dialect: str) -> ColumnElement[Any]:
    """The UTC hour an activity falls in: text on SQLite, a timestamp on PostgreSQL."""
    if dialect == "sqlite":
        return func.strftime("%Y-%m-%d %H:00:00", Activity.occurred_at)
    return func.date_trunc("hour", Activity.occurred_at)


def midnight_minute(
    dialect: str, minutes: list[int], otherwise: int | None = None
) -> ColumnElement[Any]:
    """An activity's minute past its UTC hour when it is a whole minute among `minutes`
    (where local midnight can fall), else `otherwise`: the few extra buckets that tell a
    date without a time (stored at local midnight) from a time."""
    if dialect == "sqlite":
        whole = func.strftime("%f", Activity.occurred_at) == "00.000"
        minute: ColumnElement[Any] = cast(func.strftime("%M", Activity.occurred_at), Integer)
    else:
        whole = func.date_trunc("minute", Activity.occurred_at) == Activity.occurred_at
        minute = cast(func.extract("minute", Activity.occurred_at), Integer)
    return case((and_(whole, minute.in_(minutes)), minute), else_=otherwise)


def counts(settings: Settings, engaging: Iterable[str] | None = None) -> list[ColumnElement[int]]:
    """Every activity, calls, connected calls, outreach attempts, engaged attempts; with
    `engaging`, the attempts of those kinds only (the kinds whose engagement the data
    records, `step_rules.engagement_recorded_kinds`): `hour_day` keeps every kind's."""
    outreach = outreach_condition(settings, engaging)
    connected = Activity.outcome.in_(sorted(settings.connected_outcomes))
    is_call = activity_filter(settings, settings.metric(CALLS_METRIC))
    return [
        func.count(),
        _count_if(is_call),
        _count_if(and_(is_call, connected)),
        _count_if(outreach),
        _count_if(and_(outreach, Activity.engaged.is_(True))),
    ]


def from_activities(query: Select[Any], settings: Settings) -> Select[Any]:
    """`query` over the activities, joined to their contacts when the calls metric filters
    on the person spoken to (`decision_maker`, `seniority`).

    Why: without the join the database added `contact` unjoined, so every activity counted
    once per contact. Only then: the default calls read no contact."""
    query = query.select_from(Activity)
    if needs_contact(settings.metric(CALLS_METRIC)):
        query = query.outerjoin(Contact, Contact.id == Activity.contact_id)
    return query


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


# --- keeping it current ----------------------------------------------------------------------


def stored_fingerprint(conn: Connection) -> str | None:
    return conn.scalar(select(RollupState.fingerprint).where(RollupState.id == FINGERPRINT_ROW))


def rebuild(conn: Connection, settings: Settings) -> None:
    """Every row from scratch, and the fingerprint they were built with."""
    conn.execute(delete(HourDay))
    _insert(conn, settings, scope=None)
    conn.execute(delete(RollupState).where(RollupState.id == FINGERPRINT_ROW))
    conn.execute(insert(RollupState).values(id=FINGERPRINT_ROW, fingerprint=fingerprint(settings)))


def refresh(conn: Connection, settings: Settings, scope: Scope) -> None:
    """Recompute the rep-days in `scope` (marked rows, or a range of days)."""
    conn.execute(delete(HourDay).where(in_scope(scope, HourDay.rep_id, HourDay.local_date)))
    _insert(conn, settings, scope)


def _insert(conn: Connection, settings: Settings, scope: Scope | None) -> None:
    dialect = conn.dialect.name
    hour = utc_hour(dialect)
    minute = midnight_minute(dialect, candidate_minutes(settings), NOT_MIDNIGHT)
    query = select(Activity.rep_id, Activity.local_date, hour, minute, *counts(settings))
    query = from_activities(query, settings)
    if scope is not None:
        query = query.where(in_scope(scope, Activity.rep_id, Activity.local_date))
    query = query.group_by(Activity.rep_id, Activity.local_date, hour, minute)
    conn.execute(insert(HourDay).from_select(_COLUMNS, query))


# --- reading it ------------------------------------------------------------------------------

# UTC hour, the whole minute past it when that could be local midnight (else None), counts.
MinuteBucket = tuple[dt.datetime, int | None, int, int, int, int, int]


def covers(settings: Settings, minutes: list[int]) -> bool:
    """Whether the table keeps apart every minute a window's local midnight falls at."""
    return set(minutes) <= set(candidate_minutes(settings))


def buckets(
    conn: Connection, start: dt.date, end: dt.date, rep_ids: list[int], minutes: list[int]
) -> list[MinuteBucket]:
    """The raw read's buckets over [start, end) for `rep_ids`, from the table: one per UTC
    hour and minute (None: not a whole minute among `minutes`), summed over reps and days."""
    query = (
        select(
            HourDay.hour,
            HourDay.minute,
            func.sum(HourDay.activities),
            func.sum(HourDay.calls),
            func.sum(HourDay.conversations),
            func.sum(HourDay.attempts),
            func.sum(HourDay.engaged),
        )
        .where(
            HourDay.rep_id.in_(rep_ids),
            HourDay.local_date >= start,
            HourDay.local_date < end,
        )
        .group_by(HourDay.hour, HourDay.minute)
    )
    wanted = set(minutes)
    summed: dict[tuple[dt.datetime, int | None], list[int]] = {}
    for at, m, *values in conn.execute(query):
        key = (_as_datetime(at), int(m) if m in wanted else None)
        cell = summed.setdefault(key, [0, 0, 0, 0, 0])
        for i, n in enumerate(values):
            cell[i] += int(n or 0)
    return [(at, m, c[0], c[1], c[2], c[3], c[4]) for (at, m), c in summed.items()]


def _as_datetime(value: str | dt.datetime) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
