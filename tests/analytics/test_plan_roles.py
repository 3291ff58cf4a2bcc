"""Plans per role: each role carries the funnel steps it owns, handed over at the boundary,
and a rep's small per-day figure is shown per week or month, never rounded up to 1.

The two-role team is worked by hand: 1.2M revenue at 20k a deal is 60 deals; at 25%
proposal→deal, 50% held→proposal, 80% set→held, 20% conversation→set and 25%
call→conversation the team needs 240 proposals, 480 meetings held, 600 meetings set, 3,000
conversations and 12,000 calls in 2026 (253 business days, 5-day weeks). 3 SDRs own calls to
meetings set, 2 AEs meetings held to deals won (the default `[[roles]] funnel_steps`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from factories import DEMO_TODAY, demo_login
from paceline.analytics.plan import (
    GivenRate,
    MeasuredRate,
    MeasuredRates,
    Plan,
    PlanInput,
    RepWeight,
    build_plan,
    measure_rates,
    plan_period,
    plan_weights,
    round_figure,
)
from paceline.calendar import BusinessCalendar
from paceline.config import Settings

RATES = (
    GivenRate("proposals", "deals_won", 0.25),
    GivenRate("meetings_held", "proposals", 0.5),
    GivenRate("meetings_set", "meetings_held", 0.8),
    GivenRate("conversations", "meetings_set", 0.2),
    GivenRate("calls", "conversations", 0.25),
)


def rep(name: str, role: str) -> RepWeight:
    return RepWeight(None, name, role, "East", 1.0, 1.0, 1.0)


TEAM = (*(rep(f"SDR {i}", "sdr") for i in range(3)), *(rep(f"AE {i}", "ae") for i in range(2)))


def two_role_plan(settings: Settings, rates: tuple[GivenRate, ...] = RATES) -> Plan:
    inputs = PlanInput(1_200_000, 20_000, rates, 2026, reps=TEAM)
    return build_plan(settings, BusinessCalendar(settings.calendar), inputs)


def test_each_role_gets_the_steps_it_owns(settings: Settings) -> None:
    plan = two_role_plan(settings)
    assert plan.business_days == 253
    team = {s.metric: s.total.year for s in plan.steps}
    assert team == pytest.approx(
        {
            "deals_won": 60,
            "proposals": 240,
            "meetings_held": 480,
            "meetings_set": 600,
            "conversations": 3000,
            "calls": 12000,
        }
    )
    owners = {s.metric: s.owners for s in plan.steps}
    assert owners["calls"] == owners["meetings_set"] == ("sdr",)
    assert owners["meetings_held"] == owners["deals_won"] == ("ae",)
    assert plan.revenue_target.owners == ("ae",)
    per_rep = {s.metric: s.per_rep.year for s in plan.steps if s.per_rep}
    # SDRs: 12,000 / 3 calls, 3,000 / 3 conversations, 600 / 3 meetings set; AEs: halves.
    assert per_rep == pytest.approx(
        {
            "calls": 4000,
            "conversations": 1000,
            "meetings_set": 200,
            "meetings_held": 240,
            "proposals": 120,
            "deals_won": 30,
        }
    )
    assert plan.revenue_target.per_rep is not None
    assert plan.revenue_target.per_rep.year == pytest.approx(600_000)


def test_the_hand_over_links_the_roles_volumes(settings: Settings) -> None:
    plan = two_role_plan(settings)
    sdr_set = plan.step("meetings_set").per_rep
    ae_held = plan.step("meetings_held").per_rep
    assert sdr_set is not None and ae_held is not None
    # 3 SDRs x 200 meetings set x 80% shown = 480 = 2 AEs x 240 meetings held.
    assert 3 * sdr_set.year * 0.8 == pytest.approx(2 * ae_held.year) == pytest.approx(480)
    # A month: 3 x 16.67 = 50 meetings set; 50 x 80% = 40 = 2 x 20 held.
    assert sdr_set.month == pytest.approx(200 / 12) and ae_held.month == pytest.approx(20)


def test_per_rep_day_and_month_by_hand(settings: Settings) -> None:
    plan = two_role_plan(settings)
    calls = plan.step("calls")
    assert calls.per_rep_rounded is not None and calls.pace is not None
    # 4,000 / 253 = 15.81 calls a day → 16; 4,000 / 12 = 333.3 a month → 334.
    assert (calls.per_rep_rounded.day, calls.per_rep_rounded.month) == (16, 334)
    assert (calls.pace.per, calls.pace.every_days) == ("day", None)
    conversations = plan.step("conversations")
    assert conversations.per_rep_rounded is not None
    assert conversations.per_rep_rounded.day == 4  # 1,000 / 253 = 3.95


def test_aes_get_no_sdr_steps_and_sdrs_no_deals(settings: Settings) -> None:
    plan = two_role_plan(settings)
    for metric in ("calls", "conversations", "meetings_set"):
        assert "ae" not in plan.step(metric).owners
    for metric in ("meetings_held", "proposals", "deals_won", "revenue"):
        assert "sdr" not in plan.step(metric).owners


def test_a_small_per_day_figure_is_per_month_never_one_a_day(settings: Settings) -> None:
    deals = two_role_plan(settings).step("deals_won")
    assert deals.per_rep is not None and deals.per_rep_rounded is not None
    assert deals.pace is not None
    # 30 deals a year: 30 / 253 = 0.1186 a day, 0.593 a week, 2.5 a month.
    assert deals.per_rep_rounded.day == 0.12
    assert deals.per_rep_rounded.day != 1
    assert deals.pace.per == "month" and deals.pace.value == pytest.approx(2.5)
    assert deals.pace.every_days == pytest.approx(253 / 30)  # one every 8.4 business days
    proposals = two_role_plan(settings).step("proposals")
    assert proposals.pace is not None and proposals.pace.per == "week"  # 120 x 5 / 253 = 2.37
    assert proposals.pace.value == pytest.approx(120 * 5 / 253)


def test_round_figure_keeps_small_figures() -> None:
    assert round_figure(0.1186) == 0.12
    assert round_figure(0.9) == 0.9
    assert round_figure(1.0000000001) == 1
    assert round_figure(15.81) == 16
    assert round_figure(0.0) == 0


def test_a_hand_over_rate_above_one_is_allowed_only_between_roles(settings: Settings) -> None:
    """AEs hold meetings they booked themselves as well: 1,500 held per 1,000 set by SDRs."""

    def measured(upper: str, lower: str, num: float, den: float) -> MeasuredRate:
        return MeasuredRate(upper, lower, num / den, num, den)

    history = MeasuredRates(
        dt.date(2026, 6, 1),
        dt.date(2026, 12, 1),
        6,
        None,
        None,
        5,
        (measured("meetings_set", "meetings_held", 1500, 1000),),
        by_role=True,
    )
    given = tuple(r for r in RATES if r.upper != "meetings_set")
    inputs = PlanInput(1_200_000, 20_000, given, 2026, reps=TEAM)
    plan = build_plan(settings, BusinessCalendar(settings.calendar), inputs, history)
    # 480 meetings held ÷ 1.5 = 320 meetings set for the SDRs.
    assert plan.step("meetings_set").total.year == pytest.approx(320)
    assert plan.rates[2].hand_over and plan.rates[2].rate == pytest.approx(1.5)
    # The same figure measured on everyone pooled is a data fault, not a hand-over.
    pooled = dataclasses.replace(history, by_role=False)
    with pytest.raises(ValueError, match="above 1: these steps do not nest"):
        build_plan(settings, BusinessCalendar(settings.calendar), inputs, pooled)
    # Within one role (the AEs' proposals → deals won) a rate above 1 is refused.
    within = MeasuredRates(
        dt.date(2026, 6, 1),
        dt.date(2026, 12, 1),
        6,
        None,
        None,
        5,
        (measured("proposals", "deals_won", 120, 100),),
        by_role=True,
    )
    others = tuple(r for r in RATES if r.upper != "proposals")
    inputs = PlanInput(1_200_000, 20_000, others, 2026, reps=TEAM)
    with pytest.raises(ValueError, match=r"proposals→deals_won: measured 1\.2 .*above 1"):
        build_plan(settings, BusinessCalendar(settings.calendar), inputs, within)


def plan_form(csrf: str, **changes: Any) -> dict[str, Any]:
    return {"csrf": csrf, "revenue": "2M", "deal_size": "20k", "from_history": "yes", **changes}


def test_the_web_default_path_builds_a_plan_on_the_demo(client: TestClient) -> None:
    csrf = demo_login(client, "admin")
    page = client.post("/plan", data=plan_form(csrf))
    assert page.status_code == 200, page.text[page.text.find("plan-error") :][:400]
    assert 'data-testid="cascade"' in page.text
    assert "--rate" not in page.text and "=R)" not in page.text


def test_the_web_error_speaks_in_field_labels(client: TestClient) -> None:
    csrf = demo_login(client, "admin")
    page = client.post("/plan", data={"csrf": csrf, "revenue": "2M", "deal_size": "20k"})
    assert page.status_code == 422
    assert "“Calls → Conversations”" in page.text
    assert "Measure rates I leave blank from history" in page.text
    assert "=R" not in page.text and "calls:conversations" not in page.text


def test_the_default_path_plans_the_full_demo_per_role(
    demo_org: tuple[Engine, dict[str, Any]], settings: Settings
) -> None:
    """The web's default (every quota role, rates from history) on the full demo: it used to
    fail on meetings held above meetings set, all reps pooled."""
    engine, _ = demo_org
    calendar = BusinessCalendar(settings.calendar)
    period = plan_period(calendar, 2027)
    weights = plan_weights(engine, settings, period)
    measured = measure_rates(engine, settings, DEMO_TODAY, by_role=True)
    plan = build_plan(settings, calendar, PlanInput(2e6, 20e3, (), 2027, reps=weights), measured)
    hand_over = plan.rates[2]
    assert (hand_over.upper, hand_over.lower, hand_over.hand_over) == (
        "meetings_set",
        "meetings_held",
        True,
    )
    # Counted on the owners: meetings set by SDRs, meetings held by AEs.
    sdrs = measure_rates(engine, settings, DEMO_TODAY, role="sdr")
    aes = measure_rates(engine, settings, DEMO_TODAY, role="ae")
    assert hand_over.measured is not None
    assert hand_over.measured.denominator == sdrs.rates[2].denominator
    assert hand_over.measured.numerator == aes.rates[2].numerator
    # End to end: the SDRs' meetings set x the hand-over rate = the AEs' meetings held.
    sdr_weight = sum(w.weight for w in weights if w.role == "sdr")
    ae_weight = sum(w.weight for w in weights if w.role == "ae")
    sdr_set, ae_held = plan.step("meetings_set"), plan.step("meetings_held")
    assert sdr_set.per_rep is not None and ae_held.per_rep is not None
    assert sdr_set.per_rep.year * sdr_weight * hand_over.rate == pytest.approx(
        ae_held.per_rep.year * ae_weight
    )
    assert plan.step("calls").owners == ("sdr",) and plan.step("deals_won").owners == ("ae",)


def test_an_sdr_plan_on_the_web_gives_sdrs_no_deals(client: TestClient) -> None:
    csrf = demo_login(client, "admin")
    page = client.post("/plan", data=plan_form(csrf, role="sdr"))
    assert page.status_code == 200, page.text[page.text.find("plan-error") :][:400]
    rows = {
        metric: row
        for metric, row in re.findall(r'<tr data-metric="(\w+)">(.*?)</tr>', page.text, re.S)
    }
    assert (
        "not this plan&#39;s reps" in rows["deals_won"]
        or "not this plan's reps" in rows["deals_won"]
    )
    assert "not this plan" not in rows["calls"]
