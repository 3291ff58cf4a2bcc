"""Plans: the seeds' reverse-engineered cascade, its splits, rates from history, weights,
saved targets and the `plan` / `target` commands. Every expected figure is worked by hand."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, update
from typer.testing import CliRunner

from paceline import cli as cli_module
from paceline.analytics.plan import (
    GivenRate,
    MeasuredRate,
    MeasuredRates,
    Plan,
    PlanInput,
    RepWeight,
    build_plan,
    list_targets,
    measure_rates,
    parse_amount,
    parse_rate,
    plan_weights,
    ramp_share,
    resolve_step,
    round_up,
)
from paceline.analytics.targets import period_targets
from paceline.calendar import BusinessCalendar, shift_months
from paceline.cli import app
from paceline.config import Settings
from paceline.errors import UserInputError
from paceline.services.reps import add_rep
from paceline.services.targets import save_plan_targets, set_target
from paceline.store.models import Activity, Deal, Rep

D = dt.date
FUNNEL = ("calls", "conversations", "meetings_set", "meetings_held", "proposals", "deals_won")
# 2026 starts on a Thursday: 52 weeks and one day, so 52 x 5 + 1 = 261 weekdays. The default
# paceline.toml has 8 holidays in 2026, all on weekdays: 253 business days.
DEFAULT_2026_DAYS = 253
# The seeds divide by 12 months, 50 weeks and 250 days: eleven weekday holidays give 250.
SEEDS_HOLIDAYS = [
    D(2026, 1, 1),
    D(2026, 1, 19),
    D(2026, 2, 16),
    D(2026, 5, 25),
    D(2026, 7, 3),
    D(2026, 9, 7),
    D(2026, 10, 12),
    D(2026, 11, 11),
    D(2026, 11, 26),
    D(2026, 11, 27),
    D(2026, 12, 25),
]


def variant(settings: Settings, **changes: Any) -> Settings:
    """The settings with some sections replaced (validated again, nothing cached carried)."""
    data = settings.model_dump()
    for key, value in changes.items():
        data[key] = {**data[key], **value}
    return Settings.model_validate(data)


def rates(*texts: str) -> tuple[GivenRate, ...]:
    return tuple(parse_rate(t) for t in texts)


SEEDS_RATES = rates(
    "calls:conversations=0.2",
    "conversations:meetings_set=0.5",
    "meetings_set:meetings_held=0.8",
    "meetings_held:proposals=0.25",
    "proposals:deals_won=0.25",
)


def plan_of(settings: Settings, inputs: PlanInput, measured: MeasuredRates | None = None) -> Plan:
    return build_plan(settings, BusinessCalendar(settings.calendar), inputs, measured)


# --- the seeds' worked example ---------------------------------------------------------------


def test_seeds_worked_example(settings: Settings) -> None:
    """$70M / $35,000 = 2,000 deals; 25% proposal→deal = 8,000 proposals; per month, per week,
    per day and per rep as the seeds list them, on a 250-business-day year."""
    seeds = variant(
        settings,
        funnel={"steps": ["calls", "meetings_held", "proposals", "deals_won"]},
        calendar={"holidays": SEEDS_HOLIDAYS},
    )
    plan = plan_of(
        seeds,
        PlanInput(
            revenue=70_000_000,
            deal_size=35_000,
            rates=rates("call:meeting=0.5", "meeting:proposal=0.25", "proposal:deal=0.25"),
            year=2026,
            headcount=100,
        ),
    )
    assert plan.business_days == 250
    deals, proposals = plan.step("deals_won"), plan.step("proposals")
    meetings, calls = plan.step("meetings_held"), plan.step("calls")
    assert (deals.total.year, proposals.total.year) == (2_000, 8_000)
    assert (meetings.total.year, calls.total.year) == (32_000, 64_000)
    # 2,000 deals / 12 = 166.7 → 167 a month; 8,000 proposals / 12 = 666.7 → 667 a month.
    assert (deals.total_rounded.month, proposals.total_rounded.month) == (167, 667)
    # 32,000 meetings x 5 / 250 = 640 a week; 64,000 calls / 250 = 256 a day.
    assert meetings.total.week == pytest.approx(640) and meetings.total_rounded.week == 640
    assert calls.total.day == pytest.approx(256) and calls.total_rounded.day == 256
    # Per rep of 100: 1.67 → 2 deals and 6.67 → 7 proposals a month, 6.4 → 7 meetings a week,
    # 2.56 → 3 calls a day.
    assert deals.per_rep_rounded.month == 2 and proposals.per_rep_rounded.month == 7
    assert meetings.per_rep_rounded.week == 7 and calls.per_rep_rounded.day == 3
    assert proposals.per_rep.month == pytest.approx(8_000 / 12 / 100)
    assert [r.source for r in plan.rates] == ["given"] * 3
    assert plan.revenue_target.total.year == 70_000_000
    assert plan.revenue_target.per_rep.year == pytest.approx(700_000)


def test_counts_that_overflow_are_refused_naming_the_step(settings: Settings) -> None:
    two_steps = variant(settings, funnel={"steps": ["proposals", "deals_won"]})
    with pytest.raises(UserInputError, match="rate proposals→deals_won: gives proposals beyond"):
        plan_of(two_steps, PlanInput(70e6, 35e3, rates("proposals:deals_won=1e-300"), 2026, 1))
    with pytest.raises(UserInputError, match="revenue ÷ deal size: gives deals_won beyond"):
        plan_of(two_steps, PlanInput(1e300, 0.01, rates("proposals:deals_won=0.5"), 2026, 1))


def test_seeds_inconsistent_step_is_refused(settings: Settings) -> None:
    """The seed goes on to 'that requires 2,000 meetings' for 8,000 proposals: a rate of 4."""
    with pytest.raises(UserInputError) as caught:
        plan_of(
            settings,
            PlanInput(70e6, 35e3, rates("meetings_held:proposals=4"), 2026, headcount=100),
        )
    message = str(caught.value)
    assert message.startswith("rate meetings_held→proposals: must be above 0 and at most 1")
    assert "(got 4)" in message and "more proposals than meetings_held" in message


def test_full_default_funnel_cascade(settings: Settings) -> None:
    plan = plan_of(settings, PlanInput(70e6, 35e3, SEEDS_RATES, 2026, headcount=100))
    assert plan.funnel == FUNNEL and plan.business_days == DEFAULT_2026_DAYS
    # deals 2,000 ÷ .25 = 8,000 proposals ÷ .25 = 32,000 held ÷ .8 = 40,000 set ÷ .5 = 80,000
    # conversations ÷ .2 = 400,000 calls.
    expected = {
        "deals_won": 2_000,
        "proposals": 8_000,
        "meetings_held": 32_000,
        "meetings_set": 40_000,
        "conversations": 80_000,
        "calls": 400_000,
    }
    assert {s.metric: s.total.year for s in plan.steps} == pytest.approx(expected)
    calls = plan.step("calls")
    # 400,000 / 4 = 100,000; / 12 = 33,333.3 → 33,334; x 5 / 253 = 7,905.1 → 7,906;
    # / 253 = 1,581.03 → 1,582. Per rep: 4,000; 1,000; 333.3 → 334; 79.05 → 80; 15.8 → 16.
    assert calls.total_rounded.year == 400_000 and calls.total_rounded.quarter == 100_000
    assert calls.total_rounded.month == 33_334
    assert (calls.total_rounded.week, calls.total_rounded.day) == (7_906, 1_582)
    assert calls.total.day == pytest.approx(400_000 / 253)
    assert (calls.per_rep_rounded.year, calls.per_rep_rounded.quarter) == (4_000, 1_000)
    assert calls.per_rep_rounded.month == 334
    assert (calls.per_rep_rounded.week, calls.per_rep_rounded.day) == (80, 16)
    rate = calls.rate
    assert rate is not None and (rate.lower, rate.rate, rate.source) == (
        "conversations",
        0.2,
        "given",
    )
    assert plan.step("deals_won").rate is None


def test_quarters_and_months_share_the_year_by_business_days(settings: Settings) -> None:
    plan = plan_of(settings, PlanInput(70e6, 35e3, SEEDS_RATES, 2026, headcount=100))
    months = {m.period.label: m for m in plan.months}
    assert len(months) == 12 and len(plan.quarters) == 4
    # January 2026: 22 weekdays less New Year and MLK day = 20; November: 21 less 2 = 19.
    assert (months["2026-01"].business_days, months["2026-11"].business_days) == (20, 19)
    assert sum(m.business_days for m in plan.months) == DEFAULT_2026_DAYS
    assert months["2026-01"].totals["proposals"] == pytest.approx(8_000 * 20 / 253)
    assert months["2026-11"].per_rep["deals_won"] == pytest.approx(2_000 * 19 / 253 / 100)
    assert months["2026-11"].totals["revenue"] == pytest.approx(70e6 * 19 / 253)
    # Q1: 20 + 20 + 22 business days.
    assert plan.quarters[0].business_days == 62
    assert sum(q.totals["calls"] for q in plan.quarters) == pytest.approx(400_000)


def test_counts_round_up_but_cascade_exactly(settings: Settings) -> None:
    two_steps = variant(settings, funnel={"steps": ["proposals", "deals_won"]})
    plan = plan_of(two_steps, PlanInput(7, 1, rates("proposals:deals_won=0.3"), 2026, 1))
    proposals = plan.step("proposals")
    assert proposals.total.year == pytest.approx(7 / 0.3)  # 23.33...
    assert proposals.total_rounded.year == 24
    # 7 / 0.7 is 10.000000000000002 in floating point: still 10 proposals, not 11.
    plan = plan_of(two_steps, PlanInput(7, 1, rates("proposals:deals_won=70%"), 2026, 1))
    assert plan.step("proposals").total_rounded.year == 10
    # Deals are whole from the start: $70M at $35,001 is 1,999.94 deals → 2,000.
    plan = plan_of(two_steps, PlanInput(70e6, 35_001, rates("proposal:deal=0.25"), 2026, 1))
    assert plan.step("deals_won").total.year == 2_000
    assert plan.deals_exact == pytest.approx(1_999.943, abs=1e-3)
    assert plan.step("proposals").total.year == 8_000


def test_round_up_and_helpers() -> None:
    assert [round_up(x) for x in (0, 0.01, 1, 1.5, 10.000000000000002)] == [0, 1, 1, 2, 10]
    assert shift_months(D(2026, 1, 31), 1) == D(2026, 2, 28)
    assert shift_months(D(2026, 5, 1), -6) == D(2025, 11, 1)
    assert shift_months(D(2026, 12, 15), 1) == D(2027, 1, 15)
    assert parse_amount("revenue", "70M") == 70_000_000
    assert parse_amount("revenue", "$70,000,000") == 70_000_000
    assert parse_amount("deal size", "35k") == 35_000
    assert parse_amount("revenue", "-5") == -5
    with pytest.raises(UserInputError, match="revenue: not an amount: 'lots'"):
        parse_amount("revenue", "lots")


def test_step_names_resolve_from_prefixes_and_singulars() -> None:
    assert resolve_step(FUNNEL, "proposal") == "proposals"
    assert resolve_step(FUNNEL, "deal") == "deals_won"
    assert resolve_step(FUNNEL, "Deals Won") == "deals_won"
    assert resolve_step(FUNNEL, "held") == "meetings_held"
    assert resolve_step(FUNNEL, "meeting_held") == "meetings_held"
    assert resolve_step(FUNNEL, "meeting-set") == "meetings_set"
    assert resolve_step(FUNNEL, "won") == "deals_won"
    assert resolve_step(("proposal", "deal"), "proposals") == "proposal"
    assert resolve_step(FUNNEL, "call") == "calls"
    with pytest.raises(UserInputError, match="'meeting': ambiguous, could be meetings_set or"):
        resolve_step(FUNNEL, "meeting")
    with pytest.raises(UserInputError, match="'propsals': not a funnel step; did you mean"):
        resolve_step(FUNNEL, "propsals")
    with pytest.raises(UserInputError, match="'revenue': not a funnel step"):
        resolve_step(FUNNEL, "revenue")


def test_rates_parse_as_fractions_or_percentages() -> None:
    assert parse_rate("proposal:deal=0.25") == GivenRate("proposal", "deal", 0.25)
    assert parse_rate(" proposals : deals_won = 25% ") == GivenRate("proposals", "deals_won", 0.25)
    with pytest.raises(UserInputError, match="write it as upper:lower=rate"):
        parse_rate("proposal-deal=0.25")
    with pytest.raises(UserInputError, match="rate proposal:deal: 'a lot' is not a number"):
        parse_rate("proposal:deal=a lot")


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (
            PlanInput(70e6, 35e3, rates("proposal:deal=0"), 2026, 100),
            "rate proposals→deals_won: must be above 0 and at most 1 (got 0)",
        ),
        (
            PlanInput(70e6, 35e3, rates("proposal:deal=1.2"), 2026, 100),
            "rate proposals→deals_won: must be above 0 and at most 1 (got 1.2)",
        ),
        (
            PlanInput(70e6, 35e3, rates("proposal:deal=25"), 2026, 100),
            "(for a percentage write 25%)",
        ),
        (
            PlanInput(70e6, 35e3, rates("proposal:deal=0.25"), 2026, 100),
            "rate calls→conversations: missing; give it (calls:conversations=R)",
        ),
        (
            PlanInput(70e6, 35e3, rates("meetings_held:deal=0.1"), 2026, 100),
            "rate meetings_held→deals_won: not consecutive steps, proposals comes between",
        ),
        (
            PlanInput(70e6, 35e3, rates("deal:proposal=0.25"), 2026, 100),
            "rate deals_won→proposals: proposals comes before deals_won in the funnel",
        ),
        (
            PlanInput(70e6, 35e3, rates("proposal:deal=0.2", "proposals:deals_won=0.3"), 2026, 1),
            "rate proposals→deals_won: given twice",
        ),
        (
            PlanInput(70e6, 35e3, rates("demo:deal=0.25"), 2026, 100),
            "step 'demo': not a funnel step",
        ),
        (PlanInput(70e6, 0, SEEDS_RATES, 2026, 100), "deal size: must be above 0 (got 0.00)"),
        (
            PlanInput(-1, 35e3, SEEDS_RATES, 2026, 100),
            "revenue: cannot be below zero (got -1.00)",
        ),
        (PlanInput(70e6, 35e3, SEEDS_RATES, 2026, 0), "reps: need at least one rep (got 0)"),
        (PlanInput(70e6, 35e3, SEEDS_RATES, 2026), "reps: no reps to carry the plan"),
    ],
)
def test_inconsistent_input_names_the_step(
    settings: Settings, inputs: PlanInput, message: str
) -> None:
    with pytest.raises(UserInputError) as caught:
        plan_of(settings, inputs)
    assert message in str(caught.value)


def test_zero_revenue_plans_nothing(settings: Settings) -> None:
    plan = plan_of(settings, PlanInput(0, 35e3, SEEDS_RATES, 2026, 10))
    assert all(s.total_rounded.year == 0 for s in plan.steps)


def test_fiscal_year_starting_in_july(settings: Settings) -> None:
    fiscal = variant(settings, calendar={"fiscal_year_start_month": 7})
    plan = plan_of(fiscal, PlanInput(70e6, 35e3, SEEDS_RATES, 2026, 100))
    assert (plan.period.start, plan.period.end) == (D(2026, 7, 1), D(2027, 7, 1))
    assert [m.period.label for m in plan.months][:2] == ["2026-07", "2026-08"]
    assert plan.quarters[0].period.start == D(2026, 7, 1)


def test_measured_rates_fill_the_gaps_and_say_so(settings: Settings) -> None:
    history = MeasuredRates(
        start=D(2025, 11, 1),
        end=D(2026, 5, 1),
        months=6,
        role=None,
        team=None,
        reps=3,
        rates=(
            MeasuredRate("calls", "conversations", 0.25, 50, 200),
            MeasuredRate("conversations", "meetings_set", 0.5, 25, 50),
            MeasuredRate("meetings_set", "meetings_held", 0.8, 20, 25),
            MeasuredRate("meetings_held", "proposals", 0.5, 10, 20),
            MeasuredRate("proposals", "deals_won", 0.2, 2, 10),
        ),
    )
    plan = plan_of(settings, PlanInput(70e6, 35e3, rates("proposal:deal=0.25"), 2026, 100), history)
    assert [r.source for r in plan.rates] == ["measured"] * 4 + ["given"]
    given = plan.rates[-1]
    assert given.rate == 0.25 and given.measured == history.rates[-1]  # history for comparison
    # 2,000 ÷ .25 ÷ .5 ÷ .8 ÷ .5 ÷ .25 = 160,000 calls.
    assert plan.step("calls").total.year == pytest.approx(160_000)
    assert plan.history is history and len(plan.measured) == 4


@pytest.mark.parametrize(
    ("rate", "message"),
    [
        (
            MeasuredRate("meetings_set", "meetings_held", None, 0, 0),
            "rate meetings_set→meetings_held: cannot be measured, no meetings_set in history "
            "(2025-11-01..2026-04-30, role ae)",
        ),
        (
            MeasuredRate("meetings_set", "meetings_held", 1.25, 25, 20),
            "rate meetings_set→meetings_held: measured 1.25 (25 meetings_held / 20 meetings_set, "
            "2025-11-01..2026-04-30, role ae), above 1",
        ),
        (
            MeasuredRate("meetings_set", "meetings_held", 0.0, 0, 20),
            "rate meetings_set→meetings_held: measured 0 (0 meetings_held / 20 meetings_set",
        ),
    ],
)
def test_unusable_measured_rates_name_the_step(
    settings: Settings, rate: MeasuredRate, message: str
) -> None:
    history = MeasuredRates(D(2025, 11, 1), D(2026, 5, 1), 6, "ae", None, 2, (rate,))
    given = rates(
        "calls:conversations=0.2",
        "conversations:meetings_set=0.5",
        "meetings_held:proposals=0.25",
        "proposals:deals_won=0.25",
    )
    with pytest.raises(UserInputError) as caught:
        plan_of(settings, PlanInput(70e6, 35e3, given, 2026, 10), history)
    assert message in str(caught.value)
    # Given, the same step plans fine whatever history says.
    plan = plan_of(
        settings,
        PlanInput(70e6, 35e3, (*given, parse_rate("set:held=0.8")), 2026, 10),
        history,
    )
    assert plan.step("meetings_set").total.year == pytest.approx(40_000)


# --- weights ---------------------------------------------------------------------------------


def test_ramp_share_by_business_days(settings: Settings) -> None:
    cal = BusinessCalendar(settings.calendar)
    year = cal.period("year", D(2026, 1, 1))
    ramp = [0.25, 0.5, 0.75]
    assert ramp_share(cal, year, None, None, ramp) == 1
    assert ramp_share(cal, year, D(2020, 3, 1), None, ramp) == 1
    # Hired 2026-01-01: Jan (20 days) at 25%, Feb (20) at 50%, Mar (22) at 75%, then 191 at 100%.
    expected = (20 * 0.25 + 20 * 0.5 + 22 * 0.75 + 191) / 253
    assert ramp_share(cal, year, D(2026, 1, 1), None, ramp) == pytest.approx(expected)
    # Leaves 2026-06-30: January to June, 20 + 20 + 22 + 22 + 20 + 22 = 126 days.
    assert ramp_share(cal, year, None, D(2026, 6, 30), ramp) == pytest.approx(126 / 253)
    # Starts 2026-12-01: December's 22 business days at 25%.
    assert ramp_share(cal, year, D(2026, 12, 1), None, ramp) == pytest.approx(22 * 0.25 / 253)


def _rep(engine: Engine, **values: Any) -> int:
    with engine.begin() as conn:
        return int(conn.execute(insert(Rep).values(**values).returning(Rep.id)).scalar_one())


@pytest.fixture
def team(engine: Engine, settings: Settings) -> dict[str, int]:
    """Two AEs (one half-time), a new hire, a leaver, an SDR, a manager and a former rep."""
    ids = {
        "Ana Ruiz": add_rep(engine, settings, "Ana Ruiz", "ae", "East"),
        "Bo Chen": add_rep(engine, settings, "Bo Chen", "ae", "West"),
        "Cy Dorn": add_rep(engine, settings, "Cy Dorn", "ae", "East", start_date=D(2026, 1, 1)),
        "Di Eze": add_rep(engine, settings, "Di Eze", "sdr", "East"),
        "Mo Grant": add_rep(engine, settings, "Mo Grant", "manager", "East"),
        "Ex Former": add_rep(engine, settings, "Ex Former", "ae", "East"),
        "Lu Leaving": add_rep(engine, settings, "Lu Leaving", "sdr", "West"),
    }
    with engine.begin() as conn:
        conn.execute(update(Rep).where(Rep.id == ids["Bo Chen"]).values(capacity=0.5))
        conn.execute(update(Rep).where(Rep.id == ids["Ex Former"]).values(end_date=D(2025, 12, 31)))
        conn.execute(update(Rep).where(Rep.id == ids["Lu Leaving"]).values(end_date=D(2026, 6, 30)))
    return ids


def test_weights_from_capacity_ramp_and_dates(
    engine: Engine, settings: Settings, team: dict[str, int]
) -> None:
    year = BusinessCalendar(settings.calendar).period("year", D(2026, 1, 1))
    weights = {w.name: w for w in plan_weights(engine, settings, year)}
    # The manager carries no quota; the former rep left before the year.
    assert set(weights) == {"Ana Ruiz", "Bo Chen", "Cy Dorn", "Di Eze", "Lu Leaving"}
    assert weights["Ana Ruiz"].weight == 1
    bo = weights["Bo Chen"]
    assert (bo.capacity, bo.ramp, bo.weight) == (0.5, 1, 0.5)
    cy = weights["Cy Dorn"]
    assert cy.weight == pytest.approx((20 * 0.25 + 20 * 0.5 + 22 * 0.75 + 191) / 253)
    assert weights["Lu Leaving"].weight == pytest.approx(126 / 253)
    east_aes = plan_weights(engine, settings, year, role="ae", team="East")
    assert [w.name for w in east_aes] == ["Ana Ruiz", "Cy Dorn"]
    managers = plan_weights(engine, settings, year, role="manager")
    assert [w.name for w in managers] == ["Mo Grant"]  # named explicitly, managers can plan
    with pytest.raises(UserInputError, match="team: no team named 'Est'; did you mean 'East'"):
        plan_weights(engine, settings, year, team="Est")
    with pytest.raises(UserInputError, match="role: unknown role 'vp'"):
        plan_weights(engine, settings, year, role="vp")


def test_per_rep_figures_are_for_a_full_weight_rep(settings: Settings) -> None:
    reps = (
        RepWeight(1, "Ana Ruiz", "ae", "East", 1.0, 1.0, 1.0),
        RepWeight(2, "Bo Chen", "ae", "West", 0.5, 1.0, 0.5),
        RepWeight(3, "Cy Dorn", "ae", "East", 1.0, 0.5, 0.5),
    )
    plan = plan_of(settings, PlanInput(4_000_000, 40_000, SEEDS_RATES, 2026, reps=reps))
    assert (plan.headcount, plan.total_weight) == (3, 2.0)
    # 100 deals for 2 full-weight reps: 50 each; Bo and Cy will carry 25.
    assert plan.step("deals_won").per_rep.year == 50
    assert plan.step("proposals").per_rep.year == 200
    assert plan.revenue_target.per_rep.year == 2_000_000


# --- history ---------------------------------------------------------------------------------


def _activities(rep_id: int, day: dt.date, kind: str, outcome: str | None, n: int) -> list[Any]:
    moment = dt.datetime.combine(day, dt.time(15))  # 10:00 or 11:00 in New York: same day
    return [
        {
            "rep_id": rep_id,
            "kind": kind,
            "outcome": outcome,
            "occurred_at": moment,
            "local_date": day,
            "has_ask": True,
            "source": "test",
        }
        for _ in range(n)
    ]


def _deals(rep_id: int, closed: dt.date, status: str, n: int) -> list[Any]:
    return [
        {
            "rep_id": rep_id,
            "name": f"deal {closed} {i}",
            "amount": Decimal(30_000),
            "stage": "closed_won" if status == "won" else "closed_lost",
            "status": status,
            "created_at": dt.datetime.combine(closed - dt.timedelta(days=40), dt.time(15)),
            "closed_at": dt.datetime.combine(closed, dt.time(15)),
        }
        for i in range(n)
    ]


@pytest.fixture
def history(engine: Engine, team: dict[str, int]) -> dict[str, int]:
    """Six months to 2026-05-01 (window 2025-11-01..2026-04-30), counts chosen by hand.

    Ana (ae, East): 40 calls (10 conversations, 4 meetings set, 26 no answer), 3 discovery
    meetings held, 2 proposals, 1 deal won (1 lost). Bo (ae, West): 20 calls (6 conversations,
    2 meetings set, 12 no answer), 1 held, 2 proposals, no deal. Di (sdr, East): 40 calls
    (8 conversations, 4 set, 28 no answer). Outside the window or the scope: Ana's 100 calls
    in October 2025 and in May 2026, Mo the manager's 50 calls.
    """
    ana, bo, di, mo = (team[n] for n in ("Ana Ruiz", "Bo Chen", "Di Eze", "Mo Grant"))
    day = D(2026, 2, 10)
    rows = [
        *_activities(ana, day, "call", "conversation", 10),
        *_activities(ana, day, "call", "meeting_set", 4),
        *_activities(ana, day, "call", "no_answer", 26),
        *_activities(ana, D(2025, 11, 3), "discovery_meeting", "held", 3),
        *_activities(ana, D(2026, 4, 30), "proposal", "sent", 2),
        *_activities(bo, day, "call", "conversation", 6),
        *_activities(bo, day, "call", "meeting_set", 2),
        *_activities(bo, day, "call", "no_answer", 12),
        *_activities(bo, day, "discovery_meeting", "held", 1),
        *_activities(bo, day, "proposal", "sent", 2),
        *_activities(di, day, "call", "conversation", 8),
        *_activities(di, day, "call", "meeting_set", 4),
        *_activities(di, day, "call", "no_answer", 28),
        *_activities(ana, D(2025, 10, 31), "call", "no_answer", 100),
        *_activities(ana, D(2026, 5, 1), "call", "no_answer", 100),
        *_activities(mo, day, "call", "no_answer", 50),
    ]
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
        conn.execute(
            insert(Deal),
            [*_deals(ana, D(2026, 3, 2), "won", 1), *_deals(ana, D(2026, 3, 2), "lost", 1)],
        )
    return team


def test_rates_measured_from_history(
    engine: Engine, settings: Settings, history: dict[str, int]
) -> None:
    measured = measure_rates(engine, settings, as_of=D(2026, 5, 1))
    assert (measured.start, measured.end, measured.months) == (D(2025, 11, 1), D(2026, 5, 1), 6)
    assert measured.reps == 3  # Ana, Bo, Di; not the manager
    got = {(r.upper, r.lower): (r.numerator, r.denominator) for r in measured.rates}
    # Calls 40 + 20 + 40 = 100; conversations (connected calls, meeting sets included)
    # 14 + 8 + 12 = 34; meetings set 4 + 2 + 4 = 10; held 3 + 1 = 4; proposals 4; won 1.
    assert got == {
        ("calls", "conversations"): (34, 100),
        ("conversations", "meetings_set"): (10, 34),
        ("meetings_set", "meetings_held"): (4, 10),
        ("meetings_held", "proposals"): (4, 4),
        ("proposals", "deals_won"): (1, 4),
    }
    assert measured.get("proposals", "deals_won") == MeasuredRate(
        "proposals", "deals_won", 0.25, 1, 4
    )

    aes = measure_rates(engine, settings, as_of=D(2026, 5, 1), role="ae")
    assert aes.get("calls", "conversations") == MeasuredRate(
        "calls", "conversations", 22 / 60, 22, 60
    )
    east = measure_rates(engine, settings, as_of=D(2026, 5, 1), role="ae", team="East")
    assert (east.reps, east.get("meetings_held", "proposals")) == (
        1,
        MeasuredRate("meetings_held", "proposals", 2 / 3, 2, 3),
    )
    # Three months to 2026-05-01 start on 2026-02-01: Ana's November meetings drop out.
    recent = measure_rates(engine, settings, as_of=D(2026, 5, 1), months=3)
    # The one meeting held is outnumbered by the proposals after it in those months, so it is
    # not a rate to plan from (`step_rules`: meetings held under-recorded in the window).
    assert recent.get("meetings_set", "meetings_held") == MeasuredRate(
        "meetings_set", "meetings_held", 0.1, 1, 10, "under_recorded"
    )
    assert recent.get("meetings_held", "proposals").numerator > 1  # type: ignore[union-attr]

    plan = plan_of(settings, PlanInput(30_000, 30_000, (), 2026, headcount=1), measured)
    # 1 deal ÷ .25 = 4 proposals ÷ 1 = 4 held ÷ .4 = 10 set ÷ 10/34 = 34 conversations
    # ÷ .34 = 100 calls: history's own volumes, as it should be for one deal.
    assert plan.step("calls").total.year == pytest.approx(100)
    assert all(r.source == "measured" for r in plan.rates)


def test_sdr_history_cannot_measure_proposals(
    engine: Engine, settings: Settings, history: dict[str, int]
) -> None:
    sdrs = measure_rates(engine, settings, as_of=D(2026, 5, 1), role="sdr")
    assert sdrs.get("proposals", "deals_won") == MeasuredRate("proposals", "deals_won", None, 0, 0)
    with pytest.raises(UserInputError) as caught:
        plan_of(settings, PlanInput(30_000, 30_000, (), 2026, headcount=1), sdrs)
    assert str(caught.value).startswith(
        "rate meetings_set→meetings_held: measured 0 (0 meetings_held / 4 meetings_set, "
        "2025-11-01..2026-04-30, role sdr): no meetings_set led to meetings_held"
    )


# --- saving and overriding targets -----------------------------------------------------------


def test_save_then_read_prorated_and_override(
    engine: Engine, settings: Settings, team: dict[str, int]
) -> None:
    cal = BusinessCalendar(settings.calendar)
    year = cal.period("year", D(2026, 1, 1))
    weights = plan_weights(engine, settings, year, role="ae")
    plan = plan_of(settings, PlanInput(3_000_000, 30_000, SEEDS_RATES, 2026, reps=weights))
    saved = save_plan_targets(engine, plan)
    # Ana, Bo and Cy; the AEs' three funnel steps (meetings held to deals won) and revenue.
    assert (saved.reps, saved.targets, saved.metrics[-1]) == (3, 12, "revenue")
    full = plan.step("proposals").per_rep.year  # 400 proposals over the AEs' weight
    assert full == pytest.approx(400 / plan.total_weight)

    march = cal.period("month", D(2026, 3, 1))  # 22 of 253 business days
    with engine.connect() as conn:
        values = period_targets(conn, cal, march, ["proposals", "revenue"])
    ana, bo = team["Ana Ruiz"], team["Bo Chen"]
    assert values[(ana, "proposals")] == pytest.approx(full * 22 / 253)
    assert values[(bo, "proposals")] == pytest.approx(full * 0.5 * 22 / 253)
    assert values[(ana, "revenue")] == pytest.approx(3_000_000 / plan.total_weight * 22 / 253)

    set_target(engine, settings, "Ana Ruiz", "proposals", "month", D(2026, 3, 15), 12)
    with engine.connect() as conn:
        values = period_targets(conn, cal, march, ["proposals"])
    assert values[(ana, "proposals")] == 12
    assert values[(bo, "proposals")] == pytest.approx(full * 0.5 * 22 / 253)

    listed = list_targets(engine, settings, rep="Ana Ruiz", period_kind="month", day=D(2026, 3, 9))
    by_metric = {e.metric: e for e in listed.entries}
    assert listed.period == march and len(by_metric) == 4  # an AE's three steps and revenue
    assert (by_metric["proposals"].value, by_metric["proposals"].origin) == (12, "manual")
    assert by_metric["deals_won"].origin == "prorated" and "calls" not in by_metric
    stored = list_targets(engine, settings, rep="ana ruiz", day=D(2026, 3, 9))
    kinds = [(e.metric, e.period.kind, e.origin) for e in stored.entries if e.metric == "proposals"]
    assert kinds == [("proposals", "year", "plan"), ("proposals", "month", "manual")]
    assert list_targets(engine, settings, rep="Ana Ruiz", day=D(2027, 3, 9)).entries == ()

    # Saving the plan again replaces the yearly targets and leaves the override alone.
    assert save_plan_targets(engine, plan).targets == 12
    with engine.connect() as conn:
        assert period_targets(conn, cal, march, ["proposals"], [ana])[(ana, "proposals")] == 12


def test_a_head_count_plan_cannot_be_saved(sqlite_engine: Engine, settings: Settings) -> None:
    plan = plan_of(settings, PlanInput(70e6, 35e3, SEEDS_RATES, 2026, headcount=100))
    with pytest.raises(UserInputError, match="save: the plan is for a head count"):
        save_plan_targets(sqlite_engine, plan)


# --- the command line ------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for var in ("PACELINE_DB", "PACELINE_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    for console in (cli_module.out, cli_module.err):  # no wrapping: assert on whole lines
        monkeypatch.setattr(console, "width", 250)
    return tmp_path


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


SEEDS_ARGS = (
    "plan",
    "--revenue",
    "70000000",
    "--deal-size",
    "35000",
    "--rate",
    "proposal:deal=0.25",
    "--rate",
    "meetings_held:proposal=25%",
    "--rate",
    "meetings_set:held=0.8",
    "--rate",
    "conversation:meetings_set=0.5",
    "--rate",
    "call:conversation=0.2",
    "--reps",
    "100",
    "--year",
    "2026",
)


def test_cli_plan_prints_the_cascade_without_a_database(workdir: Path) -> None:
    code, output = cli(*SEEDS_ARGS)
    assert code == 0, output
    assert (
        "Plan for fiscal year 2026 (2026-01-01..2026-12-31): 253 business days, 100 reps" in output
    )
    assert "70,000,000 revenue ÷ 35,000 average deal = 2,000 deals_won" in output
    rows = [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in output.splitlines()
        if "│" in line
    ]
    team_row, rep_row = (row[1:] for row in rows if row[0] == "proposals")
    # 8,000 a year; 667 a month; x 5 / 253 = 158.1 a week; / 253 = 31.6 a day.
    assert team_row == ["÷ 25%", "8,000", "2,000", "667", "159", "32"]
    # 0.316 a day is shown as such, never rounded up to 1: one every 253 / 80 = 3.2 days.
    assert rep_row == ["every rep", "80", "20", "7", "2", "0.32 (1 every 3.2 days)"]
    assert "calls → conversations" in output and "all rates given" in output
    assert not (workdir / "paceline.db").exists()  # a head-count plan needs no database


def test_cli_plan_json(workdir: Path) -> None:
    code, output = cli(*SEEDS_ARGS, "--json")
    assert code == 0, output
    result = json.loads(output)
    assert result["saved"] is None
    steps = {s["metric"]: s for s in result["plan"]["steps"]}
    assert steps["deals_won"]["total"]["year"] == 2000
    assert steps["proposals"]["total_rounded"]["month"] == 667
    assert steps["proposals"]["per_rep_rounded"]["month"] == 7
    assert steps["calls"]["rate"]["source"] == "given"
    assert result["plan"]["months"][0]["period"]["start"] == "2026-01-01"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("--rate", "meetings_held:proposal=4"), "rate meetings_held→proposals: must be above 0"),
        (("--deal-size", "0"), "deal size: must be above 0"),
        (("--revenue", "-5"), "revenue: cannot be below zero"),
        (("--rate", "meeting:proposal=0.3"), "step 'meeting': ambiguous"),
    ],
)
def test_cli_plan_errors_are_one_red_line(
    workdir: Path, change: tuple[str, str], message: str
) -> None:
    args = list(SEEDS_ARGS)
    if change[0] == "--rate":
        args[args.index("meetings_held:proposal=25%")] = change[1]
    else:
        args[args.index(change[0]) + 1] = change[1]
    code, output = cli(*args)
    assert code == 1
    assert f"error: {message}" in output and "Traceback" not in output


def test_cli_plan_missing_rate_says_what_to_do(workdir: Path) -> None:
    code, output = cli("plan", "--revenue", "70M", "--deal-size", "35k", "--reps", "100")
    assert code == 1
    assert "error: rate calls→conversations: missing" in output


def test_cli_plan_save_and_targets(workdir: Path) -> None:
    assert cli("init")[0] == 0
    assert cli("rep", "add", "Ana Ruiz", "--team", "East")[0] == 0
    assert cli("rep", "add", "Bo Chen", "--team", "East", "--start", "2026-01-01")[0] == 0
    code, output = cli(*SEEDS_ARGS[:-4], "--year", "2026", "--save")
    assert code == 0, output
    assert "2 reps (1.88 full-weight)" in output  # Bo ramps up: 222.5 / 253 = 0.88
    assert "Bo Chen" in output and "saved 8 yearly targets (4 metrics, 2 reps" in output

    code, output = cli(
        "target", "set", "12", "--rep", "Ana Ruiz", "--metric", "proposals", "--date", "2026-03-04"
    )
    assert code == 0, output
    assert "target set: Ana Ruiz, proposals 12 for the month 2026-03-01..2026-03-31" in output
    code, output = cli(
        "target", "list", "--rep", "Ana Ruiz", "--period", "month", "--date", "2026-03-04", "--json"
    )
    assert code == 0, output
    entries = {e["metric"]: e for e in json.loads(output)["entries"]}
    assert (entries["proposals"]["value"], entries["proposals"]["origin"]) == (12, "manual")
    weight = 1 + (20 * 0.25 + 20 * 0.5 + 22 * 0.75 + 191) / 253
    assert entries["deals_won"]["value"] == pytest.approx(2_000 / weight * 22 / 253)
    assert entries["deals_won"]["origin"] == "prorated"
    code, output = cli("target", "list", "--rep", "Ana Ruiz")
    assert code == 0 and "plan" in output and "manual" in output

    code, output = cli("target", "set", "5", "--rep", "Ana Ruis", "--metric", "proposals")
    assert code == 1 and "did you mean 'Ana Ruiz'" in output
    code, output = cli("target", "set", "5", "--rep", "Ana Ruiz", "--metric", "win_rate")
    assert code == 1 and "metric: 'win_rate' is a ratio" in output
    code, output = cli("target", "list", "--period", "day")
    assert code == 1 and "--period: must be week, month, quarter, year" in output
    code, output = cli(*SEEDS_ARGS, "--save")
    assert code == 1 and "--save: targets are saved for the reps in the database" in output


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("70MM", 70_000_000),  # finance's million
        ("70 million", 70_000_000),
        ("70mio", 70_000_000),
        ("€70M", 70_000_000),
        ("1.2bn", 1_200_000_000),
        ("70,000,000", 70_000_000),
        ("2,500k", 2_500_000),
        ("70 000 000", 70_000_000),
        (".5M", 500_000),
    ],
)
def test_money_is_read_as_a_person_writes_it(typed: str, value: float) -> None:
    assert parse_amount("revenue", typed) == value


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("70,5M", "not a thousands separator"),  # 70.5M in Europe, 705M in the US: refused
        ("70.000.000", "not an amount"),
        ("70mil", "unknown scale 'mil'"),
        ("1,00", "not a thousands separator"),
        ("seventy", "not an amount"),
    ],
)
def test_money_that_reads_two_ways_is_refused(typed: str, reason: str) -> None:
    with pytest.raises(UserInputError, match=reason):
        parse_amount("revenue", typed)
