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

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from factories import (
    at,
    build_migration_in_the_run_window,
    build_some_wins_entered_after_close,
    build_wins_entered_after_close,
    east_and_west,
    put_deal,
)
from paceline.analytics.backtest import backtest
from paceline.analytics.forecast import forecast, prepare
from paceline.analytics.pipeline_history import ForecastScope, snapshot
from paceline.analytics.rate_uncertainty import learnt_uncertainty
from paceline.calendar import BusinessCalendar
from paceline.cli import app as cli_app
from paceline.config import Settings
from paceline.errors import UserInputError
from paceline.services.targets import TargetRow, save_targets

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
    forecast is made. The curves learn from 3 deals (Normal, Open, Open 2), 1 of them won;
    the 4 late wins are not in them (said apart: before, "7 deals, 5 won"); won so far in
    Q2: Late 4 and Late 5, 2,000."""
    cy = build_wins_entered_after_close(engine, settings)["Cy"]
    path = [("proposal", at(3, 1)), ("closed_won", at(3, 20))]
    put_deal(engine, cy, "Normal", 3000, at(3, 1), status="won", stage="closed_won",
             closed=at(3, 20), history=path)  # fmt: skip
    result = forecast(engine, settings, "quarter", JUNE_30, runs=500, seed=1)
    learnt = (result.history_deals, result.history_wins, result.wins_without_cycle)
    assert (*learnt, result.won_so_far) == (3, 1, 4, 2000.0)


def build_win_migrated_before_the_window(engine: Engine, settings: Settings) -> int:
    """Cy's deals for a forecast as of 2026-06-30 (history from 2025-07-01): "Migrated"
    (1,000), won on 2025-03-10 and re-created on the migration day, 2025-08-04, inside the
    window; "Lost" (2,000), created 2026-03-01, lost 2026-04-01, and "Open" (500), created
    2026-06-01, both through proposal. The window's own closes: Lost, no win."""
    cy = east_and_west(engine, settings)["Cy"]
    closed = at(3, 10, 2025)
    put_deal(engine, cy, "Migrated", 1000, at(8, 4, 2025), status="won", stage="closed_won",
             closed=closed, history=[("closed_won", closed)])  # fmt: skip
    path = [("proposal", at(3, 1)), ("closed_lost", at(4, 1))]
    put_deal(engine, cy, "Lost", 2000, at(3, 1), status="lost", stage="closed_lost",
             closed=at(4, 1), history=path)  # fmt: skip
    put_deal(engine, cy, "Open", 500, at(6, 1), stage="proposal", history=[("proposal", at(6, 1))])
    return cy


def test_a_win_closed_before_the_window_is_no_reason_to_refuse(
    engine: Engine, settings: Settings
) -> None:
    """Migrated is among the history's deals (created in the window) and won, entered after
    it closed; but it closed before the window, so it is no win of the window and would be
    in no curve however it had been entered. The window's wins: none, so none of them
    entered late (before: the history's wins counted, 1 of 1 entered late, and the forecast
    was refused, saying it was "won in the history (since 2025-07-01)"). The curves learn
    from Lost and Open (no win): a forecast of nothing more, won so far 0."""
    build_win_migrated_before_the_window(engine, settings)
    with engine.connect() as conn:
        snap = snapshot(conn, ForecastScope(None, None, None), dt.datetime(2026, 7, 1, 4),
                        dt.datetime(2025, 7, 1, 4))  # fmt: skip
    assert sorted(d.name for d in snap.history) == ["Lost", "Migrated", "Open"]
    assert (snap.won_entered_after_close, snap.won_with_cycle) == (0, 0)
    result = forecast(engine, settings, "quarter", JUNE_30, runs=500, seed=1)
    learnt = (result.history_deals, result.history_wins, result.wins_without_cycle)
    assert (*learnt, result.won_so_far, result.p90) == (2, 0, 0, 0.0, 0.0)


def test_deals_entered_after_they_closed_were_not_created_in_the_run_window(
    engine: Engine, settings: Settings
) -> None:
    """The five migrated deals were entered on 2026-05-04, but created some time before they
    closed in October 2025, before the run window: the deals created in it are Won A, Lost B
    and Open C, a run rate of 3 / 63 a business day (it read 8 / 63, the migration day
    counted as 5 new opportunities), and the creation rate's estimation error rests on those
    3 deals: 1/3 (it read 1/8). They are in no curve, so neither are they among the history's
    deals created."""
    build_migration_in_the_run_window(engine, settings)
    scope = ForecastScope(None, None, None)
    calendar = BusinessCalendar(settings.calendar)
    with engine.connect() as conn:
        inputs = prepare(conn, settings, scope, JUNE_30, calendar.period("quarter", JUNE_30),
                         use_plan=True)  # fmt: skip
    assert inputs.new_deals.source == "opportunity_run_rate"
    assert inputs.new_deals.opportunity_run_rate == pytest.approx(3 / 63)
    assert inputs.uncertainty.creation == pytest.approx(1 / 3)
    assert sorted(d.name for d in inputs.snap.created) == ["Lost B", "Open C", "Won A"]


def test_deals_entered_after_they_closed_do_not_hide_the_stage_history(
    engine: Engine, settings: Settings
) -> None:
    """The deals of the window that closed with a known creation, Won A and Lost B, both
    went through proposal: the stage history is a history, and Open C is read by its stage.
    Counted among the deals created, the five migrated ones (closed, their final stage alone)
    made 2 of 7 closed deals with an open stage, under half: the stage history was taken for
    a snapshot, and every open deal read by its age."""
    build_migration_in_the_run_window(engine, settings)
    result = forecast(engine, settings, "quarter", JUNE_30, runs=500, seed=1)
    assert result.by_stage
    assert [d.stage for d in result.open_deals] == ["proposal"]


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
    four rows forecasting 0 for an actual 0, scored as hits). A deal created on December
    31st, after every cut-off, carries the deals' records to the end of Q4 (else both
    quarters would be skipped as partial, ending after the data)."""
    cy = build_wins_entered_after_close(engine, settings)["Cy"]
    put_deal(engine, cy, "Fresh", 100, at(12, 31), stage="proposal")
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


def test_the_cli_says_why_in_one_line(sqlite_engine: Engine, settings: Settings) -> None:
    url = str(sqlite_engine.url)
    build_wins_entered_after_close(sqlite_engine, settings)
    shown = CliRunner().invoke(
        cli_app, ["--db", url, "forecast", "--period", "quarter", "--as-of", "2026-06-30"]
    )
    assert shown.exit_code == 1, shown.output
    words = " ".join(shown.output.split())
    assert "forecast: the 4 deals won in the history (since 2025-07-01) were all entered" in words


def test_the_cli_says_the_chance_of_the_target_is_not_known(
    sqlite_engine: Engine, settings: Settings
) -> None:
    url = str(sqlite_engine.url)
    build_target_on_unlearnable_rep(sqlite_engine, settings)
    shown = CliRunner().invoke(
        cli_app, ["--db", url, "forecast", "--period", "quarter", "--as-of", "2026-06-30",
                  "--team", "East", "--runs", "500"]
    )  # fmt: skip
    assert shown.exit_code == 0, shown.output
    words = " ".join(shown.output.split())
    assert "Target 10.0k (revenue): chance of reaching it not known" in words
    assert "0% chance" not in words


def test_the_wins_left_out_of_the_curves_are_counted_apart(
    engine: Engine, settings: Settings
) -> None:
    """Normal won and Lost lost with known cycles, Open and Open 2 open: the curves learn
    from those 4 deals, 1 won; the 4 late wins (Late 2 to Late 5) are said apart (before:
    "8 deals, 5 won", as if the curves had learnt from them)."""
    build_some_wins_entered_after_close(engine, settings)
    result = forecast(engine, settings, "quarter", JUNE_30, runs=500, seed=1)
    assert (result.history_deals, result.history_wins, result.wins_without_cycle) == (4, 1, 4)


def test_the_win_share_uncertainty_is_of_the_closes_the_curves_learn_from(
    engine: Engine, settings: Settings
) -> None:
    """The closes the curves learn the win chance from: Normal (won) and Lost, 1 win of 2
    closes: the Jeffreys posterior Beta(1.5, 1.5), mean 1/2, relative variance
    (1 - 1/2) / (1/2 x 4) = 0.25. Counting the 4 late wins too gave 5 of 6: Beta(5.5, 1.5),
    mean 11/14, (3/14) / (11/14 x 8) = 3/88, an interval narrowed by wins no curve knows."""
    build_some_wins_entered_after_close(engine, settings)
    start = dt.datetime(2025, 7, 1, 4)  # midnight in New York, naive UTC
    with engine.connect() as conn:
        snap = snapshot(conn, ForecastScope(None, None, None), dt.datetime(2026, 7, 1, 4), start)
    assert learnt_uncertainty(snap, 10).win == pytest.approx(0.25)


LEARNT = (
    "Learnt from 4 deals watched since 2025-07-01 (1 won); 4 wins entered after they closed "
    "have no known cycle and are not in the curves."
)


def test_the_cli_says_what_the_curves_learnt_from(
    sqlite_engine: Engine, settings: Settings
) -> None:
    url = str(sqlite_engine.url)
    build_some_wins_entered_after_close(sqlite_engine, settings)
    shown = CliRunner().invoke(
        cli_app, ["--db", url, "forecast", "--period", "quarter", "--as-of", "2026-06-30",
                  "--runs", "500"]
    )  # fmt: skip
    assert shown.exit_code == 0, shown.output
    assert LEARNT in " ".join(shown.output.split())


def test_a_win_entered_after_the_as_of_day_is_not_won_so_far(
    engine: Engine, settings: Settings
) -> None:
    """Read as of June 30, Q2's won so far is what the CRM held that day: "Known", won June 10
    (3,000), and not "Later", won June 20 but entered on July 2 (5,000), which no deal of the
    forecast's snapshot, nor the flow's revenue won, knows then (it said 8,000, "known: won in
    the period up to the as-of day")."""
    cy = east_and_west(engine, settings)["Cy"]
    path = [("proposal", at(5, 1)), ("closed_won", at(6, 10))]
    put_deal(engine, cy, "Known", 3000, at(5, 1), status="won", stage="closed_won",
             closed=at(6, 10), history=path)  # fmt: skip
    put_deal(engine, cy, "Later", 5000, at(7, 2), status="won", stage="closed_won",
             closed=at(6, 20))  # fmt: skip
    result = forecast(engine, settings, "quarter", JUNE_30, runs=500, seed=1)
    assert (result.won_so_far, result.won_without_amount) == (3000, 0)
