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
import itertools
import json
import operator
import os
import sqlite3
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Connection,
    Date,
    DateTime,
    FromClause,
    Index,
    Numeric,
    Table,
    select,
)
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

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
    if isinstance(column_type, Boolean):  # also numpy's booleans, which sqlite3 cannot bind
        return _sqlite_bool
    if isinstance(column_type, Numeric) and column_type.asdecimal:
        return _sqlite_decimal
    return None


_IN_C: dict[Converter, Callable[[Any], Any]] = {
    _sqlite_datetime: operator.methodcaller("isoformat", " ", "microseconds"),
    _sqlite_date: operator.methodcaller("isoformat"),
    _sqlite_bool: int,
}


def _converted(convert: Callable[[Any], Any], column: Sequence[Any]) -> dict[Any, Any]:
    """Each distinct value of `column` -> its converted value, computed in C calls where
    the converter has a C twin (a batch's timestamps are mostly distinct: a Python call per
    value cost more than the conversion); None stays None."""
    distinct = set(column)
    distinct.discard(None)
    in_c = _IN_C.get(convert)
    if in_c is None:
        return {None: None} | {value: convert(value) for value in distinct}
    if convert is _sqlite_datetime and not any(map(_tzinfo, distinct)):
        converted = dict(zip(distinct, _naive_datetime_texts(distinct), strict=True))
    else:
        converted = dict(zip(distinct, map(in_c, distinct), strict=True))
    converted[None] = None
    return converted


_tzinfo = operator.attrgetter("tzinfo")


class _Texts(dict[Any, str]):
    """A value's text, made once per distinct value (`__missing__`), looked up from C."""

    def __init__(self, make: Callable[[Any], str]) -> None:
        super().__init__()
        self.make = make

    def __missing__(self, value: Any) -> str:
        text = self[value] = self.make(value)
        return text


def _naive_datetime_texts(moments: Iterable[dt.datetime]) -> Iterator[str]:
    """`_sqlite_datetime` of each naive moment, put together from the text of its day and
    that of its time of day, each made once: a batch's 10,000 moments fall on a few days
    and a few hundred minutes, and formatting a whole timestamp (a C call per moment)
    cost twice as much as two look-ups and a concatenation (measured)."""
    moments = list(moments)
    days = _Texts(lambda day: day.isoformat() + " ")
    times = _Texts(operator.methodcaller("isoformat", "microseconds"))
    day_texts = map(days.__getitem__, map(dt.datetime.date, moments))
    return map(str.__add__, day_texts, map(times.__getitem__, map(dt.datetime.time, moments)))


def insert_rows(
    conn: Connection, table: FromClause, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert `rows` (tuples in `columns` order) into `table` on the caller's transaction."""
    if not rows:
        return
    assert isinstance(table, Table)
    with _driver_errors(conn, table):
        _insert_rows(conn, table, columns, rows)


def insert_columns(
    conn: Connection,
    table: FromClause,
    columns: Sequence[str],
    values: list[Sequence[Any]],
    same: Mapping[str, Any] | None = None,
) -> None:
    """Insert rows given column by column (`values[i]` holds every row's value of
    `columns[i]`), as `insert_rows` does on SQLite: its values are converted a column at a
    time anyway, so a caller that has its values by column spares the rows built, taken
    apart and built again (0.45 CPU s of a fresh import of 1,000,000 activities, measured:
    benchmarks/README.md). The rows go to the driver as `zip` makes them, never held as a
    list.

    `same` holds the columns whose value is the same in every row (an import's source,
    run and moment; a batch naming no contact): on SQLite each is converted once and bound
    once per statement, not once per row (`_execute_many`); the rows stored are the same."""
    if not values or not values[0]:
        return
    assert isinstance(table, Table)
    same = dict(same or {})
    count = len(values[0])
    marked = _MARKED_TABLES.get(table.name, ())
    if conn.dialect.name != "sqlite" or any(name in same for name in marked[1:]):
        # Every value in every row: PostgreSQL's COPY writes rows whole, and the rollup's
        # marks on SQLite read the rep and the day by column.
        columns = [*columns, *same]
        values = [*values, *([value] * count for value in same.values())]
        same = {}
    if conn.dialect.name != "sqlite":
        insert_rows(conn, table, columns, list(zip(*values, strict=True)))
        return
    shared = [(name, _sqlite_value(table, name, value)) for name, value in same.items()]
    with _driver_errors(conn, table):
        _insert_sqlite(conn, table, columns, _sqlite_values(table, columns, values), shared)


def _sqlite_value(table: Table, name: str, value: Any) -> Any:
    """One value of the column `name`, as SQLite stores it."""
    convert = _sqlite_converter(table.c[name].type)
    return value if convert is None else convert(value)


@contextmanager
def _driver_errors(conn: Connection, table: Table) -> Iterator[None]:
    """The driver's errors raised as SQLAlchemy's, as every other statement's are."""
    driver_error = conn.dialect.loaded_dbapi.Error
    try:
        yield
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
    if any(converters) or table.name in _MARKED_TABLES:
        # Column by column, through C-level map and zip: no Python frame per row.
        values = _sqlite_values(table, columns, list(zip(*rows, strict=True)))
        _insert_sqlite(conn, table, columns, values)
    else:
        _execute_many(driver, table, columns, rows, len(rows))


def _sqlite_values(
    table: Table, columns: Sequence[str], values: list[Sequence[Any]]
) -> list[Sequence[Any]]:
    """`values` (by column) with each column converted to what SQLite stores."""
    converted = list(values)
    for i, name in enumerate(columns):
        convert = _sqlite_converter(table.c[name].type)
        if convert is _sqlite_decimal:  # equal decimals may differ in text: 1.0, 1.00
            converted[i] = tuple(map(convert, values[i]))
        elif convert is not None:
            converted[i] = tuple(map(_converted(convert, values[i]).__getitem__, values[i]))
    return converted


def _insert_sqlite(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    values: list[Sequence[Any]],
    shared: Sequence[tuple[str, Any]] = (),
) -> None:
    """SQLite: the rows of `values` (by column, converted), inserted by one `executemany`
    over `zip` of the columns, with the rollup's marks written in bulk; `shared`: (column,
    converted value) for the columns every row has the same value in."""
    driver = conn.connection.driver_connection
    assert driver is not None
    with _rollup_marks_in_bulk(driver, table, columns, values):
        rows = zip(*values, strict=True)
        _execute_many(driver, table, columns, rows, len(values[0]), shared)


# Rows per INSERT statement on SQLite, at most (and at most the connection's parameter limit
# allows). Python's sqlite3 binds, steps and resets its statement once per parameter set:
# with one row a set, that per-statement round cost more than SQLite's own insert. 55 rows
# of `activity` a statement (990 parameters: under the 999 of SQLite before 3.32) cut the
# insert of 100,000 prepared rows by a quarter (benchmarks/README.md, import_throughput).
ROWS_PER_STATEMENT = 55


def _execute_many(
    driver: Any,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    count: int | None = None,
    shared: Sequence[tuple[str, Any]] = (),
) -> None:
    """`rows` inserted into `table`; when their `count` is given, several rows a statement
    (`ROWS_PER_STATEMENT`), the rows flattened and regrouped in C (`zip` over one iterator),
    the last few one a statement. The rows go in the order given, as one a statement.

    The `shared` columns (name, value) are bound once per statement, after the rows'
    values, by number: every row of the statement names the same parameter. Each bound
    value is a round of Python's sqlite3 (a type check, a call, a copy of a text): an
    activity batch's six shared columns were a third of its rows' binds, and the insert
    took a quarter less CPU without them (benchmarks/README.md, import_throughput)."""
    width, extra = len(columns), tuple(value for _, value in shared)
    names = ", ".join([*columns, *(name for name, _ in shared)])
    limit = driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    per = min(ROWS_PER_STATEMENT, (limit - len(extra)) // width) if count is not None else 1
    cursor = driver.cursor()
    try:
        if per > 1 and count is not None and count >= per:
            flat = itertools.chain.from_iterable(rows)
            rows = zip(*[flat] * width, strict=True)  # what the groups below leave
            grouped = zip(*[flat] * (width * per), strict=True)
            groups: Iterable[tuple[Any, ...]] = itertools.islice(grouped, count // per)
            values = _placeholders(width, per, len(extra))
            if extra:
                groups = map(tuple.__add__, groups, itertools.repeat(extra))
            cursor.executemany(f"INSERT INTO {table.name} ({names}) VALUES {values}", groups)
        one = _placeholders(width, 1, len(extra))
        if extra:
            rows = map(tuple.__add__, map(tuple, rows), itertools.repeat(extra))
        cursor.executemany(f"INSERT INTO {table.name} ({names}) VALUES {one}", rows)
    finally:
        cursor.close()


def _placeholders(width: int, rows: int, shared: int) -> str:
    """The VALUES of an INSERT of `rows` rows of `width` values each and `shared` values
    common to all: plain `?` without shared values; else numbered, the rows' values
    first (1 to rows x width) and the shared ones after them, named by every row."""
    if not shared:
        return ", ".join(["(" + ", ".join("?" * width) + ")"] * rows)
    common = [f"?{rows * width + at + 1}" for at in range(shared)]
    return ", ".join(
        "(" + ", ".join([*(f"?{row * width + at + 1}" for at in range(width)), *common]) + ")"
        for row in range(rows)
    )


# SQLite has only row triggers: the activity insert trigger appends one rollup mark per row,
# about a third of the cost of inserting an activity (measured). A large insert instead drops
# it, inserts, writes one mark per distinct (rep, day) and creates the trigger again, all in
# the caller's transaction: SQLite's schema changes are transactional, the write lock is held
# throughout, so no other connection ever sees the table without its trigger, and a rollback
# (or a crash) restores it with everything else.
BULK_MARK_ROWS = 500
_MARKED_TABLES = {"activity": ("activity_rollup_insert", "rep_id", "local_date")}


@contextmanager
def _rollup_marks_in_bulk(
    driver: Any, table: Table, columns: Sequence[str], values: list[Sequence[Any]]
) -> Iterator[None]:
    """See above; `values` are the rows' values by column."""
    marked = _MARKED_TABLES.get(table.name)
    if marked is None or len(values[0]) < BULK_MARK_ROWS:
        yield
        return
    trigger, rep_column, day_column = marked
    found = driver.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (trigger,)
    ).fetchone()
    if found is None:  # a database without the rollup (before its migration): nothing to mark
        yield
        return
    rep_at, day_at = columns.index(rep_column), columns.index(day_column)
    if not driver.in_transaction:
        # Python's sqlite3 opens a transaction only before DML: a DROP TRIGGER issued
        # outside one would be committed on its own, whatever happens to the insert.
        driver.execute("BEGIN IMMEDIATE")
    driver.execute(f"DROP TRIGGER {trigger}")
    try:
        yield
    finally:
        # Also when the insert failed part-way: a caller that catches the error and commits
        # keeps the trigger, and marks for rows that may be in (one too many costs nothing).
        marks = sorted(set(zip(values[rep_at], values[day_at], strict=True)))
        driver.executemany("INSERT INTO rollup_dirty (rep_id, local_date) VALUES (?, ?)", marks)
        driver.execute(found[0])


def insert_new_keys(
    conn: Connection,
    table: FromClause,
    scope: tuple[str, Any],
    key_column: str,
    keys: Sequence[str],
) -> set[str]:
    """Insert (scope value, key) rows for `keys` not stored yet; return the keys that were new.

    One statement, the keys as a single JSON parameter (on PostgreSQL too: psycopg dumps a
    list parameter element by element in Python, 9.5 ms of client CPU per 10,000 keys
    against 1.6 for `json.dumps`; a re-import records every key it matches), and
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
        sql = head + "SELECT %(scope)s, k FROM json_array_elements_text(%(keys)s::json) AS k"
        sql += tail
        params: Any = {"scope": scope_value, "keys": json.dumps(list(keys))}
    else:  # the WHERE is SQLite's rule for an upsert on INSERT ... SELECT
        sql = head + "SELECT ?, value FROM json_each(?) WHERE true" + tail
        params = (scope_value, json.dumps(list(keys)))
    return {row[0] for row in conn.exec_driver_sql(sql, params)}


def stored_by_keys(
    conn: Connection,
    table: FromClause,
    scope: tuple[str, Any],
    key_column: str,
    keys: Sequence[str],
    wanted: Sequence[str],
) -> dict[Any, tuple[Any, ...]]:
    """SQLite: the stored rows of `table` in `scope` whose `key_column` is one of `keys`,
    as key -> (*wanted columns), in one statement over the keys as one JSON parameter (each
    key found through the unique index on (scope column, key column))."""
    if not keys:
        return {}
    assert isinstance(table, Table)
    scope_column, scope_value = scope
    picked = ", ".join(f"t.{column}" for column in wanted)
    sql = (
        f"SELECT t.{key_column}, {picked} FROM json_each(?) AS k "
        f"CROSS JOIN {table.name} AS t ON t.{scope_column} = ? AND t.{key_column} = k.value"
    )  # CROSS JOIN: SQLite keeps the keys outside; otherwise it may scan the whole scope
    found = conn.exec_driver_sql(sql, (json.dumps(list(keys)), scope_value))
    return {row[0]: tuple(row[1:]) for row in found}


def stored_values_by_id(
    conn: Connection, table: Table, ids: Sequence[int], columns: Sequence[str]
) -> tuple[dict[Any, tuple[Any, ...]], Callable[[list[Sequence[Any]]], list[Sequence[Any]]]]:
    """The rows of `table` whose id is one of `ids`, as id -> (*columns) in the form the
    driver gives them, with the conversion that puts values (by column) in that same form:
    SQLite's texts, as this module writes them (`_sqlite_values`), compared without a
    Python call per row; PostgreSQL's values as they are. Reading a batch's 10,000
    timestamps through their column types cost a tenth of a re-import's CPU."""
    if conn.dialect.name == "postgresql":
        query = select(table.c.id, *(table.c[c] for c in columns)).where(table.c.id.in_(ids))
        rows = {row[0]: tuple(row[1:]) for row in conn.execute(query)}
        return rows, lambda values: values
    picked = ", ".join(columns)
    sql = f"SELECT id, {picked} FROM {table.name} WHERE id IN (SELECT value FROM json_each(?))"
    found = conn.exec_driver_sql(sql, (json.dumps(list(ids)),))
    rows = {row[0]: tuple(row[1:]) for row in found}
    return rows, lambda values: _sqlite_values(table, columns, values)


def rows_where_in(
    conn: Connection,
    table: FromClause,
    column: str,
    values: Sequence[str],
    wanted: Sequence[str],
) -> list[tuple[Any, ...]]:
    """The stored rows whose `column` is one of `values`, as (*wanted columns), in id
    order: one statement whatever their number, the values as one JSON parameter, so no
    statement of thousands of placeholders is built, parsed and compiled per chunk (a first
    batch naming 20,000 new accounts spent seconds there)."""
    if not values:
        return []
    assert isinstance(table, Table)
    picked = ", ".join(f"t.{c}" for c in wanted)
    if conn.dialect.name == "postgresql":
        # One JSON text (json.dumps is C; psycopg dumps a list parameter element by
        # element in Python: 9.5 ms of client CPU per 10,000 keys against 1.6). Not
        # `= ANY(ARRAY(...))`: the server tests each row against the whole array, which
        # cost 0.5 s of server CPU for a fresh 30,000-row import's accounts against 0.04.
        # Each value probes the index (OFFSET 0 keeps the subquery from being flattened):
        # an IN was planned as a hash join over the whole table, 3 ms for a batch's few
        # new names among 20,000 accounts against 0.15.
        given = "SELECT DISTINCT v FROM json_array_elements_text(%(values)s::json) AS e(v)"
        params: Any = {"values": json.dumps(list(values))}
        sql = (
            f"SELECT {picked} FROM ({given}) k CROSS JOIN LATERAL "
            f"(SELECT * FROM {table.name} t WHERE t.{column} = k.v OFFSET 0) t ORDER BY t.id"
        )
    else:
        given = "SELECT value FROM json_each(?)"
        params = (json.dumps(list(values)),)
        sql = f"SELECT {picked} FROM {table.name} t WHERE t.{column} IN ({given}) ORDER BY t.id"
    return [tuple(row) for row in conn.exec_driver_sql(sql, params)]


def _column_types(cursor: Any, table: str, columns: Sequence[str]) -> list[int]:
    """The type oids of `columns` of `table`, in that order: what a binary COPY into them
    must send.

    Binary COPY carries no types of its own (the server reads each field with its column's
    type), so the client must encode each value as exactly that type: an int for a bigint
    column in 8 bytes, not 4. Asked of the server, not derived from the model, so they
    always are the table's own."""
    cursor.execute(
        "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %s::regclass "
        "AND attnum > 0 AND NOT attisdropped",
        (table,),
    )
    types = {str(name): int(oid) for name, oid in cursor.fetchall()}
    return [types[column] for column in columns]


def _copy_binary(
    cursor: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """`rows` (tuples in `columns` order) sent by one binary COPY into `table`."""
    types = _column_types(cursor, table, columns)
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
    with cursor.copy(statement) as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


def copy_rows(
    conn: Connection, table: FromClause, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> int:
    """PostgreSQL: insert `rows` (tuples in `columns` order, in the order they should go
    in) straight into `table` by one binary COPY, on the caller's transaction; the count.

    For rows of which none can be stored yet (a source with nothing stored: `Staged` is
    for batches that must first be matched against stored rows). Against the staging hop
    it saves the server writing the batch into the staging table and reading it back
    (benchmarks/README.md, import_throughput). The table's triggers fire as for an INSERT
    (the rollup's statement trigger sees every row), its constraints are checked as for an
    INSERT, and a refused row (a unique key taken, a missing reference) raises
    SQLAlchemy's IntegrityError with nothing of the COPY left."""
    if not rows:
        return 0
    assert isinstance(table, Table)
    driver = conn.connection.driver_connection
    assert driver is not None
    error = conn.dialect.loaded_dbapi.Error
    try:
        with driver.cursor() as cursor:
            _copy_binary(cursor, table.name, columns, rows)
    except error as exc:
        raise DBAPIError.instance(
            f"COPY {table.name}", None, exc, error, dialect=conn.dialect
        ) from exc
    return len(rows)


class Staged:
    """A batch of rows `COPY`ed once into a temporary staging table (PostgreSQL), then
    matched, inserted and updated from there by set-based statements.

    The COPY is binary: psycopg encodes the values in C and the server reads them without
    parsing text (a fresh 100,000-row import: the COPY's client CPU 0.42 -> 0.08 s, its
    server CPU 0.24 -> 0.13 s; benchmarks/README.md, import_throughput).

    The table holds the rows' positions in the batch (`pos`) next to their columns; it lives
    for the connection and is emptied at every commit (ON COMMIT DELETE ROWS), so a batch
    sees only its own rows and a rolled-back batch leaves nothing in it. Statements run on
    the caller's transaction: the batch stays one transaction, as every other write.
    """

    def __init__(
        self,
        conn: Connection,
        table: FromClause,
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
    ) -> None:
        assert isinstance(table, Table)
        self.conn = conn
        self.table = table
        self.columns = tuple(columns)
        self.name = f"paceline_stage_{table.name}"
        names = ", ".join(self.columns)
        driver = conn.connection.driver_connection
        assert driver is not None
        error = conn.dialect.loaded_dbapi.Error
        try:
            with driver.cursor() as cursor:
                cursor.execute(
                    f"CREATE TEMP TABLE IF NOT EXISTS {self.name} ON COMMIT DELETE ROWS AS "
                    f"SELECT 0::integer AS pos, {names} FROM {table.name} WITH NO DATA"
                )
                staged = ((pos, *row) for pos, row in enumerate(rows))
                _copy_binary(cursor, self.name, ("pos", *self.columns), staged)
        except error as exc:
            raise DBAPIError.instance(
                f"COPY {self.name}", None, exc, error, dialect=conn.dialect
            ) from exc

    def matches(
        self, match: Sequence[tuple[str, Any]], key: str, wanted: Sequence[str]
    ) -> dict[Any, tuple[Any, ...]]:
        """Stored rows that share `key` with a staged row, among those whose columns equal
        the constants in `match` (e.g. the source): key -> (*wanted columns).

        One probe of the unique index per staged row, whatever the statistics say: a plain
        join was planned as a hash join over the whole stored table (a scan of every stored
        row per batch: quadratic over a large import). The LIMIT 1 (the key is unique) keeps
        the LATERAL subquery from being flattened into such a join."""
        found = self.conn.exec_driver_sql(self.matches_sql(match, key, wanted), dict(match))
        return {row[0]: tuple(row[1:]) for row in found}

    def matches_sql(self, match: Sequence[tuple[str, Any]], key: str, wanted: Sequence[str]) -> str:
        """The statement `matches` runs (its parameters are named after `match`'s columns)."""
        where = " AND ".join(f"t.{column} = %({column})s" for column, _ in match)
        picked = ", ".join(f"t.{c}" for c in wanted)
        return (
            f"SELECT s.{key}, {picked} FROM {self.name} s CROSS JOIN LATERAL "
            f"(SELECT * FROM {self.table.name} t WHERE t.{key} = s.{key} AND {where} "
            "LIMIT 1) t"
        )

    def insert(self, positions: Sequence[int] | None, order_by: Sequence[str]) -> int:
        """Insert the staged rows at `positions` (None: all) in `order_by` order; the count."""
        names = ", ".join(self.columns)
        where = "" if positions is None else " WHERE pos = ANY(%(positions)s)"
        sql = (
            f"INSERT INTO {self.table.name} ({names}) SELECT {names} FROM {self.name}{where} "
            f"ORDER BY {', '.join(order_by)}"
        )
        params = {} if positions is None else {"positions": list(positions)}
        return int(self.conn.exec_driver_sql(sql, params).rowcount)

    def insert_checked(
        self,
        positions: Sequence[int] | None,
        order_by: Sequence[str],
        references: Mapping[str, Collection[Any]],
        marks: Collection[tuple[Any, Any]] | None = None,
    ) -> int | None:
        """`insert`, with the foreign keys on the columns of `references` checked by set
        instead of row by row, and the rollup `marks` written by set (`insert_by_set`); None,
        having done nothing, when the tables are in use by another session (then `insert`
        checks row by row)."""
        return insert_by_set(
            self.conn, self.table, references, lambda: self.insert(positions, order_by), marks
        )

    def update(self, targets: Sequence[tuple[int, int]], columns: Sequence[str]) -> int:
        """Set `columns` of stored rows from staged ones: (stored id, staged position) pairs.
        The rows are locked in id order first, so two imports updating the same rows never
        wait for each other in a cycle."""
        if not targets:
            return 0
        ids = sorted(target for target, _ in targets)
        table = self.table.name
        self.conn.exec_driver_sql(
            f"SELECT id FROM {table} WHERE id = ANY(%(ids)s) ORDER BY id FOR UPDATE",
            {"ids": ids},
        ).all()
        assignments = ", ".join(f"{c} = s.{c}" for c in columns)
        sql = (
            f"UPDATE {table} t SET {assignments} FROM {self.name} s, "
            "unnest(%(ids)s::bigint[], %(positions)s::integer[]) AS u(id, pos) "
            "WHERE t.id = u.id AND s.pos = u.pos"
        )
        params = {"ids": [t for t, _ in targets], "positions": [p for _, p in targets]}
        return int(self.conn.exec_driver_sql(sql, params).rowcount)


# --- deferred index builds --------------------------------------------------------------------
# Inserting a row into a table costs one B-tree insert per index: on `activity` (four
# secondary indexes besides its unique key) a million-row load spent about a third of the
# insert in them, and building an index afterwards from sorted keys is several times cheaper
# than keeping it row by row (benchmarks/README.md, import_throughput). So a load into an
# empty table drops the model's secondary indexes in its first transaction and builds them
# again when it ends. The unique key stays throughout (it is what keeps an import idempotent
# and two imports from storing the same record twice), and every row a batch commits is
# whole: a secondary index only makes reads faster, it decides nothing. A load killed on the
# way leaves the table without them until the next import, which builds them first
# (`build_indexes`). The same on SQLite and PostgreSQL (where DROP INDEX holds the table
# exclusively until the first batch commits, and each build holds off writers, not readers).


def _index_names(conn: Connection, table: Table) -> set[str]:
    if conn.dialect.name == "postgresql":
        sql = (
            "SELECT indexname FROM pg_indexes "
            "WHERE schemaname = current_schema() AND tablename = %s"
        )
        return {name for (name,) in conn.exec_driver_sql(sql, (table.name,))}
    found = conn.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", (table.name,)
    )
    return {name for (name,) in found}


def _partitioned(conn: Connection, table: str) -> bool:
    sql = "SELECT relkind FROM pg_class WHERE oid = %s::regclass"
    return bool(conn.exec_driver_sql(sql, (table,)).scalar() == "p")


def _secondary(table: Table) -> list[Index]:
    """The model's indexes of `table` that decide nothing: not unique, so they may be built
    at any time from the rows alone."""
    return sorted((i for i in table.indexes if not i.unique), key=lambda i: str(i.name))


def defer_indexes(conn: Connection, table: FromClause) -> tuple[str, ...]:
    """On the caller's write transaction: when `table` has no row, drop its secondary
    indexes for a bulk load to build at its end (`build_indexes`); the names dropped, or ()
    when it has rows, or is partitioned (PostgreSQL: `store.partition`; its loads keep
    their indexes and check references row by row, as PostgreSQL 15 cannot add a foreign
    key NOT VALID to a partitioned table)."""
    assert isinstance(table, Table)
    if conn.exec_driver_sql(f"SELECT 1 FROM {table.name} LIMIT 1").first() is not None:
        return ()
    if conn.dialect.name == "postgresql" and _partitioned(conn, table.name):
        return ()
    present = _index_names(conn, table)
    dropped = tuple(str(i.name) for i in _secondary(table) if i.name in present)
    for name in dropped:  # IF EXISTS: another load into the same empty table may be first
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
    return dropped


BUILD_MEMORY = "256MB"  # for the deferred index builds of a load (PostgreSQL)


def build_indexes(conn: Connection, table: FromClause) -> tuple[str, ...]:
    """On the caller's transaction: create the secondary indexes of `table` that the model
    has and the database lacks (after a deferred load, or one killed before its end); the
    names built. On PostgreSQL the table is locked against other builders (and writers)
    first, so two loads ending together do not both build one index."""
    assert isinstance(table, Table)
    missing = [i for i in _secondary(table) if i.name not in _index_names(conn, table)]
    if missing and conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"LOCK TABLE {table.name} IN SHARE ROW EXCLUSIVE MODE")
        missing = [i for i in _secondary(table) if i.name not in _index_names(conn, table)]
        # Sorted in memory, and by the server's parallel workers too (each needs 32 MB of
        # the default 64): a million-row load's four builds took 3.3 s instead of 2.7
        # (benchmarks/README.md, import_throughput). For this transaction only, and never
        # less than the server's own setting.
        conn.exec_driver_sql(
            "SELECT set_config('maintenance_work_mem', %(memory)s, true) "
            "WHERE pg_size_bytes(current_setting('maintenance_work_mem')) "
            "< pg_size_bytes(%(memory)s)",
            {"memory": BUILD_MEMORY},
        )
    with _sorted_by_threads(conn, bool(missing)):
        for index in missing:
            index.create(conn)
    return tuple(str(i.name) for i in missing)


# SQLite sorts an index's keys on the calling thread while they fit in its page cache (64
# MiB here: a million activities' keys do). With a 16 MiB cache the sort spills into
# several sorted runs, and with `PRAGMA threads` helper threads sort and merge them while
# the calling thread reads the table: the four builds after a million-row load kept the
# calling thread busy 1.7-1.9 s instead of 2.9-3.2 (more CPU in all, on a core the load's
# reading process has left free; benchmarks/README.md, import_throughput). Sorted runs go to
# temporary files (with `temp_store=MEMORY` SQLite uses no helper thread).
BUILD_THREADS = 2
BUILD_CACHE_KIB = 16_384


@contextmanager
def _sorted_by_threads(conn: Connection, building: bool) -> Iterator[None]:
    """SQLite, while `building`: the index builds' sorts spread over helper threads (see
    above); the connection's own settings put back afterwards, whatever happens."""
    if not building or conn.dialect.name != "sqlite":
        yield
        return
    threads = int(conn.exec_driver_sql("PRAGMA threads").scalar_one())
    cache = int(conn.exec_driver_sql("PRAGMA cache_size").scalar_one())
    helpers = min(BUILD_THREADS, os.cpu_count() or 1)
    conn.exec_driver_sql(f"PRAGMA threads = {helpers}")
    conn.exec_driver_sql(f"PRAGMA cache_size = -{BUILD_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size = {cache}")
        conn.exec_driver_sql(f"PRAGMA threads = {threads}")


# --- references checked by set (PostgreSQL) ---------------------------------------------------
# A foreign key is checked by a trigger per inserted row, one index probe and one row lock on
# the referenced table each: half of the server's CPU in a fresh activity load (measured,
# benchmarks/README.md). A large batch of a bulk load instead checks its references with one
# anti-join per column and inserts with the constraints dropped, in one transaction that
# holds the table and the referenced tables exclusively (taken without waiting: when any
# other session uses them, the batch inserts as before). The constraints are added back,
# before the commit, NOT VALID: exactly as enforced for every later write and every delete
# of a referenced row, only not yet marked validated; the load's end (or the next import,
# after a load killed on the way) validates them with one scan (`validate_references`).


def _foreign_keys(conn: Connection, table: str) -> dict[str, tuple[str, str, str, str]]:
    """The foreign keys of `table` on one column: name -> (column, referenced table, its
    column, definition without NOT VALID)."""
    found = conn.exec_driver_sql(
        "SELECT c.conname, a.attname, c.confrelid::regclass::text, f.attname, "
        "pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "JOIN pg_attribute f ON f.attrelid = c.confrelid AND f.attnum = c.confkey[1] "
        "WHERE c.conrelid = %s::regclass AND c.contype = 'f' AND cardinality(c.conkey) = 1",
        (table,),
    )
    return {
        name: (column, referenced, key, definition.removesuffix(" NOT VALID"))
        for name, column, referenced, key, definition in found
    }


def validate_references(conn: Connection, table: FromClause) -> tuple[str, ...]:
    """PostgreSQL, on the caller's transaction: validate the foreign keys of `table` a bulk
    load left NOT VALID (one scan each); the names validated."""
    assert isinstance(table, Table)
    if conn.dialect.name != "postgresql":
        return ()
    found = conn.exec_driver_sql(
        "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f' "
        "AND NOT convalidated ORDER BY conname",
        (table.name,),
    )
    names = tuple(name for (name,) in found)
    for name in names:
        conn.exec_driver_sql(f"ALTER TABLE {table.name} VALIDATE CONSTRAINT {name}")
    return names


def insert_by_set(
    conn: Connection,
    table: FromClause,
    references: Mapping[str, Collection[Any]],
    insert: Callable[[], int],
    marks: Collection[tuple[Any, Any]] | None = None,
) -> int | None:
    """Run `insert` (an INSERT ... SELECT from a staging table, or a COPY) with the foreign
    keys of `table` on the columns of `references` checked by set instead of row by row:
    `references` holds, per column, the distinct values (not None) of the rows inserted;
    the count `insert` gives. None, having done nothing, when the tables are in use by
    another session (then the caller inserts with the row checks).

    `marks`, the distinct (rep, day) pairs of the rows inserted into `activity`, are
    written as its rollup marks by one statement, with its insert trigger off for the
    `insert` (`_marks_by_set`).

    A value no referenced row has raises IntegrityError (the column and the value in the
    message), and the transaction must be rolled back."""
    assert isinstance(table, Table)
    name = table.name
    keys = {
        constraint: key
        for constraint, key in _foreign_keys(conn, name).items()
        if references.get(key[0])
    }
    trigger = _rollup_trigger(conn, name) if marks else None
    if not keys and trigger is None:
        return insert()
    locked = ", ".join([name, *sorted({key[1] for key in keys.values()})])
    try:
        with conn.begin_nested():
            conn.exec_driver_sql(f"LOCK TABLE {locked} IN ACCESS EXCLUSIVE MODE NOWAIT")
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        return None
    for column, referenced, key, _ in keys.values():
        # The ids as one array literal: psycopg dumps a list parameter element by element
        # in Python (12 ms of client CPU for 10,000 ids, against 2.6 ms for the text).
        values = "{" + ",".join(map(str, sorted(references[column]))) + "}"
        missing = conn.exec_driver_sql(
            f"SELECT v FROM unnest(%(values)s::bigint[]) AS v WHERE NOT EXISTS "
            f"(SELECT 1 FROM {referenced} r WHERE r.{key} = v) ORDER BY v LIMIT 1",
            {"values": values},
        ).first()
        if missing is not None:
            reason = f"{name}.{column} = {missing[0]} is not present in table {referenced}"
            raise IntegrityError(f"INSERT INTO {name}", None, MissingReference(reason))
    dropped = [f"DROP CONSTRAINT {constraint}" for constraint in keys]
    added = [
        f"ADD CONSTRAINT {constraint} {definition} NOT VALID"
        for constraint, (_, _, _, definition) in keys.items()
    ]
    if trigger is not None:
        dropped.append(f"DISABLE TRIGGER {trigger}")
        added.append(f"ENABLE TRIGGER {trigger}")
    conn.exec_driver_sql(f"ALTER TABLE {name} {', '.join(dropped)}")
    inserted = insert()
    if trigger is not None:
        _marks_by_set(conn, marks or ())
    conn.exec_driver_sql(f"ALTER TABLE {name} {', '.join(added)}")
    return inserted


def check_references(
    conn: Connection, table: FromClause, references: Mapping[str, Collection[Any]]
) -> None:
    """SQLite, on a transaction whose foreign keys are off (`store.engine.
    write_transaction_unchecked`): check the foreign keys of `table` on the columns of
    `references` by set, as its row checks would have: `references` holds, per column,
    the distinct values (not None) of the rows written. One statement per column, each
    distinct value looked up once by the referenced key (instead of once per row).

    A value no referenced row has raises IntegrityError (the column and the value in the
    message), and the transaction must be rolled back, as after the row check's refusal."""
    assert isinstance(table, Table)
    found = conn.exec_driver_sql(f"PRAGMA foreign_key_list({table.name})").all()
    for _, _, referenced, column, key, *_ in found:
        values = references.get(column)
        if not values:
            continue
        missing = conn.exec_driver_sql(
            f"SELECT k.value FROM json_each(?) AS k WHERE NOT EXISTS "
            f"(SELECT 1 FROM {referenced} r WHERE r.{key or 'rowid'} = k.value) "
            "ORDER BY k.value LIMIT 1",
            (json.dumps(sorted(values)),),
        ).first()
        if missing is not None:
            reason = f"{table.name}.{column} = {missing[0]} is not present in table {referenced}"
            raise IntegrityError(f"INSERT INTO {table.name}", None, MissingReference(reason))


def check_table_references(conn: Connection, tables: Iterable[FromClause]) -> None:
    """SQLite, on a transaction whose foreign keys are off: every foreign key of `tables`
    checked over their whole rows (`PRAGMA foreign_key_check`), for small tables a bulk
    batch wrote rows into (reps, accounts); IntegrityError at the first dangling one."""
    for table in tables:
        assert isinstance(table, Table)
        bad = conn.exec_driver_sql(f"PRAGMA foreign_key_check({table.name})").first()
        if bad is not None:
            reason = f"{table.name} row {bad[1]} names a missing row of table {bad[2]}"
            raise IntegrityError(f"INSERT INTO {table.name}", None, MissingReference(reason))


def _rollup_trigger(conn: Connection, table: str) -> str | None:
    """The rollup's insert trigger of `table`, when it has one and it is on."""
    marked = _MARKED_TABLES.get(table)
    if marked is None:
        return None
    found = conn.exec_driver_sql(
        "SELECT 1 FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname = %s "
        "AND tgenabled <> 'D'",
        (table, marked[0]),
    ).first()
    return None if found is None else marked[0]


def _marks_by_set(conn: Connection, marks: Collection[tuple[Any, Any]]) -> None:
    """The rollup marks of a bulk insert made with the rollup's trigger off: what the
    trigger writes (one per distinct rep and day), from the pairs the client gathered.

    The statement trigger reads every inserted row back from its transition table: 0.25 s
    of server CPU per 200,000 rows of a load, a fifth of its `COPY` (benchmarks/README.md,
    import_throughput), for some 3,000 distinct pairs a batch. The trigger is turned off
    only inside a transaction holding the table `ACCESS EXCLUSIVE` (`insert_by_set`), so
    no other writer ever inserts while it is off, and a rollback turns it back on."""
    reps = "{" + ",".join(str(rep) for rep, _ in marks) + "}"
    days = "{" + ",".join(day.isoformat() for _, day in marks) + "}"
    conn.exec_driver_sql(
        "INSERT INTO rollup_dirty (rep_id, local_date) "
        "SELECT * FROM unnest(%(reps)s::bigint[], %(days)s::date[]) ORDER BY 1, 2",
        {"reps": reps, "days": days},
    )


LOCK_NOT_AVAILABLE = "55P03"


class MissingReference(Exception):
    """A staged row names a referenced row that does not exist."""
