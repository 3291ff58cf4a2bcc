"""Metric units: every metric prints in its own unit, and team totals pool ratios.

The hand-built team is the tracking team (`factories.build_tracking_team`) (November 2026, as
of the 18th), with won deals added for an average-deal-size ratio (revenue / deals won) that
used to print as a percentage:
- Ana (SDR, East): 22 calls, 14 connected. Two won deals: 2,000.00 and 3,732.40, so an
  average deal of 2,866.20 (it printed as "286620.0%").
- Ben (SDR, East): 5 calls, 5 connected. Dee (SDR, West): 14 calls, 14 connected.
- Cy (AE, East): one meeting held in October, no calls.
East's SDRs pooled: (14 + 5) / (22 + 5) = 19/27 = 70.4% connect rate (the mean of the reps'
rates would be 81.8%, their sum 163.6%); everyone's: 33/41.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert
from typer.testing import CliRunner

from factories import AS_OF, build_tracking_team, make_site
from paceline.analytics.leaderboard import leaderboard
from paceline.analytics.scorecard import team_scorecards
from paceline.cli import app
from paceline.config import ConfigError, Settings, default_config_text, parse_settings
from paceline.describe import metric_text
from paceline.store.engine import make_engine
from paceline.store.models import Deal
from paceline.web.common import fmt_metric

AVERAGE_DEAL = """
[[metrics]]
name = "average_deal"
label = "Average deal"
aggregate = "ratio"
numerator = "revenue"
denominator = "deals_won"

[[metrics]]
name = "minutes_per_call"
label = "Minutes per call"
aggregate = "ratio"
numerator = "logged_minutes"
denominator = "calls"

[[metrics]]
name = "calls_per_win"
label = "Calls per win"
aggregate = "ratio"
numerator = "calls"
denominator = "deals_won"
unit = "ratio"
"""


def with_connect_rate_paced(text: str) -> str:
    """SDRs paced on connect rate too, so the team scorecard has a ratio line to total."""
    old = 'key_metrics = ["conversations", "meetings_set", "opportunities_sourced"]'
    assert old in text
    return text.replace(old, 'key_metrics = ["conversations", "connect_rate"]')


def config_text() -> str:
    return with_connect_rate_paced(default_config_text()) + AVERAGE_DEAL


@pytest.fixture
def units_settings() -> Settings:
    return parse_settings(config_text(), origin="test")


def add_wins(engine: Engine, rep_id: int) -> None:
    closed = dt.datetime(2026, 11, 10, 17)
    rows = [
        {
            "rep_id": rep_id,
            "name": f"win {i}",
            "amount": Decimal(amount),
            "stage": "closed_won",
            "status": "won",
            "created_at": dt.datetime(2026, 10, 1, 15),
            "closed_at": closed,
            "source": "test",
            "external_id": f"units-win-{i}",
        }
        for i, amount in enumerate(("2000.00", "3732.40"))
    ]
    with engine.begin() as conn:
        conn.execute(insert(Deal), rows)


def test_units_come_from_the_definition_unless_configured(units_settings: Settings) -> None:
    units = {m.name: units_settings.metric_unit(m.name) for m in units_settings.metrics}
    assert units["calls"] == "count" and units["conversations"] == "count"
    assert units["revenue"] == "currency" and units["logged_minutes"] == "minutes"
    assert units["connect_rate"] == "percent" and units["win_rate"] == "percent"
    assert units["average_deal"] == "currency"  # money per deal is money, not a percentage
    assert units["minutes_per_call"] == "minutes"
    assert units["calls_per_win"] == "ratio"  # configured
    with pytest.raises(KeyError, match="unknown metric 'nope'"):
        units_settings.metric_unit("nope")


def test_a_unit_that_does_not_exist_is_a_clear_error() -> None:
    bad = config_text().replace('unit = "ratio"', 'unit = "furlongs"')
    with pytest.raises(ConfigError, match="unit"):
        parse_settings(bad, origin="test")


def test_figures_print_in_their_unit() -> None:
    assert metric_text(2_866.2, "currency") == "2,866"
    assert metric_text(0.17, "percent") == "17.0%"
    assert metric_text(2.4, "ratio") == "2.40"
    assert metric_text(45, "minutes") == "45 min"
    assert metric_text(12, "count") == "12"
    assert metric_text(None, "percent") == ""
    assert fmt_metric(2_866.2, "currency") == "2,866"
    assert fmt_metric(0.17, "percent") == "17%"
    assert fmt_metric(2.4, "ratio") == "2.40"
    # the compact form is the same formatter's (pages and reports), by hand:
    assert metric_text(28_740, "currency", compact=True) == "28.7k"
    assert metric_text(1_250_000, "currency", compact=True) == "1.25M"
    assert metric_text(0.125, "percent", compact=True) == "12%"  # half to even, as Python does
    assert metric_text(7.25, "minutes", compact=True) == "7.2 min"
    assert fmt_metric(28_740, "currency") == "28.7k"
    assert fmt_metric(None, "currency") == "\u2013"


def test_average_deal_is_money_on_the_leaderboard(engine: Engine, units_settings: Settings) -> None:
    ids = build_tracking_team(engine, units_settings)
    add_wins(engine, ids["Ana"])
    board = leaderboard(engine, units_settings, "average_deal", "month", AS_OF)
    assert board.unit == "currency"
    ana = next(r for r in board.rows if r.rep == "Ana")
    assert ana.value == pytest.approx(2_866.2)
    assert board.total == pytest.approx(2_866.2)  # 5,732.40 over 2 wins, pooled


def test_team_totals_pool_ratios(engine: Engine, units_settings: Settings) -> None:
    build_tracking_team(engine, units_settings)
    east = team_scorecards(engine, units_settings, "month", AS_OF, team="East")
    total = {line.metric: line for line in east.total}
    rate = total["connect_rate"]  # before: left out of the total
    assert rate.is_ratio and rate.unit == "percent"
    assert rate.pace.actual == pytest.approx(19 / 27)
    assert rate.pace.target is None and rate.pace.status == "no_target"
    assert total["conversations"].pace.actual == 19 and total["conversations"].unit == "count"
    board = leaderboard(engine, units_settings, "connect_rate", "month", AS_OF)
    assert board.total == pytest.approx(33 / 41)
    assert (board.total_numerator, board.total_denominator) == (33, 41)


def test_cli_prints_by_unit_and_pooled_totals(tmp_path: Path, units_settings: Settings) -> None:
    url = f"sqlite:///{tmp_path / 'team.db'}"
    engine = make_engine(url)
    ids = build_tracking_team(engine, units_settings)
    add_wins(engine, ids["Ana"])
    config = tmp_path / "paceline.toml"
    config.write_text(config_text(), "utf-8")
    runner = CliRunner()

    def run(*args: str) -> Any:
        result = runner.invoke(app, ["--db", url, "--config", str(config), *args])
        assert result.exit_code == 0, result.output
        return " ".join(result.output.split())

    board = run("leaderboard", "average_deal", "--as-of", "2026-11-18")
    assert "2,866" in board and "%" not in board  # before: "286620.0%"
    rates = run("leaderboard", "connect_rate", "--as-of", "2026-11-18")
    assert "63.6%" in rates and "80.5%" in rates  # Ana 14/22; everyone pooled 33/41
    team = run("scorecard", "--team", "East", "--as-of", "2026-11-18")
    assert "70.4%" in team  # East's pooled connect rate in the total


def test_leaderboard_page_prints_money_and_the_pooled_total(
    engine: Engine, units_settings: Settings
) -> None:
    ids = build_tracking_team(engine, units_settings)
    add_wins(engine, ids["Ana"])
    site = make_site(engine, units_settings, {"root": ("admin", None)})
    with site.client:
        params = {"period": "month", "as_of": "2026-11-18"}
        money = site.page("root", "/leaderboard", metric="average_deal", **params)
        assert money.status_code == 200
        table = money.text.split('class="compact board-table"', 1)[1].split("</table>", 1)[0]
        assert "2,866" in table and "%" not in table  # before: "286620%"
        rates = site.page("root", "/leaderboard", metric="connect_rate", **params).text
        total = rates.split('data-testid="board-total"', 1)[1].split("</tr>", 1)[0]
        assert "80%" in total and "33 / 41" in total  # everyone pooled
