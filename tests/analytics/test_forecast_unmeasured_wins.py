"""A forecast of open deals whose history holds no closed deal at all (the Pipedrive and
Close samples: every deal open). The curves would read a 0% chance for every open deal and
P10 = P50 = P90 = won so far: no measurement, so the forecast refuses, naming why, as it does
when every win's sales cycle is unknown (`test_forecast_late_wins.py`). A true 0 is kept: no
open deal at all (`test_forecast.py`'s `test_no_deals_gives_zero`). A history of closed deals
all lost is a measured 0 of n only when the organisation records a win somewhere; with no
win recorded at all it is refused too (`test_forecast_unrecorded_wins.py`). Hand-built on
`factories.east_and_west`; the history of a forecast as of 2026-06-30 starts on 2025-07-01."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from factories import at, csv_rows, east_and_west, login, made_app, put_deal, quick_user
from paceline.analytics.forecast import forecast
from paceline.cli import app as cli_app
from paceline.cli import out as cli_out
from paceline.config import Settings, default_config_text
from paceline.errors import UnlearnableError

JUNE_30 = dt.date(2026, 6, 30)


def open_deals(engine: Engine, rep: int) -> None:
    """Two open proposals, 1,000 and 2,000, created in June."""
    for name, amount, day in (("Open A", 1000, 3), ("Open B", 2000, 10)):
        put_deal(engine, rep, name, amount, at(6, day), stage="proposal",
                 history=[("proposal", at(6, day))])  # fmt: skip


def test_open_deals_with_no_closed_deal_in_the_history_are_refused(
    engine: Engine, settings: Settings
) -> None:
    open_deals(engine, east_and_west(engine, settings)["Cy"])
    with pytest.raises(UnlearnableError) as refused:
        forecast(engine, settings, "quarter", JUNE_30, runs=200, seed=1)
    assert str(refused.value) == (
        "forecast: no deal in the history (since 2025-07-01) has closed, won or lost, with a"
        " known sales cycle, so no chance of a win can be learnt for the 2 open deals; import"
        " the closed deals, or forecast once some have closed"
    )


def test_a_win_before_the_window_is_no_basis(engine: Engine, settings: Settings) -> None:
    """Won on 2025-03-10, closed before the history's first day: outside the window, as old
    as the window allows, so the open deals still have nothing to be compared with."""
    cy = east_and_west(engine, settings)["Cy"]
    put_deal(engine, cy, "Old win", 500, at(1, 5, 2025), status="won", stage="closed_won",
             closed=at(3, 10, 2025),
             history=[("proposal", at(1, 5, 2025)), ("closed_won", at(3, 10, 2025))])  # fmt: skip
    open_deals(engine, cy)
    with pytest.raises(UnlearnableError, match=r"no deal in the history \(since 2025-07-01\)"):
        forecast(engine, settings, "quarter", JUNE_30, runs=200, seed=1)


def lost_and_open(engine: Engine, settings: Settings) -> int:
    """Cy's two proposals lost in March and April, and the two open ones: no deal won, ever."""
    cy = east_and_west(engine, settings)["Cy"]
    for name, start, end in (("Lost A", 2, 3), ("Lost B", 3, 4)):
        path = [("proposal", at(start, 1)), ("closed_lost", at(end, 1))]
        put_deal(engine, cy, name, 1000, at(start, 1), status="lost", stage="closed_lost",
                 closed=at(end, 1), history=path)  # fmt: skip
    open_deals(engine, cy)
    return cy


def test_won_so_far_not_recorded_on_every_face(
    sqlite_engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """West has no deal, so its forecast is made (nothing to learn a chance for), and nobody
    has won a deal: won so far is "not recorded", not a known 0."""
    lost_and_open(sqlite_engine, settings)
    quick_user(sqlite_engine, "root", "admin")
    monkeypatch.setattr(cli_out, "width", 400)
    config = tmp_path / "paceline.toml"
    config.write_text(default_config_text(), encoding="utf-8")
    url = sqlite_engine.url.render_as_string(hide_password=False)
    base = ["--db", url, "--config", str(config), "forecast", "--period", "quarter",
            "--team", "West", "--as-of", JUNE_30.isoformat(), "--runs", "200"]  # fmt: skip
    printed = CliRunner().invoke(cli_app, base).output
    (row,) = [line for line in printed.splitlines() if "won so far" in line]
    assert "not recorded" in row, printed
    args = {"period": "quarter", "team": "West", "as_of": JUNE_30.isoformat(), "runs": "200"}
    with TestClient(made_app(settings, sqlite_engine)) as client:
        login(client, sqlite_engine, "root")
        page = client.get("/forecast", params=args).text
        exported = client.get("/forecast/export.csv", params=args).text
    assert 'data-testid="won-unrecorded">not recorded</span>' in page
    summary = {r["figure"]: r["value"] for r in csv_rows(exported)}
    assert summary["won_so_far"] == ""
