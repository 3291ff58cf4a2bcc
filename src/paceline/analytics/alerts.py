"""Alerts: who needs a manager's attention now, for what, by how much, and since when.

Three rules from the configuration, evaluated on the same scorecards everyone sees:
- behind pace: a key metric more than X% below expected-to-date, *and* a shortfall that large
  is unlikely by chance at target pace (for counts: Poisson widened by how clustered the
  rep's days were before, see `dispersion`). Small numbers are noisy: one quiet morning for a
  metric expected three times a week is not news, a rep who books calls in blocks has slow
  weeks, and a manager who gets false alarms stops reading them;
- no selling activity for N business days (getting ready to sell is not selling);
- a key metric at zero while zero is unlikely at target pace: multiplication by zero is zero,
  whatever the other metrics say.
A metric nobody in the organisation records (`MetricLine.unrecorded`: a CRM export with no
call results has no conversations) is never alerted on, nor pooled into behind pace.
Behind pace and zero read the alert period to date, or, while the period is younger than
`min_business_days`, the trailing `min_business_days` business days (see `stretch`), so that
a rep can be told behind on the first day of a month, and the alert says which.
By default only activity metrics are alerted on: deal results lag activities and are too few
within a month to pace reliably (configurable with `alerts.sources`).
A rep who left before the as-of day (`Rep.end_date`) is never alerted on: their card is paced
over the days they were there, and there is nobody left to tell.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Connection, Engine

from paceline.analytics.metrics import (
    daily_values,
    deal_daily_values,
    distinct_daily_values,
    first_recorded_days,
    last_active_days,
    last_deal_day,
    last_distinct_day,
    last_kind_days,
)
from paceline.analytics.pacing import pooled_shortfall_chance
from paceline.analytics.pacing import shortfall_chance as pacing_chance
from paceline.analytics.scorecard import (
    MetricLine,
    Scorecard,
    TeamScorecard,
    is_counted,
    pooled_lines,
    team_scorecards,
)
from paceline.analytics.step_rules import recorded_kinds, recorded_steps
from paceline.analytics.stretch import (
    PeriodLines,
    Stretch,
    accrued_between,
    alert_stretch,
    expected_between,
    stretch_cards,
)
from paceline.calendar import BusinessCalendar, Period
from paceline.config import MetricSettings, Settings

Rule = Literal["behind_pace", "no_selling", "zero_key_metric"]
LOOKBACK_DAYS = 366  # how far back "since when" looks for a last non-zero day


@dataclass(frozen=True)
class Alert:
    rep: str
    team: str | None
    rule: Rule
    metric: str | None
    metric_label: str | None
    actual: float | None
    expected: float | None
    shortfall: float | None  # share below expected-to-date (0.55 = 55% behind)
    chance: float | None  # probability of a result this low at target pace
    since: dt.date | None  # first day of the condition (None: before the look-back)
    business_days: int | None  # for no-selling: business days without selling
    # Behind pace / zero: the business days read when that was a trailing stretch reaching
    # before the period (the period was too young to tell); None: the period to date.
    trailing_days: int | None = None


@dataclass(frozen=True)
class AlertReport:
    as_of: dt.date
    period_label: str
    rules: dict[str, str]  # rule -> its configured meaning, for the reader
    alerts: list[Alert]
    stretch: Stretch  # the days behind pace and zero were read over

    @property
    def reps(self) -> list[str]:
        return sorted({a.rep for a in self.alerts})


def alerts(
    engine: Engine,
    settings: Settings,
    as_of: dt.date | None = None,
    team: str | None = None,
    scorecards: TeamScorecard | None = None,
    only: Collection[int] | None = None,
    role: str | None = None,
) -> AlertReport:
    """Evaluate the rules; `scorecards` already made for the same team, role, day and alert
    period (a team page has them) are reused instead of computed again.

    `only`: the alerts of these reps alone, judged among the whole team (or `role`) as always
    (a clustered rep's dispersion is read beside their role-mates'), but dated and checked for
    idleness for them only: the rest of a thousand reps' alerts cost seconds.
    `role`: the team's reps of that role alone, judged among themselves (a rep's brief)."""
    calendar = BusinessCalendar(settings.calendar)
    as_of = as_of or calendar.today()
    config = settings.alerts
    cards = scorecards
    if cards is None or not _made_for(cards, config.period, as_of, team, role):
        cards = team_scorecards(engine, settings, config.period, as_of, team, role=role)
    stretch = alert_stretch(calendar, cards.period, as_of, config.min_business_days)
    present = [card for card in cards.reps if not card.left]  # nobody is told of a leaver
    found: list[Alert] = []
    with engine.connect() as conn:
        kept: PeriodLines = frozenset()
        if stretch.trailing:
            paced, rates, kept = stretch_cards(conn, settings, calendar, present, stretch)
        else:
            paced, rates = present, _period_rates(present)
        if only is not None:
            paced = [card for card in paced if card.rep_id in only]
        pace_alerts = [
            (card, line, chance)
            for card in paced
            for line, chance in _alerted_lines(settings, card)
        ]
        threshold = 1 - config.behind_pace.by_more_than
        found += _with_since(conn, settings, calendar, stretch, rates, pace_alerts, threshold, kept)
        if config.no_selling.enabled:
            chosen = [c for c in present if only is None or c.rep_id in only]
            found += _no_selling(conn, settings, calendar, chosen, as_of)
    return AlertReport(
        as_of=as_of,
        period_label=cards.period.label,
        rules=_rule_texts(settings),
        alerts=sorted(found, key=lambda a: (a.rep, a.rule, a.metric or "")),
        stretch=stretch,
    )


def _made_for(
    cards: TeamScorecard, kind: str, as_of: dt.date, team: str | None, role: str | None
) -> bool:
    """Whether the scorecards are those of this period, day, team and role."""
    same = (cards.period.kind, cards.as_of, cards.team) == (kind, as_of, team)
    return same and (role is None or all(card.role == role for card in cards.reps))


def _period_rates(cards: list[Scorecard]) -> dict[tuple[int, str], list[tuple[Period, float]]]:
    """Each line's target per business day of the period, as the scorecard prorated it."""
    return {
        (card.rep_id, line.metric): [
            (card.period, (line.pace.target or 0.0) / (card.business_days_total or 1))
        ]
        for card in cards
        for line in card.lines
    }


def _rule_texts(settings: Settings) -> dict[str, str]:
    config = settings.alerts
    texts: dict[str, str] = {}
    if config.behind_pace.enabled:
        texts["behind_pace"] = (
            f"a rep's key metrics together more than {config.behind_pace.by_more_than:.0%}"
            f" below expected-to-date this {config.period} (while the {config.period} is under"
            f" {config.min_business_days} business days old: over the last"
            f" {config.min_business_days} business days), with under"
            f" {_percent(config.behind_pace.max_chance)} chance of that at target pace"
            " (each metric that far behind is listed)"
        )
    if config.no_selling.enabled:
        idle = settings.metric(config.no_selling.metric)
        texts["no_selling"] = (
            f"no {(idle.label or idle.name).lower()} for {config.no_selling.business_days}"
            " business days or more"
        )
    if config.zero_key_metric.enabled:
        texts["zero_key_metric"] = (
            f"a key metric at zero with under {_percent(config.zero_key_metric.max_chance)} chance"
            " of that at target pace"
        )
    return texts


def _percent(share: float) -> str:
    return f"{share * 100:g}%"


def shortfall_chance(
    actual: float, expected: float, is_count: bool, dispersion: float = 1.0
) -> float | None:
    """P(a result at most this low | target pace), for counts; None when it cannot be said."""
    if not is_count or expected <= 0:
        return None
    return pacing_chance(actual, expected, dispersion=dispersion)


def _alerted_lines(settings: Settings, card: Scorecard) -> list[tuple[MetricLine, float | None]]:
    """The key metrics to alert on for one rep: at zero, or behind within a behind rep.

    Behind pace is decided for the rep's key metrics together (their counts pooled), then the
    metrics more than X% behind are named. Pooling is what makes low-volume roles testable at
    all: a field rep's three metrics of a dozen a month each are too few to judge one by one,
    while testing each metric of every rep separately multiplies false alarms.

    A distinct count is not pooled (it counts the things the pooled counts' activities
    touch: the two move together, and pooled as independent they would cry wolf), so when
    the pool does not find the rep behind, each distinct count is tested alone by the same
    rule: more than X% below its expected-to-date (its accrual curve's) and that shortfall
    that unlikely at target pace. Before 2026-12-08 a role paced on distinct counts alone
    had no pool and was never alerted as behind, only at zero.
    """
    config = settings.alerts
    lines = [
        line
        for line in card.lines
        if not line.is_ratio
        and line.recorded  # nobody in the organisation records it: its 0 is no news
        and settings.metric(line.metric).source in config.sources
        and line.pace.expected_to_date
    ]
    zeros = [line for line in lines if _zero_unlikely(settings, line)]
    alerted = [(line, _zero_chance(settings, line)) for line in zeros]
    chance = (
        rep_behind_chance(settings, lines, card.dispersion or 1.0)
        if config.behind_pace.enabled
        else None
    )
    if chance is not None:
        rest = [line for line in lines if line not in zeros]
        behind = [line for line in rest if _shortfall(line) > config.behind_pace.by_more_than]
        if not behind and rest:
            behind = [max(rest, key=_shortfall)]
        alerted += [(line, chance) for line in behind]
    elif config.behind_pace.enabled:
        alerted += _distinct_behind(settings, [line for line in lines if line not in zeros])
    return alerted


def _distinct_behind(
    settings: Settings, lines: list[MetricLine]
) -> list[tuple[MetricLine, float | None]]:
    """The distinct counts among `lines` behind by the behind-pace rule, each alone."""
    rule = settings.alerts.behind_pace
    found: list[tuple[MetricLine, float | None]] = []
    for line in lines:
        if line.accrual is None or _shortfall(line) <= rule.by_more_than:
            continue
        expected = line.pace.expected_to_date or 0.0
        chance = shortfall_chance(line.pace.accumulated(), expected, True, line.dispersion or 1.0)
        if chance is not None and chance < rule.max_chance:
            found.append((line, chance))
    return found


def rep_behind_chance(
    settings: Settings, lines: list[MetricLine], dispersion: float = 1.0
) -> float | None:
    """The chance of the rep's pooled shortfall at target pace, when it counts as behind;
    `dispersion`: of the rep's pooled daily count. The lines pooled are the scorecard's
    (`pooled_lines`), so a rep alerted behind is behind on their card too."""
    rule = settings.alerts.behind_pace
    counts = [line.pace for line in pooled_lines(settings, lines)]
    chance = pooled_shortfall_chance(counts, rule.by_more_than, dispersion)
    return chance if chance is not None and chance < rule.max_chance else None


def _zero_chance(settings: Settings, line: MetricLine) -> float | None:
    """The chance of a zero at target pace, for a metric the scorecard judges by a count
    model (`is_counted`: a distinct count too); None for one it does not (a sum)."""
    counted = is_counted(settings, line.metric)
    return shortfall_chance(0, line.pace.expected_to_date or 0.0, counted, line.dispersion or 1.0)


def _zero_unlikely(settings: Settings, line: MetricLine) -> bool:
    if line.pace.actual != 0:
        return False
    chance = _zero_chance(settings, line)
    return chance is None or chance < settings.alerts.zero_key_metric.max_chance


def _shortfall(line: MetricLine) -> float:
    expected = line.pace.expected_to_date or 0.0
    return 1 - line.pace.accumulated() / expected if expected else 0.0


def _with_since(
    conn: Connection,
    settings: Settings,
    calendar: BusinessCalendar,
    stretch: Stretch,
    rates: dict[tuple[int, str], list[tuple[Period, float]]],
    alerted: list[tuple[Scorecard, MetricLine, float | None]],
    threshold: float,
    kept: PeriodLines = frozenset(),
) -> list[Alert]:
    """Date each pace alert: since the rep last was on pace (or last did any of it).
    `kept`: lines of a trailing stretch read over the period to date (`stretch_cards`)."""
    result: list[Alert] = []
    for card, line, chance in alerted:
        p = line.pace
        expected = p.expected_to_date or 0.0
        in_period = (card.rep_id, line.metric) in kept
        if p.actual == 0:
            since = _day_after_last_nonzero(conn, settings, line.metric, card)
            rule: Rule = "zero_key_metric"
        else:
            rate = rates.get((card.rep_id, line.metric), [])
            joined = card.start_date or card.period.start
            start = max(card.period.start, joined) if in_period else card.measured_from
            days = _daily(conn, settings, calendar, line, start, card)
            since = _behind_since(calendar, card, days, rate, threshold, start, line)
            rule = "behind_pace"
        result.append(
            Alert(
                rep=card.rep,
                team=card.team,
                rule=rule,
                metric=line.metric,
                metric_label=line.label,
                actual=p.actual,
                expected=expected,
                shortfall=1 - p.accumulated() / expected if expected else None,
                chance=chance,
                since=since,
                business_days=None,
                trailing_days=(
                    card.business_days_elapsed if stretch.trailing and not in_period else None
                ),
            )
        )
    return result


def _day_after_last_nonzero(
    conn: Connection, settings: Settings, name: str, card: Scorecard
) -> dt.date | None:
    """The day after the rep's last non-zero day of the metric within the look-back; a deal
    metric read from the deals known on the card's day, as its total was, and a distinct
    count from the activities (the daily rollup holds neither: a rep at zero wins, or at
    zero accounts touched, had no last day before 2026-12-07)."""
    since = card.as_of - dt.timedelta(days=LOOKBACK_DAYS)
    metric = settings.metric(name)
    if metric.source == "deals":
        last = last_deal_day(conn, settings, metric, since, card.as_of, card.rep_id, card.as_of)
    elif metric.aggregate == "distinct_count":
        last = last_distinct_day(conn, settings, metric, since, card.as_of, card.rep_id)
    else:
        last = last_active_days(conn, name, since, card.as_of, [card.rep_id]).get(card.rep_id)
    return last + dt.timedelta(days=1) if last else None


def _daily(
    conn: Connection,
    settings: Settings,
    calendar: BusinessCalendar,
    line: MetricLine,
    start: dt.date,
    card: Scorecard,
) -> dict[dt.date, float]:
    """The rep's per-day values of the metric from `start` to the card's day; a deal metric
    from the deals known on that day, as its total was; a distinct count as what each day
    added to the count from `start`, so that their running sum is the distinct count to
    date, as its total was (the daily rollup holds neither: such an alert was dated from the
    start of its stretch before 2026-12-07); one paced by its curve, as what each day added
    to its own period's count (`stretch.periods_new`), as the stretch's actual is."""
    name = line.metric
    metric = settings.metric(name)
    if metric.source == "deals":
        return deal_daily_values(conn, settings, metric, start, card.as_of, card.rep_id, card.as_of)
    if metric.aggregate == "distinct_count" and line.accrual and line.accrual.shares:
        return _period_firsts(conn, settings, calendar, metric, start, card)
    if metric.aggregate == "distinct_count":
        return distinct_daily_values(conn, settings, metric, start, card.as_of, card.rep_id)
    return daily_values(conn, name, start, card.as_of, card.rep_id)


def _period_firsts(
    conn: Connection,
    settings: Settings,
    calendar: BusinessCalendar,
    metric: MetricSettings,
    start: dt.date,
    card: Scorecard,
) -> dict[dt.date, float]:
    """What each day from `start` added to its own alert period's distinct count."""
    found: dict[dt.date, float] = {}
    period = calendar.period(settings.alerts.period, start)
    while period.start <= card.as_of:
        last = min(period.end - dt.timedelta(days=1), card.as_of)
        added = distinct_daily_values(conn, settings, metric, period.start, last, card.rep_id)
        found |= {day: value for day, value in added.items() if day >= start}
        period = calendar.period(settings.alerts.period, period.end)
    return found


def _behind_since(
    calendar: BusinessCalendar,
    card: Scorecard,
    days: dict[dt.date, float],
    rates: list[tuple[Period, float]],
    threshold: float,
    start: dt.date,
    line: MetricLine | None = None,
) -> dt.date:
    """The first business day after the last one on which the rep was not behind, walking the
    days read (`days`, from `start`: the card's or, for a line kept to the period, the
    period's), each day expected at its own period's rate; a distinct count's by how its
    accrual curve climbs over those days (`stretch.accrued_between`), as its card's
    expected-to-date is: a day its curve expects nothing new of is not a day behind."""
    cumulative = 0.0
    since = start
    day = start
    curved = line is not None and line.accrual is not None and bool(line.accrual.shares)
    while day <= card.as_of:
        cumulative += days.get(day, 0.0)
        if calendar.is_business_day(day):
            following = day + dt.timedelta(days=1)
            expected = (
                accrued_between(calendar, rates, start, following, line, card)
                if line is not None
                else expected_between(calendar, rates, start, following)
            )
            if (expected or curved) and cumulative >= threshold * expected:
                since = following
        day += dt.timedelta(days=1)
    return since


def _no_selling(
    conn: Connection,
    settings: Settings,
    calendar: BusinessCalendar,
    cards: list[Scorecard],
    as_of: dt.date,
) -> list[Alert]:
    """Reps with no selling for the rule's business days: counted from their last selling
    day, else from their start date or, with none, the first day of their records (the
    Zoho export, whose records begin in October 2020, read "no selling for 261 business
    days" from a year before). Nobody is told when nobody in the organisation has ever
    recorded selling before the as-of day: unknown, not idle (the unrecorded metrics' rule).
    An activity of a selling kind on which nobody records an Ask (Zoho's demos) may have
    been selling: idle days count from after it (Harold Pawlan, demos to March 7 2021, read
    "no selling for 14 business days" since February 19). A rep with no record at all is
    idle from the day their team's records begin when it is inside the period
    (`Scorecard.recorded_from`; before 2026-12-07 from the 90 days' look-back: "258 business
    days" for a team imported from the 10th)."""
    rule = settings.alerts.no_selling
    reps = {card.rep_id: card for card in cards}
    lookback = as_of - dt.timedelta(days=LOOKBACK_DAYS)
    end = as_of + dt.timedelta(days=1)
    last = last_active_days(conn, rule.metric, lookback, as_of, list(reps))
    seen = {rule.metric: 1.0} if last else {}
    if not recorded_steps(conn, settings, [rule.metric], seen, end):
        return []
    begun = first_recorded_days(conn, lookback, as_of, [r for r in reps if r not in last])
    starts: dict[int, dt.date | None] = {}
    for rep_id, card in reps.items():
        last_day = last.get(rep_id)
        start = last_day + dt.timedelta(days=1) if last_day else begun.get(rep_id)
        if start is None:  # nothing of theirs: idle since their team's records begin, if known
            start = card.recorded_from
        if card.start_date and (start is None or start < card.start_date):
            start = card.start_date  # days before a rep started are not days without selling
        starts[rep_id] = start

    def idle(rep_id: int) -> int:
        return calendar.business_days(starts[rep_id] or lookback, end)

    # Only a rep idle long enough is read again: an activity of unknown Ask only shortens it.
    idle_reps = [r for r in starts if idle(r) >= rule.business_days]
    for rep_id, day in _maybe_selling_days(conn, settings, idle_reps, lookback, as_of).items():
        start = starts[rep_id]
        if start is None or day >= start:
            starts[rep_id] = day + dt.timedelta(days=1)
    found: list[Alert] = []
    for rep_id, card in reps.items():
        days = idle(rep_id)
        if days >= rule.business_days:
            found.append(
                Alert(
                    rep=card.rep,
                    team=card.team,
                    rule="no_selling",
                    metric=rule.metric,
                    metric_label=settings.metric(rule.metric).label or rule.metric,
                    actual=0.0,
                    expected=None,
                    shortfall=None,
                    chance=None,
                    since=starts[rep_id],
                    business_days=days,
                )
            )
    return found


def _maybe_selling_days(
    conn: Connection, settings: Settings, rep_ids: list[int], lookback: dt.date, as_of: dt.date
) -> dict[int, dt.date]:
    """Each rep's last day (in [lookback, as_of]) with an activity of a selling kind on which
    nobody has recorded an Ask before the day after `as_of`: whether it was selling is not
    known. None under a selling rule that needs no Ask."""
    if not rep_ids or not settings.selling.require_ask:
        return {}
    rows = last_kind_days(conn, settings.selling_kinds, lookback, as_of, rep_ids)
    attempted = {kind for _, kind, _ in rows}
    end = as_of + dt.timedelta(days=1)
    unknown = attempted - recorded_kinds(conn, attempted, (), end, "asks")
    days: dict[int, dt.date] = {}
    for rep_id, kind, day in rows:
        if kind in unknown and (rep_id not in days or day > days[rep_id]):
            days[rep_id] = day
    return days
