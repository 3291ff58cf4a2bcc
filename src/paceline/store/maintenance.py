"""Whole-database chores: what is in it, and emptying it for a fresh demo."""

from __future__ import annotations

from sqlalchemy import Engine, delete, func, inspect, select, union

from paceline.store.models import (
    Account,
    Activity,
    Base,
    Contact,
    Deal,
    ImportRun,
    Rep,
)


def has_schema(engine: Engine) -> bool:
    return inspect(engine).has_table("activity")


def table_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
            for table in Base.metadata.sorted_tables
        }


def data_sources(engine: Engine) -> set[str]:
    """Every `source` that rows came from (manual, demo, an import's source name...)."""
    query = union(*(select(m.source) for m in (Rep, Account, Contact, Activity, Deal)))
    with engine.connect() as conn:
        return {row[0] for row in conn.execute(query)} | _import_sources(engine)


def _import_sources(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {row[0] for row in conn.execute(select(ImportRun.source).distinct())}


def clear_all(engine: Engine) -> None:
    """Delete every row (children first), keeping the schema."""
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name == "rep":
                conn.execute(table.update().values(manager_id=None))
            conn.execute(delete(table))
