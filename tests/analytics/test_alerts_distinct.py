"""An alert on a distinct count (accounts called: `factories.ACCOUNTS_CALLED`) says since
when, read from the activities (`metrics.distinct_daily_values`, `last_distinct_day`): the
daily rollup holds no distinct count, so until 2026-12-07 such an alert was dated from the
start of its stretch when behind, and not dated at all at zero.

Team East of `factories.build_same_account_called`, SDRs paced on calls and accounts
called, as of Friday 2026-11-20: the month to date, 15 business days (Nov 2-6, 9-13,
16-20), each expecting 10 calls and 2 accounts; behind is under 75% of expected to date.
"""

from __future__ import annotations

import datetime as dt
import math

import pytest
from sqlalchemy import Engine, insert

from factories import (
    accounts,
    activity_row,
    build_book_callers,
    build_no_account_called_this_quarter,
    build_same_account_called,
    paced_on_accounts_a_quarter,
    paced_on_accounts_called,
    paced_on_accounts_with_a_new_role,
)
from paceline.analytics.alerts import Alert, alerts
from paceline.analytics.metrics import distinct_daily_values, last_distinct_day
from paceline.analytics.scorecard import team_scorecards
from paceline.config import Settings
from paceline.services.reps import add_rep
from paceline.services.targets import TargetRow, save_targets
from paceline.store.models import Activity

NOV_20 = dt.date(2026, 11, 20)


def test_a_distinct_count_alert_is_dated_from_the_day_it_fell_behind(
    engine: Engine, settings: Settings
) -> None:
    """Ana's accounts called to date: 3 on Monday Nov 2 (>= 75% of 2 = 1.5) and 4 on Nov 3
    (>= 75% of 4 = 3): on pace; 4 on Nov 4 (< 75% of 6 = 4.5) and every day after, calling
    Acme alone, then nobody: behind since Wednesday Nov 4 (before: Nov 1, the month's
    start). Her calls, 10 a day to Nov 13 then none: 100 to date, on pace until Wednesday
    Nov 18 (100 >= 75% of 130 = 97.5), behind since Thursday Nov 19 (100 < 105), as before.
    Ben called no account in November (his calls were logged without one, his meeting at
    Echo on Nov 5 is not a call, and his call of Saturday 21st comes after the as-of day):
    at zero since the day after his last account called, Friday Oct 30 (before: no date)."""
    paced = paced_on_accounts_called(settings)
    build_same_account_called(engine, paced)
    found = {
        (a.rep, a.rule, a.metric, a.actual, a.since)
        for a in alerts(engine, paced, NOV_20, team="East").alerts
        if a.rule != "no_selling"
    }
    assert found == {
        ("Ana", "behind_pace", "accounts_called", 4, dt.date(2026, 11, 4)),
        ("Ana", "behind_pace", "calls", 100, dt.date(2026, 11, 19)),
        ("Ben", "zero_key_metric", "accounts_called", 0, dt.date(2026, 10, 30)),
    }


def test_each_day_adds_the_accounts_first_called_that_day(
    engine: Engine, settings: Settings
) -> None:
    """Over November, Ana's new accounts: Acme, Bolt and Core on Nov 2, Dune on Nov 3, then
    none. From Oct 28, Acme is first called then: Bolt and Core on Nov 2, Dune on Nov 3.
    Ben's calls carry no account: nothing in November."""
    paced = paced_on_accounts_called(settings)
    ids = build_same_account_called(engine, paced)
    metric = paced.metric("accounts_called")
    nov_2, nov_3 = dt.date(2026, 11, 2), dt.date(2026, 11, 3)
    with engine.connect() as conn:
        november = distinct_daily_values(
            conn, paced, metric, dt.date(2026, 11, 1), NOV_20, ids["Ana"]
        )
        from_october = distinct_daily_values(
            conn, paced, metric, dt.date(2026, 10, 28), NOV_20, ids["Ana"]
        )
        ben = distinct_daily_values(conn, paced, metric, dt.date(2026, 11, 1), NOV_20, ids["Ben"])
    assert november == {nov_2: 3, nov_3: 1}
    assert from_october == {dt.date(2026, 10, 28): 1, nov_2: 2, nov_3: 1}
    assert ben == {}


def test_the_last_day_with_an_account_called(engine: Engine, settings: Settings) -> None:
    """Ben's last call with an account up to Nov 20 is on Thursday Oct 29 (the meeting of
    Nov 5 is not a call); up to Saturday Nov 21, that day's call; none from Oct 30 to Nov
    20. Ana's last: Friday Nov 13."""
    paced = paced_on_accounts_called(settings)
    ids = build_same_account_called(engine, paced)
    metric = paced.metric("accounts_called")
    oct_1 = dt.date(2026, 10, 1)
    with engine.connect() as conn:
        assert last_distinct_day(conn, paced, metric, oct_1, NOV_20, ids["Ben"]) == dt.date(
            2026, 10, 29
        )
        assert last_distinct_day(
            conn, paced, metric, oct_1, dt.date(2026, 11, 21), ids["Ben"]
        ) == dt.date(2026, 11, 21)
        assert (
            last_distinct_day(conn, paced, metric, dt.date(2026, 10, 30), NOV_20, ids["Ben"])
            is None
        )
        assert last_distinct_day(conn, paced, metric, oct_1, NOV_20, ids["Ana"]) == dt.date(
            2026, 11, 13
        )


def _accounts_alerts(engine: Engine, settings: Settings, day: dt.date) -> list[Alert]:
    return [a for a in alerts(engine, settings, day, team="East").alerts if a.rule != "no_selling"]


def test_a_distinct_count_at_zero_is_alerted_only_once_zero_is_unlikely(
    engine: Engine, settings: Settings
) -> None:
    """Dee, paced on 40 accounts called in Q4 2026 (63 business days), has called none since
    Sep 30. The zero check reads a distinct count as the scorecard does, by its count model:
    on Friday Oct 2, the 2nd business day, 40 x 2/63 = 1.27 accounts are expected and none
    happens e^-1.27 = 28% of the time at target pace: the scorecard says too few to tell
    ("unclear"), and nobody is alerted (before 2026-12-07 she was, at zero, on any day). On
    Friday Oct 9 (7th): 4.44 expected, e^-4.44 = 1.17%, above the rule's 1%: no alert
    either. On Monday Oct 12 (8th): 5.08 expected, e^-5.08 = 0.62%: at zero since Oct 1."""
    quarterly = paced_on_accounts_a_quarter(settings)
    dee = build_no_account_called_this_quarter(engine, quarterly)
    oct_2 = dt.date(2026, 10, 2)
    card = team_scorecards(engine, quarterly, "quarter", oct_2, "East").reps[0]
    (line,) = [line for line in card.lines if line.metric == "accounts_called"]
    assert card.rep_id == dee
    assert (line.pace.actual, line.pace.status) == (0, "unclear")
    assert line.pace.expected_to_date == pytest.approx(40 * 2 / 63)
    assert _accounts_alerts(engine, quarterly, oct_2) == []
    assert _accounts_alerts(engine, quarterly, dt.date(2026, 10, 9)) == []
    (zero,) = _accounts_alerts(engine, quarterly, dt.date(2026, 10, 12))
    assert (zero.rule, zero.metric, zero.actual, zero.since) == (
        "zero_key_metric",
        "accounts_called",
        0,
        dt.date(2026, 10, 1),
    )
    assert zero.expected == pytest.approx(40 * 8 / 63)
    assert zero.chance == pytest.approx(math.exp(-40 * 8 / 63))


def test_a_role_paced_on_distinct_counts_alone_is_alerted_behind(
    engine: Engine, settings: Settings
) -> None:
    """BDR Dot of `factories.build_book_callers` is paced on accounts called alone, evenly
    (her role has no history): 5 accounts by Nov 6, none since. As of Monday Nov 30 (19 of
    19 business days) she has 5 of 19: 74% short, and 5 or fewer of 19 happen 0.015% of the
    time at target pace (Poisson), under the 0.1% bar: behind, on her own line since no
    count of hers is pooled. Since: on pace (75% of j x 19/19) through Monday Nov 9 (5 >=
    4.5), behind from Tuesday Nov 10 (5 < 5.25). As of Nov 11 her 5 of 8 happen 19% of the
    time: not alerted. Before 2026-12-08 a role with no pooled count was never alerted as
    behind."""
    paced = paced_on_accounts_with_a_new_role(settings)
    build_book_callers(engine, paced)
    found = {
        (day, a.rule, a.actual, a.expected, round(a.chance or 0.0, 6), a.since)
        for day in (dt.date(2026, 11, 11), dt.date(2026, 11, 30))
        for a in alerts(engine, paced, day, team="East").alerts
        if a.rep == "Dot" and a.rule != "no_selling"
    }
    assert found == {
        (dt.date(2026, 11, 30), "behind_pace", 5, 19, 0.000154, dt.date(2026, 11, 10)),
    }


def test_a_card_measured_from_its_teams_first_record_is_dated_on_its_own_window(
    engine: Engine, settings: Settings
) -> None:
    """SDR Wes of team West, whose records begin on Monday Nov 9 (his 3 accounts called
    that day, nothing after), target 19 accounts in November: as of Nov 30 his card is
    measured from Nov 9, 14 business days, 19 x 14/19 = 14 expected by the SDRs' curve
    (he has none of his own), 3 of 14, behind. Since when, from Nov 9: that day expects 14 x
    the role's share after 1 of 14 days (Ava's months 1.5, 1.5 and 1.57 days in: 10 of 20
    each; Bea's 1.5, 1.5 and 1.57 of 21, 21 and 22: (30 + 4.57) / 124 = 0.2788), 3.90, and
    his 3 hold 75% of it; Nov 10 expects 14 x (30 + 9.14) / 124 = 4.42, and 3 < 3.31:
    behind since Nov 10, as the code before 2026-12-08 said. Counted from the month's
    first day instead (Nov 9 read as the window's 6th day, an intermediate version of the
    period-by-period rule), his first days expected only what the curve climbs after day
    5, and the alert was dated Nov 14."""
    paced = paced_on_accounts_with_a_new_role(settings)
    build_book_callers(engine, paced)
    wes = add_rep(engine, paced, "Wes", "sdr", team="West")
    called = accounts(engine, 3, "West account")
    rows = [activity_row(wes, dt.date(2026, 11, 9), account_id=a) for a in called]
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
        save_targets(conn, [TargetRow(wes, "accounts_called", "month", dt.date(2026, 11, 1), 19)])
    found = [
        (a.actual, a.expected, a.since)
        for a in alerts(engine, paced, dt.date(2026, 11, 30), team="West").alerts
        if a.rep == "Wes" and a.metric == "accounts_called"
    ]
    assert round(14 * 34.57 / 124, 2) == 3.90 and 3 >= 0.75 * 14 * 34.57 / 124
    assert found == [(3, pytest.approx(14), dt.date(2026, 11, 10))]
