"""Busy vs productive's peer median of outreach attempts, on SQLite and PostgreSQL, when not
every peer was there all the window (`factories.build_partial_peers`: November to the 18th,
13 business days). A peer's attempts are read over the rep's days from the peer's own days
there, as coaching reads a volume: Lea's 40 calls in her 8 days are 65 over 13, Dan's 12 in
his 3 are 52. Eve, there all along with nothing logged, is a true 0 and stays one. Oli (gone
before the window) and Zoe (starting after it) are no peers at all.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from factories import AS_OF, build_partial_peers
from paceline.analytics.quality import busy_vs_productive
from paceline.analytics.window import diagnosis_window
from paceline.config import Settings


@pytest.fixture
def team(engine: Engine, settings: Settings) -> Engine:
    build_partial_peers(engine, settings)
    return engine


def test_a_peers_attempts_are_read_over_the_days_they_were_there(
    team: Engine, settings: Settings
) -> None:
    """Ana's peers: Ben 78, Lea 40 x 13/8 = 65, Dan 12 x 13/3 = 52, Eve 0: the median is
    (52 + 65) / 2 = 58.5, so Ana's 130 are 2.22 times it (before: the raw 78, 40, 12, 0,
    median 26, 5 times). Without Eve's 0 it would be 65."""
    window = diagnosis_window(settings, "month", AS_OF)
    report = busy_vs_productive(team, settings, window, team="East")
    ana = {r.rep: r for r in report.reps}["Ana"]
    assert sorted(ana.peers) == ["Ben", "Dan", "Eve", "Lea"]
    assert ana.attempts == 130
    assert ana.peer_median_attempts == pytest.approx(58.5)
    assert ana.volume_vs_peers == pytest.approx(130 / 58.5)


def test_a_late_starter_is_set_against_his_peers_over_his_days(
    team: Engine, settings: Settings
) -> None:
    """Dan worked 3 days: Ana 130 x 3/13 = 30, Ben 78 x 3/13 = 18, Lea 40 x 3/8 = 15, Eve 0:
    median (15 + 18) / 2 = 16.5 (before: 130, 78, 40, 0, median 59), his 12 are 0.73 of it."""
    window = diagnosis_window(settings, "month", AS_OF)
    dan = busy_vs_productive(team, settings, window, rep="Dan").reps[0]
    assert dan.attempts == 12
    assert dan.peer_median_attempts == pytest.approx(16.5)
    assert dan.volume_vs_peers == pytest.approx(12 / 16.5)
