"""Bulk inserts at driver speed, for imports of millions of rows.

SQLAlchemy's executemany runs a Python type processor per value and builds a parameter dict
per row; at a million rows that costs more than the database's own work. Here rows arrive
as tuples already in column order: on SQLite they are converted with one small function per
column and handed to the driver's `executemany`; on PostgreSQL they are streamed with `COPY`.
Both run on the caller's connection, inside its transaction. They talk to the driver
directly, so the driver's errors are raised as SQLAlchemy's (IntegrityError, DataError,
OperationalError...), as every other statement's are: a caller tells a refused row or a
collision with another writer apart the same way whichever statement hit it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, Connection, Date, DateTime, FromClause, Numeric, Table
from sqlalchemy.exc import DBAPIError

Converter = Callable[[Any], Any] | None


def _sqlite_datetime(value: dt.datetime | None) -> str | None:
    # The exact text SQLAlchemy's SQLite DateTime type writes, so comparisons stay consistent.
    return None if value is None else value.isoformat(" ", "microseconds")


def _sqlite_date(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _sqlite_bool(value: bool | None) -> int | None:
    return None if value is None else int(value)


def _sqlite_decimal(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _sqlite_converter(column_type: Any) -> Converter:
    if isinstance(column_type, DateTime):
        return _sqlite_datetime
    if isinstance(column_type, Date):
        return _sqlite_date
    if isinstance(column_type, Boolean):
        return _sqlite_bool
    if isinstance(column_type, Numeric) and column_type.asdecimal:
        return _sqlite_decimal
    return None


def insert_rows(
    conn: Connection, table: FromClause, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert `rows` (tuples in `columns` order) into `table` on the caller's transaction."""
    if not rows:
        return
    assert isinstance(table, Table)
    driver_error = conn.dialect.loaded_dbapi.Error
    try:
        _insert_rows(conn, table, columns, rows)
    except driver_error as exc:
        raise DBAPIError.instance(
            f"INSERT INTO {table.name}", None, exc, driver_error, dialect=conn.dialect
        ) from exc


def _insert_rows(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    driver = conn.connection.driver_connection
    assert driver is not None
    names = ", ".join(columns)
    if conn.dialect.name == "postgresql":
        statement = f"COPY {table.name} ({names}) FROM STDIN"
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
        return
    converters = [_sqlite_converter(table.c[name].type) for name in columns]
    active = [(i, f) for i, f in enumerate(converters) if f is not None]
    converted: Sequence[Sequence[Any]] = rows
    if active:
        converted = [_converted(row, active) for row in rows]
    placeholders = ", ".join("?" * len(columns))
    cursor = driver.cursor()
    try:
        cursor.executemany(f"INSERT INTO {table.name} ({names}) VALUES ({placeholders})", converted)
    finally:
        cursor.close()


def _converted(row: tuple[Any, ...], active: list[tuple[int, Callable[[Any], Any]]]) -> list[Any]:
    values = list(row)
    for i, convert in active:
        values[i] = convert(values[i])
    return values


def insert_new_keys(
    conn: Connection,
    table: FromClause,
    scope: tuple[str, Any],
    key_column: str,
    keys: Sequence[str],
) -> set[str]:
    """Insert (scope value, key) rows for `keys` not stored yet; return the keys that were new.

    One statement, the keys as a single JSON (SQLite) or array (PostgreSQL) parameter, and
    ON CONFLICT on the primary key: no per-row round trip, and no plan that depends on how
    large the planner last believed the table to be.
    """
    if not keys:
        return set()
    assert isinstance(table, Table)
    scope_column, scope_value = scope
    head = f"INSERT INTO {table.name} ({scope_column}, {key_column}) "
    tail = " ON CONFLICT DO NOTHING RETURNING " + key_column
    if conn.dialect.name == "postgresql":
        sql = head + "SELECT %(scope)s, k FROM unnest(%(keys)s::varchar[]) AS k" + tail
        params: Any = {"scope": scope_value, "keys": list(keys)}
    else:  # the WHERE is SQLite's rule for an upsert on INSERT ... SELECT
        sql = head + "SELECT ?, value FROM json_each(?) WHERE true" + tail
        params = (scope_value, json.dumps(list(keys)))
    return {row[0] for row in conn.exec_driver_sql(sql, params)}
