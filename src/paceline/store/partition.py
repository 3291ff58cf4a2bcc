"""PostgreSQL only: `activity` and its day-keyed aggregates range-partitioned by month.

The route docs/scaling.md plans for 1,000M activities, built so it can be measured and tested
(`benchmarks/partitioned.py`, `tests/store/test_partition.py`); no command runs it. Paceline
runs on it unchanged (since the API's keyed insert names no conflict target, see
`records.insert_records`): every read and write goes through the partitioned parent, whose
name, columns, indexes, foreign keys and rollup triggers are those of the plain table.

What partitioning changes, and how this keeps the behaviour:
- PostgreSQL wants the partition key in every unique constraint, so the primary key becomes
  (id, local_date) (ids still come from the one sequence) and `(source, external_id)` can no
  longer be unique by an index: its index becomes (source, external_id, local_date), unique
  per month, which still serves the importers' look-up by (source, external_id) as a prefix.
- The key stays unique across months through `activity_key` (PRIMARY KEY (source,
  external_id)), kept by statement triggers on `activity`: a second row with a stored
  source record fails with the same unique violation as before, whichever month it is in,
  so an import's retry after a collision with another import works unchanged.
- A row lands in its month's partition; `activity_default` takes days outside the months
  made (create more with `add_months`; rows in the default must be moved out first).
- The aggregates keyed by rep and day (`metric_day`, `kind_day`, `prospect_day`) are
  partitioned the same way (their primary keys already hold `local_date`); `prospect_step`
  (one row per prospect, not per day) stays one table. `tables` can leave the aggregates
  out: a partitioned `prospect_day` makes each prospect's seek probe every month of the
  window (the team funnel took 1.7-1.9 times as long at 1M, measured in docs/scaling.md).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from sqlalchemy import Connection, Engine, text

PARTITIONED = ("activity", "metric_day", "kind_day", "prospect_day")

# One row per source record of `activity`, across every month; see the module's docstring.
_KEY_TABLE = """
CREATE TABLE activity_key (
    source varchar(64) NOT NULL,
    external_id varchar(200) NOT NULL,
    CONSTRAINT pk_activity_key PRIMARY KEY (source, external_id)
)"""

_KEY_TRIGGERS = (
    """CREATE FUNCTION paceline_keep_activity_keys() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            DELETE FROM activity_key k USING old_rows o
            WHERE k.source = o.source AND k.external_id = o.external_id;
        ELSIF TG_OP = 'UPDATE' THEN
            DELETE FROM activity_key k USING old_rows o JOIN new_rows n ON n.id = o.id
            WHERE k.source = o.source AND k.external_id = o.external_id
              AND (n.source, n.external_id) IS DISTINCT FROM (o.source, o.external_id);
            INSERT INTO activity_key (source, external_id)
            SELECT n.source, n.external_id FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE n.external_id IS NOT NULL
              AND (n.source, n.external_id) IS DISTINCT FROM (o.source, o.external_id);
        ELSE
            INSERT INTO activity_key (source, external_id)
            SELECT source, external_id FROM new_rows WHERE external_id IS NOT NULL;
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER activity_key_insert AFTER INSERT ON activity
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION paceline_keep_activity_keys()""",
    """CREATE TRIGGER activity_key_update AFTER UPDATE ON activity
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION paceline_keep_activity_keys()""",
    """CREATE TRIGGER activity_key_delete AFTER DELETE ON activity
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION paceline_keep_activity_keys()""",
)


def month_starts(first: dt.date, last: dt.date) -> list[dt.date]:
    """The first day of every month from `first`'s to `last`'s, both included."""
    months, day = [], first.replace(day=1)
    while day <= last:
        months.append(day)
        day = (day + dt.timedelta(days=32)).replace(day=1)
    return months


def partition_name(table: str, month: dt.date) -> str:
    return f"{table}_{month:%Y_%m}"


def partitioned_tables(conn: Connection) -> list[str]:
    """Which of PARTITIONED are partitioned in this database."""
    found = set(
        conn.scalars(
            text("SELECT relname FROM pg_class WHERE relkind = 'p' AND relname = ANY(:t)"),
            {"t": list(PARTITIONED)},
        )
    )
    return [t for t in PARTITIONED if t in found]


def is_partitioned(conn: Connection) -> bool:
    return "activity" in partitioned_tables(conn)


def partition_by_month(
    engine: Engine, months: Sequence[dt.date] = (), tables: Sequence[str] = PARTITIONED
) -> list[dt.date]:
    """Rewrite `activity` and the day aggregates as tables partitioned by month, in one
    transaction (everything or nothing; writers wait meanwhile); the months made.

    A partition is made for every month that holds an activity, plus `months`; every other
    day goes to the default partition. Rows, ids, indexes, foreign keys and triggers keep
    their names; `rollup_dirty` marks are not written by the copy.
    """
    if engine.dialect.name != "postgresql":
        raise ValueError("partitioning is for PostgreSQL only")
    if "activity" not in tables or not set(tables) <= set(PARTITIONED):
        raise ValueError(f"tables: activity and any of {', '.join(PARTITIONED[1:])}")
    with engine.begin() as conn:
        if is_partitioned(conn):
            raise ValueError("activity is already partitioned")
        first, last = conn.execute(
            text("SELECT min(local_date), max(local_date) FROM activity")
        ).one()
        made = set(months)
        if first is not None:
            made |= set(month_starts(first, last))
        wanted = sorted({m.replace(day=1) for m in made})
        conn.execute(text("LOCK TABLE activity IN ACCESS EXCLUSIVE MODE"))
        for table in tables:
            _partition_table(conn, table, wanted)
        conn.execute(text(_KEY_TABLE))
        conn.execute(
            text(
                "INSERT INTO activity_key SELECT source, external_id FROM activity "
                "WHERE external_id IS NOT NULL"
            )
        )
        for statement in _KEY_TRIGGERS:
            conn.execute(text(statement))
        conn.execute(text("ANALYZE activity_key"))
        for table in tables:
            conn.execute(text(f"ANALYZE {table}"))
    return wanted


def add_months(engine: Engine, months: Sequence[dt.date]) -> None:
    """Make the partitions of months to come (before their rows arrive: a month's rows
    already in the default partition must be moved out first, or this fails)."""
    with engine.begin() as conn:
        for table in partitioned_tables(conn):
            for month in months:
                _create_partition(conn, table, month.replace(day=1))


def _partition_table(conn: Connection, table: str, months: Sequence[dt.date]) -> None:
    """Swap `table` for a partitioned copy with the same rows, indexes and triggers."""
    indexes = _indexes(conn, table)
    constraints = _constraints(conn, table)
    triggers = _triggers(conn, table)
    sequences = _owned_sequences(conn, table)
    old = f"{table}_unpartitioned"
    for name in sequences:  # the sequence must outlive the old table
        conn.execute(text(f"ALTER SEQUENCE {name} OWNED BY NONE"))
    conn.execute(text(f"ALTER TABLE {table} RENAME TO {old}"))
    for name, _ in constraints:
        conn.execute(text(f"ALTER TABLE {old} RENAME CONSTRAINT {name} TO {name}_old"))
    for name, _ in indexes:
        conn.execute(text(f"ALTER INDEX {name} RENAME TO {name}_old"))
    conn.execute(
        text(
            f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING STORAGE) "
            "PARTITION BY RANGE (local_date)"
        )
    )
    for month in months:
        _create_partition(conn, table, month)
    conn.execute(text(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT"))
    columns = ", ".join(
        str(c) for c in conn.scalars(text(
            "SELECT quote_ident(column_name) FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = :t ORDER BY ordinal_position"
        ), {"t": table})
    )  # fmt: skip
    # The rows first, the indexes after: one sorted build each instead of a growing B-tree.
    conn.execute(text(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {old}"))
    conn.execute(text(f"DROP TABLE {old}"))
    for name, definition in constraints:
        conn.execute(text(f"ALTER TABLE {table} ADD CONSTRAINT {name} {_with_key(definition)}"))
    for _, definition in indexes:
        conn.execute(text(definition))
    for definition in triggers:
        conn.execute(text(definition))
    for name in sequences:
        conn.execute(text(f"ALTER SEQUENCE {name} OWNED BY {table}.id"))


def _create_partition(conn: Connection, table: str, month: dt.date) -> None:
    end = (month + dt.timedelta(days=32)).replace(day=1)
    conn.execute(
        text(
            f"CREATE TABLE IF NOT EXISTS {partition_name(table, month)} PARTITION OF {table} "
            f"FOR VALUES FROM ('{month.isoformat()}') TO ('{end.isoformat()}')"
        )
    )


def _with_key(definition: str) -> str:
    """A primary key or unique constraint with the partition key added (PostgreSQL requires
    it); foreign keys as they were."""
    match = re.fullmatch(r"(PRIMARY KEY|UNIQUE) \((.*)\)", definition)
    if match is None or "local_date" in match.group(2).split(", "):
        return definition
    return f"{match.group(1)} ({match.group(2)}, local_date)"


def _indexes(conn: Connection, table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX ...) of the indexes that are not a constraint's."""
    rows = conn.execute(
        text(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i "
            "WHERE i.schemaname = 'public' AND i.tablename = :t AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
        ),
        {"t": table},
    )
    return [(str(name), str(definition)) for name, definition in rows]


def _constraints(conn: Connection, table: str) -> list[tuple[str, str]]:
    """(name, definition) of the primary key first, then unique keys, then foreign keys."""
    rows = conn.execute(
        text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = CAST(:t AS regclass) AND contype IN ('p', 'u', 'f') "
            "ORDER BY position(contype IN 'puf'), conname"
        ),
        {"t": table},
    )
    return [(str(name), str(definition)) for name, definition in rows]


def _triggers(conn: Connection, table: str) -> list[str]:
    rows = conn.scalars(
        text(
            "SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t "
            "WHERE t.tgrelid = CAST(:t AS regclass) AND NOT t.tgisinternal ORDER BY t.tgname"
        ),
        {"t": table},
    )
    return [str(r) for r in rows]


def _owned_sequences(conn: Connection, table: str) -> list[str]:
    rows = conn.scalars(
        text(
            "SELECT s.relname FROM pg_class s JOIN pg_depend d ON d.objid = s.oid "
            "JOIN pg_class t ON t.oid = d.refobjid "
            "WHERE s.relkind = 'S' AND t.relname = :t AND d.deptype = 'a'"
        ),
        {"t": table},
    )
    return [str(r) for r in rows]
