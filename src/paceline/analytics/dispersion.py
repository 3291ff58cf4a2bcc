"""Overdispersion: how much more a rep's daily counts vary than a Poisson count would.

The behind-pace test asks how likely a shortfall is at target pace. A Poisson count has its
variance equal to its mean, but real activity is clustered: calls are made in blocks,
meetings come in clumps, a week off happens. Judged as Poisson, a clustered rep's ordinary
slow fortnight looks like a one-in-a-thousand event and the manager gets a false alarm.

So each rep's dispersion (variance / mean of the daily count) is measured on the business
days of a history window *before* the period judged (a rep's shortfall this month must not
excuse itself), zero days included:
- per key metric, and for the key counts the behind-pace test pools, added up per day;
- from the rep's start date or first recorded key activity in the window, whichever is later:
  the days before may be days before the rep's data was imported, not days of no work;
- shrunk toward the role's pooled estimate with the weight of `dispersion_prior_days` days,
  so a new hire with a week of history is judged by the role's clustering, not their own luck;
- never below 1: a steadier-than-Poisson history does not make a shortfall more damning.

A count with mean m and dispersion d > 1 is then negative binomial with size m / (d - 1) and
success probability 1 / d: variance d x m, and daily counts so modelled add up to the same
family over a period (see `pacing.shortfall_chance`).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Select, func, select

from paceline.analytics.metric_sql import is_additive_activity_metric
from paceline.calendar import BusinessCalendar
from paceline.config import Settings
from paceline.store.models import MetricDay

POOLED = "*"  # the key of a rep's pooled key counts among the per-metric sums


@dataclass(frozen=True)
class DaySums:
    """A daily count over `days` business days: its sum and its sum of squares."""

    days: int
    total: float
    squares: float

    @property
    def squared_deviations(self) -> float:
        """Sum over the days of (count - mean)^2, the zero days included."""
        return max(self.squares - self.total**2 / self.days, 0.0) if self.days else 0.0


def index_of_dispersion(sums: DaySums) -> float | None:
    """Sample variance / mean of the daily count; None when nothing can be told (fewer than
    two days, or no activity at all)."""
    if sums.days < 2 or sums.total <= 0:
        return None
    mean = sums.total / sums.days
    return sums.squared_deviations / (sums.days - 1) / mean


def role_dispersion(reps: Sequence[DaySums]) -> float:
    """The role's dispersion: the median of its reps' own (a rep back from two weeks' leave
    must not make the whole role look clustered); 1 when no rep can tell; at least 1."""
    own = [d for d in (index_of_dispersion(sums) for sums in reps) if d is not None]
    return max(statistics.median(own), 1.0) if own else 1.0


def shrunk_dispersion(sums: DaySums, role: float, prior_days: int) -> float:
    """The rep's own dispersion weighed by their days of history against the role's weighed by
    `prior_days`; at least 1."""
    own = index_of_dispersion(sums)
    if own is None:
        return max(role, 1.0)
    weight = sums.days - 1
    return max((weight * own + prior_days * role) / (weight + prior_days), 1.0)


@dataclass(frozen=True)
class HistoryRep:
    id: int
    role: str
    start_date: dt.date | None


@dataclass(frozen=True)
class Dispersions:
    """Each rep's dispersion per key metric and for their pooled key counts (POOLED)."""

    values: dict[tuple[int, str], float]

    def of(self, rep_id: int, metric: str = POOLED) -> float:
        return self.values.get((rep_id, metric), 1.0)


POISSON = Dispersions({})


def pooled_metrics(settings: Settings, role: str) -> list[str]:
    """A role's key counts the behind-pace test pools (rolled-up activity counts alerted on)."""
    names = next((r.key_metrics for r in settings.roles if r.name == role), [])
    return [
        name
        for name in names
        if settings.metric(name).aggregate == "count"
        and settings.metric(name).source in settings.alerts.sources
        and is_additive_activity_metric(settings.metric(name))
    ]


def read_dispersions(
    conn: Connection,
    settings: Settings,
    calendar: BusinessCalendar,
    reps: Sequence[HistoryRep],
    before: dt.date,
    rep_ids: list[int] | None,
) -> Dispersions:
    """The reps' dispersions over the `pacing.dispersion_history_days` business days before
    `before`: one grouped query for the per-metric sums, one per role for the pooled ones.
    `rep_ids` None reads everyone (cheaper than a long IN list)."""
    history = settings.pacing.dispersion_history_days
    if history == 0 or not reps:
        return POISSON
    start, off_days = _history(calendar, before, history)
    metrics = sorted(
        {m for role in {r.role for r in reps} for m in _rolled_key_counts(settings, role)}
    )
    rows = list(conn.execute(_metric_sums(metrics, start, before, off_days, rep_ids)))
    first: dict[int, dt.date] = {}
    for rep_id, _, seen, _, _ in rows:
        first[rep_id] = min(seen, first.get(rep_id, seen))
    days = {
        rep.id: calendar.business_days(
            max(start, rep.start_date or start, first.get(rep.id, before)), before
        )
        for rep in reps
    }
    sums: dict[tuple[int, str], DaySums] = {}
    for rep_id, metric, _, total, squares in rows:
        if rep_id in days:
            sums[(rep_id, metric)] = DaySums(days[rep_id], float(total), float(squares))
    for role in sorted({r.role for r in reps}):
        pooled = pooled_metrics(settings, role)
        members = {r.id for r in reps if r.role == role}
        if pooled:
            for rep_id, total, squares in conn.execute(
                _pooled_sums(pooled, start, before, off_days, rep_ids)
            ):
                if rep_id in members:
                    sums[(rep_id, POOLED)] = DaySums(days[rep_id], float(total), float(squares))
    return _shrunk(settings, reps, days, sums, metrics)


def _shrunk(
    settings: Settings,
    reps: Sequence[HistoryRep],
    days: dict[int, int],
    sums: dict[tuple[int, str], DaySums],
    metrics: list[str],
) -> Dispersions:
    """Each rep's sums (zero sums for no activity) shrunk toward their role's estimate."""
    prior = settings.pacing.dispersion_prior_days
    values: dict[tuple[int, str], float] = {}
    for role in sorted({r.role for r in reps}):
        members = [r.id for r in reps if r.role == role]
        for metric in [POOLED, *metrics]:
            own = {i: sums.get((i, metric), DaySums(days[i], 0.0, 0.0)) for i in members}
            estimate = role_dispersion(list(own.values()))
            for rep_id, rep_sums in own.items():
                values[(rep_id, metric)] = shrunk_dispersion(rep_sums, estimate, prior)
    return Dispersions(values)


def _rolled_key_counts(settings: Settings, role: str) -> list[str]:
    names = next((r.key_metrics for r in settings.roles if r.name == role), [])
    return [
        n
        for n in names
        if settings.metric(n).aggregate == "count"
        and is_additive_activity_metric(settings.metric(n))
    ]


def _history(
    calendar: BusinessCalendar, before: dt.date, business_days: int
) -> tuple[dt.date, list[dt.date]]:
    """The first day of the `business_days` business days before `before`, and the days in
    between that are not business days (left out of the sums: no count is expected on them)."""
    start = before
    counted = 0
    off: list[dt.date] = []
    while counted < business_days:
        start -= dt.timedelta(days=1)
        if calendar.is_business_day(start):
            counted += 1
        else:
            off.append(start)
    return start, off


def _metric_sums(
    metrics: list[str],
    start: dt.date,
    end: dt.date,
    off_days: list[dt.date],
    rep_ids: list[int] | None,
) -> Select[int, str, dt.date, float, float]:
    query = (
        select(
            MetricDay.rep_id,
            MetricDay.metric,
            func.min(MetricDay.local_date),
            func.sum(MetricDay.value),
            func.sum(MetricDay.value * MetricDay.value),
        )
        .where(
            MetricDay.metric.in_(metrics),
            MetricDay.local_date >= start,
            MetricDay.local_date < end,
            MetricDay.local_date.not_in(off_days),
        )
        .group_by(MetricDay.rep_id, MetricDay.metric)
    )
    if rep_ids is not None:
        query = query.where(MetricDay.rep_id.in_(rep_ids))
    return query


def _pooled_sums(
    metrics: list[str],
    start: dt.date,
    end: dt.date,
    off_days: list[dt.date],
    rep_ids: list[int] | None,
) -> Select[int, float, float]:
    """Per rep: the sum and the sum of squares of the metrics' daily total."""
    daily = (
        select(
            MetricDay.rep_id.label("rep_id"),
            func.sum(MetricDay.value).label("total"),
        )
        .where(
            MetricDay.metric.in_(metrics),
            MetricDay.local_date >= start,
            MetricDay.local_date < end,
            MetricDay.local_date.not_in(off_days),
        )
        .group_by(MetricDay.rep_id, MetricDay.local_date)
    )
    if rep_ids is not None:
        daily = daily.where(MetricDay.rep_id.in_(rep_ids))
    day = daily.subquery()
    return select(
        day.c.rep_id, func.sum(day.c.total), func.sum(day.c.total * day.c.total)
    ).group_by(day.c.rep_id)
