"""A database's schema as facts that mean the same on every path to it.

An upgraded database must end up with the schema a fresh one gets; comparing the text SQLite
keeps in `sqlite_master` cannot tell: Alembic's batch mode (SQLite's way of changing a
column) rewrites CREATE TABLE with its constraints in the iteration order of a Python set
(`Table.constraints`, hashed by object identity), so two fresh databases already differ in
that text. These
facts are what the schema does: columns in order with their types, nullability and defaults;
primary, foreign, unique and check constraints with their names (later migrations drop them
by name); indexes with their columns, uniqueness and conditions; triggers, views and (on
PostgreSQL) functions by their definitions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from sqlalchemy import Connection, Engine, inspect

Fact = tuple[str, ...]

_PG_TRIGGERS = """
    SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid)
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE NOT t.tgisinternal AND n.nspname = current_schema()
"""
_PG_FUNCTIONS = """
    SELECT p.proname, pg_get_function_identity_arguments(p.oid), p.prosrc
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = current_schema()
"""
_SQLITE_TRIGGERS = "SELECT tbl_name, name, sql FROM sqlite_master WHERE type = 'trigger'"


def schema_facts(engine: Engine, tables: Iterable[str] | None = None) -> list[Fact]:
    """The schema of `tables` (every table when None) as sorted facts; equal lists mean the
    same schema, whatever SQL text made it."""
    with engine.connect() as conn:
        names = sorted(tables if tables is not None else inspect(conn).get_table_names())
        facts = [*_table_facts(conn, names), *_routine_facts(conn, set(names))]
    return sorted(facts)


def _table_facts(conn: Connection, tables: list[str]) -> Iterator[Fact]:
    inspector = inspect(conn)
    for table in tables:
        for position, column in enumerate(inspector.get_columns(table)):
            yield (
                "column",
                table,
                f"{position:03d}",
                column["name"],
                str(column["type"]),
                "NULL" if column["nullable"] else "NOT NULL",
                _sql(column.get("default")),
                _sql(column.get("computed")),
                _sql(column.get("identity")),
            )
        pk = inspector.get_pk_constraint(table)
        yield ("primary key", table, str(pk.get("name")), *pk["constrained_columns"])
        for fk in inspector.get_foreign_keys(table):
            yield (
                "foreign key",
                table,
                str(fk["name"]),
                ",".join(fk["constrained_columns"]),
                fk["referred_table"],
                ",".join(fk["referred_columns"]),
                _options(fk.get("options", {})),
            )
        for unique in inspector.get_unique_constraints(table):
            yield ("unique", table, str(unique["name"]), *unique["column_names"])
        for check in inspector.get_check_constraints(table):
            yield ("check", table, str(check["name"]), _sql(check["sqltext"]))
        for index in inspector.get_indexes(table):
            yield (
                "index",
                table,
                str(index["name"]),
                "unique" if index["unique"] else "",
                ",".join(str(c) for c in index["column_names"]),
                ",".join(_sql(e) for e in index.get("expressions", []) or []),
                _options(index.get("dialect_options", {})),
            )


def _routine_facts(conn: Connection, tables: set[str]) -> Iterator[Fact]:
    """Triggers on `tables` and views; on PostgreSQL the functions the triggers call too."""
    postgres = conn.dialect.name == "postgresql"
    for table, name, sql in conn.exec_driver_sql(_PG_TRIGGERS if postgres else _SQLITE_TRIGGERS):
        if table in tables:
            yield ("trigger", table, name, _sql(sql))
    if postgres:
        for name, arguments, source in conn.exec_driver_sql(_PG_FUNCTIONS):
            yield ("function", name, arguments, _sql(source))
    inspector = inspect(conn)
    for view in inspector.get_view_names():
        yield ("view", view, _sql(inspector.get_view_definition(view)))


def _options(options: Mapping[str, Any]) -> str:
    return ";".join(f"{key}={_sql(value)}" for key, value in sorted(options.items()))


def _sql(value: object) -> str:
    """SQL text with its layout (line breaks, indentation) folded to single spaces."""
    return "" if value is None else re.sub(r"\s+", " ", str(value)).strip()
