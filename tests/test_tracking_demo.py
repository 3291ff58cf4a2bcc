"""Tracking on the demo organisation: planted truths found, same answers on both databases."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from conftest import _postgres_engine
from paceline.analytics.alerts import alerts
from paceline.analytics.leaderboard import leaderboard
from paceline.analytics.scorecard import team_scorecards
from paceline.config import Settings
from paceline.demo import build_demo
from paceline.serialize import to_jsonable
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade

TODAY = dt.date(2026, 11, 18)
SMALL = {"seed": 11, "reps": 12, "months": 6, "today": TODAY}


def _build(
    engine: Engine, settings: Settings, folder: Path, size: dict[str, Any]
) -> dict[str, Any]:
    upgrade(engine)
    truth = folder / "truth.json"
    build_demo(engine, settings, truth_path=truth, **size)
    return dict(json.loads(truth.read_text("utf-8")))


@pytest.fixture(scope="module")
def full_demo(
    tmp_path_factory: pytest.TempPathFactory, settings: Settings
) -> Iterator[tuple[Engine, dict[str, Any]]]:
    folder = tmp_path_factory.mktemp("tracking_demo")
    engine = make_engine(f"sqlite:///{folder / 'demo.db'}")
    yield engine, _build(engine, settings, folder, {"seed": 7, "today": TODAY})
    engine.dispose()


@pytest.fixture(scope="module")
def small_pair(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, settings: Settings
) -> Iterator[tuple[Engine, Engine, dict[str, Any]]]:
    """The same small demo built on SQLite and on PostgreSQL."""
    folder = tmp_path_factory.mktemp("tracking_pair")
    lite = make_engine(f"sqlite:///{folder / 'demo.db'}")
    truth = _build(lite, settings, folder, SMALL)
    for pg in _postgres_engine(request):
        _build(pg, settings, tmp_path_factory.mktemp("tracking_pair_pg"), SMALL)
        yield lite, pg, truth
    lite.dispose()


def test_the_reps_planted_behind_are_the_ones_alerted(
    full_demo: tuple[Engine, dict[str, Any]], settings: Settings
) -> None:
    engine, truth = full_demo
    report = alerts(engine, settings, TODAY)
    assert report.reps == sorted(truth["planted"]["behind_this_month"])
    behind = [a for a in report.alerts if a.rule == "behind_pace"]
    assert behind and all((a.shortfall or 0) > 0.25 for a in behind)


def test_planted_behind_reps_pace_near_their_planted_pace(
    full_demo: tuple[Engine, dict[str, Any]], settings: Settings
) -> None:
    """Their activity runs at 45% of normal this month, and the scorecard shows about that."""
    engine, truth = full_demo
    cards = {c.rep: c for c in team_scorecards(engine, settings, "month", TODAY).reps}
    for name in truth["planted"]["behind_this_month"]:
        card = cards[name]
        assert card.status == "behind"
        counted = [line.pace for line in card.lines if line.metric != "opportunities_created"]
        actual = sum(p.actual for p in counted if p.expected_to_date)
        expected = sum(p.expected_to_date or 0 for p in counted)
        assert 0.25 < actual / expected < 0.65


def test_small_demo_alerts_its_planted_reps_on_both_databases(
    small_pair: tuple[Engine, Engine, dict[str, Any]], settings: Settings
) -> None:
    lite, pg, truth = small_pair
    planted = sorted(truth["planted"]["behind_this_month"])
    assert alerts(lite, settings, TODAY).reps == planted
    assert alerts(pg, settings, TODAY).reps == planted


@pytest.mark.parametrize("period", ["week", "month", "quarter"])
def test_sqlite_and_postgresql_give_the_same_results(
    small_pair: tuple[Engine, Engine, dict[str, Any]], settings: Settings, period: str
) -> None:
    lite, pg, _ = small_pair

    def results(engine: Engine) -> Any:
        return _rounded(
            to_jsonable(
                [
                    team_scorecards(engine, settings, period, TODAY),  # type: ignore[arg-type]
                    leaderboard(engine, settings, "conversations", period, TODAY),  # type: ignore[arg-type]
                    leaderboard(engine, settings, "connect_rate", period, TODAY),  # type: ignore[arg-type]
                    alerts(engine, settings, TODAY),
                ]
            )
        )

    assert results(lite) == results(pg)


def _rounded(value: Any) -> Any:
    """Floats to 9 significant digits: the databases may add in a different order."""
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value
