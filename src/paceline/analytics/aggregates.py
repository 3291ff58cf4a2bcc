"""The diagnosis's aggregates: first events per prospect and step, activities per kind.

Why: a team's diagnosis asked the raw activities of the window for distinct prospects, the
activity mix and, for the funnel's median days, every event of every step; at 10M activities
that took seconds to half a minute where a scorecard takes 40 ms. These tables hold the same
facts at the grain the questions need:

- `prospect_day`: per funnel step (and `@selling`, any selling activity), rep, business day
  and account, the first and last event and how many there were;
- `prospect_step`: per step, rep and account, the first and last event ever, and whether the
  key's day cells follow each other in time (`ordered`);
- `kind_day`: per rep, business day and kind, the activities, Asks and engaged outcomes;
  `kind_month` the same per calendar month, with the last day it covers (kept by `rollup`
  from `kind_day`; a window's whole months read it).

They are keyed by rep-day like `metric_day` and recomputed by `ensure_rollup` from the same
trigger marks, in the same transaction, so an import, an edit, a delete or a contact's new
seniority reaches them exactly as it reaches the scorecards.

The readers here answer with the raw definitions' numbers, exactly. The first event of a
step in a window is the first window cell's first event when the key is ordered (else the
minimum over its window cells). The first event at or after an instant t is the first cell
whose last event is at or after t: its first event when that is at or after t, else (the
cell straddles t, or the key is not ordered) the raw activities of that prospect say.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Select,
    and_,
    case,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
    tuple_,
    union_all,
)

from paceline.analytics.local_days import LocalDays
from paceline.analytics.metric_sql import activity_filter, needs_contact, selling_condition
from paceline.analytics.shared import once
from paceline.calendar import shift_months
from paceline.config import MetricSettings, Settings
from paceline.store.models import (
    Activity,
    Contact,
    KindDay,
    KindMonth,
    ProspectDay,
    ProspectStep,
)

SELLING = "@selling"  # the prospect_day "step" of any selling activity

AnySelect = Select[*tuple[Any, ...]]


@dataclass(frozen=True)
class DayRange:
    """Every rep's days in [start, end): a month's worth of rep-days named by its dates, so
    that on a database partitioned by month (store.partition) the statements read and
    write that month's partitions only, by range, instead of seeking rep-day by rep-day."""

    start: dt.date
    end: dt.date

    def holds(self, day: Any) -> ColumnElement[bool]:
        return and_(day >= self.start, day < self.end)


# Which rep-days a refresh recomputes: rows of (rep_id, local_date), or a range of days.
Scope = AnySelect | DayRange


def in_scope(scope: Scope, rep: Any, day: Any) -> ColumnElement[bool]:
    """The condition that a row's (rep, day) is in `scope`."""
    if isinstance(scope, DayRange):
        return scope.holds(day)
    return tuple_(rep, day).in_(scope)


_DAY = ProspectDay.__table__
_STEP = ProspectStep.__table__

_READ = ContextVar("paceline_read_aggregates", default=True)


def reading() -> bool:
    """Whether analyses read the aggregates (the default) or the raw activities."""
    return _READ.get()


@contextmanager
def raw_reads() -> Iterator[None]:
    """Analyses inside read raw activities, as before the aggregates: the reference the
    tests and the benchmark hold the aggregates to."""
    token = _READ.set(False)
    try:
        yield
    finally:
        _READ.reset(token)


def aggregated_steps(settings: Settings) -> dict[str, MetricSettings]:
    """The funnel steps `prospect_day` holds: the configured ones that count activities."""
    known = {m.name: m for m in settings.metrics}
    return {
        name: known[name]
        for name in settings.funnel.steps
        if name in known
        and known[name].source == "activities"
        and known[name].aggregate in ("count", "sum")
    }


def fingerprint_parts(settings: Settings) -> dict[str, Any]:
    """What the aggregates depend on in the configuration (the rollup's fingerprint adds it)."""
    return {
        "prospect_steps": [
            m.model_dump(mode="json", exclude={"label", "higher_is_better", "min_denominator"})
            for m in aggregated_steps(settings).values()
        ],
    }


# --- keeping them current -------------------------------------------------------------------


def clear(conn: Connection) -> None:
    for model in (ProspectStep, ProspectDay, KindDay):
        conn.execute(delete(model))


def rebuild(conn: Connection, settings: Settings) -> None:
    """Every cell and key from scratch (the tables are empty: `clear` ran)."""
    _insert_cells(conn, settings, scope=None)
    conn.execute(insert(KindDay).from_select(_KIND_COLUMNS, _kind_rows(scope=None)))
    conn.execute(insert(ProspectStep).from_select(_STEP_COLUMNS, _key_rows(keys=None)))


def refresh(conn: Connection, settings: Settings, scope: Scope) -> None:
    """Recompute the rep-days in `scope` ((rep_id, local_date) rows, or a `DayRange`) and the
    keys they touch.

    A touched key is summed again from seeks on its first and last day, not from all of its
    days, so a refresh costs what changed, not the history. Its `ordered` flag stays true when
    it was and each new day cell comes after the day before it and before the day after it
    (a day removed from an ordered key leaves it ordered); a key once out of order stays so
    until a rebuild, and is read the exact, slower way meanwhile.
    """
    cells_in_scope = in_scope(scope, _DAY.c.rep_id, _DAY.c.local_date)
    touched = _recompute_cells(conn, settings, scope, cells_in_scope)
    out_of_order = _out_of_order(cells_in_scope)
    keys = select(touched.c.metric, touched.c.account_id, touched.c.rep_id)
    conn.execute(
        delete(ProspectStep).where(
            tuple_(ProspectStep.metric, ProspectStep.account_id, ProspectStep.rep_id).in_(keys)
        )
    )
    conn.execute(
        insert(ProspectStep).from_select(_STEP_COLUMNS, _touched_key_rows(touched, out_of_order))
    )
    conn.execute(text("DROP TABLE prospect_touched"))
    conn.execute(delete(KindDay).where(in_scope(scope, KindDay.rep_id, KindDay.local_date)))
    conn.execute(insert(KindDay).from_select(_KIND_COLUMNS, _kind_rows(scope=scope)))


def rebuild_days(conn: Connection, settings: Settings, days: DayRange) -> None:
    """`refresh` for a range of days, the keys it touches summed again from all their cells
    in one pass (`_key_rows`, as a rebuild does) instead of seek by seek: for a month,
    nearly every key is touched, and the refresh's seeks (two or three per cell of the
    month) took 82 s of a 105 s month at 1M activities, measured on PostgreSQL."""
    touched = _recompute_cells(conn, settings, days, days.holds(_DAY.c.local_date))
    keys = select(touched.c.metric, touched.c.account_id, touched.c.rep_id).distinct()
    conn.execute(
        delete(ProspectStep).where(
            tuple_(ProspectStep.metric, ProspectStep.account_id, ProspectStep.rep_id).in_(keys)
        )
    )
    conn.execute(insert(ProspectStep).from_select(_STEP_COLUMNS, _key_rows(keys=keys)))
    conn.execute(text("DROP TABLE prospect_touched"))
    conn.execute(delete(KindDay).where(days.holds(KindDay.local_date)))
    conn.execute(insert(KindDay).from_select(_KIND_COLUMNS, _kind_rows(scope=days)))


def _recompute_cells(
    conn: Connection, settings: Settings, scope: Scope, cells: ColumnElement[bool]
) -> Any:
    """Replace the `prospect_day` cells in scope; the temporary table `prospect_touched` of
    the keys they touch, listed before (a key whose cells all went) and after (a new key), for
    the caller to sum again and then drop."""
    conn.execute(
        text(
            "CREATE TEMPORARY TABLE prospect_touched "
            "(metric VARCHAR(64), account_id BIGINT, rep_id BIGINT, was_ordered INTEGER)"
        )
    )
    touched = _touched_table()
    columns = ["metric", "account_id", "rep_id", "was_ordered"]
    conn.execute(insert(touched).from_select(columns, _keys_in(cells)))
    conn.execute(delete(ProspectDay).where(cells))
    _insert_cells(conn, settings, scope=scope)
    conn.execute(insert(touched).from_select(columns, _keys_in(cells)))
    return touched


def _keys_in(in_scope: ColumnElement[bool]) -> AnySelect:
    """The keys with a cell in scope, and whether `prospect_step` has them ordered (1/0/NULL)."""
    cells = select(_DAY.c.metric, _DAY.c.account_id, _DAY.c.rep_id).where(in_scope).distinct()
    keys = cells.subquery("scoped")
    flag = (
        select(case((_STEP.c.ordered.is_(True), 1), else_=0))
        .where(
            _STEP.c.metric == keys.c.metric,
            _STEP.c.account_id == keys.c.account_id,
            _STEP.c.rep_id == keys.c.rep_id,
        )
        .scalar_subquery()
    )
    return select(keys.c.metric, keys.c.account_id, keys.c.rep_id, flag)


def _out_of_order(in_scope: ColumnElement[bool]) -> AnySelect:
    """Keys with a cell in scope that does not come strictly between its neighbour days."""
    c = _DAY.alias("c")
    n = _DAY.alias("n")
    same = and_(n.c.metric == c.c.metric, n.c.account_id == c.c.account_id)
    same = and_(same, n.c.rep_id == c.c.rep_id)
    before = (
        select(n.c.last_at)
        .where(same, n.c.local_date < c.c.local_date)
        .order_by(n.c.local_date.desc())
        .limit(1)
        .scalar_subquery()
    )
    after = (
        select(n.c.first_at)
        .where(same, n.c.local_date > c.c.local_date)
        .order_by(n.c.local_date)
        .limit(1)
        .scalar_subquery()
    )
    scoped = tuple_(c.c.rep_id, c.c.local_date).in_(
        select(_DAY.c.rep_id, _DAY.c.local_date).where(in_scope)
    )
    return select(c.c.metric, c.c.account_id, c.c.rep_id).where(
        scoped, or_(before >= c.c.first_at, after <= c.c.last_at)
    )


def _touched_key_rows(touched: Any, out_of_order: AnySelect) -> AnySelect:
    grouped = (
        select(
            touched.c.metric,
            touched.c.account_id,
            touched.c.rep_id,
            func.min(touched.c.was_ordered).label("was"),
        )
        .group_by(touched.c.metric, touched.c.account_id, touched.c.rep_id)
        .subquery("keys")
    )
    still = and_(
        func.coalesce(grouped.c.was, 1) == 1,
        tuple_(grouped.c.metric, grouped.c.account_id, grouped.c.rep_id).not_in(out_of_order),
    )
    k = select(
        grouped.c.metric,
        grouped.c.account_id,
        grouped.c.rep_id,
        case((still, 1), else_=0).label("ok"),
    ).subquery("flagged")
    d = _DAY.alias("d")
    key = and_(d.c.metric == k.c.metric, d.c.account_id == k.c.account_id)
    key = and_(key, d.c.rep_id == k.c.rep_id)

    def edge(column: Any, last: bool) -> Any:
        order = d.c.local_date.desc() if last else d.c.local_date
        return select(column).where(key).order_by(order).limit(1).scalar_subquery()

    return select(
        k.c.metric,
        k.c.rep_id,
        k.c.account_id,
        case((k.c.ok == 1, edge(d.c.first_at, False)), else_=_scan(func.min(d.c.first_at), key)),
        edge(d.c.local_date, False),
        case((k.c.ok == 1, edge(d.c.last_at, True)), else_=_scan(func.max(d.c.last_at), key)),
        edge(d.c.local_date, True),
        case((k.c.ok == 1, true()), else_=false()),
    ).where(exists().where(key))


def _scan(aggregate: Any, key: ColumnElement[bool]) -> Any:
    return select(aggregate).where(key).scalar_subquery()


def _touched_table() -> Any:
    from sqlalchemy import BigInteger, String, column, table

    return table(
        "prospect_touched",
        column("metric", String()),
        column("account_id", BigInteger()),
        column("rep_id", BigInteger()),
        column("was_ordered", Integer()),
    )


_CELL_COLUMNS = ["metric", "rep_id", "local_date", "account_id", "first_at", "last_at", "events"]
_STEP_COLUMNS = [
    "metric",
    "rep_id",
    "account_id",
    "first_at",
    "first_date",
    "last_at",
    "last_date",
    "ordered",
]
_KIND_COLUMNS = ["rep_id", "local_date", "kind", "activities", "asks", "engaged"]


def _insert_cells(conn: Connection, settings: Settings, scope: Scope | None) -> None:
    """INSERT ... SELECT of every step's cells for the rep-days in `scope` (None: all).

    One pass over the activities groups by rep, day and account with each step's first, last
    and count side by side (a materialised CTE); a UNION ALL then keeps, per step, the
    accounts that had one, as the rollup does for `metric_day`.
    """
    steps: list[tuple[str, ColumnElement[bool], bool]] = [
        (name, activity_filter(settings, m), needs_contact(m))
        for name, m in aggregated_steps(settings).items()
    ]
    steps.append((SELLING, selling_condition(settings), False))
    columns: list[Any] = []
    for i, (_, condition, _) in enumerate(steps):
        columns += [
            func.min(case((condition, Activity.occurred_at))).label(f"f{i}"),
            func.max(case((condition, Activity.occurred_at))).label(f"l{i}"),
            func.sum(case((condition, 1), else_=0)).label(f"n{i}"),
        ]
    query = select(Activity.rep_id, Activity.local_date, Activity.account_id, *columns)
    query = query.select_from(Activity)
    if any(contact for _, _, contact in steps):
        query = query.outerjoin(Contact, Contact.id == Activity.contact_id)
    query = query.where(Activity.account_id.is_not(None))
    if scope is not None:
        query = query.where(in_scope(scope, Activity.rep_id, Activity.local_date))
    wide = (
        query.group_by(Activity.rep_id, Activity.local_date, Activity.account_id)
        .cte("cells_wide")
        .prefix_with("MATERIALIZED")
    )
    parts = [
        select(
            literal(name).label("metric"),
            wide.c.rep_id,
            wide.c.local_date,
            wide.c.account_id,
            wide.c[f"f{i}"],
            wide.c[f"l{i}"],
            wide.c[f"n{i}"],
        ).where(wide.c[f"n{i}"] > 0)
        for i, (name, _, _) in enumerate(steps)
    ]
    conn.execute(insert(ProspectDay).from_select(_CELL_COLUMNS, union_all(*parts)))


def _kind_rows(scope: Scope | None) -> AnySelect:
    query = select(
        Activity.rep_id,
        Activity.local_date,
        Activity.kind,
        func.count(),
        func.sum(case((Activity.has_ask.is_(True), 1), else_=0)),
        func.sum(case((Activity.engaged.is_(True), 1), else_=0)),
    )
    if scope is not None:
        query = query.where(in_scope(scope, Activity.rep_id, Activity.local_date))
    return query.group_by(Activity.rep_id, Activity.local_date, Activity.kind)


def _key_rows(keys: AnySelect | None) -> AnySelect:
    """One row per (step, account, rep) from its day cells; `ordered` when each cell's first
    event comes after the previous cell's last (a window function over the key's days)."""
    previous = func.lag(_DAY.c.last_at).over(
        partition_by=(_DAY.c.metric, _DAY.c.account_id, _DAY.c.rep_id),
        order_by=_DAY.c.local_date,
    )
    cells = select(
        _DAY.c.metric,
        _DAY.c.rep_id,
        _DAY.c.account_id,
        _DAY.c.first_at,
        _DAY.c.last_at,
        _DAY.c.local_date,
        case((previous >= _DAY.c.first_at, 0), else_=1).label("ok"),
    )
    if keys is not None:
        cells = cells.where(tuple_(_DAY.c.metric, _DAY.c.account_id, _DAY.c.rep_id).in_(keys))
    c = cells.subquery("cells")
    return select(
        c.c.metric,
        c.c.rep_id,
        c.c.account_id,
        func.min(c.c.first_at),
        func.min(c.c.local_date),
        func.max(c.c.last_at),
        func.max(c.c.local_date),
        case((func.min(c.c.ok) == 1, true()), else_=false()),
    ).group_by(c.c.metric, c.c.rep_id, c.c.account_id)


# --- reading them ---------------------------------------------------------------------------


def kind_counts(
    conn: Connection, start: dt.date, end: dt.date, rep_ids: list[int]
) -> list[tuple[int, str, int, int, int]]:
    """(rep_id, kind, activities, asks, engaged) over [start, end)."""
    if not rep_ids:
        return []
    key = ("kind_counts", start, end, tuple(rep_ids))
    return once(key, lambda: _kind_counts(conn, start, end, rep_ids))


def _kind_counts(
    conn: Connection, start: dt.date, end: dt.date, rep_ids: list[int]
) -> list[tuple[int, str, int, int, int]]:
    """`kind_counts` read by calendar month where the window allows, summed here, in the
    order SQLite's GROUP BY gave them (by rep, then kind).

    Why: a diagnosis's 180-day window read ~125 business days of `kind_day` per rep, for the
    reps and their peers; its whole months are one `kind_month` row per rep and kind, so are
    its last month's when that row's last day is before `end` (month to date), and only the
    days before its first whole month, and a last month going on past `end`, are read by
    day. Counts only: the same whole numbers added in any order."""
    first_month = start if start.day == 1 else shift_months(start.replace(day=1), 1)
    last_month = (end - dt.timedelta(days=1)).replace(day=1)
    if first_month > last_month:
        parts = [_kind_days(start, end, rep_ids)]
    else:
        dialect = conn.dialect.name
        parts = _kind_month_parts(dialect, start, end, first_month, last_month, rep_ids)
    summed: dict[tuple[int, str], list[int]] = {}
    for rep_id, kind, n, asks, engaged in conn.execute(union_all(*parts)):
        counts = summed.setdefault((int(rep_id), str(kind)), [0, 0, 0])
        counts[0] += int(n or 0)
        counts[1] += int(asks or 0)
        counts[2] += int(engaged or 0)
    return [
        (rep_id, kind, n, asks, engaged)
        for (rep_id, kind), (n, asks, engaged) in sorted(summed.items())
    ]


def _kind_days(start: dt.date, end: dt.date, rep_ids: list[int]) -> AnySelect:
    """Per rep and kind, `kind_day`'s counts over [start, end)."""
    return (
        select(
            KindDay.rep_id,
            KindDay.kind,
            func.sum(KindDay.activities),
            func.sum(KindDay.asks),
            func.sum(KindDay.engaged),
        )
        .where(
            KindDay.rep_id.in_(rep_ids),
            KindDay.local_date >= start,
            KindDay.local_date < end,
        )
        .group_by(KindDay.rep_id, KindDay.kind)
    )


def _kind_month_parts(
    dialect: str,
    start: dt.date,
    end: dt.date,
    first_month: dt.date,
    last_month: dt.date,
    rep_ids: list[int],
) -> list[AnySelect]:
    """The SELECTs whose rows add up to `kind_counts` over [start, end): the days before
    the first whole month, the whole months [first_month, last_month), and the last month
    to `end`, from its month row where that row stops before `end`, else from its days
    (sought per rep and kind the row names)."""
    parts: list[AnySelect] = []
    if start < first_month:
        parts.append(_kind_days(start, first_month, rep_ids))
    if first_month < last_month:
        parts.append(
            select(
                KindMonth.rep_id,
                KindMonth.kind,
                func.sum(KindMonth.activities),
                func.sum(KindMonth.asks),
                func.sum(KindMonth.engaged),
            )
            .where(
                KindMonth.rep_id.in_(rep_ids),
                KindMonth.month >= first_month,
                KindMonth.month < last_month,
            )
            .group_by(KindMonth.rep_id, KindMonth.kind)
        )
    last = KindMonth.__table__.alias("lm")
    in_last = (last.c.rep_id.in_(rep_ids), last.c.month == last_month)
    parts.append(
        select(last.c.rep_id, last.c.kind, last.c.activities, last.c.asks, last.c.engaged).where(
            *in_last, last.c.last_day < end
        )
    )
    day = KindDay.__table__.alias("d")
    # `+lm.rep_id` on SQLite: not a column = column term, so the reps' list is not carried
    # over to `d`, which SQLite then read first (every rep's days of the month, 5 ms at 10M
    # activities) to find month rows that usually do not go on past `end` at all.
    month_rep = literal_column("+lm.rep_id", Integer()) if dialect == "sqlite" else last.c.rep_id
    going_on = and_(
        day.c.rep_id == month_rep,
        day.c.local_date >= last_month,
        day.c.local_date < end,
        day.c.kind == last.c.kind,
    )
    parts.append(
        select(
            last.c.rep_id,
            last.c.kind,
            func.sum(day.c.activities),
            func.sum(day.c.asks),
            func.sum(day.c.engaged),
        )
        .select_from(last.join(day, going_on))
        .where(*in_last, last.c.last_day >= end)
        .group_by(last.c.rep_id, last.c.kind)
    )
    return parts


def prospects(
    conn: Connection, start: dt.date, end: dt.date, rep_ids: list[int], step: str = SELLING
) -> dict[int, int]:
    """Per rep: distinct accounts with an event of `step` in [start, end)."""
    if not rep_ids:
        return {}
    s = _STEP.alias("s")
    d = _DAY.alias("d")
    inside = exists().where(
        d.c.metric == s.c.metric,
        d.c.account_id == s.c.account_id,
        d.c.rep_id == s.c.rep_id,
        d.c.local_date >= start,
        d.c.local_date < end,
    )
    query = (
        select(s.c.rep_id, func.count())
        .where(
            s.c.metric == step,
            s.c.rep_id.in_(rep_ids),
            s.c.last_date >= start,
            s.c.first_date < end,
            # the first or last day is in the window; else (both outside) look inside
            or_(s.c.first_date >= start, s.c.last_date < end, inside),
        )
        .group_by(s.c.rep_id)
    )
    return {int(rep): int(n) for rep, n in conn.execute(query)}


def first_days(rep_ids: list[int] | None, step: str = SELLING) -> AnySelect:
    """(account_id, first_day): per account, the first day any of `rep_ids` (None: everyone)
    had an event of `step`, ever: the least first date of the account's keys, one row per
    key instead of every event of the accounts' history."""
    s = _STEP.alias("s")
    query = select(s.c.account_id, func.min(s.c.first_date).label("first_day")).where(
        s.c.metric == step
    )
    if rep_ids is not None:
        query = query.where(s.c.rep_id.in_(rep_ids))
    return query.group_by(s.c.account_id)


def last_days(
    conn: Connection, step: str, accounts: Any, as_of: dt.date
) -> dict[tuple[int, int], dt.date]:
    """Per (account, rep): the last day up to `as_of` with an event of `step`, for the accounts
    `accounts` (a subquery of account ids)."""
    s = _STEP.alias("s")
    d = _DAY.alias("d")
    latest = (
        select(d.c.local_date)
        .where(
            d.c.metric == s.c.metric,
            d.c.account_id == s.c.account_id,
            d.c.rep_id == s.c.rep_id,
            d.c.local_date <= as_of,
        )
        .order_by(d.c.local_date.desc())
        .limit(1)
        .scalar_subquery()
    )
    day = case((s.c.last_date <= as_of, s.c.last_date), else_=latest)
    query = select(s.c.account_id, s.c.rep_id, day).where(
        s.c.metric == step, s.c.account_id.in_(accounts), s.c.first_date <= as_of
    )
    found: dict[tuple[int, int], dt.date] = {}
    for account, rep, last in conn.execute(query):
        if last is not None:
            found[int(account), int(rep)] = last if isinstance(last, dt.date) else _date(last)
    return found


def event_times(
    conn: Connection,
    settings: Settings,
    step: MetricSettings,
    accounts: Any,
    start: dt.datetime,
    end: dt.datetime,
    moments: dict[int, list[dt.datetime]],
) -> dict[int, list[dt.datetime]]:
    """Per account of `accounts` (a subquery of account ids): times of `step` events in
    [start, end) (naive UTC), enough to name the latest event at or before each of the
    account's `moments` exactly as all its raw events would (`forecast`'s lag from the
    driver to an opportunity).

    Each day cell gives its first and last event; a cell that a moment falls inside (the
    latest event before it may lie between the two) or that crosses `start` or `end` gives
    its own events, read from the activities. A cell's seek replaces reading every
    activity of the accounts' history for its kind and outcome.
    """
    cells = conn.execute(_cells(step, accounts, start, end))
    return _events_of_cells(conn, settings, step, cells, start, end, moments)


Cell = tuple[int, int, Any, dt.datetime, dt.datetime]  # account, rep, day, first, last


def _cells(step: MetricSettings, accounts: Any, start: dt.datetime, end: dt.datetime) -> Any:
    """The day cells of `step` on `accounts` with an event in [start, end) (see `Cell`)."""
    d = _DAY.alias("d")
    return select(d.c.account_id, d.c.rep_id, d.c.local_date, d.c.first_at, d.c.last_at).where(
        d.c.metric == step.name,
        d.c.account_id.in_(accounts),
        d.c.last_at >= start,
        d.c.first_at < end,
    )


class SpanCells:
    """`event_times` for many windows inside [start, end) (a backtest's cut-offs): each
    step's day cells of the span are read once, for the accounts of `accounts`, then each
    window takes those of its own accounts and days; the answer is `event_times`' own."""

    def __init__(self, accounts: Any, start: dt.datetime, end: dt.datetime) -> None:
        self._accounts, self._start, self._end = accounts, start, end
        self._by_step: dict[str, dict[int, list[Cell]]] = {}

    def __call__(
        self,
        conn: Connection,
        settings: Settings,
        step: MetricSettings,
        start: dt.datetime,
        end: dt.datetime,
        moments: dict[int, list[dt.datetime]],
    ) -> dict[int, list[dt.datetime]]:
        """`moments`' accounts are the window's: those whose cells are read."""
        if start < self._start or end > self._end:
            raise ValueError(f"window {start} - {end} outside the span read")
        by_account = self._by_step.get(step.name)
        if by_account is None:
            by_account = {}
            query = _cells(step, self._accounts, self._start, self._end)
            for cell in conn.execute(query).all():
                by_account.setdefault(cell[0], []).append(cell)
            self._by_step[step.name] = by_account
        cells = [
            cell
            for account in moments
            for cell in by_account.get(account, ())
            if cell[4] >= start and cell[3] < end
        ]
        return _events_of_cells(conn, settings, step, cells, start, end, moments)


def _events_of_cells(
    conn: Connection,
    settings: Settings,
    step: MetricSettings,
    cells: Iterable[Any],
    start: dt.datetime,
    end: dt.datetime,
    moments: dict[int, list[dt.datetime]],
) -> dict[int, list[dt.datetime]]:
    """`event_times` from its day cells: a cell no moment falls inside gives its first and
    last event, the others their own events read from the activities."""
    found: dict[int, list[dt.datetime]] = {}
    straddled: list[tuple[int, int, dt.date]] = []
    ordered = {account: sorted(times) for account, times in moments.items()}
    for account, rep, day, first, last in cells:
        inside = start <= first and last < end
        if inside and not _falls_in(ordered.get(account, ()), first, last):
            found.setdefault(account, []).extend((first, last) if first != last else (first,))
        else:
            straddled.append((rep, account, day if isinstance(day, dt.date) else _date(day)))
    for part in range(0, len(straddled), CELL_CHUNK):
        for account, moment in conn.execute(
            _cell_events(settings, step, straddled[part : part + CELL_CHUNK], start, end)
        ):
            found.setdefault(account, []).append(moment)
    for times in found.values():
        times.sort()
    return found


CELL_CHUNK = 500  # cells per read of their events (three bound values each)


def _falls_in(ordered: Sequence[dt.datetime], first: dt.datetime, last: dt.datetime) -> bool:
    """Whether a moment of `ordered` (sorted) lies in [first, last): one bisection per cell
    instead of a scan of the account's moments, for each of the many cells read."""
    at = bisect_left(ordered, first)
    return at < len(ordered) and ordered[at] < last


def _cell_events(
    settings: Settings,
    step: MetricSettings,
    cells: list[tuple[int, int, dt.date]],
    start: dt.datetime,
    end: dt.datetime,
) -> AnySelect:
    """(account_id, occurred_at) of `step` events in [start, end) on the (rep, account,
    day) cells."""
    query = select(Activity.account_id, Activity.occurred_at).where(
        tuple_(Activity.rep_id, Activity.account_id, Activity.local_date).in_(cells),
        Activity.occurred_at >= start,
        Activity.occurred_at < end,
        activity_filter(settings, step),
    )
    if needs_contact(step):
        query = query.outerjoin(Contact, Contact.id == Activity.contact_id)
    return query


def _date(value: Any) -> dt.date:
    return dt.date.fromisoformat(str(value)[:10])


class Sides:
    """The subject's reps and the comparison group's: which side a rep's events count for."""

    def __init__(self, subject_ids: list[int], peer_ids: list[int]) -> None:
        self.subject_ids = subject_ids
        self.peer_ids = peer_ids
        self.ids = subject_ids + peer_ids

    def side(self, rep: ColumnElement[int]) -> ColumnElement[int]:
        if not self.peer_ids:
            return literal_column("0", Integer)
        return case((rep.in_(self.subject_ids), 0), else_=1)


def first_events(pair: int, step: str, start: dt.date, end: dt.date, sides: Sides) -> Any:
    """(side, account_id, t0): per side and account, the first `step` event in the window.

    One seek per prospect key of the side's reps: the key's first window cell when its days
    are ordered in time, else the minimum over its window cells.
    """
    ids, side = sides.ids, sides.side
    s = _STEP.alias("s_a")
    d = _DAY.alias("d_a")
    key = and_(
        d.c.metric == s.c.metric,
        d.c.account_id == s.c.account_id,
        d.c.rep_id == s.c.rep_id,
        d.c.local_date >= start,
        d.c.local_date < end,
    )
    first_cell = select(d.c.first_at).where(key).order_by(d.c.local_date).limit(1)
    any_cell = select(func.min(d.c.first_at)).where(key)
    t = case(
        (s.c.ordered.is_(True), first_cell.scalar_subquery()),
        else_=any_cell.scalar_subquery(),
    )
    per_rep = (
        select(side(s.c.rep_id).label("side"), s.c.account_id, t.label("t"))
        .where(
            s.c.metric == step,
            s.c.rep_id.in_(ids),
            s.c.last_date >= start,
            s.c.first_date < end,
        )
        .subquery(f"first_{pair}")
    )
    # Keys without a window cell give t = NULL, ignored by min(); an all-NULL t0 joins nothing.
    return (
        select(per_rep.c.side, per_rep.c.account_id, func.min(per_rep.c.t).label("t0"))
        .group_by(per_rep.c.side, per_rep.c.account_id)
        .subquery(f"started_{pair}")
    )


def first_after(
    settings: Settings,
    pair: int,
    starts: Any,
    later: MetricSettings,
    start: dt.date,
    end: dt.date,
    sides: Sides,
    days: LocalDays,
) -> Any:
    """(side, account_id, t0, t1): per row of `starts`, the side's first `later` event in
    the window at or after t0 (rows without one are left out, as an inner join would).
    A `later` event with a date and no time on t0's local day counts as at or after it
    (`LocalDays.at_or_after`, the raw read's rule): found as a day cell of t0's day whose
    first event is that day's midnight.

    Per prospect key of `later`: the first window cell whose last event is at or after t0;
    its first event when that is at or after t0; when the cell straddles t0 (or the key's
    days overlap in time) the activities of that cell (or key) are read.
    """
    ids, side = sides.ids, sides.side
    s2 = _STEP.alias("s_b")

    def first_cell_after(column: Any) -> Any:
        """The first window cell of the `later` key whose last event is at or after t0."""
        d2 = _DAY.alias()
        return (
            select(column(d2))
            .where(
                d2.c.metric == s2.c.metric,
                d2.c.account_id == s2.c.account_id,
                d2.c.rep_id == s2.c.rep_id,
                d2.c.last_at >= starts.c.t0,
                d2.c.local_date >= start,
                d2.c.local_date < end,
            )
            .order_by(d2.c.last_at)
            .limit(1)
            .scalar_subquery()
        )

    candidates = (
        select(
            starts.c.side,
            starts.c.account_id,
            starts.c.t0,
            s2.c.rep_id,
            s2.c.ordered,
            first_cell_after(lambda d: d.c.first_at).label("cell_first"),
            first_cell_after(lambda d: d.c.local_date).label("cell_day"),
        )
        .select_from(starts)
        .join(
            s2,
            and_(
                s2.c.metric == later.name,
                s2.c.account_id == starts.c.account_id,
                s2.c.last_at >= starts.c.t0,
                s2.c.last_date >= start,
                s2.c.first_date < end,
                s2.c.rep_id.in_(ids),
                side(s2.c.rep_id) == starts.c.side,
            ),
        )
        .cte(f"candidates_{pair}")
        .prefix_with("MATERIALIZED")
    )

    def raw_first(*where: ColumnElement[bool]) -> Any:
        """The first `later` event at or after t0 of a candidate, from the activities."""
        raw = select(func.min(Activity.occurred_at)).where(
            Activity.rep_id == candidates.c.rep_id,
            Activity.account_id == candidates.c.account_id,
            Activity.occurred_at >= candidates.c.t0,
            activity_filter(settings, later),
            *where,
        )
        if needs_contact(later):
            raw = raw.select_from(Activity).outerjoin(Contact, Contact.id == Activity.contact_id)
        return raw.scalar_subquery()

    t1 = case(
        # days that overlap in time: the window's events, the raw way
        (
            candidates.c.ordered.is_(False),
            raw_first(Activity.local_date >= start, Activity.local_date < end),
        ),
        (candidates.c.cell_first.is_(None), None),
        (candidates.c.cell_first >= candidates.c.t0, candidates.c.cell_first),
        # the cell straddles t0: its own events say which comes first at or after t0
        else_=raw_first(Activity.local_date == candidates.c.cell_day),
    )
    reached = (
        select(
            candidates.c.side,
            candidates.c.account_id,
            candidates.c.t0,
            func.min(t1).label("t1"),
        )
        .group_by(candidates.c.side, candidates.c.account_id, candidates.c.t0)
        .subquery(f"reached_{pair}")
    )
    timed = select(reached).where(reached.c.t1.is_not(None))
    found = union_all(timed, _dated_same_day(pair, starts, later, start, end, sides, days))
    both = found.subquery(f"found_{pair}")
    return (
        select(both.c.side, both.c.account_id, both.c.t0, func.min(both.c.t1).label("t1"))
        .group_by(both.c.side, both.c.account_id, both.c.t0)
        .subquery(f"reached_after_{pair}")
    )


def _dated_same_day(
    pair: int,
    starts: Any,
    later: MetricSettings,
    start: dt.date,
    end: dt.date,
    sides: Sides,
    days: LocalDays,
) -> AnySelect:
    """(side, account_id, t0, t1): the `later` events with a date and no time on t0's local
    day, by the side's reps in the window: a day cell whose first event is its midnight."""
    d = _DAY.alias(f"dated_{pair}")
    return (
        select(starts.c.side, starts.c.account_id, starts.c.t0, d.c.first_at.label("t1"))
        .select_from(starts)
        .join(
            d,
            and_(
                d.c.metric == later.name,
                d.c.account_id == starts.c.account_id,
                d.c.rep_id.in_(sides.ids),
                sides.side(d.c.rep_id) == starts.c.side,
                d.c.local_date >= start,
                d.c.local_date < end,
                days.date_only(d.c.first_at),
                days.day(d.c.first_at) == days.day(starts.c.t0),
            ),
        )
    )
