"""A team whose records begin part-way into the period, on SQLite and PostgreSQL: paced from
the day its records begin and said so ("recorded from"), never owed the days before as a
shortfall; a rep who joined (the roster's start date) is paced from the start, as before.

Hand-built (`factories.build_north_recorded_from_mid_month`): November 2026 as of Wednesday
the 18th, business day 13 of 19; team North's records begin on Tuesday Nov 10 (7 business
days to the 18th, 13 to the month's end); each SDR owes 76 conversations in November.
- Sam: 28 (4 a day since Nov 10). Over his 13 days he is owed 76 x 13/19 = 52, 76 x 7/19 =
  28 so far: on pace, 24 left over 6 days, 4 a day; projected 28 / 7 x 13 = 52. Read from
  Nov 1 (before) he was owed 76 x 13/19 = 52 by the 18th, 28 of them a shortfall of 46%:
  behind, projected 28 / 13 x 19 = 40.9.
- Kim: nothing recorded: 0 of 28 owed (before: of 52).
- Lee: joined on Thursday Nov 12 (start date; North's records began before): paced from
  it, 11 business days, 5 elapsed: 20 of 76 x 5/19 = 20, on pace; no "recorded from".
- East and West were recorded since October: their cards are unchanged.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, insert

from factories import AS_OF, build_north_recorded_from_mid_month, calls_on, put_deal
from paceline.analytics.alerts import alerts
from paceline.analytics.leaderboard import leaderboard
from paceline.analytics.metrics import records_begin
from paceline.analytics.pacing import Pace
from paceline.analytics.rollup import ensure_rollup
from paceline.analytics.scorecard import Scorecard, rep_scorecard, team_scorecards
from paceline.calendar import BusinessCalendar
from paceline.config import Settings
from paceline.services.reps import add_rep
from paceline.store.models import Activity

NOV_10 = dt.date(2026, 11, 10)


def _conversations(card: Scorecard) -> Pace:
    return {line.metric: line.pace for line in card.lines}["conversations"]


@pytest.fixture
def north(engine: Engine, settings: Settings) -> Engine:
    build_north_recorded_from_mid_month(engine, settings)
    return engine


def test_a_team_recorded_from_mid_month_is_paced_from_then(
    north: Engine, settings: Settings
) -> None:
    card = rep_scorecard(north, settings, "Sam", "month", AS_OF)
    assert (card.recorded_from, card.measured_from, card.start_date) == (NOV_10, NOV_10, None)
    assert (card.business_days_total, card.business_days_elapsed) == (13, 7)
    conv = _conversations(card)
    assert conv.actual == 28
    assert conv.target == pytest.approx(52)
    assert conv.expected_to_date == pytest.approx(28)
    assert conv.projected == pytest.approx(52)
    assert conv.needed_per_day == pytest.approx(4)
    assert (conv.status, card.status) == ("on_pace", "on_pace")


def test_a_rep_with_nothing_recorded_is_owed_only_the_recorded_days(
    north: Engine, settings: Settings
) -> None:
    card = rep_scorecard(north, settings, "Kim", "month", AS_OF)
    assert card.recorded_from == NOV_10
    conv = _conversations(card)
    assert (conv.actual, conv.expected_to_date) == (0, pytest.approx(28))
    assert conv.status == "behind"


def test_a_rep_who_joined_after_the_records_begin_is_paced_from_the_start(
    north: Engine, settings: Settings
) -> None:
    card = rep_scorecard(north, settings, "Lee", "month", AS_OF)
    assert (card.recorded_from, card.measured_from) == (None, dt.date(2026, 11, 12))
    assert (card.business_days_total, card.business_days_elapsed) == (11, 5)
    conv = _conversations(card)
    assert (conv.actual, conv.target, conv.expected_to_date) == (
        20,
        pytest.approx(44),
        pytest.approx(20),
    )
    assert conv.status == "on_pace"


def test_the_team_total_owes_the_recorded_days_and_other_teams_are_unchanged(
    north: Engine, settings: Settings
) -> None:
    """North: actual 28 + 0 + 20 = 48, owed 28 + 28 + 20 = 76 (before: 52 + 52 + 20 = 124),
    targets 52 + 52 + 44 = 148. East's Ben (5 conversations, first record Nov 16, a team
    recorded since October) is owed 19 x 13/19 = 13 from Nov 1, as before."""
    team = team_scorecards(north, settings, "month", AS_OF, team="North")
    total = {line.metric: line.pace for line in team.total}["conversations"]
    assert (total.actual, total.expected_to_date, total.target) == (
        48,
        pytest.approx(76),
        pytest.approx(148),
    )
    assert {c.rep: c.recorded_from for c in team.reps} == {
        "Sam": NOV_10,
        "Kim": NOV_10,
        "Lee": None,
    }
    ben = rep_scorecard(north, settings, "Ben", "month", AS_OF)
    assert (ben.recorded_from, ben.measured_from) == (None, dt.date(2026, 11, 1))
    assert _conversations(ben).expected_to_date == pytest.approx(13)


def test_a_month_wholly_recorded_is_read_from_its_start(north: Engine, settings: Settings) -> None:
    """In December (as of Dec 2) North's records began before the month: nothing is said."""
    card = rep_scorecard(north, settings, "Sam", "month", dt.date(2026, 12, 2))
    assert (card.recorded_from, card.measured_from) == (None, dt.date(2026, 12, 1))


def test_the_leaderboard_and_the_alerts_read_the_same_days(
    north: Engine, settings: Settings
) -> None:
    """North's conversations leaderboard: Sam 28 of 28 to date (100%; before: of 52), Lee 20
    of 20, Kim 0 of 28. Alerts: Kim at zero (28 owed; before: 52) and idle since North's
    records begin, 7 business days (before: since the look-back, 258); Sam is no longer
    behind pace (28 of 52, read from Nov 1)."""
    board = leaderboard(north, settings, "conversations", "month", AS_OF, team="North")
    assert {r.rep: (r.value, r.target_to_date) for r in board.rows} == {
        "Sam": (28, pytest.approx(28)),
        "Lee": (20, pytest.approx(20)),
        "Kim": (0, pytest.approx(28)),
    }
    found = alerts(north, settings, AS_OF, "North").alerts
    assert {(a.rep, a.rule) for a in found} == {("Kim", "no_selling"), ("Kim", "zero_key_metric")}
    said = {a.rule: a for a in found}
    assert (said["no_selling"].since, said["no_selling"].business_days) == (NOV_10, 7)
    assert said["zero_key_metric"].expected == pytest.approx(28)


def test_where_each_teams_records_begin(north: Engine, settings: Settings) -> None:
    """East's first record is Ana's 5 calls on Oct 15 (Cy's meeting Oct 30, Dee's West calls
    Oct 20), North's Sam's Nov 10; the reps without a team, once Solo has a call on Nov 12,
    begin then; a deal counts as a record too (Solo's, created Nov 11 at 17:00 UTC)."""
    calendar = BusinessCalendar(settings.calendar)
    ensure_rollup(north, settings)  # the activities' days are read from `kind_day`
    with north.connect() as conn:
        assert records_begin(conn, calendar, {"East", "North", "West", None}) == {
            "East": dt.date(2026, 10, 15),
            "West": dt.date(2026, 10, 20),
            "North": NOV_10,
        }
    solo = add_rep(north, settings, "Solo", "sdr")
    with north.begin() as conn:
        conn.execute(insert(Activity), calls_on(solo, dt.date(2026, 11, 12), 1, "conversation"))
    ensure_rollup(north, settings)
    with north.connect() as conn:
        assert records_begin(conn, calendar, {None})[None] == dt.date(2026, 11, 12)
    put_deal(north, solo, "Solo's", 1_000, dt.datetime(2026, 11, 11, 17))
    with north.connect() as conn:
        assert records_begin(conn, calendar, {None, "North"}) == {
            None: dt.date(2026, 11, 11),
            "North": NOV_10,
        }
