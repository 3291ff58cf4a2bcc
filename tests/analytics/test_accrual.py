"""A distinct count (accounts called) is paced by its accrual curve (`analytics.accrual`), not
evenly: until 2026-12-08 expected-to-date was target x elapsed / the period's business
days for it too, so a rep who calls the same book of accounts, meeting most of them in a
month's first days, read "ahead" for half the month even when slowing down.

Team East of `factories.build_book_callers`, as of Wednesday 2026-11-11, business day 8 of
November's 19. Every curve is worked out here by hand. Ava's past months (21, 21 and 22
business days) each reached 10, 16 and 20 of her 20 accounts by business days 1, 6 and 11.
Day 8 of 19 is 8 x 21/19 = 8.84 and 8 x 22/19 = 9.26 business days into them: 16 of 20
each, a share of 0.8. Bea, one new account a business day, reached 8 x 21/19, 8 x 21/19
and 8 x 22/19 of 21, 21 and 22: 8/19, even pacing, learnt rather than assumed.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, delete, insert, select

from factories import activity_row, build_book_callers, paced_on_accounts_with_a_new_role
from paceline.analytics.alerts import alerts
from paceline.analytics.leaderboard import leaderboard
from paceline.analytics.scorecard import MetricLine, TeamScorecard, team_scorecards
from paceline.config import Settings
from paceline.services.targets import TargetRow, save_targets
from paceline.store.models import Account, Activity

NOV_11 = dt.date(2026, 11, 11)
NOV_30 = dt.date(2026, 11, 30)
# The SDR role's curve by day 8, for Cal who has no whole month of his own: Ava's three
# months (16 of 20 each) and Bea's (8 x 64/19 of 64) pooled as counts.
ROLE_SHARE_DAY_8 = (3 * 16 + 8 * 64 / 19) / (3 * 20 + 64)


@pytest.fixture
def paced(settings: Settings) -> Settings:
    return paced_on_accounts_with_a_new_role(settings)


def _accounts(cards: TeamScorecard) -> dict[str, MetricLine]:
    return {
        card.rep: line
        for card in cards.reps
        for line in card.lines
        if line.metric == "accounts_called"
    }


def test_a_rep_who_slows_down_is_short_of_her_own_curve_not_ahead(
    engine: Engine, paced: Settings
) -> None:
    """Ava has 11 accounts by Nov 11 and ends the month at 12 of 20. Her curve expects 0.8 x
    20 = 16 by day 8: 69%, behind (11 of 16 alone happens 12.7% of the time at target pace,
    but her counts together are behind: 11 calls of 80), projected 11 / 0.8 = 13.75.
    Before: 20 x 8/19 = 8.42 expected, 131% and "ahead", projected 26.1."""
    build_book_callers(engine, paced)
    ava = _accounts(team_scorecards(engine, paced, "month", NOV_11, "East"))["Ava"]
    assert ava.pace.actual == 11
    assert ava.pace.expected_to_date == pytest.approx(16)
    assert ava.pace.pace == pytest.approx(11 / 16)
    assert ava.pace.projected == pytest.approx(13.75)
    assert ava.pace.status == "behind"
    assert ava.accrual is not None
    assert (ava.accrual.source, ava.accrual.periods) == ("rep", 3)
    month_end = _accounts(team_scorecards(engine, paced, "month", NOV_30, "East"))["Ava"]
    assert (month_end.pace.actual, month_end.pace.expected_to_date) == (12, pytest.approx(20))


def test_a_hunters_curve_is_even_and_a_thin_history_borrows_the_roles(
    engine: Engine, paced: Settings
) -> None:
    """Bea's own curve is even (8/19): 8 of 8 expected, on pace, as before. Cal started on
    Nov 2 (no whole month): the SDRs' curve, pooled, expects 20 x 0.6044 = 12.09 of him;
    his 10 are 83% (before: 8.42 expected, 119%, ahead). Dot's role has no history at all:
    even pacing, 8 expected, and the line says so (source "even")."""
    build_book_callers(engine, paced)
    lines = _accounts(team_scorecards(engine, paced, "month", NOV_11, "East"))
    bea, cal, dot = lines["Bea"], lines["Cal"], lines["Dot"]
    assert round(ROLE_SHARE_DAY_8, 4) == 0.6044
    assert cal.pace.expected_to_date == pytest.approx(20 * ROLE_SHARE_DAY_8)
    assert cal.pace.pace == pytest.approx(10 / (20 * ROLE_SHARE_DAY_8))
    assert bea.pace.expected_to_date == pytest.approx(8)
    assert bea.pace.status == "on_pace"
    assert bea.accrual is not None and bea.accrual.source == "rep"
    assert cal.accrual is not None
    assert (cal.accrual.source, cal.accrual.periods) == ("role", 6)
    assert dot.pace.expected_to_date == pytest.approx(19 * 8 / 19)
    assert dot.accrual is not None
    assert (dot.accrual.source, dot.accrual.periods, dot.accrual.shares) == ("even", 0, ())


def test_counts_stay_even_and_the_team_total_adds_the_curves(
    engine: Engine, paced: Settings
) -> None:
    """Calls are a count: paced evenly (190 x 8/19 = 80 for Ava), with no curve. The team's
    accounts called expect what its reps' lines expect, added: 16 + 8 + 12.09 + 8."""
    build_book_callers(engine, paced)
    cards = team_scorecards(engine, paced, "month", NOV_11, "East")
    calls = next(
        line for c in cards.reps if c.rep == "Ava" for line in c.lines if line.metric == "calls"
    )
    total = next(line for line in cards.total if line.metric == "accounts_called")
    assert total.pace.expected_to_date == pytest.approx(16 + 8 + 20 * ROLE_SHARE_DAY_8 + 8)
    assert (calls.pace.expected_to_date, calls.accrual) == (pytest.approx(80), None)


def test_the_leaderboard_by_target_reads_the_same_expected_to_date(
    engine: Engine, paced: Settings
) -> None:
    """By % of own target, the SDRs rank Bea (100%), Cal (83%), Ava (69%); before, Ava
    (131%), Cal (119%), Bea (100%)."""
    build_book_callers(engine, paced)
    board = leaderboard(engine, paced, "accounts_called", "month", NOV_11, "East", "sdr", "target")
    assert [(r.rep, r.target_to_date) for r in board.rows] == [
        ("Bea", pytest.approx(8)),
        ("Cal", pytest.approx(20 * ROLE_SHARE_DAY_8)),
        ("Ava", pytest.approx(16)),
    ]


def test_the_alert_names_accounts_and_dates_them_by_the_curve(
    engine: Engine, paced: Settings
) -> None:
    """Ava is behind on calls (11 of 80), so alerted; accounts called, 31% short of 16, are
    named too (before: 131% of expected, not named). Since when, each day expected by the
    curve (75% of it is on pace): Nov 2-5 (business days 1-4, share 0.5: 7.5) her 10 are on
    pace; Nov 6 (day 5: 5 x 21/19 = 5.53 and 5 x 22/19 = 5.79 days into the past months,
    13.16, 13.16 and 14.74 of 20, a share of 0.684) expects 13.68, 75% of it 10.26 > 10:
    behind since Friday Nov 6. Her calls: behind since Nov 3, as before."""
    build_book_callers(engine, paced)
    found = {
        (a.metric, a.actual, round(a.expected or 0.0, 2), a.since)
        for a in alerts(engine, paced, NOV_11, team="East").alerts
        if a.rep == "Ava" and a.rule == "behind_pace"
    }
    assert found == {
        ("calls", 11, 80.0, dt.date(2026, 11, 3)),
        ("accounts_called", 11, 16.0, dt.date(2026, 11, 6)),
    }


def test_a_young_periods_trailing_stretch_reads_each_period_by_its_curve(
    engine: Engine, paced: Settings
) -> None:
    """With October targets too (22 accounts, 220 calls), the alerts read the trailing 15
    business days, Thursday Oct 22 to Nov 11: October's business days 16 to 22 and
    November's 1 to 8. Ava also calls Book account 15 again on Monday Oct 26 (first called
    on Oct 8; not called in November). Of October the stretch expects 22 x (her curve at
    22/22 - at 15/22): 15/22 of October is 15/22 x 19 = 12.95 of her 19-day curve's days,
    12.95 x 21/19 = 14.3 and 12.95 x 22/19 = 15 days into her past months, past day 11:
    already 1, so 0 more; of
    November what her card expects by day 8, 16. 16 in all; her accounts new to their
    month on those days: none in October (the call of Oct 26 is to an account October had),
    11 in November: 31% short. Before (2026-12-08), the stretch was lifted as if it were a
    month's first 15 days: 15.42 x 19/15 = 19.53 expected of 12 accounts (the Oct 26 call
    counted), behind since Oct 22, when she had long called all her October book.

    Since when, day by day: nothing is expected on Oct 22-30 (not behind); November's day d
    expects 20 x her curve at d (day 1 to 4: 10 of 20 by 1.1 to 4.6 days into her months;
    day 5: 5 x 21/19 = 5.53 days into August and September, 10 + 6 x 0.53 = 13.16 each, 5 x
    22/19 = 5.79 into October, 14.74: 20 x 41.05/60 = 13.68). Her 10 of Nov 2 hold 75% of
    it until Thursday Nov 5; on Friday Nov 6 10 < 10.26: behind since Nov 6."""
    ids = build_book_callers(engine, paced)
    october = dt.date(2026, 10, 1)
    with engine.begin() as conn:
        save_targets(
            conn,
            [
                TargetRow(ids["Ava"], "accounts_called", "month", october, 22),
                TargetRow(ids["Ava"], "calls", "month", october, 220),
            ],
        )
        again = conn.scalar(select(Account.id).where(Account.name == "Book account 15"))
        recall = activity_row(ids["Ava"], dt.date(2026, 10, 26), account_id=again)
        conn.execute(insert(Activity), [recall])
    found = {
        (a.metric, a.actual, round(a.expected or 0.0, 2), a.since, a.trailing_days)
        for a in alerts(engine, paced, NOV_11, team="East").alerts
        if a.rep == "Ava" and a.metric == "accounts_called"
    }
    day_5 = 20 * (2 * (10 + 6 * (5 * 21 / 19 - 5)) + 10 + 6 * (5 * 22 / 19 - 5)) / 60
    assert round(day_5, 2) == 13.68
    assert 0.75 * day_5 > 10  # behind on Nov 6
    assert found == {("accounts_called", 11, 16.0, dt.date(2026, 11, 6), 15)}


def test_records_beginning_on_a_months_first_monday_leave_it_whole(
    engine: Engine, paced: Settings
) -> None:
    """Without Ava's call of Friday Jul 31, East's records begin on Monday Aug 3, August's
    first business day: August is still a whole month of hers, and her curve is learnt from
    3 months, not 2 (the rule of `pacing.recorded_from`: records beginning on a month's first
    Monday change no business day)."""
    build_book_callers(engine, paced)
    with engine.begin() as conn:
        conn.execute(delete(Activity).where(Activity.local_date == dt.date(2026, 7, 31)))
    ava = _accounts(team_scorecards(engine, paced, "month", NOV_11, "East"))["Ava"]
    assert ava.accrual is not None
    assert (ava.accrual.source, ava.accrual.periods) == ("rep", 3)
    assert ava.pace.expected_to_date == pytest.approx(16)
