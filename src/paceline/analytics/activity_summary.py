"""Who did how much, and how much of it was selling: the first look at a period.

Every selling rep working in the period is listed, those who logged nothing last (with
zeros): leaving them out hid exactly the rep a manager needed to see.

Selling is decided in SQL from kind and Ask under the current configuration (the seeds'
rule), and everything is aggregated in the database: Python receives one row per rep and kind.

The selling share of time is over the minutes logged. An activity with no duration (Zoho's
events, a CRM that keeps none) adds no minute to either side, so its time is unknown, not
zero: such activities are counted (`without_duration`) for the faces to say so, where a
rep whose 136 meetings had no duration read "100% selling time" with nothing to tell that
the meetings were not in it. A rep with activities but no minute has no share at all.

Whether an activity is selling needs its Ask (under `require_ask`). A selling kind on which
nobody in the organisation has ever recorded an Ask (Zoho's events: the export has no such
field) is neither selling nor non-selling but unknown (`ask_not_recorded`, the rule of
`step_rules.recorded_kinds` that busy vs productive follows): counted as non-selling, the
Zoho export's 136 demos of March 2021 made Harold Pawlan's month read 136 non-selling
activities. Their minutes are left out of the selling share, as unknown ones.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, Row, Select, case, func, select

from paceline.analytics.metric_sql import selling_condition
from paceline.analytics.rollup import ensure_rollup
from paceline.analytics.scorecard import active_paced_reps
from paceline.analytics.step_rules import recorded_kinds
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
    # Activities of a selling kind on which nobody records an Ask (`ActivitySummary.
    # asks_not_recorded`): neither selling nor non-selling, and their minutes.
    ask_not_recorded: int = 0
    ask_not_recorded_minutes: float = 0.0

    @property
    def selling_share_of_time(self) -> float | None:
        """Selling minutes over the minutes whose selling is known; None when there are none."""
        known = self.logged_minutes - self.ask_not_recorded_minutes
        return self.selling_minutes / known if known > 0 else None


@dataclass(frozen=True)
class ActivitySummary:
    period: Period
    as_of: dt.date
    business_days_elapsed: int
    business_days_total: int
    reps: list[RepActivity]
    # The selling kinds done in the period on which nobody has recorded an Ask (up to the
    # as-of day): whether they were selling is not known.
    asks_not_recorded: list[str] = field(default_factory=list)

    @property
    def total_activities(self) -> int:
        return sum(r.activities for r in self.reps)

    @property
    def total_selling(self) -> int:
        return sum(r.selling for r in self.reps)

    @property
    def total_non_selling(self) -> int:
        return sum(r.non_selling for r in self.reps)

    @property
    def total_ask_not_recorded(self) -> int:
        return sum(r.ask_not_recorded for r in self.reps)

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
    end = as_of + dt.timedelta(days=1)
    ensure_rollup(engine, settings)  # whose Ask is recorded is read from `kind_day`
    with engine.connect() as conn:
        rows = conn.execute(_counts(settings, period.start, end)).all()
        unknown = _asks_not_recorded(conn, settings, rows, end)
        # The roster of the days read, the as-of day included ([start, end)).
        roster = active_paced_reps(conn, settings, Period(period.kind, period.start, end))
    reps = _rep_lines(rows, unknown)
    # A selling rep who logged nothing is the first one a manager wants to see, not a gap.
    logged = {int(r.id) for r in rows}
    idle = sorted((r for r in roster if r.id not in logged), key=lambda r: r.name)
    reps += [RepActivity(r.name, r.team, r.role, 0, 0, 0, 0, 0, 0.0, 0.0) for r in idle]
    return ActivitySummary(
        period=period,
        as_of=as_of,
        business_days_elapsed=calendar.business_days(period.start, end),
        business_days_total=calendar.business_days(period.start, period.end),
        reps=reps,
        asks_not_recorded=sorted(unknown),
    )


def _counts(settings: Settings, start: dt.date, end: dt.date) -> Select[Any]:
    """One row per rep and kind over the local days [start, end): a few rows per rep."""
    selling = selling_condition(settings)
    minutes = func.coalesce(Activity.duration_min, 0.0)
    counts = (
        select(
            Activity.rep_id,
            Activity.kind,
            func.count().label("activities"),
            func.sum(case((selling, 1), else_=0)).label("selling"),
            func.sum(case((Activity.has_ask, 1), else_=0)).label("with_ask"),
            func.sum(case((Activity.engaged, 1), else_=0)).label("engaged"),
            func.sum(minutes).label("logged_minutes"),
            func.sum(case((selling, minutes), else_=0.0)).label("selling_minutes"),
            func.sum(case((Activity.duration_min.is_(None), 1), else_=0)).label("untimed"),
        )
        .where(Activity.local_date >= start, Activity.local_date < end)
        .group_by(Activity.rep_id, Activity.kind)
        .subquery()
    )
    return (
        select(Rep.id, Rep.name, Team.name.label("team"), Rep.role, counts)
        .join(counts, counts.c.rep_id == Rep.id)
        .outerjoin(Team, Team.id == Rep.team_id)
    )


def _asks_not_recorded(
    conn: Connection, settings: Settings, rows: Sequence[Row[Any]], end: dt.date
) -> frozenset[str]:
    """The selling kinds done in the rows on which nobody has recorded an Ask before `end`
    (none when selling does not need an Ask): the rows' own Asks answer first."""
    if not settings.selling.require_ask:
        return frozenset()
    attempted = {r.kind for r in rows if r.kind in settings.selling_kinds}
    seen = {r.kind for r in rows if r.with_ask}
    return frozenset(attempted - recorded_kinds(conn, attempted, seen, end, "asks"))


def _rep_lines(rows: Sequence[Row[Any]], unknown: frozenset[str]) -> list[RepActivity]:
    """The rows summed per rep, most activities first; `unknown`: kinds whose Ask is not
    recorded, in neither selling nor non-selling."""
    by_rep: dict[int, list[Row[Any]]] = defaultdict(list)
    for r in rows:
        by_rep[int(r.id)].append(r)
    lines = []
    for kinds in by_rep.values():
        first = kinds[0]
        activities = sum(int(k.activities) for k in kinds)
        selling = sum(int(k.selling) for k in kinds)
        not_recorded = sum(int(k.activities) for k in kinds if k.kind in unknown)
        lines.append(
            RepActivity(
                rep=first.name,
                team=first.team,
                role=first.role,
                activities=activities,
                selling=selling,
                non_selling=activities - selling - not_recorded,
                with_ask=sum(int(k.with_ask) for k in kinds),
                engaged=sum(int(k.engaged) for k in kinds),
                logged_minutes=math.fsum(float(k.logged_minutes) for k in kinds),
                selling_minutes=math.fsum(float(k.selling_minutes) for k in kinds),
                without_duration=sum(int(k.untimed) for k in kinds),
                ask_not_recorded=not_recorded,
                ask_not_recorded_minutes=math.fsum(
                    float(k.logged_minutes) for k in kinds if k.kind in unknown
                ),
            )
        )
    return sorted(lines, key=lambda r: (-r.activities, r.rep))
