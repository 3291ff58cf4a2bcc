"""Migration 0021: `import_run.reader`, the import source that read a run's file; the runs
recorded before it keep no reader (which source read them was never kept)."""

from __future__ import annotations

from sqlalchemy import Engine, insert, inspect

from paceline.store.migrate import current_revision, downgrade, head_revision, upgrade
from paceline.store.models import ImportRun
from paceline.store.runs import run_progress, start_run


def _columns(engine: Engine) -> set[str]:
    engine.dispose()  # SQLite: the altered table, not a cached description of the old one
    return {column["name"] for column in inspect(engine).get_columns("import_run")}


def test_the_upgrade_adds_the_reader_and_keeps_the_runs(engine: Engine) -> None:
    downgrade(engine, "0020")
    assert "reader" not in _columns(engine)
    with engine.begin() as conn:  # a run as 0020 recorded it
        values = {"entity": "activities", "source": "csv", "file_name": "old.xlsx"}
        old = conn.execute(insert(ImportRun).values(values).returning(ImportRun.id)).scalar_one()
    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)
    with engine.begin() as conn:
        new = start_run(conn, "activities", "csv", "new.xlsx", "xlsx")
    before, after = run_progress(engine, old), run_progress(engine, new)
    assert before is not None and (before.source, before.reader) == ("csv", None)
    assert after is not None and (after.source, after.reader) == ("csv", "xlsx")
    downgrade(engine, "0020")
    assert "reader" not in _columns(engine)
    upgrade(engine)
