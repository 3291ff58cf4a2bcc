"""The query planner's statistics (SQLite's `sqlite_stat1`), taken after a bulk write.

SQLite gathers no statistics by itself: until `ANALYZE` runs it plans with fixed guesses,
and a guess can pick the wrong index. After the demo, a read of `activity` by
`rep_id IN (...)` and a minutes-wide time range went through the rep index and read every
activity of those reps (480,000 rows, 0.17 CPU s) where the time index reads a few rows;
with statistics, the same statement takes the time index (benchmarks/README.md,
import_throughput). A full `ANALYZE` reads each index once: 0.23 CPU s after an import of
1,000,000 activities, 1.4% of the import's CPU (measured); a sampled one
(`PRAGMA analysis_limit`) costs nothing but misjudged the rows per account tenfold, so the
analysis here is full, and taken only when a table has none or has grown past what its
statistics say (`STALE_GROWTH`). `PRAGMA optimize` would not do: before SQLite 3.46 it only
analyses tables the same connection's queries asked about, and a fresh connection has asked
about none.

PostgreSQL needs none of this: autovacuum analyses a table once a tenth of it changed, and
an import analyses the columns its own look-ups filter on (`ingest.writers`).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection

# A table is analysed again when its rows differ from the count its statistics took by more
# than this share of that count: autovacuum's default on PostgreSQL
# (`autovacuum_analyze_scale_factor`).
STALE_GROWTH = 0.1


def analyse_all(conn: Connection) -> None:
    """SQLite: statistics for every table and index, on the caller's transaction (after a
    database is filled at once: the demo)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("ANALYZE")


def analyse_grown(conn: Connection, written: Mapping[str, int]) -> tuple[str, ...]:
    """SQLite, on the caller's transaction: `ANALYZE` each table of `written` (table name ->
    rows just written into it) that has no statistics yet, or whose rows now differ from
    the count its statistics took by more than `STALE_GROWTH` of it (counted, not summed
    from the writes: many small imports grow a table as one large one does); the tables
    analysed, in name order. A table nothing was written into is left as it is."""
    if conn.dialect.name != "sqlite":
        return ()
    counted = _counted_rows(conn)
    stale = [
        name
        for name in sorted(name for name, rows in written.items() if rows > 0)
        if name not in counted or _moved(conn, name, counted[name])
    ]
    for name in stale:
        conn.exec_driver_sql(f'ANALYZE "{name}"')
    return tuple(stale)


def _moved(conn: Connection, table: str, counted: int) -> bool:
    """Whether `table`'s rows differ from `counted` by more than `STALE_GROWTH` of it (a
    count reads the smallest index: 3 ms of CPU at 1,000,000 activities, measured)."""
    rows = int(conn.exec_driver_sql(f'SELECT count(*) FROM "{table}"').scalar_one())
    return abs(rows - counted) > STALE_GROWTH * counted


def _counted_rows(conn: Connection) -> dict[str, int]:
    """Table name -> the rows its statistics counted (none before the first ANALYZE)."""
    exists = conn.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'"
    ).first()
    if exists is None:
        return {}
    # `stat` begins with the row count; a table without an index has a row of its own.
    found = conn.exec_driver_sql("SELECT tbl, stat FROM sqlite_stat1 WHERE stat IS NOT NULL")
    counted: dict[str, int] = {}
    for table, stat in found:
        first = str(stat).split(" ", 1)[0]
        if first.isdigit():
            counted[table] = max(counted.get(table, 0), int(first))
    return counted
