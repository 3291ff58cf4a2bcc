"""Keeps `metric_day` (each activity metric per rep and business day) up to date.

Why a rollup: a month's scorecards for a thousand reps would otherwise scan every activity
of the month (hundreds of thousands of rows) on every page view; from the rollup they read a
few rows per rep-day, however long the history grows. Why maintained this way:
- database triggers mark each changed rep-day in `rollup_dirty`, so no write path can forget;
- analyses call `ensure_rollup` first, which recomputes only the marked rep-days, in SQL, in
  one transaction; with nothing marked it costs one indexed look-up;
- the rows depend on the metric definitions in the configuration, so their fingerprint is
  stored, and a changed definition rebuilds the whole rollup once.
Counts and sums add up across days; distinct counts do not: the diagnosis's aggregates
(`aggregates`: first events per prospect and step, activities per kind) are kept by the same
marks, in the same transaction, and their configuration is part of the same fingerprint.
`metric_month` and `kind_month` (the days of `metric_day` and `kind_day` summed per calendar
month) are recomputed for the months of the marked rep-days, after their day tables.
`hour_day` (when to sell's counts per UTC hour, `hours`) is kept by the same marks too,
under a fingerprint of its own.
Every refresh that had something to do writes a new random **data version**
(`data_version`): with nothing marked, the stored rows are exactly those of the last refresh
that wrote it, so a reader may keep what it derived from them under that version (the
accrual curves' history, `accrual`) until the version changes or something is marked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Date,
    DateTime,
    Engine,
    Insert,
    Integer,
    Table,
    and_,
    cast,
    column,
    delete,
    func,
    insert,
    literal,
    literal_column,
    select,
    table,
    text,
    tuple_,
    union_all,
)

from paceline.analytics import aggregates, hours
from paceline.analytics.metric_sql import (
    activity_case,
    is_additive_activity_metric,
    needs_contact,
)
from paceline.calendar import shift_months
from paceline.config import MetricSettings, Settings, derive
from paceline.store import day_zone
from paceline.store.engine import primary_of, read_connection, wait_for_replay
from paceline.store.models import (
    Activity,
    Contact,
    KindDay,
    KindMonth,
    MetricDay,
    MetricMonth,
    RollupDirty,
    RollupDirtyContact,
    RollupState,
)
from paceline.store.partition import partitioned_tables

# Arbitrary constant naming Paceline's rollup lock among PostgreSQL advisory locks.
_PG_LOCK_KEY = 7_061_636_501


@dataclass(frozen=True)
class RollupRefresh:
    """What a refresh did: nothing, some rep-days, or a full rebuild."""

    rebuilt: bool
    rep_days: int
    hours_rebuilt: bool = False  # `hour_day` alone, its own fingerprint having changed


def rolled_up_metrics(settings: Settings) -> list[MetricSettings]:
    return [m for m in settings.metrics if is_additive_activity_metric(m)]


def fingerprint(settings: Settings) -> str:
    """Hash of everything the rollup's numbers depend on in the configuration (computed once
    per configuration: every analysis checks it)."""
    return derive(settings, "rollup.fingerprint", lambda: _fingerprint(settings))


def _fingerprint(settings: Settings) -> str:
    parts = {
        "metrics": [
            m.model_dump(mode="json", exclude={"label", "higher_is_better", "min_denominator"})
            for m in rolled_up_metrics(settings)
        ],
        "selling_kinds": sorted(settings.selling_kinds),
        "require_ask": settings.selling.require_ask,
        "connected": sorted(settings.connected_outcomes),
        **aggregates.fingerprint_parts(settings),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def ensure_rollup(engine: Engine, settings: Settings) -> RollupRefresh:
    """Bring `metric_day` up to date with activities and configuration (cheap when it is).

    On a read replica (`store.engine.read_engine`) the refresh runs on the primary, which
    alone can write. When it had changes to fold in, the analysis then waits for the replica
    to replay them (`wait_for_replay`), so the page after a write shows it; otherwise it
    reads the replica as it is, seconds behind at most: waiting on every read would make each
    one wait for whatever else the primary's server writes (another database's import too).
    """
    primary = primary_of(engine)
    if primary is not engine:
        refresh = ensure_rollup(primary, settings)
        if refresh.rebuilt or refresh.rep_days:
            wait_for_replay(primary, engine)
        return refresh
    wanted = fingerprint(settings)
    hours_wanted = hours.fingerprint(settings)
    zone = settings.calendar.zone
    with read_connection(engine) as conn:
        current = _is_current(conn, wanted, hours_wanted, zone.key)
    if current:
        return RollupRefresh(rebuilt=False, rep_days=0)
    day_zone.align_stored_days(engine, zone)  # the days the sums are of, first
    with engine.begin() as conn:
        _take_lock(conn)
        refresh = _refresh_locked(conn, settings, wanted, hours_wanted)
        _new_data_version(conn)
        return refresh


def _refresh_locked(
    conn: Connection, settings: Settings, wanted: str, hours_wanted: str
) -> RollupRefresh:
    if _stored_fingerprint(conn) != wanted:
        return _rebuild(conn, settings, wanted)
    refresh = _refresh_marked(conn, settings)
    if hours.stored_fingerprint(conn) != hours_wanted:
        hours.rebuild(conn, settings)
        return RollupRefresh(rebuilt=False, rep_days=refresh.rep_days, hours_rebuilt=True)
    return refresh


DATA_VERSION_ROW = 3  # `rollup_state`'s row holding the data version (1: rollup, 2: hours)


def _new_data_version(conn: Connection) -> None:
    """A new random data version, in the refresh's transaction: random, not a counter, so a
    database rebuilt or restored under the same URL never repeats one a process holds."""
    conn.execute(delete(RollupState).where(RollupState.id == DATA_VERSION_ROW))
    conn.execute(insert(RollupState).values(id=DATA_VERSION_ROW, fingerprint=uuid.uuid4().hex))


# The data version and whether anything is marked, in one statement.
_DATA_VERSION = select(
    select(RollupState.fingerprint).where(RollupState.id == DATA_VERSION_ROW).scalar_subquery(),
    select(RollupDirty.id).exists(),
    select(RollupDirtyContact.contact_id).exists(),
)


def data_version(conn: Connection) -> str | None:
    """The version of the stored activities, or None when it says nothing: something is
    marked (written since the last refresh, or being refreshed), or no refresh has written
    one yet. Every write to activities and contacts is marked (database triggers; bulk loads
    write their marks themselves), and only a refresh, which writes a new version in the same
    transaction, clears marks: the same version with nothing marked means the same rows."""
    version, marked, contacts_marked = conn.execute(_DATA_VERSION).one()
    return None if version is None or marked or contacts_marked else str(version)


def rollup_is_current(engine: Engine, conn: Connection, settings: Settings) -> bool:
    """Whether `ensure_rollup(engine, settings)` would have nothing to do, read on `conn`,
    a connection of `engine` the caller holds for its own reads (False on a read replica,
    whose refresh runs on the primary: ask `ensure_rollup`).

    Why: an analysis that reads on one connection (a rep's scorecard) checked the rollup on
    a connection of its own first, a check-out and check-in more per request; it now asks
    this on its connection, and calls `ensure_rollup` only when it answers False."""
    return primary_of(engine) is engine and _is_current(
        conn, fingerprint(settings), hours.fingerprint(settings), settings.calendar.zone.key
    )


def _is_current(conn: Connection, wanted: str, hours_wanted: str, zone: str) -> bool:
    stored, hours_stored, marked, contacts_marked, days_zone, version = conn.execute(_STATE).one()
    return bool(
        stored == wanted
        and hours_stored == hours_wanted
        and not marked
        and not contacts_marked
        and days_zone == zone
        and version is not None  # a database upgraded from before versions: write one once
    )


# Whether the rollup is current, in one statement (every analysis asks): the stored
# fingerprints (the rollup's, `hour_day`'s), whether anything is marked, and the zone the
# activities' days are in (`store.day_zone`: a changed `[calendar] timezone` moves them).
_STATE = select(
    select(RollupState.fingerprint).where(RollupState.id == 1).scalar_subquery(),
    select(RollupState.fingerprint)
    .where(RollupState.id == hours.FINGERPRINT_ROW)
    .scalar_subquery(),
    select(RollupDirty.id).exists(),
    select(RollupDirtyContact.contact_id).exists(),
    day_zone.RECORDED_ZONE,
    select(RollupState.id).where(RollupState.id == DATA_VERSION_ROW).scalar_subquery(),
)


def _stored_fingerprint(conn: Connection) -> str | None:
    return conn.scalar(select(RollupState.fingerprint).where(RollupState.id == 1))


def _take_lock(conn: Connection) -> None:
    """One refresher at a time; on SQLite, take the write lock before reading anything."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
    else:
        conn.execute(text("DELETE FROM rollup_state WHERE 0"))


def _rebuild(conn: Connection, settings: Settings, wanted: str) -> RollupRefresh:
    _freeze_marks(conn)
    conn.execute(delete(MetricDay))
    conn.execute(delete(MetricMonth))
    conn.execute(delete(KindMonth))
    conn.execute(delete(RollupDirtyContact))
    aggregates.clear(conn)
    _recompute(conn, settings, scope=None)
    aggregates.rebuild(conn, settings)
    _recompute_months(conn, scope=None)
    _delete_frozen_marks(conn)
    conn.execute(delete(RollupState))
    conn.execute(insert(RollupState).values(id=1, fingerprint=wanted))
    hours.rebuild(conn, settings)  # after the delete: it writes its own fingerprint row
    return RollupRefresh(rebuilt=True, rep_days=0)


def _refresh_marked(conn: Connection, settings: Settings) -> RollupRefresh:
    _mark_days_of_changed_contacts(conn)
    _freeze_marks(conn)
    scope = select(_FROZEN.c.rep_id, _FROZEN.c.local_date).distinct()
    rep_days = conn.scalar(select(func.count()).select_from(scope.subquery())) or 0
    if rep_days:
        conn.execute(
            delete(MetricDay).where(tuple_(MetricDay.rep_id, MetricDay.local_date).in_(scope))
        )
        _recompute(conn, settings, scope=scope)
        aggregates.refresh(conn, settings, scope)
        _recompute_months(conn, scope=scope)
        hours.refresh(conn, settings, scope)
    _delete_frozen_marks(conn)
    return RollupRefresh(rebuilt=False, rep_days=int(rep_days))


# The marks a refresh covers, copied when it starts. Not `id <= max(id)` read at the start: on
# PostgreSQL a mark's id is drawn when it is written, not when it commits, so a mark committed
# while the refresh runs can carry a lower id than that maximum, and would be deleted unseen.
_FROZEN = table(
    "rollup_frozen",
    column("id", Integer()),
    column("rep_id", Integer()),
    column("local_date", Date()),
)


def _freeze_marks(conn: Connection) -> None:
    """Copy the marks this refresh covers (marks repeat: one per written row on SQLite).

    SQLite: the refresh holds the write lock from its first statement, so no mark can arrive
    meanwhile and the distinct rep-days are enough. PostgreSQL: writers run concurrently, so
    the ids are kept and exactly those marks are deleted at the end.
    """
    if conn.dialect.name == "postgresql":
        copy = (
            "CREATE TEMPORARY TABLE rollup_frozen ON COMMIT DROP AS SELECT id, rep_id, local_date"
        )
    else:
        copy = (
            "CREATE TEMPORARY TABLE rollup_frozen AS SELECT DISTINCT NULL AS id, rep_id, local_date"
        )
    conn.execute(text(f"{copy} FROM rollup_dirty"))


def _delete_frozen_marks(conn: Connection) -> None:
    """Delete the covered marks; marks written since stay for the next refresh."""
    if conn.dialect.name == "postgresql":  # the temporary table goes at commit
        conn.execute(delete(RollupDirty).where(RollupDirty.id.in_(select(_FROZEN.c.id))))
    else:
        conn.execute(delete(RollupDirty))
        conn.execute(text("DROP TABLE temp.rollup_frozen"))


def _mark_days_of_changed_contacts(conn: Connection) -> None:
    """Turn contact marks into rep-day marks for those contacts' activities.

    DELETE … RETURNING claims exactly the marks committed so far; one committed later stays
    for the next refresh, so no change is lost to a concurrent writer.
    """
    claimed = conn.execute(delete(RollupDirtyContact).returning(RollupDirtyContact.contact_id))
    contacts = sorted({contact_id for (contact_id,) in claimed})
    for start in range(0, len(contacts), 10_000):
        days = (
            select(Activity.rep_id, Activity.local_date)
            .where(Activity.contact_id.in_(contacts[start : start + 10_000]))
            .distinct()
        )
        conn.execute(insert(RollupDirty).from_select(["rep_id", "local_date"], days))


def rebuild_days(engine: Engine, settings: Settings, days: aggregates.DayRange) -> int:
    """Recompute every aggregate for every rep on the days in `days`, in one transaction;
    the `metric_day` rows written.

    A full rebuild in slices: on a database partitioned by month (store.partition) a month
    at a time reads and rewrites that month's partitions only, so each slice holds its locks
    for one month's work and slices can run one after another or side by side. Nothing calls
    it yet: after a definition change `ensure_rollup` still rebuilds everything at once.
    """
    with engine.begin() as conn:
        _take_lock(conn)
        conn.execute(delete(MetricDay).where(days.holds(MetricDay.local_date)))
        _recompute(conn, settings, scope=days)
        aggregates.rebuild_days(conn, settings, days)
        _recompute_months(conn, scope=days)
        hours.refresh(conn, settings, days)
        written = int(
            conn.scalar(
                select(func.count()).select_from(MetricDay).where(days.holds(MetricDay.local_date))
            )
            or 0
        )
    _analyze_partitioned_tables(engine)
    return written


def _analyze_partitioned_tables(engine: Engine) -> None:
    """ANALYZE the partitioned tables (the day aggregates and `activity`) after a rebuild.

    PostgreSQL's autovacuum analyses partitions but never a partitioned parent, whose
    statistics plan every read through it: after one month's rebuild at 10M activities the
    rep's brief took 21-38 s instead of 2.1 s until the parents were analysed (12.9 s;
    docs/scaling.md). A month's rebuild is rare and long; its reads must not stay slow."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        for table in partitioned_tables(conn):  # `activity` too, as measured
            conn.execute(text(f"ANALYZE {table}"))


def _recompute(conn: Connection, settings: Settings, scope: aggregates.Scope | None) -> None:
    if rolled_up_metrics(settings):
        conn.execute(_rollup_insert(settings, scope))


def _rollup_insert(settings: Settings, scope: aggregates.Scope | None) -> Insert:
    """INSERT … SELECT of every rolled-up metric for the rep-days in `scope` (None: all).

    One pass over the activities computes every metric side by side (a materialised CTE);
    a UNION ALL then turns the wide rows into one row per metric, keeping non-zero values.
    """
    metrics = rolled_up_metrics(settings)
    wide_query = select(
        Activity.rep_id,
        Activity.local_date,
        *(func.sum(activity_case(settings, m)).label(f"m{i}") for i, m in enumerate(metrics)),
    ).select_from(Activity)
    if any(needs_contact(m) for m in metrics):
        wide_query = wide_query.outerjoin(Contact, Contact.id == Activity.contact_id)
    if scope is not None:
        # A row-value IN, not a join: SQLite then seeks the rep/day index once per marked
        # rep-day; with a join it scanned every activity (49 s against 0.3 s at 10M, measured).
        wide_query = wide_query.where(
            aggregates.in_scope(scope, Activity.rep_id, Activity.local_date)
        )
    wide = (
        wide_query.group_by(Activity.rep_id, Activity.local_date)
        .cte("wide")
        .prefix_with("MATERIALIZED")
    )
    long_rows = [
        select(
            literal(m.name).label("metric"),
            wide.c.local_date,
            wide.c.rep_id,
            wide.c[f"m{i}"].label("value"),
        ).where(wide.c[f"m{i}"] != 0)
        for i, m in enumerate(metrics)
    ]
    columns = ["metric", "local_date", "rep_id", "value"]
    return insert(MetricDay).from_select(columns, union_all(*long_rows))


def month_of(dialect: str, day: ColumnElement[dt.date]) -> ColumnElement[dt.date]:
    """The first day of `day`'s calendar month, in SQL."""
    if dialect == "postgresql":
        return cast(func.date_trunc("month", cast(day, DateTime())), Date())
    return func.date(day, "start of month", type_=Date())


def _next_month_of(dialect: str, day: ColumnElement[dt.date]) -> ColumnElement[dt.date]:
    """The first day of the calendar month after `day`'s, in SQL."""
    if dialect == "postgresql":
        start = func.date_trunc("month", cast(day, DateTime()))
        return cast(start + literal_column("interval '1 month'"), Date())
    return func.date(day, "start of month", "+1 month", type_=Date())


@dataclass(frozen=True)
class _MonthSums:
    """A month table kept beside a day table: per rep, calendar month and `key`, the day
    rows' `summed` columns added up, and the last day added (`last_day`)."""

    day: Table
    month: Table
    key: str
    summed: tuple[str, ...]
    key_first: bool  # grouped by (key, month, rep), as `metric_month` always was; else by rep

    def grouped(self, month: ColumnElement[dt.date]) -> list[ColumnElement[Any]]:
        """The grouping columns, `month` standing for the month of each day row."""
        rows = self.day.c
        if self.key_first:
            return [rows[self.key], month, rows.rep_id]
        return [rows.rep_id, month, rows[self.key]]

    def columns(self) -> list[str]:
        """The month table's columns, in the order `grouped` and the sums fill them."""
        keys = [self.key, "month", "rep_id"] if self.key_first else ["rep_id", "month", self.key]
        return [*keys, *self.summed, "last_day"]


_MONTH_SUMS = (
    _MonthSums(MetricDay.__table__, MetricMonth.__table__, "metric", ("value",), True),
    _MonthSums(
        KindDay.__table__, KindMonth.__table__, "kind", ("activities", "asks", "engaged"), False
    ),
)


def _recompute_months(conn: Connection, scope: aggregates.Scope | None) -> None:
    """Recompute `metric_month` and `kind_month` for the (rep, month)s `scope`'s rep-days
    fall in (None: every one), from `metric_day` and `kind_day` as just recomputed."""
    for sums in _MONTH_SUMS:
        _recompute_month_sums(conn, sums, scope)


def _recompute_month_sums(
    conn: Connection, sums: _MonthSums, scope: aggregates.Scope | None
) -> None:
    """Delete the month rows of `sums` for the (rep, month)s in scope, then sum each rep's
    days of each such month again (a whole month, not only the marked days)."""
    dialect = conn.dialect.name
    day_rows, month_rows = sums.day.c, sums.month.c
    day = day_rows.local_date
    columns = sums.columns()
    if scope is None or isinstance(scope, aggregates.DayRange):
        grouped = sums.grouped(month_of(dialect, day))
        totals = [func.sum(day_rows[name]) for name in sums.summed]
        query = select(*grouped, *totals, func.max(day)).group_by(*grouped)
        if isinstance(scope, aggregates.DayRange):
            first = scope.start.replace(day=1)
            after = shift_months((scope.end - dt.timedelta(days=1)).replace(day=1), 1)
            conn.execute(
                delete(sums.month).where(month_rows.month >= first, month_rows.month < after)
            )
            query = query.where(day >= first, day < after)
        conn.execute(insert(sums.month).from_select(columns, query))
        return
    days = scope.subquery()
    months = (
        select(
            days.c.rep_id,
            month_of(dialect, days.c.local_date).label("month"),
            _next_month_of(dialect, days.c.local_date).label("after"),
        )
        .distinct()
        .cte("months")
    )
    conn.execute(
        delete(sums.month).where(
            tuple_(month_rows.rep_id, month_rows.month).in_(select(months.c.rep_id, months.c.month))
        )
    )
    grouped = sums.grouped(months.c.month)
    summed_rows = (
        select(
            *grouped,
            *(func.sum(day_rows[name]) for name in sums.summed),
            func.max(day),
        )
        .select_from(
            months.join(
                sums.day,
                and_(
                    day_rows.rep_id == months.c.rep_id,
                    day >= months.c.month,
                    day < months.c.after,
                ),
            )
        )
        .group_by(*grouped)
    )
    conn.execute(insert(sums.month).from_select(columns, summed_rows))
