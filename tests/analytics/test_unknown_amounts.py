"""Unknown amounts: a deal whose CRM left the amount empty is stored as NULL, never as 0, and
every analysis that sums or averages amounts leaves it out and says how many it left out.

One hand-built world for Cy (AE, East), as of Sunday 2026-07-05 (the month of July;
`factories.build_unknown_amount_wins`):
- history: ten deals in proposal from creation (June 1-10), each won two days later, at
  10,000 and 30,000 in turn (sum 200,000);
- won in July (each in proposal from June 29 to its win on July 2 or 3): "Paid" 5,000,
  "Pilot" a real 0, "Unknown win" with no amount;
- open in proposal since July 4: "X" with no amount, "Z" with a real 0, "W" at 7,000.

Counted by hand:
- won so far in July: 5,000 + 0 = 5,000; one won deal without an amount, not in it;
- won sizes the forecast learns from: the ten (200,000), Paid and Pilot: 12 sizes, sum
  205,000, average 205,000 / 12 (the real 0 is a size; the unknown one is not);
- every proposal stay that lasted a day and a half was won, so X, Z and W (1.46 days in) are
  won for sure: X is worth the average, Z 0, W 7,000; expected from them 205,000 / 12 + 7,000;
- open without an amount: 1 (X); deals of the history without one: X and Unknown win, 2;
- the open pipeline's value: 7,000 (W and Z), with one deal (X) left out.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from factories import (
    at,
    build_unknown_amount_wins,
    east_and_west,
    make_api,
    replay_july_from,
)
from paceline.analytics.backtest import backtest
from paceline.analytics.flow import pipeline_flow
from paceline.analytics.forecast import forecast
from paceline.analytics.pipeline_history import forecast_scope, revenue_won
from paceline.analytics.stalled import stalled_deals
from paceline.analytics.window import Window
from paceline.config import Settings
from paceline.ingest.importer import ImportOptions, import_file
from paceline.store.models import Deal, DealStageHistory

AS_OF = dt.date(2026, 7, 5)
AVERAGE = 205_000 / 12


def test_the_store_keeps_an_unknown_amount_apart_from_a_real_zero(
    engine: Engine, settings: Settings
) -> None:
    build_unknown_amount_wins(engine, settings)
    with engine.connect() as conn:
        stored = dict(conn.execute(select(Deal.name, Deal.amount)).all())
        history = conn.execute(
            select(DealStageHistory.amount).join(Deal).where(Deal.name == "X")
        ).scalar_one()
    assert (stored["X"], stored["Z"], stored["Unknown win"]) == (None, Decimal(0), None)
    assert history is None


def test_the_forecast_values_unknown_open_amounts_from_wins_and_counts_unknown_wins_apart(
    engine: Engine, settings: Settings
) -> None:
    build_unknown_amount_wins(engine, settings)
    result = forecast(engine, settings, "month", AS_OF, rep="Cy", runs=2000)
    assert result.won_so_far == 5_000
    assert result.won_without_amount == 1
    assert (result.open_without_amount, result.history_without_amount) == (1, 2)
    assert result.new_deals.average_won_amount == pytest.approx(AVERAGE)
    chances = {d.name: d for d in result.open_deals}
    assert {n: c.win_probability for n, c in chances.items()} == {"X": 1.0, "Z": 1.0, "W": 1.0}
    assert (chances["X"].amount, chances["X"].amount_recorded) == (pytest.approx(AVERAGE), False)
    assert (chances["Z"].amount, chances["Z"].amount_recorded) == (0, True)
    assert (chances["W"].amount, chances["W"].amount_recorded) == (7_000, True)
    assert result.expected_open == pytest.approx(AVERAGE + 7_000)
    # Every run wins all three: at least the won so far plus W, plus X at the smallest size
    # drawn from history, which is the real 0 of Pilot (times the run's size factor).
    assert result.p10 >= 5_000 + 7_000


def test_revenue_won_sums_the_known_amounts_and_counts_the_rest(
    engine: Engine, settings: Settings
) -> None:
    build_unknown_amount_wins(engine, settings)
    with engine.connect() as conn:
        scope = forecast_scope(conn, None, "Cy")
        july = revenue_won(conn, scope, at(7, 1, hour=4), at(8, 1, hour=4))
        june = revenue_won(conn, scope, at(6, 1, hour=4), at(7, 1, hour=4))
    assert july == (5_000.0, 1)
    assert june == (200_000.0, 0)


def test_the_backtest_says_how_many_wins_of_a_period_have_no_amount(
    engine: Engine, settings: Settings
) -> None:
    """July, forecast at its start and middle as of August 1: its actual is 5,000 (Paid and
    Pilot) with one win (Unknown win) left out. A deal won in March gives the backtest the
    90 days of history it needs before a cut-off; the records reach July 31
    (`records_until`), so July is a whole month of data."""
    replay_july_from(engine, build_unknown_amount_wins(engine, settings))
    result = backtest(engine, settings, "month", rep="Cy", periods=1,
                      as_of=dt.date(2026, 8, 1), runs=200)  # fmt: skip
    assert [r.period.label for r in result.rows] == ["2026-07", "2026-07"]
    assert [(r.actual, r.actual_without_amount) for r in result.rows] == [(5_000, 1)] * 2
    assert result.actual_without_amount == 1  # July's one win, not once per row (2)


def test_stalled_deals_leave_unknown_amounts_out_of_the_values(
    engine: Engine, settings: Settings
) -> None:
    """As of July 5, Cy's open deals are X (unknown), Z (0) and W (7,000): open value 7,000
    with one deal left out; X shows no amount, not 0."""
    build_unknown_amount_wins(engine, settings)
    report = stalled_deals(engine, settings, AS_OF, rep="Cy")
    assert (report.open_deals, report.open_value, report.open_without_amount) == (3, 7_000, 1)
    (row,) = report.by_rep
    assert (row.open_deals, row.open_value, row.open_without_amount) == (3, 7_000, 1)
    amounts = {d.name: d.amount for d in report.deals}
    assert amounts.get("X") is None
    assert report.value == sum(a for a in amounts.values() if a is not None)
    assert report.without_amount == (1 if "X" in amounts else 0)


def test_flow_counts_a_deal_without_an_amount_but_not_its_value(
    engine: Engine, settings: Settings
) -> None:
    """The week of Monday June 29: created Paid, Pilot, Unknown win (June 29) and X, Z, W
    (July 4): 6 deals, value 5,000 + 0 + 7,000 = 12,000, two (Unknown win, X) without an
    amount. Won in it: Paid, Pilot (July 2) and Unknown win (July 3): 3, value 5,000, one
    without an amount."""
    build_unknown_amount_wins(engine, settings)
    window = Window("1w", dt.date(2026, 6, 29), dt.date(2026, 7, 6))
    report = pipeline_flow(engine, settings, window, rep="Cy")
    (week,) = [w for w in report.weeks if w.start == dt.date(2026, 6, 29)]
    assert (week.created.count, week.created.value, week.created.without_amount) == (6, 12_000, 2)
    assert (week.won.count, week.won.value, week.won.without_amount) == (3, 5_000, 1)


def test_an_import_stores_a_blank_amount_as_unknown_and_0_as_0(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    east_and_west(engine, settings)
    path = tmp_path / "deals.csv"
    path.write_text(
        "external_id,name,rep,amount,stage,created_at,closed_at\n"
        "d1,Blank,Cy,,proposal,2026-07-01T10:00:00,\n"
        "d2,Zero,Cy,0,proposal,2026-07-01T10:00:00,\n"
        'd3,Some,Cy,"$1,250.00",closed_won,2026-07-01T10:00:00,2026-07-02T10:00:00\n'
        "d4,Won blank,Cy,,closed_won,2026-07-01T10:00:00,2026-07-02T10:00:00\n",
        "utf-8",
    )
    options = ImportOptions(now=dt.datetime(2026, 7, 5, 12), errors_path=tmp_path / "e.csv")
    result = import_file(engine, settings, path, "deals", None, options)
    assert (result.inserted, result.rejected) == (4, 0)
    with engine.connect() as conn:
        stored = dict(conn.execute(select(Deal.external_id, Deal.amount)).all())
    assert stored == {"d1": None, "d2": Decimal(0), "d3": Decimal("1250.00"), "d4": None}


def test_the_api_takes_and_gives_an_unknown_amount_as_null(
    engine: Engine, settings: Settings
) -> None:
    api = make_api(engine, settings)
    with api.client:
        made = api.post("max", "/deals", {"rep": "Cy", "name": "No figure yet",
                                          "stage": "Proposal",
                                          "created_at": "2026-11-02T09:00:00"})  # fmt: skip
        assert made.status_code == 201, made.text
        assert made.json()["amount"] is None
        path = f"/deals/{made.json()['id']}"
        priced = api.patch("max", path, {"amount": "0"})
        assert priced.json()["amount"] == 0
        cleared = api.patch("max", path, {"amount": None})
        assert cleared.status_code == 200, cleared.text
        assert cleared.json()["amount"] is None
        assert api.get("max", path).json()["amount"] is None
