"""The time zone the stored days are in (`day_zone`, one row), and deriving them again when
the configured zone has changed.

`activity.local_date` is derived once, when an activity is written, in `[calendar]
timezone`, so that per-day sums are a plain GROUP BY; and a date written without a time of
day (a Zoho closing date, a task's due date) is stored as that zone's midnight
(`ingest.fields`). A zone changed afterwards (`paceline init` writes America/New_York; a team
in Berlin or Los Angeles corrects it) left every stored activity on its day in the old zone
while periods were cut in the new one (a call at 02:00 UTC stayed on the day before), and a
deal closed "2021-04-01" at New York's midnight, 21:00 on March 31 in Los Angeles, was won
in March: in every count, silently. Each write and each analysis first makes sure the
stored days are in the configured zone (`align_stored_days`): one small read when they
are, and every row derived again, once, when they are not.

A value at exactly the old zone's midnight is taken for a date without a time: it keeps its
date and moves to the new zone's midnight of it, as if imported under the new zone. A timed
value at exactly local midnight cannot be told from one and keeps its date too, as `when to
sell` already reads it (`analytics.timing.split_untimed`). Other instants stay as they are;
only an activity's day follows them.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    Engine,
    Row,
    Table,
    bindparam,
    func,
    insert,
    select,
    text,
    update,
)

from paceline.calendar import local_midnight_utc
from paceline.store.models import Activity, DayZone, Deal, DealStageHistory, utcnow

_ROW = 1
_BATCH = 10_000  # rows read (and those changed rewritten) per statement, deriving again
_PG_LOCK_KEY = 0x5A0E_DA75  # one re-derivation at a time (PostgreSQL advisory lock)

# The day_zone row as a scalar, for the one-statement checks of `analytics.rollup`.
RECORDED_ZONE = select(DayZone.zone).where(DayZone.id == _ROW).scalar_subquery()


def recorded_zone(conn: Connection) -> str | None:
    """The zone the stored days were derived in; None while none is recorded."""
    return conn.scalar(select(DayZone.zone).where(DayZone.id == _ROW))


def align_stored_days(engine: Engine, zone: ZoneInfo) -> int:
    """Make the stored days those of `zone`; return how many rows changed.

    Cheap when they already are (one read). When no zone is recorded (a new database, or one
    upgraded past migration 0022) `zone` is recorded and nothing is moved: nothing says
    which zone the stored days were derived in, and it was the configured one as far as
    anyone can tell.
    """
    with engine.connect() as conn:
        if recorded_zone(conn) == zone.key:
            return 0
    with engine.begin() as conn:
        _take_lock(conn)
        recorded = recorded_zone(conn)  # again: another process may have aligned meanwhile
        if recorded == zone.key:
            return 0
        moved = 0 if recorded is None else _derive_again(conn, ZoneInfo(recorded), zone)
        _record(conn, zone.key, first=recorded is None)
        return moved


def _take_lock(conn: Connection) -> None:
    """One aligner at a time; on SQLite, take the write lock before reading anything."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
    else:
        conn.execute(text("DELETE FROM day_zone WHERE 0"))


def key_zone(engine: Engine, zone: ZoneInfo) -> ZoneInfo:
    """The zone the keys of activities without an id are worked out in (`ingest.entities.
    finish_activity`): the first zone recorded, kept when the configured one changes; `zone`
    while none is recorded.

    Such a key hashes the row's day and, for a date without a time, that day's midnight. In
    the configured zone, a file imported again after a change of zone gave its moved rows
    new keys and they were added again (a 3-row file: 5 calls on a Monday, not 3); in a zone
    that never changes, the same file gives the same keys."""
    with engine.connect() as conn:
        stored = conn.scalar(select(func.coalesce(DayZone.key_zone, DayZone.zone)).where(_IS_ROW))
    return zone if stored is None or stored == zone.key else ZoneInfo(stored)


_IS_ROW = DayZone.id == _ROW


def _record(conn: Connection, zone: str, first: bool) -> None:
    if first:  # the first zone is the keys' too, for good
        conn.execute(
            insert(DayZone).values(id=_ROW, zone=zone, key_zone=zone, recorded_at=utcnow())
        )
    else:
        conn.execute(
            update(DayZone).where(DayZone.id == _ROW).values(zone=zone, recorded_at=utcnow())
        )


def _derive_again(conn: Connection, old: ZoneInfo, new: ZoneInfo) -> int:
    """Every stored day and date-only instant of `old`, in `new`."""
    moved = _rewrite(conn, Activity.__table__, ("occurred_at", "local_date"), old, new)
    moved += _rewrite(conn, Deal.__table__, ("created_at", "closed_at"), old, new)
    return moved + _rewrite(conn, DealStageHistory.__table__, ("entered_at",), old, new)


Derive = Callable[[list[Any], ZoneInfo, ZoneInfo], list[Any]]

# A day's midnight in a zone, remembered: the rows of a table share few days (a year of
# activities has 365), and working it out was most of the time spent per row.
_midnight = functools.lru_cache(maxsize=65_536)(local_midnight_utc)


def _rewrite(
    conn: Connection, table: Table, columns: tuple[str, ...], old: ZoneInfo, new: ZoneInfo
) -> int:
    """Rewrite `columns` of the rows of `table` whose values change, a batch at a time in
    id order (the rollup's triggers mark the activities' days left and entered, so the
    sums follow); how many rows changed."""
    derive: Derive = _activity_values if table is Activity.__table__ else _instants
    rewrite = (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values({name: bindparam(f"new_{name}") for name in columns})
    )
    moved = 0
    last_id = 0
    while rows := conn.execute(
        select(table.c.id, *(table.c[name] for name in columns))
        .where(table.c.id > last_id)
        .order_by(table.c.id)
        .limit(_BATCH)
    ).all():
        last_id = rows[-1][0]
        changes = _changes(rows, columns, derive, old, new)
        if changes:
            conn.execute(rewrite, changes)
            moved += len(changes)
    return moved


def _changes(
    rows: Sequence[Row[Any]], columns: tuple[str, ...], derive: Derive, old: ZoneInfo, new: ZoneInfo
) -> list[dict[str, Any]]:
    """The parameters of the rows whose values `derive` changes, for `_rewrite`'s update."""
    changes = []
    for row in rows:
        row_id, values = row[0], list[Any](row[1:])
        derived = derive(values, old, new)
        if derived != values:
            named = {f"new_{name}": value for name, value in zip(columns, derived, strict=True)}
            changes.append({"row_id": row_id, **named})
    return changes


def _activity_values(values: list[Any], old: ZoneInfo, new: ZoneInfo) -> list[Any]:
    return list(activity_moved(values[0], values[1], old, new))


def activity_moved(
    occurred_at: dt.datetime, day: dt.date, old: ZoneInfo, new: ZoneInfo
) -> tuple[dt.datetime, dt.date]:
    """An activity's instant (naive UTC) and day, derived in `old`, in `new`: a date-only
    one keeps its day, at `new`'s midnight; a timed one keeps its instant, on its day in
    `new`. Also for a row put back after the zone changed (`records.restore_activity`)."""
    if occurred_at == _midnight(old, day):
        return _midnight(new, day), day
    return occurred_at, occurred_at.replace(tzinfo=dt.UTC).astimezone(new).date()


def _instants(values: list[Any], old: ZoneInfo, new: ZoneInfo) -> list[Any]:
    """Instants (naive UTC, or None) in `new`: those at `old`'s midnight, dates written
    without a time, move to `new`'s midnight of the same date; the others stay."""
    return [_date_only_moved(value, old, new) for value in values]


def _date_only_moved(value: dt.datetime | None, old: ZoneInfo, new: ZoneInfo) -> Any:
    if value is None:
        return None
    day = value.replace(tzinfo=dt.UTC).astimezone(old).date()
    if value == _midnight(old, day):
        return _midnight(new, day)
    return value
