"""Stack ranking: reps ordered by one metric for a period, with the move since last period.

Ties share a rank (1, 2, 2, 4: "competition" ranking, so nobody is pushed below a rep they
equal). Ratio metrics rank only reps with enough volume behind the ratio (the metric's
`min_denominator`): one lucky call is not a 100% connect rate. Those below the minimum are
listed after the ranked reps, unranked, so nobody silently disappears from the board.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine

from paceline.analytics.metrics import (
    MetricTotals,
    meets_minimum,
    metric_totals,
    metric_value,
    ratio_parts,
)
from paceline.analytics.rollup import ensure_rollup
from paceline.analytics.scorecard import RosterRep, active_paced_reps
from paceline.calendar import BusinessCalendar, Period, PeriodKind
from paceline.config import MetricSettings, Settings, Unit
from paceline.errors import UserInputError, did_you_mean

LEADERBOARD_PERIODS: tuple[PeriodKind, ...] = ("day", "week", "month", "quarter", "year")


@dataclass(frozen=True)
class LeaderboardRow:
    rank: int | None  # None: below the minimum volume for a ratio
    rep: str
    team: str | None
    role: str
    value: float | None  # None: a ratio with nothing to divide by (no data, not zero)
    numerator: float | None  # ratio metrics: the parts, so a reader sees the volume
    denominator: float | None
    previous_rank: int | None
    previous_value: float | None

    @property
    def rank_change(self) -> int | None:
        """Places gained since the previous period (negative: lost)."""
        if self.rank is None or self.previous_rank is None:
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


def leaderboard(
    engine: Engine,
    settings: Settings,
    metric: str,
    period_kind: PeriodKind = "month",
    as_of: dt.date | None = None,
    team: str | None = None,
    role: str | None = None,
) -> Leaderboard:
    """Rank reps on `metric` for the period to date; rank changes against the whole last one."""
    definition = _metric(settings, metric)
    if period_kind not in LEADERBOARD_PERIODS:
        raise UserInputError(f"period: use one of {', '.join(LEADERBOARD_PERIODS)}")
    if role is not None and role not in settings.role_names:
        raise UserInputError(
            f"role: unknown role {role!r}; known: {', '.join(sorted(settings.role_names))}"
        )
    calendar = BusinessCalendar(settings.calendar)
    as_of = as_of or calendar.today()
    period = calendar.period(period_kind, as_of)
    previous = calendar.previous(period)
    ensure_rollup(engine, settings)
    with engine.connect() as conn:
        reps = _eligible(active_paced_reps(conn, settings, period, team), role)
        ids = [r.id for r in reps] if len(reps) <= 200 else None  # a long IN list costs more
        end = min(as_of + dt.timedelta(days=1), period.end)
        now = metric_totals(conn, settings, [metric], period.start, end, ids)
        before = metric_totals(conn, settings, [metric], previous.start, previous.end, ids)
    current_rows = _ranked(settings, definition, reps, now)
    total, parts = _total(settings, definition, [r.id for r in reps], now)
    previous_ranks = {row.rep: row for row in _ranked(settings, definition, reps, before)}
    rows = [
        LeaderboardRow(
            rank=row.rank,
            rep=row.rep,
            team=row.team,
            role=row.role,
            value=row.value,
            numerator=row.numerator,
            denominator=row.denominator,
            previous_rank=previous_ranks[row.rep].rank,
            previous_value=previous_ranks[row.rep].value,
        )
        for row in current_rows
    ]
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
    )


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


def _eligible(reps: list[RosterRep], role: str | None) -> list[RosterRep]:
    return [r for r in reps if role is None or r.role == role]


def _ranked(
    settings: Settings, metric: MetricSettings, reps: list[RosterRep], totals: MetricTotals
) -> list[LeaderboardRow]:
    is_ratio = metric.aggregate == "ratio"
    values = {r.id: metric_value(settings, totals, [r.id], metric.name) for r in reps}
    ranked = {
        r.id: value
        for r in reps
        if (value := values[r.id]) is not None
        and meets_minimum(settings, totals, [r.id], metric.name)
    }
    ranks = dict(
        zip(
            ranked,
            competition_ranks(list(ranked.values()), metric.higher_is_better),
            strict=True,
        )
    )
    rows = []
    for rep in reps:
        numerator, denominator = (
            ratio_parts(settings, totals, [rep.id], metric.name) if is_ratio else (None, None)
        )
        rows.append(
            LeaderboardRow(
                rank=ranks.get(rep.id),
                rep=rep.name,
                team=rep.team,
                role=rep.role,
                value=values[rep.id],
                numerator=numerator,
                denominator=denominator,
                previous_rank=None,
                previous_value=None,
            )
        )
    return sorted(rows, key=lambda r: (r.rank is None, r.rank or 0, r.rep))
