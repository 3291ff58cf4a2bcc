"""A page of scorecards and a leaderboard run with the collector's thresholds raised, and
leave them as they were (the import's own tests: tests/ingest/test_import_gc.py)."""

from __future__ import annotations

import datetime as dt
import gc
from typing import Any

import pytest
from sqlalchemy import Engine

from paceline.analytics import leaderboard as board
from paceline.analytics import scorecard
from paceline.collector import FEWER_COLLECTIONS, fewer_collections
from paceline.config import Settings

AS_OF = dt.date(2026, 11, 18)


pytestmark = pytest.mark.usefixtures("python_gc_thresholds")


def test_scorecards_and_a_leaderboard_run_with_fewer_collections(
    sqlite_engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[int, ...]] = []
    real = scorecard.active_paced_reps

    def spy(*args: Any, **kwargs: Any) -> list[scorecard.RosterRep]:
        seen.append(gc.get_threshold())
        return real(*args, **kwargs)

    monkeypatch.setattr(scorecard, "active_paced_reps", spy)
    monkeypatch.setattr(board, "active_paced_reps", spy)
    scorecard.team_scorecards(sqlite_engine, settings, "month", AS_OF)
    board.leaderboard(sqlite_engine, settings, "calls", "month", AS_OF)
    assert seen == [FEWER_COLLECTIONS, FEWER_COLLECTIONS] == [(50_000, 10, 10)] * 2
    assert gc.get_threshold() == (700, 10, 10)


def test_a_failure_inside_puts_the_thresholds_back() -> None:
    @fewer_collections()
    def fails() -> None:
        assert gc.get_threshold() == (50_000, 10, 10)
        raise KeyError("boom")

    with pytest.raises(KeyError):
        fails()
    assert gc.get_threshold() == (700, 10, 10)
