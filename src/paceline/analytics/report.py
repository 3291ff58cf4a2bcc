"""The weekly reports: a rep's one-on-one brief and a manager's team report, as data.

A one-on-one needs five things on one page: where the rep stands (the week's and the
month's pace), what moved since last week, why (the diagnosis's findings and the coaching
they call for), which deals are going quiet, and what next week asks for. A manager needs the
team at a glance, who needs attention and why, the forecast and the pipeline's flow.

Nothing here is computed anew: each part is the result of its own analysis (`scorecard`,
`diagnose`, `stalled`, `forecast`, `flow`, `targets`), so the report never disagrees with the
pages. The only arithmetic of its own is the week-over-week change, and it is like for like:
the week to the as-of day against the week before to the same weekday (a whole week against
a whole week once the week is over), so a Wednesday report never compares three days with
five; and a sum of amounts that left deals out for want of an amount in either week is not
compared at all (`MetricChange.comparable`), each week saying what it left out, where an
average over the deals with an amount (revenue per win) is compared on that known part,
each week saying how many deals it rests on. No formatting here: `paceline.reports`
renders these results as HTML, text and PDF.

A rep who left (`Rep.end_date`) is paced to their last day by the scorecards; the report
carries that day so faces say "left <date>", asks nothing of the days after it (next week's
targets stop at the last day, and none at all once they are gone), and a team report keeps a
rep who left before its as-of day out of "who needs attention": nobody is left to coach.

Which week: the week containing the day asked for (default: last week, the Monday digest),
read to its last day, or to today while it is still running (`report_day`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import Engine

from paceline.analytics.alerts import Alert
from paceline.analytics.diagnose import Finding, RepDiagnosis, TeamDiagnosis, diagnose_rep
from paceline.analytics.diagnose import diagnose_team as diagnose_whole_team
from paceline.analytics.flow import FlowReport, pipeline_flow
from paceline.analytics.forecast import Forecast, forecast
from paceline.analytics.metrics import (
    AverageOf,
    base_metrics,
    known_average_of,
    metric_totals,
    metric_value,
    ratio_parts,
)
from paceline.analytics.pacing import STATUS_ORDER, Status
from paceline.analytics.rollup import ensure_rollup
from paceline.analytics.scorecard import (
    MetricLine,
    Scorecard,
    TeamScorecard,
    amounts_unknown,
    rep_scorecard,
    team_scorecards,
)
from paceline.analytics.stalled import StalledDeal
from paceline.analytics.targets import period_targets
from paceline.analytics.window import diagnosis_window
from paceline.calendar import BusinessCalendar, Period
from paceline.config import Settings, Unit
from paceline.errors import UserInputError
from paceline.store.names import name_key
from paceline.store.records import team_ids

WEEK = dt.timedelta(days=7)
FLOW_WINDOW = "56d"  # the team report's pipeline flow: the last eight weeks
FORECAST_PERIOD = "quarter"


@dataclass(frozen=True)
class MetricChange:
    """One key metric this week to date against last week to the same weekday."""

    metric: str
    label: str
    unit: Unit
    is_ratio: bool
    higher_is_better: bool
    current: float | None  # None: a ratio with nothing to divide by, or not recorded
    previous: float | None
    # What is missing when nobody in the organisation records the metric (the scorecard
    # line's `unrecorded`): no figure either week, so no change, never "0 against 0".
    unrecorded: str | None = None
    # Deals each week's figure left out for want of an amount (a sum of amounts behind the
    # metric, or behind a ratio's part): the figure adds the known amounts only.
    amounts_unknown: int = 0
    previous_amounts_unknown: int = 0
    # An average over the deals with an amount (revenue per win: "win",
    # `metrics.known_average_of`), and the deals each week's average rests on (its
    # denominator): the faces say "per win with an amount: 3 of 4". None: any other metric.
    average_of: AverageOf | None = None
    known: float | None = None
    previous_known: float | None = None

    @property
    def comparable(self) -> bool:
        """Whether the two weeks' figures can be subtracted: not when either is a sum (or a
        sum over a whole count) that left deals out for want of an amount. An unknown amount
        can be of any size, so the difference of two partial sums is not the change of the
        whole: a week whose wins all lacked an amount read as a drop of everything the week
        before had won. An average over the deals with an amount is an estimate over the
        known part either week, so two of them are compared (said with their counts): it
        read "not comparable" whenever one win of either week lacked an amount."""
        if self.average_of is not None:
            return True
        return not (self.amounts_unknown or self.previous_amounts_unknown)

    @property
    def change(self) -> float | None:
        """This week's figure less last week's (None: nothing to compare, or not comparable)."""
        if self.current is None or self.previous is None or not self.comparable:
            return None
        return self.current - self.previous

    @property
    def relative(self) -> float | None:
        """The change as a share of last week's figure (None from zero: no share of nothing)."""
        change = self.change
        if change is None or not self.previous:
            return None
        return change / self.previous

    @property
    def better(self) -> bool | None:
        """Whether the change is good news (None: no change, or nothing to compare)."""
        change = self.change
        if not change:
            return None
        return (change > 0) == self.higher_is_better


@dataclass(frozen=True)
class NextTarget:
    """What next week asks of one key metric."""

    metric: str
    label: str
    unit: Unit
    is_ratio: bool
    target: float | None  # next week's target, stored or prorated (a rate: its level)
    # To finish the month on target: the month's needed-per-day times next week's business
    # days in the month (None: a rate, no month target, or next week is in the next month).
    month_needed: float | None


@dataclass(frozen=True)
class RepReport:
    rep: str
    rep_id: int
    role: str
    team: str | None
    as_of: dt.date
    week: Period
    compared_from: dt.date  # last week's span compared: [compared_from, compared_to)
    compared_to: dt.date
    week_card: Scorecard
    month_card: Scorecard
    changes: list[MetricChange]
    diagnosis: RepDiagnosis
    next_week: Period
    next_targets: list[NextTarget]
    # The rep's last day when they left (faces say "left <date>"); next week asks nothing of
    # the days after it.
    end_date: dt.date | None = None

    @property
    def departs(self) -> bool:
        """Whether the rep's last day is before the end of the report's week: faces say so,
        "left <date>" once it is before the as-of day (`left`), "leaves <date>" up to it."""
        return self.end_date is not None and self.end_date < self.week.end

    @property
    def left(self) -> bool:
        """Whether the rep's last day is before the as-of day (gone), as on the scorecards."""
        return self.end_date is not None and self.end_date < self.as_of

    @property
    def stalled(self) -> list[StalledDeal]:
        """The rep's stalled deals, largest first (the diagnosis's, read as of the day)."""
        return list(self.diagnosis.stalled.deals) if self.diagnosis.stalled else []


@dataclass(frozen=True)
class Attention:
    """A rep a manager should look at this week, and why (the faces word the findings)."""

    rep: str
    rep_id: int
    status: Status  # the month's pace
    alerts: list[Alert]
    findings: list[Finding]
    diagnosis: RepDiagnosis


@dataclass(frozen=True)
class TeamReport:
    team: str
    as_of: dt.date
    week: Period
    compared_from: dt.date
    compared_to: dt.date
    week_cards: TeamScorecard
    month_cards: TeamScorecard
    changes: list[MetricChange]  # the team's totals (rates pooled)
    attention: list[Attention]  # reps with findings: alerts first, then most findings
    quiet: list[str]  # the selling reps with nothing to say about
    forecast: Forecast | None  # None: the forecast could not be made (no deal history)
    forecast_note: str | None  # why not
    flow: FlowReport
    # The last day of each rep (by id) whose last day is before the report's week ends: faces
    # say "left <date>" when it is before the as-of day, "leaves <date>" up to it (as the
    # scorecards); one who left before the as-of day is in neither `attention` nor `quiet`.
    left: dict[int, dt.date] = field(default_factory=dict)


def report_day(settings: Settings, week: dt.date | None, today: dt.date) -> dt.date:
    """The as-of day of the report on the week containing `week` (None: last week): the
    week's last day, or `today` while that week is still running. A week after today has
    nothing to report yet: an error."""
    calendar = BusinessCalendar(settings.calendar)
    day = week if week is not None else today - WEEK
    period = calendar.period("week", day)
    if period.start > today:
        raise UserInputError(f"week: the week of {day.isoformat()} has not started yet")
    return min(period.last_day, today)


def rep_report(engine: Engine, settings: Settings, rep: str, as_of: dt.date) -> RepReport:
    """The weekly one-on-one report of `rep`, on the week containing `as_of`, read to it."""
    calendar = BusinessCalendar(settings.calendar)
    window = diagnosis_window(settings, settings.diagnose.window, as_of)
    diagnosis = diagnose_rep(engine, settings, window, rep)
    week_card = rep_scorecard(engine, settings, diagnosis.rep, "week", as_of)
    month_card = rep_scorecard(engine, settings, diagnosis.rep, "month", as_of)
    week = week_card.period
    key = [line.metric for line in week_card.lines]
    missing = _unrecorded(week_card.lines)
    changes = week_changes(engine, settings, [diagnosis.rep_id], key, week, as_of, missing)
    next_week = calendar.period("week", week.end)
    return RepReport(
        rep=diagnosis.rep,
        rep_id=diagnosis.rep_id,
        role=diagnosis.role,
        team=diagnosis.team,
        as_of=as_of,
        week=week,
        compared_from=week.start - WEEK,
        compared_to=as_of + dt.timedelta(days=1) - WEEK,
        week_card=week_card,
        month_card=month_card,
        changes=changes,
        diagnosis=diagnosis,
        next_week=next_week,
        next_targets=_next_targets(engine, settings, diagnosis.rep_id, month_card, next_week),
        end_date=month_card.end_date,
    )


def team_report(engine: Engine, settings: Settings, team: str, as_of: dt.date) -> TeamReport:
    """The weekly report on a team for its manager, on the week containing `as_of`."""
    week_cards = team_scorecards(engine, settings, "week", as_of, team)
    month_cards = team_scorecards(engine, settings, "month", as_of, team)
    name = _stored_team(engine, team)
    window = diagnosis_window(settings, settings.diagnose.window, as_of)
    diagnosis = diagnose_whole_team(engine, settings, window, name)
    week = week_cards.period
    key = list(dict.fromkeys(line.metric for line in week_cards.total))
    ids = [c.rep_id for c in week_cards.reps]
    outlook, note = _forecast(engine, settings, as_of, name)
    flow = pipeline_flow(
        engine, settings, diagnosis_window(settings, FLOW_WINDOW, as_of), team=name
    )
    left = {c.rep_id: c.end_date for c in month_cards.reps if c.end_date and c.end_date < week.end}
    attention, quiet = _attention(diagnosis, month_cards, as_of)
    return TeamReport(
        team=name,
        as_of=as_of,
        week=week,
        compared_from=week.start - WEEK,
        compared_to=as_of + dt.timedelta(days=1) - WEEK,
        week_cards=week_cards,
        month_cards=month_cards,
        changes=week_changes(
            engine, settings, ids, key, week, as_of, _unrecorded(week_cards.total)
        ),
        attention=attention,
        quiet=quiet,
        forecast=outlook,
        forecast_note=note,
        flow=flow,
        left=left,
    )


def _stored_team(engine: Engine, team: str) -> str:
    """The team's name as stored (it was checked to exist by the scorecards)."""
    found = team_ids(engine).get(name_key(team))
    return found[1] if found else team


def _unrecorded(lines: list[MetricLine]) -> dict[str, str]:
    """The cards' metrics nobody records, and what each lacks."""
    return {line.metric: line.unrecorded for line in lines if line.unrecorded}


def week_changes(
    engine: Engine,
    settings: Settings,
    rep_ids: list[int],
    metrics: list[str],
    week: Period,
    as_of: dt.date,
    unrecorded: Mapping[str, str] | None = None,
) -> list[MetricChange]:
    """Each metric over the reps, the week to `as_of` against the week before to the same
    weekday (rates pooled: summed parts divided, never an average of the reps' rates).

    Each week carries the deals its figure left out for want of an amount, counted in the
    query that summed the known ones; either week's count makes the change not comparable
    (`MetricChange.comparable`). A metric in `unrecorded` (nobody in the organisation has
    any, as the week's cards found) has no figure either week: the report's table said "0,
    0, ±0" beside the cards' "not recorded" (the Zoho export's proposals)."""
    missing = unrecorded or {}
    if not metrics or not rep_ids:
        return []
    end = min(as_of + dt.timedelta(days=1), week.end)
    needed = base_metrics(settings, metrics)
    ensure_rollup(engine, settings)
    with engine.connect() as conn:
        now = metric_totals(conn, settings, needed, week.start, end, rep_ids, as_of=as_of)
        # The week before as known now: a win of that week entered since counts there.
        before = metric_totals(
            conn, settings, needed, week.start - WEEK, end - WEEK, rep_ids, as_of=as_of
        )
    changes = []
    for name in metrics:
        metric = settings.metric(name)
        average_of = known_average_of(settings, name)
        changes.append(
            MetricChange(
                metric=name,
                label=metric.label or name,
                unit=settings.metric_unit(name),
                is_ratio=metric.aggregate == "ratio",
                higher_is_better=metric.higher_is_better,
                current=None if name in missing else metric_value(settings, now, rep_ids, name),
                previous=None if name in missing else metric_value(settings, before, rep_ids, name),
                unrecorded=missing.get(name),
                amounts_unknown=amounts_unknown(settings, now, rep_ids, name),
                previous_amounts_unknown=amounts_unknown(settings, before, rep_ids, name),
                average_of=average_of,
                known=ratio_parts(settings, now, rep_ids, name)[1] if average_of else None,
                previous_known=ratio_parts(settings, before, rep_ids, name)[1]
                if average_of
                else None,
            )
        )
    return changes


def _next_targets(
    engine: Engine, settings: Settings, rep_id: int, month: Scorecard, next_week: Period
) -> list[NextTarget]:
    """What next week asks of each key metric, over the days the rep is still there: a
    leaver's stored target is cut pro rata to the last day, and nothing is asked once gone."""
    calendar = BusinessCalendar(settings.calendar)
    names = [line.metric for line in month.lines]
    with engine.connect() as conn:
        stored = period_targets(conn, calendar, next_week, names, [rep_id])
    until = _until_last_day(next_week.end, month.end_date)
    start, end = max(next_week.start, month.period.start), min(until, month.period.end)
    days_in_month = calendar.business_days(start, end) if start < end else 0
    present = _present_share(calendar, next_week, until)
    return [
        _next_target(line, _cut(stored.get((rep_id, line.metric)), present), days_in_month)
        if present
        else _nothing_asked(line)
        for line in month.lines
    ]


def _until_last_day(end: dt.date, last_day: dt.date | None) -> dt.date:
    """`end` (exclusive), or the day after the rep's last day when that comes first."""
    return end if last_day is None else min(end, last_day + dt.timedelta(days=1))


def _present_share(calendar: BusinessCalendar, week: Period, until: dt.date) -> float:
    """The share of the week's business days before `until` (1 for a week without any)."""
    total = calendar.business_days(week.start, week.end)
    if until >= week.end or not total:
        return 1.0
    return calendar.business_days(week.start, until) / total if until > week.start else 0.0


def _cut(target: float | None, share: float) -> float | None:
    return None if target is None else target * share


def _nothing_asked(line: MetricLine) -> NextTarget:
    """Next week's line for a rep gone before it starts: no target, nothing needed."""
    return NextTarget(line.metric, line.label, line.unit, line.is_ratio, None, None)


def _next_target(line: MetricLine, target: float | None, days_in_month: int) -> NextTarget:
    needed = line.pace.needed_per_day
    month_needed = (
        needed * days_in_month
        # a metric nobody records: asking for the rest of its target would ask the impossible
        if needed is not None and days_in_month and not line.is_ratio and line.recorded
        else None
    )
    return NextTarget(
        metric=line.metric,
        label=line.label,
        unit=line.unit,
        is_ratio=line.is_ratio,
        target=line.pace.target if line.is_ratio else target,
        month_needed=month_needed,
    )


def _forecast(
    engine: Engine, settings: Settings, as_of: dt.date, team: str
) -> tuple[Forecast | None, str | None]:
    """The quarter's forecast for the team; a team without the history it needs gets the
    reason instead (the report still goes out)."""
    try:
        return forecast(engine, settings, FORECAST_PERIOD, as_of, team=team), None
    except UserInputError as exc:
        return None, str(exc)


def _attention(
    diagnosis: TeamDiagnosis, month: TeamScorecard, as_of: dt.date
) -> tuple[list[Attention], list[str]]:
    """Reps with something to say, alerts first, then the most findings; and the rest. A rep
    who left before `as_of` is in neither: there is nobody left to look at."""
    status = {c.rep_id: c.status for c in month.reps}
    gone = {c.rep_id for c in month.reps if c.end_date is not None and c.end_date < as_of}
    present = [d for d in diagnosis.reps if d.rep_id not in gone]
    found = [
        Attention(
            rep=d.rep,
            rep_id=d.rep_id,
            status=status.get(d.rep_id, "no_target"),
            alerts=d.alerts,
            findings=d.findings,
            diagnosis=d,
        )
        for d in present
        if d.findings
    ]
    found.sort(key=lambda a: (-len(a.alerts), STATUS_ORDER[a.status], -len(a.findings), a.rep))
    quiet = sorted(d.rep for d in present if not d.findings)
    return found, quiet
