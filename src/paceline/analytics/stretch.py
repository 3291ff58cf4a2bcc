"""The stretch of days the behind-pace and zero alerts read, and each rep's pace over it.

Month-to-date is the natural stretch, but not on its first days: on business day 1 a field rep
is expected a handful of activities, and no shortfall that small can be told from chance, so
nobody could ever be alerted before mid-month. While the alert period is younger than
`[alerts] min_business_days`, the alerts read the trailing `min_business_days` business days
instead, reaching back into the previous period(s). Each day is expected at the daily rate of
its own period's target (target / business days of that period), as pacing prorates anyway;
a distinct count paced by its accrual curve is read per period instead (`accrued_between`,
`periods_new`): of each period the stretch touches, its target times how far its curve
climbs over the stretch's days there, against the things first touched in that period on
those days; of this period, exactly the card's expected-to-date and actual.
The stretch is therefore always at least `min_business_days` long, and says so in the alert.
The reps' clustering is then measured before the stretch, not before the period: a stretch
reaching into last month must not be judged by a history that contains it.

A line whose target does not cover every period the stretch touches (targets set from this
month on, or a rep's first month's only) keeps its period-to-date reading: over the stretch,
its actual would count last month's work while its expected counted this month's days only
(a rep with nothing this month, who worked last month without a target, read 130 against 20
expected and was never told; the month alone says 0 of 20).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from sqlalchemy import Connection

from paceline.analytics.dispersion import (
    POISSON,
    POOLED,
    Dispersions,
    HistoryRep,
    suspects_dispersions,
)
from paceline.analytics.metrics import base_value, metric_totals
from paceline.analytics.pacing import Pace
from paceline.analytics.pacing import status as pace_status
from paceline.analytics.scorecard import (
    IN_LIST_LIMIT,
    MetricLine,
    Scorecard,
    is_counted,
    needs_dispersion,
    unrecorded_pace,
)
from paceline.analytics.targets import period_targets
from paceline.calendar import BusinessCalendar, Period, PeriodKind
from paceline.config import Settings

Rates = dict[tuple[int, str], list[tuple[Period, float]]]  # (rep, metric) -> per-period rate


@dataclass(frozen=True)
class Stretch:
    """Local days [start, end) the pace alerts read; `trailing` when it starts before the
    alert period (the period was too young)."""

    start: dt.date
    end: dt.date
    business_days: int
    trailing: bool


def alert_stretch(
    calendar: BusinessCalendar, period: Period, as_of: dt.date, min_business_days: int
) -> Stretch:
    """The period to date, or the trailing `min_business_days` business days when longer."""
    end = min(as_of + dt.timedelta(days=1), period.end)
    elapsed = calendar.business_days(period.start, end)
    if elapsed >= min_business_days:
        return Stretch(period.start, end, elapsed, trailing=False)
    start = end
    counted = 0
    while counted < min_business_days:
        start -= dt.timedelta(days=1)
        counted += calendar.is_business_day(start)
    return Stretch(start, end, counted, trailing=True)


def daily_rates(
    conn: Connection,
    calendar: BusinessCalendar,
    kind: PeriodKind,
    stretch: Stretch,
    metrics: list[str],
    rep_ids: list[int] | None,
) -> Rates:
    """Each rep's and metric's target per business day, for every period the stretch touches."""
    rates: Rates = {}
    period = calendar.period(kind, stretch.start)
    while period.start < stretch.end:
        days = calendar.business_days(period.start, period.end)
        for key, value in period_targets(conn, calendar, period, metrics, rep_ids).items():
            if days:
                rates.setdefault(key, []).append((period, value / days))
        period = calendar.period(kind, period.end)
    return rates


def expected_between(
    calendar: BusinessCalendar, rates: list[tuple[Period, float]], start: dt.date, end: dt.date
) -> float:
    """What the rates expect over the business days of [start, end)."""
    return sum(
        rate * calendar.business_days(max(p.start, start), min(p.end, end)) for p, rate in rates
    )


PeriodLines = frozenset[tuple[int, str]]  # (rep, metric): lines read over the period to date


def stretch_cards(
    conn: Connection,
    settings: Settings,
    calendar: BusinessCalendar,
    cards: list[Scorecard],
    stretch: Stretch,
) -> tuple[list[Scorecard], Rates, PeriodLines]:
    """The reps' scorecards re-read over the stretch: actual and expected for each count
    and sum key metric (ratios are not alerted on), measured from the rep's start date; and
    the lines kept as the period to date because a period the stretch touches has no target
    for them (`uncovered`)."""
    metrics = sorted({line.metric for card in cards for line in card.lines if not line.is_ratio})
    # A long IN list costs more than reading everyone's rows and ignoring the others.
    rep_ids = [card.rep_id for card in cards] if len(cards) <= IN_LIST_LIMIT else None
    totals = metric_totals(conn, settings, metrics, stretch.start, stretch.end, rep_ids)
    rates = daily_rates(conn, calendar, settings.alerts.period, stretch, metrics, rep_ids)
    touched = touched_periods(calendar, settings.alerts.period, stretch)
    kept = frozenset(
        (card.rep_id, line.metric)
        for card in cards
        for line in card.lines
        if not line.is_ratio
        and uncovered(touched, rates.get((card.rep_id, line.metric), []), card.start_date)
    )

    curved = sorted(
        {
            line.metric
            for card in cards
            for line in card.lines
            if line.accrual and line.accrual.shares
        }
    )
    new = periods_new(conn, settings, calendar, curved, stretch, rep_ids) if curved else {}

    def reread(card: Scorecard, spread: Dispersions) -> Scorecard:
        start = max(stretch.start, card.start_date or stretch.start)
        lines = [
            line
            if (card.rep_id, line.metric) in kept
            else _line(
                settings,
                line,
                new.get((card.rep_id, line.metric), 0.0)
                if line.metric in curved
                else base_value(totals, [card.rep_id], line.metric),
                accrued_between(
                    calendar,
                    rates.get((card.rep_id, line.metric), []),
                    start,
                    stretch.end,
                    line,
                    card,
                ),
                spread.of(card.rep_id, line.metric),
            )
            for line in card.lines
            if not line.is_ratio
        ]
        return replace(
            card,
            lines=lines,
            measured_from=start,
            business_days_elapsed=calendar.business_days(start, stretch.end),
            dispersion=spread.of(card.rep_id, POOLED),
        )

    result = [reread(card, POISSON) for card in cards]
    suspects = {c.rep_id for c in result if needs_dispersion(settings, c.lines)}
    if suspects:
        history = [HistoryRep(c.rep_id, c.role, c.start_date) for c in cards]
        spread = suspects_dispersions(conn, settings, calendar, history, suspects, stretch.start)
        result = [
            reread(c, spread) if c.rep_id in suspects else r
            for c, r in zip(cards, result, strict=True)
        ]
    return result, rates, kept


def accrued_between(
    calendar: BusinessCalendar,
    rates: list[tuple[Period, float]],
    start: dt.date,
    end: dt.date,
    line: MetricLine,
    card: Scorecard,
) -> float:
    """What the rates expect of the line over the business days of [start, end): a count's
    `expected_between`; a distinct count's, each period's target times how far its accrual
    curve climbs over the days of [start, end) in that period (`accrual.Accrual.at`). A
    distinct count grows within its period, fast then flat, so a trailing stretch reaching
    back into last month expects of last month only the little its curve still climbs
    there, and of this month what the card expects to date (see docs/tracking.md)."""
    accrual = line.accrual
    if accrual is None or not accrual.shares:
        return expected_between(calendar, rates, start, end)
    joined = card.start_date or card.period.start
    expected = 0.0
    for period, rate in rates:
        first, last = max(period.start, start), min(period.end, end)
        if first >= last:
            continue
        own = period.start == card.period.start
        begin = max(period.start, joined)  # the rep's part of the period: their window
        if own and card.recorded_from:  # the card's window: from its team's first record
            begin = max(begin, card.recorded_from)
        days = card.business_days_total if own else calendar.business_days(begin, period.end)
        if days <= 0:
            continue
        before = calendar.business_days(begin, first) if first > begin else 0
        upto = calendar.business_days(begin, last)
        expected += rate * days * (accrual.at(upto / days) - accrual.at(before / days))
    return expected


def periods_new(
    conn: Connection,
    settings: Settings,
    calendar: BusinessCalendar,
    metrics: list[str],
    stretch: Stretch,
    rep_ids: list[int] | None,
) -> dict[tuple[int, str], float]:
    """Each rep's distinct counts over the stretch as their curves measure them: per period
    the stretch touches, the things first touched in that period on the stretch's days (its
    count to the stretch's last day there less its count before the stretch's first), added
    up. An account called on Oct 5 and again on Oct 26 is not new in October on Oct 26: the
    curve expects nothing of it there."""
    found: dict[tuple[int, str], float] = {}
    if not metrics:
        return found
    for period in touched_periods(calendar, settings.alerts.period, stretch):
        last = min(period.end, stretch.end)
        upto = metric_totals(conn, settings, metrics, period.start, last, rep_ids)
        before = (
            metric_totals(conn, settings, metrics, period.start, stretch.start, rep_ids)
            if stretch.start > period.start
            else None
        )
        for rep_id, values in upto.values.items():
            for name in metrics:
                added = values.get(name, 0.0) - (before.get(rep_id, name) if before else 0.0)
                found[rep_id, name] = found.get((rep_id, name), 0.0) + added
    return found


def touched_periods(calendar: BusinessCalendar, kind: PeriodKind, stretch: Stretch) -> list[Period]:
    """The periods the stretch has days in, oldest first."""
    periods = [calendar.period(kind, stretch.start)]
    while periods[-1].end < stretch.end:
        periods.append(calendar.period(kind, periods[-1].end))
    return periods


def uncovered(
    touched: list[Period], rates: list[tuple[Period, float]], start_date: dt.date | None
) -> bool:
    """Whether some period the stretch touches (from the rep's start date) has no target for
    the line while another has: its actual over the stretch would count days its expected
    does not. A line with no target at all is left alone (no target, no alert)."""
    if not rates:
        return False
    rated = {period.start for period, _ in rates}
    return any(p.start not in rated for p in touched if start_date is None or p.end > start_date)


def _line(
    settings: Settings, line: MetricLine, actual: float, expected: float, dispersion: float | None
) -> MetricLine:
    metric = settings.metric(line.metric)
    max_chance = (
        settings.alerts.behind_pace.max_chance if is_counted(settings, line.metric) else None
    )
    state = pace_status(
        actual, expected, settings.pacing, metric.higher_is_better, max_chance, dispersion or 1.0
    )
    pace = Pace(
        actual=actual,
        target=None,
        expected_to_date=expected or None,
        pace=actual / expected if expected else None,
        projected=None,
        needed_per_day=None,
        status=state if expected else "no_target",
    )
    if line.unrecorded:  # nobody records it: not behind over any stretch either
        pace = unrecorded_pace(pace)
    return replace(line, pace=pace, dispersion=dispersion)
