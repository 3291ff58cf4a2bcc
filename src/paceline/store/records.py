"""Single records: reps and teams looked up, activities read, written and deleted.

The faces decide who may do what and validate what was sent; this module only runs the SQL.
Every look-up takes a `Scope` (everyone, one team's reps, or one rep), so a query never
returns a record its caller may not see. The lists and their pages (`store.listings`) and
the deals (`store.deal_records`) live beside it: `paceline log` imports this module, and
each frozen dataclass costs its import about 5 M instructions (Python 3.11 compiles each
generated method with `exec`), 3% of `log` for the 12 it has no use for (benchmarks/README.md,
cli_startup).

Writes choices worth knowing:
- Activities and deals (`store.deal_records`) written here carry `source = "api"`; a client
  may give its own `external_id`, which makes a retried POST harmless: the same (source,
  external_id) is stored once (looked up first, then ON CONFLICT DO NOTHING for a writer
  racing this one), and the retry is told the stored id.
- A batch is one transaction: the valid items of a bulk request are stored together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    delete,
    false,
    func,
    insert,
    select,
    true,
    update,
)
from sqlalchemy.exc import IntegrityError

from paceline.store import audit, day_zone
from paceline.store.audit import Actor
from paceline.store.day_zone import align_stored_days
from paceline.store.engine import read_connection
from paceline.store.models import Account, Activity, Contact, Deal, Rep, Team, utcnow
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


def activity_query() -> Select[*tuple[Any, ...]]:
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


def activity_record(row: Sequence[Any]) -> ActivityRecord:
    values = list(row)
    values[10], values[11] = bool(values[10]), bool(values[11])
    return ActivityRecord(*values)


def get_activity(engine: Engine, scope: Scope, activity_id: int) -> ActivityRecord | None:
    if not storable_id(activity_id):
        return None
    query = activity_query().where(Activity.id == activity_id, scope.reps())
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return None if row is None else activity_record(row)


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
        stored = insert_records(conn, Activity, rows)
        audit_created(conn, actor, Activity, "activity", stored)
        return stored


def audit_created(
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
        taken_in = day_zone.recorded_zone(conn)
    return {**row._mapping, TAKEN_IN: taken_in}


# The key of a taken activity's stash that names the zone its day was derived in.
TAKEN_IN = "taken_in_zone"


def restore_activity(
    engine: Engine, stash: dict[str, Any], zone: ZoneInfo, actor: Actor | None = None
) -> bool:
    """Put a taken activity back, with its id, source and external id, on its day in `zone`
    (the configured one); False when an activity with the same id or source record exists
    again.

    The stash keeps the day it was taken on, in the zone of then: put back as it was after
    the zone changed, the row sat on the old zone's day (a date without a time at the old
    zone's midnight) among rows moved to the new one, and no later check moved it, the
    recorded zone being the new one already."""
    align_stored_days(engine, zone)
    values = _in_zone(stash, zone)
    try:
        with engine.begin() as conn:
            conn.execute(insert(Activity).values(**values))
            table = Activity.__table__
            audit.write_change(conn, actor, table, "activity", int(stash["id"]), "restore", None)
    except IntegrityError:
        return False
    return True


def _in_zone(stash: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    """A stash's columns, its instant and day moved from the zone it was taken in to `zone`."""
    values = {name: value for name, value in stash.items() if name != TAKEN_IN}
    taken_in = stash.get(TAKEN_IN)
    if taken_in is not None and taken_in != zone.key:
        values["occurred_at"], values["local_date"] = day_zone.activity_moved(
            values["occurred_at"], values["local_date"], ZoneInfo(taken_in), zone
        )
    return values


@dataclass
class Names:
    """Ids found for the account and contact names of items (keyed by item identity)."""

    ids: dict[int, int | None] = field(default_factory=dict)

    def get(self, item: object, fallback: int | None) -> int | None:
        return self.ids.get(id(item), fallback)


def _resolve_names(conn: Connection, items: Sequence[NewActivity]) -> tuple[Names, Names]:
    """Accounts by name, then contacts by (account, name): found, or created, as imports do."""
    accounts, contacts = Names(), Names()
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


def insert_records(conn: Connection, model: Any, rows: list[dict[str, Any]]) -> list[Stored]:
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


def deal_in_scope(engine: Engine, scope: Scope, deal_id: int) -> bool:
    """Whether the deal exists and is one the scope may link an activity to."""
    query = select(Deal.id).join(Rep, Rep.id == Deal.rep_id).where(Deal.id == deal_id, scope.reps())
    with engine.connect() as conn:
        return conn.scalar(query) is not None
