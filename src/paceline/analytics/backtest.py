"""The forecast's backtest: replay past periods, forecast each from what was known then.

For each of the last `backtest_periods` complete periods, the cut-off is the start of the
period (the end of the day before): the forecast a manager makes on day one, the hardest one,
since nothing of the period is known yet (a mid-period forecast has part of its answer
already won). Each cut-off's forecast reads only what `pipeline_history.snapshot` and the
activity totals up to the day before return, so a deal, stage change, win or activity dated
later cannot move it. Stored targets are not read (they carry no date telling when they
were set), so new deals come from the activity run rate, not the plan.

Paceline's P50 is scored beside two baselines:
- **weighted pipeline**, the CRM's forecast: every deal open at the cut-off and due by the
  period's end (its expected close date in or before the period, or none given), at its
  amount times the configured probability of the stage it was in then (lost deals count
  zero; a stage without a configured probability counts zero). Expected close dates have no
  history, so the current one is used;
- **run rate**: revenue won per day over the `run_rate_days` before the cut-off, times the
  period's days.

Scores, over all periods: WAPE = sum |forecast - actual| / sum actual, bias = sum (forecast
- actual) / sum actual, and for Paceline the coverage: the share of periods whose actual
revenue fell inside its P10-P90 interval (80% when the interval is honest). A cut-off with
less than `run_rate_days` of deals before it is skipped (listed): no method has a history
to stand on there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Engine

from paceline.analytics.forecast import (
    Inputs,
    check_day,
    check_period_kind,
    check_runs,
    prepare,
    simulate,
)
from paceline.analytics.metrics import utc_bounds
from paceline.analytics.pipeline_history import (
    first_deal_created,
    forecast_scope,
    revenue_won,
)
from paceline.analytics.rollup import ensure_rollup
from paceline.calendar import BusinessCalendar, Period
from paceline.config import Settings
from paceline.errors import UserInputError

Method = Literal["paceline", "weighted_pipeline", "run_rate"]
METHODS: tuple[tuple[Method, str], ...] = (
    ("paceline", "Paceline (P50)"),
    ("weighted_pipeline", "Weighted pipeline (CRM stage probabilities)"),
    ("run_rate", "Trailing run rate"),
)
MAX_PERIODS = 60


@dataclass(frozen=True)
class BacktestRow:
    """One past period, forecast at its start."""

    period: Period
    cutoff: dt.date  # the last day known: the day before the period
    actual: float  # revenue won in the period
    p10: float
    p50: float
    p90: float
    mean: float
    weighted_pipeline: float
    run_rate: float
    open_deals: int  # at the cut-off
    open_value: float
    history_deals: int
    new_deals_source: str

    @property
    def covered(self) -> bool:
        """The actual fell inside Paceline's P10-P90 interval."""
        return self.p10 <= self.actual <= self.p90

    def forecast_of(self, method: Method) -> float:
        if method == "paceline":
            return self.p50
        return self.weighted_pipeline if method == "weighted_pipeline" else self.run_rate


@dataclass(frozen=True)
class MethodScore:
    method: Method
    label: str
    forecast: float  # summed over the periods
    actual: float
    wape: float | None  # None when nothing was won in any period
    bias: float | None
    coverage: float | None  # Paceline only: share of actuals inside P10-P90


@dataclass(frozen=True)
class Backtest:
    period_kind: str
    as_of: dt.date
    team: str | None
    rep: str | None
    runs: int
    seed: int
    rows: list[BacktestRow]  # oldest first
    skipped: list[Period]  # too little history before their cut-off
    scores: list[MethodScore]

    @property
    def best(self) -> Method | None:
        """The method with the lowest WAPE."""
        scored = [s for s in self.scores if s.wape is not None]
        return min(scored, key=lambda s: s.wape or 0.0).method if scored else None


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
) -> Backtest:
    """Forecast each of the last `periods` complete periods before `as_of` from its start."""
    kind = check_period_kind(period_kind)
    runs, seed = check_runs(settings, runs, seed)
    count = settings.insight.forecast.backtest_periods if periods is None else periods
    if not 1 <= count <= MAX_PERIODS:
        raise UserInputError(f"periods: must be 1 to {MAX_PERIODS} (got {count})")
    calendar = BusinessCalendar(settings.calendar)
    day = check_day(as_of or calendar.today())
    past = _complete_periods(calendar, calendar.period(kind, day + dt.timedelta(days=1)), count)
    rules = settings.insight.forecast
    ensure_rollup(engine, settings)
    rows: list[BacktestRow] = []
    skipped: list[Period] = []
    with engine.connect() as conn:
        scope = forecast_scope(conn, team, rep)
        for period in past:
            cutoff_day = period.start - dt.timedelta(days=1)
            start, end = utc_bounds(settings, period.start, period.end)
            first = first_deal_created(conn, scope, start)
            if first is None or first > start - dt.timedelta(days=rules.run_rate_days):
                skipped.append(period)
                continue
            inputs = prepare(conn, settings, scope, cutoff_day, period, use_plan=False)
            result = simulate(inputs, runs, seed)
            recent = revenue_won(conn, scope, start - dt.timedelta(days=rules.run_rate_days), start)
            rows.append(
                BacktestRow(
                    period=period,
                    cutoff=cutoff_day,
                    actual=revenue_won(conn, scope, start, end),
                    p10=result.p10,
                    p50=result.p50,
                    p90=result.p90,
                    mean=result.mean,
                    weighted_pipeline=weighted_pipeline(settings, inputs),
                    run_rate=recent / rules.run_rate_days * (period.end - period.start).days,
                    open_deals=len(inputs.chances),
                    open_value=sum(c.deal.amount for c in inputs.chances),
                    history_deals=result.history_deals,
                    new_deals_source=result.new_deals.source,
                )
            )
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


def _complete_periods(calendar: BusinessCalendar, current: Period, count: int) -> list[Period]:
    """The `count` periods before `current`, oldest first."""
    found = []
    period = current
    for _ in range(count):
        period = calendar.previous(period)
        found.append(period)
    return list(reversed(found))


def weighted_pipeline(settings: Settings, inputs: Inputs) -> float:
    """The CRM's forecast at the cut-off: open deals due by the period's end, at amount x
    the configured probability of their stage then."""
    probability = {s.name: s.probability for s in settings.stages}
    total = 0.0
    for chance in inputs.chances:
        due = chance.deal.expected_close
        if due is not None and due >= inputs.period.end:
            continue
        total += chance.deal.amount * probability.get(chance.stage or "", 0.0)
    return total


def _score(method: Method, label: str, rows: list[BacktestRow]) -> MethodScore:
    actual = sum(r.actual for r in rows)
    forecast = sum(r.forecast_of(method) for r in rows)
    error = sum(abs(r.forecast_of(method) - r.actual) for r in rows)
    coverage = None
    if method == "paceline" and rows:
        coverage = sum(1 for r in rows if r.covered) / len(rows)
    return MethodScore(
        method=method,
        label=label,
        forecast=forecast,
        actual=actual,
        wape=error / actual if actual else None,
        bias=(forecast - actual) / actual if actual else None,
        coverage=coverage,
    )
