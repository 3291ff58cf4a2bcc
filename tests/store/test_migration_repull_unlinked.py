"""Migration 0025: a sync source with activities kept without their deal link (before
`deal_wait`, nothing recorded which deal they named) forgets its activity objects' cursors,
so its next sync pulls them whole and links them; every other cursor is kept."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, insert, select

from factories import at, put_deal
from paceline.config import Settings
from paceline.services.reps import add_rep
from paceline.store.migrate import current_revision, downgrade, head_revision, upgrade
from paceline.store.models import Activity, SyncCursor

WHEN = dt.datetime(2026, 12, 1, 9, 0)


def _activity(engine: Engine, rep_id: int, source: str, ref: str, deal_id: int | None) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(Activity).values(
                rep_id=rep_id, deal_id=deal_id, kind="call", occurred_at=at(11, 20),
                local_date=dt.date(2026, 11, 20), source=source, external_id=ref,
            )
        )  # fmt: skip


def _cursors(engine: Engine, objects: dict[str, tuple[str, ...]]) -> None:
    rows = [
        {"source": source, "object": obj, "cursor": "2026-11-30", "updated_at": WHEN}
        for source, names in objects.items()
        for obj in names
    ]
    with engine.begin() as conn:
        conn.execute(insert(SyncCursor), rows)


def test_only_the_activity_cursors_of_a_source_with_unlinked_activities_are_forgotten(
    engine: Engine, settings: Settings
) -> None:
    """hubspot: one of two calls unlinked -> calls and tasks forgotten, companies and deals
    kept. pipedrive: its one activity linked -> every cursor kept. close: no activity
    stored at all -> kept (nothing to link)."""
    ana = add_rep(engine, settings, "Ana", "ae")
    deal = put_deal(engine, ana, "Acme", 1000.0, at(11, 1))
    _activity(engine, ana, "hubspot", "c1", deal)
    _activity(engine, ana, "hubspot", "c2", None)
    _activity(engine, ana, "pipedrive", "p1", deal)
    _cursors(
        engine,
        {
            "hubspot": ("companies", "deals", "calls", "tasks"),
            "pipedrive": ("deals", "activities"),
            "close": ("activities",),
        },
    )
    downgrade(engine, "0024")
    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)
    with engine.connect() as conn:
        kept = {(s, o) for s, o in conn.execute(select(SyncCursor.source, SyncCursor.object))}
    assert kept == {
        ("hubspot", "companies"),
        ("hubspot", "deals"),
        ("pipedrive", "deals"),
        ("pipedrive", "activities"),
        ("close", "activities"),
    }
    with engine.connect() as conn:  # no activity touched
        links = {a: d for a, d in conn.execute(select(Activity.external_id, Activity.deal_id))}
    assert links == {"c1": deal, "c2": None, "p1": deal}
