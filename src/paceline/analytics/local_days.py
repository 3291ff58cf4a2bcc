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
import functools
import itertools
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Integer,
    and_,
    literal,
    or_,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FunctionElement

from paceline.calendar import local_midnight_utc

DAY_SECONDS = 86_400
# The years `over_history` covers: a deal's dates can be anywhere in them (the import keeps
# 1900-2200; before 1970 the day numbers are not needed, after 2100 no data is).
HISTORY = (dt.date(1970, 1, 1), dt.date(2100, 1, 1))
_DAY = dt.timedelta(days=1)
_SECOND = dt.timedelta(seconds=1)


class LocalDays:
    """Local day numbers (days since 1970-01-01, local) and date-only tests for naive UTC
    instants between the local days `start` and `end` (a margin of two days either side)."""

    def __init__(self, zone: ZoneInfo, start: dt.date, end: dt.date) -> None:
        self.span = (zone.key, start - 2 * _DAY, end + 2 * _DAY)
        self.offsets = _offsets(*self.span)

    @classmethod
    def over_history(cls, zone: ZoneInfo) -> LocalDays:
        """Every day of `HISTORY`: for rules that read any deal, whenever it closed (the
        changes of offset are found once per zone)."""
        return cls(zone, *HISTORY)

    def offset(self, at: Any) -> ColumnElement[int]:
        """The zone's UTC offset in seconds at `at` (a naive UTC instant column): a CASE over
        the changes of offset, written into the statement as constants (`_OffsetAt`)."""
        if len(self.offsets) == 1:
            return literal(self.offsets[0][1], Integer)
        return _offset_at_class(*self.span)(at)

    def _local_seconds(self, at: Any) -> ColumnElement[int]:
        return _EpochSeconds(at) + self.offset(at)

    def day(self, at: Any) -> ColumnElement[int]:
        """The local day of `at`, as a day number: differences are whole days."""
        return self._local_seconds(at) // DAY_SECONDS

    def date_only(self, at: Any) -> ColumnElement[bool]:
        """Whether `at` is exactly local midnight: a date stored without a time."""
        return and_(_WholeSecond(at), self._local_seconds(at) % DAY_SECONDS == 0)

    def at_or_after(self, at: Any, t0: Any) -> ColumnElement[bool]:
        """Whether an event at `at` comes at or after `t0`: as instants, or by local day when
        the event is a date without a time (a win dated the day of a 2 pm proposal is that
        day's, not 14 hours before it)."""
        return or_(at >= t0, and_(self.date_only(at), self.day(at) == self.day(t0)))


def is_date_only(moment: dt.datetime, zone: dt.tzinfo) -> bool:
    """`LocalDays.date_only` in Python: `moment` (naive UTC) is exactly local midnight."""
    local = moment.replace(tzinfo=dt.UTC).astimezone(zone).date()
    return moment == local_midnight_utc(zone, local)


@functools.lru_cache(maxsize=64)
def _offsets(key: str, start: dt.date, end: dt.date) -> tuple[tuple[dt.datetime, int], ...]:
    zone = ZoneInfo(key)
    first = local_midnight_utc(zone, start)
    last = local_midnight_utc(zone, end)
    return tuple(offset_changes(zone, first, last))


def offset_changes(
    zone: dt.tzinfo, first: dt.datetime, last: dt.datetime
) -> list[tuple[dt.datetime, int]]:
    """[(from, offset seconds)]: the offset in force at `first` (naive UTC), then each change
    up to `last`, at the second it takes effect (found day by day, then by halving: no
    zone changes its offset twice in a day)."""
    changes = [(first, _offset(zone, first))]
    moment = first
    while moment < last:
        following = moment + _DAY
        if _offset(zone, following) != changes[-1][1]:
            low, high = moment, following  # the change is in (low, high]
            while high - low > _SECOND:
                middle = (low + (high - low) / 2).replace(microsecond=0)
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


class _OffsetAt(FunctionElement[int]):
    """The offset in force at an instant, from the changes `_offsets` finds for the class's
    `span` (zone, first day, last day): one subclass per span (`_offset_at_class`), so the
    span is part of the statement's cache key. Written as constants, not bound values: 260
    changes over `HISTORY` as bound values cost 13 ms of CPU a statement to build and bind,
    where the count they sit in took 0.2 ms."""

    type = Integer()
    inherit_cache = True
    name = "offset_at"
    span: tuple[str, dt.date, dt.date]


@functools.lru_cache(maxsize=64)
def _offset_at_class(key: str, start: dt.date, end: dt.date) -> type[_OffsetAt]:
    """The `_OffsetAt` of one span (made once per span)."""
    attributes = {"span": (key, start, end), "inherit_cache": True}
    return type("_OffsetAtSpan", (_OffsetAt,), attributes)


def _offset_case(
    element: Any, compiler: SQLCompiler, moment: Callable[[dt.datetime], str], **kw: Any
) -> str:
    changes = _offsets(*element.span)
    at = compiler.process(element.clauses, **kw)
    whens = " ".join(
        f"WHEN {at} < {moment(when)} THEN {before}"
        for (_, before), (when, _) in itertools.pairwise(changes)
    )
    return f"(CASE {whens} ELSE {changes[-1][1]} END)"


@compiles(_OffsetAt)
def _offset_at(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    return _offset_case(element, compiler, lambda m: f"TIMESTAMP '{m.isoformat(' ')}'", **kw)


@compiles(_OffsetAt, "sqlite")
def _offset_at_sqlite(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps a naive datetime as text with six digits of fraction: compared as text.
    return _offset_case(
        element, compiler, lambda m: f"'{m.strftime('%Y-%m-%d %H:%M:%S.%f')}'", **kw
    )


class _EpochSeconds(FunctionElement[int]):
    """Whole seconds since 1970-01-01 00:00 UTC of a naive UTC instant."""

    type = BigInteger()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(_EpochSeconds)
def _epoch_seconds(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    at = compiler.process(element.clauses, **kw)
    return f"CAST(floor(EXTRACT(EPOCH FROM {at})) AS BIGINT)"


@compiles(_EpochSeconds, "sqlite")
def _epoch_seconds_sqlite(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


class _WholeSecond(FunctionElement[bool]):
    """Whether a naive instant has no fraction of a second (SQLite: to the millisecond, as
    `hours.midnight_minute` reads it)."""

    type = Boolean()
    inherit_cache = True
    name = "whole_second"


@compiles(_WholeSecond)
def _whole_second(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    at = compiler.process(element.clauses, **kw)
    return f"(date_trunc('second', {at}) = {at})"


@compiles(_WholeSecond, "sqlite")
def _whole_second_sqlite(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    return f"(substr(strftime('%f', {compiler.process(element.clauses, **kw)}), 3) = '.000')"
