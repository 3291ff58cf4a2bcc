"""Overdispersion: how much more a rep's daily counts vary than a Poisson count would.

The behind-pace test asks how likely a shortfall is at target pace. A Poisson count has its
variance equal to its mean, but real activity is clustered: calls are made in blocks,
meetings come in clumps, a week off happens. Judged as Poisson, a clustered rep's ordinary
slow fortnight looks like a one-in-a-thousand event and the manager gets a false alarm.

So each rep's dispersion (variance / mean of the daily count) is measured on the business
days of the `dispersion_history_days` before the stretch judged (a shortfall must not excuse
itself), zero days included:
- per key metric, and for the key counts the behind-pace test pools, added up per day;
- from the rep's start date or first recorded key activity in the window, whichever is later:
  the days before may be before the rep's data was imported, not days of no work;
- per metric, from the day the organisation's data starts recording it when that is inside
  the history (nobody, of any role, has any of it before; `_recording_starts`): a CRM
  integration switched on mid-history (meetings logged from the day a calendar was
  connected) made the days before read as zeros, and a clustering that is only the
  recording's start excused a shortfall. The pooled count keeps the rep's first day;
- shrunk toward the median of the role's reps with the weight of `dispersion_prior_days`
  days, so a new hire with a week of history is judged by the role's clustering, not their
  own luck, and one rep back from leave does not make the whole role look clustered;
- never below 1: a steadier-than-Poisson history does not make a shortfall more damning.

What daily counts cannot see: clustering across days (a rate that drifts from month to month)
makes a month's total vary more than its days suggest, and a weekday rhythm makes days vary
more than a month's total. Weekly sums were tried and are noisier over a quarter's history.

A count with mean m and dispersion d > 1 is then negative binomial with size m / (d - 1) and
success probability 1 / d: variance d x m, and daily counts so modelled add up to the same
family over a period (see `pacing.shortfall_chance`).
"""

from __future__ import annotations

import datetime as dt
import functools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    bindparam,
    case,
    false,
    func,
    select,
    union_all,
)

from paceline.analytics.metric_sql import is_additive_activity_metric
from paceline.calendar import BusinessCalendar
from paceline.config import Settings
from paceline.store.models import MetricDay, Rep

POOLED = "*"  # the key of a rep's pooled key counts among the per-metric dispersions


@dataclass(frozen=True)
class Sums:
    """A count observed over `n` equal stretches (days or blocks): its sum and sum of squares."""

    n: int
    total: float
    squares: float

    @property
    def squared_deviations(self) -> float:
        """Sum over the stretches of (count - mean)^2, the empty ones included."""
        return max(self.squares - self.total**2 / self.n, 0.0) if self.n else 0.0


def index_of_dispersion(sums: Sums) -> float | None:
    """Sample variance / mean of the count; None when nothing can be told (fewer than two
    stretches, or no activity at all)."""
    if sums.n < 2 or sums.total <= 0:
        return None
    return sums.squared_deviations / (sums.n - 1) / (sums.total / sums.n)


def role_dispersion(reps: Sequence[Sums]) -> float:
    """The role's dispersion: the median of its reps' own; 1 when no rep can tell; at least 1."""
    own = [d for d in (index_of_dispersion(sums) for sums in reps) if d is not None]
    return max(statistics.median(own), 1.0) if own else 1.0


def shrunk_dispersion(sums: Sums, role: float, prior: float) -> float:
    """The rep's own dispersion weighed by their degrees of freedom (stretches - 1) against
    the role's weighed by `prior` stretches; at least 1."""
    own = index_of_dispersion(sums)
    if own is None:
        return max(role, 1.0)
    weight = sums.n - 1
    return max((weight * own + prior * role) / (weight + prior), 1.0)


@dataclass(frozen=True)
class HistoryRep:
    id: int
    role: str
    start_date: dt.date | None


@dataclass(frozen=True)
class Dispersions:
    """Each rep's dispersion per key metric and for their pooled key counts (POOLED)."""

    values: dict[tuple[int, str], float]

    def of(self, rep_id: int, metric: str = POOLED) -> float | None:
        """None: not read (Poisson is used; see `suspects_dispersions`)."""
        return self.values.get((rep_id, metric))


POISSON = Dispersions({})


ROLE_SAMPLE = 30  # role-mates read beside the suspects, for the role's median
IN_LIST_LIMIT = 200  # beyond this many reps, everyone's history is read and the rest ignored


def suspects_dispersions(
    conn: Connection,
    settings: Settings,
    calendar: BusinessCalendar,
    reps: Sequence[HistoryRep],
    suspects: set[int],
    before: dt.date,
) -> Dispersions:
    """Dispersions of the `suspects`, the reps whose verdict clustering could change.

    A wider spread only makes a shortfall likelier, so a rep whom Poisson does not call behind
    needs no history: most reps are not short at all, and a thousand scorecards stay about as
    fast as without it. Beside the suspects, up to ROLE_SAMPLE of each suspect role's other
    reps (the lowest ids, so the same every time) are read for the role's median."""
    if not suspects:
        return POISSON
    readers = [r for r in reps if r.id in suspects]
    for role in sorted({r.role for r in readers}):
        mates = sorted((r for r in reps if r.role == role and r.id not in suspects), key=_id)
        readers += mates[:ROLE_SAMPLE]
    ids = [r.id for r in readers]
    wanted = ids if len(ids) <= IN_LIST_LIMIT else None
    return read_dispersions(conn, settings, calendar, readers, before, wanted)


def _id(rep: HistoryRep) -> int:
    return rep.id


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
    """The reps' dispersions over the history before `before`: of each rep's own role's key
    counts and of their pool (`POOLED`), the only ones a card reads. `rep_ids` None reads
    everyone (cheaper than a long IN list).

    Two statements: each role's reps' daily counts of that role's key counts alone (a row per
    rep), and each rep's first day with any of the key counts read (`_first_days`).

    Reps whose roles have no rolled-up key count (paced on distinct counts alone: accounts
    called) have no daily counts to read: Poisson, as for any metric not in the rollup (the
    statement of no role's counts failed, on a card of 0 accounts called, before
    2026-12-07)."""
    history = settings.pacing.dispersion_history_days
    if history == 0 or not reps:
        return POISSON
    roles = sorted({r.role for r in reps})
    own = {role: _rolled_key_counts(settings, role) for role in roles}
    metrics = sorted({m for role in roles for m in own[role]})
    if not metrics:
        return POISSON
    start, off_days = history_days(calendar, before, history)
    shape = tuple((role, tuple(own[role]), tuple(pooled_metrics(settings, role))) for role in roles)
    names = [*metrics, POOLED]
    skipped = set(off_days)
    business = [
        start + dt.timedelta(days=i)
        for i in range((before - start).days)
        if start + dt.timedelta(days=i) not in skipped
    ]
    bound: dict[str, Any] = {"days": business}
    wanted = set(rep_ids) if rep_ids is not None else None
    for j, role in enumerate(roles):
        if wanted is not None:
            bound[f"rep_ids_{j}"] = [r.id for r in reps if r.role == role and r.id in wanted]
        else:
            bound[f"role_{j}"] = role
    read: dict[int, list[float]] = {}
    for rep_id, *columns in conn.execute(
        _day_sums(tuple(metrics), shape, wanted is not None), bound
    ):
        read[rep_id] = [float(v or 0.0) for v in columns]
    firsts = _first_days(conn, tuple(metrics), [r.id for r in reps], business)
    recording = _recording_starts(conn, tuple(metrics), start, before)
    sums: dict[tuple[int, str], Sums] = {}
    zeros = [0.0] * 2 * len(names)
    for rep in reps:
        columns = read.get(rep.id, zeros)
        since = max(start, rep.start_date or start, firsts.get(rep.id, before))
        for i, name in enumerate(names):
            begin = max(since, recording.get(name, start))
            days = calendar.business_days(begin, before)
            sums[(rep.id, name)] = Sums(days, columns[2 * i], columns[2 * i + 1])
    return _shrunk(
        reps,
        sums,
        {role: [*own[role], POOLED] for role in roles},
        settings.pacing.dispersion_prior_days,
    )


def _shrunk(
    reps: Sequence[HistoryRep],
    sums: dict[tuple[int, str], Sums],
    names: dict[str, list[str]],
    prior: float,
) -> Dispersions:
    """Each rep's sums shrunk toward their role's median, for their role's `names`."""
    values: dict[tuple[int, str], float] = {}
    for role in sorted({r.role for r in reps}):
        members = [r.id for r in reps if r.role == role]
        for name in names[role]:
            estimate = role_dispersion([sums[(i, name)] for i in members])
            for rep_id in members:
                values[(rep_id, name)] = shrunk_dispersion(sums[(rep_id, name)], estimate, prior)
    return Dispersions(values)


def _rolled_key_counts(settings: Settings, role: str) -> list[str]:
    names = next((r.key_metrics for r in settings.roles if r.name == role), [])
    return [
        n
        for n in names
        if settings.metric(n).aggregate == "count"
        and is_additive_activity_metric(settings.metric(n))
    ]


def history_days(
    calendar: BusinessCalendar, before: dt.date, business_days: int
) -> tuple[dt.date, list[dt.date]]:
    """The first day of the `business_days` business days before `before`, and the days in
    between that are not business days (left out: no count is expected on them)."""
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


@functools.lru_cache(maxsize=64)
def _day_sums(
    metrics: tuple[str, ...],
    roles: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...],
    by_rep: bool,
) -> Select[Any]:
    """Per rep: the sum and the sum of squares of each metric's daily count and of the pooled
    daily count, over the rows of the rep's own role's key counts (`roles`: each role, its
    key counts and the pooled ones among them); another role's metric sums to 0.

    One SELECT per role, glued by UNION ALL, each reading only its role's metrics for its
    role's reps (`rep_ids_<j>`, or with `by_rep` False every rep of `role_<j>`): SQLite seeks
    each (metric, day, rep) of the primary key, so reading every role's metrics for every rep
    sought each rep's history once per metric of any role (58 ms of a 10M page, measured).
    Every value a card reads adds the same rows: a count's daily sums are whole numbers.

    Built once per shape, the days and reps bound at execution (the business `days`):
    building it anew at every request that reads dispersions was about a twelfth of the
    API's scorecard CPU."""
    parts = []
    for j, (_, own, pooled) in enumerate(roles):
        if not own:
            continue
        per_metric = [
            func.sum(case((MetricDay.metric == name, MetricDay.value), else_=0.0)).label(f"m{i}")
            for i, name in enumerate(metrics)
        ]
        in_pool = MetricDay.metric.in_(pooled) if pooled else false()
        pool = func.sum(case((in_pool, MetricDay.value), else_=0.0)).label("pool")
        daily = select(
            MetricDay.rep_id.label("rep_id"), MetricDay.local_date.label("day"), *per_metric, pool
        ).where(
            MetricDay.metric.in_(own),
            # The history's business days listed, not a range less its days off: SQLite
            # then seeks each (metric, day[, rep]) in the primary key instead of testing
            # every row of the range against the days off (a third of the statement's time
            # at 1M, measured; more with a full history and a short list of reps).
            MetricDay.local_date.in_(bindparam("days", expanding=True)),
        )
        if by_rep:
            daily = daily.where(MetricDay.rep_id.in_(bindparam(f"rep_ids_{j}", expanding=True)))
        else:
            daily = daily.join(Rep, Rep.id == MetricDay.rep_id).where(
                Rep.role == bindparam(f"role_{j}")
            )
        parts.append(daily.group_by(MetricDay.rep_id, MetricDay.local_date))
    day = union_all(*parts).subquery()
    columns: list[ColumnElement[Any]] = []
    for column in [*(day.c[f"m{i}"] for i in range(len(metrics))), day.c.pool]:
        columns += [func.sum(column), func.sum(column * column)]
    return select(day.c.rep_id, *columns).group_by(day.c.rep_id)


def _recording_starts(
    conn: Connection, metrics: tuple[str, ...], start: dt.date, before: dt.date
) -> dict[str, dt.date]:
    """The metrics whose first record by anyone (any rep, any role) falls inside the history
    [start, before), each with that day: the organisation's data records them from then on.
    A metric recorded before `start`, or never, is left out (its history is all of it).

    One statement, a MIN per metric on `metric_day`'s primary key (metric, day): a seek each,
    not a scan of the metric's rows."""
    if not metrics:
        return {}
    firsts = [
        select(func.min(MetricDay.local_date))
        .where(MetricDay.metric == name, MetricDay.local_date < before, MetricDay.value > 0)
        .scalar_subquery()
        .label(f"f{i}")
        for i, name in enumerate(metrics)
    ]
    row = conn.execute(select(*firsts)).one()
    found = {name: _as_date(day) for name, day in zip(metrics, row, strict=True) if day is not None}
    return {name: day for name, day in found.items() if day > start}


def _as_date(value: dt.date | str) -> dt.date:
    """A date from a scalar subquery (SQLite hands back its text)."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def _first_days(
    conn: Connection, metrics: tuple[str, ...], rep_ids: list[int], days: list[dt.date]
) -> dict[int, dt.date]:
    """Each rep's first of `days` with a row of any of `metrics` (none: left out).

    Per rep, the earliest such row through the rep/day index, which SQLite stops at once
    found (a MIN over the index's order), not every day of the history sought per metric."""
    if not metrics or not days or not rep_ids:
        return {}
    first = (
        select(func.min(MetricDay.local_date))
        .where(
            MetricDay.rep_id == Rep.id,
            MetricDay.local_date >= min(days),
            MetricDay.local_date <= max(days),
            MetricDay.local_date.in_(days),
            MetricDay.metric.in_(metrics),
        )
        .scalar_subquery()
    )
    query = select(Rep.id, first).where(Rep.id.in_(rep_ids))
    return {rep_id: day for rep_id, day in conn.execute(query) if day is not None}
