"""Business-local days of stored instants, in SQL, and which instants are a date alone.

Why: a value exported with a date and no time (a Zoho closing date, a task's due date) is
stored at local midnight of the business zone, exactly (`ingest.fields`); nothing else
records that it had no time. The project reads "exactly local midnight" as "a date without a
time" everywhere (`timing.split_untimed`, `store.day_zone`), and so does this module. A
timed event at 00:00:00.000 local is read as a date: the only cost is that it is compared at
day resolution, never that it is dropped.

Comparing such a date with a timed event as instants made a win "dated" Nov 10 come before
the proposal sent at 2 pm that day, so it was dropped, and a next-day step took 1.6 days. The
funnel's timing compares them by local day instead; for that the database needs each
instant's local day. SQLite knows no time zones, so the zone's UTC offsets over the window
are written into the statement: a CASE over the few changes of offset (two a year where
daylight saving time is kept), then local day = floor((epoch seconds + offset) / 86400).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Integer,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
)

from paceline.calendar import local_midnight_utc

DAY_SECONDS = 86_400
_HOUR = dt.timedelta(hours=1)
_SECOND = dt.timedelta(seconds=1)


class LocalDays:
    """Local day numbers (days since 1970-01-01, local) and date-only tests for naive UTC
    instants between the local days `start` and `end` (a margin of two days either side)."""

    def __init__(self, dialect: str, zone: dt.tzinfo, start: dt.date, end: dt.date) -> None:
        self.dialect = dialect
        first = local_midnight_utc(zone, start - dt.timedelta(days=2))
        last = local_midnight_utc(zone, end + dt.timedelta(days=2))
        self.offsets = offset_changes(zone, first, last)

    def offset(self, at: Any) -> ColumnElement[int]:
        """The zone's UTC offset in seconds at `at` (a naive UTC instant column)."""
        (_, initial), *changes = self.offsets
        if not changes:
            return literal(initial, Integer)
        whens = []
        previous = initial
        for moment, seconds in changes:
            whens.append((at < literal(moment, DateTime()), previous))
            previous = seconds
        return case(*whens, else_=previous)

    def _local_seconds(self, at: Any) -> ColumnElement[int]:
        return _epoch_seconds(self.dialect, at) + self.offset(at)

    def day(self, at: Any) -> ColumnElement[int]:
        """The local day of `at`, as a day number: differences are whole days."""
        return self._local_seconds(at) // DAY_SECONDS

    def date_only(self, at: Any) -> ColumnElement[bool]:
        """Whether `at` is exactly local midnight: a date stored without a time."""
        return and_(_whole_second(self.dialect, at), self._local_seconds(at) % DAY_SECONDS == 0)

    def at_or_after(self, at: Any, t0: Any) -> ColumnElement[bool]:
        """Whether an event at `at` comes at or after `t0`: as instants, or by local day when
        the event is a date without a time (a win dated the day of a 2 pm proposal is that
        day's, not 14 hours before it)."""
        return or_(at >= t0, and_(self.date_only(at), self.day(at) == self.day(t0)))


def offset_changes(
    zone: dt.tzinfo, first: dt.datetime, last: dt.datetime
) -> list[tuple[dt.datetime, int]]:
    """[(from, offset seconds)]: the offset in force at `first` (naive UTC), then each change
    up to `last`, at the second it takes effect (found hour by hour, then by halving)."""
    changes = [(first, _offset(zone, first))]
    moment = first
    while moment < last:
        following = moment + _HOUR
        if _offset(zone, following) != changes[-1][1]:
            low, high = moment, following  # the change is in (low, high]
            while high - low > _SECOND:
                middle = low + (high - low) / 2
                middle = middle.replace(microsecond=0)
                if _offset(zone, middle) == changes[-1][1]:
                    low = middle
                else:
                    high = middle
            changes.append((high, _offset(zone, high)))
        moment = following
    return changes


def _offset(zone: dt.tzinfo, utc: dt.datetime) -> int:
    local = utc.replace(tzinfo=dt.UTC).astimezone(zone)
    return int((local.utcoffset() or dt.timedelta()).total_seconds())


def _epoch_seconds(dialect: str, at: Any) -> ColumnElement[int]:
    """Whole seconds since 1970-01-01 00:00 UTC of a naive UTC instant."""
    if dialect == "sqlite":
        return cast(func.strftime("%s", at), Integer)
    return cast(func.floor(func.extract("epoch", at)), BigInteger)


def _whole_second(dialect: str, at: Any) -> ColumnElement[bool]:
    """Whether `at` has no fraction of a second (SQLite: to the millisecond, as `hours`)."""
    whole: ColumnElement[bool]
    if dialect == "sqlite":
        whole = func.substr(func.strftime("%f", at), 3) == ".000"
    else:
        whole = func.date_trunc("second", at) == at
    return whole
