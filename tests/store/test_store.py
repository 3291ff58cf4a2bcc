"""The schema: migrations create exactly what the models declare, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex

from paceline.store.migrate import head_revision, is_up_to_date, upgrade
from paceline.store.models import Base, PartialIndex


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


def test_partial_indexes_have_their_where_on_both_databases() -> None:
    """`PartialIndex` fills its dialect options when a dialect asks (so that importing the
    tables does not import PostgreSQL's dialect): the DDL is the migrations' on both."""
    partial = {
        ix.name: ix
        for table in Base.metadata.tables.values()
        for ix in table.indexes
        if isinstance(ix, PartialIndex)
    }
    assert set(partial) == {"ix_activity_deal", "uq_alert_delivery_active"}
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        ddl = {name: str(CreateIndex(ix).compile(dialect=dialect)) for name, ix in partial.items()}
        assert ddl == {
            "ix_activity_deal": "CREATE INDEX ix_activity_deal ON activity (deal_id) "
            "WHERE deal_id IS NOT NULL",
            "uq_alert_delivery_active": "CREATE UNIQUE INDEX uq_alert_delivery_active ON "
            "alert_delivery (channel, recipient, rep, metric, rule, period) WHERE active",
        }
    listed = dict(partial["ix_activity_deal"].dialect_kwargs)  # as Index(..., *_where=) lists
    assert {key: str(value) for key, value in listed.items()} == {
        "sqlite_where": "deal_id IS NOT NULL",
        "postgresql_where": "deal_id IS NOT NULL",
    }
