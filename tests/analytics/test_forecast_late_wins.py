"""A forecast whose history's wins were all entered after they closed (a migrated CRM: the
Salesforce sample org's 18 wins were created on the migration day, months after closing).
No curve learns from a win of unknown sales cycle, so the curves knew only the open deals:
a 0% chance of a win, the open pipeline and every new deal worth nothing, and the forecast
read P10 = P50 = P90 = won so far, certain that nothing more would be won. That is no
measurement: the forecast refuses, naming why, and a backtest skips such a cut-off instead
of scoring a 0 forecast against a 0 actual as a hit. Hand-built (`factories.
build_wins_entered_after_close`); business zone America/New_York."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from factories import at, build_wins_entered_after_close, put_deal
from paceline.analytics.backtest import backtest
from paceline.analytics.forecast import forecast
from paceline.cli import app as cli_app
from paceline.config import Settings
from paceline.errors import UserInputError
from paceline.services.targets import TargetRow, save_targets
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade

JUNE_30 = dt.date(2026, 6, 30)  # Q2 as of its last day; history from 2025-07-01


def test_a_forecast_whose_wins_all_have_unknown_cycles_is_refused(
    engine: Engine, settings: Settings
) -> None:
    build_wins_entered_after_close(engine, settings)
    with pytest.raises(UserInputError) as refused:
        forecast(engine, settings, "quarter", JUNE_30, runs=500, seed=1)
    message = str(refused.value)
    assert message.startswith("forecast: the 4 deals won in the history (since 2025-07-01)")
    assert "entered in the CRM after closing" in message


def test_one_win_with_a_known_cycle_is_enough_to_learn_from(
    engine: Engine, settings: Settings
) -> None:
    """ "Normal", won March 20 after 19 days (created March 1): the curves have a win; the
    forecast is made, its history 7 deals, 5 of them won; won so far in Q2: Late 4 and
    Late 5, 2,000."""
    cy = build_wins_entered_after_close(engine, settings)["Cy"]
    path = [("proposal", at(3, 1)), ("closed_won", at(3, 20))]
    put_deal(engine, cy, "Normal", 3000, at(3, 1), status="won", stage="closed_won",
             closed=at(3, 20), history=path)  # fmt: skip
    result = forecast(engine, settings, "quarter", JUNE_30, runs=500, seed=1)
    assert (result.history_deals, result.history_wins, result.won_so_far) == (7, 5, 2000.0)


def build_target_on_unlearnable_rep(engine: Engine, settings: Settings) -> None:
    """Ana, in Cy's team, won 5,000 on March 20 after 19 days: East's forecast can learn. The
    Q2 revenue target (10,000) covers Cy alone, whose wins all have unknown cycles."""
    reps = build_wins_entered_after_close(engine, settings)
    path = [("proposal", at(3, 1)), ("closed_won", at(3, 20))]
    put_deal(engine, reps["Ana"], "Ana won", 5000, at(3, 1), status="won", stage="closed_won",
             closed=at(3, 20), history=path)  # fmt: skip
    cy = reps["Cy"]
    with engine.begin() as conn:
        save_targets(conn, [TargetRow(cy, "revenue", "quarter", dt.date(2026, 4, 1), 10_000)])


def test_a_target_covering_only_unlearnable_reps_has_no_chance(
    engine: Engine, settings: Settings
) -> None:
    """Cy's own chance of reaching his target cannot be learnt, so it is not given (None;
    before: 0%, read from curves that knew no win). Won so far in Q2: Cy's Late 4 and Late 5,
    2,000."""
    build_target_on_unlearnable_rep(engine, settings)
    result = forecast(engine, settings, "quarter", JUNE_30, team="East", runs=500, seed=1)
    assert (result.won_so_far, result.target, result.untargeted_reps) == (2000.0, 10_000, ["Ana"])
    assert result.probability_of_target is None


def test_a_backtest_skips_the_cut_offs_it_could_not_learn_at(
    engine: Engine, settings: Settings
) -> None:
    """Q3 and Q4 2026 from their start and middle: at each cut-off the history's wins are
    the four late ones, so all four cut-offs are skipped with the reason, none scored (before:
    four rows forecasting 0 for an actual 0, scored as hits)."""
    build_wins_entered_after_close(engine, settings)
    result = backtest(
        engine, settings, "quarter", periods=2, as_of=dt.date(2026, 12, 31), runs=500, seed=1
    )
    assert result.rows == []
    assert [(s.period.start, s.point) for s in result.skipped] == [
        (dt.date(2026, 7, 1), "start"),
        (dt.date(2026, 7, 1), "middle"),
        (dt.date(2026, 10, 1), "start"),
        (dt.date(2026, 10, 1), "middle"),
    ]
    assert all("the 4 deals won in the history" in s.reason for s in result.skipped)


def test_the_cli_says_why_in_one_line(tmp_path: Path, settings: Settings) -> None:
    url = f"sqlite:///{tmp_path / 'late.db'}"
    engine = make_engine(url)
    upgrade(engine)
    build_wins_entered_after_close(engine, settings)
    shown = CliRunner().invoke(
        cli_app, ["--db", url, "forecast", "--period", "quarter", "--as-of", "2026-06-30"]
    )
    assert shown.exit_code == 1, shown.output
    words = " ".join(shown.output.split())
    assert "forecast: the 4 deals won in the history (since 2025-07-01) were all entered" in words


def test_the_cli_says_the_chance_of_the_target_is_not_known(
    tmp_path: Path, settings: Settings
) -> None:
    url = f"sqlite:///{tmp_path / 'late.db'}"
    engine = make_engine(url)
    upgrade(engine)
    build_target_on_unlearnable_rep(engine, settings)
    shown = CliRunner().invoke(
        cli_app, ["--db", url, "forecast", "--period", "quarter", "--as-of", "2026-06-30",
                  "--team", "East", "--runs", "500"]
    )  # fmt: skip
    assert shown.exit_code == 0, shown.output
    words = " ".join(shown.output.split())
    assert "Target 10.0k (revenue): chance of reaching it not known" in words
    assert "0% chance" not in words
