"""Who did how much, and how much of it was selling: the first look at a period.

Every selling rep working in the period is listed, those who logged nothing last (with
zeros): leaving them out hid exactly the rep a manager needed to see.

Selling is decided in SQL from kind and Ask under the current configuration (the seeds'
rule), and everything is aggregated in the database: Python receives one row per rep.

The selling share of time is over the minutes logged. An activity with no duration (Zoho's
events, a CRM that keeps none) adds no minute to either side, so its time is unknown, not
zero: such activities are counted (`without_duration`) for the faces to say so, where a
rep whose 136 meetings had no duration read "100% selling time" with nothing to tell that
the meetings were not in it. A rep with activities but no minute has no share at all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, case, func, select

from paceline.analytics.metric_sql import selling_condition
from paceline.analytics.scorecard import active_paced_reps
from paceline.calendar import BusinessCalendar, Period, PeriodKind
from paceline.config import Settings
from paceline.store.models import Activity, Rep, Team


@dataclass(frozen=True)
class RepActivity:
    rep: str
    team: str | None
    role: str
    activities: int
    selling: int
    non_selling: int
    with_ask: int
    engaged: int
    logged_minutes: float
    selling_minutes: float
    without_duration: int = 0  # activities whose duration is not recorded: in no minute

    @property
    def selling_share_of_time(self) -> float | None:
        return self.selling_minutes / self.logged_minutes if self.logged_minutes else None


@dataclass(frozen=True)
class ActivitySummary:
    period: Period
    as_of: dt.date
    business_days_elapsed: int
    business_days_total: int
    reps: list[RepActivity]

    @property
    def total_activities(self) -> int:
        return sum(r.activities for r in self.reps)

    @property
    def total_selling(self) -> int:
        return sum(r.selling for r in self.reps)

    @property
    def without_duration(self) -> int:
        return sum(r.without_duration for r in self.reps)


def activity_summary(
    engine: Engine,
    settings: Settings,
    period_kind: PeriodKind = "week",
    as_of: dt.date | None = None,
) -> ActivitySummary:
    calendar = BusinessCalendar(settings.calendar)
    as_of = as_of or calendar.today()
    period = calendar.period(period_kind, as_of)
    selling = selling_condition(settings)
    minutes = func.coalesce(Activity.duration_min, 0.0)
    counts = (
        select(
            Activity.rep_id,
            func.count().label("activities"),
            func.sum(case((selling, 1), else_=0)).label("selling"),
            func.sum(case((Activity.has_ask, 1), else_=0)).label("with_ask"),
            func.sum(case((Activity.engaged, 1), else_=0)).label("engaged"),
            func.sum(minutes).label("logged_minutes"),
            func.sum(case((selling, minutes), else_=0.0)).label("selling_minutes"),
            func.sum(case((Activity.duration_min.is_(None), 1), else_=0)).label("untimed"),
        )
        .where(Activity.local_date >= period.start, Activity.local_date <= as_of)
        .group_by(Activity.rep_id)
        .subquery()
    )
    query = (
        select(Rep.id, Rep.name, Team.name, Rep.role, counts)
        .join(counts, counts.c.rep_id == Rep.id)
        .outerjoin(Team, Team.id == Rep.team_id)
        .order_by(counts.c.activities.desc(), Rep.name)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
        # Working in the period to date: the as-of day included, as the activities' read is
        # (a rep whose first day it is, with nothing logged yet, is listed with zeros).
        through = as_of + dt.timedelta(days=1)
        roster = active_paced_reps(conn, settings, Period(period.kind, period.start, through))
    reps = [
        RepActivity(
            rep=r[1],
            team=r[2],
            role=r[3],
            activities=int(r.activities),
            selling=int(r.selling),
            non_selling=int(r.activities - r.selling),
            with_ask=int(r.with_ask),
            engaged=int(r.engaged),
            logged_minutes=float(r.logged_minutes),
            selling_minutes=float(r.selling_minutes),
            without_duration=int(r.untimed),
        )
        for r in rows
    ]
    # A selling rep who logged nothing is the first one a manager wants to see, not a gap.
    logged = {int(r[0]) for r in rows}
    idle = sorted((r for r in roster if r.id not in logged), key=lambda r: r.name)
    reps += [RepActivity(r.name, r.team, r.role, 0, 0, 0, 0, 0, 0.0, 0.0) for r in idle]
    return ActivitySummary(
        period=period,
        as_of=as_of,
        business_days_elapsed=calendar.business_days(period.start, as_of + dt.timedelta(days=1)),
        business_days_total=calendar.business_days(period.start, period.end),
        reps=reps,
    )
