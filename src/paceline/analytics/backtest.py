"""The forecast's backtest: replay past periods, forecast each from what was known then.

For each of the last `backtest_periods` complete periods, the forecast is made twice: at its
start (the end of the day before; the hardest, since nothing of the period is known yet) and
in its middle (the end of the day before its middle day: how forecasts are read in practice,
with part of the answer already won). Each forecast reads only what `pipeline_history.snapshot`
and the activity totals up to its cut-off return, so a deal, stage change, win or activity
dated later cannot move it. Stored targets are not read (they carry no date telling when they
were set), so new deals come from the activity run rate, not the plan.

Paceline's P50 is scored beside two baselines, each adding what is already won in the period:
- **weighted pipeline**, the CRM's forecast: every deal open at the cut-off and due by the
  period's end (its expected close date in or before the period, or none given), at its
  amount times the configured probability of the stage it was in then (lost deals count
  zero; a stage without a configured probability counts zero; a deal without an amount adds
  nothing, as in the CRM's own report, and is counted in `open_without_amount`). Expected
  close dates have no history, so the current one is used. It needs the stages deals were in
  at the cut-off: without stage history (an export of one row per deal) a deal open then but
  closed since has only its final stage, and the baseline would silently read ~0, so it is marked
  unavailable for that cut-off, with the reason;
- **run rate**: revenue won per day over the `run_rate_days` (business-local days, so a
  daylight-saving change inside the window loses nothing) before the cut-off, times the
  period's days left.

Scores, over all forecasts a method could make: WAPE = sum |forecast - actual| / sum actual,
bias = sum (forecast - actual) / sum actual, and for Paceline the coverage: the share of
forecasts whose actual revenue fell inside its P10-P90 interval (80% when the interval is
honest). A cut-off is skipped, with its reason, when no method has a history to stand on:
less than `run_rate_days` of deals before it, or nobody's data records a won deal before it
(deals won are not recorded: the scorecard's rule, as the forecast refuses then,
`forecast.unrecorded_wins`), or the forecast itself refuses (its `UnlearnableError`, with its
reason). A scope (a rep, a team) whose own deals were all lost, in an organisation whose data
records wins, is scored: the forecast reads it as a measured 0 of n and shows it, so the
backtest scores what the forecast shows (until 2026-12-07 it skipped such a cut-off, "no deal
won before the cut-off", and never measured the 0 it would have printed). A period whose
deals' records (the latest deal creation, close or stage change in the store, whoever's)
end before its last business day is skipped at both cut-offs, with the day they end: its
actual is partial (the Zoho export's deals end on 2021-05-20, and its Q2 2021 compared April
and May's wins with a forecast of the whole quarter), so scoring it would read a forecast as
too high. A
month ending on a weekend is whole with records to its last business day. The deals, not the
activities, because the actual is read from the deals, and activity dates run on past an
export's end: Zoho's tasks are dated by their due dates, to July 2022.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Connection, Engine, func, select

from paceline.analytics.aggregates import SpanCells
from paceline.analytics.forecast import (
    Inputs,
    SpanStepDays,
    check_day,
    check_period_kind,
    check_runs,
    count_edges,
    lag_span,
    prepare,
    simulate,
    snapshot_span,
    step_days_span,
    wins_unrecorded_reason,
)
from paceline.analytics.late_entry import entered_before
from paceline.analytics.metrics import SpanTotals, TotalsReader
from paceline.analytics.money import cents, money_total
from paceline.analytics.pipeline_history import (
    ForecastScope,
    SpanSnapshots,
    first_deal_created,
    forecast_scope,
    revenue_won,
)
from paceline.analytics.rollup import ensure_rollup
from paceline.analytics.step_rules import wins_recorded
from paceline.calendar import BusinessCalendar, Period, local_midnight_utc
from paceline.config import Settings
from paceline.errors import UnlearnableError, UserInputError
from paceline.store.models import Deal, DealStageHistory

Method = Literal["paceline", "weighted_pipeline", "run_rate"]
Point = Literal["start", "middle"]
METHODS: tuple[tuple[Method, str], ...] = (
    ("paceline", "Paceline (P50)"),
    ("weighted_pipeline", "Weighted pipeline (CRM stage probabilities)"),
    ("run_rate", "Trailing run rate"),
)
POINTS: tuple[Point, ...] = ("start", "middle")
MAX_PERIODS = 60
MAX_UNKNOWN_STAGE = 0.5  # share of the open value with no stage known: no weighted pipeline
NO_STAGES = (
    "no stage history: the stages deals were in at the cut-off are not known for "
    "{share:.0%} of the open value (deals closed since show only their final stage)"
)


@dataclass(frozen=True)
class BacktestRow:
    """One past period, forecast at its start or in its middle."""

    period: Period
    point: Point  # where in the period the forecast was made
    cutoff: dt.date  # the last day known
    actual: float  # revenue won in the period, from the won deals with an amount
    actual_without_amount: int  # deals won in the period with no amount: not in `actual`
    won_at_cutoff: float  # ...of which already won by the cut-off
    p10: float
    p50: float
    p90: float
    mean: float
    # Money is to the cent (the P10/P50/P90, the mean, the baselines): what every face shows.
    weighted_pipeline: float | None  # None: unavailable (see `weighted_pipeline_note`)
    weighted_pipeline_note: str | None
    run_rate: float
    open_deals: int  # at the cut-off
    open_value: float
    open_without_amount: int
    history_deals: int
    new_deals_source: str

    @property
    def covered(self) -> bool:
        """The actual fell inside Paceline's P10-P90 interval."""
        return self.p10 <= self.actual <= self.p90

    def forecast_of(self, method: Method) -> float | None:
        if method == "paceline":
            return self.p50
        return self.weighted_pipeline if method == "weighted_pipeline" else self.run_rate


@dataclass(frozen=True)
class SkippedCutoff:
    """A cut-off no forecast was scored at, and why."""

    period: Period
    point: Point
    cutoff: dt.date
    reason: str

    @property
    def label(self) -> str:
        return f"{self.period.label} ({self.point}): {self.reason}"


@dataclass(frozen=True)
class MethodScore:
    method: Method
    label: str
    forecasts: int  # rows the method could forecast
    forecast: float  # summed over them
    actual: float
    wape: float | None  # None when nothing was won in them, or none was made
    bias: float | None
    coverage: float | None  # Paceline only: share of actuals inside P10-P90
    unavailable: str | None  # why some (or every) row has no forecast of this method


@dataclass(frozen=True)
class Backtest:
    period_kind: str
    as_of: dt.date
    team: str | None
    rep: str | None
    runs: int
    seed: int
    rows: list[BacktestRow]  # oldest first; the start before the middle of a period
    skipped: list[SkippedCutoff]
    scores: list[MethodScore]

    @property
    def best(self) -> Method | None:
        """The method with the lowest WAPE among those scored on every row (a method scored
        on fewer rows is not compared: like with like)."""
        scored = [s for s in self.scores if s.wape is not None and s.forecasts == len(self.rows)]
        return min(scored, key=lambda s: s.wape or 0.0).method if scored else None

    @property
    def actual_without_amount(self) -> int:
        """Won deals without an amount in the periods replayed, each period once: its start
        and middle rows share one actual (summing the rows counted July's one such win as 2)."""
        per_period = {row.period: row.actual_without_amount for row in self.rows}
        return sum(per_period.values())


def backtest(
    engine: Engine,
    settings: Settings,
    period_kind: str = "quarter",
    *,
    team: str | None = None,
    rep: str | None = None,
    periods: int | None = None,
    as_of: dt.date | None = None,
    runs: int | None = None,
    seed: int | None = None,
    points: tuple[Point, ...] = POINTS,
) -> Backtest:
    """Forecast each of the last `periods` complete periods before `as_of` from its start
    and from its middle (`points`)."""
    kind = check_period_kind(period_kind)
    runs, seed = check_runs(settings, runs, seed)
    count = settings.insight.forecast.backtest_periods if periods is None else periods
    if not 1 <= count <= MAX_PERIODS:
        raise UserInputError(f"periods: must be 1 to {MAX_PERIODS} (got {count})")
    calendar = BusinessCalendar(settings.calendar)
    day = check_day(as_of or calendar.today())
    past = _complete_periods(calendar, calendar.period(kind, day + dt.timedelta(days=1)), count)
    ensure_rollup(engine, settings)
    rows: list[BacktestRow] = []
    skipped: list[SkippedCutoff] = []
    with engine.connect() as conn:
        scope = forecast_scope(conn, team, rep, settings.calendar.zone)
        cutoffs = [(period, point, cutoff_of(period, point)) for period in past for point in points]
        # The cut-offs' activity-count windows overlap (a year of history each): read once.
        edges = [day for _, _, cutoff in cutoffs for day in count_edges(settings, cutoff)]
        totals = SpanTotals(settings, scope.rep_ids, edges)
        # ...and so do the windows of the driver's lag: its day cells read once.
        lag_cells = lag_span(settings, scope, [cutoff for _, _, cutoff in cutoffs])
        # ...and so do their deals: read once, each snapshot taken from them.
        snapshots = snapshot_span(settings, scope, [cutoff for _, _, cutoff in cutoffs])
        # ...and so do the steps' day sums the driver's recorded span is found in.
        step_days = step_days_span(settings, [cutoff for _, _, cutoff in cutoffs])
        data_ends = last_recorded_day(conn, calendar)
        for period, point, cutoff_day in cutoffs:
            reason = _partial_reason(calendar, period, data_ends) or _skip_reason(
                conn, settings, scope, cutoff_day
            )
            if reason is not None:
                skipped.append(SkippedCutoff(period, point, cutoff_day, reason))
                continue
            shared = (totals, lag_cells, snapshots, step_days)
            try:
                rows.append(
                    _row(conn, settings, scope, period, point, cutoff_day, runs, seed, shared)
                )
            except UnlearnableError as refused:  # no forecast to score, not a 0 scored
                skipped.append(SkippedCutoff(period, point, cutoff_day, refused.reason))
    return Backtest(
        period_kind=kind,
        as_of=day,
        team=scope.team,
        rep=scope.rep,
        runs=runs,
        seed=seed,
        rows=rows,
        skipped=skipped,
        scores=[_score(method, label, rows) for method, label in METHODS],
    )


def cutoff_of(period: Period, point: Point) -> dt.date:
    """The last day known: the day before the period, or before its middle day."""
    if point == "start":
        return period.start - dt.timedelta(days=1)
    return period.start + dt.timedelta(days=(period.end - period.start).days // 2 - 1)


def last_recorded_day(conn: Connection, calendar: BusinessCalendar) -> dt.date | None:
    """The business-local day of the deals' latest record in the store: a deal created or
    closed, a stage change (None: none). Whoever's deal: one rep quiet in a period's last
    weeks has a real zero there; an export that stops has nothing for anyone."""
    found = conn.execute(
        select(
            select(func.max(Deal.created_at)).scalar_subquery(),
            select(func.max(Deal.closed_at)).scalar_subquery(),
            select(func.max(DealStageHistory.entered_at)).scalar_subquery(),
        )
    ).one()
    moments = [m for m in found if m is not None]
    return calendar.local_date(max(moments)) if moments else None


def _partial_reason(
    calendar: BusinessCalendar, period: Period, data_ends: dt.date | None
) -> str | None:
    """Why the period cannot be scored as complete: the deals' records end before its last
    business day (a month ending on a Saturday is whole with records to the Friday: a store
    read on the Sunday would otherwise skip the month just ended)."""
    last_day = _last_business_day(calendar, period)
    if data_ends is None or data_ends >= last_day:
        return None
    return (
        f"the deals' records end on {data_ends} (the latest deal created, closed or moved), "
        f"before the period's last business day ({last_day}): its actual would be partial"
    )


def _last_business_day(calendar: BusinessCalendar, period: Period) -> dt.date:
    """The period's last business day (its last day when it has none)."""
    day = period.end - dt.timedelta(days=1)
    while day >= period.start:
        if calendar.is_business_day(day):
            return day
        day -= dt.timedelta(days=1)
    return period.end - dt.timedelta(days=1)


def _skip_reason(
    conn: Connection, settings: Settings, scope: ForecastScope, cutoff_day: dt.date
) -> str | None:
    """Why no forecast made at the end of `cutoff_day` can be scored, or None."""
    days = settings.insight.forecast.run_rate_days
    first_left = cutoff_day + dt.timedelta(days=1)
    cutoff = _midnight(settings, first_left)
    first = first_deal_created(conn, scope, cutoff)
    if first is None or first > _midnight(settings, first_left - dt.timedelta(days=days)):
        return f"less than {days} days of deals before the cut-off"
    won = (
        select(Deal.id)
        .where(Deal.status == "won", Deal.closed_at < cutoff, entered_before(cutoff), scope.owned())
        .limit(1)
    )
    if conn.execute(won).first() is None and not wins_recorded(conn, settings, first_left):
        return wins_unrecorded_reason(cutoff_day)  # nobody's: the scorecard's rule
    # The scope's own deals all lost, with wins recorded elsewhere: the forecast's measured
    # 0 of n, scored as the forecast shows it (its own refusals skip in `backtest`).
    return None


def _row(
    conn: Connection,
    settings: Settings,
    scope: ForecastScope,
    period: Period,
    point: Point,
    cutoff_day: dt.date,
    runs: int,
    seed: int,
    shared: tuple[TotalsReader, SpanCells, SpanSnapshots, SpanStepDays],
) -> BacktestRow:
    """`shared`: the reads the cut-offs share (activity counts, the lag's cells, the deals,
    the steps' day sums)."""
    first_left = cutoff_day + dt.timedelta(days=1)
    totals, lag_cells, snapshots, step_days = shared
    inputs = prepare(
        conn,
        settings,
        scope,
        cutoff_day,
        period,
        use_plan=False,
        totals=totals,
        lag_cells=lag_cells,
        snapshots=snapshots,
        step_days_of=step_days,
    )
    result = simulate(inputs, runs, seed)
    start, end = _midnight(settings, period.start), _midnight(settings, period.end)
    weighted, note = weighted_pipeline(settings, inputs)
    actual, actual_unknown = revenue_won(conn, scope, start, end)
    return BacktestRow(
        period=period,
        point=point,
        cutoff=cutoff_day,
        actual=actual,
        actual_without_amount=actual_unknown,
        won_at_cutoff=inputs.won_so_far,
        p10=result.p10,
        p50=result.p50,
        p90=result.p90,
        mean=result.mean,
        weighted_pipeline=None if weighted is None else cents(inputs.won_so_far + weighted),
        weighted_pipeline_note=note,
        run_rate=cents(inputs.won_so_far + run_rate(conn, settings, scope, first_left, period.end)),
        open_deals=len(inputs.chances),
        open_value=money_total(c.value for c in inputs.chances),
        open_without_amount=result.open_without_amount,
        history_deals=result.history_deals,
        new_deals_source=result.new_deals.source,
    )


def _midnight(settings: Settings, day: dt.date) -> dt.datetime:
    return local_midnight_utc(settings.calendar.zone, day)


def run_rate(
    conn: Connection, settings: Settings, scope: ForecastScope, first_left: dt.date, end: dt.date
) -> float:
    """Revenue won per day over the `run_rate_days` local days before `first_left`, times the
    days from `first_left` to `end`. The window is counted in local days (each read from its
    own midnight), so a window across the end of daylight saving time is neither an hour
    short nor long. Only the wins entered in the CRM by the cut-off count (`late_entry`): a
    win logged after it was not known then, and the baseline must not learn it in hindsight
    (before 2026-12-07 it did)."""
    days = settings.insight.forecast.run_rate_days
    since = _midnight(settings, first_left - dt.timedelta(days=days))
    cutoff = _midnight(settings, first_left)
    recent, _ = revenue_won(conn, scope, since, cutoff, known_at=cutoff)
    return recent / days * (end - first_left).days


def _complete_periods(calendar: BusinessCalendar, current: Period, count: int) -> list[Period]:
    """The `count` periods before `current`, oldest first."""
    found = []
    period = current
    for _ in range(count):
        period = calendar.previous(period)
        found.append(period)
    return list(reversed(found))


def weighted_pipeline(settings: Settings, inputs: Inputs) -> tuple[float | None, str | None]:
    """The CRM's forecast at the cut-off: open deals due by the period's end, at amount x
    the configured probability of their stage then; None (with the reason) when the stages
    of most of the open value at the cut-off are not known."""
    unknown = sum(c.deal.amount or 0.0 for c in inputs.chances if c.stage is None)
    total_value = sum(c.deal.amount or 0.0 for c in inputs.chances)
    if not inputs.by_stage or (total_value and unknown > MAX_UNKNOWN_STAGE * total_value):
        share = unknown / total_value if total_value else 1.0
        return None, NO_STAGES.format(share=share)
    probability = {s.name: s.probability for s in settings.stages}
    total = 0.0
    for chance in inputs.chances:
        due = chance.deal.expected_close
        if due is not None and due >= inputs.period.end:
            continue
        # No amount: nothing, as the CRM's own weighted pipeline shows it (counted apart).
        total += (chance.deal.amount or 0.0) * probability.get(chance.stage or "", 0.0)
    return total, None


def _score(method: Method, label: str, rows: list[BacktestRow]) -> MethodScore:
    made = [(r, f) for r in rows if (f := r.forecast_of(method)) is not None]
    actual = money_total(r.actual for r, _ in made)
    forecast = money_total(f for _, f in made)
    error = sum(abs(f - r.actual) for r, f in made)
    coverage = None
    if method == "paceline" and rows:
        coverage = sum(1 for r in rows if r.covered) / len(rows)
    notes = [r.weighted_pipeline_note for r in rows if r.forecast_of(method) is None]
    unavailable = None
    if notes:
        unavailable = f"unavailable at {len(notes)} of {len(rows)} cut-offs: {notes[0]}"
    return MethodScore(
        method=method,
        label=label,
        forecasts=len(made),
        forecast=forecast,
        actual=actual,
        wape=error / actual if actual else None,
        bias=(forecast - actual) / actual if actual else None,
        coverage=coverage,
        unavailable=unavailable,
    )
