"""Migration 0024: `deal_wait`, the activities kept without their deal link until the deal
is imported; a database migrated with activities in it starts with none waiting."""

from __future__ import annotations

from sqlalchemy import Engine, inspect

from paceline.store.migrate import current_revision, downgrade, head_revision, upgrade


def _tables(engine: Engine) -> set[str]:
    engine.dispose()  # SQLite: the schema as it is now, not a cached description
    return set(inspect(engine).get_table_names())


def test_the_upgrade_adds_the_table_and_the_downgrade_drops_it(engine: Engine) -> None:
    downgrade(engine, "0023")
    assert "deal_wait" not in _tables(engine)
    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)
    assert "deal_wait" in _tables(engine)
    engine.dispose()
    indexes = {i["name"]: i["column_names"] for i in inspect(engine).get_indexes("deal_wait")}
    assert indexes == {"ix_deal_wait_deal": ["source", "deal_ref"]}
