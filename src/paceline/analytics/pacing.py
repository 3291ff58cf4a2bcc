"""Pacing arithmetic: where a rep should be by now, in business days.

Kept apart from the database so every rule can be checked by hand:
- the period a rep is measured over starts on the later of the period's start and the rep's
  start date (a rep who joins mid-month is expected to do the month's work pro rata);
- when a team's records begin inside the period (nothing recorded for anyone in it before:
  the CRM import began then), its reps are measured from that day, and the faces say
  "recorded from <day>" (`recorded_from`): days before any record are unknown, not days of
  nothing done;
- the as-of day counts as elapsed ("by the end of today"); weekends and holidays never do;
- expected-to-date = target x elapsed business days / the period's business days; for a
  distinct count (accounts called), the rep's target x the share of a period's distinct
  count their past periods reached by that business day (`accrual`: a distinct count climbs
  fast and flattens, it does not grow evenly), even only when there is no history;
- projected = actual / elapsed x the rep's business days in the period (the current run rate
  carried to the end); a distinct count's, actual / the share its curve expects by now;
- needed per day = what is left of the (prorated) target / remaining business days;
- "behind" is a claim, so for counts it needs evidence: short of the threshold *and* a
  shortfall that large unlikely by chance at target pace (the test the alerts use: Poisson
  widened by the rep's measured clustering, negative binomial; see `dispersion`).
  Short but within chance is "unclear" (too few to tell): on business day 4 nobody is behind
  on a metric expected 0.3 times so far. Sums (revenue) have no count model: the scorecard
  calls a short sum behind only when the rep's counts are (see `scorecard._behind_together`).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from paceline.analytics.frozen import builder
from paceline.calendar import BusinessCalendar, Period
from paceline.config import PacingSettings

Status = Literal["ahead", "on_pace", "unclear", "behind", "no_target", "not_recorded"]
# Worst first: a card's status is its worst line's. "not_recorded" (nobody in the organisation
# records the metric, so its 0 says nothing about the rep: see `scorecard`) comes last, after
# "no_target": it never makes a card's status while any other line has one.
STATUS_ORDER: dict[Status, int] = {
    "behind": 0,
    "unclear": 1,
    "on_pace": 2,
    "ahead": 3,
    "no_target": 4,
    "not_recorded": 5,
}


@dataclass(frozen=True, slots=True)
class Window:
    """The business days a rep is measured over in a period, as of a day."""

    period: Period
    as_of: dt.date
    start: dt.date  # the period start, or the rep's start date when later
    total: int  # the rep's business days in the period (from the start, through the last day)
    elapsed: int  # of those, up to and including the as-of day
    period_total: int  # business days in the whole period

    @property
    def remaining(self) -> int:
        return self.total - self.elapsed

    @property
    def data_end(self) -> dt.date:
        """Exclusive end of the activity range counted so far."""
        return min(self.as_of + dt.timedelta(days=1), self.period.end)


def window(
    calendar: BusinessCalendar,
    period: Period,
    as_of: dt.date,
    rep_start: dt.date | None = None,
    rep_end: dt.date | None = None,
) -> Window:
    """The business days a rep is measured over: from their start date (or the period's) to
    their last day (`rep_end`, a leaver's end date, inclusive) or the period's end.

    A leaver is paced like a late starter, over the days they were there: after their last
    day nothing more is expected of them, so their share of the target stops growing."""
    start = max(period.start, rep_start) if rep_start else period.start
    start = min(start, period.end)
    stop = min(period.end, rep_end + dt.timedelta(days=1)) if rep_end else period.end
    stop = max(start, stop)
    through = min(as_of + dt.timedelta(days=1), stop)
    return Window(
        period=period,
        as_of=as_of,
        start=start,
        total=calendar.business_days(start, stop),
        elapsed=calendar.business_days(start, max(start, through)),
        period_total=calendar.business_days(period.start, period.end),
    )


def recorded_from(
    calendar: BusinessCalendar,
    period: Period,
    as_of: dt.date,
    rep_start: dt.date | None,
    team_begins: dt.date | None,
) -> dt.date | None:
    """The day a rep's card is measured from because their team's records begin then (the
    first day anything was recorded for anyone in it, `team_begins`), or None: when that day
    is inside the period, after the rep's own start with a business day between them, and
    by the as-of day. Before it nothing is known of anyone's work in the team, so it is
    neither expected nor a shortfall (records beginning on a month's first Monday change no
    business day: nothing to say).

    A rep whose own records begin later than their team's is not read so: joined without a
    start date, or idle, the records cannot tell (the roster's start date can)."""
    start = max(period.start, rep_start) if rep_start else period.start
    if team_begins is None or team_begins > as_of or team_begins <= start:
        return None
    return team_begins if calendar.business_days(start, team_begins) else None


def windows_by_start(
    calendar: BusinessCalendar, period: Period, as_of: dt.date
) -> Callable[[dt.date | None, dt.date | None], Window]:
    """`window` of the period for a rep's start and end dates, each pair worked out once: a
    page paces a thousand reps, nearly all of whom share the period's own."""
    made: dict[tuple[dt.date | None, dt.date | None], Window] = {}

    def window_of(rep_start: dt.date | None, rep_end: dt.date | None = None) -> Window:
        key = (rep_start, rep_end)
        found = made.get(key)
        if found is None:
            found = made[key] = window(calendar, period, as_of, rep_start, rep_end)
        return found

    return window_of


@dataclass(frozen=True, slots=True)
class Pace:
    """One metric's position against its target in a window."""

    actual: float | None  # None: a ratio with nothing to divide by (no data, not zero)
    target: float | None  # the rep's share of the period target (prorated for late starters)
    expected_to_date: float | None
    pace: float | None  # actual / expected-to-date
    projected: float | None
    needed_per_day: float | None
    status: Status

    def accumulated(self) -> float:
        """The actual of a count or sum, which always has one (only a rate can have none).

        A method, not a property: the JSON of a result carries its properties."""
        if self.actual is None:
            raise ValueError("a rate with nothing to divide by has no accumulated actual")
        return self.actual


# `Pace(...)` with every field by position, at half the cost (a page builds thousands)
new_pace = builder(Pace)


def pace(
    w: Window,
    actual: float,
    period_target: float | None,
    thresholds: PacingSettings,
    higher_is_better: bool = True,
    max_chance: float | None = None,
    dispersion: float = 1.0,
    accrual: tuple[float, ...] = (),
) -> Pace:
    """Pace of a cumulative metric (a count or a sum) against a target for the whole period.

    `max_chance` (counts only): a shortfall is "behind" only when at most this likely at
    target pace, for a count `dispersion` times as variable as Poisson; None judges by the
    thresholds alone. `accrual` (a distinct count's curve, `accrual.Accrual.shares`): the
    share of the window's target expected by the end of each of its business days, which
    sets expected-to-date and the projection instead of the even share elapsed / total."""
    total, elapsed, period_total = w.total, w.elapsed, w.period_total
    reached = accrual[min(elapsed, len(accrual)) - 1] if accrual and elapsed else None
    if reached is not None:
        projected = actual / reached if reached else None
    else:
        projected = actual * total / elapsed if elapsed else None
    if period_target is None or period_target <= 0:  # a zero target asks for nothing to pace
        return new_pace(actual, period_target, None, None, projected, None, "no_target")
    share = total / period_total if period_total else 0.0
    target = period_target * share
    if reached is not None:
        expected = target * reached
    else:
        expected = period_target * elapsed / period_total if period_total else 0.0
    ratio = actual / expected if expected else None
    left = max(target - actual, 0.0) if higher_is_better else 0.0
    remaining = total - elapsed
    needed = left / remaining if remaining else None
    return new_pace(
        actual,
        target,
        expected,
        ratio,
        projected,
        needed,
        status(actual, expected, thresholds, higher_is_better, max_chance, dispersion),
    )


def level_pace(
    actual: float | None,
    target: float | None,
    thresholds: PacingSettings,
    higher_is_better: bool = True,
) -> Pace:
    """Pace of a rate (a ratio metric): compared with its target level, not accumulated.

    A rate with nothing to divide by (None) is no reading at all: against a target it is
    "unclear" (too few to tell), never 0% and behind."""
    if target is None:
        return new_pace(actual, None, None, None, actual, None, "no_target")
    if actual is None:
        return new_pace(None, target, target, None, None, None, "unclear")
    ratio = actual / target if target else None
    return new_pace(
        actual,
        target,
        target,
        ratio,
        actual,
        None,
        status(actual, target, thresholds, higher_is_better),
    )


def status(
    actual: float,
    expected: float,
    thresholds: PacingSettings,
    higher_is_better: bool = True,
    max_chance: float | None = None,
    dispersion: float = 1.0,
) -> Status:
    """Ahead / on pace / behind by the configured thresholds; nothing expected yet is on pace.

    With `max_chance`, a shortfall past the threshold that chance at target pace explains at
    least that often is "unclear" rather than "behind"."""
    if expected <= 0:
        return "on_pace"
    ratio = (
        actual / expected if higher_is_better else (expected / actual if actual else float("inf"))
    )
    if ratio >= thresholds.ahead:
        return "ahead"
    if ratio < thresholds.behind:
        if max_chance is None:
            return "behind"
        chance = shortfall_chance(actual, expected, higher_is_better, dispersion)
        return "behind" if chance < max_chance else "unclear"
    return "on_pace"


def shortfall_chance(
    actual: float, expected: float, higher_is_better: bool = True, dispersion: float = 1.0
) -> float:
    """P(a count at least this far off | target pace): a count with mean `expected` and
    variance `dispersion` x `expected`.

    Dispersion 1 is Poisson. Above 1 (clustered activity) it is negative binomial with size
    expected / (dispersion - 1) and success probability 1 / dispersion: a sum of independent
    days of that family (same probability) stays in it, so a rep's daily clustering carries
    over to the period. Higher-is-better: P(X <= actual); lower-is-better: P(X >= actual)."""
    if expected <= 0:
        return 1.0
    poisson, nbinom = _distributions()
    low, high = math.floor(actual), math.ceil(actual) - 1
    if dispersion <= 1.0:
        return (
            tail(poisson, "cdf", low, expected)
            if higher_is_better
            else tail(poisson, "sf", high, expected)
        )
    size, success = expected / (dispersion - 1.0), 1.0 / dispersion
    if higher_is_better:
        return tail(nbinom, "cdf", low, size, success)
    return tail(nbinom, "sf", high, size, success)


@functools.cache
def _distributions() -> tuple[Any, Any]:
    """scipy's Poisson and negative binomial, imported on the first chance asked for: SciPy's
    statistics are most of the start-up of a command that reads pacing without a chance
    (`paceline summary` imports the scorecard for its paced reps: 5.9 G instructions with
    them, 2.2 G without)."""
    from scipy.stats import nbinom, poisson

    return poisson, nbinom


def tail(distribution: Any, side: Literal["cdf", "sf"], k: int, *shape: float) -> float:
    """`distribution.cdf(k, *shape)` (or `.sf`) of scipy's Poisson or negative binomial, the
    same number, without the public method's argument checks when k >= 0 and every shape
    parameter is positive and finite (a probability below 1 for the negative binomial's).

    Why: the checks cost about fifty times the answer, and a thousand reps' scorecards ask
    for thousands of these (every count behind pace, twice when the alerts re-read a
    trailing stretch). Elsewhere the public method answers.
    """
    poisson, nbinom = _distributions()
    fine = k >= 0
    for v in shape:  # every shape parameter positive and finite (a loop: no generator)
        fine = fine and 0.0 < v < math.inf
    if fine and distribution is nbinom:
        fine = shape[1] < 1.0
    if fine and distribution in (poisson, nbinom):
        private = distribution._cdf if side == "cdf" else distribution._sf
        return float(private(k, *shape))
    return float(getattr(distribution, side)(k, *shape))


def pooled_shortfall_chance(
    paces: list[Pace], by_more_than: float, dispersion: float = 1.0
) -> float | None:
    """Chance of a rep's counts together falling this short at target pace, when they are
    more than `by_more_than` below expected-to-date (None: not that far behind); `dispersion`
    is that of the pooled daily count.

    Pooling is what makes low-volume roles testable at all: a field rep's three metrics of a
    dozen a month each are too few to judge one by one."""
    actual = sum([p.accumulated() for p in paces])
    expected = sum([p.expected_to_date or 0.0 for p in paces])
    if not expected or actual >= (1 - by_more_than) * expected:
        return None
    return shortfall_chance(actual, expected, dispersion=dispersion)
