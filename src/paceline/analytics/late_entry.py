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

The rule is decided here, in Python (`entered_after_close`), as SQLite has no portable
datetime arithmetic; the SQL conditions only find the few candidates it is applied to.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, and_, or_

from paceline.store.models import Deal

ONE_DAY = dt.timedelta(days=1)
OPEN = "open"


def entered_after_close(created_at: dt.datetime, closed_at: dt.datetime | None) -> bool:
    """Whether a deal created at `created_at` and closed at `closed_at` was entered in the CRM
    after it closed: closed a day or more before its creation. A close *date* on the creation
    day is midnight before a creation that day: less than a day, a same-day close, kept."""
    return closed_at is not None and created_at - closed_at >= ONE_DAY


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
