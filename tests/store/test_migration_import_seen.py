"""Migration 0020: `import_seen` without its foreign key to `import_run` (checked per
recorded match, guarding nothing), its rows kept; the key back on a downgrade."""

from __future__ import annotations

from sqlalchemy import Engine, insert, inspect, select

from paceline.store.migrate import current_revision, downgrade, head_revision, upgrade
from paceline.store.models import ImportRun, ImportSeen


def _keys(engine: Engine) -> list[tuple[str, str]]:
    engine.dispose()  # SQLite: the copied table, not a cached description of the old one
    found = inspect(engine).get_foreign_keys("import_seen")
    return [(key["referred_table"], key["constrained_columns"][0]) for key in found]


def test_the_upgrade_drops_the_key_and_keeps_the_rows(engine: Engine) -> None:
    downgrade(engine, "0019")
    assert _keys(engine) == [("import_run", "run_id")]
    with engine.begin() as conn:
        # A run as 0019 recorded it (`start_run` writes columns of later revisions).
        values = {"entity": "activities", "source": "csv", "file_name": "a.csv"}
        run_id = conn.execute(insert(ImportRun).values(values).returning(ImportRun.id)).scalar_one()
        conn.execute(insert(ImportSeen), [{"run_id": run_id, "external_id": x} for x in "ab"])
    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)
    assert _keys(engine) == []
    with engine.begin() as conn:
        assert sorted(conn.execute(select(ImportSeen.external_id)).scalars()) == ["a", "b"]
        # A run id no import_run has is accepted now (the import that writes it made it).
        conn.execute(insert(ImportSeen).values(run_id=run_id + 99, external_id="c"))
    downgrade(engine, "0019")
    assert _keys(engine) == [("import_run", "run_id")]
    upgrade(engine)
