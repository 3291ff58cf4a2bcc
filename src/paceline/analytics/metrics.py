"""The metric engine: configured metrics per rep over a range of business-local days.

Every analysis (scorecard, leaderboard, alerts, plan) asks this module for numbers, so a
metric means the same thing on every page. Where each number comes from:
- counts and sums of activities: the `metric_day` rollup (see `rollup`);
- distinct counts of activities: the activities themselves, through the rep/day index;
- deal metrics: the deals, dated by creation or close in the business time zone and credited
  to the owner or to whoever sourced the deal; metrics on the same deals (the same date,
  status and credit: deals won and revenue) are read together, in one statement;
- sums of deal amounts add the deals with an amount: one the CRM left empty is unknown, not
  0, and `amounts_unknown` counts those a sum left out, so a face can say so;
- ratios: computed from their two parts' totals; None (no data, never 0%) when there is
  nothing to divide by, and below the metric's minimum denominator shown but not ranked
  (`meets_minimum`), so one lucky call is not a 100% connect rate. A sum of amounts over a
  count of the same deals counts only the deals with an amount (revenue per win is of the
  wins with one), as the revenue equation does.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, TypeVar

from sqlalchemy import (
    Boolean,
    ColumnElement,
    CompoundSelect,
    Connection,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)

from paceline.analytics.late_entry import as_of_end, entered_before
from paceline.analytics.metric_sql import (
    activity_filter,
    deal_credit_column,
    deal_date_column,
    deal_filter,
    is_additive_activity_metric,
    needs_contact,
)
from paceline.analytics.money import money_sum
from paceline.calendar import BusinessCalendar, local_midnight_utc, shift_months
from paceline.config import MetricSettings, Settings, derive
from paceline.store.models import (
    Activity,
    Contact,
    Deal,
    KindDay,
    MetricDay,
    MetricMonth,
    Rep,
    Team,
)

_Query = TypeVar("_Query", bound=Select[*tuple[Any, ...]])

_NOTHING: dict[str, float] = {}  # a rep with no totals (read only, never written to)


@dataclass(frozen=True)
class MetricTotals:
    """Totals of base metrics per rep over [start, end); a missing entry is zero."""

    start: dt.date
    end: dt.date
    values: dict[int, dict[str, float]] = field(default_factory=dict)
    # Per rep and sum of deal amounts: the deals it read and left out for want of an amount
    # (counted in the same query as the sum, so the two always describe the same deals).
    unknown: dict[int, dict[str, int]] = field(default_factory=dict)

    def get(self, rep_id: int, metric: str) -> float:
        return self.values.get(rep_id, _NOTHING).get(metric, 0.0)

    def amounts_unknown(self, rep_ids: Iterable[int], metric: str) -> int:
        """Deals a sum of amounts over these reps left out (0 for any other metric)."""
        if not self.unknown:  # the common case: every deal read had its amount
            return 0
        return sum(self.unknown.get(r, {}).get(metric, 0) for r in rep_ids)


REVENUE_METRIC = "revenue"


def revenue_metric(settings: Settings) -> MetricSettings | None:
    """The metric revenue is won and targeted on: `revenue`, else any sum of won deal amounts
    dated by their close (a period's revenue is what closed in it)."""

    def is_revenue(m: MetricSettings) -> bool:
        return (
            m.source == "deals"
            and m.aggregate == "sum"
            and m.status == "won"
            and m.date == "closed_at"
        )

    candidates = [m for m in settings.metrics if is_revenue(m)]
    named = [m for m in candidates if m.name == REVENUE_METRIC]
    return next(iter(named or candidates), None)


def base_metrics(settings: Settings, names: Iterable[str]) -> list[str]:
    """The non-ratio metrics needed to evaluate `names` (ratios expand to their parts).

    Worked out once per configuration and list of names: a scorecard page asks it for
    every rep and metric (a few thousand times), always with the same few names."""
    wanted = tuple(names)
    return list(derive(settings, ("metrics.base", wanted), lambda: _base_metrics(settings, wanted)))


def _base_metrics(settings: Settings, names: Iterable[str]) -> tuple[str, ...]:
    needed: list[str] = []

    def visit(name: str) -> None:
        metric = settings.metric(name)
        if metric.aggregate == "ratio":
            visit(metric.numerator or "")
            visit(metric.denominator or "")
        elif name not in needed:
            needed.append(name)

    for name in names:
        visit(name)
    return tuple(needed)


def metric_value(
    settings: Settings, totals: MetricTotals, rep_ids: Iterable[int], name: str
) -> float | None:
    """A metric summed over reps (a team); ratios are the ratio of the summed parts.

    None is a ratio with nothing to divide by (no calls, no connect rate): 0% there would be
    a silently wrong number, so the faces print a dash instead."""
    metric = settings.metric(name)
    if metric.aggregate != "ratio":
        return base_value(totals, rep_ids, name)
    numerator, denominator = ratio_parts(settings, totals, rep_ids, name)
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def rep_value(
    settings: Settings, totals: MetricTotals, rep_id: int, name: str, *, is_ratio: bool
) -> float | None:
    """`metric_value` of one rep, for a caller that knows already whether `name` is a ratio:
    a page asks it for every rep and metric, and a count or sum then needs no look-up of the
    metric's definition, only the rep's total: `base_value`'s sum of one number, which is
    that number (+ 0.0, as `math.fsum` makes -0.0 of one rep 0.0), without a generator and
    an exact sum per line."""
    if is_ratio:
        return metric_value(settings, totals, (rep_id,), name)
    return totals.values.get(rep_id, _NOTHING).get(name, 0.0) + 0.0


def base_value(totals: MetricTotals, rep_ids: Iterable[int], name: str) -> float:
    """A count or sum over reps (a team): never missing, zero when nothing happened."""
    return math.fsum(totals.get(r, name) for r in rep_ids)


def ratio_parts(
    settings: Settings, totals: MetricTotals, rep_ids: Iterable[int], name: str
) -> tuple[float | None, float | None]:
    """A ratio's summed numerator and denominator (None: a part that is itself a ratio of
    nothing)."""
    metric = settings.metric(name)
    ids = list(rep_ids)
    numerator = metric_value(settings, totals, ids, metric.numerator or "")
    denominator = metric_value(settings, totals, ids, metric.denominator or "")
    if denominator is not None and _counts_the_deals_summed(settings, metric):
        denominator -= totals.amounts_unknown(ids, metric.numerator or "")
    return numerator, denominator


AverageOf = Literal["win", "deal"]


def known_average_of(settings: Settings, name: str) -> AverageOf | None:
    """What a metric averages when it is an average over the deals with an amount (revenue
    per win: the known amounts over the wins that have one): "win" when those deals are won
    ones, "deal" otherwise; None for any other metric.

    Such a figure with deals left out is an honest estimate over the known part, read with
    the count it rests on ("per win with an amount: 3 of 4"); any other figure that left
    deals out is a partial total (a sum, or a sum over a whole count), which can be neither
    ranked nor compared: an unknown amount can be of any size."""
    metric = settings.metric(name)
    if metric.aggregate != "ratio" or not _counts_the_deals_summed(settings, metric):
        return None
    return "win" if settings.metric(metric.denominator or "").status == "won" else "deal"


def averages_known_amounts(settings: Settings, name: str) -> bool:
    """Whether a metric is an average over the deals with an amount (`known_average_of`)."""
    return known_average_of(settings, name) is not None


def _counts_the_deals_summed(settings: Settings, ratio: MetricSettings) -> bool:
    """Whether a ratio divides a sum of deal amounts by a count of the very same deals
    (revenue per win). Such a sum leaves out the deals without an amount, so the count must
    too: dividing the known amounts by every deal would read each unknown amount as 0."""
    numerator = settings.metric(ratio.numerator or "")
    denominator = settings.metric(ratio.denominator or "")
    same_deals = all(
        getattr(numerator, key) == getattr(denominator, key)
        for key in ("source", "date", "status", "credit")
    )
    return (
        same_deals
        and numerator.source == "deals"
        and (numerator.aggregate, numerator.field) == ("sum", "amount")
        and denominator.aggregate == "count"
    )


def meets_minimum(
    settings: Settings, totals: MetricTotals, rep_ids: Iterable[int], name: str
) -> bool:
    """Whether a ratio has enough volume behind it to be ranked or alerted on."""
    metric = settings.metric(name)
    if metric.aggregate != "ratio":
        return True
    _, denominator = ratio_parts(settings, totals, rep_ids, name)
    return denominator is not None and denominator > 0 and denominator >= metric.min_denominator


def metric_totals(
    conn: Connection,
    settings: Settings,
    names: Iterable[str],
    start: dt.date,
    end: dt.date,
    rep_ids: Collection[int] | None = None,
    *,
    as_of: dt.date | None = None,
) -> MetricTotals:
    """Totals per rep of the base metrics behind `names`, over local days [start, end), as
    known at the end of `as_of` (default: the window's last day, `end` - 1).

    Deal metrics count only the deals entered in the CRM by then (`late_entry.known_by`):
    a win closed in the window but entered after the as-of day was not known that day, and
    the forecast and the flow read as of the same day never count it. A window read as of a
    later day (last period's column, the week before, the plan's history) passes that day:
    what was entered since is known then.

    Call `ensure_rollup` before (analyses do it once per request, not per metric). The
    statements are built once per metric and configuration, with the days and reps bound
    as parameters: building them was most of a scorecard request's time.
    """
    values: dict[int, dict[str, float]] = defaultdict(dict)
    unknown: dict[int, dict[str, int]] = defaultdict(dict)
    metrics = [settings.metric(n) for n in base_metrics(settings, names)]
    rolled = [m.name for m in metrics if is_additive_activity_metric(m)]
    for_reps = rep_ids is not None
    reps = {"rep_ids": list(rep_ids)} if rep_ids is not None else {}
    if rolled:
        whole = {m.name for m in metrics if _is_count(m)}
        for rep_id, name, value in _spanning_totals(conn, rolled, whole, start, end, reps):
            values[rep_id][name] = float(value)
    deals: dict[_DealKey, list[tuple[int, int, Any, int]]] = {}
    for metric in metrics:
        if is_additive_activity_metric(metric):
            continue
        if metric.source == "deals":
            known = end - dt.timedelta(days=1) if as_of is None else as_of
            _deal_rows(conn, settings, metric, start, end, known, reps, deals)
            summed = metric.aggregate == "sum"
            for rep_id, count, amount, with_amount in deals[_deal_key(metric)]:
                values[rep_id][metric.name] = float((amount or 0) if summed else count)
                if summed and count - with_amount:
                    unknown[rep_id][metric.name] = count - with_amount
            continue
        bounds: dict[str, Any] = {"start": start, "end": end}
        totals = _totals_statement(settings, metric, for_reps)
        for rep_id, value, missing in conn.execute(totals, {**bounds, **reps}).all():
            values[int(rep_id)][metric.name] = float(value or 0)
            if missing:
                unknown[int(rep_id)][metric.name] = int(missing)
    return MetricTotals(start, end, dict(values), dict(unknown))


# The deals a deal metric reads: (date column, status, credit). Metrics that agree on them
# read the same rows and differ only in what they take from them (a count, a sum).
_DealKey = tuple[str | None, str | None, str]


def _deal_key(metric: MetricSettings) -> _DealKey:
    return metric.date, metric.status, metric.credit


def _deal_rows(
    conn: Connection,
    settings: Settings,
    metric: MetricSettings,
    start: dt.date,
    end: dt.date,
    as_of: dt.date,
    reps: dict[str, Any],
    read: dict[_DealKey, list[tuple[int, int, Any, int]]],
) -> None:
    """Per credited rep, (rep, deals, summed amount, deals with an amount) of the deals
    `metric` reads, into `read` unless already there.

    Why one statement for every metric on the same deals: the won deals' count and their
    revenue (a sales rep's scorecard has both) were two statements with the same filter, a
    round trip and about 0.1-0.2 ms of CPU each on PostgreSQL. Both numbers come out as
    before: the count is the same count, the sum adds the same rows (amounts are exact
    decimals), and the deals without an amount are the count less those with one."""
    key = _deal_key(metric)
    if key in read:
        return
    first, after = utc_bounds(settings, start, end)
    for_reps = bool(reps)
    statement = derive(
        settings, ("metrics.deal_rows", key, for_reps), lambda: _deal_statement(metric, for_reps)
    )
    read[key] = [
        (int(rep_id), int(count), amount, int(with_amount))
        for rep_id, count, amount, with_amount in conn.execute(
            statement,
            {"first": first, "after": after, "known": as_of_end(settings.calendar.zone, as_of)}
            | reps,
        )
    ]


TotalsReader = Callable[
    [Connection, Settings, Iterable[str], dt.date, dt.date, Collection[int] | None], MetricTotals
]


class SpanTotals:
    """`metric_totals` for one set of reps over many windows whose edges are known ahead:
    each stretch between two neighbouring edges is read once, and a window's activity counts
    are the sums of its stretches.

    Why: a backtest forecasts a dozen cut-offs, each reading the funnel's counts over the
    year before it (`forecast.prepare`). Read window by window, the same `metric_day` days
    were scanned up to twelve times: most of a 6-month backtest at 10M activities. Adding
    stretches gives exactly `metric_totals`'s answer only for counts (whole numbers add up
    the same in any order, where sums of fractions might not in the last bit), so anything
    else (another metric, other reps, a day that is not an edge) is read by `metric_totals`
    as before. Call it as `metric_totals` (same arguments); keep one per connection.
    """

    def __init__(
        self, settings: Settings, rep_ids: Collection[int] | None, edges: Iterable[dt.date]
    ):
        self._settings = settings
        self._reps = None if rep_ids is None else tuple(sorted(rep_ids))
        self._edges = sorted(set(edges))
        # (stretch's first day, metric) -> rep -> count, for the stretches read so far
        self._read: dict[tuple[dt.date, str], dict[int, float]] = {}

    def __call__(
        self,
        conn: Connection,
        settings: Settings,
        names: Iterable[str],
        start: dt.date,
        end: dt.date,
        rep_ids: Collection[int] | None = None,
    ) -> MetricTotals:
        wanted = base_metrics(settings, names)
        reps = None if rep_ids is None else tuple(sorted(rep_ids))
        if (
            settings is not self._settings
            or reps != self._reps
            or start >= end
            or start not in self._edges
            or end not in self._edges
            or not all(_is_count(settings.metric(n)) for n in wanted)
        ):
            return metric_totals(conn, settings, wanted, start, end, rep_ids)
        first, last = self._edges.index(start), self._edges.index(end)
        summed: dict[int, dict[str, float]] = defaultdict(dict)
        for lo, hi in zip(self._edges[first:last], self._edges[first + 1 : last + 1], strict=True):
            for name, by_rep in self._stretch(conn, wanted, lo, hi).items():
                for rep, value in by_rep.items():
                    summed[rep][name] = summed[rep].get(name, 0.0) + value
        # In the order metric_totals' GROUP BY gives its rows: by rep, then metric.
        values = {rep: dict(sorted(summed[rep].items())) for rep in sorted(summed)}
        return MetricTotals(start, end, values, {})

    def _stretch(
        self, conn: Connection, names: list[str], lo: dt.date, hi: dt.date
    ) -> dict[str, dict[int, float]]:
        """Each of `names`' counts per rep over [lo, hi), reading those not read yet."""
        missing = [n for n in names if (lo, n) not in self._read]
        if missing:
            read = metric_totals(conn, self._settings, missing, lo, hi, self._reps)
            for name in missing:
                self._read[lo, name] = {}
            for rep, by_name in read.values.items():
                for name, value in by_name.items():
                    self._read[lo, name][rep] = value
        return {n: self._read[lo, n] for n in names}


def _is_count(metric: MetricSettings) -> bool:
    """A count of activities: whole numbers per rep and day, served by the rollup."""
    return is_additive_activity_metric(metric) and metric.aggregate == "count"


def _spanning_totals(
    conn: Connection,
    names: list[str],
    counts: Collection[str],
    start: dt.date,
    end: dt.date,
    reps: dict[str, Any],
) -> Iterable[tuple[int, str, float]]:
    """`_rolled_totals`, with the counts of a window that holds whole calendar months read
    as its first days (`metric_day`), the whole months (`metric_month`, one row per rep and
    month) and its last month (month to date, as `_rolled_totals` reads it).

    Why: a diagnosis reads its 180-day window's totals for a team and its peers many times
    (coaching, funnels, the equation, busy-vs-productive); day by day that is ~125 business
    days of rows per rep and metric, where the months give ~5 rows and the edges a month or
    so of days. Only counts: whole numbers add up to the same sum in any order. The rows come
    in `_rolled_totals`'s order on SQLite (by metric as listed, then rep); PostgreSQL's hash
    aggregate promised no order.
    """
    first_month = start if start.day == 1 else shift_months(start.replace(day=1), 1)
    last_month = (end - dt.timedelta(days=1)).replace(day=1)
    counted = [n for n in names if n in counts]
    if not counted or first_month >= last_month:
        return _rolled_totals(conn, names, counts, start, end, reps)
    summed: dict[tuple[int, str], float] = {}

    def add(rows: Iterable[tuple[int, str, float]]) -> None:
        for rep_id, name, value in rows:
            summed[rep_id, name] = summed.get((rep_id, name), 0.0) + float(value)

    others = [n for n in names if n not in counts]
    if others:
        add(_rolled_totals(conn, others, counts, start, end, reps))
    if start < first_month:
        add(_rolled_totals(conn, counted, counts, start, first_month, reps))
    months = _MONTHS_FOR_REPS if reps else _MONTHS
    bound = {"metrics": counted, "first": first_month, "last": last_month, **reps}
    add(conn.execute(months, bound).all())
    add(_rolled_totals(conn, counted, counts, last_month, end, reps))
    position = {name: i for i, name in enumerate(names)}
    ordered = sorted(summed, key=lambda key: (position[key[1]], key[0]))
    return [(rep_id, name, summed[rep_id, name]) for rep_id, name in ordered]


def _whole_months(for_reps: bool) -> Select[int, str, float]:
    """The counts' whole months [first, last) per rep and metric, from `metric_month`."""
    query = (
        select(MetricMonth.rep_id, MetricMonth.metric, func.sum(MetricMonth.value))
        .where(
            MetricMonth.metric.in_(bindparam("metrics", expanding=True)),
            MetricMonth.month >= bindparam("first"),
            MetricMonth.month < bindparam("last"),
        )
        .group_by(MetricMonth.rep_id, MetricMonth.metric)
    )
    return _rep_filter(query, MetricMonth.rep_id, for_reps)


def _rolled_totals(
    conn: Connection,
    names: list[str],
    counts: Collection[str],
    start: dt.date,
    end: dt.date,
    reps: dict[str, Any],
) -> Iterable[tuple[int, str, float]]:
    """(rep, metric, sum) of the rolled-up `names` over [start, end), all rows at once
    (iterating a result fetches row by row: thousands of rows here).

    From `metric_day`, except the counts among them (`counts`) over a window that starts on
    a month's first day and ends within that month (month to date, a whole month): those are
    read from `metric_month`, one row per rep, where the month's row stops before `end`, and
    summed from `metric_day` for the reps with days stored on or after `end`. Only counts:
    whole numbers add up to the same sum in any order, where a month's sum of fractional
    minutes, added in another order, could differ from the day-by-day sum in the last bit.
    """
    bound: dict[str, Any] = {"start": start, "end": end, **reps}
    month = start.replace(day=1)
    by_month = (
        [n in counts for n in names] if start == month and end <= shift_months(month, 1) else []
    )
    if not any(by_month):
        by_month = [False] * len(names)
    else:
        bound["month"] = month
    if conn.dialect.name != "sqlite":  # one hash aggregate: no sort to split
        if any(by_month):
            monthly = _monthly_totals(any(not m for m in by_month), bool(reps))
            counted = [n for n, m in zip(names, by_month, strict=True) if m]
            others = [n for n, m in zip(names, by_month, strict=True) if not m]
            return conn.execute(monthly, {**bound, "counts": counted, "others": others}).all()
        query = _ROLLUP_TOTALS_FOR_REPS if reps else _ROLLUP_TOTALS
        return conn.execute(query, {**bound, "metrics": names}).all()
    split = _split_rollup_totals(tuple(by_month), bool(reps))
    bound.update((f"metric_{i}", name) for i, name in enumerate(names))
    rows = conn.execute(split, bound).all()
    n = len(names)
    if rows and rows[-1][1] >= n:  # some reps' counts summed from metric_day: in their place
        in_place = sorted(rows, key=lambda row: (row[1] % n, row[0]))  # metric, then rep
        return ((r, names[i % n], v) for r, i, v in in_place)
    return ((r, names[i], v) for r, i, v in rows)


def _rollup_totals(for_reps: bool) -> Select[int, str, float]:
    query = (
        select(MetricDay.rep_id, MetricDay.metric, func.sum(MetricDay.value))
        .where(
            MetricDay.metric.in_(bindparam("metrics", expanding=True)),
            MetricDay.local_date >= bindparam("start"),
            MetricDay.local_date < bindparam("end"),
        )
        .group_by(MetricDay.rep_id, MetricDay.metric)
    )
    if for_reps:
        query = query.where(MetricDay.rep_id.in_(bindparam("rep_ids", expanding=True)))
    return query


_ROLLUP_TOTALS = _rollup_totals(for_reps=False)
_ROLLUP_TOTALS_FOR_REPS = _rollup_totals(for_reps=True)


@functools.lru_cache(maxsize=64)
def _split_rollup_totals(
    by_month: tuple[bool, ...], for_reps: bool
) -> CompoundSelect[int, int, float]:
    """`_rollup_totals` for SQLite: one SELECT per metric (`metric_0`, ...), grouped by rep
    alone and glued by UNION ALL, each row naming its metric by position. Built once per
    shape (which metrics read `metric_month`), the days and reps bound at execution.

    Why: SQLite groups by sorting, and one sort of every row by (rep, metric) (47k rows at
    1,000 reps, six metrics and 13 days) cost 45% more instructions than six sorts of a sixth
    of them on the rep alone (218M against 151M, measured with callgrind); a position rather
    than the name spares a string per row. Each sum adds the same rows, which reach the sort
    in the same order (the primary key's, by day) as before: the same numbers. PostgreSQL
    aggregates by hashing, so it keeps the single statement.

    A metric read by month (`by_month[i]`) takes its reps' rows from `metric_month`, and,
    after every metric's SELECT, the reps whose month goes on past `end` from `metric_day`
    at position i + the number of metrics (`_rolled_totals` puts them in place)."""
    metrics = len(by_month)

    def one(i: int) -> Select[int, int, float]:
        position = literal_column(str(i), Integer())
        if by_month[i]:
            return _rep_filter(
                select(MetricMonth.rep_id, position, MetricMonth.value).where(
                    MetricMonth.metric == bindparam(f"metric_{i}"),
                    MetricMonth.month == bindparam("month"),
                    MetricMonth.last_day < bindparam("end"),
                ),
                MetricMonth.rep_id,
                for_reps,
            )
        query: Select[int, int, float] = (
            select(MetricDay.rep_id, position, func.sum(MetricDay.value))
            .where(
                MetricDay.metric == bindparam(f"metric_{i}"),
                MetricDay.local_date >= bindparam("start"),
                MetricDay.local_date < bindparam("end"),
            )
            .group_by(MetricDay.rep_id)
        )
        return _rep_filter(query, MetricDay.rep_id, for_reps)

    def rest(i: int) -> Select[int, int, float]:
        """Metric i's reps whose month goes on past `end`: their days, each rep's sought on
        the rep/day index."""
        month = MetricMonth.__table__.alias("mm")
        day = MetricDay.__table__.alias("d")
        position = literal_column(str(i + metrics), Integer())
        query: Select[int, int, float] = (
            select(month.c.rep_id, position, func.sum(day.c.value))
            .select_from(
                month.join(
                    day,
                    and_(
                        day.c.rep_id == month.c.rep_id,
                        # `+d.metric`: not a key of the primary key for SQLite, which would
                        # otherwise read the metric's whole window for each rep
                        literal_column("+d.metric", String()) == month.c.metric,
                        day.c.local_date >= bindparam("start"),
                        day.c.local_date < bindparam("end"),
                    ),
                )
            )
            .where(
                month.c.metric == bindparam(f"metric_{i}"),
                month.c.month == bindparam("month"),
                month.c.last_day >= bindparam("end"),
            )
            .group_by(month.c.rep_id)
        )
        return _rep_filter(query, month.c.rep_id, for_reps)

    parts = [one(i) for i in range(metrics)]
    parts += [rest(i) for i in range(metrics) if by_month[i]]
    return union_all(*parts)


@functools.lru_cache(maxsize=8)
def _monthly_totals(others: bool, for_reps: bool) -> CompoundSelect[int, str, float]:
    """`_rollup_totals` for PostgreSQL with the counts (`counts`) read by month: their
    `metric_month` rows that stop before `end`, the other reps' days from `metric_day`, and
    the other metrics (`others`, when there are any) from `metric_day` as before."""
    month = MetricMonth.__table__.alias("mm")
    day = MetricDay.__table__.alias("d")
    by_month = select(month.c.rep_id, month.c.metric, month.c.value).where(
        month.c.metric.in_(bindparam("counts", expanding=True)),
        month.c.month == bindparam("month"),
        month.c.last_day < bindparam("end"),
    )
    rest = (
        select(month.c.rep_id, month.c.metric, func.sum(day.c.value))
        .select_from(
            month.join(
                day,
                and_(
                    day.c.rep_id == month.c.rep_id,
                    day.c.metric == month.c.metric,
                    day.c.local_date >= bindparam("start"),
                    day.c.local_date < bindparam("end"),
                ),
            )
        )
        .where(
            month.c.metric.in_(bindparam("counts", expanding=True)),
            month.c.month == bindparam("month"),
            month.c.last_day >= bindparam("end"),
        )
        .group_by(month.c.rep_id, month.c.metric)
    )
    parts: list[Select[int, str, float]] = [
        _rep_filter(by_month, month.c.rep_id, for_reps),
        _rep_filter(rest, month.c.rep_id, for_reps),
    ]
    if others:
        daily = (
            select(MetricDay.rep_id, MetricDay.metric, func.sum(MetricDay.value))
            .where(
                MetricDay.metric.in_(bindparam("others", expanding=True)),
                MetricDay.local_date >= bindparam("start"),
                MetricDay.local_date < bindparam("end"),
            )
            .group_by(MetricDay.rep_id, MetricDay.metric)
        )
        parts.append(_rep_filter(daily, MetricDay.rep_id, for_reps))
    return union_all(*parts)


def _rep_filter(query: Select[Any, Any, Any], rep: Any, for_reps: bool) -> Select[Any, Any, Any]:
    if for_reps:
        return query.where(rep.in_(bindparam("rep_ids", expanding=True)))
    return query


_MONTHS = _whole_months(for_reps=False)
_MONTHS_FOR_REPS = _whole_months(for_reps=True)


def _totals_statement(
    settings: Settings, metric: MetricSettings, for_reps: bool
) -> Select[int | None, Any, Any] | Select[int, int, int]:
    """A distinct count of activities per rep, with bound days (`start`/`end`) and reps
    (`rep_ids`); built once per configuration (deal metrics: `_deal_rows`)."""

    def build() -> Select[int | None, Any, Any] | Select[int, int, int]:
        return _for_reps(_distinct_totals(settings, metric), metric, for_reps)

    return derive(settings, ("metrics.totals", metric.name, for_reps), build)


def _distinct_totals(settings: Settings, metric: MetricSettings) -> Select[int, int, int]:
    column = _distinct_column(metric)
    query = select(Activity.rep_id, func.count(column.distinct()), literal(0)).where(
        Activity.local_date >= bindparam("start"),
        Activity.local_date < bindparam("end"),
        activity_filter(settings, metric),
    )
    return _with_contact(query, metric).group_by(Activity.rep_id)


def _deal_statement(metric: MetricSettings, for_reps: bool) -> Select[Any, Any, Any, Any]:
    """`_deal_rows`'s statement: per credited rep, the deals, their summed amount and how
    many have an amount, with bound instants (`first`/`after`) and reps (`rep_ids`)."""
    credit = deal_credit_column(metric)
    dated = deal_date_column(metric)
    query = (
        select(credit, func.count(), money_sum(Deal.amount), func.count(Deal.amount))
        .where(
            credit.is_not(None),
            dated >= bindparam("first"),
            dated < bindparam("after"),
            entered_before(bindparam("known")),
            deal_filter(metric),
        )
        .group_by(credit)
    )
    return query.where(credit.in_(bindparam("rep_ids", expanding=True))) if for_reps else query


def amounts_unknown(
    conn: Connection,
    settings: Settings,
    name: str,
    start: dt.date,
    end: dt.date,
    rep_ids: Collection[int] | None = None,
    *,
    as_of: dt.date | None = None,
) -> dict[int, int]:
    """Per rep: the deals a sum of amounts (`name`, a deal metric with aggregate "sum") read
    over [start, end) as known at the end of `as_of` (default `end` - 1, as `metric_totals`)
    and left out because their amount is not recorded. Empty for any other metric."""
    metric = settings.metric(name)
    if metric.source != "deals" or metric.aggregate != "sum":
        return {}
    credit = deal_credit_column(metric)
    first, after = utc_bounds(settings, start, end)
    known = end - dt.timedelta(days=1) if as_of is None else as_of
    dated = deal_date_column(metric)
    query = (
        select(credit, func.count())
        .where(
            credit.is_not(None),
            dated >= first,
            dated < after,
            entered_before(as_of_end(settings.calendar.zone, known)),
            deal_filter(metric),
            Deal.amount.is_(None),
        )
        .group_by(credit)
    )
    if rep_ids is not None:
        query = query.where(credit.in_(list(rep_ids)))
    return {int(rep): int(n) for rep, n in conn.execute(query) if rep is not None}


def _for_reps(
    query: Select[int | None, Any, Any] | Select[int, int, int],
    metric: MetricSettings,
    for_reps: bool,
) -> Select[int | None, Any, Any] | Select[int, int, int]:
    if not for_reps:
        return query
    column = deal_credit_column(metric) if metric.source == "deals" else Activity.rep_id
    return query.where(column.in_(bindparam("rep_ids", expanding=True)))


def utc_bounds(settings: Settings, start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Local days [start, end) in the business time zone as naive UTC instants."""
    zone = settings.calendar.zone
    return local_midnight_utc(zone, start), local_midnight_utc(zone, end)


def last_active_days(
    conn: Connection,
    metric: str,
    since: dt.date,
    until: dt.date,
    rep_ids: Collection[int] | None = None,
) -> dict[int, dt.date]:
    """Each rep's last day in [since, until] with a non-zero value of a rolled-up metric."""
    query = (
        select(MetricDay.rep_id, func.max(MetricDay.local_date))
        .where(
            MetricDay.metric == metric,
            MetricDay.local_date >= since,
            MetricDay.local_date <= until,
        )
        .group_by(MetricDay.rep_id)
    )
    if rep_ids is not None:
        query = query.where(MetricDay.rep_id.in_(list(rep_ids)))
    return {int(rep_id): day for rep_id, day in conn.execute(query)}


def first_recorded_days(
    conn: Connection, since: dt.date, until: dt.date, rep_ids: Collection[int] | None = None
) -> dict[int, dt.date]:
    """Each rep's first day in [since, until] with any activity recorded (`kind_day`): where
    their records begin, when nothing says when they started."""
    query = (
        select(KindDay.rep_id, func.min(KindDay.local_date))
        .where(KindDay.local_date >= since, KindDay.local_date <= until)
        .group_by(KindDay.rep_id)
    )
    if rep_ids is not None:
        query = query.where(KindDay.rep_id.in_(list(rep_ids)))
    return {int(rep_id): day for rep_id, day in conn.execute(query)}


def _records_begin_statement() -> Select[Any]:
    """Per team asked (`teams`, and the reps without one when `teamless`), the first day of
    activity and the first deal created of any of its reps: built once, bound per call."""
    first_day = (
        select(func.min(KindDay.local_date))
        .where(KindDay.rep_id == Rep.id)
        .correlate(Rep)
        .scalar_subquery()
    )
    first_deal = (
        select(func.min(Deal.created_at))
        .where(Deal.rep_id == Rep.id)
        .correlate(Rep)
        .scalar_subquery()
    )
    asked = or_(
        Team.name.in_(bindparam("teams", expanding=True)),
        and_(bindparam("teamless", type_=Boolean), Rep.team_id.is_(None)),
    )
    per_rep = (
        select(Team.name.label("team"), first_day.label("day"), first_deal.label("deal"))
        .select_from(Rep)
        .outerjoin(Team, Team.id == Rep.team_id)
        .where(asked)
        .subquery()
    )
    return select(per_rep.c.team, func.min(per_rep.c.day), func.min(per_rep.c.deal)).group_by(
        per_rep.c.team
    )


_RECORDS_BEGIN = _records_begin_statement()


def records_begin(
    conn: Connection, calendar: BusinessCalendar, teams: Collection[str | None]
) -> dict[str | None, dt.date]:
    """Per team (None: the reps without one), the first business-local day anything was
    recorded for any of its reps, for the teams asked: an activity (`kind_day`) or a deal
    they own created; a team with no record is left out. Where a team's records begin:
    before it, nothing is known of anyone's work there (an import that began then), which
    `pacing.recorded_from` reads.

    Two probes per rep down keys that lead with the rep (`kind_day`'s, the deals' rep and
    creation index), the first row only: never a scan of a rep's history nor a grouping of
    everyone's days. The statement is built once (a card is asked for a thousand times a
    minute)."""
    named = sorted(t for t in teams if t is not None)
    if not named and None not in teams:
        return {}
    found: dict[str | None, dt.date] = {}
    bound = {"teams": named, "teamless": None in teams}
    for team, day, deal in conn.execute(_RECORDS_BEGIN, bound):
        days = [d for d in (day, calendar.local_date(deal) if deal else None) if d is not None]
        if days:
            found[team] = min(days)
    return found


def last_kind_days(
    conn: Connection,
    kinds: Collection[str],
    since: dt.date,
    until: dt.date,
    rep_ids: Collection[int],
) -> list[tuple[int, str, dt.date]]:
    """(rep, kind, last day in [since, until]) for each rep's activities of each of `kinds`."""
    query = (
        select(KindDay.rep_id, KindDay.kind, func.max(KindDay.local_date))
        .where(
            KindDay.kind.in_(sorted(kinds)),
            KindDay.rep_id.in_(sorted(rep_ids)),
            KindDay.local_date >= since,
            KindDay.local_date <= until,
        )
        .group_by(KindDay.rep_id, KindDay.kind)
    )
    return [(int(rep), kind, day) for rep, kind, day in conn.execute(query)]


def daily_values(
    conn: Connection, metric: str, first: dt.date, last: dt.date, rep_id: int
) -> dict[dt.date, float]:
    """One rep's per-day values of a rolled-up metric over [first, last] (empty for others)."""
    query = select(MetricDay.local_date, MetricDay.value).where(
        MetricDay.metric == metric,
        MetricDay.rep_id == rep_id,
        MetricDay.local_date >= first,
        MetricDay.local_date <= last,
    )
    return {day: float(value) for day, value in conn.execute(query)}


def _known_deals(
    settings: Settings, metric: MetricSettings, first: dt.date, last: dt.date, as_of: dt.date
) -> list[ColumnElement[bool]]:
    """The conditions of `metric_totals` on one deal metric's deals over local days
    [first, last], as known at the end of `as_of`."""
    dated = deal_date_column(metric)
    lo, hi = utc_bounds(settings, first, last + dt.timedelta(days=1))
    return [
        dated >= lo,
        dated < hi,
        entered_before(as_of_end(settings.calendar.zone, as_of)),
        deal_filter(metric),
    ]


def deal_daily_values(
    conn: Connection,
    settings: Settings,
    metric: MetricSettings,
    first: dt.date,
    last: dt.date,
    rep_id: int,
    as_of: dt.date,
) -> dict[dt.date, float]:
    """One rep's per-day values of a deal metric over local days [first, last], as known at
    the end of `as_of` (the rule of `metric_totals`): the daily rollup holds no deal metric,
    so what `daily_values` is to an activity metric this is to deals won or revenue (an
    alert's "since when"). Counted or summed per instant in the database (a close date is
    one instant a day), each instant's business-local day taken here, where a day's sums
    are added as exact decimals: added as floats, a day's two wins of 3,000.20 and 1,500.10
    read 4,500.299999999999 before 2026-12-07."""
    credit = deal_credit_column(metric)
    value: ColumnElement[Any] = (
        money_sum(Deal.amount) if metric.aggregate == "sum" else func.count()
    )
    dated = deal_date_column(metric)
    query = (
        select(dated, value)
        .where(credit == rep_id, *_known_deals(settings, metric, first, last, as_of))
        .group_by(dated)
    )
    calendar = BusinessCalendar(settings.calendar)
    days: dict[dt.date, Decimal] = defaultdict(Decimal)
    for moment, amount in conn.execute(query):
        if moment is not None:  # never: the window bounds it
            days[calendar.local_date(moment)] += Decimal(amount or 0)
    return {day: float(value) for day, value in days.items()}


def last_deal_day(
    conn: Connection,
    settings: Settings,
    metric: MetricSettings,
    since: dt.date,
    until: dt.date,
    rep_id: int,
    as_of: dt.date,
) -> dt.date | None:
    """One rep's last local day in [since, until] with a non-zero value of a deal metric
    (a deal, or for a sum a deal with a non-zero amount), as known at the end of `as_of`:
    `last_active_days` for deals, which the daily rollup does not hold."""
    credit = deal_credit_column(metric)
    dated = deal_date_column(metric)
    conditions = [credit == rep_id, *_known_deals(settings, metric, since, until, as_of)]
    if metric.aggregate == "sum":
        conditions.append(Deal.amount != 0)
    last = conn.execute(select(func.max(dated)).where(*conditions)).scalar()
    return None if last is None else BusinessCalendar(settings.calendar).local_date(last)


def distinct_daily_values(
    conn: Connection,
    settings: Settings,
    metric: MetricSettings,
    first: dt.date,
    last: dt.date,
    rep_id: int,
) -> dict[dt.date, float]:
    """One rep's per-day additions to a distinct count of activities over local days
    [first, last]: on each day, how many of the things counted (accounts, contacts, deals)
    were first touched in the range that day. Added up from `first` to a day they are the
    distinct count over [first, day], what `metric_totals` reads for that window: a
    cumulative count by day, which `daily_values` is to a count (an alert's "since when").

    The rollup cannot hold it (distinct things do not add up across days: a prospect called
    on Monday and Tuesday is one, not two), so it is read from the activities, down the
    rep/day index: the rep's activities of the range only, never a scan of everyone's, nor of
    the rep's history. Each thing's first day is found in the database, one row per thing."""
    statement = derive(
        settings,
        ("metrics.distinct_firsts", metric.name),
        lambda: _distinct_firsts(metric, settings),
    )
    bound = {"rep_id": rep_id, "first": first, "last": last}
    return {day: float(added) for day, added in conn.execute(statement, bound)}


def _distinct_firsts(metric: MetricSettings, settings: Settings) -> Select[Any, Any]:
    """`distinct_daily_values`'s statement: per day, the things first touched that day, with
    the rep (`rep_id`) and days (`first`/`last`) bound."""
    counted = _distinct_column(metric)
    touched = _with_contact(
        select(counted.label("thing"), func.min(Activity.local_date).label("day")).where(
            *_rep_distinct_rows(settings, metric)
        ),
        metric,
    ).group_by(counted)
    firsts = touched.subquery()
    return select(firsts.c.day, func.count()).group_by(firsts.c.day)


def last_distinct_day(
    conn: Connection,
    settings: Settings,
    metric: MetricSettings,
    since: dt.date,
    until: dt.date,
    rep_id: int,
) -> dt.date | None:
    """One rep's last local day in [since, until] on which a distinct count of activities
    was not zero (an activity it counts, with the thing counted recorded): what
    `last_active_days` is to a rolled-up metric, which the rollup cannot hold for this one.
    The rep's days read from the last backwards down the rep/day index, stopping at the
    first that counts."""
    statement = derive(
        settings, ("metrics.last_distinct", metric.name), lambda: _last_distinct(metric, settings)
    )
    return conn.execute(statement, {"rep_id": rep_id, "first": since, "last": until}).scalar()


def _last_distinct(metric: MetricSettings, settings: Settings) -> Select[Any]:
    query = select(Activity.local_date).where(*_rep_distinct_rows(settings, metric))
    return _with_contact(query, metric).order_by(Activity.local_date.desc()).limit(1)


def distinct_firsts_by_period(
    conn: Connection,
    settings: Settings,
    metric: MetricSettings,
    bounds: list[dt.date],
    rep_ids: Collection[int] | None = None,
) -> dict[tuple[int, int], dict[dt.date, float]]:
    """Per rep and period, what each day added to a distinct count of activities within the
    period: `distinct_daily_values` for many reps and consecutive periods at once, the
    periods' local days being [bounds[i], bounds[i + 1]). Keyed (rep id, period index).

    What a distinct accrual curve is learnt from (`accrual`): each thing counted once per
    period, on the first day it was touched in that period (an account called in each of
    three months adds to each month). One statement for every rep and period (`rep_ids`
    None: everyone's rows), not one per rep: a thousand reps' history in one read."""
    statement = derive(
        settings,
        ("metrics.distinct_firsts_by_period", metric.name, len(bounds), rep_ids is not None),
        lambda: _firsts_by_period(settings, metric, len(bounds), rep_ids is not None),
    )
    bound: dict[str, Any] = {f"bound_{i}": day for i, day in enumerate(bounds)}
    if rep_ids is not None:
        bound["rep_ids"] = sorted(rep_ids)
    found: dict[tuple[int, int], dict[dt.date, float]] = defaultdict(dict)
    for rep_id, slot, day, added in conn.execute(statement, bound):
        found[int(rep_id), int(slot)][day] = float(added)
    return dict(found)


def distinct_firsts_identity(
    settings: Settings, metric: MetricSettings, bounds: int, for_reps: bool
) -> str:
    """What `distinct_firsts_by_period` reads, as text: its statement and the values bound
    in it by the configuration (the metric's kinds, outcomes ...), not the call's bounds and
    reps. Equal texts read the same rows from the same data (`accrual`'s cache key)."""

    def build() -> str:
        compiled = _firsts_by_period(settings, metric, bounds, for_reps).compile()
        return f"{compiled}\n{sorted((k, repr(v)) for k, v in compiled.params.items())}"

    key = ("metrics.distinct_firsts_identity", metric.name, bounds, for_reps)
    return derive(settings, key, build)


def _firsts_by_period(
    settings: Settings, metric: MetricSettings, bounds: int, for_reps: bool
) -> Select[Any, Any, Any, Any]:
    """`distinct_firsts_by_period`'s statement, the bounds bound as `bound_0` ... (in
    order): each activity's period index (a CASE on its day), the first day of each thing
    per rep and period, then those firsts counted per day."""
    edges: list[Any] = [bindparam(f"bound_{i}") for i in range(bounds)]
    slot: ColumnElement[int] = (
        case(
            *((Activity.local_date < edge, i) for i, edge in enumerate(edges[1:-1])),
            else_=bounds - 2,
        )
        if bounds > 2
        else literal(0)
    )
    counted = _distinct_column(metric)
    rows = _with_contact(
        select(
            Activity.rep_id.label("rep_id"),
            slot.label("slot"),
            counted.label("thing"),
            Activity.local_date.label("day"),
        ).where(
            Activity.local_date >= edges[0],
            Activity.local_date < edges[-1],
            counted.is_not(None),
            activity_filter(settings, metric),
        ),
        metric,
    )
    if for_reps:
        rows = rows.where(Activity.rep_id.in_(bindparam("rep_ids", expanding=True)))
    each = rows.subquery()
    firsts = (
        select(each.c.rep_id, each.c.slot, func.min(each.c.day).label("day"))
        .group_by(each.c.rep_id, each.c.slot, each.c.thing)
        .subquery()
    )
    return select(firsts.c.rep_id, firsts.c.slot, firsts.c.day, func.count()).group_by(
        firsts.c.rep_id, firsts.c.slot, firsts.c.day
    )


def _distinct_column(metric: MetricSettings) -> Any:
    """The activity column a distinct count counts (`_distinct_totals`' column)."""
    return getattr(Activity, metric.field or "account_id")


def _rep_distinct_rows(settings: Settings, metric: MetricSettings) -> list[ColumnElement[bool]]:
    """The rows a distinct count counts of one rep (`rep_id`) over local days [`first`,
    `last`]: `_distinct_totals`' filter, and the thing counted recorded (COUNT(DISTINCT ...)
    leaves out a call logged without an account)."""
    return [
        Activity.rep_id == bindparam("rep_id"),
        Activity.local_date >= bindparam("first"),
        Activity.local_date <= bindparam("last"),
        _distinct_column(metric).is_not(None),
        activity_filter(settings, metric),
    ]


def _with_contact(query: _Query, metric: MetricSettings) -> _Query:
    """The query joined to the contact spoken to, when the metric filters on them."""
    if needs_contact(metric):
        return query.outerjoin(Contact, Contact.id == Activity.contact_id)
    return query
