"""Reps who left mid-period, on SQLite and PostgreSQL: paced over the days they were there,
like a late starter, and never alerted on after their last day.

The team is `build_tracking_team`'s (November 2026, as of Wednesday the 18th: business day
13 of 19) and Lea (SDR, East), who left on Wednesday Nov 11, her 8th business day: 4
conversations on each of those 8 days (32), a November target of 76. Over her 8 days she
is owed 76 x 8/19 = 32: on pace. Paced over the month to the 18th she would be owed
76 x 13/19 = 52, 32 of them a shortfall of 38% (Poisson P(X <= 32 | 52) ~ 0.002): behind.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from factories import AS_OF, LEA_LAST_DAY, ZOE_FIRST_DAY, add_late_starter, build_leaver_team
from paceline.analytics.alerts import alerts
from paceline.analytics.leaderboard import leaderboard
from paceline.analytics.scorecard import RepDay, rep_scorecard, team_scorecards
from paceline.config import Settings


@pytest.fixture
def team(engine: Engine, settings: Settings) -> Engine:
    build_leaver_team(engine, settings)
    return engine


def test_a_leaver_is_paced_over_the_days_she_was_there(team: Engine, settings: Settings) -> None:
    card = rep_scorecard(team, settings, "Lea", "month", AS_OF)
    assert (card.business_days_total, card.business_days_elapsed) == (8, 8)
    assert card.business_days_remaining == 0
    assert (card.end_date, card.left) == (LEA_LAST_DAY, True)
    conv = {line.metric: line.pace for line in card.lines}["conversations"]
    assert conv.actual == 32
    assert conv.target == pytest.approx(32)  # 76 x 8/19
    assert conv.expected_to_date == pytest.approx(32)
    assert conv.status == "on_pace"
    assert card.status == "on_pace"


def test_before_her_last_day_a_leaver_is_paced_as_anyone(team: Engine, settings: Settings) -> None:
    """On Tuesday the 10th (her 7th day) Lea has not left yet: 7 of her 8 days have passed,
    28 conversations of 76 x 7/19 = 28 owed; one day remains, of 4 needed."""
    card = rep_scorecard(team, settings, "Lea", "month", dt.date(2026, 11, 10))
    assert (card.business_days_total, card.business_days_elapsed) == (8, 7)
    assert card.left is False
    conv = {line.metric: line.pace for line in card.lines}["conversations"]
    assert conv.actual == 28
    assert conv.expected_to_date == pytest.approx(28)
    assert conv.needed_per_day == pytest.approx(4)


def test_the_team_total_owes_only_a_leavers_days(team: Engine, settings: Settings) -> None:
    """East's conversations: Ana 190 x 13/19 = 130 owed, Ben 19 x 13/19 = 13, Lea 32 (not
    52); targets 190 + 19 + 32; actual 14 + 5 + 32."""
    east = team_scorecards(team, settings, "month", AS_OF, team="East")
    total = {line.metric: line.pace for line in east.total}["conversations"]
    assert total.actual == 51
    assert total.target == pytest.approx(241)
    assert total.expected_to_date == pytest.approx(175)
    cards = {c.rep: c for c in east.reps}
    assert cards["Lea"].end_date == LEA_LAST_DAY and cards["Ana"].end_date is None


def test_the_head_count_is_of_the_as_of_day_and_the_totals_name_whom_they_hold(
    team: Engine, settings: Settings
) -> None:
    """East's cards on the 18th are Ana, Ben, Cy, Lea (gone since the 11th) and Zoe (starts
    on Monday the 23rd): 3 reps there that day (before: 5 counted as the team's reps). The
    totals still hold Lea's 8 days and Zoe's 4 (23-25, 30): targets 190 + 19 + 32 + 16 = 257
    conversations, 130 + 13 + 32 + 0 = 175 of them expected by the 18th."""
    add_late_starter(team, settings)
    east = team_scorecards(team, settings, "month", AS_OF, team="East")
    assert sorted(c.rep for c in east.reps) == ["Ana", "Ben", "Cy", "Lea", "Zoe"]
    assert east.headcount == 3
    assert east.leavers == [RepDay("Lea", LEA_LAST_DAY)]
    assert east.starting == [RepDay("Zoe", ZOE_FIRST_DAY)]
    total = {line.metric: line.pace for line in east.total}["conversations"]
    assert total.target == pytest.approx(257)
    assert total.expected_to_date == pytest.approx(175)
    # On her last day Lea is still there; from the 23rd Zoe is.
    assert team_scorecards(team, settings, "month", LEA_LAST_DAY, team="East").headcount == 4
    assert team_scorecards(team, settings, "month", ZOE_FIRST_DAY, team="East").headcount == 4


def test_the_leaderboard_paces_a_leaver_over_her_days(team: Engine, settings: Settings) -> None:
    board = leaderboard(team, settings, "conversations", "month", AS_OF)
    lea = {r.rep: r for r in board.rows}["Lea"]
    assert lea.value == 32
    assert lea.target_to_date == pytest.approx(32)
    assert lea.of_target == pytest.approx(1.0)


def test_a_rep_who_starts_later_is_not_on_the_board_yet(team: Engine, settings: Settings) -> None:
    """Zoe starts on the 23rd: on the 18th she was ranked 4th of East's SDRs with 0 (and,
    by % of target, listed as having none though she has one). Now the board ranks those who
    have started: Lea 32, Ana 14, Ben 5 (Lea's worked days stay on it)."""
    add_late_starter(team, settings)
    for by in ("count", "target"):
        board = leaderboard(team, settings, "conversations", "month", AS_OF, "East", "sdr", by)
        assert [r.rep for r in board.rows] == (
            ["Lea", "Ana", "Ben"] if by == "count" else ["Lea", "Ben", "Ana"]
        )
    later = leaderboard(team, settings, "conversations", "month", ZOE_FIRST_DAY, "East", "sdr")
    assert [(r.rep, r.value) for r in later.rows][-1] == ("Zoe", 0)


def test_a_rep_who_left_is_never_alerted_on(team: Engine, settings: Settings) -> None:
    """Lea is on pace over her days; and a week after she left she is idle since the 11th,
    which is no news either: nobody is told of a rep who is gone. Ana (14 of 130) still is."""
    report = alerts(team, settings, AS_OF)
    alerted = {a.rep for a in report.alerts}
    assert "Lea" not in alerted
    assert "Ana" in alerted
