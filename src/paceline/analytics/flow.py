"""Pipeline flow: what comes into the pipeline each week, what leaves it, and what is left.

Results need a steady in-flow of new prospects and opportunities that offsets the out-flow
(won, lost, disqualified); a team that closes well but stops opening deals empties its
pipeline a quarter before its results show it. Per ISO week (Monday to Sunday, business-local
days) this reports
- prospects in: accounts whose first-ever selling activity by the scope's reps falls in the
  week (a first Ask in front of someone new); None ("not recorded") for a week whose
  selling-kind work is only of kinds on which nobody records an Ask
  (`step_rules.asks_unrecorded_kinds`: Zoho's events carry none), and beside a count
  `asks_not_recorded` says how many such activities it leaves out. Until 2026-12-08 such a
  week read 0: the Zoho export's November to January, 2,100 meetings, "0 prospects in";
- opportunities in: deals created (count, value);
- out: deals won, and deals lost by their closing stage (so "disqualified" and
  "closed_lost" stay apart when the configuration has both);
- net change: in minus out, in count and value (the value of the known amounts: its
  `without_amount` counts the deals left out, in and out alike); None (not measurable) when
  the data records no won deal at all (`step_rules.wins_recorded`): what went out is then
  unknown, and in minus lost alone would pass every win for a deal still open;
- a deal entered in the CRM a day or more after it closed (a migration, a win logged late)
  is neither in nor out (`late_entry`, the forecast's rule too): it was never open pipeline
  as recorded, and its creation is unknown; `entered_late` counts those closed in the week;
- a deal whose amount the CRM left empty counts in the count but not in the value (unknown,
  not 0); `without_amount` says how many of the count that is;
- open pipeline at the week's end (deals created before and not closed by then), and its
  coverage: open value / what is left of the quarter's revenue target after the revenue won
  in the quarter so far. Below 1 the pipeline cannot reach the target even if every deal
  closes. Like with like: when only some reps have a target, only *their* pipeline and wins
  are read against it; the rest (`untargeted_open`, `untargeted_won`) is reported apart, as
  revenue no target covers, never as progress towards someone else's target.

Weeks are whole ISO weeks overlapping the window; the last is cut at the end of the as-of day
so nothing later is ever read. Every count is bucketed in the database (a CASE over per-week
UTC bounds), so the cost follows the number of deals and prospects, not of activities.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

from sqlalchemy import ColumnElement, Connection, Engine, case, exists, func, select

from paceline.analytics import aggregates
from paceline.analytics.late_entry import (
    closed_before_created,
    entered_after_close,
    not_closed_before_created,
)
from paceline.analytics.metric_sql import deal_credit_column, selling_condition
from paceline.analytics.metrics import revenue_metric
from paceline.analytics.money import cents, money_sum, money_total
from paceline.analytics.rollup import ensure_rollup
from paceline.analytics.stalled import DealScope, deal_scope
from paceline.analytics.step_rules import asks_unrecorded_kinds, kind_counts, wins_recorded
from paceline.analytics.targets import period_targets
from paceline.analytics.window import Window
from paceline.calendar import BusinessCalendar, Period, local_midnight_utc
from paceline.config import MetricSettings, Settings
from paceline.store.models import Activity, Deal, Rep

WEEK = dt.timedelta(days=7)


@dataclass(frozen=True)
class CountValue:
    """A number of deals and their total amount; `without_amount` of them have none recorded
    (unknown: not in `value`, never counted as 0)."""

    count: int = 0
    value: float = 0.0
    without_amount: int = 0

    def __add__(self, other: CountValue) -> CountValue:
        return CountValue(
            self.count + other.count,
            cents(self.value + other.value),
            self.without_amount + other.without_amount,
        )

    def __sub__(self, other: CountValue) -> CountValue:
        """The difference of counts and of known values (the net change: in minus out). The
        value leaves out the deals without an amount on *both* sides, so those add up: a
        deal of unknown amount in and one of 8,000 out is 0 / -8,000 with 1 not counted, not
        a week where nothing came in (and never a negative number of deals)."""
        return CountValue(
            self.count - other.count,
            cents(self.value - other.value),
            self.without_amount + other.without_amount,
        )


ZERO = CountValue()


@dataclass(frozen=True)
class FlowWeek:
    label: str  # ISO week, e.g. 2026-W47
    start: dt.date  # Monday
    end: dt.date  # exclusive: the next Monday, or the day after the as-of day
    # None: not recorded (the week's selling-kind work is only of kinds without a recorded Ask)
    prospects_in: int | None
    created: CountValue  # opportunities in
    won: CountValue
    lost: dict[str, CountValue]  # by closing stage, every lost stage listed
    open_pipeline: CountValue  # at the end of the week
    quarter_start: dt.date  # the quarter containing the week's last day
    quarter_target: float | None  # the scope's revenue target for that quarter
    won_in_quarter: float  # revenue won in that quarter up to the week's end
    target_reps: int  # reps the quarter's target covers (0: no target)
    targeted_open: float  # open value at the week's end of the reps the target covers
    targeted_won: float  # ...and their revenue won in the quarter so far
    # Deals closed (won or lost) in the week but entered in the CRM a day or more after they
    # closed (`late_entry`): never open pipeline as recorded, so neither in nor out; a win
    # among them is revenue won all the same (`won_in_quarter`).
    entered_late: CountValue = ZERO
    # False when the organisation's data records no won deal (`FlowReport.wins_recorded`):
    # the week's won 0 is unknown, so its out-flow and net change are too.
    wins_recorded: bool = True
    # Activities of selling kinds on which nobody records an Ask: neither prospects nor none.
    asks_not_recorded: int = 0

    @property
    def untargeted_open(self) -> float:
        """Open value of reps without a target for the quarter (0 when there is no target)."""
        return cents(self.open_pipeline.value - self.targeted_open) if self.target_reps else 0.0

    @property
    def untargeted_won(self) -> float:
        """Revenue won in the quarter by reps without a target (0 when there is no target)."""
        return cents(self.won_in_quarter - self.targeted_won) if self.target_reps else 0.0

    @property
    def lost_total(self) -> CountValue:
        return sum(self.lost.values(), ZERO)

    @property
    def out(self) -> CountValue | None:
        """Won and lost; None when wins are not recorded (the wins out are unknown)."""
        return self.won + self.lost_total if self.wins_recorded else None

    @property
    def net(self) -> CountValue | None:
        """In minus out; None (not measurable) when wins are not recorded: subtracting a won
        0 nobody measured read as if no deal had been won (until 2026-12-07 it did)."""
        out = self.out
        return None if out is None else self.created - out

    @property
    def remaining_target(self) -> float | None:
        """The target less what the reps it covers have won (not what anyone has won)."""
        if self.quarter_target is None:
            return None
        return self.quarter_target - self.targeted_won

    @property
    def coverage(self) -> float | None:
        """The covered reps' open value per unit of their target still to win; None without
        a target or when the quarter's target is already met."""
        left = self.remaining_target
        if left is None or left <= 0:
            return None
        return self.targeted_open / left


@dataclass(frozen=True)
class FlowReport:
    window: Window
    team: str | None
    rep: str | None
    revenue_metric: str | None  # the target coverage is read against
    lost_stages: list[str]
    weeks: list[FlowWeek]
    # False when the organisation's data records no won deal (`step_rules.wins_recorded`):
    # the weeks' "won 0" is then unknown, shown "not recorded" as the scorecard shows it.
    wins_recorded: bool = True
    # False when the weeks' selling-kind work is only of kinds on which nobody records an
    # Ask (`FlowWeek.prospects_in`): the window's prospects in are then not recorded.
    prospects_recorded: bool = True

    @property
    def created(self) -> CountValue:
        return sum((w.created for w in self.weeks), ZERO)

    @property
    def won(self) -> CountValue:
        return sum((w.won for w in self.weeks), ZERO)

    @property
    def lost(self) -> CountValue:
        return sum((w.lost_total for w in self.weeks), ZERO)

    @property
    def net(self) -> CountValue | None:
        """The weeks' net change; None when wins are not recorded, as each week's is."""
        if not self.wins_recorded:
            return None
        return sum((w.created - (w.won + w.lost_total) for w in self.weeks), ZERO)

    @property
    def prospects_in(self) -> int | None:
        """The weeks' prospects in; None (not recorded) when their selling-kind work is only of
        kinds without a recorded Ask, as each such week's is. Weeks read None add nothing."""
        if not self.prospects_recorded:
            return None
        return sum(w.prospects_in or 0 for w in self.weeks)

    @property
    def asks_not_recorded(self) -> int:
        """Activities in the weeks of selling kinds on which nobody records an Ask."""
        return sum(w.asks_not_recorded for w in self.weeks)

    @property
    def entered_late(self) -> CountValue:
        """Deals closed in the weeks but entered after they closed: in no week's flow."""
        return sum((w.entered_late for w in self.weeks), ZERO)


def pipeline_flow(
    engine: Engine,
    settings: Settings,
    window: Window,
    *,
    team: str | None = None,
    rep: str | None = None,
) -> FlowReport:
    """Weekly in-flow, out-flow, open pipeline and coverage for a team, a rep or everyone."""
    calendar = BusinessCalendar(settings.calendar)
    weeks = _weeks(window)
    bounds = [_utc(settings, weeks[0].start), *(_utc(settings, w.end) for w in weeks)]
    quarters = [calendar.period("quarter", w.last_day) for w in weeks]
    revenue = revenue_metric(settings)
    if aggregates.reading():
        ensure_rollup(engine, settings)  # the accounts' first selling days come from them
    with engine.connect() as conn:
        scope = deal_scope(conn, settings, window, team, rep)
        deals = _deal_buckets(conn, scope, bounds, settings.calendar.zone)
        prospects = _prospects(conn, settings, scope, weeks)
        asks = _ask_record(conn, settings, scope, weeks)
        won_so_far = _won_in_quarter(conn, settings, scope, revenue, quarters, bounds[1:])
        targets = _targets(conn, calendar, scope, revenue, quarters)
        covered = _covered(conn, settings, scope, revenue, quarters, bounds, targets)
        recorded = wins_recorded(conn, settings, window.end)
    lost_stages = _lost_stages(settings, deals)
    rows = []
    for i, week in enumerate(weeks):
        target = targets.get(quarters[i].start)
        open_pipeline = _open_after(deals, i)
        targeted_open, targeted_won = covered.get(i, (open_pipeline.value, won_so_far[i]))
        unknown, unrecorded = asks.weeks[i]
        rows.append(
            FlowWeek(
                label=week.label,
                start=week.start,
                end=week.end,
                prospects_in=None if unknown else prospects.get(i, 0),
                created=_created(deals, i),
                won=_closed(deals, i, "won"),
                lost={stage: _closed(deals, i, "lost", stage) for stage in lost_stages},
                open_pipeline=open_pipeline,
                quarter_start=quarters[i].start,
                quarter_target=target.total if target else None,
                won_in_quarter=won_so_far[i],
                target_reps=len(target.reps) if target else 0,
                targeted_open=targeted_open,
                targeted_won=targeted_won,
                entered_late=_entered_late(deals, i),
                wins_recorded=recorded,
                asks_not_recorded=unrecorded,
            )
        )
    return FlowReport(
        window=window,
        team=scope.team,
        rep=scope.rep,
        revenue_metric=revenue.name if revenue else None,
        lost_stages=lost_stages,
        weeks=rows,
        wins_recorded=recorded,
        prospects_recorded=not asks.window_unknown,
    )


def _weeks(window: Window) -> list[Period]:
    """ISO weeks overlapping the window; the last ends with the window (the as-of day)."""
    first = window.start - dt.timedelta(days=window.start.weekday())
    weeks = []
    start = first
    while start < window.end:
        weeks.append(Period("week", start, min(start + WEEK, window.end)))
        start += WEEK
    return weeks


def _utc(settings: Settings, day: dt.date) -> dt.datetime:
    return local_midnight_utc(settings.calendar.zone, day)


def _bucket(column: Any, bounds: Sequence[object]) -> ColumnElement[int]:
    """How many of the ascending `bounds` are at or before the value: 0 before the first,
    k for [bounds[k-1], bounds[k]), len(bounds) from the last on."""
    return case(*((column < b, k) for k, b in enumerate(bounds)), else_=len(bounds))


# --- deals ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Group:
    created: int  # bucket of created_at over the week bounds
    closed: int | None  # bucket of closed_at; None: open; -1: closed at an unknown time
    status: str
    stage: str
    amount: CountValue
    late: bool = False  # entered after it closed (`late_entry`): never in the pipeline


def _deal_buckets(
    conn: Connection, scope: DealScope, bounds: list[dt.datetime], zone: dt.tzinfo
) -> list[_Group]:
    """The scope's deals created before the last bound, grouped by creation and close bucket.

    A deal entered in the CRM a day or more after it closed (`late_entry.entered_after_close`:
    a migration of old deals, a win logged late; the import warns and keeps both dates) was
    never open pipeline as far as the records know, and its creation is unknown: it neither
    comes in nor goes out, in its entry week or its close week, as the forecast counts it as
    no deal created. It is kept apart (`late`), by its close week, so the week's wins and
    losses still add up to the CRM's. Until 2026-12-07 it came in and went out at its close:
    a win logged four days late was an opportunity "in" that week though the deal had been in
    the pipeline for months (the forecast had stopped counting it as created). A close less
    than a day before the creation (a close *date* on the creation day) is a same-day close:
    it comes in at its close, never after it.

    Grouping happens on a subquery's columns: PostgreSQL will not match a GROUP BY
    expression carrying its own bound parameters to the same expression in the SELECT.
    """
    closed = case((Deal.closed_at.is_(None), -1), else_=_bucket(Deal.closed_at, bounds))
    rows = (
        select(
            _bucket(Deal.created_at, bounds).label("created"),
            closed.label("closed"),
            Deal.status,
            Deal.stage,
            Deal.amount,
        )
        .where(Deal.created_at < bounds[-1], scope.owned(), not_closed_before_created())
        .subquery()
    )
    query = select(
        rows.c.created,
        rows.c.closed,
        rows.c.status,
        rows.c.stage,
        func.count(),
        money_sum(rows.c.amount),
        func.count() - func.count(rows.c.amount),
    ).group_by(rows.c.created, rows.c.closed, rows.c.status, rows.c.stage)
    groups = [
        _Group(
            int(created),
            None if status == "open" else int(closed),
            status,
            stage,
            CountValue(int(n), float(total or 0), int(unknown or 0)),
        )
        for created, closed, status, stage, n, total, unknown in conn.execute(query)
    ]
    return groups + _closed_before_created(conn, scope, bounds, zone)


def _closed_before_created(
    conn: Connection, scope: DealScope, bounds: list[dt.datetime], zone: dt.tzinfo
) -> list[_Group]:
    """One group per deal closed before its creation, closed before the last bound: bucketed
    at its close, and `late` when entered a day or more after it (the one rule decides, in
    Python: such deals are few). A late one entered after the last bound is not read at all
    (nothing later than the as-of day is)."""
    query = select(Deal.created_at, Deal.closed_at, Deal.status, Deal.stage, Deal.amount).where(
        closed_before_created(), Deal.closed_at < bounds[-1], scope.owned()
    )
    found = []
    for created, closed_at, status, stage, amount in conn.execute(query):
        assert closed_at is not None  # (closed before its creation: it has a close)
        late = entered_after_close(created, closed_at, zone)
        if late and created >= bounds[-1]:
            continue
        week = bisect_right(bounds, closed_at)
        value = CountValue(1, float(amount or 0), int(amount is None))
        found.append(_Group(week, week, status, stage, value, late))
    return found


def _created(groups: list[_Group], week: int) -> CountValue:
    return sum((g.amount for g in groups if g.created == week + 1 and not g.late), ZERO)


def _closed(groups: list[_Group], week: int, status: str, stage: str | None = None) -> CountValue:
    return sum(
        (
            g.amount
            for g in groups
            if g.closed == week + 1
            and not g.late
            and g.status == status
            and stage in (None, g.stage)
        ),
        ZERO,
    )


def _entered_late(groups: list[_Group], week: int) -> CountValue:
    """Deals closed (won or lost) in the week but entered a day or more after: in no flow."""
    return sum((g.amount for g in groups if g.late and g.closed == week + 1), ZERO)


def _open_after(groups: list[_Group], week: int) -> CountValue:
    """Open at the week's end: created before it, and open now or closed at/after it (a deal
    entered after it closed never was)."""
    end = week + 1  # bounds[end] is the week's end; created before it <=> bucket <= end
    return sum(
        (
            g.amount
            for g in groups
            if not g.late and g.created <= end and (g.closed is None or g.closed > end)
        ),
        ZERO,
    )


def _lost_stages(settings: Settings, groups: list[_Group]) -> list[str]:
    """The configured lost stages, and any other stage a lost deal ended in."""
    configured = [s.name for s in settings.stages if s.status == "lost"]
    seen = sorted({g.stage for g in groups if g.status == "lost"} - set(configured))
    return configured + seen


# --- prospects ------------------------------------------------------------------------------


def _prospects(
    conn: Connection, settings: Settings, scope: DealScope, weeks: list[Period]
) -> dict[int, int]:
    """New prospects per week index: accounts first sold to (by the scope's reps) then.

    Read as "first sold to during the weeks, and never before": from the aggregates, each
    account's first selling day by the scope's reps (`aggregates.first_days`, one row per
    rep and account) falls in the weeks. Raw: each account's first day in the weeks comes
    through the rep/day index, then one probe per account through the account index looks
    for anything earlier (grouping every selling activity ever logged was four times slower
    on the demo; probing per activity instead of per account, a hundred times slower over
    long windows); that read was two thirds of /flow's server time on the demo.
    """
    first_week, end = weeks[0].start, weeks[-1].end
    bounds = [w.end for w in weeks]
    if aggregates.reading():
        first = aggregates.first_days(scope.rep_ids).subquery("first")
        bucketed = (
            select(_bucket(first.c.first_day, bounds).label("week"))
            .where(first.c.first_day >= first_week, first.c.first_day < end)
            .subquery()
        )
    else:
        bucketed = _raw_first_days(settings, scope, first_week, end, bounds)
    query = select(bucketed.c.week, func.count()).group_by(bucketed.c.week)
    return {int(k): int(n) for k, n in conn.execute(query)}


def _raw_first_days(
    settings: Settings, scope: DealScope, first_week: dt.date, end: dt.date, bounds: list[dt.date]
) -> Any:
    """(week,) per account first sold to in the weeks, from the raw activities."""
    selling = selling_condition(settings)
    in_weeks = (
        select(Activity.account_id, func.min(Activity.local_date).label("first_day"))
        .where(
            selling,
            Activity.account_id.is_not(None),
            Activity.local_date >= first_week,
            Activity.local_date < end,
            _by_scope_reps(scope, Activity.rep_id),
        )
        .group_by(Activity.account_id)
        .subquery("in_weeks")
    )
    sold_before = exists().where(
        Activity.account_id == in_weeks.c.account_id,
        Activity.local_date < first_week,
        selling,
        _by_scope_reps(scope, Activity.rep_id),
    )
    return (
        select(_bucket(in_weeks.c.first_day, bounds).label("week")).where(~sold_before).subquery()
    )


@dataclass(frozen=True)
class _AskRecord:
    """Per week: (prospects not recorded, activities with no Ask recorded); and whether the
    whole window's are not recorded (no selling at all beside such activities)."""

    weeks: list[tuple[bool, int]]
    window_unknown: bool = False


def _ask_record(
    conn: Connection, settings: Settings, scope: DealScope, weeks: list[Period]
) -> _AskRecord:
    """Which weeks' prospects are not recorded, and the activities of selling kinds on which
    nobody records an Ask by the scope's reps (`step_rules.asks_unrecorded_kinds`). The
    window is read once; weeks only when it holds such kinds (an export whose meetings carry
    no Ask), so a data set recording its Asks pays one read."""
    rep_ids = scope.rep_ids
    if rep_ids is None:
        rep_ids = [int(r) for (r,) in conn.execute(select(Rep.id))]
    end = weeks[-1].end
    rows = kind_counts(conn, weeks[0].start, end, rep_ids)
    unrecorded = asks_unrecorded_kinds(conn, settings, rows, end)
    if not unrecorded:
        return _AskRecord([(False, 0)] * len(weeks))
    per_week = [
        _week_ask_record(settings, kind_counts(conn, w.start, w.end, rep_ids), unrecorded)
        for w in weeks
    ]
    return _AskRecord(per_week, _week_ask_record(settings, rows, unrecorded)[0])


def _week_ask_record(
    settings: Settings, rows: list[tuple[int, str, int, int, int]], unrecorded: frozenset[str]
) -> tuple[bool, int]:
    """(no selling, only activities with no Ask recorded; how many of those) in `rows`."""
    selling = sum(asks for _, kind, _, asks, _ in rows if kind in settings.selling_kinds)
    count = sum(n for _, kind, n, _, _ in rows if kind in unrecorded)
    return (count > 0 and not selling, count)


def _by_scope_reps(scope: DealScope, column: Any) -> ColumnElement[bool]:
    """Activities of the scope's reps; for everyone still phrased as a rep condition, so
    SQLite reads the window through the rep/day index rather than the whole table."""
    if scope.rep_ids is None:
        return cast(ColumnElement[bool], column.in_(select(Rep.id)))
    return cast(ColumnElement[bool], column.in_(scope.rep_ids))


# --- coverage -------------------------------------------------------------------------------


def _won_in_quarter(
    conn: Connection,
    settings: Settings,
    scope: DealScope,
    metric: MetricSettings | None,
    quarters: list[Period],
    week_ends: list[dt.datetime],
) -> list[float]:
    """Per week: revenue won from the start of its quarter to the week's end, of the deals
    entered by the last week's end: a win entered after the day the flow is read as of was
    not known then (it is in no week's pipeline either), so it is no revenue of that reading
    (before 2026-12-07 it was: "After as-of" in `tests/analytics/test_late_entry.py`)."""
    if metric is None:
        return [0.0] * len(week_ends)
    starts = {q.start: _utc(settings, q.start) for q in quarters}
    bounds = sorted(set(starts.values()) | set(week_ends))
    credit = deal_credit_column(metric)
    rows = (
        select(_bucket(Deal.closed_at, bounds).label("slot"), Deal.amount)
        .where(
            Deal.status == "won",
            Deal.closed_at >= bounds[0],
            Deal.closed_at < bounds[-1],
            Deal.created_at < bounds[-1],
            scope.owned(credit),
        )
        .subquery()
    )
    query = select(rows.c.slot, money_sum(rows.c.amount)).group_by(rows.c.slot)
    per_slot: dict[int, float] = defaultdict(float)
    for slot, total in conn.execute(query):
        per_slot[int(slot)] = float(total or 0)
    result = []
    for quarter, end in zip(quarters, week_ends, strict=True):
        # Slot k holds [bounds[k-1], bounds[k]): [quarter start, week end) is slots a+1..b.
        a, b = bounds.index(starts[quarter.start]), bounds.index(end)
        result.append(money_total(per_slot[k] for k in range(a + 1, b + 1)))
    return result


@dataclass(frozen=True)
class _Target:
    total: float
    reps: frozenset[int]  # the reps it covers


def _targets(
    conn: Connection,
    calendar: BusinessCalendar,
    scope: DealScope,
    metric: MetricSettings | None,
    quarters: list[Period],
) -> dict[dt.date, _Target]:
    """The scope's revenue target per quarter (derived from any stored periods) and the reps
    it covers; absent when no rep in scope has one."""
    if metric is None:
        return {}
    found: dict[dt.date, _Target] = {}
    for quarter in dict.fromkeys(quarters):
        targets = period_targets(conn, calendar, quarter, [metric.name], scope.rep_ids)
        if targets:
            reps = frozenset(rep for rep, _ in targets)
            found[quarter.start] = _Target(sum(targets.values()), reps)
    return found


def _covered(
    conn: Connection,
    settings: Settings,
    scope: DealScope,
    metric: MetricSettings | None,
    quarters: list[Period],
    bounds: list[dt.datetime],
    targets: dict[dt.date, _Target],
) -> dict[int, tuple[float, float]]:
    """Per week whose quarter's target covers only some of the scope's deal owners: the open
    value and the revenue won in the quarter of the reps it covers. Weeks whose target covers
    every owner are left out (the scope's own figures are theirs)."""
    owners = _owners(conn, scope, bounds[-1])
    found: dict[int, tuple[float, float]] = {}
    for reps in {t.reps for t in targets.values() if not owners <= t.reps}:
        narrowed = replace(scope, rep_ids=sorted(reps))
        deals = _deal_buckets(conn, narrowed, bounds, settings.calendar.zone)
        won = _won_in_quarter(conn, settings, narrowed, metric, quarters, bounds[1:])
        for i, quarter in enumerate(quarters):
            target = targets.get(quarter.start)
            if target is not None and target.reps == reps:
                found[i] = (_open_after(deals, i).value, won[i])
    return found


def _owners(conn: Connection, scope: DealScope, before: dt.datetime) -> frozenset[int]:
    """The reps owning the scope's deals created before `before`."""
    query = select(Deal.rep_id).where(Deal.created_at < before, scope.owned()).distinct()
    return frozenset(int(rep) for (rep,) in conn.execute(query) if rep is not None)
