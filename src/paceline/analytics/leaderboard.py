"""Stack ranking: reps ordered by one metric for a period, fairly.

Fair by default, because a board that ranks an SDR's calls against an AE's is noise:
- Reps are ranked **within their role** (each role its own board, in the configuration's role
  order); `role="all"` ranks everyone together (sensible with `by="target"`), a role name
  shows only that role.
- `by` chooses what the rank is on (`score`):
  - `count`: the metric's value for the period to date (the classic board);
  - `target`: the value as a share of the rep's own expected-to-date (pacing's
    `expected_to_date`: target x elapsed business days ÷ the period's business days, prorated
    for late starters; for a distinct count, the target x the share its accrual curve
    expects by now, as on the scorecard (`accrual`); for a ratio its target level). A rep
    with no target (or a zero one) is listed apart (`standing="no_target"`), never 0% nor
    an error;
  - `improved`: the change against the **comparable** stretch of the previous period: its
    first k business days through the k-th inclusive, where k is the business days of this
    period up to and including the as-of day; the change is (now - then) ÷ then, reversed
    for lower-is-better metrics. A rep with nothing then (0 or no reading) is listed apart
    (`standing="no_history"`), never first by an infinite improvement.
  A sum of amounts (revenue) adds the known amounts only. Whatever the ranking, a rep whose
  sum (for `improved`, either stretch's) left deals out for want of an amount is listed apart
  (`standing="amounts_unknown"`), their known figure and the deals left out on the row (the
  comparable stretch's in `comparable_amounts_unknown`): a count, a share of target or a
  change computed on a partial sum ranked a rep whose wins lack amounts last though they won
  most, and an unknown amount can be of any size, so no place is honest (the report's
  week-over-week rule: not comparable). It is the first reason given, before "no target" or
  "nothing in the comparable days": amounts the CRM lacks are what a reader can fill in, and
  a comparable stretch whose known sum is 0 but whose deals lack amounts did not have
  nothing. The previous period's ranks (`by="count"`) set apart the partial sums alike. An
  average over the deals with an amount (revenue per win, `metrics.averages_known_amounts`)
  is ranked on that known part, the deals it rests on beside it (its `denominator` of
  `denominator + amounts_unknown`): an honest estimate when said so, where a total is not.
- Ties share a rank (1, 2, 2, 4: "competition" ranking). Ratio metrics rank only reps with
  enough volume behind the ratio (the metric's `min_denominator`, in both stretches for
  `improved`): one lucky call is not a 100% connect rate. Whoever is not ranked is listed
  after the ranked reps of their group, with the reason, so nobody silently disappears.

A row's move (`rank_change`, `by="count"`) is the difference of two competition ranks, the
previous period's and this one's, so a rep tied now is compared from the rank the tie shares
(4th last month, tied 2nd now: up 2). When either standing has two or more ranked reps of
the board, all level (the first day of a period, everyone at 0; a previous period nobody
sold in), it orders nobody, so no move is given (`moves_known` False): everyone tied first
on the morning of the 1st was each told they had climbed as many places as they were
behind the month before.

Every row also carries the rep's target-to-date and share of it, whatever the ranking, so a
rep who is first on calls this week sees, on the same row, that he is at 26% of his month.
`recent_wins` lists what landed in the last minutes, for the TV board to celebrate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from sqlalchemy import Connection, Engine, select

from paceline.analytics.accrual import NO_ACCRUALS, Accruals, accrual_curves
from paceline.analytics.frozen import builder
from paceline.analytics.metric_sql import (
    activity_filter,
    deal_credit_column,
    deal_date_column,
    deal_filter,
    needs_contact,
)
from paceline.analytics.metrics import (
    AverageOf,
    MetricTotals,
    known_average_of,
    meets_minimum,
    metric_totals,
    metric_value,
    ratio_parts,
    rep_value,
)
from paceline.analytics.pacing import Pace, Window, level_pace, pace, windows_by_start
from paceline.analytics.rollup import ensure_rollup
from paceline.analytics.scorecard import (
    RosterRep,
    active_paced_reps,
    amounts_unknown,
    records_begin_days,
)
from paceline.analytics.step_rules import recorded_steps
from paceline.analytics.targets import period_targets
from paceline.calendar import BusinessCalendar, Period, PeriodKind
from paceline.collector import fewer_collections
from paceline.config import MetricSettings, Settings, Unit
from paceline.errors import UserInputError, did_you_mean
from paceline.store.models import Activity, Contact, Deal, Rep

# The periods and rankings a board takes: one definition each, read by the API's parameter
# types, the pages and the downloads (`paceline.params`), the tuples spelled from the types.
LeaderboardPeriod = Literal["day", "week", "month", "quarter", "year"]
LEADERBOARD_PERIODS: tuple[PeriodKind, ...] = get_args(LeaderboardPeriod)
RankBy = Literal["count", "target", "improved"]
RANK_BY: tuple[RankBy, ...] = get_args(RankBy)
ALL_ROLES = "all"  # rank every role together
Standing = Literal[
    "ranked",
    "low_volume",
    "no_value",
    "no_target",
    "no_history",
    "amounts_unknown",
    "not_recorded",
]


@dataclass(frozen=True, slots=True)
class LeaderboardRow:
    rank: int | None  # None: not ranked, `standing` says why
    rep: str
    team: str | None
    role: str
    value: float | None  # None: a ratio with nothing to divide by (no data, not zero)
    numerator: float | None  # ratio metrics: the parts, so a reader sees the volume
    denominator: float | None
    previous_rank: int | None  # `by="count"` only: the rank over the whole previous period
    previous_value: float | None
    rep_id: int = 0
    group: str = ""  # the board the row is ranked on: its role, or "all"
    score: float | None = None  # what the rank is on: value, share of target or change
    standing: Standing = "ranked"
    target_to_date: float | None = None  # pacing's expected-to-date (a ratio: its target)
    of_target: float | None = None  # value ÷ target_to_date
    comparable_value: float | None = None  # `by="improved"`: the value over the comparable days
    change: float | None = None  # `by="improved"`: (now - then) ÷ then, + is better
    # Deals the sum of amounts behind `value` left out for want of an amount (scorecard's)
    amounts_unknown: int = 0
    # False: the row's board had every ranked rep level now or in the previous period, so the
    # difference of its two ranks is no move (`rank_change` None)
    moves_known: bool = True
    # `by="improved"`: deals the sum behind `comparable_value` left out for want of an amount
    comparable_amounts_unknown: int = 0

    @property
    def rank_change(self) -> int | None:
        """Places gained since the previous period (negative: lost); None when either rank is
        missing or either standing ordered nobody (`moves_known`)."""
        if self.rank is None or self.previous_rank is None or not self.moves_known:
            return None
        return self.previous_rank - self.rank


@dataclass(frozen=True)
class Leaderboard:
    metric: str
    label: str
    is_ratio: bool
    higher_is_better: bool
    min_volume: int
    period: Period
    previous_period: Period
    as_of: dt.date
    team: str | None
    rows: list[LeaderboardRow]
    unit: Unit = "count"  # how faces print the values (a ratio may be money per deal)
    # Everyone on the board together: a sum, or for a ratio the pooled ratio (summed
    # numerators over summed denominators); None when a ratio has nothing to divide by.
    total: float | None = None
    total_numerator: float | None = None
    total_denominator: float | None = None
    by: RankBy = "count"
    role: str | None = None  # as asked: None each role apart, "all" together, or one role
    groups: tuple[str, ...] = ()  # the boards, in order (roles, or ("all",))
    business_days_elapsed: int = 0  # of the period, through the as-of day
    comparable_start: dt.date | None = None  # `by="improved"`: the previous period's
    comparable_end: dt.date | None = None  # first business days compared against [start, end)
    amounts_unknown: int = 0  # deals the board's total left out for want of an amount
    # False: nobody in the organisation has any of the metric (a ratio: of its numerator) up
    # to the period's end: the CRM does not record it (a Zoho export has no call results, so
    # no conversations). Nobody is ranked and no value is shown: everyone "#1 at 0.0%" on a
    # connect rate nobody records is not a standing (the funnel's rule, `step_rules`).
    unrecorded: str | None = None  # what nobody has, its label ("Conversations"); None: recorded
    # What the metric averages when it is an average over the deals with an amount (revenue
    # per win: "win"), ranked on that known part; None: a count, a sum or another ratio
    average_of: AverageOf | None = None

    @property
    def recorded(self) -> bool:
        return self.unrecorded is None

    def group_rows(self, group: str) -> list[LeaderboardRow]:
        """The rows of one board, in rank order."""
        return [r for r in self.rows if r.group == group]


@dataclass(frozen=True)
class Win:
    """Something worth cheering that landed lately: a meeting set, a deal won."""

    rep: str
    rep_id: int
    metric: str
    label: str
    at: dt.datetime  # UTC


@fewer_collections()  # a thousand rows' objects (see `collector`)
def leaderboard(
    engine: Engine,
    settings: Settings,
    metric: str,
    period_kind: PeriodKind | None = None,
    as_of: dt.date | None = None,
    team: str | None = None,
    role: str | None = None,
    by: RankBy = "count",
) -> Leaderboard:
    """Rank reps on `metric` for the period to date, each role apart unless asked otherwise.

    No `period_kind`: the configured `leaderboard.period`, the one default every face that
    asks a question shares (a literal per face let the page say "week" and the API "month"
    for the same request)."""
    period_kind = period_kind or settings.leaderboard.period
    definition = _metric(settings, metric)
    _check(settings, period_kind, role, by)
    calendar = BusinessCalendar(settings.calendar)
    as_of = as_of or calendar.today()
    period = calendar.period(period_kind, as_of)
    previous = calendar.previous(period)
    end = min(as_of + dt.timedelta(days=1), period.end)
    elapsed = calendar.business_days(period.start, end)
    comparable = comparable_stretch(calendar, previous, elapsed)
    average_of = known_average_of(settings, metric)
    ensure_rollup(engine, settings)
    with engine.connect() as conn:
        reps = _eligible(_started(active_paced_reps(conn, settings, period, team), as_of), role)
        ids = [r.id for r in reps] if len(reps) <= 200 else None  # a long IN list costs more
        now = metric_totals(conn, settings, [metric], period.start, end, ids, as_of=as_of)
        before = metric_totals(
            conn, settings, [metric], previous.start, previous.end, ids, as_of=as_of
        )
        then = (
            metric_totals(conn, settings, [metric], comparable[0], comparable[1], ids, as_of=as_of)
            if by == "improved"
            else None
        )
        targets = period_targets(conn, calendar, period, [metric], ids)
        unrecorded = _unrecorded(conn, settings, definition, now, end)
        begins = records_begin_days(conn, calendar, reps, period, as_of)
        accruals = accrual_curves(conn, settings, calendar, reps, period, [metric])
    context = _Context(
        settings,
        definition,
        calendar,
        period,
        as_of,
        targets,
        windows_by_start(calendar, period, as_of),
        unrecorded is None,
        begins,
        accruals,
        average_of is None,
    )
    # Nothing recorded up to this period's end: nothing recorded in the one before either.
    earlier = (
        _standings(context, by, reps, role, before) if by == "count" and not unrecorded else None
    )
    rows = _ranked(context, by, reps, role, now, then, earlier)
    total, parts = _total(settings, definition, [r.id for r in reps], now)
    if unrecorded is not None:
        total, parts = None, (None, None)
    return Leaderboard(
        metric=metric,
        label=definition.label or metric,
        is_ratio=definition.aggregate == "ratio",
        higher_is_better=definition.higher_is_better,
        min_volume=definition.min_denominator,
        period=period,
        previous_period=previous,
        as_of=as_of,
        team=team,
        rows=rows,
        unit=settings.metric_unit(metric),
        total=total,
        total_numerator=parts[0],
        total_denominator=parts[1],
        by=by,
        role=role,
        groups=_groups(settings, role, rows),
        business_days_elapsed=elapsed,
        comparable_start=comparable[0] if by == "improved" else None,
        comparable_end=comparable[1] if by == "improved" else None,
        amounts_unknown=amounts_unknown(settings, now, [r.id for r in reps], metric),
        unrecorded=unrecorded,
        average_of=average_of,
    )


def _unrecorded(
    conn: Connection,
    settings: Settings,
    metric: MetricSettings,
    now: MetricTotals,
    end: dt.date,
) -> str | None:
    """The label of the metric (a ratio: of its numerator; the denominator missing is "no
    data" already) when the organisation's data has none of it up to `end`, else None. Read
    beyond the board's totals only when nobody on the board has any of it."""
    probe = metric
    while probe.aggregate == "ratio" and probe.numerator:
        probe = _metric(settings, probe.numerator)
    seen = {probe.name: sum(values.get(probe.name, 0.0) for values in now.values.values())}
    if probe.name in recorded_steps(conn, settings, [probe.name], seen, end):
        return None
    return probe.label or probe.name


def comparable_stretch(
    calendar: BusinessCalendar, previous: Period, business_days: int
) -> tuple[dt.date, dt.date]:
    """[start, end) of `previous` through its `business_days`-th business day (all of it when
    it has fewer; empty for none)."""
    if business_days <= 0:
        return previous.start, previous.start
    seen = 0
    day = previous.start
    while day < previous.end:
        if calendar.is_business_day(day):
            seen += 1
            if seen == business_days:
                return previous.start, day + dt.timedelta(days=1)
        day += dt.timedelta(days=1)
    return previous.start, previous.end


def _check(settings: Settings, period_kind: str, role: str | None, by: str) -> None:
    if period_kind not in LEADERBOARD_PERIODS:
        raise UserInputError(f"period: use one of {', '.join(LEADERBOARD_PERIODS)}")
    if by not in RANK_BY:
        raise UserInputError(f"by: use one of {', '.join(RANK_BY)}, not {by!r}")
    if role is not None and role != ALL_ROLES and role not in settings.role_names:
        known = ", ".join(sorted(settings.role_names))
        raise UserInputError(f"role: unknown role {role!r}; known: {known} (or {ALL_ROLES})")


def _total(
    settings: Settings, metric: MetricSettings, rep_ids: list[int], totals: MetricTotals
) -> tuple[float | None, tuple[float | None, float | None]]:
    """The board's total and, for a ratio, its pooled parts."""
    parts = (
        ratio_parts(settings, totals, rep_ids, metric.name)
        if metric.aggregate == "ratio"
        else (None, None)
    )
    return metric_value(settings, totals, rep_ids, metric.name), parts


def competition_ranks(values: list[float], higher_is_better: bool = True) -> list[int]:
    """Rank of each value (1 = best), ties sharing the best rank of their group."""
    order = sorted(values, reverse=higher_is_better)
    first_position: dict[float, int] = {}
    for position, value in enumerate(order, start=1):
        first_position.setdefault(value, position)
    return [first_position[v] for v in values]


def _metric(settings: Settings, name: str) -> MetricSettings:
    try:
        return settings.metric(name)
    except KeyError as exc:
        hint = did_you_mean(name, (m.name for m in settings.metrics))
        said = f"unknown metric {name!r}{hint}" if hint else exc.args[0]
        raise UserInputError(f"metric: {said}") from None


def _started(reps: list[RosterRep], as_of: dt.date) -> list[RosterRep]:
    """The reps who have started by the as-of day: one starting later in the period has done
    nothing yet and is owed nothing yet, so is neither ranked last with 0 nor listed as
    without a target (a rep who left is kept: their days of the period were worked)."""
    return [r for r in reps if r.start_date is None or r.start_date <= as_of]


def _eligible(reps: list[RosterRep], role: str | None) -> list[RosterRep]:
    return [r for r in reps if role in (None, ALL_ROLES) or r.role == role]


def _group_of(rep: RosterRep, role: str | None) -> str:
    return ALL_ROLES if role == ALL_ROLES else rep.role


def _groups(settings: Settings, role: str | None, rows: list[LeaderboardRow]) -> tuple[str, ...]:
    present = {r.group for r in rows}
    if role == ALL_ROLES:
        return (ALL_ROLES,) if present else ()
    ordered = [r.name for r in settings.roles if r.name in present]
    return tuple(ordered + sorted(present - set(ordered)))


@dataclass(frozen=True)
class _Context:
    settings: Settings
    metric: MetricSettings
    calendar: BusinessCalendar
    period: Period
    as_of: dt.date
    targets: dict[tuple[int, str], float]
    window_of: Callable[[dt.date | None, dt.date | None], Window]  # `pacing.windows_by_start`
    recorded: bool = True  # `Leaderboard.recorded`
    # Reps whose team's records begin inside the period → that day: paced from it, as their
    # scorecards are (`scorecard.records_begin_days`).
    begins: dict[int, dt.date] = field(default_factory=dict)
    # A distinct count's accrual curve per rep, which paces it as the scorecard does.
    accruals: Accruals = NO_ACCRUALS
    # False: the metric is an average over the deals with an amount, ranked on the known part
    # (`metrics.averages_known_amounts`); True: a figure that left deals out is a partial
    # total, not rankable
    partial_totals: bool = True

    def pace(self, rep: RosterRep, value: float | None) -> Pace:
        """The scorecard's pacing of this metric for the rep (expected-to-date, share)."""
        target = self.targets.get((rep.id, self.metric.name))
        thresholds, better = self.settings.pacing, self.metric.higher_is_better
        if self.metric.aggregate == "ratio" or value is None:
            return level_pace(value, target, thresholds, better)
        window = self.window_of(self.begins.get(rep.id) or rep.start_date, rep.end_date)
        accrual = self.accruals.of(rep.id, self.metric.name, window.total)
        shares = accrual.shares if accrual else ()
        return pace(window, value, target, thresholds, better, accrual=shares)


def _row(
    c: _Context,
    by: RankBy,
    rep: RosterRep,
    group: str,
    now: MetricTotals,
    then: MetricTotals | None,
) -> list[Any]:
    """A rep's row before ranking, as the fields of a `LeaderboardRow` in order: the score
    the rank is on, or why there is none (`_ranked` builds each row once, with its ranks)."""
    name = c.metric.name
    is_ratio = c.metric.aggregate == "ratio"
    value = rep_value(c.settings, now, rep.id, name, is_ratio=is_ratio)
    numerator, denominator = (
        ratio_parts(c.settings, now, [rep.id], name) if is_ratio else (None, None)
    )
    if not c.recorded:
        value, numerator, denominator = None, None, None
    measured = c.pace(rep, value)
    has_target = measured.status != "no_target" and bool(measured.expected_to_date)
    standing: Standing = "ranked"
    if not c.recorded:
        standing = "not_recorded"
    elif value is None:
        standing = "no_value"
    elif is_ratio and not meets_minimum(c.settings, now, [rep.id], name):
        standing = "low_volume"  # (anything but a ratio always meets its minimum)
    score: float | None = value
    earlier: float | None = None
    change: float | None = None
    if by == "target":
        score = measured.pace if has_target else None
        if standing == "ranked" and score is None:
            standing = "no_target"
    elif by == "improved" and then is not None and c.recorded:
        earlier = metric_value(c.settings, then, [rep.id], name)
        change = _change(value, earlier, c.metric.higher_is_better)
        if not meets_minimum(c.settings, then, [rep.id], name):
            change = None
        score = change
        if standing == "ranked" and score is None:
            standing = "no_history"
    unknown = amounts_unknown(c.settings, now, [rep.id], name) if now.unknown else 0
    unknown_then = 0
    if then is not None and then.unknown:
        unknown_then = amounts_unknown(c.settings, then, [rep.id], name)
    if standing in _BEFORE_AMOUNTS and c.partial_totals and (unknown or unknown_then):
        standing = "amounts_unknown"
        change = None  # a partial sum's difference is no figure (not comparable)
    return [  # `LeaderboardRow`'s fields in order (_RANK ... _SCORE index the ranking's)
        None,  # rank
        rep.name,
        rep.team,
        rep.role,
        value,
        numerator,
        denominator,
        None,  # previous_rank
        None,  # previous_value
        rep.id,
        group,
        score if standing == "ranked" else None,
        standing,
        measured.expected_to_date if has_target else None,  # target_to_date
        measured.pace if has_target else None,  # of_target
        earlier,  # comparable_value
        change,
        unknown,  # amounts_unknown
        True,  # moves_known
        unknown_then,  # comparable_amounts_unknown
    ]


# Where `_row` puts the fields the ranking reads and fills in
_RANK, _PREVIOUS_RANK, _PREVIOUS_VALUE, _REP_ID, _GROUP, _SCORE = 0, 7, 8, 9, 10, 11
_MOVES_KNOWN = 18
_new_row = builder(LeaderboardRow)  # positional, at half the cost of LeaderboardRow(**fields)


# The standings a partial sum overrides: its missing amounts are the reason a reader can act
# on (filled in, the rep may be ranked), where "no target" or "nothing in the comparable
# days" read on a partial sum may not even be true (a stretch whose wins all lack amounts
# summed to 0, yet had wins).
_BEFORE_AMOUNTS: frozenset[Standing] = frozenset({"ranked", "no_target", "no_history"})


def _change(now: float | None, then: float | None, higher_is_better: bool) -> float | None:
    """(now - then) ÷ then, turned round when lower is better; None with nothing then."""
    if now is None or then is None or then <= 0:
        return None
    change = (now - then) / then
    return change if higher_is_better else -change


STANDING_ORDER: dict[Standing, int] = {
    "ranked": 0,
    "low_volume": 1,
    "no_target": 2,
    "no_history": 3,
    "amounts_unknown": 4,
    "no_value": 5,
    "not_recorded": 6,
}


def _ranked(
    c: _Context,
    by: RankBy,
    reps: list[RosterRep],
    role: str | None,
    now: MetricTotals,
    then: MetricTotals | None,
    earlier: dict[int, tuple[int | None, float | None]] | None = None,
) -> list[LeaderboardRow]:
    """The rows, ranked and ordered; `earlier` (rep id -> rank and value over the previous
    period) fills in each row's previous rank and value."""
    fields_of = [_row(c, by, rep, _group_of(rep, role), now, then) for rep in reps]
    ranks = _ranks(c, by, [(f[_GROUP], f[_REP_ID], f[_SCORE]) for f in fields_of])
    order = {name: i for i, name in enumerate(r.name for r in c.settings.roles)}
    groups = {f[_REP_ID]: f[_GROUP] for f in fields_of}
    before = {rep_id: rank for rep_id, (rank, _) in (earlier or {}).items()}
    level = _level_groups(groups, ranks) | _level_groups(groups, before)
    # Each row built once, with its rank and the previous period's: 19 fields, 1,000 rows
    for f in fields_of:
        f[_RANK] = ranks.get(f[_REP_ID])
        if earlier is not None:
            f[_PREVIOUS_RANK], f[_PREVIOUS_VALUE] = earlier[f[_REP_ID]]
            f[_MOVES_KNOWN] = f[_GROUP] not in level
    rows = [_new_row(*f) for f in fields_of]
    key: Callable[[LeaderboardRow], tuple[int, str, int, int, str]] = lambda r: (  # noqa: E731
        order.get(r.group, len(order)),
        r.group,
        STANDING_ORDER[r.standing],
        r.rank or 0,
        r.rep,
    )
    return sorted(rows, key=key)


def _level_groups(groups: Mapping[int, str], ranks: Mapping[int, int | None]) -> set[str]:
    """The boards with two or more ranked reps (`ranks`: rep id -> rank, None or absent: not
    ranked), all level: such a standing orders nobody, so a move to or from it is none (a
    board of one rep is kept: first then and now is truly no move)."""
    ranked: dict[str, list[int]] = {}
    for rep_id, rank in ranks.items():
        if rank is not None:
            ranked.setdefault(groups[rep_id], []).append(rank)
    return {group for group, seen in ranked.items() if len(seen) > 1 and len(set(seen)) == 1}


def _standings(
    c: _Context, by: RankBy, reps: list[RosterRep], role: str | None, totals: MetricTotals
) -> dict[int, tuple[int | None, float | None]]:
    """Each rep's rank and value on these totals (the previous period's) when ranking by
    count: `_row`'s value and standing without the pacing a full row carries."""
    name = c.metric.name
    scored: list[tuple[str, int, float | None]] = []
    values: dict[int, float | None] = {}
    is_ratio = c.metric.aggregate == "ratio"
    for rep in reps:
        value = rep_value(c.settings, totals, rep.id, name, is_ratio=is_ratio)
        # anything but a ratio always meets its minimum, as in `_row`
        ranked = not is_ratio or (
            value is not None and meets_minimum(c.settings, totals, [rep.id], name)
        )
        if ranked and c.partial_totals and totals.unknown:  # a partial sum, as in `_row`
            ranked = not amounts_unknown(c.settings, totals, [rep.id], name)
        values[rep.id] = value
        scored.append((_group_of(rep, role), rep.id, value if ranked else None))
    ranks = _ranks(c, by, scored)
    return {rep_id: (ranks.get(rep_id), value) for rep_id, value in values.items()}


def _ranks(c: _Context, by: RankBy, scored: list[tuple[str, int, float | None]]) -> dict[int, int]:
    """Rep id -> competition rank within its group, from (group, rep id, score) of each row
    (None: not ranked)."""
    better = c.metric.higher_is_better if by != "improved" else True
    ranks: dict[int, int] = {}
    for group in {g for g, _, _ in scored}:
        mine = [(rep_id, score) for g, rep_id, score in scored if g == group and score is not None]
        ranked = competition_ranks([score for _, score in mine if score is not None], better)
        ranks.update(zip([rep_id for rep_id, _ in mine], ranked, strict=True))
    return ranks


RECENT_WINS_PER_METRIC = 50  # the newest of each metric's wins; a TV banner shows four


def recent_wins(
    engine: Engine,
    settings: Settings,
    metrics: list[str],
    since: dt.datetime,
    rep_ids: list[int],
    *,
    until: dt.datetime,
) -> list[Win]:
    """What the reps landed from `since` to `until` (UTC, both included) on the given count
    metrics, newest first; a tie in time goes to the rep whose name sorts last, then the
    metric listed first, then the lower rep id. At most the newest `RECENT_WINS_PER_METRIC`
    of each metric.

    `until` is the board's now: a win recorded for a later moment (a clock set to a past
    day, a meeting logged ahead) has not landed yet, so it is not celebrated."""
    wins: list[Win] = []
    if not rep_ids:
        return wins
    start, end = _naive_utc(since), _naive_utc(until)
    with engine.connect() as conn:
        for name in metrics:
            definition = _metric(settings, name)
            label = definition.label or name
            found = _recent(conn, settings, definition, start, end, rep_ids)
            # the rep id order within a metric is the tie order (`sorted` keeps it below)
            for rep_id, rep, at in sorted(found, key=lambda r: r[0]):
                wins.append(Win(rep, rep_id, name, label, at))
    return sorted(wins, key=lambda w: (w.at, w.rep), reverse=True)


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _recent(
    conn: Connection,
    settings: Settings,
    metric: MetricSettings,
    since: dt.datetime,
    until: dt.datetime,
    rep_ids: list[int],
) -> list[tuple[int, str, dt.datetime]]:
    """The metric's newest wins in [since, until], read through the time index.

    The window is minutes wide, so the rows are found by their time (`ix_activity_occurred_id`,
    `ix_deal_status_closed` or `ix_deal_created_id`, read newest first) and the reps are a
    filter on them, not an access path: `rep_id + 0` keeps both planners off the rep
    indexes, through which SQLite read every activity of the board's reps for each refresh
    (480,000 rows on the demo, 0.4 s) to keep a few minutes of them."""
    if metric.aggregate != "count":
        raise UserInputError(f"metric: {metric.name!r} is not a count of wins to celebrate")
    if metric.source == "deals":
        credit, moment = deal_credit_column(metric), deal_date_column(metric)
        query = (
            select(Rep.id, Rep.name, moment)
            .join(Rep, Rep.id == credit)
            .where(
                deal_filter(metric),
                moment >= since,
                moment <= until,
                (credit + 0).in_(rep_ids),
            )
            .order_by(moment.desc(), Deal.id.desc())
        )
    else:
        query = (
            select(Rep.id, Rep.name, Activity.occurred_at)
            .join(Rep, Rep.id == Activity.rep_id)
            .where(
                activity_filter(settings, metric),
                Activity.occurred_at >= since,
                Activity.occurred_at <= until,
                (Activity.rep_id + 0).in_(rep_ids),
            )
            .order_by(Activity.occurred_at.desc(), Activity.id.desc())
        )
        if needs_contact(metric):
            query = query.outerjoin(Contact, Contact.id == Activity.contact_id)
    query = query.limit(RECENT_WINS_PER_METRIC)
    return [(int(i), str(n), at) for i, n, at in conn.execute(query) if at is not None]
