"""The revenue equation's medians when some peers were not there all the window
(`factories.build_equation_part_window_peers`: East AEs, November to the 18th, 13 business
days; Lea left on the 11th after 8 of them, Dan started on the 16th, 3 of them). Their
prospects (distinct accounts) are no full window's, so they are left out of the medians of
prospects and of selling activities per prospect, and kept in the two ratios' medians."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from factories import AS_OF, build_equation_part_window_peers
from paceline.analytics.equation import revenue_equation
from paceline.analytics.window import diagnosis_window
from paceline.config import Settings


def test_part_window_peers_are_out_of_the_prospects_median(
    engine: Engine, settings: Settings
) -> None:
    """Ana's group: Ana 20 prospects, Ben 12, Cy 10 there all along: the median is 12 (before:
    20, 12, 10, 4, 3 with Lea's and Dan's, 10). Activities per prospect: 2 for everyone.
    Wins per call, everyone's: 1/40, 1/24, 1/20, 1/8, 1/6, median 1/20; revenue per win
    1,000. Ana's 20 prospects are 20/12 of the reference."""
    build_equation_part_window_peers(engine, settings)
    window = diagnosis_window(settings, "month", AS_OF)
    report = revenue_equation(engine, settings, window, team="East")
    ana = {r.rep: r for r in report.reps}["Ana"]
    assert sorted(ana.peers) == ["Ben", "Cy", "Dan", "Lea"]
    factors = {f.name: f for f in ana.factors}
    assert (ana.prospects, ana.selling_activities, ana.wins) == (20, 40, 1)
    assert factors["prospects"].reference == 12
    assert factors["prospects"].relative == pytest.approx(20 / 12)
    assert factors["activities_per_prospect"].reference == 2
    assert factors["wins_per_activity"].reference == pytest.approx(1 / 20)
    assert factors["revenue_per_win"].reference == 1000


def test_a_part_window_rep_keeps_their_own_figures(engine: Engine, settings: Settings) -> None:
    """Lea's own 4 prospects (8 calls, 1 win) stand as hers, against the same reference of
    12 prospects: the rule is about the median, not the rep's own count."""
    build_equation_part_window_peers(engine, settings)
    window = diagnosis_window(settings, "month", AS_OF)
    lea = revenue_equation(engine, settings, window, rep="Lea").reps[0]
    factors = {f.name: f for f in lea.factors}
    assert (lea.prospects, lea.selling_activities) == (4, 8)
    assert factors["prospects"].value == 4
    assert factors["prospects"].reference == 12
