"""Money sums exact to the cent on SQLite and PostgreSQL, in the analyses and the JSON faces.

SQLite keeps NUMERIC(16, 2) amounts as binary floats, so its SUM() and any sum of floats
after it drift: ten deals of 3,000,207.05 add up to 30,002,070.500000004 there, and the 40
amounts 1,000.35 ... 1,039.35 to 40,793.99999999997. The world, as of Wednesday 2026-07-15:

- Ana (East): 10 deals won in July of 3,000,207.05 each (created on their close day):
  30,002,070.50; 10 open deals of 3,000,207.05 created June 1-10: 30,002,070.50.
- Ben (East): 40 deals won in July of 1,000.35 + i (i = 0..39), created 30 days before their
  close: 40 x 1,000 + (0 + ... + 39) + 40 x 0.35 = 40,000 + 780 + 14 = 40,794.00; 40 open
  deals of the same amounts created in May: 40,794.00.

By hand: revenue won in July 30,002,070.50 + 40,794.00 = 30,042,864.50, and the open
pipeline the same 30,042,864.50. Every figure below is one of these, read exactly.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select
from typer.testing import CliRunner

from factories import api_tokens, at, bearer, calls_on, east_and_west, made_app, put_deal
from paceline.analytics.flow import pipeline_flow
from paceline.analytics.forecast import forecast
from paceline.analytics.money import cents, money_average, money_sum, money_total
from paceline.analytics.scorecard import team_scorecards
from paceline.analytics.stalled import stalled_deals
from paceline.analytics.window import diagnosis_window
from paceline.config import Settings
from paceline.store.models import Activity, Deal

AS_OF = dt.date(2026, 7, 15)
ANA_DEAL = 3_000_207.05
ANA_TOTAL = 30_002_070.50
BEN_TOTAL = 40_794.00
TOTAL = 30_042_864.50  # Ana's and Ben's


def build_awkward_amounts(engine: Engine, settings: Settings) -> dict[str, int]:
    reps = east_and_west(engine, settings)
    ana, ben = reps["Ana"], reps["Ben"]
    for i in range(10):
        closed = at(7, 1 + i % 9)
        put_deal(
            engine,
            ana,
            f"Won {i}",
            ANA_DEAL,
            closed,
            status="won",
            stage="closed_won",
            closed=closed,
            history=[("prospect", closed), ("closed_won", closed)],
        )
        opened = at(6, 1 + i)
        put_deal(
            engine,
            ana,
            f"Open {i}",
            ANA_DEAL,
            opened,
            stage="proposal",
            history=[("prospect", opened), ("proposal", opened + dt.timedelta(days=2))],
        )
    for i in range(40):
        closed, amount = at(7, 1 + i % 9), 1_000.35 + i
        created = closed - dt.timedelta(days=30)
        put_deal(
            engine,
            ben,
            f"Ben won {i}",
            amount,
            created,
            status="won",
            stage="closed_won",
            closed=closed,
            history=[("prospect", created), ("closed_won", closed)],
        )
        opened = at(5, 1 + i % 20)
        put_deal(
            engine,
            ben,
            f"Ben open {i}",
            amount,
            opened,
            stage="proposal",
            history=[("prospect", opened), ("proposal", opened + dt.timedelta(days=2))],
        )
    with engine.begin() as conn:
        rows = [
            *calls_on(ana, dt.date(2026, 7, 7), 5, "conversation"),
            *calls_on(ben, dt.date(2026, 7, 8), 4, "conversation"),
        ]
        conn.execute(insert(Activity), rows)
    return reps


# --- the helpers ------------------------------------------------------------------------------


def test_a_money_sum_reads_the_exact_cents_where_a_bare_sum_drifts(
    engine: Engine, settings: Settings
) -> None:
    build_awkward_amounts(engine, settings)
    with engine.connect() as conn:
        query = select(money_sum(Deal.amount)).where(Deal.status == "won")
        summed = conn.execute(query).scalar_one()
    assert isinstance(summed, Decimal)
    assert summed == Decimal("30042864.50")


def test_money_totals_and_averages_are_rounded_to_the_cent_once() -> None:
    assert money_total([0.1, 0.1, 0.1, 0.2]) == 0.5
    assert money_total([ANA_DEAL] * 10) == ANA_TOTAL  # a plain sum() reads ...500000004
    assert money_total([1.15, None, Decimal("2.20")]) == 3.35
    assert money_total([]) == 0.0
    assert cents(30_002_070.499999996) == ANA_TOTAL
    assert cents(None) == 0.0
    assert money_average(ANA_TOTAL, 10) == ANA_DEAL  # 30002070.5 / 10 reads ...0500000003
    assert money_average(1_000.0, 3) == pytest.approx(333.3333333)  # a mean need not be cents
    assert money_average(5.0, 0) is None


# --- the analyses -----------------------------------------------------------------------------


def test_the_flow_reads_revenue_won_and_open_pipeline_to_the_cent(
    engine: Engine, settings: Settings
) -> None:
    build_awkward_amounts(engine, settings)
    report = pipeline_flow(
        engine, settings, diagnosis_window(settings, "month", AS_OF), team="East"
    )
    assert report.won.value == TOTAL
    assert report.won.count == 50
    # In: Ana's July deals (Ben's were created in June); out: every win. Net -40,794.00.
    assert report.created.value == ANA_TOTAL
    assert report.net.value == -BEN_TOTAL
    assert report.weeks[-1].open_pipeline.value == TOTAL
    assert report.weeks[-1].won_in_quarter == TOTAL


def test_stalled_reads_the_open_value_to_the_cent(engine: Engine, settings: Settings) -> None:
    build_awkward_amounts(engine, settings)
    report = stalled_deals(engine, settings, AS_OF, team="East")
    assert report.open_value == TOTAL
    by_rep = {r.rep: r.open_value for r in report.by_rep}
    assert by_rep == {"Ana": ANA_TOTAL, "Ben": BEN_TOTAL}


def test_the_forecast_reads_won_so_far_and_open_value_to_the_cent(
    engine: Engine, settings: Settings
) -> None:
    build_awkward_amounts(engine, settings)
    result = forecast(engine, settings, "quarter", AS_OF, team="East", runs=200, seed=7)
    assert result.won_so_far == TOTAL
    assert result.open_value == TOTAL
    assert result.won_by_day[-1].amount == TOTAL
    for figure in (result.p10, result.p50, result.p90):  # shown rounded to the cent
        assert figure == round(figure, 2)


def test_a_team_scorecard_adds_its_reps_revenue_to_the_cent(
    engine: Engine, settings: Settings
) -> None:
    """Ana, Ben and Cy each win 0.10 in July: East's revenue is 0.30 (0.1 + 0.1 + 0.1 in
    floats reads 0.30000000000000004)."""
    reps = east_and_west(engine, settings)
    for name in ("Ana", "Ben", "Cy"):
        put_deal(
            engine,
            reps[name],
            f"{name} dime",
            0.10,
            at(7, 2),
            status="won",
            stage="closed_won",
            closed=at(7, 2),
        )
    card = team_scorecards(engine, settings, "month", AS_OF, "East")
    revenue = next(line for line in card.total if line.metric == "revenue")
    assert revenue.pace.actual == 0.30


# --- the JSON faces ---------------------------------------------------------------------------


def _cli_json(engine: Engine, *args: str) -> Any:
    from paceline.cli import app

    url = engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(app, ["--db", url, *args, "--as-of", AS_OF.isoformat(), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_the_cli_json_reads_the_exact_cents(engine: Engine, settings: Settings) -> None:
    build_awkward_amounts(engine, settings)
    flow = _cli_json(engine, "flow", "--team", "East", "--period", "month")
    assert (flow["won"]["value"], flow["net"]["value"]) == (TOTAL, -BEN_TOTAL)
    stalled = _cli_json(engine, "stalled", "--team", "East")
    assert (stalled["open_value"], stalled["value"]) == (TOTAL, TOTAL)
    assert {r["rep"]: r["open_value"] for r in stalled["by_rep"]} == {
        "Ana": ANA_TOTAL,
        "Ben": BEN_TOTAL,
    }
    predicted = _cli_json(engine, "forecast", "--team", "East", "--runs", "200")
    assert (predicted["won_so_far"], predicted["open_value"]) == (TOTAL, TOTAL)


def test_the_api_reads_the_exact_cents(engine: Engine, settings: Settings) -> None:
    build_awkward_amounts(engine, settings)
    token = api_tokens(engine, {"root": ("admin", None)})["root"]
    with TestClient(made_app(settings, engine)) as client:

        def get(path: str, **params: str) -> Any:
            answer = client.get(
                f"/api/v1{path}",
                params={"as_of": AS_OF.isoformat(), **params},
                headers=bearer(token),
            )
            assert answer.status_code == 200, answer.text
            return answer.json()

        flow = get("/flow", team="East", period="month")
        assert (flow["won"]["value"], flow["net"]["value"]) == (TOTAL, -BEN_TOTAL)
        assert get("/stalled", team="East")["open_value"] == TOTAL
        predicted = get("/forecast", team="East", runs="200")
        assert (predicted["won_so_far"], predicted["open_value"]) == (TOTAL, TOTAL)
