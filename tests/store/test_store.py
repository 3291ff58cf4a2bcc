"""The schema: migrations create exactly what the models declare, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from paceline.store.migrate import head_revision, is_up_to_date, upgrade
from paceline.store.models import Base


def test_migrations_match_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_upgrade_is_repeatable_and_reports_head(engine: Engine) -> None:
    upgrade(engine)
    assert is_up_to_date(engine)
    assert head_revision(engine) is not None


def test_activity_has_per_rep_per_day_index(engine: Engine) -> None:
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(engine).get_indexes("activity")}
    assert indexes["ix_activity_rep_day_kind"] == ["rep_id", "local_date", "kind"]


def test_sqlite_runs_in_wal_mode(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
