"""Plan: reverse-engineer a revenue goal into activity targets per period and per rep.

The seeds' cascade: revenue ÷ average deal size = deals; deals ÷ proposal→deal rate =
proposals; and so on up the configured funnel to the first step (calls). Each figure is then
split over the plan year (year, average quarter, month, week and business day, the last two
from the business calendar) and over the reps.

Choices worth knowing:
- Rates are conversions between *consecutive* funnel steps (upper → lower). A rate outside
  (0, 1] or a step skipped is refused with a message naming the step: 2,000 meetings cannot
  yield 8,000 proposals, and a plan built on such input would set targets nobody can meet.
- Rates not given are measured from history (the trailing months, per role or team) as
  total(lower) ÷ total(upper), and the plan keeps the counts it measured them from, so a
  manager can see whether "22%" rests on 9 proposals or 9,000.
- Counts are rounded **up** for display (you cannot make 0.4 of a call, and rounding down
  would plan to miss), but the exact values are kept and carried up the cascade: rounding at
  each step and feeding the rounded number on would inflate the top of a six-step funnel for
  no reason. Only deals are whole from the start, because the revenue needs whole deals.
- Per-rep figures are for one full-weight rep; a rep's weight is capacity x the share of the
  plan year they work at full pace (start and end dates, ramp-up of new hires), so the team's
  targets are shared out in proportion and a half-time or ramping rep carries less.
- Everything here is pure or reads aggregates: `build_plan` takes measured rates and weights
  as inputs, so the API and the web plan builder compute exactly what the CLI prints.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Literal, cast

from sqlalchemy import ColumnElement, Connection, Engine, select

from paceline.analytics.metrics import metric_totals
from paceline.analytics.rollup import ensure_rollup
from paceline.analytics.step_rules import (
    StepNote,
    conversion_notes,
    counted_steps,
    hand_overs,
    recorded_steps,
    step_owners,
)
from paceline.analytics.targets import TARGET_KINDS, period_targets
from paceline.calendar import BusinessCalendar, Period, PeriodKind, shift_months
from paceline.config import Settings
from paceline.errors import UserInputError, did_you_mean
from paceline.store.models import Rep, Target, Team
from paceline.store.names import RepResolver, default_role, existing_rep_id

RateSource = Literal["given", "measured"]
Per = Literal["day", "week", "month", "quarter", "year"]
PERS: tuple[Per, ...] = ("day", "week", "month", "quarter", "year")
PLAN_ORIGIN = "plan"
REVENUE_METRIC = "revenue"
_NAME_PART = re.compile(r"[^a-z0-9]+")


# --- small helpers ---------------------------------------------------------------------------


MAX_COUNT = 1e15  # beyond any real sales plan, and within exact float integers


def _check_usable(step: str, value: float, cause: str) -> None:
    """Refuse a cascade whose counts overflow: a tiny rate or a vast goal is a typo."""
    if not math.isfinite(value) or value > MAX_COUNT:
        raise UserInputError(f"{cause}: gives {step} beyond {MAX_COUNT:,.0f}; check the numbers")


def round_up(value: float) -> int:
    """The smallest whole number at or above `value`, ignoring float noise.

    7 / 0.7 is 10.000000000000002 in floating point; a plan asking for 11 would be wrong.
    """
    return math.ceil(round(value, 6))


SCALES = {
    "k": 1e3,
    "thousand": 1e3,
    "m": 1e6,
    "mm": 1e6,
    "mn": 1e6,
    "mio": 1e6,
    "million": 1e6,
    "millions": 1e6,
    "b": 1e9,
    "bn": 1e9,
    "billion": 1e9,
}
_AMOUNT = re.compile(r"([-+]?)(\d[\d,]*(?:\.\d*)?|\.\d+)\s*([a-z]*)")


def parse_amount(field_name: str, text: str) -> float:
    """A money amount as people type it: 70000000, 70,000,000, $70M, 70MM, 70 million, 35k,
    1.2bn, €70M.

    What could be read two ways is refused rather than guessed: a comma that is not a
    thousands separator ("70,5M" is 70.5M in much of Europe and 705M in the US), a dot used
    for thousands ("70.000.000"), or a word that is no scale ("70mil").
    """
    cleaned = text.strip().lower().replace("_", "").replace(" ", "")
    cleaned = cleaned.lstrip("$€£").replace("usd", "").replace("eur", "").replace("gbp", "")
    example = "(e.g. 70000000, 70,000,000, 70M, 70MM, 35k)"
    match = _AMOUNT.fullmatch(cleaned)
    if not match:
        raise UserInputError(f"{field_name}: not an amount: {text!r} {example}")
    sign, digits, suffix = match.groups()
    whole = digits.split(".")[0]
    if "," in whole and not re.fullmatch(r"\d{1,3}(,\d{3})+", whole):
        raise UserInputError(
            f"{field_name}: {text!r}: a comma here is not a thousands separator; write a "
            f"decimal with a dot (70.5M) {example}"
        )
    if suffix not in SCALES and suffix != "":
        raise UserInputError(
            f"{field_name}: {text!r}: unknown scale {suffix!r}; use k, M (or MM), bn {example}"
        )
    value = float(digits.replace(",", "")) * SCALES.get(suffix, 1.0)
    return -value if sign == "-" else value


def plan_period(calendar: BusinessCalendar, year: int | None = None) -> Period:
    """The fiscal year planned: the one *starting* in `year`, or the current one."""
    if year is None:
        return calendar.period("year", calendar.today())
    if not 1900 <= year <= 2999:
        raise UserInputError(f"year: {year} is not a plausible plan year")
    start = dt.date(year, calendar.settings.fiscal_year_start_month, 1)
    return calendar.period("year", start)


# --- funnel steps and rates -----------------------------------------------------------------


def funnel_steps(settings: Settings) -> tuple[str, ...]:
    """The configured funnel, top to bottom, checked to be something a plan can count."""
    steps = tuple(settings.funnel.steps)
    if not steps:
        raise UserInputError("funnel: no steps configured (set [funnel] steps in paceline.toml)")
    if len(set(steps)) != len(steps):
        raise UserInputError("funnel: a step is listed twice in [funnel] steps")
    for name in steps:
        if settings.metric(name).aggregate == "ratio":
            raise UserInputError(
                f"funnel step {name}: is a ratio metric; funnel steps must be counts"
            )
    return steps


def resolve_step(steps: Sequence[str], name: str) -> str:
    """A funnel step from what a person typed: its name, a prefix, or a singular.

    Word by word: "proposal" → proposals, "deal" → deals_won, "meeting_held" and "held" →
    meetings_held; "meeting" is ambiguous when both meetings_set and meetings_held are steps,
    and says so.
    """
    typed = _NAME_PART.sub("_", name.strip().lower()).strip("_")
    if not typed:
        raise UserInputError(f"step: empty step name (funnel: {' → '.join(steps)})")
    if typed in steps:
        return typed
    words = typed.split("_")
    matches = [s for s in steps if _words_match(words, s.split("_"))]
    if not matches:  # one distinctive word: "won", "held"
        matches = [s for s in steps if len(words) == 1 and _words_match(words, s.split("_")[1:])]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise UserInputError(f"step {name!r}: ambiguous, could be {' or '.join(matches)}")
    hint = did_you_mean(typed, steps, n=2, quoted=False)
    raise UserInputError(f"step {name!r}: not a funnel step{hint} (funnel: {' → '.join(steps)})")


def _words_match(typed: list[str], words: list[str]) -> bool:
    """Each typed word starts the step's word in its place, plurals forgiven."""
    if not words or len(typed) > len(words):
        return False
    return all(
        w.startswith(t) or (t.endswith("s") and w.startswith(t[:-1]))
        for t, w in zip(typed, words, strict=False)
    )


@dataclass(frozen=True)
class GivenRate:
    """A conversion rate a person gave, names as typed (resolved by `build_plan`)."""

    upper: str
    lower: str
    rate: float


def parse_rate(text: str) -> GivenRate:
    """`upper:lower=rate`, the rate as a fraction (0.25) or a percentage (25%)."""
    pair, sep, value = text.partition("=")
    upper, colon, lower = pair.partition(":")
    if not (sep and colon and upper.strip() and lower.strip() and value.strip()):
        raise UserInputError(
            f"rate {text!r}: write it as upper:lower=rate, e.g. proposals:deals_won=0.25"
        )
    raw = value.strip()
    percent = raw.endswith("%")
    try:
        number = float(raw.rstrip("%").strip())
    except ValueError:
        raise UserInputError(f"rate {pair.strip()}: {raw!r} is not a number") from None
    return GivenRate(upper.strip(), lower.strip(), number / 100 if percent else number)


def _check_rate(upper: str, lower: str, rate: float) -> None:
    if math.isfinite(rate) and 0 < rate <= 1:
        return
    shown = f"{rate:g}"
    hint = ""
    if math.isfinite(rate) and rate > 1:
        hint = f"; above 1 means more {lower} than {upper}, which the funnel cannot give"
        if 5 <= rate <= 100:
            hint += f" (for a percentage write {shown}%)"
    elif rate == 0:
        hint = f"; at 0 no {upper} ever leads to {lower}"
    raise UserInputError(f"rate {upper}→{lower}: must be above 0 and at most 1 (got {shown}){hint}")


class RateNeeded(UserInputError):
    """A conversion the plan cannot use or measure: the face says how to give it.

    The message ends in the CLI's syntax (`upper:lower=R`); the web plan builder rewords it
    for its rate fields with `reason`, the part before that hint.
    """

    def __init__(self, upper: str, lower: str, reason: str) -> None:
        super().__init__(f"rate {upper}→{lower}: {reason}; give it ({upper}:{lower}=R)")
        self.upper, self.lower, self.reason = upper, lower, reason


# --- history ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeasuredRate:
    """One step's conversion in history: numerator (lower step) ÷ denominator (upper step)."""

    upper: str
    lower: str
    rate: float | None  # None: nothing to divide by
    numerator: float
    denominator: float
    # Why the rate is not a measured conversion (`step_rules`), None when it is: a step the
    # organisation does not record, or a step outnumbering the one before it.
    note: StepNote | None = None


@dataclass(frozen=True)
class MeasuredRates:
    """Every funnel step's rate over one window of history, with who it was measured on."""

    start: dt.date
    end: dt.date  # exclusive
    months: int
    role: str | None
    team: str | None
    reps: int  # reps with any funnel activity in the window
    rates: tuple[MeasuredRate, ...]
    # Each step counted on the reps of the roles owning it (`measure_rates(by_role=True)`):
    # only then is a hand-over above 1 a fact (AEs book their own) rather than a data fault.
    by_role: bool = False
    # With `by_role`, the roles each step was counted on (`step_owners`).
    owners: dict[str, frozenset[str]] = field(default_factory=dict)

    def get(self, upper: str, lower: str) -> MeasuredRate | None:
        for rate in self.rates:
            if (rate.upper, rate.lower) == (upper, lower):
                return rate
        return None

    @property
    def scope(self) -> str:
        """The window and the reps, as a person reads it."""
        who = [f"role {self.role}" if self.role else "", f"team {self.team}" if self.team else ""]
        shown = ", ".join(w for w in who if w) or "all reps"
        return f"{self.start}..{self.end - dt.timedelta(days=1)}, {shown}"


def measure_rates(
    engine: Engine,
    settings: Settings,
    as_of: dt.date,
    role: str | None = None,
    team: str | None = None,
    months: int | None = None,
    by_role: bool = False,
) -> MeasuredRates:
    """Each funnel step's conversion over the `months` before `as_of`, for a role or team.

    Totals come from the metric engine (SQL aggregates per rep), so a rate means exactly what
    the scorecard's counts mean. Both steps are counted in the same window rather than followed
    deal by deal: with a sales cycle of weeks, the window's length (months) is what keeps the
    two counts comparable, and it needs no link between a call and the deal it led to.
    Without role or team, reps whose role carries no key metrics (managers) are left out, as
    they are from plans. `by_role`: each step is counted on the reps whose role owns it
    (`Settings.role_funnel`), so the hand-over rate is the next role's count over the
    previous role's (meetings held by AEs per meeting set by SDRs).
    """
    steps = funnel_steps(settings)
    window = months or settings.plan.history_months
    if window < 1:
        raise UserInputError(f"history months: must be at least 1 (got {window})")
    start, end = shift_months(as_of, -window), as_of
    ensure_rollup(engine, settings)
    with engine.connect() as conn:
        rep_ids = _selected_rep_ids(conn, settings, role, team)
        totals = metric_totals(conn, settings, steps, start, end, rep_ids, as_of=as_of)
        roles = {int(i): r for i, r in conn.execute(select(Rep.id, Rep.role))} if by_role else {}
    owners = step_owners(settings, steps) if by_role else {}
    summed = {
        s: sum(
            v.get(s, 0.0)
            for rep_id, v in totals.values.items()
            if s not in owners or roles.get(rep_id) in owners[s]
        )
        for s in steps
    }
    active = sum(1 for v in totals.values.values() if any(v.get(s) for s in steps))
    with engine.connect() as conn:
        recorded = recorded_steps(conn, settings, steps, summed, end)
    handed_over = hand_overs(settings, steps) if by_role else frozenset()
    notes = conversion_notes(steps, summed, recorded, handed_over, counted_steps(settings, steps))
    rates = tuple(
        MeasuredRate(
            upper,
            lower,
            summed[lower] / summed[upper] if summed[upper] else None,
            summed[lower],
            summed[upper],
            notes[i + 1],
        )
        for i, (upper, lower) in enumerate(pairwise(steps))
    )
    return MeasuredRates(start, end, window, role, team, active, rates, by_role, owners)


def _quota_roles(settings: Settings) -> list[str]:
    """Roles that carry targets: those with key metrics (not, by default, managers)."""
    return [r.name for r in settings.roles if r.key_metrics]


def _rep_filter(
    conn: Connection, settings: Settings, role: str | None, team: str | None
) -> list[ColumnElement[bool]]:
    """Conditions on Rep for a role and team (checked to exist); no role: quota roles only."""
    conditions: list[ColumnElement[bool]] = []
    if role is not None:
        if role not in settings.role_names:
            known = ", ".join(sorted(settings.role_names))
            raise UserInputError(f"role: unknown role {role!r} (known: {known})")
        conditions.append(Rep.role == role)
    elif not_quota := sorted(settings.role_names - set(_quota_roles(settings))):
        conditions.append(Rep.role.not_in(not_quota))
    if team is not None:
        team_id = conn.scalar(select(Team.id).where(Team.name == team))
        if team_id is None:
            names = [n for (n,) in conn.execute(select(Team.name).order_by(Team.name))]
            hint = did_you_mean(team, names, n=2)
            raise UserInputError(f"team: no team named {team!r}{hint}")
        conditions.append(Rep.team_id == team_id)
    return conditions


def _selected_rep_ids(
    conn: Connection, settings: Settings, role: str | None, team: str | None
) -> list[int] | None:
    conditions = _rep_filter(conn, settings, role, team)
    if not conditions:
        return None
    ids = [int(i) for (i,) in conn.execute(select(Rep.id).where(*conditions))]
    if not ids:
        raise UserInputError(f"reps: nobody is {_describe_scope(role, team)}")
    return ids


def _describe_scope(role: str | None, team: str | None) -> str:
    parts = [f"in role {role}" if role else "", f"in team {team}" if team else ""]
    return " and ".join(p for p in parts if p) or "a quota-carrying rep"


# --- weights ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RepWeight:
    """A rep's share of the plan, relative to one full-time, fully ramped rep (1.0)."""

    rep_id: int | None
    name: str
    role: str
    team: str | None
    capacity: float
    # Share of the plan year's business days worked at full pace: 1.0 for a rep there all year
    # and past ramp-up; less for new hires (ramp), late starters and leavers.
    ramp: float
    weight: float  # capacity x ramp


def ramp_share(
    calendar: BusinessCalendar,
    period: Period,
    start_date: dt.date | None,
    end_date: dt.date | None,
    ramp: Sequence[float],
) -> float:
    """Average share of a full target over the period's business days (see `RepWeight.ramp`).

    A rep in month k of tenure works at ramp[k-1] of a full target, and at 1.0 after the ramp;
    days before the start date or after the end date count 0. Business days weigh the months,
    so a ramping month with holidays weighs a little less.
    """
    total = calendar.business_days(period.start, period.end)
    if total == 0:
        return 0.0
    stop = min(period.end, end_date + dt.timedelta(days=1)) if end_date else period.end
    if start_date is None:
        segments = [(period.start, stop, 1.0)]
    else:
        segments = [
            (shift_months(start_date, k), shift_months(start_date, k + 1), share)
            for k, share in enumerate(ramp)
        ]
        segments.append((shift_months(start_date, len(ramp)), stop, 1.0))
    worked = 0.0
    for first, after, share in segments:
        first, after = max(first, period.start), min(after, stop)
        worked += calendar.business_days(first, after) * share
    return worked / total


def plan_weights(
    engine: Engine,
    settings: Settings,
    period: Period,
    role: str | None = None,
    team: str | None = None,
) -> tuple[RepWeight, ...]:
    """The reps working in the plan period (optionally one role or team), with their weights.

    Without a role, reps whose role has no key metrics (managers) carry no quota and are left
    out; name such a role explicitly to plan for it. Reps with zero weight (capacity 0, or not
    working in the period) are left out too.
    """
    calendar = BusinessCalendar(settings.calendar)
    with engine.connect() as conn:
        conditions = _rep_filter(conn, settings, role, team)
        query = (
            select(
                Rep.id, Rep.name, Rep.role, Team.name, Rep.capacity, Rep.start_date, Rep.end_date
            )
            .outerjoin(Team, Team.id == Rep.team_id)
            .where(
                *conditions,
                (Rep.start_date.is_(None)) | (Rep.start_date < period.end),
                (Rep.end_date.is_(None)) | (Rep.end_date >= period.start),
            )
            .order_by(Team.name, Rep.role, Rep.name)
        )
        rows = conn.execute(query).all()
    weights = []
    for rep_id, name, rep_role, team_name, capacity, start, end in rows:
        capacity = 1.0 if capacity is None else float(capacity)
        share = ramp_share(calendar, period, start, end, settings.plan.ramp)
        if capacity * share > 0:
            weights.append(
                RepWeight(int(rep_id), name, rep_role, team_name, capacity, share, capacity * share)
            )
    if not weights:
        raise UserInputError(
            f"reps: nobody {_describe_scope(role, team)} works in {period.start}..{period.last_day}"
            " (add reps, or plan for a head count)"
        )
    return tuple(weights)


# --- the plan --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanInput:
    """What the planner is asked: the goal, the rates known, and who carries the plan.

    Give either `headcount` (that many equal, full-weight reps) or `reps` (from
    `plan_weights`). Rates name steps as typed ("proposal:deal"); `build_plan` resolves them.
    """

    revenue: float
    deal_size: float
    rates: tuple[GivenRate, ...] = ()
    year: int | None = None
    headcount: int | None = None
    reps: tuple[RepWeight, ...] = ()
    role: str | None = None  # the role of a head count (reps carry their own)


@dataclass(frozen=True)
class StepRate:
    """The conversion used between two consecutive steps, and where it came from."""

    upper: str
    lower: str
    rate: float
    source: RateSource
    measured: MeasuredRate | None  # history's figure, also when the rate was given
    # Between two roles' steps (SDRs' meetings set → AEs' meetings held): may exceed 1 when
    # measured, as the next role also books its own.
    hand_over: bool = False


@dataclass(frozen=True)
class Split:
    """One yearly figure per kind of period: the year, and the average quarter, month, full
    work week and business day of the plan year."""

    year: float
    quarter: float
    month: float
    week: float
    day: float


@dataclass(frozen=True)
class RoundedSplit:
    """A `Split` rounded up to whole units; a per-rep figure below 1 is not rounded up to 1
    but up to two decimals (0.12 deals a day, not 1; see `Pace`)."""

    year: float
    quarter: float
    month: float
    week: float
    day: float


@dataclass(frozen=True)
class Pace:
    """A rep's figure in the shortest period where it reaches one: 3 calls a *day*, but 2.6
    deals a *month* (`per`), and one every `every_days` business days when a day's figure is
    below one. Faces show this rather than a per-day figure rounded up to an absurd 1."""

    value: float  # the exact figure per `per`
    per: Per
    every_days: float | None  # business days per one unit; None when a day's figure is ≥ 1


@dataclass(frozen=True)
class StepTarget:
    """One metric's plan: for the team and for one full-weight rep of the roles that own the
    step, exact and rounded up. `per_rep` is None when no rep of the plan owns the step (an
    AE plan's calls: the SDRs' step, shown as the team's figure only)."""

    metric: str
    label: str
    unit: Literal["count", "currency"]
    rate: StepRate | None  # conversion from this step to the next one down
    total: Split
    total_rounded: RoundedSplit
    owners: tuple[str, ...]  # roles carrying the step; () = every rep of the plan
    per_rep: Split | None
    per_rep_rounded: RoundedSplit | None
    pace: Pace | None  # the per-rep figure in the shortest period where it reaches one
    owner_weight: float  # full-weight reps carrying the step


@dataclass(frozen=True)
class PeriodPlan:
    """One actual quarter or month of the plan year: its share of the year by business days."""

    period: Period
    business_days: int
    totals: dict[str, float] = field(default_factory=dict)  # metric → team target (exact)
    per_rep: dict[str, float] = field(default_factory=dict)  # metric → full-weight rep


@dataclass(frozen=True)
class Plan:
    """The reverse-engineered plan: the cascade, its rates, its reps and its periods."""

    year: int
    period: Period
    business_days: int
    work_days_per_week: int
    revenue: float
    deal_size: float
    deals_exact: float  # revenue ÷ deal size before rounding up to whole deals
    funnel: tuple[str, ...]  # top to bottom
    rates: tuple[StepRate, ...]  # top to bottom
    history: MeasuredRates | None
    headcount: int
    total_weight: float
    reps: tuple[RepWeight, ...]  # empty when planned for a head count
    revenue_target: StepTarget
    steps: tuple[StepTarget, ...]  # top to bottom
    quarters: tuple[PeriodPlan, ...]
    months: tuple[PeriodPlan, ...]

    def step(self, metric: str) -> StepTarget:
        if metric == REVENUE_METRIC:
            return self.revenue_target
        for target in self.steps:
            if target.metric == metric:
                return target
        raise KeyError(metric)

    @property
    def measured(self) -> tuple[StepRate, ...]:
        return tuple(r for r in self.rates if r.source == "measured")


def build_plan(
    settings: Settings,
    calendar: BusinessCalendar,
    inputs: PlanInput,
    measured: MeasuredRates | None = None,
) -> Plan:
    """Reverse-engineer `inputs` into targets; rates not given come from `measured`.

    Raises UserInputError naming the field or step for any input that cannot make a plan.
    """
    if not math.isfinite(inputs.revenue) or inputs.revenue < 0:
        raise UserInputError(f"revenue: cannot be below zero (got {inputs.revenue:,.2f})")
    if not math.isfinite(inputs.deal_size) or inputs.deal_size <= 0:
        raise UserInputError(f"deal size: must be above 0 (got {inputs.deal_size:,.2f})")
    headcount, total_weight = _team_size(inputs)
    steps = funnel_steps(settings)
    configured = step_owners(settings, steps)
    owners = _owners(inputs, steps, configured, total_weight)
    # Hand-overs: consecutive steps owned by roles with none in common (the configuration's,
    # which history is measured on, whichever roles carry this plan).
    boundaries = hand_overs(settings, steps)
    rates = _rates(steps, inputs.rates, measured, boundaries)
    period = plan_period(calendar, inputs.year)
    business_days = calendar.business_days(period.start, period.end)
    if business_days == 0:
        raise UserInputError(
            f"year: no business days in {period.start}..{period.last_day} (check [calendar])"
        )
    work_days = len(settings.calendar.work_days)

    deals_exact = inputs.revenue / inputs.deal_size
    _check_usable(steps[-1], deals_exact, "revenue ÷ deal size")
    counts: dict[str, float] = {steps[-1]: float(round_up(deals_exact))}
    for rate in reversed(rates):
        counts[rate.upper] = counts[rate.lower] / rate.rate
        _check_usable(rate.upper, counts[rate.upper], f"rate {rate.upper}→{rate.lower}")
    rate_below = {r.upper: r for r in rates}

    def target(
        metric: str, value: float, unit: Literal["count", "currency"], step: str
    ) -> StepTarget:
        total = _split(value, business_days, work_days)
        roles, weight = owners[step]
        per_rep = _split(value / weight, business_days, work_days) if weight > 0 else None
        return StepTarget(
            metric=metric,
            label=settings.metric(metric).label or metric,
            unit=unit,
            rate=rate_below.get(metric),
            total=total,
            total_rounded=_rounded(total),
            owners=roles,
            per_rep=per_rep,
            per_rep_rounded=_rounded(per_rep, per_rep=True) if per_rep else None,
            pace=_pace(per_rep) if per_rep else None,
            owner_weight=weight,
        )

    yearly = {**{s: counts[s] for s in steps}, REVENUE_METRIC: inputs.revenue}
    return Plan(
        year=period.start.year,
        period=period,
        business_days=business_days,
        work_days_per_week=work_days,
        revenue=inputs.revenue,
        deal_size=inputs.deal_size,
        deals_exact=deals_exact,
        funnel=steps,
        rates=rates,
        history=measured,
        headcount=headcount,
        total_weight=total_weight,
        reps=inputs.reps,
        revenue_target=target(REVENUE_METRIC, inputs.revenue, "currency", steps[-1]),
        steps=tuple(target(s, counts[s], "count", s) for s in steps),
        quarters=_schedule(calendar, period, "quarter", yearly, business_days, total_weight),
        months=_schedule(calendar, period, "month", yearly, business_days, total_weight),
    )


def _owners(
    inputs: PlanInput,
    steps: Sequence[str],
    configured: dict[str, frozenset[str]],
    total_weight: float,
) -> dict[str, tuple[tuple[str, ...], float]]:
    """Each step → (the plan's roles that own it, their full-weight reps).

    A step no role owns in the configuration, or a head count of no stated role, is carried
    by every rep of the plan, as is the whole funnel in a configuration without ownership.
    """
    planned = {r.role for r in inputs.reps} if inputs.reps else None
    if inputs.headcount is not None:
        planned = {inputs.role} if inputs.role else None
    result: dict[str, tuple[tuple[str, ...], float]] = {}
    for step in steps:
        if planned is None or step not in configured:
            result[step] = ((), total_weight)
            continue
        roles = tuple(sorted(configured[step] & planned))
        if inputs.headcount is not None:
            weight = total_weight if roles else 0.0
        else:
            weight = sum(r.weight for r in inputs.reps if r.role in roles)
        result[step] = (roles, weight)
    return result


def _team_size(inputs: PlanInput) -> tuple[int, float]:
    if inputs.headcount is not None and inputs.reps:
        raise UserInputError("reps: give a head count or the reps, not both")
    if inputs.headcount is not None:
        if inputs.headcount < 1:
            raise UserInputError(f"reps: need at least one rep (got {inputs.headcount})")
        return inputs.headcount, float(inputs.headcount)
    if not inputs.reps:
        raise UserInputError("reps: no reps to carry the plan (give a head count)")
    weight = sum(r.weight for r in inputs.reps)
    if weight <= 0:
        raise UserInputError("reps: the reps' weights add up to zero (capacity or dates)")
    return len(inputs.reps), weight


def _rates(
    steps: tuple[str, ...],
    given: Sequence[GivenRate],
    measured: MeasuredRates | None,
    boundaries: frozenset[tuple[str, str]],
) -> tuple[StepRate, ...]:
    """Each step's rate, given or measured. A measured rate above 1 is allowed only at a
    hand-over between roles (`boundaries`): AEs hold meetings they booked themselves too, so
    they may hold more meetings than the SDRs set, and the plan asks the SDRs for fewer."""
    chain = " → ".join(steps)
    by_pair: dict[tuple[str, str], float] = {}
    for g in given:
        upper, lower = resolve_step(steps, g.upper), resolve_step(steps, g.lower)
        name = f"rate {upper}→{lower}"
        i, j = steps.index(upper), steps.index(lower)
        if i == j:
            raise UserInputError(f"{name}: a step cannot convert into itself (funnel: {chain})")
        if i > j:
            raise UserInputError(
                f"{name}: {lower} comes before {upper} in the funnel; "
                f"write the upper step first: {lower}:{upper} (funnel: {chain})"
            )
        if j > i + 1:
            between = ", ".join(steps[i + 1 : j])
            pairs = ", ".join(
                f"{a}:{b}" for a, b in zip(steps[i:j], steps[i + 1 : j + 1], strict=True)
            )
            raise UserInputError(
                f"{name}: not consecutive steps, {between} comes between; "
                f"give one rate per step ({pairs})"
            )
        if (upper, lower) in by_pair:
            raise UserInputError(f"{name}: given twice")
        _check_rate(upper, lower, g.rate)
        by_pair[(upper, lower)] = g.rate

    rates = []
    for upper, lower in pairwise(steps):
        history = measured.get(upper, lower) if measured else None
        if (upper, lower) in by_pair:
            rates.append(
                StepRate(
                    upper,
                    lower,
                    by_pair[(upper, lower)],
                    "given",
                    history,
                    (upper, lower) in boundaries,
                )
            )
            continue
        if measured is None:
            raise RateNeeded(upper, lower, "missing")
        if history is not None and history.note is not None:
            raise RateNeeded(upper, lower, _unmeasurable(history, measured))
        if history is None or history.rate is None:
            raise RateNeeded(
                upper,
                lower,
                f"cannot be measured, no {upper} in history{_by_owners(measured, upper)}"
                f" ({measured.scope})",
            )
        hand_over = measured.by_role and (upper, lower) in boundaries and history.rate > 1
        if history.rate <= 0 or (history.rate > 1 and not hand_over):
            counts = (
                f"{history.numerator:,.0f} {lower} / {history.denominator:,.0f} {upper}, "
                f"{measured.scope}"
            )
            problem = (
                f"0 ({counts}): no {upper} led to {lower}"
                if history.rate <= 0
                else f"{history.rate:.3g} ({counts}), above 1: these steps do not nest in the data"
            )
            raise RateNeeded(upper, lower, f"measured {problem}")
        rates.append(
            StepRate(upper, lower, history.rate, "measured", history, (upper, lower) in boundaries)
        )
    return tuple(rates)


def _by_owners(measured: MeasuredRates, step: str) -> str:
    """ " by role sdr": whose counts a step was measured on, when only its owners' count."""
    roles = measured.owners.get(step)
    if not roles:
        return ""
    named = ", ".join(sorted(roles))
    return f" by role {named}, the step's owner" if len(roles) == 1 else f" by roles {named}"


def _unmeasurable(history: MeasuredRate, measured: MeasuredRates) -> str:
    """Why a rate measured from history cannot be planned from (`step_rules`), in words."""
    upper, lower = history.upper, history.lower
    counts = (
        f"{history.numerator:,.0f} {lower} / {history.denominator:,.0f} {upper}, {measured.scope}"
    )
    if history.note == "not_recorded":
        why = f"{lower} are not recorded (nobody in the organisation has any before {measured.end})"
    elif history.note == "after_unrecorded":
        why = f"{upper} are not recorded (nobody in the organisation has any before {measured.end})"
    elif history.note == "exceeds_previous":
        why = f"more {lower} than {upper} ({counts}): {lower} happen without {upper} recorded"
    else:
        later = next((r for r in measured.rates if r.upper == lower), None)
        after = f" ({later.numerator:,.0f} {later.lower})" if later else ""
        why = (
            f"fewer {lower} ({history.numerator:,.0f}) than the step after them{after}: "
            f"{lower} are not all recorded"
        )
    return f"cannot be measured, {why}"


def _split(value: float, business_days: int, work_days: int) -> Split:
    return Split(
        year=value,
        quarter=value / 4,
        month=value / 12,
        week=value * work_days / business_days,
        day=value / business_days,
    )


def _rounded(split: Split, per_rep: bool = False) -> RoundedSplit:
    figure = round_figure if per_rep else round_up
    return RoundedSplit(
        figure(split.year),
        figure(split.quarter),
        figure(split.month),
        figure(split.week),
        figure(split.day),
    )


def round_figure(value: float) -> float:
    """Rounded up to a whole number from 1 on; below 1, up to two decimals (0.12, never 1:
    a rep asked for 1 deal a day when the plan needs one in eight days would be lost)."""
    if round(value, 6) >= 1:
        return round_up(value)
    return math.ceil(round(value * 100, 6)) / 100


def _pace(split: Split) -> Pace:
    """The shortest period in which a rep's figure reaches one (see `Pace`)."""
    every = 1 / split.day if split.day > 0 and round(split.day, 6) < 1 else None
    for per in PERS:
        value = float(getattr(split, per))
        if round(value, 6) >= 1:
            return Pace(value, per, every)
    return Pace(split.year, "year", every)


def _schedule(
    calendar: BusinessCalendar,
    year: Period,
    kind: PeriodKind,
    yearly: dict[str, float],
    business_days: int,
    total_weight: float,
) -> tuple[PeriodPlan, ...]:
    """Each quarter or month of the year, with the yearly targets shared by business days.

    The same proration `period_targets` applies to saved yearly targets, so these are the
    figures the scorecards will show.
    """
    periods = []
    day = year.start
    while day < year.end:
        period = calendar.period(kind, day)
        days = calendar.business_days(period.start, period.end)
        share = days / business_days
        periods.append(
            PeriodPlan(
                period,
                days,
                {m: v * share for m, v in yearly.items()},
                {m: v * share / total_weight for m, v in yearly.items()},
            )
        )
        day = period.end
    return tuple(periods)


# --- listing targets (saving them: paceline.services.targets) ------------------------------


@dataclass(frozen=True)
class TargetEntry:
    """A target as a person reads it: whose, what, for when, how much, and where it came from."""

    rep_id: int
    rep: str
    metric: str
    period: Period
    value: float
    origin: str  # manual / plan, or "prorated" when derived from a longer period's target


@dataclass(frozen=True)
class TargetList:
    """Stored targets (period None), or the targets in force for one period."""

    period: Period | None
    entries: tuple[TargetEntry, ...]


def list_targets(
    engine: Engine,
    settings: Settings,
    rep: str | None = None,
    period_kind: PeriodKind | None = None,
    day: dt.date | None = None,
) -> TargetList:
    """Without `period_kind`: the stored targets (those covering `day`, if given).

    With it: each rep's target per metric for the period of that kind containing `day`
    (default today), as scorecards see it: set for that period, or prorated from a longer one.
    """
    calendar = BusinessCalendar(settings.calendar)
    if period_kind is not None and period_kind not in TARGET_KINDS:
        raise UserInputError(f"period: targets are kept per {', '.join(TARGET_KINDS)}")
    with engine.connect() as conn:
        rep_id = (
            existing_rep_id(conn, RepResolver(conn, default_role(settings)), rep) if rep else None
        )
        if period_kind is None:
            return TargetList(None, _stored_targets(conn, calendar, rep_id, day))
        period = calendar.period(period_kind, day or calendar.today())
        return TargetList(period, _targets_in_force(conn, calendar, period, rep_id))


def _stored_targets(
    conn: Connection, calendar: BusinessCalendar, rep_id: int | None, day: dt.date | None
) -> tuple[TargetEntry, ...]:
    query = select(
        Target.rep_id,
        Rep.name,
        Target.metric,
        Target.period_kind,
        Target.period_start,
        Target.value,
        Target.origin,
    ).join(Rep, Rep.id == Target.rep_id)
    if rep_id is not None:
        query = query.where(Target.rep_id == rep_id)
    if day is not None:
        query = query.where(
            Target.period_start <= day, Target.period_start > day - dt.timedelta(days=366)
        )
    entries = []
    for target_rep, name, metric, kind, start, value, origin in conn.execute(query):
        period = calendar.period(cast(PeriodKind, kind), start)
        if day is not None and day not in period:
            continue
        entries.append(TargetEntry(target_rep, name, metric, period, value, origin))
    order = {k: i for i, k in enumerate(reversed(TARGET_KINDS))}
    entries.sort(key=lambda e: (e.rep, e.metric, order.get(e.period.kind, 0), e.period.start))
    return tuple(entries)


def _targets_in_force(
    conn: Connection, calendar: BusinessCalendar, period: Period, rep_id: int | None
) -> tuple[TargetEntry, ...]:
    scope = [Target.rep_id == rep_id] if rep_id is not None else []
    metrics = [m for (m,) in conn.execute(select(Target.metric).where(*scope).distinct())]
    values = period_targets(conn, calendar, period, metrics, None if rep_id is None else [rep_id])
    exact = {
        (r, m): origin
        for r, m, origin in conn.execute(
            select(Target.rep_id, Target.metric, Target.origin).where(
                *scope, Target.period_kind == period.kind, Target.period_start == period.start
            )
        )
    }
    ids = sorted({r for r, _ in values})
    names = {i: n for i, n in conn.execute(select(Rep.id, Rep.name).where(Rep.id.in_(ids)))}
    entries = [
        TargetEntry(r, names[r], m, period, v, exact.get((r, m), "prorated"))
        for (r, m), v in values.items()
    ]
    entries.sort(key=lambda e: (e.rep, e.metric))
    return tuple(entries)
