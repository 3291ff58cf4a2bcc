"""The week-over-week change of a sum of amounts carries each week's deals left out for want
of an amount, and is not comparable when either left any out (tests/unknown_amounts_org.py,
weeks of Monday June 29 and Monday July 6 2026, whole weeks; revenue dated by close):

- Ana, week of Jul 6: "Blank win" and "Blank win 2", both without an amount: 0, 2 left out.
  Week of Jun 29: "Paid" 5,000 and "Pilot" a real 0: 5,000, none left out. The change read
  -5,000 (-100%), a drop, when she won two deals of unknown size.
- East (Ana, Ben, Cy), week of Jul 6: Ana's two blanks, Ben's "Big" 20,000 and "Ben blank":
  20,000, 3 left out. Week of Jun 29: Paid, Pilot and "Ben early blank": 5,000, 1 left out.
  The change read +15,000 (+300%).
- Deals won, a count, is comparable either way: Ana 2 against 2; East 4 against 3.
- Revenue per win, an average over the wins with an amount, is compared on that known part:
  East 20,000 over 1 of 4 wins (Big) against 5,000 over 2 of 3 (Paid, Pilot) = 2,500: up
  17,500. It read "not comparable", as a sum would. Ana's week of Jul 6 has no win with an
  amount (0 of 2): no average, so no change, against 2,500 (2 of 2).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from paceline.analytics.report import week_changes
from paceline.calendar import BusinessCalendar
from paceline.config import Settings, default_config_text, parse_settings
from unknown_amounts_org import EXTRA_METRICS, build_unknown_amounts_org

SUNDAY = dt.date(2026, 7, 12)  # the week of Monday July 6, read whole


def _changes(engine: Engine, settings: Settings, reps: list[int]) -> dict[str, tuple]:
    week = BusinessCalendar(settings.calendar).period("week", SUNDAY)
    found = week_changes(engine, settings, reps, ["revenue", "deals_won"], week, SUNDAY)
    return {
        c.metric: (
            c.current,
            c.amounts_unknown,
            c.previous,
            c.previous_amounts_unknown,
            c.comparable,
            c.change,
        )
        for c in found
    }


def test_a_week_whose_wins_all_lack_an_amount_is_not_a_drop(
    engine: Engine, settings: Settings
) -> None:
    reps = build_unknown_amounts_org(engine, settings)
    ana = _changes(engine, settings, [reps["Ana"]])
    assert ana["revenue"] == (0.0, 2, 5_000.0, 0, False, None)
    assert ana["deals_won"] == (2.0, 0, 2.0, 0, True, 0.0)


def test_the_teams_change_is_not_comparable_when_either_week_left_deals_out(
    engine: Engine, settings: Settings
) -> None:
    reps = build_unknown_amounts_org(engine, settings)
    team = _changes(engine, settings, [reps["Ana"], reps["Ben"], reps["Cy"]])
    assert team["revenue"] == (20_000.0, 3, 5_000.0, 1, False, None)
    assert team["deals_won"] == (4.0, 0, 3.0, 0, True, 1.0)


def test_an_average_over_the_wins_with_an_amount_is_compared_on_that_part(
    engine: Engine,
) -> None:
    settings = parse_settings(default_config_text() + EXTRA_METRICS)
    reps = build_unknown_amounts_org(engine, settings)
    week = BusinessCalendar(settings.calendar).period("week", SUNDAY)
    names = ["revenue", "revenue_per_win"]
    team = [reps["Ana"], reps["Ben"], reps["Cy"]]
    found = {c.metric: c for c in week_changes(engine, settings, team, names, week, SUNDAY)}
    per_win = found["revenue_per_win"]
    assert (per_win.current, per_win.known, per_win.amounts_unknown) == (20_000, 1, 3)
    assert (per_win.previous, per_win.previous_known, per_win.previous_amounts_unknown) == (
        2_500,
        2,
        1,
    )
    assert (per_win.average_of, per_win.comparable, per_win.change) == ("win", True, 17_500)
    assert per_win.relative == 7.0
    revenue = found["revenue"]  # the total stays not comparable
    assert (revenue.average_of, revenue.comparable, revenue.change) == (None, False, None)
    (ana,) = week_changes(engine, settings, [reps["Ana"]], ["revenue_per_win"], week, SUNDAY)
    assert (ana.current, ana.known, ana.amounts_unknown) == (None, 0, 2)
    assert (ana.previous, ana.previous_known, ana.comparable, ana.change) == (2_500, 2, True, None)
