"""Migration 0017: `metric_month`, each metric's `metric_day` rows summed per rep and calendar
month with the last day summed, filled from the rows already there (so an upgrade does not
rebuild the rollup), and gone again on a downgrade."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, insert, inspect, select

from paceline.store.migrate import current_revision, downgrade, head_revision, upgrade
from paceline.store.models import MetricDay, MetricMonth

D = dt.date

# metric, day, rep, value: planted as the rollup would have left them at 0016
DAYS = [
    ("calls", D(2026, 10, 30), 1, 2.0),
    ("calls", D(2026, 11, 2), 1, 3.0),
    ("calls", D(2026, 11, 5), 1, 1.0),
    ("calls", D(2026, 11, 3), 2, 4.0),
    ("selling_minutes", D(2026, 11, 2), 1, 2.5),
    ("selling_minutes", D(2026, 11, 30), 1, 1.25),
    ("selling_minutes", D(2026, 12, 1), 1, 7.0),
]

# (metric, month, rep): (value, last day), summed by hand
MONTHS = {
    ("calls", D(2026, 10, 1), 1): (2.0, D(2026, 10, 30)),
    ("calls", D(2026, 11, 1), 1): (4.0, D(2026, 11, 5)),
    ("calls", D(2026, 11, 1), 2): (4.0, D(2026, 11, 3)),
    ("selling_minutes", D(2026, 11, 1), 1): (3.75, D(2026, 11, 30)),
    ("selling_minutes", D(2026, 12, 1), 1): (7.0, D(2026, 12, 1)),
}


def month_rows(engine: Engine) -> dict[tuple[str, dt.date, int], tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(select(MetricMonth)).all()
    return {(metric, month, rep): (value, last) for metric, month, rep, value, last in rows}


def test_the_upgrade_sums_the_stored_days_per_month(engine: Engine) -> None:
    downgrade(engine, "0016")
    engine.dispose()
    assert "metric_month" not in inspect(engine).get_table_names()
    with engine.begin() as conn:
        conn.execute(
            insert(MetricDay),
            [{"metric": m, "local_date": d, "rep_id": r, "value": v} for m, d, r, v in DAYS],
        )
    upgrade(engine)
    engine.dispose()
    assert current_revision(engine) == head_revision(engine)
    assert month_rows(engine) == MONTHS
    downgrade(engine, "0016")
    engine.dispose()
    assert "metric_month" not in inspect(engine).get_table_names()
    upgrade(engine)
    engine.dispose()
    assert month_rows(engine) == MONTHS
