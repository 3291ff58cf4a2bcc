"""A forecast whose history holds lost deals and no won deal, ever (an export that left the
won deals out, a CRM that records only losses). The scorecard's deals won and the flow's
wins read "not recorded" then (`step_rules.wins_recorded`); the forecast used to learn a
measured-looking 0% per stage from the losses and print P10 = P50 = P90 = won so far.
One rule now: no win recorded, no win rate measured, so the forecast refuses with the
reason on every face (CLI status 1, API 422, the page and its download 422, the team report's
"not available"), and a backtest skips such a cut-off with the same words. A win anywhere in
the organisation's data, however old, makes the wins recorded, and the forecast is made.

Hand-built on `factories.east_and_west`: Cy (East) lost three deals between September 2025
and April 2026 and has two open proposals (1,000 and 2,000); a forecast as of 2026-06-30
reads the history since 2025-07-01."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from factories import at, east_and_west, login, made_app, put_deal, put_old_win, quick_user
from factories import cli_with_config as cli
from paceline.analytics.backtest import backtest
from paceline.analytics.forecast import forecast
from paceline.analytics.report import team_report
from paceline.cli import out as cli_out
from paceline.config import Settings, default_config_text
from paceline.errors import UnlearnableError
from paceline.reports.render import report_text

JUNE_30 = dt.date(2026, 6, 30)
REASON = (
    'no won deal is recorded up to 2026-06-30 (deals won read "not recorded", as on'
    " the scorecard), so no chance of a win can be measured from the history's 3 lost deals;"
    " import the won deals, or forecast once a deal is won"
)
REFUSED = f"forecast: {REASON}"
LOSSES = (  # name, created, closed (lost)
    ("Lost A", at(9, 1, 2025), at(10, 15, 2025)),
    ("Lost B", at(11, 3, 2025), at(1, 20)),
    ("Lost C", at(2, 2), at(4, 1)),
)


def lost_and_open(engine: Engine, settings: Settings) -> dict[str, int]:
    """Cy's three losses and two open proposals, and a prospect created on June 30th (so the
    deals' records reach the end of Q2, which a backtest of Q2 needs): no deal won, ever."""
    reps = east_and_west(engine, settings)
    cy = reps["Cy"]
    for name, created, closed in LOSSES:
        path = [("proposal", created), ("closed_lost", closed)]
        put_deal(engine, cy, name, 1000, created, status="lost", stage="closed_lost",
                 closed=closed, history=path)  # fmt: skip
    for name, amount, day in (("Open A", 1000, 3), ("Open B", 2000, 10)):
        put_deal(engine, cy, name, amount, at(6, day), stage="proposal",
                 history=[("proposal", at(6, day))])  # fmt: skip
    put_deal(engine, cy, "Fresh", 500, at(6, 30), stage="prospect",
             history=[("prospect", at(6, 30))])  # fmt: skip
    return reps


def won(engine: Engine, rep: int, created: dt.datetime, closed: dt.datetime) -> None:
    path = [("proposal", created), ("closed_won", closed)]
    put_deal(engine, rep, "Won", 700, created, status="won", stage="closed_won", closed=closed,
             history=path)  # fmt: skip


def test_lost_deals_and_no_win_ever_are_refused(engine: Engine, settings: Settings) -> None:
    lost_and_open(engine, settings)
    with pytest.raises(UnlearnableError) as refused:
        forecast(engine, settings, "quarter", JUNE_30, runs=200, seed=1)
    assert str(refused.value) == REFUSED
    with pytest.raises(UnlearnableError, match="3 lost deals"):  # the team's, and the rep's
        forecast(engine, settings, "quarter", JUNE_30, rep="Cy", runs=200, seed=1)


def test_only_lost_deals_and_none_open_are_refused_too(engine: Engine, settings: Settings) -> None:
    """Nothing open, but deals created in the history: the new deals' chance of a win is
    just as unmeasured (it would read 0 from the losses)."""
    cy = east_and_west(engine, settings)["Cy"]
    created, closed = at(2, 2), at(4, 1)
    put_deal(engine, cy, "Lost", 1000, created, status="lost", stage="closed_lost", closed=closed,
             history=[("proposal", created), ("closed_lost", closed)])  # fmt: skip
    with pytest.raises(UnlearnableError) as refused:
        forecast(engine, settings, "quarter", JUNE_30, runs=200, seed=1)
    assert "from the history's 1 lost deal;" in str(refused.value)


def test_one_win_in_the_organisation_makes_the_losses_a_measured_zero(
    engine: Engine, settings: Settings
) -> None:
    """Dee (West) won 700 on 2026-05-20: wins are recorded (the scorecard's rule is the
    organisation's), so East's forecast is made, and Cy's 3 losses of 3 are a measured 0%:
    nothing expected from his open deals, East has won nothing so far (a known 0)."""
    reps = lost_and_open(engine, settings)
    won(engine, reps["Dee"], at(5, 1), at(5, 20))
    result = forecast(engine, settings, "quarter", JUNE_30, team="East", runs=200, seed=1)
    assert (result.history_deals, result.history_wins) == (6, 0)
    assert sorted(d.amount for d in result.open_deals) == [500, 1000, 2000]
    assert {d.win_probability for d in result.open_deals} == {0.0}
    assert (result.won_so_far, result.wins_recorded) == (0, True)
    assert result.p10 == result.p50 == result.p90 == 0
    everyone = forecast(engine, settings, "quarter", JUNE_30, runs=200, seed=1)
    assert (everyone.won_so_far, everyone.history_wins, everyone.wins_recorded) == (700, 1, True)


def test_a_win_before_the_history_still_counts_as_recorded(
    engine: Engine, settings: Settings
) -> None:
    """Cy's win of 2024-03-10 (`put_old_win`) is older than the history (since 2025-07-01),
    but it is a won deal recorded: the scorecard's deals won are a count, so the forecast is
    made, and the 3 losses are a measured 0%."""
    put_old_win(engine, lost_and_open(engine, settings)["Cy"])
    result = forecast(engine, settings, "quarter", JUNE_30, runs=200, seed=1)
    assert (result.history_wins, result.won_so_far, result.wins_recorded) == (0, 0, True)
    assert {d.win_probability for d in result.open_deals} == {0.0}


def test_no_deal_at_all_in_the_scope_is_still_a_forecast_of_nothing(
    engine: Engine, settings: Settings
) -> None:
    """West (Dee) has no deal: nothing needs a chance of a win, so the forecast is made, a
    true 0, and its won so far is "not recorded" (nobody's win is)."""
    lost_and_open(engine, settings)
    result = forecast(engine, settings, "quarter", JUNE_30, team="West", runs=200, seed=1)
    assert (result.p50, result.expected_open, result.wins_recorded) == (0, 0, False)


def test_a_backtest_skips_the_cut_offs_with_no_win_recorded(
    engine: Engine, settings: Settings
) -> None:
    """Q2 2026 from its start (end of March 31st) and its middle (end of May 15th): no win
    recorded before either, so both are skipped with the forecast's words (before: "no deal
    won before the cut-off", the reason for a scope whose own deals have no win). With
    Dee's win of 2025-12-10 in the organisation, East's losses are a measured 0, as its
    forecast shows them, and both cut-offs are scored (until 2026-12-07 they were skipped,
    "no deal won before the cut-off": `test_forecast_scope_without_wins.py`)."""
    reps = lost_and_open(engine, settings)
    result = backtest(engine, settings, "quarter", periods=1, as_of=JUNE_30, runs=200, seed=1)
    assert result.rows == []
    assert [(s.cutoff, s.reason) for s in result.skipped] == [
        (day, f'no won deal is recorded up to {day} (deals won read "not recorded", as on the'
              " scorecard), so no chance of a win can be measured")
        for day in (dt.date(2026, 3, 31), dt.date(2026, 5, 15))
    ]  # fmt: skip
    won(engine, reps["Dee"], at(11, 1, 2025), at(12, 10, 2025))
    east = backtest(
        engine, settings, "quarter", team="East", periods=1, as_of=JUNE_30, runs=200, seed=1
    )
    assert east.skipped == []
    assert [(r.p50, r.actual) for r in east.rows] == [(0, 0), (0, 0)]  # Cy won nothing in Q2


def test_refused_on_every_face(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI exits 1 with the reason, the API and the page (and its download) answer 422
    with it, the team report says the forecast is not available and why; the backtest's CLI
    and API name the skipped cut-offs with the same words."""
    lost_and_open(engine, settings)
    quick_user(engine, "root", "admin")
    monkeypatch.setattr(cli_out, "width", 400)
    config = tmp_path / "paceline.toml"
    config.write_text(default_config_text(), encoding="utf-8")
    day = JUNE_30.isoformat()
    code, printed = cli(engine, config, "forecast", "--period", "quarter", "--as-of", day)
    assert (code, REFUSED in printed) == (1, True), printed
    code, printed = cli(engine, config, "forecast", "--backtest", "--periods", "1",
                        "--period", "quarter", "--as-of", day, "--runs", "200")  # fmt: skip
    assert code == 0, printed
    assert (
        "Skipped: quarter 2026-04-01..2026-06-30 (start): no won deal is recorded up to"
        ' 2026-03-31 (deals won read "not recorded", as on the scorecard)'
    ) in printed, printed
    args = {"period": "quarter", "as_of": day, "runs": "200"}
    with TestClient(made_app(settings, engine)) as client:
        login(client, engine, "root")
        answer = client.get("/api/v1/forecast", params=args)
        assert answer.status_code == 422 and answer.json()["detail"][0]["msg"] == REASON
        replay = client.get("/api/v1/forecast/backtest", params={**args, "periods": "1"})
        assert [s["reason"][:44] for s in replay.json()["skipped"]] == [
            "no won deal is recorded up to 2026-03-31 (de",
            "no won deal is recorded up to 2026-05-15 (de",
        ]
        for path in ("/forecast", "/forecast/export.csv"):
            page = client.get(path, params=args)
            text = page.text.replace("&#34;", '"').replace("&quot;", '"').replace("&#39;", "'")
            assert page.status_code == 422 and REFUSED in " ".join(text.split()), path
    report = team_report(engine, settings, "East", JUNE_30)
    assert (report.forecast, report.forecast_note) == (None, REFUSED)
    assert f"  not available: {REFUSED}" in report_text(settings, report).splitlines()
