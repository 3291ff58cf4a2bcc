"""Lists and their pages for the API and the pages: reps, teams, the pickers' reps and teams,
and activities newest first, a page at a time (keyset cursors, bounded counts).

Every list takes a `Scope` (everyone, one team's reps, or one rep), so a query never returns a
record its caller may not see, and a count or page is computed in the database, whatever the
table's size. Single records and their writes are `store.records`; deals `store.deal_records`.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BindParameter,
    ColumnClause,
    ColumnElement,
    Connection,
    Engine,
    Select,
    bindparam,
    false,
    func,
    select,
    tuple_,
)

from paceline.store.day_zone import align_stored_days
from paceline.store.engine import read_connection
from paceline.store.models import Activity, Rep, Team, rep_there_on
from paceline.store.records import (
    ActivityRecord,
    Scope,
    activity_query,
    activity_record,
    storable_id,
)

# --- reps and teams --------------------------------------------------------------------------


@dataclass(frozen=True)
class RepRecord:
    id: int
    name: str
    email: str | None
    role: str
    team_id: int | None
    team: str | None
    manager_id: int | None
    manager: str | None
    start_date: dt.date | None
    end_date: dt.date | None
    capacity: float
    source: str
    external_id: str | None


@dataclass(frozen=True)
class TeamRecord:
    id: int
    name: str
    reps: int


def _rep_query() -> Select[*tuple[Any, ...]]:
    managers = Rep.__table__.alias()
    manager = managers.c
    return (
        select(
            Rep.id,
            Rep.name,
            Rep.email,
            Rep.role,
            Rep.team_id,
            Team.name,
            Rep.manager_id,
            manager.name,
            Rep.start_date,
            Rep.end_date,
            Rep.capacity,
            Rep.source,
            Rep.external_id,
        )
        .outerjoin(Team, Team.id == Rep.team_id)
        .outerjoin(managers, manager.id == Rep.manager_id)
    )


def list_reps(
    engine: Engine, scope: Scope, team_id: int | None = None, role: str | None = None
) -> list[RepRecord]:
    query = _rep_query().where(scope.reps()).order_by(Rep.name)
    if team_id is not None:
        query = query.where(Rep.team_id == team_id)
    if role is not None:
        query = query.where(Rep.role == role)
    with engine.connect() as conn:
        return [_rep_record(row) for row in conn.execute(query)]


def get_rep(engine: Engine, scope: Scope, rep_id: int) -> RepRecord | None:
    if not storable_id(rep_id):
        return None
    with engine.connect() as conn:
        row = conn.execute(_rep_query().where(Rep.id == rep_id, scope.reps())).first()
    return None if row is None else _rep_record(row)


def _rep_record(row: Sequence[Any]) -> RepRecord:
    values = list(row)
    values[10] = 1.0 if values[10] is None else float(values[10])
    return RepRecord(*values)


def list_teams(
    engine: Engine, everyone: bool, team_id: int | None, day: dt.date, roles: Sequence[str]
) -> list[TeamRecord]:
    """Teams with their head count on `day`: their reps of the paced `roles` (those with key
    metrics, as a team's scorecards count them) who have started by then and not left; all
    the teams, or the one given."""
    bound = {"day": day, "roles": sorted(roles)}
    if everyone:
        query, params = _TEAMS, bound
    elif team_id is not None:
        query, params = _ONE_TEAM, {**bound, "team_id": team_id}
    else:
        return []
    with read_connection(engine) as conn:
        return [TeamRecord(int(i), n, int(c)) for i, n, c in conn.execute(query, params)]


def _teams() -> Select[int, str, int]:
    day: BindParameter[dt.date] = bindparam("day")
    counts = (
        select(Rep.team_id, func.count().label("n"))
        .where(Rep.team_id.is_not(None))
        .where(Rep.role.in_(bindparam("roles", expanding=True)))
        .where(rep_there_on(day))
        .group_by(Rep.team_id)
        .subquery()
    )
    return (
        select(Team.id, Team.name, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.team_id == Team.id)
        .order_by(Team.name)
    )


_TEAMS = _teams()
_ONE_TEAM = _TEAMS.where(Team.id == bindparam("team_id"))


# --- reps and teams for the pages' pickers ------------------------------------------------


@dataclass(frozen=True)
class RepListing:
    """A rep as a picker or a heading shows it: who, which role, which team."""

    id: int
    name: str
    role: str
    team_id: int | None
    team: str | None


@dataclass(frozen=True)
class TeamRef:
    id: int
    name: str


def _listing_query() -> Select[*tuple[Any, ...]]:
    return (
        select(Rep.id, Rep.name, Rep.role, Rep.team_id, Team.name)
        .outerjoin(Team, Team.id == Rep.team_id)
        .order_by(Rep.name)
    )


def rep_listing(engine: Engine, rep_id: int) -> RepListing | None:
    with engine.connect() as conn:
        row = conn.execute(_listing_query().where(Rep.id == rep_id)).first()
    return RepListing(*row) if row else None


def rep_listings(engine: Engine) -> list[RepListing]:
    """Every rep, by name: the caller filters by what its user may read."""
    with engine.connect() as conn:
        return [RepListing(*row) for row in conn.execute(_listing_query())]


def team_refs(engine: Engine) -> list[TeamRef]:
    """Every team, by name."""
    with engine.connect() as conn:
        query = select(Team.id, Team.name).order_by(Team.name)
        return [TeamRef(*row) for row in conn.execute(query)]


def team_ref(engine: Engine, team_id: int) -> TeamRef | None:
    with engine.connect() as conn:
        row = conn.execute(select(Team.id, Team.name).where(Team.id == team_id)).first()
    return TeamRef(*row) if row else None


# --- pages -----------------------------------------------------------------------------------


T = TypeVar("T")

# A page's total is counted only this far by default: counting is then as cheap as reading a
# page (it stops after COUNT_LIMIT + 1 index entries), never a COUNT(*) of the whole table on
# each request. `count="exact"` counts everything, for a caller who asks.
COUNT_LIMIT = 10_000
# The most rows one call returns (the exports' EXPORT_ROWS); a face bounds its own pages lower.
MAX_ROWS = 20_000
# Offsets are read and thrown away by the database: beyond this one, page with the cursor.
MAX_OFFSET = 10_000
Counting = Literal["bounded", "exact", "none"]


class CursorError(ValueError):
    """A cursor token this list did not hand out (mangled, or another list's)."""


@dataclass(frozen=True)
class Cursor:
    """A position in a list ordered newest first: the (time, id) of the last row read.

    Keyset paging: the next page is the rows strictly before this key in (time, id) order,
    read from the list's index, so a page costs the same at row 10 as at row 400,000 and rows
    inserted meanwhile neither repeat nor push others off a page. As a token it is opaque to
    clients (base64url of the list's letter, the time and the id).
    """

    list: str  # "a" activities, "d" deals
    at: dt.datetime  # naive UTC, as stored
    id: int

    def token(self) -> str:
        text = f"{self.list}|{self.at.isoformat(timespec='microseconds')}|{self.id}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def parse(cls, token: str, list_: str) -> Cursor:
        """The position a token names; CursorError when it is not one of this list's."""
        try:
            padded = token + "=" * (-len(token) % 4)
            text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
            kind, at, row_id = text.split("|")
            found = cls(kind, dt.datetime.fromisoformat(at), int(row_id))
        except (ValueError, UnicodeError) as exc:  # binascii.Error is a ValueError
            raise CursorError("not a cursor this list handed out") from exc
        if found.list != list_ or found.at.tzinfo is not None or not storable_id(found.id):
            raise CursorError("not a cursor this list handed out")
        return found


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, newest first.

    `total` is how many rows match the filters, when counted exactly: always when at most
    COUNT_LIMIT match (or with `count="exact"`), None when more match than were counted (or
    counting was not asked for). `next` is where the following (older) page starts, None on
    the last page; `prev` where the newer page before this one ends, None on the first page.
    """

    items: list[T]
    total: int | None
    limit: int
    offset: int
    next: Cursor | None = None
    prev: Cursor | None = None


@dataclass(frozen=True)
class Paging:
    """Which page to read: `limit` rows after `after` (older), before `before` (newer), or
    after skipping `offset` rows from the newest; and how far to count the matches."""

    limit: int = 100
    offset: int = 0
    after: Cursor | None = None
    before: Cursor | None = None
    count: Counting = "bounded"

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_ROWS:
            raise ValueError(f"limit must be between 1 and {MAX_ROWS}")
        if not 0 <= self.offset <= MAX_OFFSET:
            raise ValueError(f"offset must be between 0 and {MAX_OFFSET}")
        if self.after is not None and self.before is not None:
            raise ValueError("page after a cursor or before one, not both")


@dataclass(frozen=True)
class Order:
    """A list's order: newest first by (time, id), the columns of its index."""

    list: str
    at: Any
    id: Any
    at_index: int  # where the time is in the list's rows


def read_page(
    conn: Connection,
    query: Select[*tuple[Any, ...]],
    counter: Select[*tuple[Any, ...]],
    order: Order,
    paging: Paging,
) -> tuple[list[Any], int | None, Cursor | None, Cursor | None]:
    """(rows, total, next, prev) of one page: limit + 1 rows read from the index's end or a
    cursor, the extra row only telling whether more follow."""
    key = tuple_(order.at, order.id)
    newer_first = (order.at.desc(), order.id.desc())
    if paging.before is not None:
        rows = conn.execute(
            query.where(key > tuple_(paging.before.at, paging.before.id))
            .order_by(order.at, order.id)
            .limit(paging.limit + 1)
        ).all()
        if len(rows) <= paging.limit:  # back at the newest: the first page, whole
            return read_page(conn, query, counter, order, Paging(paging.limit, count=paging.count))
        rows = rows[: paging.limit][::-1]
        more_newer, more_older = True, True
    else:
        if paging.after is not None:
            query = query.where(key < tuple_(paging.after.at, paging.after.id))
        rows = conn.execute(
            query.order_by(*newer_first).limit(paging.limit + 1).offset(paging.offset)
        ).all()
        more_older = len(rows) > paging.limit
        rows = rows[: paging.limit]
        more_newer = paging.after is not None or paging.offset > 0

    def cursor(row: Any) -> Cursor:
        return Cursor(order.list, row[order.at_index], int(row[0]))

    next_ = cursor(rows[-1]) if rows and more_older else None
    prev = cursor(rows[0]) if rows and more_newer else None
    return list(rows), _count(conn, counter, paging.count), next_, prev


def _count(conn: Connection, counter: Select[*tuple[Any, ...]], counting: Counting) -> int | None:
    """How many rows match: exactly, or up to COUNT_LIMIT (None beyond), or not at all."""
    if counting == "none":
        return None
    if counting == "exact":
        return int(conn.scalar(select(func.count()).select_from(counter.subquery())) or 0)
    bounded = counter.limit(COUNT_LIMIT + 1).subquery()
    found = int(conn.scalar(select(func.count()).select_from(bounded)) or 0)
    return found if found <= COUNT_LIMIT else None


@dataclass(frozen=True)
class ActivityFilter:
    rep_id: int | None = None
    team_id: int | None = None
    kind: str | None = None
    start: dt.date | None = None  # local day, inclusive
    end: dt.date | None = None  # local day, inclusive


def _activity_conditions(scope: Scope, where: ActivityFilter) -> list[ColumnElement[bool]]:
    """The filters as conditions on `activity`'s own columns, so the list's count needs no join
    and its page can be read along an index. A day range also bounds `occurred_at` (a local
    day is within a day of its UTC date in any zone, two days' margin kept), which lets the
    (occurred_at, id) index serve a date-filtered page as well."""
    conditions: list[ColumnElement[bool]] = []
    if not scope.everyone:
        if scope.rep_id is not None:
            conditions.append(Activity.rep_id == scope.rep_id)
        elif scope.team_id is not None:
            conditions.append(in_team(Activity.rep_id, scope.team_id))
        else:
            conditions.append(false())
    if where.rep_id is not None:
        conditions.append(Activity.rep_id == where.rep_id)
    if where.team_id is not None:
        conditions.append(in_team(Activity.rep_id, where.team_id))
    if where.kind is not None:
        conditions.append(Activity.kind == where.kind)
    if where.start is not None:
        conditions.append(Activity.local_date >= where.start)
        since = dt.datetime.combine(where.start - dt.timedelta(days=2), dt.time())
        conditions.append(Activity.occurred_at >= since)
    if where.end is not None:
        conditions.append(Activity.local_date <= where.end)
        until = dt.datetime.combine(where.end + dt.timedelta(days=3), dt.time())
        conditions.append(Activity.occurred_at < until)
    return conditions


def _team_reps(team_id: int) -> Select[int]:
    return select(Rep.id).where(Rep.team_id == team_id)


def in_team(rep_id: ColumnClause[int], team_id: int) -> ColumnElement[bool]:
    """A team's rows as a filter, not an access path: `rep_id + 0` keeps both planners off the
    rep index, whose use meant sorting a whole team's rows (0.4 s for a 200k-row team); the
    list's own index then serves the page, a team being a large share of the rows."""
    return (rep_id + 0).in_(_team_reps(team_id))


def list_activities(
    engine: Engine,
    scope: Scope,
    where: ActivityFilter,
    paging: Paging | int,
    offset: int = 0,
    *,
    zone: ZoneInfo,
) -> Page[ActivityRecord]:
    """A page of activities, newest first ((occurred_at, id) descending, the order of
    `ix_activity_occurred_id`), and how many match (see `Page`). `paging` may also be a
    plain limit, with `offset`, as callers wrote it before cursors.

    The stored days are first made those of `zone`, the configured `[calendar] timezone`
    (`day_zone.align_stored_days`: one small read when they are): after a change of zone,
    the list, its exports and its date filters showed the old zone's days until the first
    analysis or write moved them."""
    if isinstance(paging, int):
        paging = Paging(paging, offset)
    align_stored_days(engine, zone)
    conditions = _activity_conditions(scope, where)
    query = activity_query().where(*conditions)
    counter = select(Activity.id).where(*conditions)
    order = Order("a", Activity.occurred_at, Activity.id, 6)
    with engine.connect() as conn:
        rows, total, next_, prev = read_page(conn, query, counter, order, paging)
    items = [activity_record(r) for r in rows]
    return Page(items, total, paging.limit, paging.offset, next_, prev)
