"""The forecast's and the backtest's money to the cent, as everywhere else in Paceline
(`analytics.money`). Before, the figures an analysis derived (an amount times a chance, an
average won size, revenue per day times the days left) reached the JSON, the downloads and
the page with arbitrary binary fractions (100.33333333333333).

Hand-built on `factories.east_and_west`: Ana won 100, 100 and 101 (closed April 10, April 20
and May 4, 2026: 301 won, an average of 301 / 3 = 100.333...); at the end of May 31 she has
two open deals, "Open" of 1,234.57 in prospect (the CRM's 5%) and "No amount" in proposal
with none recorded (valued at the average won size). The deals' records reach June 30.

- Q2's forecast as of May 31: won so far 301; average won amount 100.33; the deal without
  an amount: 100.33; open value 1,334.90.
- June's backtest from its start (cut-off May 31): run rate = won so far 0 + 301 won in the
  90 days before June 1, per day, x June's 30 days = 100.333... -> 100.33; weighted pipeline
  = 1,234.57 x 0.05 = 61.7285 -> 61.73 (the deal without an amount adds nothing)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from factories import (
    at,
    csv_rows,
    east_and_west,
    login,
    made_app,
    put_deal,
    quick_user,
    records_until,
)
from paceline.analytics.backtest import backtest
from paceline.analytics.forecast import forecast
from paceline.config import Settings
from paceline.serialize import to_jsonable

MAY_31, JUNE_30 = dt.date(2026, 5, 31), dt.date(2026, 6, 30)
FORECAST_MONEY = ("won_so_far", "expected_open", "expected_new", "mean", "p10", "p50", "p90",
                  "open_value")  # fmt: skip


def build(engine: Engine, settings: Settings) -> int:
    ana = east_and_west(engine, settings)["Ana"]
    records_until(engine, ana, JUNE_30)
    for name, amount, created, closed in (
        ("W1", 100, at(2, 2), at(4, 10)),
        ("W2", 100, at(2, 9), at(4, 20)),
        ("W3", 101, at(2, 16), at(5, 4)),
    ):
        path = [("proposal", created), ("closed_won", closed)]
        put_deal(engine, ana, name, amount, created, status="won", stage="closed_won",
                 closed=closed, history=path)  # fmt: skip
    put_deal(engine, ana, "Open", 1234.57, at(5, 17), stage="prospect",
             history=[("prospect", at(5, 17))])  # fmt: skip
    put_deal(engine, ana, "No amount", None, at(5, 19), stage="proposal",
             history=[("prospect", at(5, 19)), ("proposal", at(5, 22))])  # fmt: skip
    return ana


def in_cents(value: Any) -> bool:
    """A figure with no fraction of a cent (as a float prints: 100.33, not 100.333...)."""
    if value is None:
        return True
    exponent = Decimal(repr(float(value))).as_tuple().exponent
    return isinstance(exponent, int) and exponent >= -2


def test_the_forecast_money_is_to_the_cent(engine: Engine, settings: Settings) -> None:
    build(engine, settings)
    result = forecast(engine, settings, "quarter", MAY_31, runs=500, seed=1)
    assert (result.period.start, result.won_so_far) == (dt.date(2026, 4, 1), 301)
    assert result.new_deals.average_won_amount == 100.33
    amounts = {d.name: d.amount for d in result.open_deals}
    assert amounts == {"Open": 1234.57, "No amount": 100.33}
    assert result.open_value == 1334.90
    shown = to_jsonable(result)
    for name in FORECAST_MONEY:
        assert in_cents(shown[name]), (name, shown[name])
    n = shown["new_deals"]
    assert in_cents(n["expected_revenue"]) and in_cents(n["average_won_amount"])
    for deal in shown["open_deals"]:
        assert in_cents(deal["amount"]) and in_cents(deal["expected"]), deal
    for stage in shown["stages"]:
        assert in_cents(stage["expected_value"]) and in_cents(stage["open_value"]), stage
    # The sum of amount x chance over the open deals, rounded once (not the rounded parts).
    chance = {d.name: d.win_probability for d in result.open_deals}
    exact = 1234.57 * chance["Open"] + 301 / 3 * chance["No amount"]
    assert result.expected_open == float(round(Decimal(exact), 2))


def test_the_backtest_money_is_to_the_cent(engine: Engine, settings: Settings) -> None:
    build(engine, settings)
    result = backtest(engine, settings, "month", periods=1, as_of=JUNE_30, runs=500, seed=1,
                      points=("start",))  # fmt: skip
    (row,) = result.rows
    assert (row.cutoff, row.won_at_cutoff, row.actual) == (MAY_31, 0, 0)
    assert (row.run_rate, row.weighted_pipeline) == (100.33, 61.73)
    assert (row.open_value, row.open_without_amount) == (1334.90, 1)
    scores = {s.method: s.forecast for s in result.scores}
    assert (scores["run_rate"], scores["weighted_pipeline"]) == (100.33, 61.73)
    for name in ("p10", "p50", "p90", "mean"):
        assert in_cents(getattr(row, name)), name


def test_the_json_and_the_download_agree_to_the_cent(engine: Engine, settings: Settings) -> None:
    """The API's figures and the page's CSV download are the same cents."""
    build(engine, settings)
    quick_user(engine, "root", "admin")
    args = {"period": "quarter", "as_of": MAY_31.isoformat(), "runs": "500", "seed": "1"}
    with TestClient(made_app(settings, engine)) as client:
        login(client, engine, "root")
        shown = client.get("/api/v1/forecast", params=args).json()
        exported = client.get("/forecast/export.csv", params=args).text
        june = {**args, "period": "month", "as_of": JUNE_30.isoformat(), "periods": "1"}
        replay = client.get("/api/v1/forecast/backtest", params=june).json()
    summary = {r["figure"]: r["value"] for r in csv_rows(exported)}
    for name in ("expected_open", "expected_new", "mean", "p10", "p50", "p90"):
        assert Decimal(summary[name]) == Decimal(repr(shown[name])), name
        assert in_cents(shown[name]), name
    assert shown["new_deals"]["average_won_amount"] == 100.33
    start = [r for r in replay["rows"] if r["point"] == "start"]
    assert [(r["run_rate"], r["weighted_pipeline"]) for r in start] == [(100.33, 61.73)]
