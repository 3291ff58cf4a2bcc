"""A forecast of open deals whose history holds no closed deal at all (the Pipedrive and
Close samples: every deal open). The curves would read a 0% chance for every open deal and
P10 = P50 = P90 = won so far: no measurement, so the forecast refuses, naming why, as it does
when every win's sales cycle is unknown (`test_forecast_late_wins.py`). A true 0 is kept: no
open deal at all (`test_forecast.py`'s `test_no_deals_gives_zero`), and a history of closed
deals all lost (0 won of 2 is measured). Hand-built on `factories.east_and_west`; the history
of a forecast as of 2026-06-30 starts on 2025-07-01."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from factories import at, east_and_west, put_deal
from paceline.analytics.forecast import forecast
from paceline.config import Settings
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


def test_closed_deals_all_lost_are_a_measured_zero(engine: Engine, settings: Settings) -> None:
    """Two proposals lost in the window: 0 won of 2 is measured, the forecast is made and
    nothing more is expected won from the open deals."""
    cy = east_and_west(engine, settings)["Cy"]
    for name, start, end in (("Lost A", 2, 3), ("Lost B", 3, 4)):
        path = [("proposal", at(start, 1)), ("closed_lost", at(end, 1))]
        put_deal(engine, cy, name, 1000, at(start, 1), status="lost", stage="closed_lost",
                 closed=at(end, 1), history=path)  # fmt: skip
    open_deals(engine, cy)
    result = forecast(engine, settings, "quarter", JUNE_30, runs=200, seed=1)
    assert (result.history_deals, result.history_wins) == (4, 0)
    assert sorted(d.amount for d in result.open_deals) == [1000, 2000]
    assert {d.win_probability for d in result.open_deals} == {0.0}
