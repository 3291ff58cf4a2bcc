"""The activity-driven forecast: revenue won in a period, as a distribution.

Revenue won by the end of the period = what is already won (known) + open deals that will be
won in time + deals not created yet that will be created *and* won in time. Each part is
learnt from the team's own history as known at the cut-off (`pipeline_history`):

- **Open pipeline.** An open deal in stage s for d days is won by the period's end with the
  chance that history's deals still in s after d days were won within the days left
  (Aalen-Johansen on the landmark set, censoring young deals honestly). A stage with few such
  stays borrows strength from all stages pooled: its estimate counts as many deals as it has,
  the pooled one as `PRIOR_STAYS` (a stage with 3 stays is mostly the pool, one with 300 is
  its own). A deal of unknown stage is read by its age from creation. A deal that has been in
  its stage longer than any deal of the history gets the pooled chance. When not one deal of
  its comparison set (the stays still open as long) closed by the period's end, nothing
  measured its chance (until 2026-12-08 it read 0%, a certain loss): it is read from the
  prior, the scope's posterior share of closes won times the chance a stay of the scope
  closes within the days left from its start (`_from_prior`), and marked so (`from_prior`).
- **Deals not created yet.** New opportunities per business day come from activity when the
  history shows how activity turns into opportunities: the funnel step that feeds
  opportunities (the narrowest activity step of `[funnel] steps` that still outnumbers the
  opportunities created and is measurable: not one `step_rules` calls not recorded or
  under-recorded; on the demo, meetings set) times its measured conversion (over the span
  the step is recorded: from its first record when a source began mid-history), shifted
  by its measured lag (the median days from the last such activity on the account to the
  opportunity: on the demo a week, the time from setting a meeting to holding it). Its
  volume is the reps' targeted volume for the period where they have a target for it
  ("activity plan"), else their trailing `run_rate_days` run rate ("activity run rate").
  Without activity data it is the trailing run rate of opportunities created
  ("opportunity run rate"). A deal created on a day is won in time with history's chance of
  a win within the days left after creation; its amount is drawn from history's won amounts,
  or, when no win of the history has one (a scope whose deals were all lost), from its lost
  and open deals' amounts (`deal_sizes`: what they would have been worth won).
- **Simulation.** `runs` Monte Carlo runs with `numpy.random.default_rng(seed)`: each open
  deal is won (or not) on a day drawn from its own curve; won new deals per day are Poisson
  (the thinning of Poisson arrivals by their chance of a win on that day, the same
  distribution as drawing every new deal and its outcome, for a fraction of the cost).
  P10/P50/P90, the mean and the chance of reaching the revenue target are read from the
  runs; the fan (quantiles of revenue won to date, day by day) from the first `CHUNK` runs.
  Each run first draws its own creation rate, win chance and average deal size
  (`rate_uncertainty`): the interval carries the estimation error of the learnt rates. A
  measured 0 (none of the history's n closes won) is no certain 0: every curve's closes are
  won at the share's posterior mean, 1 / (2n + 2) (`_as_learnt`), and each run draws its
  share from the posterior, Beta(1/2, n + 1/2) (`none_won_of`). So is an open deal's own
  measured 0 in a scope with wins: when the stays still open that long closed only as
  losses by the period's end (k of them), its curves' closes are won at the mean of
  Beta(1/2, k + (L + 1/2) / (2W + 1)), the rest of the scope's W wins and L losses its
  prior, and each run draws that share (`_measured_zero`, `_stale_losses`): one rule, which
  gives a scope with no win its own Beta(1/2, n + 1/2) whatever the deal's set.
- **Amounts.** An open deal whose CRM left the amount empty (stored as unknown, not 0) is
  counted (`open_without_amount`) and, when won in a run, worth a won deal's size drawn from
  history (the same sizes as a new deal's, `deal_sizes`). A deal won in the period without
  an amount is not in `won_so_far` (its revenue is unknown) and is counted
  (`won_without_amount`); a recorded 0 is a real zero.
- **The target, like with like.** When the revenue target covers only some of the reps with
  deals, the chance of reaching it is read on those reps' own forecast (`_against_target`),
  and the others are named as revenue no target covers.

Known limits: the model assumes the future converts like the last `history_months`; stage
probabilities come from the deals' stage history, so a CRM export without it (one row per
deal) leaves only age to go on; amounts recorded for open deals are taken as they stand.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, get_args

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, Engine, func, select

from paceline.analytics import aggregates
from paceline.analytics.late_entry import entered_after_close
from paceline.analytics.metric_sql import activity_filter, needs_contact
from paceline.analytics.metrics import MetricTotals, TotalsReader, metric_totals, revenue_metric
from paceline.analytics.money import cents, money_average, money_total, optional_cents
from paceline.analytics.pipeline_history import (
    SECONDS_PER_DAY,
    ForecastScope,
    KnownDeal,
    Snapshot,
    SpanSnapshots,
    Spells,
    WinCurve,
    closed_without_date_created,
    creation_spells,
    deals_created,
    forecast_scope,
    pooled,
    snapshot,
    stage_history_usable,
    stage_spells,
    unlearnable_wins,
    unmeasured_wins,
    won_deals,
)
from paceline.analytics.rate_uncertainty import (
    RunFactors,
    Uncertainty,
    draw_factors,
    learnt_uncertainty,
    measured_zero_factors,
    measured_zero_share,
    stale_posterior_losses,
    win_closes,
    zero_posterior_share,
)
from paceline.analytics.rollup import ensure_rollup
from paceline.analytics.step_rules import (
    StepNote,
    conversion_notes,
    counted_steps,
    hand_overs,
    recorded_steps,
    recording_start,
    wins_recorded,
)
from paceline.analytics.targets import period_targets
from paceline.calendar import (
    BusinessCalendar,
    Period,
    PeriodKind,
    local_days_between,
    local_midnight_utc,
    shift_months,
)
from paceline.config import MetricSettings, Settings
from paceline.errors import UnlearnableError, UserInputError, did_you_mean
from paceline.store.models import Activity, Contact, Deal, MetricDay, Rep

FloatArray = NDArray[np.float64]
NewDealSource = Literal["activity_plan", "activity_run_rate", "opportunity_run_rate"]
# Where the sizes a won deal is valued at come from: the history's won amounts, or, when no
# win of the history has an amount (a scope whose deals were all lost), the amounts of its
# lost and open deals (`deal_sizes`).
SizesFrom = Literal["won", "lost_and_open"]
ForecastPeriod = Literal["month", "quarter", "year"]  # one definition: API, page, download
FORECAST_PERIODS: tuple[PeriodKind, ...] = get_args(ForecastPeriod)
PRIOR_STAYS = 10.0  # the pooled estimate's weight, in deals, beside a stage's own
CHUNK = 4000  # runs simulated at once; the fan is read from the first chunk
BLOCK_DEALS = 250  # open deals whose uniforms are drawn at once (16 MB for a chunk of runs)
QUANTILES = (0.1, 0.5, 0.9)
MAX_RUNS = 1_000_000
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(9000, 12, 31)
OPPORTUNITIES = "opportunities"
UNKNOWN_STAGE_LABEL = "Stage not recorded (read by age)"
BY_AGE_LABEL = "Every open deal, read by age (the stage history is a snapshot)"


# --- the result -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DealChance:
    """One open deal: its chance of being won by the period's end."""

    deal_id: int
    name: str
    rep_id: int
    stage: str | None  # None: not recorded at the cut-off (read by age)
    days_in_stage: float
    age_days: float
    amount: float  # as recorded, or the average won deal's (to the cent) when not recorded
    amount_recorded: bool  # False: the CRM left it empty; valued from the won deals' sizes
    win_probability: float
    crm_probability: float | None  # the configured stage probability (the CRM's view)
    # Its own measured 0: the closes of the deals open as long as it (by the period's end)
    # when none was won, in a scope with wins; its chance is their Jeffreys posterior's
    # (`_measured_zero`). 0: its chance rests on wins (or on the scope's measured 0).
    none_won_of: int = 0
    # Then the posterior mean share its closes in time are won at (0 otherwise): the rest of
    # the scope's share as the prior, those losses added (`stale_posterior_losses`); for a
    # deal read from the prior, the prior's mean share.
    zero_share: float = 0.0
    # True: no deal of its comparison set (the stays still open as long) closed by the
    # period's end, so nothing measured its chance: it is the scope's prior (`_from_prior`),
    # marked so on every face. False: its chance rests on its own comparison set.
    from_prior: bool = False

    @property
    def expected(self) -> float:
        """Its amount times its chance, to the cent (money, as every face shows it)."""
        return cents(self.amount * self.win_probability)


@dataclass(frozen=True)
class StageRates:
    """What history says about one stage, and the open deals in it now."""

    stage: str | None
    label: str
    history_stays: int  # stays in the stage by deals of the history
    history_wins: int  # ...of deals won since (by the cut-off)
    win_rate: float | None  # chance a deal entering the stage is won (Aalen-Johansen)
    median_days_to_win: float | None  # half the wins came within this many days of entering
    open_deals: int
    open_value: float
    expected_value: float  # sum of amount x chance of a win by the period's end, to the cent
    crm_probability: float | None


@dataclass(frozen=True)
class ChainStep:
    """One step of the measured chain to opportunities, over the history."""

    metric: str
    label: str
    count: float
    conversion: float | None  # per unit of the step before (None: none, or not a rate)
    note: StepNote | None = None  # why the conversion is not a rate (`step_rules`)


@dataclass(frozen=True)
class NewDeals:
    """How many deals not created yet are expected, and why."""

    source: NewDealSource
    driver: str | None  # the activity metric opportunities are driven by
    driver_label: str | None
    chain: list[ChainStep]  # the funnel over the history, ending with opportunities
    conversion: float | None  # opportunities per driver activity, over the history
    lag_days: int  # activity today -> opportunity this many days later
    driver_per_day: float | None  # driver activity expected per business day ahead
    planned_reps: int  # reps whose driver volume is their target (the rest: run rate)
    opportunity_run_rate: float  # opportunities created per business day, trailing
    expected_deals: float  # new deals expected by the period's end
    expected_wins: float  # ...and won by then
    # The average size a won deal is valued at, to the cent: the history's won amounts', or
    # the scope's lost and open deals' when no win has an amount (`sizes_from`).
    average_won_amount: float | None
    expected_revenue: float  # expected wins x the (unrounded) average won amount, to the cent
    # The first day the conversion is measured from, when the driver's records start after
    # the history does (a source that began recording mid-history); None: the whole history.
    measured_from: dt.date | None = None
    # Steps that outnumber the opportunities but are not measurable as their driver: the
    # step after them outnumbers them (`step_rules`: under-recorded).
    passed_over: list[ChainStep] = field(default_factory=list)
    # Where `average_won_amount`'s sizes come from (None: no size at all, nothing to value).
    sizes_from: SizesFrom | None = None

    @property
    def opportunities_per_day(self) -> float | None:
        """What the forecast assumes: the driver's volume x its conversion."""
        if self.driver_per_day is None or self.conversion is None:
            return None
        return self.driver_per_day * self.conversion


@dataclass(frozen=True)
class FanPoint:
    """Quantiles of revenue won in the period by the end of `day`."""

    day: dt.date
    p10: float
    p50: float
    p90: float


@dataclass(frozen=True)
class DayAmount:
    day: dt.date
    amount: float  # revenue won in the period by the end of the day


@dataclass(frozen=True)
class Forecast:
    period: Period
    as_of: dt.date
    team: str | None
    rep: str | None
    runs: int
    seed: int
    revenue_metric: str | None  # the metric the target is read on
    target: float | None  # the scope's revenue target for the period (None: none stored)
    target_reps: int  # reps the target covers (their targets summed)
    untargeted_reps: list[str]  # reps of the scope with deals but no target, by name
    targeted_won_so_far: float | None  # won so far by the reps the target covers
    targeted_p50: float | None  # the median of their revenue: what the target is read against
    won_so_far: float
    expected_open: float
    expected_new: float
    mean: float
    p10: float
    p50: float
    p90: float
    probability_of_target: float | None  # of *their* revenue reaching it (like with like)
    history_start: dt.date  # local day: history is [history_start, as_of]
    history_deals: int  # deals the curves learn from: watched in the history, cycle known
    history_wins: int  # ...of which won in it
    # Deals won in the history window (closed in it) but entered in the CRM after they
    # closed (`Snapshot.won_entered_after_close`): their cycle is not known, so no curve
    # learns from them (their amounts are won sizes all the same).
    wins_without_cycle: int
    # Deals created in the history window and closed (won or lost) without a close date: no
    # curve can place their close, so they are not counted as created either (the run rate,
    # the conversion); said apart (`late_entry`).
    closed_without_date: int
    open_without_amount: int  # open deals the CRM records no amount for (valued from wins)
    won_without_amount: int  # deals won in the period so far without one: not in won_so_far
    history_without_amount: int  # ...and deals of the history, open or lost, without one
    by_stage: bool  # open deals read by stage (False: by age; no usable stage history)
    days_left: int  # calendar days after the as-of day to the period's end
    business_days_left: int
    new_deals: NewDeals
    stages: list[StageRates]
    open_deals: list[DealChance]  # largest expected value first
    won_by_day: list[DayAmount]  # the period so far
    fan: list[FanPoint]  # from the as-of day to the period's last day
    # False when the data records no won deal at all (`step_rules.wins_recorded`, the
    # scorecard's rule): won so far is then "not recorded" on every face, not a known 0.
    wins_recorded: bool = True
    # A measured 0: the history's closes, none of them won (0: some won, or none closed).
    # Each close is then won with the share's Jeffreys posterior (`rate_uncertainty`): its
    # mean, 1 / (2n + 2), is the open deals' and new deals' chance per close in time.
    none_won_of: int = 0

    @property
    def open_value(self) -> float:
        return money_total(d.amount for d in self.open_deals)

    @property
    def gap_to_target(self) -> float | None:
        """What the covered reps' median outcome misses the target by (negative: beats it)."""
        if self.target is None or self.targeted_p50 is None:
            return None
        return cents(self.target - self.targeted_p50)

    @property
    def untargeted_won_so_far(self) -> float | None:
        """Won so far by reps without a target: revenue no target covers."""
        if self.targeted_won_so_far is None:
            return None
        return cents(self.won_so_far - self.targeted_won_so_far)


# --- the analysis ---------------------------------------------------------------------------


def forecast(
    engine: Engine,
    settings: Settings,
    period_kind: str = "quarter",
    as_of: dt.date | None = None,
    *,
    team: str | None = None,
    rep: str | None = None,
    runs: int | None = None,
    seed: int | None = None,
) -> Forecast:
    """Revenue won in the period (of `period_kind`) containing `as_of`, as a distribution,
    from what was known at the end of `as_of` (default: today)."""
    kind = check_period_kind(period_kind)
    runs, seed = check_runs(settings, runs, seed)
    calendar = BusinessCalendar(settings.calendar)
    day = check_day(as_of or calendar.today())
    period = calendar.period(kind, day)
    ensure_rollup(engine, settings)
    with engine.connect() as conn:
        scope = forecast_scope(conn, team, rep)
        inputs = prepare(conn, settings, scope, day, period, use_plan=True)
        result = _against_target(conn, inputs, simulate(inputs, runs, seed))
        seen = float(len(inputs.snap.won))
        recorded = wins_recorded(conn, settings, day + dt.timedelta(days=1), seen)
        return replace(result, wins_recorded=recorded)


def _against_target(conn: Connection, inputs: Inputs, result: Forecast) -> Forecast:
    """Compare like with like: when the target covers only some of the reps with deals,
    the chance of reaching it is read on those reps' own forecast (their deals, their
    new-deal rate), not on everyone's revenue."""
    if inputs.target is None or not result.untargeted_reps:
        return result
    covered = ForecastScope(sorted(inputs.target_by_rep), inputs.scope.team, inputs.scope.rep)
    try:
        theirs = prepare(conn, inputs.settings, covered, inputs.as_of, inputs.period, use_plan=True)
    except UnlearnableError:  # their own wins teach no chance: no like-with-like chance either
        return replace(result, probability_of_target=None)
    totals = run_simulation(theirs, result.runs, result.seed).totals
    return replace(
        result,
        targeted_won_so_far=theirs.won_so_far,
        targeted_p50=cents(np.quantile(totals, 0.5)),
        probability_of_target=float(np.mean(totals >= inputs.target)),
    )


def check_period_kind(period_kind: str) -> PeriodKind:
    for kind in FORECAST_PERIODS:
        if kind == period_kind:
            return kind
    hint = did_you_mean(period_kind, FORECAST_PERIODS)
    raise UserInputError(
        f"period: {period_kind!r} cannot be forecast{hint + ' Use' if hint else '; use'} "
        f"{', '.join(FORECAST_PERIODS)}"
    )


def check_day(day: dt.date) -> dt.date:
    """An as-of day whose history and period the calendar can hold."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise UserInputError(f"as_of: must be between {FIRST_DAY} and {LAST_DAY} (got {day})")
    return day


def check_runs(settings: Settings, runs: int | None, seed: int | None) -> tuple[int, int]:
    runs = settings.insight.forecast.runs if runs is None else runs
    seed = settings.insight.forecast.seed if seed is None else seed
    if not 100 <= runs <= MAX_RUNS:
        raise UserInputError(f"runs: must be 100 to {MAX_RUNS:,} (got {runs})")
    if seed < 0:
        raise UserInputError(f"seed: must be zero or more (got {seed})")
    return runs, seed


# --- inputs: everything known at the cut-off ------------------------------------------------


@dataclass(frozen=True)
class OpenChance:
    """An open deal's curves: `primary` with probability `weight`, else `fallback`."""

    deal: KnownDeal
    stage: str | None  # as known at the cut-off (None: not recorded)
    elapsed: float  # on the curves' clock: days in its stage, or its age when read by age
    in_stage: float  # days in its stage on the local calendar (shown; as stalled counts)
    age: float  # days since its creation on the local calendar (shown)
    primary: WinCurve | None
    weight: float
    fallback: WinCurve | None
    probability: float  # of a win by the period's end
    value: float  # its amount, or the average won amount when it has none recorded
    # The closes of its own comparison set by the period's end when none was won, in a scope
    # with wins (`_measured_zero`): its curves carry the Jeffreys posterior mean share and
    # each run draws its own; 0 when its chance rests on wins (or on the scope's measured 0).
    none_won_of: int = 0
    # Then its posterior's Beta(1/2, b) b, the scope's other closes' prior and those losses
    # (`stale_posterior_losses`); for a deal read from the prior in a scope with wins, the
    # prior's b (no loss added); 0.0 otherwise.
    zero_losses: float = 0.0
    # No close in its comparison set by the period's end: its chance is the scope's prior
    # (`_from_prior`), not a measurement of deals like it.
    from_prior: bool = False


@dataclass(frozen=True)
class Inputs:
    """What a forecast simulates, all as known at the cut-off."""

    settings: Settings
    scope: ForecastScope
    period: Period
    as_of: dt.date
    snap: Snapshot
    history_start: dt.date
    days_left: int
    business_days_left: int
    won_so_far: float
    won_by_day: list[DayAmount]
    won_without_amount: int  # won in the period so far with no amount: not in won_so_far
    by_stage: bool
    chances: list[OpenChance]
    stage_stays: dict[str, Spells]
    creation: Spells
    new_per_day: FloatArray  # expected new deals created on each day left
    new_wins_per_day: FloatArray  # expected new deals won on each day left
    won_amounts: FloatArray  # the sizes a won deal is drawn from (`deal_sizes`)
    uncertainty: Uncertainty
    new_deals: NewDeals
    revenue_metric: str | None
    target: float | None
    target_by_rep: dict[int, float]  # the reps the target covers, and each one's share
    untargeted_reps: list[str]  # reps with deals in the snapshot but no target, by name
    # Deals created in the history and closed without a close date: in no curve, not counted
    # as created (`late_entry.closed_without_date`).
    closed_without_date: int


def prepare(
    conn: Connection,
    settings: Settings,
    scope: ForecastScope,
    as_of: dt.date,
    period: Period,
    *,
    use_plan: bool,
    totals: TotalsReader = metric_totals,
    lag_cells: aggregates.SpanCells | None = None,
    snapshots: SpanSnapshots | None = None,
    step_days_of: StepDaysReader | None = None,
) -> Inputs:
    """Read and learn everything a forecast of `period` at the end of `as_of` needs.

    `use_plan`: read the reps' activity targets for the period (a backtest does not: stored
    targets carry no date telling when they were set, so they might be hindsight).
    `totals`: how activity counts are read (a backtest's `SpanTotals` shares them between
    its cut-offs; the windows read are `count_edges`). `lag_cells`: the driver's day cells
    read once for the span of a backtest's cut-offs (`lag_span`), else per forecast.
    `snapshots`: the deals read once for a backtest's cut-offs (`snapshot_span`), else here.
    `step_days_of`: the steps' day sums read once for a backtest's cut-offs
    (`SpanStepDays`), else per forecast (`step_days`).
    """
    calendar = BusinessCalendar(settings.calendar)
    history_start, _, first_left = count_edges(settings, as_of)
    cutoff = _midnight(settings, first_left)
    start = _midnight(settings, history_start)
    snap = (
        snapshot(conn, scope, cutoff, start)
        if snapshots is None
        else snapshots(conn, cutoff, start)
    )
    unlearnable = (
        unlearnable_wins(snap, history_start)
        or unmeasured_wins(snap, history_start)
        or unrecorded_wins(conn, settings, snap, as_of)
    )
    if unlearnable is not None:  # the curves would read 0%: no measurement, refused
        raise UnlearnableError("forecast", unlearnable)
    days_left = max((period.end - first_left).days, 0)
    stays = stage_spells(snap)
    creation = creation_spells(snap)
    by_stage = stage_history_usable(snap)
    sizes, sizes_from = deal_sizes(snap)
    amounts = np.array(sizes, dtype=np.float64)
    average = money_average(money_total(amounts), amounts.size)
    record = win_closes(snap)
    share = _zero_share(*record)
    chances = _chances(
        snap, stays if by_stage else None, creation, days_left, average or 0.0, calendar.zone,
        share, record,
    )  # fmt: skip
    won, won_unknown = _won_by_day(conn, settings, calendar, scope, period, as_of, cutoff)
    new_per_day, new_deals, run_created = _new_deals(
        conn,
        settings,
        calendar,
        scope,
        snap,
        as_of,
        period,
        history_start,
        use_plan,
        totals,
        lag_cells,
        step_days_of or step_days,
    )
    wins_per_day = _wins_per_day(new_per_day, _as_learnt(creation.curve(), share))
    new_deals = _with_expectations(new_deals, new_per_day, wins_per_day, average, sizes_from)
    metric = revenue_metric(settings)
    by_rep = _target_by_rep(conn, calendar, scope, period, metric)
    return Inputs(
        settings=settings,
        scope=scope,
        period=period,
        as_of=as_of,
        snap=snap,
        history_start=history_start,
        days_left=days_left,
        business_days_left=calendar.business_days(first_left, max(period.end, first_left)),
        won_so_far=won[-1].amount if won else 0.0,
        won_by_day=won,
        won_without_amount=won_unknown,
        by_stage=by_stage,
        chances=chances,
        stage_stays=stays,
        creation=creation,
        new_per_day=new_per_day,
        new_wins_per_day=wins_per_day,
        won_amounts=amounts,
        uncertainty=learnt_uncertainty(
            snap, _rate_evidence(snap, new_deals, run_created), sizes=sizes
        ),
        new_deals=new_deals,
        revenue_metric=metric.name if metric else None,
        target=cents(sum(by_rep.values())) if by_rep else None,
        target_by_rep=by_rep,
        untargeted_reps=_rep_names(conn, {d.rep_id for d in snap.deals} - set(by_rep))
        if by_rep
        else [],
        closed_without_date=closed_without_date_created(conn, scope, start, cutoff),
    )


def deal_sizes(snap: Snapshot) -> tuple[list[float], SizesFrom | None]:
    """The sizes a deal won in a run is worth (a new deal, or an open one without an amount),
    and where they come from.

    The history's won amounts when some win has one. A scope whose deals were all lost (a
    measured 0, `rate_uncertainty`) has none, yet its posterior gives its new deals a chance:
    valued at nothing, their expected wins added no revenue, a 0 no measurement made. Its
    own lost and open deals' amounts stand in: a lost deal's amount is what it would have
    been worth won, and they are this scope's deals, where another team's wins would price
    its deals at someone else's. Left out: the organisation's won amounts (another scope's
    sizes), and nothing at all (the silent 0). (None: no deal records an amount.)"""
    won = snap.won_amounts
    if won:
        return won, "won"
    others = snap.lost_and_open_amounts
    return others, "lost_and_open" if others else None


def wins_unrecorded_reason(as_of: dt.date) -> str:
    """Why no chance of a win can be measured when the data records no won deal up to the
    end of `as_of`: one wording for the forecast's refusal and the backtest's skipped
    cut-off (`unrecorded_wins`, `backtest`)."""
    return (
        f'no won deal is recorded up to {as_of.isoformat()} (deals won read "not recorded",'
        " as on the scorecard), so no chance of a win can be measured"
    )


def unrecorded_wins(
    conn: Connection, settings: Settings, snap: Snapshot, as_of: dt.date
) -> str | None:
    """Why the forecast cannot be made when the organisation's data records no won deal at
    all up to the end of `as_of` (`step_rules.wins_recorded`, the scorecard's rule for deals
    won), or None. A history of lost deals and no win ever (an export that left the won deals
    out, a CRM that records only losses) would teach a 0% chance for every open deal and
    new deal, P10 = P50 = P90 = won so far, while the scorecard and the flow say the wins are
    not recorded: that 0% is no measurement, so it is refused with the reason. With no deal
    at all in the history nothing needs a chance, and the forecast of nothing stays."""
    if not snap.deals:
        return None
    seen = float(len(snap.won))
    if wins_recorded(conn, settings, as_of + dt.timedelta(days=1), seen):
        return None
    lost = sum(1 for d in snap.deals if d.status == "lost")
    learnt = f" from the history's {lost} lost deal{'s' if lost != 1 else ''}" if lost else ""
    return (
        f"{wins_unrecorded_reason(as_of)}{learnt}; import the won deals, or forecast once a"
        " deal is won"
    )


def count_edges(settings: Settings, as_of: dt.date) -> list[dt.date]:
    """The days between which `prepare` for `as_of` reads activity counts: the history's
    start, the run rate's start and the first day left (see `SpanTotals`). `prepare` and
    `_new_deals` take their windows from here, so the edges a backtest declares are always
    the ones its forecasts read."""
    rules = settings.insight.forecast
    first_left = as_of + dt.timedelta(days=1)
    return [
        shift_months(first_left, -rules.history_months),
        first_left - dt.timedelta(days=rules.run_rate_days),
        first_left,
    ]


def lag_span(
    settings: Settings, scope: ForecastScope, days: Sequence[dt.date]
) -> aggregates.SpanCells:
    """The driver's day cells for the lags of forecasts at the end of each of `days`, read
    once (`aggregates.SpanCells`): the accounts of the deals created in any of their
    histories, over the span of them all."""
    edges = [count_edges(settings, d) for d in days]  # history start, run start, first left
    start = _midnight(settings, min(history for history, _, _ in edges))
    end = _midnight(settings, max(first_left for _, _, first_left in edges))
    accounts = select(Deal.account_id).where(
        Deal.created_at >= start,
        Deal.created_at < end,
        Deal.account_id.is_not(None),
        scope.owned(),
    )
    return aggregates.SpanCells(accounts.distinct(), start, end)


def snapshot_span(
    settings: Settings, scope: ForecastScope, days: Sequence[dt.date]
) -> SpanSnapshots:
    """The snapshots of forecasts at the end of each of `days`, their deals read once."""
    windows = []
    for day in days:
        history_start, _, first_left = count_edges(settings, day)
        windows.append((_midnight(settings, first_left), _midnight(settings, history_start)))
    return SpanSnapshots(scope, windows)


def _zero_share(wins: int, closes: int) -> float | None:
    """The posterior mean share of closes won when none of the history's closes was won (a
    measured 0, `rate_uncertainty`), None otherwise: the chance the curves then carry."""
    return measured_zero_share(closes) if wins == 0 else None


def _as_learnt(curve: WinCurve, share: float | None) -> WinCurve:
    """`curve` as the forecast reads it: its own chances of a win, or, for a measured 0 (no
    win to learn them from), its closes won at the posterior mean `share`."""
    return curve if share is None else curve.closes_won_at(share)


def _rate_evidence(snap: Snapshot, new_deals: NewDeals, run_created: int) -> int:
    """The deals the new-deal rate rests on: those of the trailing window for a run rate of
    opportunities (`run_created`, the very count the rate divides), every one of the
    history for a conversion of activity."""
    if new_deals.source != "opportunity_run_rate":
        return int(new_deals.chain[-1].count) if new_deals.chain else len(snap.created)
    return run_created


def _midnight(settings: Settings, day: dt.date) -> dt.datetime:
    """The start of a business-local day (the end of the day before), naive UTC."""
    return local_midnight_utc(settings.calendar.zone, day)


def _days(start: dt.datetime, end: dt.datetime) -> float:
    """Elapsed days (seconds over 86,400): the curves' clock, on which history's stays were
    measured (`pipeline_history`), so an open deal is read on it too."""
    return max((end - start).total_seconds() / SECONDS_PER_DAY, 0.0)


def _chances(
    snap: Snapshot,
    stays: dict[str, Spells] | None,
    creation: Spells,
    days_left: int,
    average_won: float,
    zone: dt.tzinfo,
    zero_share: float | None = None,
    record: tuple[int, int] | None = None,
) -> list[OpenChance]:
    """Each open deal's curves and its chance of a win within `days_left` days; by stage and
    days in it (`stays` per stage), or by age alone (`stays` None, or the stage unknown). A
    deal without an amount is valued at `average_won` (the simulation draws won sizes).
    `zero_share`: a measured 0's posterior mean share of closes won, which every curve's
    closes are won at (`_as_learnt`): the chance of a win is that of a close in time times it.
    `record`: the history's (wins, closes) (`win_closes`, worked out when not given), the
    prior of a deal's own measured 0 (`_stale_losses`).

    Two clocks, on purpose. The curves are read in elapsed days (`elapsed`), as history's
    stays were measured: a chance of a win depends on the time a deal has spent, and reading
    it on another clock than the one it was learnt on would shift it by the hour a
    daylight-saving change adds or takes. The days a person is shown (`in_stage`, `age`) are
    the business-local calendar's (`local_days_between`), as stalled deals count them: a deal
    that entered its stage at local midnight 77 calendar days ago shows 77 days on both
    pages, not 76.958 here across a change to summer time. The two differ by at most an hour.
    """
    pool = pooled(list(stays.values())) if stays is not None else None
    scope_wins, scope_closes = record if record is not None else win_closes(snap)
    ages = [_days(deal.created_at, snap.cutoff) for deal in snap.open_deals]
    by_age = [stays is None or pool is None or d.stage is None for d in snap.open_deals]
    # Each curve is read up to the period's end (a day beyond: the simulation's day of a
    # win, floor(time - elapsed) < days left, is decided on the same times).
    read = np.array([a for a, aged in zip(ages, by_age, strict=True) if aged], dtype=np.float64)
    aged_curves = iter(creation.curves(read, read + days_left + 1.0))
    found = []
    for deal, age, aged in zip(snap.open_deals, ages, by_age, strict=True):
        stage = deal.stage
        primary: WinCurve | None
        fallback: WinCurve | None
        if aged or stays is None or pool is None or stage is None:
            elapsed, primary, weight, fallback = age, next(aged_curves), 1.0, None
        else:
            elapsed = _days(deal.stage_since, snap.cutoff)
            until = elapsed + days_left + 1.0
            own = stays.get(stage)
            primary = own.curve(elapsed, until) if own is not None else None
            size = primary.size if primary is not None else 0
            weight = size / (size + PRIOR_STAYS)
            fallback = _as_learnt(pool.curve(elapsed, until), zero_share)
        if primary is not None:
            primary = _as_learnt(primary, zero_share)
        horizon = elapsed + days_left
        probability = _won_by(primary, weight, fallback, horizon)
        none_won_of, losses, prior = 0, 0.0, False
        compared = creation if fallback is None or pool is None else pool
        if probability == 0 and days_left > 0 and _no_evidence(compared, elapsed, horizon):
            prior, losses = True, _prior_losses(zero_share, scope_wins, scope_closes)
            share = zero_share if zero_share is not None else zero_posterior_share(losses)
            primary, weight, fallback = _from_prior(compared, elapsed, days_left, share), 1.0, None
            probability = _won_by(primary, weight, fallback, horizon)
        elif probability == 0 and zero_share is None:
            none_won_of = _measured_zero(compared, elapsed, horizon)
        if none_won_of:
            losses = _stale_losses(none_won_of, scope_wins, scope_closes)
            share = zero_posterior_share(losses)
            primary = _as_learnt_optional(primary, share)
            fallback = _as_learnt_optional(fallback, share)
            probability = _won_by(primary, weight, fallback, horizon)
        value = deal.amount if deal.amount is not None else average_won
        shown_age = local_days_between(zone, deal.created_at, snap.cutoff)
        in_stage = local_days_between(zone, deal.stage_since, snap.cutoff)
        found.append(
            OpenChance(
                deal, stage, elapsed, in_stage, shown_age, primary, weight, fallback,
                probability, value, none_won_of, losses, prior,
            )
        )  # fmt: skip
    return found


def _no_evidence(compared: Spells, elapsed: float, horizon: float) -> bool:
    """Whether an open deal's comparison set (the stays `compared` holds still open `elapsed`
    days in) saw no close by `horizon`: none of its deals was won or lost in such a stretch
    (the set is empty: the deal is staler than any of the history; or its stays were all
    still open then). Nothing then measures its chance: a 0 read off it is no evidence of a
    loss, as 2 losses are (`_measured_zero`), so it is read from the prior (`_from_prior`)."""
    return compared.outcomes_within(elapsed, horizon)[1] == 0


def _prior_losses(zero_share: float | None, scope_wins: int, scope_closes: int) -> float:
    """The Beta(1/2, b)'s b a deal read from the prior draws its share from: the rule of a
    measured 0 of one curve with no close in the set (k = 0, `_stale_losses`), so the whole
    scope's Jeffreys posterior, b = (L + 1/2) / (2W + 1), mean (W + 1/2) / (W + L + 1). In a
    scope with no win (`zero_share`) that is the scope's own Beta(1/2, n + 1/2), whose draw
    each run already makes (`RunFactors.win`): 0.0, the deal shares it."""
    return 0.0 if zero_share is not None else _stale_losses(0, scope_wins, scope_closes)


def _from_prior(compared: Spells, elapsed: float, days_left: int, share: float) -> WinCurve:
    """The curve of an open deal read from the prior: its comparison set saw no close, so
    neither who is won nor when deals that stale close is measured. The share is the scope's
    posterior mean (`share`); the closing is the scope's own from the start of a stay (the
    same spells read from 0 days in, every stage's pooled or the deals' lives), the only
    closing the history measured for it, shifted to the deal's clock (`elapsed` days in):
    its chance of a win by the period's end is `share` times the chance a stay of the scope
    closes within the days left. Read so, a deal staler than any of the history is read
    as a fresh one: no evidence says otherwise, and the faces mark it (`from_prior`)."""
    fresh = compared.curve(0.0, days_left + 1.0)
    moved = WinCurve(
        fresh.times + elapsed, fresh.incidence, fresh.survival, fresh.size, fresh.until + elapsed
    )
    return moved.closes_won_at(share)


def _won_by(
    primary: WinCurve | None, weight: float, fallback: WinCurve | None, horizon: float
) -> float:
    """An open deal's chance of a win by `horizon` days in: its `primary` curve's with
    probability `weight`, else its `fallback`'s."""
    probability = 0.0
    if primary is not None and weight > 0:
        probability += weight * float(primary.won_by(horizon))
    if fallback is not None and weight < 1:
        probability += (1 - weight) * float(fallback.won_by(horizon))
    return probability


def _measured_zero(compared: Spells, elapsed: float, horizon: float) -> int:
    """The closes by `horizon` of the stays `compared` holds still open `elapsed` days in
    (an open deal's comparison set: every stage's stays pooled when it is read by stage,
    which hold its own stage's, else the deals' lives by age) when none of them was won;
    0 when one was, or none closed (then nothing is measured: the deal is read from the
    prior, `_no_evidence`, before this is asked).

    A chance of 0 read off such a set is a measured 0 of its own, in a scope with wins:
    the 2 deals that ever stayed 200 days in negotiation were both lost, so one 210 days
    in reads 0% however few they were, and 0 times any run's factor stays 0. Read as the
    scope's measured 0 is (`rate_uncertainty`): the posterior of 0 wins of those closes,
    the rest of the scope's closes its prior (`_stale_losses`); its curves' closes are won
    at the mean, and each run draws its own share. The larger the set, the nearer 0 it
    stays, and it never reads above the rest of the scope's share."""
    wins, closes = compared.outcomes_within(elapsed, horizon)
    return closes if wins == 0 else 0


def _stale_losses(closes: int, scope_wins: int, scope_closes: int) -> float:
    """The posterior Beta(1/2, b)'s b of a deal whose comparison set's `closes` were all lost,
    in a scope whose history won `scope_wins` of `scope_closes`: the set's losses are the
    scope's, so the rest of the scope lost the others (never fewer than none: a set of
    stays may count a close the scope's share leaves out, such as one entered after it
    closed). One rule with the scope's measured 0 (`rate_uncertainty`)."""
    elsewhere = max(scope_closes - scope_wins - closes, 0)
    return stale_posterior_losses(closes, scope_wins, elsewhere)


def _as_learnt_optional(curve: WinCurve | None, share: float | None) -> WinCurve | None:
    """`_as_learnt` of a curve a deal may lack (no stays of its stage, no pooled reading)."""
    return None if curve is None else _as_learnt(curve, share)


def _wins_per_day(new_per_day: FloatArray, curve: WinCurve) -> FloatArray:
    """Expected new deals won on each day left: deals created on day j (at midday) won on
    day k with history's chance of a win between k - j - 0.5 and k - j + 0.5 days in."""
    days = len(new_per_day)
    if days == 0:
        return np.zeros(0)
    edges = curve.won_by(np.arange(days, dtype=np.float64) + 0.5)
    per_day = np.diff(np.concatenate([[0.0], edges]))
    return np.asarray(np.convolve(new_per_day, per_day)[:days], dtype=np.float64)


def _won_by_day(
    conn: Connection,
    settings: Settings,
    calendar: BusinessCalendar,
    scope: ForecastScope,
    period: Period,
    as_of: dt.date,
    cutoff: dt.datetime,
) -> tuple[list[DayAmount], int]:
    """Revenue won in the period, cumulated by local day, up to the as-of day; and how many
    deals won in it have no amount (left out of the sums: unknown, not 0)."""
    start = _midnight(settings, period.start)
    if cutoff <= start:
        return [], 0
    by_day: dict[dt.date, float] = defaultdict(float)
    unknown = 0
    for closed, amount in won_deals(conn, scope, start, cutoff):
        if amount is None:
            unknown += 1
            continue
        by_day[calendar.local_date(closed)] += amount
    total, found = 0.0, []
    day = period.start
    while day <= as_of and day < period.end:
        total += by_day.get(day, 0.0)
        found.append(DayAmount(day, cents(total)))
        day += dt.timedelta(days=1)
    return found, unknown


def _target_by_rep(
    conn: Connection,
    calendar: BusinessCalendar,
    scope: ForecastScope,
    period: Period,
    metric: MetricSettings | None,
) -> dict[int, float]:
    """The scope's reps with a revenue target for the period, and theirs."""
    if metric is None:
        return {}
    targets = period_targets(conn, calendar, period, [metric.name], scope.rep_ids)
    return {rep: value for (rep, _), value in targets.items()}


def _rep_names(conn: Connection, rep_ids: set[int]) -> list[str]:
    if not rep_ids:
        return []
    query = select(Rep.name).where(Rep.id.in_(sorted(rep_ids))).order_by(Rep.name)
    return [name for (name,) in conn.execute(query)]


# --- deals not created yet ------------------------------------------------------------------


@dataclass(frozen=True)
class _Volume:
    """Driver activity per business day: the reps' rates, each counted on the days the rep
    is there (from their start date through their last day)."""

    always: float  # the rates of the reps with neither date
    dated: list[tuple[dt.date | None, dt.date | None, float]]  # (first day, last day, rate)
    planned_reps: int

    def on(self, day: dt.date) -> float:
        return self.always + sum(
            [
                rate
                for start, end, rate in self.dated
                if (start is None or start <= day) and (end is None or day <= end)
            ]
        )


def _new_deals(
    conn: Connection,
    settings: Settings,
    calendar: BusinessCalendar,
    scope: ForecastScope,
    snap: Snapshot,
    as_of: dt.date,
    period: Period,
    history_start: dt.date,
    use_plan: bool,
    totals_of: TotalsReader,
    lag_cells: aggregates.SpanCells | None = None,
    step_days_of: StepDaysReader | None = None,
) -> tuple[FloatArray, NewDeals, int]:
    """Expected new deals on each day left, how they were worked out, and the deals created
    in the run rate's window (what the opportunity run rate divides).

    Deals created are counted as the CRM dates their creation, less those entered after
    they closed (`deals_created`, `Snapshot.created`): a migration re-creating last year's
    deals inside the window created none of them then."""
    _, run_start, first_left = count_edges(settings, as_of)
    days = [
        first_left + dt.timedelta(days=k) for k in range(max((period.end - first_left).days, 0))
    ]
    open_days = np.array([calendar.is_business_day(d) for d in days], dtype=np.float64)
    run_days = calendar.business_days(run_start, first_left)
    created = deals_created(conn, scope, _midnight(settings, run_start), snap.cutoff)
    opportunity_rate = created / run_days if run_days else 0.0
    opportunities = len(snap.created)
    steps = _activity_steps(settings)
    totals = totals_of(
        conn, settings, [m.name for m in steps], history_start, first_left, scope.rep_ids
    )
    counts = {m.name: _summed(totals, m.name, scope) for m in steps}
    names = [m.name for m in steps]
    feeding = [m for m in steps if opportunities > 0 and counts[m.name] >= opportunities]
    read = opportunities > 0 and any(counts.values())
    recorded = recorded_steps(conn, settings, names, counts, first_left) if read else None
    unmeasurable = _unmeasurable(settings, names, counts, recorded)
    days_of = step_days_of or step_days
    by_step = days_of(conn, scope, names, history_start, first_left) if snap.created else {}
    windows = _windows(settings, snap, names, history_start, counts, by_step)
    driver = _driver(steps, windows, unmeasurable)
    window = windows[driver.name] if driver else None
    if window is not None and window.start is not None:
        counts = {name: windows[name].since(window.start) for name in names}
    base = NewDeals(
        source="opportunity_run_rate",
        driver=None,
        driver_label=None,
        chain=_chain(
            settings, steps, counts, driver, window.opportunities if window else 0, recorded
        ),
        conversion=None,
        lag_days=0,
        driver_per_day=None,
        planned_reps=0,
        opportunity_run_rate=opportunity_rate,
        expected_deals=0.0,
        expected_wins=0.0,
        average_won_amount=None,
        expected_revenue=0.0,
        measured_from=window.start if window else None,
        passed_over=[
            ChainStep(m.name, m.label or m.name, counts[m.name], None, "under_recorded")
            for m in feeding
            if m.name in unmeasurable
        ],
    )
    if driver is None or window is None:
        return opportunity_rate * open_days, base, created
    conversion = window.opportunities / window.count
    volume = _driver_volume(
        conn, settings, calendar, scope, driver, run_start, first_left, period, use_plan, totals_of
    )
    lag = _lag_days(conn, settings, scope, driver, snap, lag_cells)
    known = _daily_driver(conn, scope, driver, first_left - dt.timedelta(days=lag), first_left)
    per_day = np.zeros(len(days))
    for k, day in enumerate(days):
        origin = day - dt.timedelta(days=lag)
        if origin < first_left:
            per_day[k] = conversion * known.get(origin, 0.0)
        elif calendar.is_business_day(origin):
            per_day[k] = conversion * volume.on(origin)
    source: NewDealSource = "activity_plan" if volume.planned_reps else "activity_run_rate"
    found = NewDeals(
        source=source,
        driver=driver.name,
        driver_label=driver.label or driver.name,
        chain=base.chain,
        conversion=conversion,
        lag_days=lag,
        driver_per_day=volume.on(first_left),
        planned_reps=volume.planned_reps,
        opportunity_run_rate=opportunity_rate,
        expected_deals=0.0,
        expected_wins=0.0,
        average_won_amount=None,
        expected_revenue=0.0,
        measured_from=base.measured_from,
        passed_over=base.passed_over,
    )
    return per_day, found, created


def _with_expectations(
    base: NewDeals,
    per_day: FloatArray,
    wins: FloatArray,
    average: float | None,
    sizes_from: SizesFrom | None = None,
) -> NewDeals:
    expected_wins = float(wins.sum())
    return replace(
        base,
        expected_deals=float(per_day.sum()),
        expected_wins=expected_wins,
        average_won_amount=optional_cents(average),
        expected_revenue=cents(expected_wins * (average or 0.0)),
        sizes_from=sizes_from if average is not None else None,
    )


def _activity_steps(settings: Settings) -> list[MetricSettings]:
    """The funnel's activity counts, in funnel order: the candidates to drive opportunities."""
    steps = [settings.metric(name) for name in settings.funnel.steps]
    return [m for m in steps if m.source == "activities" and m.aggregate == "count"]


def _summed(totals: MetricTotals, metric: str, scope: ForecastScope) -> float:
    reps = scope.rep_ids if scope.rep_ids is not None else list(totals.values)
    return sum(totals.get(r, metric) for r in reps)


def _unmeasurable(
    settings: Settings,
    names: Sequence[str],
    counts: dict[str, float],
    recorded: frozenset[str] | None,
) -> frozenset[str]:
    """The steps that cannot drive opportunities (`step_rules`): not recorded at all, or
    under-recorded (the step after outnumbers them, not at a hand-over: meetings set logged
    for some meetings only). Dividing opportunities by an under-recorded step overstates
    its conversion, and the chain it heads cannot be read."""
    if recorded is None:
        return frozenset()
    notes = conversion_notes(
        names, counts, recorded, hand_overs(settings, names), counted_steps(settings, names)
    )
    bad = ("not_recorded", "under_recorded")
    return frozenset(name for name, note in zip(names, notes, strict=True) if note in bad)


@dataclass(frozen=True)
class _Window:
    """A step's records over the history, and the opportunities created over the same span:
    from `start` (the first day it is recorded, when after the history's start) on."""

    start: dt.date | None  # None: the whole history
    count: float  # the step's count from `start`
    opportunities: int  # opportunities created from `start`
    by_day: dict[dt.date, float]

    def since(self, day: dt.date) -> float:
        return sum(v for d, v in self.by_day.items() if d >= day)


StepDays = dict[str, dict[dt.date, float]]  # step -> local day -> the scope's count that day
StepDaysReader = Callable[[Connection, "ForecastScope", Sequence[str], dt.date, dt.date], StepDays]


def step_days(
    conn: Connection, scope: ForecastScope, names: Sequence[str], start: dt.date, end: dt.date
) -> StepDays:
    """The scope's count of each step per local day over [start, end), days with none left
    out: what `_windows` finds a step's first recorded day in."""
    by_step: StepDays = defaultdict(dict)
    if not names:
        return by_step
    query = (
        select(MetricDay.metric, MetricDay.local_date, func.sum(MetricDay.value))
        .where(
            MetricDay.metric.in_(names),
            MetricDay.local_date >= start,
            MetricDay.local_date < end,
            scope.owned(MetricDay.rep_id),
        )
        .group_by(MetricDay.metric, MetricDay.local_date)
    )
    for metric, day, value in conn.execute(query):
        if value:
            by_step[metric][day] = float(value)
    return by_step


class SpanStepDays:
    """`step_days` for many windows inside [start, end) (a backtest's cut-offs, whose year
    of history each overlaps the others'): read once over the span, then each window takes
    its own days. Why: read per cut-off, the day sums cost a 6-month backtest at 10M some
    1.4 s of its 4.5."""

    def __init__(self, start: dt.date, end: dt.date) -> None:
        self._start, self._end = start, end
        self._read: StepDays | None = None
        self._names: frozenset[str] = frozenset()

    def __call__(
        self,
        conn: Connection,
        scope: ForecastScope,
        names: Sequence[str],
        start: dt.date,
        end: dt.date,
    ) -> StepDays:
        if start < self._start or end > self._end:
            raise ValueError(f"window {start} - {end} outside the span read")
        if self._read is None or not self._names.issuperset(names):
            self._names = self._names | frozenset(names)
            self._read = step_days(conn, scope, sorted(self._names), self._start, self._end)
        read = self._read
        return {
            name: {d: v for d, v in read.get(name, {}).items() if start <= d < end}
            for name in names
        }


def step_days_span(settings: Settings, days: Sequence[dt.date]) -> SpanStepDays:
    """The steps' day sums for forecasts at the end of each of `days`, read once."""
    edges = [count_edges(settings, d) for d in days]  # history start, run start, first left
    return SpanStepDays(min(e[0] for e in edges), max(e[2] for e in edges))


def _windows(
    settings: Settings,
    snap: Snapshot,
    names: Sequence[str],
    history_start: dt.date,
    counts: dict[str, float],
    by_step: StepDays,
) -> dict[str, _Window]:
    """Per step, the span its conversion into opportunities is measured over, from its day
    sums over the history (`step_days`).

    A source that began recording a step mid-history (calls imported from February, events
    from October) has no records for the months before: dividing a year's opportunities by
    half a year's meetings doubles the conversion. So a step's span starts on its first day
    recorded (`step_rules.recording_start`), and the opportunities counted are those created
    from that day on. With records from the history's first month on, nothing changes."""
    windows = {}
    for name in names:
        days = by_step.get(name, {})
        start = recording_start(days, history_start)
        if start is None:
            windows[name] = _Window(None, counts[name], len(snap.created), days)
            continue
        since = _midnight(settings, start)
        made = sum(1 for d in snap.created if d.created_at >= since)
        windows[name] = _Window(start, sum(v for d, v in days.items() if d >= start), made, days)
    return windows


def _driver(
    steps: Sequence[MetricSettings], windows: dict[str, _Window], unmeasurable: frozenset[str]
) -> MetricSettings | None:
    """The narrowest measurable activity step that still outnumbers the opportunities created
    (over its recorded span): the step that feeds them (meetings held in the default funnel).
    The later step wins a tie. A step `step_rules` calls not recorded or under-recorded is
    passed over; with none left, there is no driver (the opportunity run rate is used)."""
    feeding = [
        (windows[m.name].count / windows[m.name].opportunities, -i, m)
        for i, m in enumerate(steps)
        if m.name not in unmeasurable
        and windows[m.name].opportunities > 0
        and windows[m.name].count >= windows[m.name].opportunities
    ]
    return min(feeding, key=lambda f: (f[0], f[1]))[2] if feeding else None


def _chain(
    settings: Settings,
    steps: Sequence[MetricSettings],
    counts: dict[str, float],
    driver: MetricSettings | None,
    opportunities: int,
    recorded: frozenset[str] | None = None,
) -> list[ChainStep]:
    """The funnel over the history, from its top to the driver, then opportunities. A step's
    conversion that is not a rate (`step_rules`: a step the organisation does not record, or
    one outnumbering the step before) is None, with the note saying why."""
    if driver is None:
        return []
    names = [m.name for m in steps]
    notes = conversion_notes(
        names,
        counts,
        frozenset(names) if recorded is None else recorded,
        hand_overs(settings, names),
        counted_steps(settings, names),
    )
    chain: list[ChainStep] = []
    previous: float | None = None
    for metric, note in zip(steps[: names.index(driver.name) + 1], notes, strict=False):
        count = counts[metric.name]
        conversion = count / previous if previous and note is None else None
        chain.append(ChainStep(metric.name, metric.label or metric.name, count, conversion, note))
        previous = count
    conversion = opportunities / previous if previous else None
    label = "Opportunities created"
    chain.append(ChainStep(OPPORTUNITIES, label, float(opportunities), conversion))
    return chain


def _driver_volume(
    conn: Connection,
    settings: Settings,
    calendar: BusinessCalendar,
    scope: ForecastScope,
    driver: MetricSettings,
    run_start: dt.date,
    first_left: dt.date,
    period: Period,
    use_plan: bool,
    totals_of: TotalsReader,
) -> _Volume:
    """Driver activity expected per business day: each rep's target share where they have
    one for the period, else their trailing run rate, on the days the rep is there.

    A rep who started during the run window is read at their rate over the days since (not
    their count spread over the whole window), and nothing is expected of a rep before their
    start date or after their last day: a leaver's run rate, or target, carried to the
    period's end would forecast deals nobody is there to create."""
    totals = totals_of(conn, settings, [driver.name], run_start, first_left, scope.rep_ids)
    planned: dict[int, float] = {}
    period_days = calendar.business_days(period.start, period.end)
    if use_plan and period_days:
        targets = period_targets(conn, calendar, period, [driver.name], scope.rep_ids)
        planned = {rep: value / period_days for (rep, _), value in targets.items()}
    reps = set(totals.values) | set(planned)
    dates = _rep_dates(conn, reps)
    always, dated = 0.0, []
    for rep in sorted(reps):
        start, end = dates.get(rep, (None, None))
        rate = planned.get(rep)
        if rate is None:
            there = calendar.business_days(
                max(run_start, start or run_start),
                max(run_start, min(first_left, end + dt.timedelta(days=1) if end else first_left)),
            )
            rate = totals.get(rep, driver.name) / there if there else 0.0
        if start is None and end is None:
            always += rate
        else:
            dated.append((start, end, rate))
    return _Volume(always, dated, len(planned))


IN_LIST_LIMIT = 200  # beyond this many reps, every rep with a date is read and the rest ignored


def _rep_dates(
    conn: Connection, rep_ids: set[int]
) -> dict[int, tuple[dt.date | None, dt.date | None]]:
    """The start date and last day of each of `rep_ids` that has either (every such rep read
    when they are many: a long IN list costs more than the few rows with a date)."""
    if not rep_ids:
        return {}
    query = select(Rep.id, Rep.start_date, Rep.end_date).where(
        (Rep.start_date.is_not(None)) | (Rep.end_date.is_not(None))
    )
    if len(rep_ids) <= IN_LIST_LIMIT:
        query = query.where(Rep.id.in_(sorted(rep_ids)))
    return {int(i): (a, b) for i, a, b in conn.execute(query) if int(i) in rep_ids}


def _lag_days(
    conn: Connection,
    settings: Settings,
    scope: ForecastScope,
    driver: MetricSettings,
    snap: Snapshot,
    cells: aggregates.SpanCells | None = None,
) -> int:
    """Median whole days from the last driver activity on an account (by anyone) to an
    opportunity created there, over the history's opportunities; 0 when none can be paired.
    A deal entered after it closed is dated by its entry, not its creation: no opportunity
    to pair (`Snapshot.created`).

    The accounts' driver activities of the history come back sorted and are paired with the
    opportunities here: a correlated "latest activity before" per deal was ten times slower.
    A driver the aggregates hold (a funnel step) is read from its day cells
    (`aggregates.event_times`), with the same answer: the raw read took half of /forecast's
    server time on the demo.
    """
    deals = select(Deal.account_id).where(
        Deal.created_at >= snap.history_start,
        Deal.created_at < snap.cutoff,
        Deal.account_id.is_not(None),
        scope.owned(),
    )
    created: dict[int, list[dt.datetime]] = defaultdict(list)
    for account, moment, closed in conn.execute(deals.add_columns(Deal.created_at, Deal.closed_at)):
        if account is not None and not entered_after_close(moment, closed):
            created[account].append(moment)  # (a late entry is dated by its entry)
    if driver.name in (aggregates.aggregated_steps(settings) if aggregates.reading() else {}):
        if cells is not None:
            seen = cells(conn, settings, driver, snap.history_start, snap.cutoff, created)
        else:
            seen = aggregates.event_times(
                conn, settings, driver, deals.distinct(), snap.history_start, snap.cutoff, created
            )
    else:
        seen = _driver_events(conn, settings, driver, deals.distinct(), snap)
    gaps = []
    for account, moments in created.items():
        before = seen.get(account, [])
        for moment in moments:
            at = bisect_right(before, moment)
            if at:
                gaps.append(_days(before[at - 1], moment))
    return round(float(np.median(gaps))) if gaps else 0


def _driver_events(
    conn: Connection, settings: Settings, driver: MetricSettings, accounts: Any, snap: Snapshot
) -> dict[int, list[dt.datetime]]:
    """Per account of `accounts`: every driver event of the history, in time order."""
    events = (
        select(Activity.account_id, Activity.occurred_at)
        .where(
            Activity.account_id.in_(accounts),
            Activity.occurred_at >= snap.history_start,
            Activity.occurred_at < snap.cutoff,
            activity_filter(settings, driver),
        )
        .order_by(Activity.account_id, Activity.occurred_at)
    )
    if needs_contact(driver):
        events = events.outerjoin(Contact, Contact.id == Activity.contact_id)
    seen: dict[int, list[dt.datetime]] = defaultdict(list)
    for account, moment in conn.execute(events):
        if account is not None:
            seen[account].append(moment)
    return seen


def _daily_driver(
    conn: Connection, scope: ForecastScope, driver: MetricSettings, start: dt.date, end: dt.date
) -> dict[dt.date, float]:
    """The scope's driver activity per local day in [start, end) (already done: known)."""
    if end <= start:
        return {}
    query = (
        select(MetricDay.local_date, func.sum(MetricDay.value))
        .where(
            MetricDay.metric == driver.name,
            MetricDay.local_date >= start,
            MetricDay.local_date < end,
            scope.owned(MetricDay.rep_id),
        )
        .group_by(MetricDay.local_date)
    )
    return {day: float(value or 0) for day, value in conn.execute(query)}


# --- simulation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    totals: FloatArray  # revenue won in the period, per run
    fan: FloatArray  # (3, days): P10/P50/P90 of revenue won by the end of each day left


def run_simulation(inputs: Inputs, runs: int, seed: int) -> Outcome:
    """The Monte Carlo runs, `CHUNK` at a time (memory stays small for any `runs`)."""
    rng = np.random.default_rng(seed)
    days = inputs.days_left
    totals: list[FloatArray] = []
    fan = np.zeros((len(QUANTILES), days))
    draws = _open_draws(inputs)
    for start in range(0, runs, CHUNK):
        size = min(CHUNK, runs - start)
        by_day = _revenue_by_day(rng, inputs, draws, size)
        totals.append(inputs.won_so_far + by_day.sum(axis=1))
        if start == 0 and days:
            so_far = inputs.won_so_far + np.cumsum(by_day, axis=1)
            fan = np.quantile(so_far, QUANTILES, axis=0)
    return Outcome(np.concatenate(totals), np.asarray(fan, dtype=np.float64))


@dataclass(frozen=True)
class _Block:
    """Open deals `[start, stop)` whose uniforms are drawn at once; `mixed`: some of them
    choose between two curves (the others have one, stored as both)."""

    start: int
    stop: int
    mixed: bool


@dataclass(frozen=True)
class _OpenDraws:
    """The open deals a run may win (chance above 0), as arrays over deals, worked out once
    per simulation rather than once per deal and chunk of runs.

    Each deal takes two uniforms per run, deal after deal: `u` for its win time (stretched
    by the run's win-chance factor) and one choosing its curve (`primary` below `weight`,
    else `fallback`; a deal read by age has one curve, stored as both). A deal without an
    amount draws won sizes for its wins right after its uniforms, so the uniforms are drawn
    in `blocks` ending at such a deal (and of at most `BLOCK_DEALS`, for memory): the random
    stream, hence every figure, is the one drawn deal by deal.

    Only the day of a win matters, so each curve is read as its day table (`_day_table`):
    `days[which, deal, k]`, the largest `u` won by the end of day k left (-inf: none). A
    run wins in time when `u` is at most the last day's (`limits`), on the first day whose
    entry reaches `u`: a search among the days left, where each deal's curve of hundreds of
    closes was searched for its win time, then floored to its day.
    """

    days: FloatArray  # (2, deals, days left)
    weight: FloatArray
    amount: FloatArray  # nan: not recorded (a won size is drawn)
    blocks: list[_Block]
    # Per deal, its posterior's b when it is a measured 0 of its own (0: none), and those
    # values once each, in order: a run's factor row per value (`_run_scale`).
    zero_losses: FloatArray
    zero_rows: list[float]

    @property
    def limits(self) -> FloatArray:
        """(2, deals): the largest winning u on the primary, the fallback."""
        return self.days[:, :, -1]


def _open_draws(inputs: Inputs) -> _OpenDraws:
    chances = [c for c in inputs.chances if c.probability > 0]
    curves = [(c.primary, c.fallback if c.fallback is not None else c.primary) for c in chances]
    days = inputs.days_left
    first = [_day_table(p, c.elapsed, days) for c, (p, _) in zip(chances, curves, strict=True)]
    second = [
        first[i] if p is f else _day_table(f, c.elapsed, days)
        for i, (c, (p, f)) in enumerate(zip(chances, curves, strict=True))
    ]
    tables = np.array([first, second], dtype=np.float64).reshape(2, len(chances), days)
    sized = inputs.won_amounts.size > 0
    ends = [i + 1 for i, c in enumerate(chances) if c.deal.amount is None and sized]
    stops = ends if ends and ends[-1] == len(chances) else [*ends, len(chances)]
    starts = [0, *stops[:-1]]
    mixed = [p is not f for p, f in curves]
    blocks = []
    for start, stop in zip(starts, stops, strict=True):
        for at in range(start, stop, BLOCK_DEALS):
            end = min(at + BLOCK_DEALS, stop)
            blocks.append(_Block(at, end, any(mixed[at:end])))
    return _OpenDraws(
        days=tables,
        weight=np.array([c.weight for c in chances], dtype=np.float64),
        amount=np.array(
            [np.nan if c.deal.amount is None else c.deal.amount for c in chances], np.float64
        ),
        blocks=blocks,
        zero_losses=np.array([c.zero_losses for c in chances], dtype=np.float64),
        zero_rows=sorted({c.zero_losses for c in chances} - {0.0}),
    )


def _day_table(curve: WinCurve | None, elapsed: float, days: int) -> FloatArray:
    """For each of the `days` days left, the largest uniform `u` whose win on `curve` (for a
    deal `elapsed` days in) falls on it or before; -inf while none does. A win's day is
    floor(max(time - elapsed, 0)), rising with the curve's times, hence with `u` (the
    incidence rises too): the first day whose entry reaches `u` is the day of `u`'s win,
    the very day `WinCurve.win_time` and that floor give."""
    if curve is None:
        return np.full(days, -np.inf)
    day = np.floor(np.maximum(curve.times - elapsed, 0.0))
    closed_by = np.searchsorted(day, np.arange(days, dtype=np.float64), side="right")
    found = np.full(days, -np.inf)
    some = closed_by > 0
    found[some] = curve.incidence[closed_by[some] - 1]
    return found


def _revenue_by_day(
    rng: np.random.Generator, inputs: Inputs, draws: _OpenDraws, size: int
) -> FloatArray:
    """(runs, days) revenue won on each day left, open deals then new deals. Each run first
    draws its own rates (`RunFactors`): the runs spread by what the rates might be, not only
    by chance at known rates."""
    days = inputs.days_left
    if days == 0:
        return np.zeros((size, 0))
    factors = draw_factors(rng, inputs.uncertainty, size)
    zero = measured_zero_factors(rng, draws.zero_rows, size) if draws.zero_rows else None
    sizes = inputs.won_amounts
    cells: list[NDArray[np.int64]] = []
    amounts: list[FloatArray] = []
    for block in draws.blocks:
        scale = _run_scale(draws, block, factors.win, zero)
        cell, amount = _open_deal_wins(rng, draws, block, scale, factors, sizes, days)
        cells.append(cell)
        amounts.append(amount)
    # One cell per run and deal: summed deal after deal, as a += per deal added them.
    by_day: FloatArray = np.zeros((size, days))
    if cells:  # (bincount without weights would count in integers)
        by_day = _summed_by_cell(np.concatenate(cells), np.concatenate(amounts), size, days)
    expected = inputs.new_wins_per_day
    if sizes.size and expected.sum() > 0:
        rates = np.outer(factors.creation * factors.win, expected)
        wins = rng.poisson(rates)
        cells_new = np.repeat(np.arange(size * days), wins.ravel())
        amounts_new = rng.choice(sizes, size=cells_new.size) * factors.size[cells_new // days]
        by_day += _summed_by_cell(cells_new, amounts_new, size, days)
    return np.asarray(by_day, dtype=np.float64)


def _summed_by_cell(
    cells: NDArray[np.int64], amounts: FloatArray, size: int, days: int
) -> FloatArray:
    """(runs, days): the `amounts` won in each flat cell (run * days + day), summed in order."""
    summed = np.bincount(cells, weights=amounts, minlength=size * days)
    return np.asarray(summed, dtype=np.float64).reshape(size, days)


def _run_scale(
    draws: _OpenDraws, block: _Block, win: FloatArray, zero: FloatArray | None
) -> FloatArray:
    """Each run's factor on the block's chances: the run's win factor (runs,) for all, or,
    in a block with a measured 0 of its own (`_measured_zero`), (deals, runs): such a deal's
    row is the run's share for its count of closes (`measured_zero_factors`)."""
    losses = draws.zero_losses[block.start : block.stop]
    if zero is None or not losses.any():
        return win
    rows = zero[np.searchsorted(np.asarray(draws.zero_rows), losses)]
    return np.asarray(np.where((losses > 0)[:, None], rows, win[None, :]), dtype=np.float64)


def _open_deal_wins(
    rng: np.random.Generator,
    draws: _OpenDraws,
    block: _Block,
    scale: FloatArray,
    factors: RunFactors,
    sizes: FloatArray,
    days: int,
) -> tuple[NDArray[np.int64], FloatArray]:
    """The cells (run x day left) a block of open deals is won in, deal by deal and run by
    run, and what each win is worth.

    A run wins a deal in time when u = (1 - uniform) / scale is at most the deal's limit: a
    tenth of the runs or so in a 10M backtest. So the uniforms are first compared with a
    bound every winning one passes (`_candidates`), and u, computed as before for those
    only, decides: the same floats, without two passes of arithmetic over every run and
    deal."""
    count = block.stop - block.start
    raw, chooser = _block_uniforms(rng, count, factors.win.size, block.mixed)
    limits = draws.limits[:, block.start : block.stop]
    deal, run, picked = _candidates(raw, np.maximum(limits[0], limits[1]), scale)
    u = (1.0 - picked) / (scale[run] if scale.ndim == 1 else scale[deal, run])
    primary = chooser[deal, run] < draws.weight[block.start + deal] if chooser is not None else None
    limit = limits[0, deal] if primary is None else np.where(primary, *limits[:, deal])
    won = u <= limit  # deal by deal, runs in order
    deal, run, u = deal[won], run[won], u[won]
    if primary is not None:
        primary = primary[won]
    won_day = np.empty(u.size, dtype=np.int64)
    bounds = np.searchsorted(deal, np.arange(count + 1))
    for k in np.flatnonzero(np.diff(bounds)):
        at = slice(bounds[k], bounds[k + 1])
        first, second = draws.days[:, block.start + int(k)]
        if primary is None:
            won_day[at] = np.searchsorted(first, u[at], side="left")
            continue
        chose, part = primary[at], u[at]
        won_day[at] = np.where(
            chose,
            np.searchsorted(first, part, side="left"),
            np.searchsorted(second, part, side="left"),
        )
    worth = draws.amount[block.start + deal]
    unknown = np.isnan(worth)
    if unknown.any():  # only the block's last deal, whose sizes are drawn right after it
        if sizes.size:
            worth[unknown] = rng.choice(sizes, size=int(unknown.sum())) * factors.size[run[unknown]]
        else:  # nothing to value it with: left out
            keep = ~unknown
            run, won_day, worth = run[keep], won_day[keep], worth[keep]
    return run * days + won_day, worth


def _block_uniforms(
    rng: np.random.Generator, count: int, size: int, mixed: bool
) -> tuple[FloatArray, FloatArray | None]:
    """The block's uniforms, deal after deal: (count, size) for the win times and, in a
    mixed block, (count, size) choosing each run's curve.

    Each deal's second `size` uniforms choose its curve; a block where every deal has one
    curve never reads them, so they are skipped (`PCG64.advance`) rather than drawn: half
    the draws of a by-age forecast. The stream after the block is the one the draws leave
    (advancing forgets a buffered 32-bit half, which is put back)."""
    bits = rng.bit_generator
    if mixed or not isinstance(bits, np.random.PCG64):
        uniforms = rng.random(2 * size * count).reshape(count, 2, size)
        return uniforms[:, 0], uniforms[:, 1]
    buffered = bits.state
    raw = np.empty((count, size))
    for row in raw:
        rng.random(out=row)
        bits.advance(size)
    if buffered["has_uint32"]:
        state = bits.state
        state["has_uint32"], state["uinteger"] = buffered["has_uint32"], buffered["uinteger"]
        bits.state = state
    return raw, None


def _candidates(
    raw: FloatArray, limit: FloatArray, scale: FloatArray
) -> tuple[NDArray[np.intp], NDArray[np.intp], FloatArray]:
    """(deal, run, uniform) of the uniforms that may win, deal by deal, runs in order:
    (1 - uniform) / scale <= limit needs uniform >= 1 - limit x scale, so the bound
    1 - limit x max(scale), loosened by far more than the rounding of either side, lets
    every winner through (and -inf: none). Found in the flattened table (two index arrays
    from a 2-D `nonzero` cost twice as much). `scale`: one factor per run, or per deal and
    run (`_run_scale`), then each deal's bound is its own row's."""
    top = float(scale.max()) if scale.ndim == 1 else scale.max(axis=1)
    bound = 1.0 - limit * (top * (1.0 + 1e-9))
    flat = np.flatnonzero(raw >= bound[:, None])
    deal, run = np.divmod(flat, raw.shape[1])
    return deal, run, raw.ravel()[flat]


def simulate(inputs: Inputs, runs: int, seed: int) -> Forecast:
    """The forecast: the runs read as quantiles, with the parts and the reasons. When the
    target covers only some of the reps, the figures read against it are left None here
    (`forecast` fills them from those reps' own simulation)."""
    outcome = run_simulation(inputs, runs, seed)
    p10, p50, p90 = (cents(q) for q in np.quantile(outcome.totals, QUANTILES))
    target = inputs.target
    covers_all = not inputs.untargeted_reps
    reach = None
    if target is not None and covers_all:
        reach = float(np.mean(outcome.totals >= target))
    crm = {s.name: s.probability for s in inputs.settings.stages}
    chances = sorted(
        (_deal_chance(crm, c) for c in inputs.chances),
        key=lambda d: (-d.expected, -d.amount, d.deal_id),
    )
    return Forecast(
        period=inputs.period,
        as_of=inputs.as_of,
        team=inputs.scope.team,
        rep=inputs.scope.rep,
        runs=runs,
        seed=seed,
        revenue_metric=inputs.revenue_metric,
        target=target,
        target_reps=len(inputs.target_by_rep),
        untargeted_reps=inputs.untargeted_reps,
        targeted_won_so_far=inputs.won_so_far if covers_all else None,
        targeted_p50=p50 if covers_all else None,
        won_so_far=inputs.won_so_far,
        expected_open=money_total(c.value * c.probability for c in inputs.chances),
        expected_new=inputs.new_deals.expected_revenue,
        mean=cents(outcome.totals.mean()),
        p10=p10,
        p50=p50,
        p90=p90,
        probability_of_target=reach,
        history_start=inputs.history_start,
        history_deals=sum(1 for d in inputs.snap.history if not d.entered_after_close),
        history_wins=inputs.snap.won_with_cycle,
        wins_without_cycle=inputs.snap.won_entered_after_close,
        closed_without_date=inputs.closed_without_date,
        open_without_amount=sum(1 for c in inputs.chances if not c.deal.amount_known),
        won_without_amount=inputs.won_without_amount,
        history_without_amount=sum(1 for d in inputs.snap.history if not d.amount_known),
        by_stage=inputs.by_stage,
        days_left=inputs.days_left,
        business_days_left=inputs.business_days_left,
        new_deals=inputs.new_deals,
        stages=_stage_rates(inputs),
        open_deals=chances,
        won_by_day=inputs.won_by_day,
        fan=_fan(inputs, outcome.fan),
        none_won_of=inputs.uncertainty.none_won_of,
    )


def _deal_chance(crm: dict[str, float], chance: OpenChance) -> DealChance:
    """`crm`: the configured probability of each stage, built once per forecast rather
    than once per open deal (some 10,600 deals in a 6-month backtest at 10M)."""
    return DealChance(
        deal_id=chance.deal.deal_id,
        name=chance.deal.name,
        rep_id=chance.deal.rep_id,
        stage=chance.stage,
        days_in_stage=chance.in_stage,
        age_days=chance.age,
        amount=cents(chance.value),
        amount_recorded=chance.deal.amount_known,
        win_probability=chance.probability,
        crm_probability=crm.get(chance.stage) if chance.stage is not None else None,
        none_won_of=chance.none_won_of,
        zero_share=_shown_share(chance),
        from_prior=chance.from_prior,
    )


def _shown_share(chance: OpenChance) -> float:
    """The posterior mean share a deal's closes are won at, when its chance is not its
    curves' own (its measured 0, or the prior); 0.0 otherwise."""
    if chance.zero_losses:
        return zero_posterior_share(chance.zero_losses)
    if chance.from_prior and chance.primary is not None:
        closed = 1.0 - chance.primary.survival
        won = chance.primary.incidence
        return float(won[-1] / closed[-1]) if closed.size and closed[-1] > 0 else 0.0
    return 0.0


def _fan(inputs: Inputs, quantiles: FloatArray) -> list[FanPoint]:
    start = inputs.won_so_far
    points = [FanPoint(inputs.as_of, start, start, start)]
    for k in range(inputs.days_left):
        day = inputs.as_of + dt.timedelta(days=k + 1)
        points.append(FanPoint(day, *(cents(quantiles[i, k]) for i in range(3))))
    return points


def _stage_rates(inputs: Inputs) -> list[StageRates]:
    """One row per open stage with history or open deals (configured order), and one for
    open deals of unknown stage; a single row when deals are read by age alone."""
    if not inputs.by_stage:
        return [_stage_row(None, BY_AGE_LABEL, inputs.creation, inputs.chances, None)]
    settings = inputs.settings
    order = {s.name: i for i, s in enumerate(settings.stages)}
    labels = {s.name: s.label or s.name for s in settings.stages}
    crm = {s.name: s.probability for s in settings.stages}
    grouped: dict[str | None, list[OpenChance]] = defaultdict(list)
    for chance in inputs.chances:
        grouped[chance.stage].append(chance)
    names = set(inputs.stage_stays) | {s for s in grouped if s is not None}
    rows = []
    for name in sorted(names, key=lambda n: (order.get(n, len(order)), n)):
        stays = inputs.stage_stays.get(name)
        rows.append(_stage_row(name, labels.get(name, name), stays, grouped[name], crm.get(name)))
    if grouped.get(None):
        rows.append(_stage_row(None, UNKNOWN_STAGE_LABEL, inputs.creation, grouped[None], None))
    return rows


def _stage_row(
    stage: str | None,
    label: str,
    stays: Spells | None,
    chances: list[OpenChance],
    crm: float | None,
) -> StageRates:
    curve = stays.curve() if stays is not None and stays.count else None
    return StageRates(
        stage=stage,
        label=label,
        history_stays=stays.count if stays is not None else 0,
        history_wins=stays.wins if stays is not None else 0,
        win_rate=curve.ever if curve is not None else None,
        median_days_to_win=curve.median_days_to_win() if curve is not None else None,
        open_deals=len(chances),
        open_value=money_total(c.value for c in chances),
        expected_value=money_total(c.value * c.probability for c in chances),
        crm_probability=crm,
    )
