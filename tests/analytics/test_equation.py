"""The revenue equation: hand-computed cases on SQLite and PostgreSQL, a property test, the
demo's planted weak closer, and the CLI, API and page.

The hand-built team (window "30d" as of 2026-11-18: local days 2026-10-20..2026-11-18):
- East AEs, each compared with the other three (a team of four):
  Ana  10 selling calls over 5 accounts, 2 wins (10k + 30k)          P=5 S/P=2 W/S=0.2    R/W=20k
  Ben  12 selling calls over 4 accounts, 1 win (20k)                  P=4 S/P=3 W/S=1/12   R/W=20k
  Cy    6 selling calls over 6 accounts, no deals                     P=6 S/P=1 W/S=0      R/W=-
  Dee   8 selling calls over 2 accounts, 1 giant win (1M, an outlier)  P=2 S/P=4 W/S=1/8    R/W=1M
  Medians: P 4.5, S/P 2.5, W/S (1/12 + 1/8)/2 = 5/48, R/W 20k (the 1M win does not move it);
  reference revenue 4.5 x 2.5 x 5/48 x 20,000 = 23,437.5.
- Not counted: Ana's calls without an Ask (a 6th account), her selling call before the window,
  her win closed before the window and her lost deal.
- Eve (AE, West: too few West AEs, so compared with all four East AEs): nothing in the window.
- Sam (SDR, East, the only SDR): 3 selling calls; he sourced one of Ana's wins, which
  credits Ana (the owner); no SDR wins anything, so his equation is not applicable.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator
from contextlib import nullcontext
from decimal import Decimal
from itertools import count
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, insert
from typer.testing import CliRunner

from factories import (
    AS_OF,
    NEW_YORK_NOON,
    Site,
    accounts,
    activity_row,
    make_site,
)
from paceline.analytics.aggregates import raw_reads
from paceline.analytics.diagnose import diagnose_rep
from paceline.analytics.equation import (
    FACTORS,
    decompose,
    equation_factors,
    revenue_equation,
)
from paceline.analytics.window import diagnosis_window
from paceline.cli import app as cli_app
from paceline.config import Settings
from paceline.describe import finding_text
from paceline.errors import UserInputError
from paceline.services.reps import add_rep
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade
from paceline.store.models import Activity, Deal

_external = count(1)


# --- helpers shared by the diagnosis test files ----------------------------------------------


def deal(
    rep_id: int,
    account_id: int | None,
    amount: int,
    closed: dt.date,
    status: str = "won",
    sourced_by: int | None = None,
) -> dict[str, Any]:
    return {
        "rep_id": rep_id,
        "sourced_by_id": sourced_by,
        "account_id": account_id,
        "name": f"deal {next(_external)}",
        "amount": Decimal(amount),
        "stage": "closed_won" if status == "won" else "closed_lost",
        "status": status,
        "created_at": dt.datetime(2026, 9, 1, 15),
        "closed_at": dt.datetime.combine(closed, NEW_YORK_NOON),
        "source": "test",
        "external_id": f"d{next(_external)}",
    }


# --- the hand-built team ---------------------------------------------------------------------


def build_team(engine: Engine, settings: Settings) -> dict[str, int]:
    upgrade(engine)
    reps = {
        name: add_rep(engine, settings, name, role, team=team)
        for name, role, team in [
            ("Ana", "ae", "East"),
            ("Ben", "ae", "East"),
            ("Cy", "ae", "East"),
            ("Dee", "ae", "East"),
            ("Eve", "ae", "West"),
            ("Sam", "sdr", "East"),
        ]
    }
    accts = accounts(engine, 20, "Account")
    day = dt.date(2026, 11, 10)
    rows: list[dict[str, Any]] = []

    def selling(rep: str, per_account: int, account_ids: list[int]) -> None:
        for a in account_ids:
            rows.extend(activity_row(reps[rep], day, account_id=a) for _ in range(per_account))

    selling("Ana", 2, accts[0:5])
    selling("Ben", 3, accts[5:9])
    selling("Cy", 1, accts[9:15])
    selling("Dee", 4, accts[15:17])
    selling("Sam", 3, accts[17:18])
    rows += [activity_row(reps["Ana"], day, ask=False, account_id=accts[19]) for _ in range(3)]
    rows.append(activity_row(reps["Ana"], dt.date(2026, 10, 1), account_id=accts[18]))
    rows.append(activity_row(reps["Eve"], dt.date(2026, 9, 1), account_id=accts[18]))
    deals = [
        deal(reps["Ana"], accts[0], 10_000, day, sourced_by=reps["Sam"]),
        deal(reps["Ana"], accts[1], 30_000, day),
        deal(reps["Ana"], accts[2], 50_000, dt.date(2026, 10, 5)),  # before the window
        deal(reps["Ana"], accts[3], 70_000, day, status="lost"),
        deal(reps["Ben"], accts[5], 20_000, day),
        deal(reps["Dee"], accts[15], 1_000_000, day),
    ]
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
        conn.execute(insert(Deal), deals)
    return reps


@pytest.fixture
def built(engine: Engine, settings: Settings) -> Engine:
    build_team(engine, settings)
    return engine


def window(settings: Settings, spec: str = "30d", as_of: dt.date = AS_OF) -> Any:
    return diagnosis_window(settings, spec, as_of)


def by_rep(built: Engine, settings: Settings, **scope: Any) -> dict[str, Any]:
    report = revenue_equation(built, settings, window(settings), **scope)
    return {eq.rep: eq for eq in report.reps}


REFERENCES = [4.5, 2.5, 5 / 48, 20_000.0]
REFERENCE_REVENUE = 4.5 * 2.5 * 5 / 48 * 20_000  # 23,437.5


def factors_of(eq: Any) -> dict[str, Any]:
    return {f.name: f for f in eq.factors}


def test_equation_by_hand(built: Engine, settings: Settings) -> None:
    eqs = by_rep(built, settings, team="East")
    assert list(eqs) == ["Ana", "Ben", "Cy", "Dee", "Sam"]
    ana = eqs["Ana"]
    assert (ana.prospects, ana.selling_activities, ana.wins, ana.revenue) == (5, 10, 2, 40_000)
    assert ana.peers == ["Ben", "Cy", "Dee"]
    assert [f.name for f in ana.factors] == [
        "prospects",
        "activities_per_prospect",
        "wins_per_activity",
        "revenue_per_win",
    ]
    assert [f.value for f in ana.factors] == pytest.approx([5, 2, 0.2, 20_000])
    assert [f.reference for f in ana.factors] == pytest.approx(REFERENCES)
    assert ana.reference_revenue == pytest.approx(23_437.5)
    assert ana.gap == pytest.approx(math.log(40_000 / 23_437.5))
    expected = [math.log(5 / 4.5), math.log(2 / 2.5), math.log(0.2 * 48 / 5), 0.0]
    assert [f.contribution for f in ana.factors] == pytest.approx(expected, abs=1e-12)
    assert ana.holding_back == "activities_per_prospect"  # the only factor below reference
    assert ana.zero_factor is None and ana.applicable and ana.reason is None
    assert ana.relative_revenue == pytest.approx(40_000 / 23_437.5)

    ben = eqs["Ben"]
    assert [f.value for f in ben.factors] == pytest.approx([4, 3, 1 / 12, 20_000])
    ben_parts = [math.log(4 / 4.5), math.log(3 / 2.5), math.log(0.8), 0.0]
    assert [f.contribution for f in ben.factors] == pytest.approx(ben_parts, abs=1e-12)
    assert ben.gap == pytest.approx(math.log(20_000 / 23_437.5))
    assert sum(ben_parts) == pytest.approx(ben.gap)
    assert ben.holding_back == "wins_per_activity"


def test_a_rep_with_no_deals_is_held_back_by_the_zero_factor(
    built: Engine, settings: Settings
) -> None:
    cy = by_rep(built, settings, rep="cy")["Cy"]
    assert (cy.prospects, cy.selling_activities, cy.wins, cy.revenue) == (6, 6, 0, 0)
    assert [f.value for f in cy.factors] == [6, 1, 0, None]
    assert cy.zero_factor == "wins_per_activity" and cy.holding_back == "wins_per_activity"
    assert cy.gap is None  # ln(0) is -infinity: not faked
    assert all(f.contribution is None for f in cy.factors)
    assert cy.reference_revenue == pytest.approx(REFERENCE_REVENUE)  # the peers are unchanged
    assert cy.applicable


def test_one_giant_win_does_not_move_the_medians(built: Engine, settings: Settings) -> None:
    eqs = by_rep(built, settings, team="East")
    dee = eqs["Dee"]
    assert dee.revenue == 1_000_000
    # Revenue per win: median of 20k, 20k and 1M is 20k (a mean would be 346,667).
    assert factors_of(dee)["revenue_per_win"].reference == pytest.approx(20_000)
    assert factors_of(dee)["revenue_per_win"].contribution == pytest.approx(math.log(50))
    assert dee.holding_back == "prospects"
    assert dee.gap == pytest.approx(math.log(1_000_000 / REFERENCE_REVENUE))
    for eq in eqs.values():
        if eq.applicable:
            assert eq.reference_revenue == pytest.approx(REFERENCE_REVENUE)


def test_no_prospects_is_a_zero_factor_and_sdrs_are_not_applicable(
    built: Engine, settings: Settings
) -> None:
    eqs = by_rep(built, settings)
    eve = eqs["Eve"]
    assert eve.peers == ["Ana", "Ben", "Cy", "Dee"]  # West has no other AE: organisation-wide
    assert eve.prospects == 0 and eve.selling_activities == 0
    # Nothing logged in the window: her prospects are unknown, not zero.
    assert eve.missing == "activities" and eve.zero_factor is None and eve.holding_back is None
    assert [f.value for f in eve.factors] == [None, None, None, None]
    # The reference is the median of the four who logged activity: 5, 4, 6, 2 -> 4.5.
    assert factors_of(eve)["prospects"].reference == 4.5
    assert eve.gap is None and all(f.contribution is None for f in eve.factors)

    sam = eqs["Sam"]
    assert not sam.applicable and sam.reason and "won a deal" in sam.reason
    assert (sam.prospects, sam.selling_activities, sam.wins, sam.revenue) == (1, 3, 0, 0)
    assert sam.gap is None and sam.holding_back is None and sam.zero_factor is None
    assert all(f.contribution is None for f in sam.factors)


def test_empty_window(built: Engine, settings: Settings) -> None:
    report = revenue_equation(built, settings, window(settings, "30d", dt.date(2026, 6, 30)))
    assert {eq.rep for eq in report.reps} == {"Ana", "Ben", "Cy", "Dee", "Eve", "Sam"}
    for eq in report.reps:
        assert (eq.prospects, eq.selling_activities, eq.wins, eq.revenue) == (0, 0, 0, 0)
        assert not eq.applicable and eq.gap is None


def test_bad_scope_is_a_clear_error(built: Engine, settings: Settings) -> None:
    with pytest.raises(UserInputError, match=r"^rep: no selling rep named 'Zed'"):
        revenue_equation(built, settings, window(settings), rep="Zed")
    with pytest.raises(UserInputError, match=r"^team: no team named 'Esat'.*East"):
        revenue_equation(built, settings, window(settings), team="Esat")
    with pytest.raises(UserInputError, match=r"^rep: "):  # Eve is not in East
        revenue_equation(built, settings, window(settings), team="East", rep="Eve")
    with pytest.raises(UserInputError, match=r"^period: "):
        window(settings, "fortnight")


# --- the pure decomposition ------------------------------------------------------------------


def test_decompose_by_hand() -> None:
    parts = decompose(10_000.0, [10, 5, 0.1, 2_000], [8, 5, 0.2, 1_000])
    assert parts.gap == pytest.approx(math.log(10_000 / 8_000))
    assert parts.contributions == pytest.approx([math.log(1.25), 0.0, math.log(0.5), math.log(2)])
    with pytest.raises(ValueError):
        decompose(0.0, [0, 5, 0.1, 2_000], [8, 5, 0.2, 1_000])
    assert equation_factors(5, 10, 2, 40_000) == (5.0, 2.0, 0.2, 20_000.0)
    assert equation_factors(0, 0, 0, 0) == (0.0, None, None, None)
    assert equation_factors(3, 6, 0, 0) == (3.0, 2.0, 0.0, None)


positive = st.floats(min_value=1e-3, max_value=1e6, allow_nan=False, allow_infinity=False)
counts = st.integers(min_value=1, max_value=100_000)


@given(
    prospects=counts,
    extra=st.integers(min_value=0, max_value=100_000),
    wins=counts,
    revenue=st.floats(min_value=1.0, max_value=1e10),
    references=st.lists(positive, min_size=4, max_size=4),
)
def test_contributions_add_up_to_the_gap(
    prospects: int, extra: int, wins: int, revenue: float, references: list[float]
) -> None:
    activities = prospects + extra  # each prospect had at least one selling activity
    factors = equation_factors(prospects, activities, wins, revenue)
    values = [float(v or 0.0) for v in factors]
    assert math.prod(values) == pytest.approx(revenue, rel=1e-9)
    parts = decompose(revenue, values, references)
    assert len(parts.contributions) == len(FACTORS)
    assert math.fsum(parts.contributions) == pytest.approx(parts.gap, abs=1e-9)
    assert parts.gap == pytest.approx(math.log(revenue / math.prod(references)), abs=1e-9)


@given(references=st.lists(positive, min_size=4, max_size=4))
def test_a_rep_equal_to_the_reference_has_no_gap(references: list[float]) -> None:
    parts = decompose(math.prod(references), references, references)
    assert parts.gap == pytest.approx(0.0, abs=1e-9)
    assert parts.contributions == pytest.approx([0.0] * 4, abs=1e-12)


# --- the demo --------------------------------------------------------------------------------


def test_demo_weak_closer_is_held_back_by_wins_per_activity(
    demo_org: tuple[Engine, dict[str, Any]], settings: Settings
) -> None:
    """Read over 180 days (the default diagnosis window).

    Over 90 days the demo's planted closer has 5 wins against 6 to 11 for the other AEs: too
    few deals for the planted win rate to dominate (wins per activity -0.08 there, behind
    activities per prospect at -0.21); from about 120 days on it holds the rep back.
    """
    engine, truth = demo_org
    planted = truth["planted"]
    w = diagnosis_window(settings, "180d", dt.date(2026, 11, 18))
    report = revenue_equation(engine, settings, w)
    eqs = {eq.rep: eq for eq in report.reps}
    weak = eqs[planted["weak_proposal_to_win"]]
    assert weak.applicable and weak.zero_factor is None
    assert weak.holding_back == "wins_per_activity"
    assert factors_of(weak)["wins_per_activity"].contribution < -0.3
    assert sum(f.contribution for f in weak.factors) == pytest.approx(weak.gap)
    # SDRs close nothing (deals credit their owner): not applicable; AEs and field reps are.
    roles = {eq.role: eq.applicable for eq in report.reps}
    assert roles == {"sdr": False, "ae": True, "field": True}


# --- deals without activities ----------------------------------------------------------------


ROSA_DEALS = (30_000, 40_000, 38_000, 46_000, 40_000)  # 194,000 from 5 wins: 38,800 per win


def add_deals_only_reps(engine: Engine, settings: Settings) -> None:
    """Rosa (AE, East): five won deals in the window and no activity logged at all (a CRM
    export of deals only). Pat (AE, East): admin logged, no selling: prospects really zero."""
    rosa = add_rep(engine, settings, "Rosa", "ae", team="East")
    pat = add_rep(engine, settings, "Pat", "ae", team="East")
    day = dt.date(2026, 11, 12)
    with engine.begin() as conn:
        conn.execute(insert(Deal), [deal(rosa, None, amount, day) for amount in ROSA_DEALS])
        conn.execute(insert(Activity), [activity_row(pat, day, kind="admin", ask=False)])


def test_deals_without_activities_say_what_is_missing(built: Engine, settings: Settings) -> None:
    add_deals_only_reps(built, settings)
    eqs = by_rep(built, settings, team="East")
    rosa = eqs["Rosa"]
    assert (rosa.wins, rosa.revenue) == (5, 194_000)
    assert rosa.missing == "activities"
    assert rosa.reason is not None and rosa.reason.startswith("no activities logged")
    # Before: prospects 0, "held back by prospects", "no prospects worked, so no revenue".
    assert rosa.zero_factor is None and rosa.holding_back is None and rosa.gap is None
    assert [f.value for f in rosa.factors] == [None, None, None, pytest.approx(38_800)]
    # Her peers: Ana, Ben, Cy, Dee and Pat (prospects 0: he logged work, none of it selling).
    assert factors_of(rosa)["prospects"].reference == 4  # 5, 4, 6, 2, 0; Rosa unknown
    # Revenue per win over Rosa 38.8k, Ana 20k, Ben 20k, Dee 1M (Cy and Pat won nothing).
    assert factors_of(rosa)["revenue_per_win"].reference == pytest.approx(29_400)
    pat = eqs["Pat"]
    assert pat.missing is None and pat.zero_factor == "prospects"


def test_a_deals_only_team_is_not_all_held_back_by_prospects(
    engine: Engine, settings: Settings
) -> None:
    upgrade(engine)
    day = dt.date(2026, 11, 12)
    deals = []
    for name, amounts in (("Ada", (10_000, 30_000)), ("Bo", (20_000,)), ("Cal", (5_000,) * 4)):
        rep = add_rep(engine, settings, name, "ae", team="North")
        deals += [deal(rep, None, amount, day) for amount in amounts]
    with engine.begin() as conn:
        conn.execute(insert(Deal), deals)
    eqs = by_rep(engine, settings)
    assert {eq.rep: eq.holding_back for eq in eqs.values()} == {
        "Ada": None,
        "Bo": None,
        "Cal": None,
    }
    assert all(eq.missing == "activities" for eq in eqs.values())
    # What the deals show is still there: revenue per win 20k, 20k, 5k (median 20k).
    assert [factors_of(eqs[n])["revenue_per_win"].value for n in ("Ada", "Bo", "Cal")] == [
        20_000,
        20_000,
        5_000,
    ]
    assert factors_of(eqs["Cal"])["revenue_per_win"].reference == 20_000


def test_diagnosis_of_a_rep_without_activities(built: Engine, settings: Settings) -> None:
    add_deals_only_reps(built, settings)
    brief = diagnose_rep(built, settings, window(settings), "Rosa")
    kinds = {(f.kind, f.subject) for f in brief.findings}
    assert ("missing_data", "activities") in kinds
    assert not {k for k in kinds if k[0] in ("zero_factor", "holding_back")}
    found = next(f for f in brief.findings if f.kind == "missing_data")
    assert (found.value, found.count) == (194_000, 5)
    assert finding_text(settings, brief, found) == (
        "No activities logged in this window: prospects and selling activity are unknown, not"
        " zero; the deals show 194,000 won in 5 deals from 2026-11-10, the first selling"
        " activity recorded (38,800 per win)"
    )


def test_selling_without_accounts_and_wins_without_selling(
    built: Engine, settings: Settings
) -> None:
    """Uma (AE, East): 3 selling calls naming no account and a 12,000 win: prospects unknown.
    Pat (AE, East): admin only, and an 8,000 win: no prospects, yet revenue."""
    uma = add_rep(built, settings, "Uma", "ae", team="East")
    pat = add_rep(built, settings, "Pat", "ae", team="East")
    day = dt.date(2026, 11, 12)
    with built.begin() as conn:
        conn.execute(insert(Activity), [activity_row(uma, day) for _ in range(3)])
        conn.execute(insert(Activity), [activity_row(pat, day, kind="admin", ask=False)])
        conn.execute(insert(Deal), [deal(uma, None, 12_000, day), deal(pat, None, 8_000, day)])
    eqs = by_rep(built, settings, team="East")
    assert eqs["Uma"].missing == "accounts" and eqs["Uma"].holding_back is None
    assert [f.value for f in eqs["Uma"].factors] == [None, None, pytest.approx(1 / 3), 12_000]
    assert eqs["Pat"].missing is None and eqs["Pat"].zero_factor == "prospects"
    texts = {}
    for name in ("Uma", "Pat"):
        brief = diagnose_rep(built, settings, window(settings), name)
        found = next(f for f in brief.findings if f.kind in ("missing_data", "zero_factor"))
        texts[name] = finding_text(settings, brief, found)
    assert texts["Uma"] == (
        "The selling activities in this window name no account: prospects are unknown, not"
        " zero; the deals show 12,000 won in 1 deal from 2026-11-10, the first selling activity"
        " recorded (12,000 per win)"
    )
    # Before: "no prospects worked, so no revenue" beside 8,000 won.
    assert texts["Pat"] == (
        "No prospects worked in this window, yet 8,000 won from 2026-11-10, the first selling"
        " activity recorded: the revenue equation cannot say which factor holds the rep back"
    )


def test_pages_of_a_rep_without_activities(built: Engine, settings: Settings) -> None:
    add_deals_only_reps(built, settings)
    site = make_site(built, settings, {"root": ("admin", None)})
    with site.client:
        params = {"period": "30d", "as_of": "2026-11-18", "rep": "Rosa"}
        equation = site.page("root", "/equation", **params)
        assert equation.status_code == 200
        note = equation.text.split('data-testid="equation-note">', 1)[1].split("</p>", 1)[0]
        assert note.startswith("No activities logged in this window") and "194k" in note
        assert "prospects at zero" not in equation.text
        brief = site.page("root", "/diagnose", **params)
        assert brief.status_code == 200
        assert "the deals show 194,000 won in 5 deals from 2026-11-10" in brief.text
        assert "no prospects worked" not in brief.text


# --- faces -----------------------------------------------------------------------------------


def test_cli_equation(tmp_path: Any, settings: Settings) -> None:
    url = f"sqlite:///{tmp_path / 'team.db'}"
    build_team(make_engine(url), settings)
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(cli_app, ["--db", url, *args])

    base = ("--period", "30d", "--as-of", "2026-11-18")
    data = json.loads(run("equation", "--team", "East", *base, "--json").output)
    assert [r["rep"] for r in data["reps"]] == ["Ana", "Ben", "Cy", "Dee", "Sam"]
    assert data["reps"][0]["gap"] == pytest.approx(math.log(40_000 / 23_437.5))
    assert data["reps"][0]["factors"][1]["contribution"] == pytest.approx(math.log(0.8))
    assert data["reps"][2]["zero_factor"] == "wins_per_activity"
    assert data["reps"][2]["gap"] is None
    shown = run("equation", "--rep", "Ben", *base)
    assert shown.exit_code == 0, shown.output
    assert "Wins per selling activity" in shown.output
    assert "holding back: wins_per_activity" in shown.output
    team_table = run("equation", *base)
    assert team_table.exit_code == 0 and "n/a" in team_table.output
    bad = run("equation", "--rep", "Zed", *base)
    assert bad.exit_code == 1 and "no selling rep named 'Zed'" in bad.output
    bad = run("equation", "--period", "fortnight")
    assert bad.exit_code == 1 and "period" in bad.output


@pytest.fixture
def site(built: Engine, settings: Settings) -> Iterator[Site]:
    users = {"root": ("admin", None), "ana": ("rep", "Ana"), "eve": ("rep", "Eve")}
    made = make_site(built, settings, users)
    with made.client:
        yield made


def test_equation_api_and_page(site: Site) -> None:
    params = {"period": "30d", "as_of": "2026-11-18"}
    reply = site.api("root", "/equation", team="East", **params)
    assert reply.status_code == 200, reply.text
    assert [r["rep"] for r in reply.json()["reps"]] == ["Ana", "Ben", "Cy", "Dee", "Sam"]
    mine = site.api("ana", "/equation", **params)  # a rep without `rep`: themself
    assert mine.status_code == 200 and [r["rep"] for r in mine.json()["reps"]] == ["Ana"]
    assert site.api("ana", "/equation", rep="Ben", **params).status_code == 403
    assert site.api("ana", "/equation", team="East", **params).status_code == 403
    bad = site.api("root", "/equation", period="fortnight")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "period"]
    unknown = site.api("root", "/equation", rep="Zed", **params)
    assert unknown.status_code == 404 and unknown.json()["detail"][0]["loc"] == ["query", "rep"]

    page = site.page("root", "/equation", rep="Ben", **params)
    assert page.status_code == 200
    assert 'data-figure="equation-figure"' in page.text and '"type": "waterfall"' in page.text
    assert "holding back" in page.text
    table = site.page("root", "/equation", **params)
    assert table.status_code == 200 and 'data-testid="equation-table"' in table.text
    assert site.page("ana", "/equation", rep="Ben", **params).status_code == 403
    assert site.page("eve", "/equation", team="East", **params).status_code == 403
    zero = site.page("root", "/equation", rep="Cy", **params)
    assert zero.status_code == 200 and "Wins per selling activity is zero" in zero.text
    assert 'data-figure="equation-figure"' not in zero.text  # nothing to split
    empty = site.page("ana", "/equation", period="30d", as_of="2026-06-30")
    assert empty.status_code == 200 and "No activities logged in this window" in empty.text


def add_reps_naming_few_accounts(engine: Engine, settings: Settings) -> dict[str, int]:
    """Lee (AE, East): 10 selling calls, 2 naming one account, 8 naming none (a CRM's calls
    to leads), and a 5,000 win. Max (AE, East): 20 selling calls, 19 over 4 accounts and 1
    naming none (5%), and a 6,000 win."""
    lee = add_rep(engine, settings, "Lee", "ae", team="East")
    max_ = add_rep(engine, settings, "Max", "ae", team="East")
    day = dt.date(2026, 11, 12)
    accts = accounts(engine, 5, "Named")
    rows = [activity_row(lee, day, account_id=accts[0]) for _ in range(2)]
    rows += [activity_row(lee, day) for _ in range(8)]
    rows += [activity_row(max_, day, account_id=accts[1 + i % 4]) for i in range(19)]
    rows.append(activity_row(max_, day))
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
        conn.execute(insert(Deal), [deal(lee, None, 5_000, day), deal(max_, None, 6_000, day)])
    return {"Lee": lee, "Max": max_}


@pytest.mark.parametrize("raw", [False, True], ids=["aggregates", "raw"])
def test_prospects_of_a_rep_whose_activities_seldom_name_an_account(
    built: Engine, settings: Settings, raw: bool
) -> None:
    """Before: Lee had "1 prospect, 10 selling activities per prospect", the product split
    wrongly between the two factors; now his prospects are unknown, and both reps say how
    many selling activities named no account."""
    add_reps_naming_few_accounts(built, settings)
    with raw_reads() if raw else nullcontext():
        eqs = by_rep(built, settings, team="East")
        brief = diagnose_rep(built, settings, window(settings), "Lee")
    lee, max_ = eqs["Lee"], eqs["Max"]
    assert (lee.prospects, lee.selling_activities, lee.selling_without_account) == (1, 10, 8)
    assert lee.missing == "accounts" and lee.holding_back is None and lee.gap is None
    assert [f.value for f in lee.factors] == [None, None, pytest.approx(0.1), 5_000]
    assert (max_.prospects, max_.selling_activities, max_.selling_without_account) == (4, 20, 1)
    assert max_.missing is None and [f.value for f in max_.factors][:2] == [4, 5]
    found = next(f for f in brief.findings if f.kind == "missing_data")
    assert finding_text(settings, brief, found) == (
        "8 selling activities in this window name no account (more than a tenth of them):"
        " prospects are unknown, not zero; the deals show 5,000 won in 1 deal from 2026-11-10,"
        " the first selling activity recorded (5,000 per win)"
    )


def test_cli_equation_says_how_many_name_no_account(tmp_path: Any, settings: Settings) -> None:
    url = f"sqlite:///{tmp_path / 'team.db'}"
    engine = make_engine(url)
    build_team(engine, settings)
    add_reps_naming_few_accounts(engine, settings)
    args = ["--db", url, "equation", "--team", "East", "--period", "30d", "--as-of", "2026-11-18"]
    shown = CliRunner().invoke(cli_app, args)
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.output.split())
    assert "Lee: 8 of 10 selling activities name no account: too many to count prospects by" in text
    assert "Max: 1 of 20 selling activities name no account: prospects count the accounts" in text
    data = json.loads(CliRunner().invoke(cli_app, [*args, "--json"]).output)
    lee = next(r for r in data["reps"] if r["rep"] == "Lee")
    assert lee["selling_without_account"] == 8 and lee["missing"] == "accounts"


# --- selling activities recorded from part-way through the window -----------------------------

Q1_END = dt.date(2026, 3, 31)  # "quarter" as of Q1's last day: 2026-01-01..2026-03-31
RECORDED_FROM = dt.date(2026, 2, 16)  # the CRM's calls start on this Monday


def build_late_recording(engine: Engine, settings: Settings, december_calls: int) -> None:
    """North AEs (a team of three: each compared with the other two), Q1 2026. Selling calls
    are recorded from Feb 16 on only; wins close all quarter long:
      Ann  20 calls over 4 accounts; wins Jan 12 (10k), Jan 20 (10k), Mar 10 (15k), Mar 20 (25k)
      Bo   10 calls over 5 accounts; wins Jan 14 (20k), Mar 12 (20k)
      Cid  30 calls over 6 accounts; wins Jan 8, 9, 15 (5k each), Feb 20 (30k)
    Before the window, Bo logged `december_calls` selling calls on 2025-12-15 and one on
    2025-10-01: one stray (1 of 61, under 5% of all, then 76 days without any), or, with 10
    in December (11 of 71), records from before the window (no late start)."""
    upgrade(engine)
    reps = {n: add_rep(engine, settings, n, "ae", team="North") for n in ("Ann", "Bo", "Cid")}
    accts = accounts(engine, 15, "North")
    rows: list[dict[str, Any]] = []
    for rep, per_account, account_ids in (
        ("Ann", 5, accts[0:4]),
        ("Bo", 2, accts[4:9]),
        ("Cid", 5, accts[9:15]),
    ):
        rows += [
            activity_row(reps[rep], RECORDED_FROM + dt.timedelta(days=k % 30), account_id=a)
            for a in account_ids
            for k in range(per_account)
        ]
    rows.append(activity_row(reps["Bo"], dt.date(2025, 10, 1), account_id=accts[4]))
    rows += [activity_row(reps["Bo"], dt.date(2025, 12, 15), account_id=accts[4])] * december_calls
    wins = [
        ("Ann", 10_000, (1, 12)), ("Ann", 10_000, (1, 20)), ("Ann", 15_000, (3, 10)),
        ("Ann", 25_000, (3, 20)), ("Bo", 20_000, (1, 14)), ("Bo", 20_000, (3, 12)),
        ("Cid", 5_000, (1, 8)), ("Cid", 5_000, (1, 9)), ("Cid", 5_000, (1, 15)),
        ("Cid", 30_000, (2, 20)),
    ]  # fmt: skip
    deals = [
        dict(
            deal(reps[rep], None, amount, dt.date(2026, *day)),
            created_at=dt.datetime(2025, 11, 2, 15),
        )
        for rep, amount, day in wins
    ]
    with engine.begin() as conn:
        conn.execute(insert(Activity), [dict(r, external_id=None) for r in rows])
        conn.execute(insert(Deal), deals)


def test_selling_recorded_from_mid_window_is_measured_from_then(
    engine: Engine, settings: Settings
) -> None:
    """The quarter's 10 wins over the 60 calls of its last six weeks read Ann 0.2 wins a call;
    from Feb 16, when the calls start, she won 2 in 20 (0.1). Every factor is read from then
    (revenue 40k, not 60k), so revenue is still their product:
      Ann  P 4  S/P 5  W/S 0.1   R/W 20k  -> 40k
      Bo   P 5  S/P 2  W/S 0.1   R/W 20k  -> 20k
      Cid  P 6  S/P 5  W/S 1/30  R/W 30k  -> 30k
    Medians 5, 5, 0.1, 20k: reference revenue 50k. The October call is a stray (1 of 61,
    then 76 days without any), so it does not make the calls recorded from before the window."""
    build_late_recording(engine, settings, december_calls=0)
    report = revenue_equation(engine, settings, window(settings, "quarter", Q1_END))
    assert (report.window.start, report.measured_from) == (dt.date(2026, 1, 1), RECORDED_FROM)
    eqs = {eq.rep: eq for eq in report.reps}
    assert {n: (e.wins, e.revenue, e.selling_activities) for n, e in eqs.items()} == {
        "Ann": (2, 40_000, 20),
        "Bo": (1, 20_000, 10),
        "Cid": (1, 30_000, 30),
    }
    assert [f.value for f in eqs["Ann"].factors] == pytest.approx([4, 5, 0.1, 20_000])
    assert [f.value for f in eqs["Cid"].factors] == pytest.approx([6, 5, 1 / 30, 30_000])
    assert [f.reference for f in eqs["Cid"].factors] == pytest.approx([5, 5, 0.1, 20_000])
    assert eqs["Ann"].reference_revenue == pytest.approx(50_000)
    assert eqs["Ann"].gap == pytest.approx(math.log(0.8))
    assert eqs["Ann"].holding_back == "prospects"
    parts = [math.log(6 / 5), 0.0, math.log(1 / 3), math.log(1.5)]
    assert [f.contribution for f in eqs["Cid"].factors] == pytest.approx(parts, abs=1e-12)
    assert eqs["Cid"].holding_back == "wins_per_activity"
    assert all(e.measured_from == RECORDED_FROM for e in eqs.values())


def test_selling_recorded_before_the_window_reads_the_whole_window(
    engine: Engine, settings: Settings
) -> None:
    """With 11 calls before the window (10 on Dec 15, 1 on Oct 1: 11 of 71, not strays) the
    calls were recorded before it: the six quiet weeks are real, and the whole quarter is
    read: Ann 4 wins over 20 calls (0.2), 60k."""
    build_late_recording(engine, settings, december_calls=10)
    report = revenue_equation(engine, settings, window(settings, "quarter", Q1_END))
    assert report.measured_from is None
    ann = next(eq for eq in report.reps if eq.rep == "Ann")
    assert (ann.wins, ann.revenue, ann.measured_from) == (4, 60_000, None)
    assert factors_of(ann)["wins_per_activity"].value == pytest.approx(0.2)


def test_faces_say_the_equation_is_measured_from_the_first_selling_call(
    tmp_path: Any, settings: Settings
) -> None:
    url = f"sqlite:///{tmp_path / 'late.db'}"
    engine = make_engine(url)
    build_late_recording(engine, settings, december_calls=0)
    said = "Measured from 2026-02-16, the first selling activity recorded"
    base = ["--db", url, "--period", "quarter", "--as-of", "2026-03-31"]
    runner = CliRunner()
    for args in (["equation", *base[2:]], ["equation", "--rep", "Ann", *base[2:]]):
        shown = runner.invoke(cli_app, [*base[:2], *args])
        assert shown.exit_code == 0, shown.output
        assert said in " ".join(shown.output.split())
    data = json.loads(runner.invoke(cli_app, [*base[:2], "equation", *base[2:], "--json"]).output)
    assert data["measured_from"] == "2026-02-16"
    assert [r["measured_from"] for r in data["reps"]] == ["2026-02-16"] * 3
    for scope in (["--rep", "Ann"], ["--team", "North"]):
        brief = runner.invoke(cli_app, [*base[:2], "diagnose", *scope, *base[2:]])
        assert brief.exit_code == 0, brief.output
        assert f"Revenue equation: {said}" in " ".join(brief.output.split())
    site = make_site(engine, settings, {"root": ("admin", None)})
    with site.client:
        params = {"period": "quarter", "as_of": "2026-03-31"}
        reply = site.api("root", "/equation", team="North", **params)
        assert reply.status_code == 200 and reply.json()["measured_from"] == "2026-02-16"
        for path, extra in (
            ("/equation", {}),
            ("/equation", {"rep": "Ann"}),
            ("/diagnose", {"rep": "Ann"}),
            ("/diagnose", {"team": "North"}),
        ):
            page = site.page("root", path, **params, **extra)
            assert page.status_code == 200
            assert 'data-testid="equation-measured-from"' in page.text and said in page.text
