"""Single records for the API: reps, teams, activities and deals read, written and deleted.

The faces decide who may do what and validate what was sent; this module only runs the SQL.
Every list and look-up takes a `Scope` (everyone, one team's reps, or one rep), so a query
never returns a record its caller may not see, and a count or page is computed in the
database, whatever the table's size.

Writes choices worth knowing:
- Activities and deals written here carry `source = "api"`; a client may give its own
  `external_id`, which makes a retried POST harmless: the same (source, external_id) is
  stored once (looked up first, then ON CONFLICT DO NOTHING for a writer racing this one),
  and the retry is told the stored id.
- A batch is one transaction: the valid items of a bulk request are stored together.
- Deleting a deal keeps its activities (they are history) and unlinks them from it; its stage
  history goes with it.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Connection,
    Engine,
    Select,
    bindparam,
    delete,
    false,
    func,
    insert,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError

from paceline.store import audit
from paceline.store.audit import Actor
from paceline.store.engine import read_connection
from paceline.store.models import (
    Account,
    Activity,
    Contact,
    Deal,
    DealStageHistory,
    Rep,
    Team,
    utcnow,
)
from paceline.store.names import (
    AccountResolver,
    ContactResolver,
    chunks,
    dialect_insert,
    name_key,
)

API_SOURCE = "api"


@dataclass(frozen=True)
class Scope:
    """Whose records a caller may touch: everyone, the reps of one team, or one rep.

    Neither a team nor a rep (and not everyone) matches nothing.
    """

    everyone: bool = False
    team_id: int | None = None
    rep_id: int | None = None

    def reps(self) -> ColumnElement[bool]:
        """A condition on `Rep` (joined in the query)."""
        if self.everyone:
            return true()
        if self.rep_id is not None:
            return Rep.id == self.rep_id
        if self.team_id is not None:
            return Rep.team_id == self.team_id
        return false()


# --- reps and teams --------------------------------------------------------------------------


@dataclass(frozen=True)
class RepRef:
    """A rep as the rules need it: who, and in which team."""

    id: int
    name: str
    team_id: int | None
    team: str | None


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


def rep_refs(engine: Engine) -> dict[str, RepRef]:
    """Every rep by name key (names match case- and space-insensitively). Reps are few."""
    with read_connection(engine) as conn:
        return {name_key(row[1]): RepRef(int(row[0]), *row[1:]) for row in conn.execute(_REP_REFS)}


# Read at most API requests (who may see whom): built once.
_REP_REFS = select(Rep.id, Rep.name, Rep.team_id, Team.name).outerjoin(Team, Team.id == Rep.team_id)


MAX_ID = 2**63 - 1  # the largest id either database can hold


def storable_id(record_id: int) -> bool:
    """Whether an id could name a row: one out of range (from a URL) is simply not found,
    never an overflow error from the driver."""
    return 1 <= record_id <= MAX_ID


def rep_ref(engine: Engine, rep_id: int) -> RepRef | None:
    if not storable_id(rep_id):
        return None
    query = (
        select(Rep.id, Rep.name, Rep.team_id, Team.name)
        .outerjoin(Team, Team.id == Rep.team_id)
        .where(Rep.id == rep_id)
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return None if row is None else RepRef(int(row[0]), row[1], row[2], row[3])


def team_ids(engine: Engine) -> dict[str, tuple[int, str]]:
    """Every team by name key: (id, name)."""
    with engine.connect() as conn:
        return {name_key(n): (int(i), n) for i, n in conn.execute(select(Team.id, Team.name))}


def team_name(engine: Engine, team_id: int) -> str | None:
    with engine.connect() as conn:
        found = conn.scalar(select(Team.name).where(Team.id == team_id))
    return None if found is None else str(found)


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


def list_teams(engine: Engine, everyone: bool, team_id: int | None) -> list[TeamRecord]:
    """Teams with their head count: all of them, or the one given."""
    if everyone:
        query, params = _TEAMS, {}
    elif team_id is not None:
        query, params = _ONE_TEAM, {"team_id": team_id}
    else:
        return []
    with read_connection(engine) as conn:
        return [TeamRecord(int(i), n, int(c)) for i, n, c in conn.execute(query, params)]


def _teams() -> Select[int, str, int]:
    counts = (
        select(Rep.team_id, func.count().label("n"))
        .where(Rep.team_id.is_not(None))
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


def recent_accounts(engine: Engine, rep_id: int, limit: int, days: int) -> list[str]:
    """Names of the accounts the rep touched in the last `days` days, most recent first."""
    last = func.max(Activity.occurred_at)
    query = (
        select(Account.name, last)
        .join(Activity, Activity.account_id == Account.id)
        .where(Activity.rep_id == rep_id)
        .where(Activity.occurred_at >= utcnow() - dt.timedelta(days=days))
        .group_by(Account.name)
        .order_by(last.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        return [name for name, _ in conn.execute(query)]


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
class _Order:
    """A list's order: newest first by (time, id), the columns of its index."""

    list: str
    at: Any
    id: Any
    at_index: int  # where the time is in the list's rows


def _read_page(
    conn: Connection,
    query: Select[*tuple[Any, ...]],
    counter: Select[*tuple[Any, ...]],
    order: _Order,
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
            return _read_page(conn, query, counter, order, Paging(paging.limit, count=paging.count))
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


# --- activities ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivityRecord:
    id: int
    rep_id: int
    rep: str
    team_id: int | None
    team: str | None
    kind: str
    occurred_at: dt.datetime  # UTC, naive
    local_date: dt.date
    duration_min: float | None
    outcome: str | None
    has_ask: bool
    engaged: bool
    notes: str | None
    account_id: int | None
    account: str | None
    contact_id: int | None
    contact: str | None
    deal_id: int | None
    source: str
    external_id: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class ActivityFilter:
    rep_id: int | None = None
    team_id: int | None = None
    kind: str | None = None
    start: dt.date | None = None  # local day, inclusive
    end: dt.date | None = None  # local day, inclusive


@dataclass(frozen=True)
class NewActivity:
    """A checked activity to store. Account and contact by id, or by name (found or made)."""

    rep_id: int
    kind: str
    occurred_at: dt.datetime  # UTC, naive
    local_date: dt.date
    duration_min: float | None
    outcome: str | None
    has_ask: bool
    engaged: bool
    notes: str | None
    account_id: int | None = None
    account: str | None = None
    contact_id: int | None = None
    contact: str | None = None
    deal_id: int | None = None
    external_id: str | None = None
    source: str = API_SOURCE  # "manual" for the CLI's `log` and the web form


@dataclass(frozen=True)
class Stored:
    """One stored item: its id, and whether it was already there (same external id)."""

    id: int
    duplicate: bool = False


def _activity_query() -> Select[*tuple[Any, ...]]:
    return (
        select(
            Activity.id,
            Activity.rep_id,
            Rep.name,
            Rep.team_id,
            Team.name,
            Activity.kind,
            Activity.occurred_at,
            Activity.local_date,
            Activity.duration_min,
            Activity.outcome,
            Activity.has_ask,
            Activity.engaged,
            Activity.notes,
            Activity.account_id,
            Account.name,
            Activity.contact_id,
            Contact.name,
            Activity.deal_id,
            Activity.source,
            Activity.external_id,
            Activity.created_at,
            Activity.updated_at,
        )
        .join(Rep, Rep.id == Activity.rep_id)
        .outerjoin(Team, Team.id == Rep.team_id)
        .outerjoin(Account, Account.id == Activity.account_id)
        .outerjoin(Contact, Contact.id == Activity.contact_id)
    )


def _activity_record(row: Sequence[Any]) -> ActivityRecord:
    values = list(row)
    values[10], values[11] = bool(values[10]), bool(values[11])
    return ActivityRecord(*values)


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
            conditions.append(_in_team(Activity.rep_id, scope.team_id))
        else:
            conditions.append(false())
    if where.rep_id is not None:
        conditions.append(Activity.rep_id == where.rep_id)
    if where.team_id is not None:
        conditions.append(_in_team(Activity.rep_id, where.team_id))
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


def _in_team(rep_id: ColumnClause[int], team_id: int) -> ColumnElement[bool]:
    """A team's rows as a filter, not an access path: `rep_id + 0` keeps both planners off the
    rep index, whose use meant sorting a whole team's rows (0.4 s for a 200k-row team); the
    list's own index then serves the page, a team being a large share of the rows."""
    return (rep_id + 0).in_(_team_reps(team_id))


def list_activities(
    engine: Engine, scope: Scope, where: ActivityFilter, paging: Paging | int, offset: int = 0
) -> Page[ActivityRecord]:
    """A page of activities, newest first ((occurred_at, id) descending, the order of
    `ix_activity_occurred_id`), and how many match (see `Page`). `paging` may also be a
    plain limit, with `offset`, as callers wrote it before cursors."""
    if isinstance(paging, int):
        paging = Paging(paging, offset)
    conditions = _activity_conditions(scope, where)
    query = _activity_query().where(*conditions)
    counter = select(Activity.id).where(*conditions)
    order = _Order("a", Activity.occurred_at, Activity.id, 6)
    with engine.connect() as conn:
        rows, total, next_, prev = _read_page(conn, query, counter, order, paging)
    items = [_activity_record(r) for r in rows]
    return Page(items, total, paging.limit, paging.offset, next_, prev)


def get_activity(engine: Engine, scope: Scope, activity_id: int) -> ActivityRecord | None:
    if not storable_id(activity_id):
        return None
    query = _activity_query().where(Activity.id == activity_id, scope.reps())
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return None if row is None else _activity_record(row)


def insert_activities(
    engine: Engine, items: Sequence[NewActivity], actor: Actor | None = None
) -> list[Stored]:
    """Store checked activities in one transaction; returns each one's id, in order. Each new
    one is an audit entry of `actor` (none for one already stored)."""
    if not items:
        return []
    now = utcnow()
    with engine.begin() as conn:
        accounts, contacts = _resolve_names(conn, items)
        rows = [
            {
                "rep_id": a.rep_id,
                "account_id": accounts.get(a, a.account_id),
                "contact_id": contacts.get(a, a.contact_id),
                "deal_id": a.deal_id,
                "kind": a.kind,
                "occurred_at": a.occurred_at,
                "local_date": a.local_date,
                "duration_min": a.duration_min,
                "outcome": a.outcome,
                "has_ask": a.has_ask,
                "engaged": a.engaged,
                "notes": a.notes,
                "source": a.source,
                "external_id": a.external_id,
                "created_at": now,
                "updated_at": now,
            }
            for a in items
        ]
        stored = _insert_rows(conn, Activity, rows)
        _audit_created(conn, actor, Activity, "activity", stored)
        return stored


def _audit_created(
    conn: Connection, actor: Actor | None, model: Any, entity: str, stored: list[Stored]
) -> None:
    for s in stored:
        if not s.duplicate:
            audit.write_change(conn, actor, model.__table__, entity, s.id, "create", None)


def replace_activity(
    engine: Engine, activity_id: int, item: NewActivity, actor: Actor | None = None
) -> bool:
    """Overwrite an activity with checked values; False when it no longer exists."""
    with engine.begin() as conn:
        before = audit.snapshot(conn, Activity.__table__, activity_id)
        accounts, contacts = _resolve_names(conn, [item])
        done = conn.execute(
            update(Activity)
            .where(Activity.id == activity_id)
            .values(
                rep_id=item.rep_id,
                account_id=accounts.get(item, item.account_id),
                contact_id=contacts.get(item, item.contact_id),
                kind=item.kind,
                occurred_at=item.occurred_at,
                local_date=item.local_date,
                duration_min=item.duration_min,
                outcome=item.outcome,
                has_ask=item.has_ask,
                engaged=item.engaged,
                notes=item.notes,
                updated_at=utcnow(),
            )
        )
        if done.rowcount:
            table = Activity.__table__
            audit.write_change(conn, actor, table, "activity", activity_id, "edit", before)
    return done.rowcount > 0


def take_activity(
    engine: Engine, activity_id: int, actor: Actor | None = None
) -> dict[str, Any] | None:
    """Delete an activity and return every column, to put it back exactly (`restore_activity`);
    None when it no longer exists."""
    columns = list(Activity.__table__.columns)
    with engine.begin() as conn:
        row = conn.execute(select(*columns).where(Activity.id == activity_id)).first()
        if row is None:
            return None
        before = audit.snapshot(conn, Activity.__table__, activity_id)
        conn.execute(delete(Activity).where(Activity.id == activity_id))
        if actor is not None:
            audit.write(conn, actor, "activity", activity_id, "delete", before, None)
    return dict(row._mapping)


def restore_activity(engine: Engine, stash: dict[str, Any], actor: Actor | None = None) -> bool:
    """Put a taken activity back, with its id, source and external id; False when an activity
    with the same id or source record exists again."""
    try:
        with engine.begin() as conn:
            conn.execute(insert(Activity).values(**stash))
            table = Activity.__table__
            audit.write_change(conn, actor, table, "activity", int(stash["id"]), "restore", None)
    except IntegrityError:
        return False
    return True


@dataclass
class _Names:
    """Ids found for the account and contact names of items (keyed by item identity)."""

    ids: dict[int, int | None] = field(default_factory=dict)

    def get(self, item: object, fallback: int | None) -> int | None:
        return self.ids.get(id(item), fallback)


def _resolve_names(conn: Connection, items: Sequence[NewActivity]) -> tuple[_Names, _Names]:
    """Accounts by name, then contacts by (account, name): found, or created, as imports do."""
    accounts, contacts = _Names(), _Names()
    account_names = {a.account for a in items if a.account}
    if account_names:
        by_key = AccountResolver(items[0].source).resolve_names(conn, account_names)
        for a in items:
            if a.account:
                accounts.ids[id(a)] = by_key[name_key(a.account)]
    pairs = [(accounts.get(a, a.account_id), a.contact) for a in items if a.contact]
    if pairs:
        resolver = ContactResolver(items[0].source)
        resolver.resolve(conn, pairs)
        for a in items:
            if a.contact:
                contacts.ids[id(a)] = resolver.get(accounts.get(a, a.account_id), a.contact)
    return accounts, contacts


def _insert_rows(conn: Connection, model: Any, rows: list[dict[str, Any]]) -> list[Stored]:
    """Insert rows, returning ids in order; a row whose external id is stored is not doubled."""
    table = model.__table__
    result: list[Stored | None] = [None] * len(rows)
    plain = [i for i, r in enumerate(rows) if r["external_id"] is None]
    if plain:
        ids = (
            conn.execute(
                insert(table).returning(table.c.id, sort_by_parameter_order=True),
                [rows[i] for i in plain],
            )
            .scalars()
            .all()
        )
        for i, row_id in zip(plain, ids, strict=True):
            result[i] = Stored(int(row_id))
    keyed = [i for i, r in enumerate(rows) if r["external_id"] is not None]
    if keyed:
        source = rows[keyed[0]]["source"]  # one writer, one source
        # Stored before: answered with their ids, not inserted. Looked up first because on
        # `activity` partitioned by month (store.partition) the conflict clause only sees
        # the row's own month; a record stored in another month would be refused there.
        stored = _stored_ids(conn, table, source, {rows[i]["external_id"] for i in keyed})
        new = [i for i in keyed if rows[i]["external_id"] not in stored]
        # No conflict target: the only other unique key (activity, deal) is the generated id;
        # a target naming (source, external_id) has no matching index when partitioned.
        statement = (
            dialect_insert(conn, table)
            .on_conflict_do_nothing()
            .returning(table.c.id, table.c.external_id)
        )
        fresh = (
            {ext: int(i) for i, ext in conn.execute(statement, [rows[i] for i in new])}
            if new
            else {}
        )
        # Earlier in this batch, or stored by another writer meanwhile.
        taken = {rows[i]["external_id"] for i in new} - fresh.keys()
        stored.update(_stored_ids(conn, table, source, taken))
        for i in keyed:
            ext = rows[i]["external_id"]
            if ext in fresh:
                stored[ext] = fresh.pop(ext)
                result[i] = Stored(stored[ext])
            else:
                result[i] = Stored(stored[ext], duplicate=True)
    return [s for s in result if s is not None]


def _stored_ids(conn: Connection, table: Any, source: str, keys: set[str]) -> dict[str, int]:
    """external id -> id of the stored rows of `source` with these external ids."""
    stored: dict[str, int] = {}
    for chunk in chunks(sorted(keys)):
        query = select(table.c.external_id, table.c.id).where(
            table.c.source == source, table.c.external_id.in_(chunk)
        )
        stored.update({ext: int(i) for ext, i in conn.execute(query)})
    return stored


# --- deals -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DealRecord:
    id: int
    rep_id: int
    rep: str
    team_id: int | None
    team: str | None
    sourced_by_id: int | None
    sourced_by: str | None
    account_id: int | None
    account: str | None
    name: str
    amount: Decimal | None  # None: not known
    stage: str
    status: str
    created_at: dt.datetime
    closed_at: dt.datetime | None
    expected_close: dt.date | None
    source: str
    external_id: str | None
    updated_at: dt.datetime


@dataclass(frozen=True)
class DealFilter:
    rep_id: int | None = None
    team_id: int | None = None
    status: str | None = None
    stage: str | None = None
    start: dt.datetime | None = None  # created at or after (UTC)
    end: dt.datetime | None = None  # created before (UTC)


@dataclass(frozen=True)
class NewDeal:
    """A checked deal to store; the account by id, or by name (found or made)."""

    rep_id: int
    name: str
    amount: Decimal | None  # None: not known
    stage: str
    status: str
    created_at: dt.datetime  # UTC, naive
    closed_at: dt.datetime | None
    expected_close: dt.date | None
    sourced_by_id: int | None = None
    account_id: int | None = None
    account: str | None = None
    external_id: str | None = None


def _deal_query() -> Select[*tuple[Any, ...]]:
    sourcers = Rep.__table__.alias()
    sourced = sourcers.c
    return (
        select(
            Deal.id,
            Deal.rep_id,
            Rep.name,
            Rep.team_id,
            Team.name,
            Deal.sourced_by_id,
            sourced.name,
            Deal.account_id,
            Account.name,
            Deal.name,
            Deal.amount,
            Deal.stage,
            Deal.status,
            Deal.created_at,
            Deal.closed_at,
            Deal.expected_close,
            Deal.source,
            Deal.external_id,
            Deal.updated_at,
        )
        .join(Rep, Rep.id == Deal.rep_id)
        .outerjoin(Team, Team.id == Rep.team_id)
        .outerjoin(sourcers, sourced.id == Deal.sourced_by_id)
        .outerjoin(Account, Account.id == Deal.account_id)
    )


def _deal_record(row: Sequence[Any]) -> DealRecord:
    values = list(row)
    values[10] = Decimal(values[10]) if values[10] is not None else None  # unknown, not 0
    return DealRecord(*values)


def list_deals(
    engine: Engine, scope: Scope, where: DealFilter, paging: Paging | int, offset: int = 0
) -> Page[DealRecord]:
    """A page of deals, newest first ((created_at, id) descending, the order of
    `ix_deal_created_id`), and how many match (see `Page`); `paging` as `list_activities`."""
    if isinstance(paging, int):
        paging = Paging(paging, offset)
    conditions: list[ColumnElement[bool]] = []
    if not scope.everyone:
        if scope.rep_id is not None:
            conditions.append(Deal.rep_id == scope.rep_id)
        elif scope.team_id is not None:
            conditions.append(_in_team(Deal.rep_id, scope.team_id))
        else:
            conditions.append(false())
    if where.rep_id is not None:
        conditions.append(Deal.rep_id == where.rep_id)
    if where.team_id is not None:
        conditions.append(_in_team(Deal.rep_id, where.team_id))
    if where.status is not None:
        conditions.append(Deal.status == where.status)
    if where.stage is not None:
        conditions.append(Deal.stage == where.stage)
    if where.start is not None:
        conditions.append(Deal.created_at >= where.start)
    if where.end is not None:
        conditions.append(Deal.created_at < where.end)
    query = _deal_query().where(*conditions)
    counter = select(Deal.id).where(*conditions)
    order = _Order("d", Deal.created_at, Deal.id, 13)
    with engine.connect() as conn:
        rows, total, next_, prev = _read_page(conn, query, counter, order, paging)
    items = [_deal_record(r) for r in rows]
    return Page(items, total, paging.limit, paging.offset, next_, prev)


def get_deal(engine: Engine, scope: Scope, deal_id: int) -> DealRecord | None:
    if not storable_id(deal_id):
        return None
    with engine.connect() as conn:
        row = conn.execute(_deal_query().where(Deal.id == deal_id, scope.reps())).first()
    return None if row is None else _deal_record(row)


def deal_in_scope(engine: Engine, scope: Scope, deal_id: int) -> bool:
    """Whether the deal exists and is one the scope may link an activity to."""
    query = select(Deal.id).join(Rep, Rep.id == Deal.rep_id).where(Deal.id == deal_id, scope.reps())
    with engine.connect() as conn:
        return conn.scalar(query) is not None


def insert_deals(
    engine: Engine, items: Sequence[NewDeal], actor: Actor | None = None
) -> list[Stored]:
    """Store checked deals in one transaction, each with its first stage-history row."""
    if not items:
        return []
    now = utcnow()
    with engine.begin() as conn:
        accounts = _resolve_accounts(conn, items)
        rows = [
            {
                "rep_id": d.rep_id,
                "sourced_by_id": d.sourced_by_id,
                "account_id": accounts.get(d, d.account_id),
                "name": d.name,
                "amount": d.amount,
                "stage": d.stage,
                "status": d.status,
                "created_at": d.created_at,
                "closed_at": d.closed_at,
                "expected_close": d.expected_close,
                "source": API_SOURCE,
                "external_id": d.external_id,
                "updated_at": now,
            }
            for d in items
        ]
        stored = _insert_rows(conn, Deal, rows)
        history = [
            {
                "deal_id": s.id,
                "stage": d.stage,
                "status": d.status,
                "amount": d.amount,
                "entered_at": d.closed_at or d.created_at,
            }
            for s, d in zip(stored, items, strict=True)
            if not s.duplicate
        ]
        if history:
            conn.execute(insert(DealStageHistory), history)
        _audit_created(conn, actor, Deal, "deal", stored)
    return stored


def replace_deal(
    engine: Engine,
    deal_id: int,
    item: NewDeal,
    stage_entered_at: dt.datetime,
    actor: Actor | None = None,
) -> bool:
    """Overwrite a deal with checked values; a new stage or status is a stage-history row."""
    with engine.begin() as conn:
        before = conn.execute(
            select(Deal.stage, Deal.status).where(Deal.id == deal_id).with_for_update()
        ).first()
        if before is None:
            return False
        old = audit.snapshot(conn, Deal.__table__, deal_id)
        accounts = _resolve_accounts(conn, [item])
        conn.execute(
            update(Deal)
            .where(Deal.id == deal_id)
            .values(
                rep_id=item.rep_id,
                sourced_by_id=item.sourced_by_id,
                account_id=accounts.get(item, item.account_id),
                name=item.name,
                amount=item.amount,
                stage=item.stage,
                status=item.status,
                created_at=item.created_at,
                closed_at=item.closed_at,
                expected_close=item.expected_close,
                updated_at=utcnow(),
            )
        )
        if (before.stage, before.status) != (item.stage, item.status):
            conn.execute(
                insert(DealStageHistory).values(
                    deal_id=deal_id,
                    stage=item.stage,
                    status=item.status,
                    amount=item.amount,
                    entered_at=stage_entered_at,
                )
            )
        audit.write_change(conn, actor, Deal.__table__, "deal", deal_id, "edit", old)
    return True


def delete_deal(engine: Engine, deal_id: int, actor: Actor | None = None) -> bool:
    """Delete a deal and its stage history; its activities stay, unlinked."""
    with engine.begin() as conn:
        before = audit.snapshot(conn, Deal.__table__, deal_id)
        conn.execute(update(Activity).where(Activity.deal_id == deal_id).values(deal_id=None))
        conn.execute(delete(DealStageHistory).where(DealStageHistory.deal_id == deal_id))
        done = conn.execute(delete(Deal).where(Deal.id == deal_id))
        if done.rowcount and actor is not None:
            audit.write(conn, actor, "deal", deal_id, "delete", before, None)
    return done.rowcount > 0


def _resolve_accounts(conn: Connection, items: Sequence[NewDeal]) -> _Names:
    accounts = _Names()
    names = {d.account for d in items if d.account}
    if names:
        by_key = AccountResolver(API_SOURCE).resolve_names(conn, names)
        for d in items:
            if d.account:
                accounts.ids[id(d)] = by_key[name_key(d.account)]
    return accounts
