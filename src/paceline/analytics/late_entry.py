"""Deals whose dates do not say when they were in the pipeline: one rule for every analysis.

CRMs date a deal's creation with the system's timestamp and its close with a date people
type, so a deal entered after it closed (a migration of old deals, a win logged late) is
"created" on the day it was entered, after its close. It was never open pipeline as far as
the records know: its creation is unknown (some time before its close), so it is counted as
no deal created and no deal coming in or going out of the pipeline, by the forecast
(`pipeline_history`) and the pipeline flow (`flow`) alike; its win is still revenue won.

A closed deal without a close date cannot be placed in time either: no import or API write
stores one (an import refuses a won or lost deal without `closed_at`, a person closing a
deal closes it now), but the column allows it, so a database written otherwise may hold
some. The forecast's curves cannot use one, so neither does its run rate: it is counted
apart, never read as a deal created (`closed_without_date`).

A close *date* (a date without a time, stored at exactly the business zone's midnight, as
every CRM mapping shipped stores close dates) may have happened at any hour of that day, so
its day of grace starts at the day's end: late from two days after its midnight. A win dated
Nov 10 and logged Nov 11 at 9 am (33 hours after the midnight) was counted as entered after
its close until 2026-12-08. Both forms read "date" as `local_days` does; the SQL form finds
the offset in force at the close from the zone's changes over `local_days.HISTORY`, asked only
of the few deals closed a day or more before their creation.

The rule is decided here, in Python (`entered_after_close`), where the analyses read the
deals one by one (the SQL conditions then only find the few candidates it is applied to), and
in SQL (`entered_after_close_sql`) where the database counts them (the deal metrics dated by
creation, `opportunities_created` and `opportunities_sourced`: a migration of closed deals
would otherwise count as that day's opportunities on scorecards, the tipping point and the
funnel). SQLite has no portable datetime arithmetic, so the SQL form is written per dialect,
exact to the microsecond on both, and a test holds it to the Python one.

The "as of" rule, for every analysis that reads deals as of a day: a deal is known as of a
day when it was entered (created) in the CRM before that day's end (`known_by`, and
`entered_before` in SQL). A win closed in the period but entered after the as-of day (a win
logged late, a migration) was not known then: the forecast and the flow never counted it,
and since 2026-12-07 neither do the deal metrics of scorecards, team totals, leaderboards,
alerts and the weekly report (`metrics.metric_totals`), nor a backtest's run rate and its
"any win before the cut-off" (`backtest`). Read as of today (after every creation) nothing
changes. A deal dated by its creation inside a window that ends by the as-of day is known by
construction; the bound only bites on deals dated by their close.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, ColumnElement, and_, not_, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FunctionElement

from paceline.analytics.local_days import LocalDays, is_date_only
from paceline.calendar import local_midnight_utc
from paceline.store.models import Deal

ONE_DAY = dt.timedelta(days=1)
OPEN = "open"


def known_by(created_at: dt.datetime, end: dt.datetime) -> bool:
    """Whether a deal created at `created_at` was in the CRM before `end` (the end of the
    as-of day, `as_of_end`): the as-of rule, in Python."""
    return created_at < end


def entered_before(end: dt.datetime | ColumnElement[dt.datetime]) -> ColumnElement[bool]:
    """`known_by` in SQL: the deals entered before `end` (an instant, or a bound parameter
    for statements built once and bound per call)."""
    return Deal.created_at < end


def as_of_end(zone: dt.tzinfo, as_of: dt.date) -> dt.datetime:
    """The end of the business-local day `as_of` as a naive UTC instant: what was entered
    before it was known as of that day."""
    return local_midnight_utc(zone, as_of + ONE_DAY)


def entered_after_close(
    created_at: dt.datetime, closed_at: dt.datetime | None, zone: dt.tzinfo
) -> bool:
    """Whether a deal created at `created_at` and closed at `closed_at` was entered in the CRM
    after it closed: closed a day or more before its creation. A close *date* on the creation
    day is midnight before a creation that day: less than a day, a same-day close, kept.

    A close with a date and no time (stored at exactly local midnight in `zone`: HubSpot,
    Salesforce, Close and Zoho close dates) may have happened any time that day, so its day
    of grace starts at the day's end: late from two days after its midnight. A win dated
    Nov 10 and logged Nov 11 at 9 am (33 hours) is not late; until 2026-12-08 it was."""
    if closed_at is None:
        return False
    return entered_after_close_dated(created_at, closed_at, is_date_only(closed_at, zone))


def entered_after_close_dated(
    created_at: dt.datetime, closed_at: dt.datetime | None, closed_is_date: bool
) -> bool:
    """`entered_after_close` for a close already known to be a date or a time."""
    if closed_at is None:
        return False
    grace = 2 * ONE_DAY if closed_is_date else ONE_DAY
    return created_at - closed_at >= grace


def closed_before_created() -> ColumnElement[bool]:
    """The candidates of `entered_after_close`: closed deals whose close is before their
    creation (by any amount; the rule then decides which are a day or more)."""
    return and_(Deal.status != OPEN, Deal.closed_at < Deal.created_at)


def not_closed_before_created() -> ColumnElement[bool]:
    """The complement of `closed_before_created`, NULL close dates included (a plain NOT
    would drop them: a comparison with NULL is neither true nor false)."""
    return or_(Deal.status == OPEN, Deal.closed_at.is_(None), Deal.closed_at >= Deal.created_at)


def closed_without_date() -> ColumnElement[bool]:
    """Closed (won or lost) deals with no close date: not placeable in time."""
    return and_(Deal.status != OPEN, Deal.closed_at.is_(None))


def placed_in_time() -> ColumnElement[bool]:
    """The complement of `closed_without_date`: open deals, and closed ones with a close date
    (what the forecast's curves and its deals created read)."""
    return or_(Deal.status == OPEN, Deal.closed_at.is_not(None))


class _ClosedADayBeforeCreated(FunctionElement[bool]):
    """`Deal.created_at - Deal.closed_at >= 1 day`, in each dialect's words (NULL when the
    close date is NULL)."""

    type = Boolean()
    inherit_cache = True
    name = "closed_a_day_before_created"
    days = 1


class _ClosedTwoDaysBeforeCreated(_ClosedADayBeforeCreated):
    """`Deal.created_at - Deal.closed_at >= 2 days`: the grace of a close date."""

    inherit_cache = True
    name = "closed_two_days_before_created"
    days = 2


@compiles(_ClosedADayBeforeCreated)
@compiles(_ClosedTwoDaysBeforeCreated)
def _compile_interval(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    created, closed = (compiler.process(c, **kw) for c in (Deal.created_at, Deal.closed_at))
    return f"({created} - {closed} >= INTERVAL '{element.days} day')"


@compiles(_ClosedADayBeforeCreated, "sqlite")
@compiles(_ClosedTwoDaysBeforeCreated, "sqlite")
def _compile_sqlite(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps a naive UTC datetime as text, 'YYYY-MM-DD HH:MM:SS.ffffff': the day after
    # the close at the same time of day is the next date followed by the close's own time
    # (characters 11 on), and such texts compare as the instants do. Exact to the
    # microsecond, where julianday() would round to the millisecond and subtract in floats.
    created, closed = (compiler.process(c, **kw) for c in (Deal.created_at, Deal.closed_at))
    return f"({created} >= date({closed}, '+{element.days} day') || substr({closed}, 11))"


@functools.lru_cache(maxsize=16)  # one expression per zone, reused by every statement
def _late(zone: ZoneInfo | None) -> ColumnElement[bool]:
    """A day or more after a timed close, two after a close date (`entered_after_close`);
    the date's test is asked last, of the few deals closed a day or more before creation.
    Without a zone (a forecast scope built by hand) every close is read as timed."""
    if zone is None:
        return _ClosedADayBeforeCreated()
    dated = LocalDays.over_history(zone).date_only(Deal.closed_at)
    return and_(_ClosedADayBeforeCreated(), or_(not_(dated), _ClosedTwoDaysBeforeCreated()))


def entered_after_close_sql(zone: ZoneInfo | None) -> ColumnElement[bool]:
    """`entered_after_close` in SQL, for counts the database makes: closed deals whose close
    is a day or more before their creation (two for a close date)."""
    return and_(Deal.status != OPEN, Deal.closed_at.is_not(None), _late(zone))


def not_entered_after_close(zone: ZoneInfo | None) -> ColumnElement[bool]:
    """The complement of `entered_after_close_sql`, NULL close dates included (open deals,
    closed ones without a close date, and those closed less than a day (two for a close
    date) before their creation or after it). Closed after the creation is asked before the
    day's arithmetic: a plain comparison most closed deals answer."""
    return or_(
        Deal.status == OPEN,
        Deal.closed_at.is_(None),
        Deal.closed_at >= Deal.created_at,
        not_(_late(zone)),
    )
