"""A scope whose own deals were all lost, in an organisation whose data records wins: the
forecast and the backtest read it the same way. The forecast shows a measured 0 of n (its
open deals won at the share's posterior, `test_forecast_measured_zero.py`); the backtest
scores that forecast at the same cut-off, where until 2026-12-07 it skipped the cut-off ("no
deal won before the cut-off"), so the 0 the forecast printed was never measured against what
the scope then won.

And `step_rules.wins_recorded` in a configuration without a deals-won count metric: it
read "recorded" whatever the data held, so a history of losses alone was forecast as 0%
instead of refused; it reads the won deals themselves now.

Hand-built on `factories.east_and_west`. Cy (East) lost "Lost A" (created 2025-09-01, lost
2025-10-15) and "Lost B" (2025-11-03, lost 2026-01-20), and had "Open C" (1,500, a
proposal since 2026-03-02), won on 2026-06-10. Dee (West) won 700 on 2025-12-10 (created
2025-11-01). A prospect of Cy's created on 2026-06-30 takes the deals' records to the end of
Q2. Q2 2026's middle cut-off is the end of 2026-05-15: East's history then is Cy's two
losses (a measured 0 of 2), so East's Q2 forecast has P50 0 and, since 2026-12-07, a P90 of
Open C's 1,500 (it read P10 = P50 = P90 = 0), and East won 1,500 in Q2."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from factories import at, east_and_west, login, made_app, put_deal, quick_user
from factories import cli_with_config as cli
from paceline.analytics.backtest import backtest
from paceline.analytics.forecast import forecast
from paceline.analytics.report import team_report
from paceline.analytics.step_rules import wins_recorded
from paceline.cli import out as cli_out
from paceline.config import Settings, default_config_text
from paceline.errors import UnlearnableError

MAY_15 = dt.date(2026, 5, 15)  # Q2's middle cut-off
JUNE_30 = dt.date(2026, 6, 30)
CY_WON = 1500.0  # East's actual for Q2: Open C, won on 2026-06-10
MEASURED_ZERO = "with none of 2 closes won, a deal closing in time is won 1 time in 6"


def east_lost_west_won(engine: Engine, settings: Settings) -> dict[str, int]:
    reps = east_and_west(engine, settings)
    cy, dee = reps["Cy"], reps["Dee"]
    for name, created, closed in (
        ("Lost A", at(9, 1, 2025), at(10, 15, 2025)),
        ("Lost B", at(11, 3, 2025), at(1, 20)),
    ):
        path = [("proposal", created), ("closed_lost", closed)]
        put_deal(engine, cy, name, 1000, created, status="lost", stage="closed_lost",
                 closed=closed, history=path)  # fmt: skip
    path = [("proposal", at(3, 2)), ("closed_won", at(6, 10))]
    put_deal(engine, cy, "Open C", CY_WON, at(3, 2), status="won", stage="closed_won",
             closed=at(6, 10), history=path)  # fmt: skip
    put_deal(engine, dee, "Won", 700, at(11, 1, 2025), status="won", stage="closed_won",
             closed=at(12, 10, 2025),
             history=[("proposal", at(11, 1, 2025)), ("closed_won", at(12, 10, 2025))])  # fmt: skip
    put_deal(engine, cy, "Fresh", 500, at(6, 30), stage="prospect",
             history=[("prospect", at(6, 30))])  # fmt: skip
    return reps


def test_the_forecast_and_the_backtest_read_a_lost_scope_alike(
    engine: Engine, settings: Settings
) -> None:
    """As of 2026-05-15 East's forecast of Q2 is a measured 0 of 2, nothing won so far. Open
    C (74.5 days a proposal) closes in time for sure: Lost B, the one proposal of the history
    still open that long, closed at 78 days. So it is won with the share's posterior mean,
    1/6 (Beta(1/2, 5/2): 0 wins of 2 closes, the Jeffreys prior), where it read 0%; P50 stays
    0 (5 runs in 6 win nothing) and P90 is its 1,500 (1 in 6 is over 1 in 10), where it read
    0. The backtest's Q2 row at the same cut-off is that forecast, scored against the 1,500
    East won: inside P10-P90 now (it was outside), a WAPE of 100% all the same. Its start
    cut-off (2026-03-31) reads the same two losses (both closed within the 91 days left of
    Open C's 29.5) and scores the same."""
    east_lost_west_won(engine, settings)
    made = forecast(engine, settings, "quarter", MAY_15, team="East", runs=200, seed=1)
    assert (made.history_deals, made.history_wins, made.wins_recorded) == (3, 0, True)
    assert [(d.amount, d.win_probability) for d in made.open_deals] == [
        (CY_WON, pytest.approx(1 / 6))
    ]
    assert (made.won_so_far, made.p10, made.p50, made.p90) == (0, 0, 0, CY_WON)
    replay = backtest(
        engine, settings, "quarter", team="East", periods=1, as_of=JUNE_30, runs=200, seed=1
    )
    assert replay.skipped == []
    assert [(r.cutoff, r.p10, r.p50, r.p90, r.actual) for r in replay.rows] == [
        (dt.date(2026, 3, 31), 0, 0, CY_WON, CY_WON),
        (MAY_15, 0, 0, CY_WON, CY_WON),
    ]
    middle = replay.rows[1]
    assert (middle.p10, middle.p50, middle.p90) == (made.p10, made.p50, made.p90)
    paceline = replay.scores[0]
    assert (paceline.method, paceline.forecasts, paceline.wape, paceline.coverage) == (
        "paceline", 2, 1.0, 1.0,
    )  # fmt: skip


def test_a_scope_with_nothing_closed_is_refused_and_skipped_alike(
    engine: Engine, settings: Settings
) -> None:
    """Ana's one deal (a proposal since 2025-09-01) never closed: nothing of hers was
    measured, so her forecast as of 2026-05-15 refuses, and the backtest skips that cut-off
    with the forecast's own reason (before: "no deal won before the cut-off")."""
    reps = east_lost_west_won(engine, settings)
    put_deal(engine, reps["Ana"], "Open", 900, at(9, 1, 2025), stage="proposal",
             history=[("proposal", at(9, 1, 2025))])  # fmt: skip
    reason = (
        "no deal in the history (since 2025-05-16) has closed, won or lost, with a known sales"
        " cycle, so no chance of a win can be learnt for the open deal; import the closed"
        " deals, or forecast once some have closed"
    )
    with pytest.raises(UnlearnableError) as refused:
        forecast(engine, settings, "quarter", MAY_15, rep="Ana", runs=200, seed=1)
    assert refused.value.reason == reason
    replay = backtest(
        engine, settings, "quarter", rep="Ana", periods=1, as_of=JUNE_30, runs=200, seed=1
    )
    assert replay.rows == []
    assert [(s.cutoff, s.reason) for s in replay.skipped][1] == (MAY_15, reason)


def test_every_face_shows_the_measured_zero_and_scores_it(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI exits 0 for both, the API answers 200 with P50 0, P90 1,500 and two scored
    rows (no cut-off skipped), the page and the team report show the forecast; the terminal
    and the page say how the measured 0 is read (1 time in 6 = 1 / (2 x 2 + 2))."""
    east_lost_west_won(engine, settings)
    quick_user(engine, "root", "admin")
    monkeypatch.setattr(cli_out, "width", 400)
    config = tmp_path / "paceline.toml"
    config.write_text(default_config_text(), encoding="utf-8")
    common = ("--period", "quarter", "--team", "East", "--runs", "200")
    code, printed = cli(engine, config, "forecast", *common, "--as-of", MAY_15.isoformat())
    assert code == 0 and "P90 1,500" in printed and MEASURED_ZERO in printed, printed
    code, printed = cli(engine, config, "forecast", "--backtest", "--periods", "1", *common,
                        "--as-of", JUNE_30.isoformat())  # fmt: skip
    assert code == 0 and "Skipped" not in printed and "no deal won" not in printed, printed
    args = {"period": "quarter", "team": "East", "runs": "200"}
    with TestClient(made_app(settings, engine)) as client:
        login(client, engine, "root")
        answer = client.get("/api/v1/forecast", params={**args, "as_of": MAY_15.isoformat()})
        assert answer.status_code == 200, answer.text
        shown = answer.json()
        assert (shown["p50"], shown["p90"], shown["none_won_of"]) == (0, CY_WON, 2), shown
        page = client.get("/forecast", params={**args, "as_of": MAY_15.isoformat()})
        assert page.status_code == 200 and MEASURED_ZERO in page.text, page.text
        replay = client.get(
            "/api/v1/forecast/backtest",
            params={**args, "as_of": JUNE_30.isoformat(), "periods": "1"},
        ).json()
        assert (len(replay["rows"]), replay["skipped"]) == (2, []), replay
        assert [row["p50"] for row in replay["rows"]] == [0, 0]
        page = client.get(
            "/forecast", params={**args, "as_of": JUNE_30.isoformat(), "backtest": "1",
                                 "periods": "1"}
        )  # fmt: skip
        assert page.status_code == 200 and 'data-testid="backtest-table"' in page.text
        assert "Skipped:" not in page.text and "no deal won before" not in page.text
    report = team_report(engine, settings, "East", MAY_15)
    assert report.forecast is not None, report.forecast_note
    assert (report.forecast.p50, report.forecast.p90) == (0, CY_WON)


def without_deals_won(settings: Settings) -> Settings:
    """The configuration with no deals-won count metric (a team that tracks revenue only)."""
    kept = [
        m
        for m in settings.metrics
        if not (m.source == "deals" and m.status == "won" and m.aggregate == "count")
    ]
    return settings.model_copy(update={"metrics": kept})


def test_no_deals_won_metric_reads_the_won_deals_themselves(
    engine: Engine, settings: Settings
) -> None:
    """Losses only: no win is recorded, metric or none, so the forecast refuses (it used to
    forecast a 0% learnt from the 2 losses). Dee's win of 2025-12-10 makes wins recorded from
    the next day on, and not a day before."""
    reps = east_and_west(engine, settings)
    bare = without_deals_won(settings)
    for name, created, closed in (
        ("Lost A", at(9, 1, 2025), at(10, 15, 2025)),
        ("Lost B", at(11, 3, 2025), at(1, 20)),
    ):
        path = [("proposal", created), ("closed_lost", closed)]
        put_deal(engine, reps["Cy"], name, 1000, created, status="lost", stage="closed_lost",
                 closed=closed, history=path)  # fmt: skip
    with engine.connect() as conn:
        assert wins_recorded(conn, bare, JUNE_30) is False
    with pytest.raises(UnlearnableError, match="no won deal is recorded up to 2026-06-30"):
        forecast(engine, bare, "quarter", JUNE_30, runs=200, seed=1)
    put_deal(engine, reps["Dee"], "Won", 700, at(11, 1, 2025), status="won",
             stage="closed_won", closed=at(12, 10, 2025),
             history=[("proposal", at(11, 1, 2025)), ("closed_won", at(12, 10, 2025))])  # fmt: skip
    with engine.connect() as conn:
        assert wins_recorded(conn, bare, dt.date(2025, 12, 10)) is False
        assert wins_recorded(conn, bare, dt.date(2025, 12, 11)) is True
