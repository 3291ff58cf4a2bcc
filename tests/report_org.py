"""The hand-built organisation the report and export tests read (November 2026).

East: Ana Ruiz and Ben Cole (AEs) and Max Stone (their manager); West: Dee Fox. Ana has a
proposals target of 38 for November; her proposals, meetings and two open deals are planted
on the days below, so the reports' figures can be worked out by hand.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Engine, insert

from factories import activity_row as activity
from paceline.config import Settings, default_settings
from paceline.services.reps import add_rep
from paceline.store.models import Activity, Deal, Target

SETTINGS = default_settings()


def nov(day: int) -> dt.date:
    return dt.date(2026, 11, day)


def build(engine: Engine, settings: Settings = SETTINGS) -> dict[str, int]:
    ids = {
        "ana": add_rep(engine, settings, "Ana Ruiz", "ae", "East"),
        "ben": add_rep(engine, settings, "Ben Cole", "ae", "East"),
        "dee": add_rep(engine, settings, "Dee Fox", "ae", "West"),
        "max": add_rep(engine, settings, "Max Stone", "manager", "East"),
    }
    ana, ben, dee = ids["ana"], ids["ben"], ids["dee"]
    proposals = {ana: [9, 11, 12, 12, 12, 16, 16, 17, 18, 19, 19, 19, 19, 19], ben: [9, 16]}
    rows = [
        activity(rep, nov(day), kind="proposal", outcome=None)
        for rep, days in proposals.items()
        for day in days
    ]
    rows += [activity(ana, nov(10), kind="meeting", outcome="held", engaged=True) for _ in range(3)]
    rows += [activity(dee, nov(day), kind="proposal", outcome=None) for day in (10, 17)]
    with engine.begin() as conn:
        acme = _deal(conn, ana, "Acme expansion", 50_000, nov(2))
        fresh = _deal(conn, ana, "Fresh start", 10_000, nov(16))
        call = activity(ana, nov(17), kind="call", outcome="connected", engaged=True)
        conn.execute(insert(Activity), [*rows, {**call, "deal_id": fresh}])
        conn.execute(
            insert(Target).values(
                rep_id=ana, metric="proposals", period_kind="month", period_start=nov(1), value=38
            )
        )
    ids["acme"] = acme
    return ids


def _deal(conn: object, rep_id: int, name: str, amount: float, created: dt.date) -> int:
    result = conn.execute(  # type: ignore[attr-defined]
        insert(Deal)
        .values(
            rep_id=rep_id,
            name=name,
            amount=Decimal(amount),
            stage="qualification",
            status="open",
            created_at=dt.datetime.combine(created, dt.time(17)),
            source="test",
        )
        .returning(Deal.id)
    )
    return int(result.scalar_one())
