"""The "as of" rule for deals (`late_entry.known_by`), on the deal metrics and the backtest.

A deal is known as of a day when it was entered in the CRM by that day's end: the forecast
and the pipeline flow always read deals so. Until 2026-12-07 the deal metrics (deals won,
revenue) of scorecards, team totals, leaderboards, alerts and the weekly report counted a
win closed in the period even when it was entered after the as-of day, and a backtest's run
rate counted the wins of its window entered after the cut-off. Hand-built
(`factories.build_win_entered_after_its_close`, `factories.build_win_entered_after_a_cutoff`);
business zone America/New_York.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from factories import (
    at,
    build_calls_before_a_win_entered_late,
    build_deal_alerts_to_date,
    build_win_entered_after_a_cutoff,
    build_win_entered_after_its_close,
    east_and_west,
    put_deal,
)
from paceline.analytics.alerts import Alert, alerts
from paceline.analytics.backtest import backtest, run_rate
from paceline.analytics.funnel import funnel
from paceline.analytics.late_entry import as_of_end, known_by
from paceline.analytics.leaderboard import Leaderboard, leaderboard
from paceline.analytics.metrics import amounts_unknown, metric_totals
from paceline.analytics.pipeline_history import ForecastScope, revenue_won
from paceline.analytics.report import rep_report
from paceline.analytics.scorecard import Scorecard, rep_scorecard, team_scorecards
from paceline.analytics.tipping import ScatterPoint, tipping_point
from paceline.analytics.window import diagnosis_window
from paceline.config import Settings

NOV_15 = dt.date(2026, 11, 15)  # a Sunday: "Logged late" closed on the 10th, not yet entered
NOV_19 = dt.date(2026, 11, 19)  # the day before its entry
NOV_20 = dt.date(2026, 11, 20)  # entered at noon in New York


def won(card: Scorecard) -> tuple[float | None, float | None]:
    lines = {line.metric: line for line in card.lines}
    return lines["deals_won"].pace.actual, lines["revenue"].pace.actual


def test_the_rule_ends_with_the_as_of_day() -> None:
    """The end of Nov 19 in New York is Nov 20 05:00 UTC: a deal entered at noon on the 20th
    is not known then, and is at the end of the 20th (Nov 21 05:00 UTC)."""
    zone = ZoneInfo("America/New_York")
    assert as_of_end(zone, NOV_19) == dt.datetime(2026, 11, 20, 5)
    assert not known_by(at(11, 20), as_of_end(zone, NOV_19))
    assert known_by(at(11, 20), as_of_end(zone, NOV_20))


def test_the_scorecard_and_team_count_a_win_from_the_day_it_was_entered(
    engine: Engine, settings: Settings
) -> None:
    """November to date: as of the 15th and the 19th, Ana has won "On time" alone (1,
    3,000); as of the 20th both (2, 8,000). Before 2026-12-07: 2 and 8,000 on every day.
    The team's total is hers (Ben, Cy and Max have none)."""
    build_win_entered_after_its_close(engine, settings)
    for day, truth in ((NOV_15, (1, 3_000)), (NOV_19, (1, 3_000)), (NOV_20, (2, 8_000))):
        assert won(rep_scorecard(engine, settings, "Ana", "month", day)) == truth, day
        team = team_scorecards(engine, settings, "month", day, "East")
        total = {line.metric: line.pace.actual for line in team.total}
        assert (total["deals_won"], total["revenue"]) == truth, day


def test_the_leaderboard_counts_a_win_from_the_day_it_was_entered(
    engine: Engine, settings: Settings
) -> None:
    """Deals won, the month: 1 as of the 15th, 2 as of the 20th. The week as of the 20th
    (Nov 16-22) has none, and its previous week (Nov 9-15), read as of the 20th, has both
    wins; as of the 15th that week itself had 1."""
    ids = build_win_entered_after_its_close(engine, settings)

    def ana(board: Leaderboard) -> tuple[float | None, float | None]:
        (row,) = [r for r in board.rows if r.rep_id == ids["Ana"]]
        return row.value, row.previous_value

    assert ana(leaderboard(engine, settings, "deals_won", "month", NOV_15))[0] == 1
    assert ana(leaderboard(engine, settings, "revenue", "month", NOV_15))[0] == 3_000
    assert ana(leaderboard(engine, settings, "deals_won", "month", NOV_20))[0] == 2
    assert ana(leaderboard(engine, settings, "revenue", "month", NOV_20))[0] == 8_000
    assert ana(leaderboard(engine, settings, "deals_won", "week", NOV_15))[0] == 1
    assert ana(leaderboard(engine, settings, "deals_won", "week", NOV_20)) == (0, 2)


def test_the_alerts_read_a_win_from_the_day_it_was_entered(
    engine: Engine, settings: Settings
) -> None:
    """With deals alerted on (`alerts.sources`), Ana's 20 deals won a month: as of the 15th
    (a trailing stretch, the month 10 business days old) she is behind with 1 won, as of
    the 20th (15 business days: the month to date) with 2. Before 2026-12-07 the 15th read
    2 won, the unknown win included, and raised no alert (2 of some 10.5 expected passed
    the chance test that 1 does not)."""
    build_win_entered_after_its_close(engine, settings)
    alerting = settings.model_copy(
        update={"alerts": settings.alerts.model_copy(update={"sources": ["activities", "deals"]})}
    )
    for day, actual in ((NOV_15, 1), (NOV_20, 2)):
        report = alerts(engine, alerting, day, team="East")
        found = [(a.rep, a.metric, a.actual) for a in report.alerts if a.metric == "deals_won"]
        assert found == [("Ana", "deals_won", actual)], day


def deal_alerts(engine: Engine, settings: Settings, day: dt.date) -> list[Alert]:
    """East's alerts on deal metrics, with deals alerted on (`alerts.sources`)."""
    alerting = settings.model_copy(
        update={"alerts": settings.alerts.model_copy(update={"sources": ["activities", "deals"]})}
    )
    found = alerts(engine, alerting, day, team="East").alerts
    return [a for a in found if a.metric in ("deals_won", "revenue")]


def test_a_deal_alert_is_dated_from_the_deals_known_that_day(
    engine: Engine, settings: Settings
) -> None:
    """As of Friday Nov 20 (the month to date, 15 business days; 20 deals won a month over
    19 business days, alerted at 75% of that pace): Ben's 2 wins of Nov 2 keep him on pace
    on Nov 2 (2 >= 0.79) and Nov 3 (2 >= 1.58), not on Nov 4 (2 < 2.37): behind since
    Wednesday Nov 4 (counted, the win of Nov 3 entered on the 25th would have kept him on
    pace to Nov 4). Cy has no known November win: at zero since the day after his last
    known win, Oct 21 (not Nov 5: his win of Nov 4 was entered on the 25th). Before
    2026-12-07 the dates came from the daily rollup, which holds no deal metric: Ben behind
    since Nov 1, the period's start, and Cy at zero with no date."""
    build_deal_alerts_to_date(engine, settings)
    found = {
        (a.rep, a.rule, a.metric, a.actual, a.since) for a in deal_alerts(engine, settings, NOV_20)
    }
    assert found == {
        ("Ben", "behind_pace", "deals_won", 2, dt.date(2026, 11, 4)),
        ("Cy", "zero_key_metric", "deals_won", 0, dt.date(2026, 10, 21)),
    }


def test_the_weekly_report_counts_a_win_from_the_day_it_was_entered(
    engine: Engine, settings: Settings
) -> None:
    """Ana's one-on-one: the week of Nov 9 read as of the 15th won 1 (3,000), the week
    before none. The week of Nov 16 read as of the 20th won none, and the week before, to
    the same weekday (Nov 9-13), read as of the 20th, won both (2, 8,000)."""
    build_win_entered_after_its_close(engine, settings)
    then = {c.metric: c for c in rep_report(engine, settings, "Ana", NOV_15).changes}
    assert (then["deals_won"].current, then["revenue"].current) == (1, 3_000)
    assert (then["deals_won"].previous, then["revenue"].previous) == (0, 0)
    now = {c.metric: c for c in rep_report(engine, settings, "Ana", NOV_20).changes}
    assert (now["deals_won"].current, now["revenue"].current) == (0, 0)
    assert (now["deals_won"].previous, now["revenue"].previous) == (2, 8_000)


def test_the_funnel_counts_a_win_from_the_day_it_was_entered(
    engine: Engine, settings: Settings
) -> None:
    """Ana's funnel step deals won, the month to date: 1 account (Acme) as of the 15th, 2
    (Acme and Globex) as of the 20th (before 2026-12-07: 2 both days)."""
    build_win_entered_after_its_close(engine, settings)
    for day, count in ((NOV_15, 1), (NOV_20, 2)):
        window = diagnosis_window(settings, "month", day)
        found = funnel(engine, settings, window, rep="Ana", steps=["deals_won"])
        assert [s.count for s in found.steps] == [count], day


def test_the_funnel_times_a_win_from_the_day_it_was_entered(
    engine: Engine, settings: Settings
) -> None:
    """Ana's calls -> deals won, the month to date: as of the 15th only Acme's win is known,
    7 days after its first call (Nov 2 at noon to the close date Nov 9, a date without a time:
    whole local days), 1 account; as of the 20th Globex's too, 5 days (Nov 5 to the close
    date Nov 10): the median of 7 and 5, 6.0 days, 2 accounts. Before 2026-12-07 the 15th
    read 5.5 days over 2 accounts, beside a count of 1 win; before 2026-12-08 the close dates
    were read as midnight instants (6.5 days, then 5.5)."""
    build_calls_before_a_win_entered_late(engine, settings)
    for day, truth in ((NOV_15, (7.0, 1)), (NOV_20, (6.0, 2))):
        window = diagnosis_window(settings, "month", day)
        found = funnel(engine, settings, window, rep="Ana", steps=["calls", "deals_won"])
        step = found.step("deals_won")
        assert step is not None
        assert (step.median_days, step.median_accounts) == truth, day


def test_the_tipping_point_counts_a_win_from_the_day_it_was_entered(
    engine: Engine, settings: Settings
) -> None:
    """Ana's rep-weeks of calls and deals won the same week (lag 0), the full weeks before
    the as-of day's: as of Thursday Nov 19, the week of Nov 2 (2 calls, no win) and the week
    of Nov 9 (3 calls, "On time" alone: "Logged late" was entered on the 20th); as of Friday
    Nov 20, the same weeks, the second with both wins. Before 2026-12-07 the 19th read 2 wins
    in the week of Nov 9."""
    build_calls_before_a_win_entered_late(engine, settings)
    for day, wins in ((NOV_19, 1), (NOV_20, 2)):
        found = tipping_point(engine, settings, "calls", outcome="deals_won", roles=["ae"],
                              lag_weeks=0, as_of=day)  # fmt: skip
        assert found.points == [ScatterPoint(2, 0, 1), ScatterPoint(3, wins, 1)], day


def test_metric_totals_read_a_past_window_as_of_a_later_day(
    engine: Engine, settings: Settings
) -> None:
    """Nov 9-10 (the window [Nov 9, Nov 11)): as of its last day, "On time" alone; as of
    the 20th, both. A deal with no amount entered late is counted apart the same way."""
    ids = build_win_entered_after_its_close(engine, settings)
    ana = ids["Ana"]
    start, end = dt.date(2026, 11, 9), dt.date(2026, 11, 11)
    with engine.connect() as conn:
        then = metric_totals(conn, settings, ["deals_won", "revenue"], start, end, [ana])
        later = metric_totals(
            conn, settings, ["deals_won", "revenue"], start, end, [ana], as_of=NOV_20
        )
    assert then.values == {ana: {"deals_won": 1, "revenue": 3_000}}
    assert later.values == {ana: {"deals_won": 2, "revenue": 8_000}}
    put_deal(engine, ana, "No amount", None, at(11, 20), status="won", stage="closed_won",
             closed=at(11, 10, hour=5))  # fmt: skip
    with engine.connect() as conn:
        assert amounts_unknown(conn, settings, "revenue", start, end, [ana]) == {}
        assert amounts_unknown(conn, settings, "revenue", start, end, [ana], as_of=NOV_20) == {
            ana: 1
        }


def test_the_backtest_run_rate_knows_no_win_entered_after_the_cut_off(
    engine: Engine, settings: Settings
) -> None:
    """Cut-off at the end of 2026-06-30: the run rate's 90 days (from Apr 2) hold "On time"
    (4,000) and "Logged late" (9,000, won May 20, entered Jul 10). At the cut-off only
    "On time" was known: 4,000 / 90 a day, times Q3's 92 days = 4,088.89 (before
    2026-12-07: 13,000 / 90 x 92 = 13,288.89). The actual revenue read afterwards (no
    bound) still knows both."""
    build_win_entered_after_a_cutoff(engine, settings)
    scope = ForecastScope(None, None, None)
    first_left, end = dt.date(2026, 7, 1), dt.date(2026, 10, 1)
    with engine.connect() as conn:
        rate = run_rate(conn, settings, scope, first_left, end)
        actual, _ = revenue_won(conn, scope, dt.datetime(2026, 4, 1, 4), dt.datetime(2026, 7, 1, 4))
    assert rate == pytest.approx(4_000 / 90 * 92)
    assert actual == 13_000


def test_a_backtest_cut_off_whose_only_win_was_entered_later_is_skipped_so(
    engine: Engine, settings: Settings
) -> None:
    """Q2 2026 from its start (cut-off at the end of March 31): Cy's "Old open" (created
    2025-12-01) and "March late" (won March 20, entered in the CRM on July 10); the
    builder's two wins close in May. At the cut-off no win was known anywhere in the
    organisation: the cut-off is skipped as the scorecard reads it, wins "not recorded"
    (before 2026-12-07 the check counted "March late" as known, and the forecast it then
    tried found no closed deal at all and was refused with "no deal in the history ... has
    closed")."""
    cy = build_win_entered_after_a_cutoff(engine, settings)
    put_deal(engine, cy, "Old open", 1_000, at(12, 1, 2025))
    put_deal(engine, cy, "March late", 2_000, at(7, 10), status="won", stage="closed_won",
             closed=at(3, 20, hour=4))  # fmt: skip
    result = backtest(engine, settings, "quarter", periods=1, as_of=dt.date(2026, 7, 15),
                      runs=200, seed=1, points=("start",))  # fmt: skip
    assert result.rows == []
    assert [(s.cutoff, s.reason) for s in result.skipped] == [
        (
            dt.date(2026, 3, 31),
            'no won deal is recorded up to 2026-03-31 (deals won read "not recorded", as on'
            " the scorecard), so no chance of a win can be measured",
        )
    ]


def test_a_win_entered_later_is_not_recorded_before_its_entry(
    engine: Engine, settings: Settings
) -> None:
    """The organisation's only win, Cy's "Logged late" (won May 20, entered in the CRM on
    July 10): as of May 29 no win at all was in the CRM, so deals won and revenue read
    "not recorded" (the scorecard's rule, as the forecast and the flow read the same day),
    not a measured 0. As of July 10 the win is known: July's 0 is a measured 0. Until
    2026-12-07 the rule asked only whether some win had closed before the day."""
    cy = east_and_west(engine, settings)["Cy"]
    put_deal(engine, cy, "Logged late", 9_000, at(7, 10), status="won", stage="closed_won",
             closed=at(5, 20, hour=4))  # fmt: skip

    def unrecorded(day: dt.date) -> tuple[str | None, str | None]:
        card = rep_scorecard(engine, settings, "Cy", "month", day)
        lines = {line.metric: line for line in card.lines}
        return lines["deals_won"].unrecorded, lines["revenue"].unrecorded

    assert unrecorded(dt.date(2026, 5, 29)) == ("Deals won", "Revenue won")
    assert unrecorded(dt.date(2026, 7, 10)) == (None, None)
