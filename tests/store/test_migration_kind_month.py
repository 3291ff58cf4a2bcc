"""Migration 0019: `kind_month`, `kind_day` summed per rep, calendar month and kind with the
last day summed, filled from the rows already there (so an upgrade does not rebuild the
rollup), and gone again on a downgrade."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, insert, inspect, select

from paceline.store.migrate import current_revision, downgrade, head_revision, upgrade
from paceline.store.models import KindDay, KindMonth

D = dt.date

# rep, day, kind, activities, asks, engaged: planted as the rollup would have left them at 0018
DAYS = [
    (1, D(2026, 10, 30), "call", 5, 4, 1),
    (1, D(2026, 11, 2), "call", 3, 3, 0),
    (1, D(2026, 11, 5), "call", 2, 1, 2),
    (1, D(2026, 11, 5), "email", 7, 0, 0),
    (2, D(2026, 11, 3), "call", 4, 4, 4),
    (2, D(2026, 11, 30), "meeting", 1, 1, 1),
    (2, D(2026, 12, 1), "meeting", 2, 2, 0),
]

# (rep, month, kind): (activities, asks, engaged, last day), summed by hand
MONTHS = {
    (1, D(2026, 10, 1), "call"): (5, 4, 1, D(2026, 10, 30)),
    (1, D(2026, 11, 1), "call"): (5, 4, 2, D(2026, 11, 5)),
    (1, D(2026, 11, 1), "email"): (7, 0, 0, D(2026, 11, 5)),
    (2, D(2026, 11, 1), "call"): (4, 4, 4, D(2026, 11, 3)),
    (2, D(2026, 11, 1), "meeting"): (1, 1, 1, D(2026, 11, 30)),
    (2, D(2026, 12, 1), "meeting"): (2, 2, 0, D(2026, 12, 1)),
}


def month_rows(engine: Engine) -> dict[tuple[int, dt.date, str], tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(select(KindMonth)).all()
    return {(rep, month, kind): tuple(rest) for rep, month, kind, *rest in rows}


def test_the_upgrade_sums_the_stored_days_per_month(engine: Engine) -> None:
    downgrade(engine, "0018")
    engine.dispose()
    assert "kind_month" not in inspect(engine).get_table_names()
    with engine.begin() as conn:
        conn.execute(
            insert(KindDay),
            [
                {"rep_id": r, "local_date": d, "kind": k, "activities": n, "asks": a, "engaged": e}
                for r, d, k, n, a, e in DAYS
            ],
        )
    upgrade(engine)
    engine.dispose()
    assert current_revision(engine) == head_revision(engine)
    assert month_rows(engine) == MONTHS
    downgrade(engine, "0018")
    engine.dispose()
    assert "kind_month" not in inspect(engine).get_table_names()
    upgrade(engine)
    engine.dispose()
    assert month_rows(engine) == MONTHS
