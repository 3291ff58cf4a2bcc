"""A deal closed at the very instant the forecast's history window starts: a close *date* on
the window's first day, stored as that day's midnight (the Zoho export as of 2021-03-31 has
one, won 2020-04-01). The summary counted it among the history's deals and wins while the
curves dropped it as a stay of no length: "learnt from 3,355 deals (1,025 won)" above a
table of 3,354 stays and 1,024 wins. One rule now: it closed inside the window, in the
history and in the curves alike. Hand-built (`factories.build_close_at_window_start`);
business zone America/New_York."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from factories import HISTORY_START_2025_07_01, build_close_at_window_start
from paceline.analytics.forecast import forecast
from paceline.analytics.pipeline_history import (
    ForecastScope,
    creation_spells,
    snapshot,
    stage_spells,
)
from paceline.config import Settings

JUNE_30 = dt.date(2026, 6, 30)
CUTOFF = dt.datetime(2026, 7, 1, 4)  # the end of June 30 in New York (EDT), naive UTC


def test_the_curves_watch_a_deal_closed_as_the_window_starts(
    engine: Engine, settings: Settings
) -> None:
    """The history: Edge, Normal, Lost and Open, Edge and Normal won. From creation, the
    curve's spells are those 4 with 2 wins (before: 3 and 1, Edge dropped); in proposal,
    the same 4 stays and 2 wins."""
    build_close_at_window_start(engine, settings)
    with engine.connect() as conn:
        snap = snapshot(conn, ForecastScope(None, None, None), CUTOFF, HISTORY_START_2025_07_01)
    assert sorted(d.name for d in snap.history) == ["Edge", "Lost", "Normal", "Open"]
    assert sorted(d.name for d in snap.won) == ["Edge", "Normal"]
    creation = creation_spells(snap)
    assert (creation.count, creation.wins) == (4, 2)
    proposal = stage_spells(snap)["proposal"]
    assert (proposal.count, proposal.wins) == (4, 2)


def test_the_summary_and_the_stage_table_agree(engine: Engine, settings: Settings) -> None:
    """ "Learnt from 4 deals (2 won)" and the proposal row's 4 stays, 2 won (before: 3, 1)."""
    build_close_at_window_start(engine, settings)
    result = forecast(engine, settings, "quarter", JUNE_30, runs=500, seed=1)
    assert result.history_start == dt.date(2025, 7, 1)
    assert (result.history_deals, result.history_wins) == (4, 2)
    rows = {s.stage: (s.history_stays, s.history_wins) for s in result.stages}
    assert rows == {"proposal": (4, 2)}
