"""Revenue read day by day, as a deal alert's "since when" reads it (`metrics.
deal_daily_values`, `last_deal_day`): the deals known as of the day asked (a win entered
late is not), each win on the business-local day of its final close (a reopened deal's
undone close is not a win), the wins without an amount adding nothing, and money added
exactly to the cent. Ana's wins of `factories.build_revenue_days`, business zone
America/New_York, both databases."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from factories import build_revenue_days
from paceline.analytics.metrics import (
    amounts_unknown,
    deal_daily_values,
    last_deal_day,
    metric_totals,
)
from paceline.config import Settings

NOV_1, NOV_20, NOV_30 = dt.date(2026, 11, 1), dt.date(2026, 11, 20), dt.date(2026, 11, 30)


def nov(day: int) -> dt.date:
    return dt.date(2026, 11, day)


def test_revenue_by_day_as_known_on_the_day_asked(engine: Engine, settings: Settings) -> None:
    """As of Nov 20, Nov 1-20: Monday Nov 2 3,000.20 + 1,500.10 = 4,500.30 (two closes that
    day, added to the cent); Nov 4 2,000 (the win without an amount adds nothing); Nov 6 0
    (its only win has no amount); Nov 17 10,000 ("Rewon", once, at its final close, not on
    Nov 3); Nov 20 800 (closed at 23:59 in New York). Not there: "Logged late" (entered Nov
    25), "Reopened" (open), Halloween night (Oct 31 in New York), Ben's win. As of Nov 30,
    "Logged late" is known: 7,000 on Nov 3."""
    ana = build_revenue_days(engine, settings)["Ana"]
    revenue = settings.metric("revenue")
    with engine.connect() as conn:
        known_then = deal_daily_values(conn, settings, revenue, NOV_1, NOV_20, ana, NOV_20)
        known_later = deal_daily_values(conn, settings, revenue, NOV_1, NOV_20, ana, NOV_30)
    expected = {nov(2): 4_500.30, nov(4): 2_000.0, nov(6): 0.0, nov(17): 10_000.0, nov(20): 800.0}
    assert known_then == expected
    assert known_later == expected | {nov(3): 7_000.0}


def test_the_days_add_up_to_the_total(engine: Engine, settings: Settings) -> None:
    """The days of Nov 1-20 as of Nov 20 add up to the month-to-date revenue the scorecard
    reads, 17,300.30, which leaves out the 2 wins without an amount."""
    reps = build_revenue_days(engine, settings)
    revenue = settings.metric("revenue")
    end = nov(21)
    with engine.connect() as conn:
        days = deal_daily_values(conn, settings, revenue, NOV_1, NOV_20, reps["Ana"], NOV_20)
        total = metric_totals(conn, settings, ["revenue"], NOV_1, end, [reps["Ana"]])
        unknown = amounts_unknown(conn, settings, "revenue", NOV_1, end, [reps["Ana"]])
    assert round(sum(days.values()), 2) == total.get(reps["Ana"], "revenue") == 17_300.30
    assert unknown == {reps["Ana"]: 2}


def test_the_last_day_with_revenue(engine: Engine, settings: Settings) -> None:
    """Ana's last day with revenue as of Nov 20: Nov 20 ("Late night"); up to Nov 16, Nov 4
    (the win of Nov 6 has no amount); from Nov 5 to Nov 16 none ("Reopened" is open, the
    win of Nov 6 has no amount); on Nov 3, none as of Nov 20 and "Logged late"'s as of
    Nov 30."""
    reps = build_revenue_days(engine, settings)
    revenue = settings.metric("revenue")
    ana = reps["Ana"]
    oct_1 = dt.date(2026, 10, 1)
    with engine.connect() as conn:

        def last(since: dt.date, until: dt.date, as_of: dt.date = NOV_20) -> dt.date | None:
            return last_deal_day(conn, settings, revenue, since, until, ana, as_of)

        assert last(oct_1, NOV_20) == NOV_20
        assert last(oct_1, nov(16)) == nov(4)
        assert last(nov(5), nov(16)) is None
        assert last(nov(3), nov(3)) is None
        assert last(nov(3), nov(3), NOV_30) == nov(3)
