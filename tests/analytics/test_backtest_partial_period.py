"""A backtest's period that ends after the deals' records do is skipped with the reason, not
scored with a partial actual (the Zoho export's deals end on 2021-05-20; its Q2 2021 was
scored, two months of wins against forecasts of the quarter). Hand-built
(`factories.build_deals_ending`: a win of 1,000 each month from January 2025, the last on
the day the records end); Q1 and Q2 2026, as of 2026-07-15."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Engine
from typer.testing import CliRunner

from factories import build_deals_ending
from paceline.analytics.backtest import backtest
from paceline.cli import app as cli_app
from paceline.config import Settings
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade

AS_OF = dt.date(2026, 7, 15)
Q1, Q2 = dt.date(2026, 1, 1), dt.date(2026, 4, 1)
REASON = (
    "the deals' records end on 2026-05-20 (the latest deal created, closed or moved), before "
    "the period's last business day (2026-06-30): its actual would be partial"
)


def test_a_period_ending_after_the_records_is_skipped(engine: Engine, settings: Settings) -> None:
    """Q1 is scored at its start and middle; Q2's two cut-offs are skipped with the reason
    (before: scored, Q2's actual the 2,000 won by May 20)."""
    build_deals_ending(engine, settings, dt.date(2026, 5, 20))
    result = backtest(engine, settings, "quarter", periods=2, as_of=AS_OF, runs=500, seed=1)
    assert [(r.period.start, r.point) for r in result.rows] == [(Q1, "start"), (Q1, "middle")]
    assert [(s.period.start, s.point, s.reason) for s in result.skipped] == [
        (Q2, "start", REASON),
        (Q2, "middle", REASON),
    ]


def test_records_to_the_last_day_make_the_period_whole(engine: Engine, settings: Settings) -> None:
    """Records that end on June 30, Q2's last day: Q2 is scored at both cut-offs."""
    build_deals_ending(engine, settings, dt.date(2026, 6, 30))
    result = backtest(engine, settings, "quarter", periods=2, as_of=AS_OF, runs=500, seed=1)
    assert [(r.period.start, r.point) for r in result.rows] == [
        (Q1, "start"),
        (Q1, "middle"),
        (Q2, "start"),
        (Q2, "middle"),
    ]
    assert result.skipped == []


def test_the_cli_says_why(tmp_path: Path, settings: Settings) -> None:
    url = f"sqlite:///{tmp_path / 'partial.db'}"
    engine = make_engine(url)
    upgrade(engine)
    build_deals_ending(engine, settings, dt.date(2026, 5, 20))
    shown = CliRunner().invoke(
        cli_app, ["--db", url, "forecast", "--period", "quarter", "--as-of", "2026-07-15",
                  "--backtest", "--periods", "2", "--runs", "500"]
    )  # fmt: skip
    assert shown.exit_code == 0, shown.output
    assert f"quarter 2026-04-01..2026-06-30 (start): {REASON}" in " ".join(shown.output.split())


def test_a_month_ending_on_a_weekend_is_whole_to_its_last_business_day(
    engine: Engine, settings: Settings
) -> None:
    """October 2026 ends on Saturday the 31st; records to Friday the 30th, its last business
    day, make it whole: scored at both cut-offs, as of the Saturday."""
    build_deals_ending(engine, settings, dt.date(2026, 10, 30))
    result = backtest(engine, settings, "month", periods=1, as_of=dt.date(2026, 10, 31), runs=500,
                      seed=1)  # fmt: skip
    assert [(r.period.start, r.point) for r in result.rows] == [
        (dt.date(2026, 10, 1), "start"),
        (dt.date(2026, 10, 1), "middle"),
    ]
    assert result.skipped == []
