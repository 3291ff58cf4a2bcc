"""Deals for the API: read, a page at a time, written and deleted, each write with its
stage history and audit entry. Every list and look-up takes a `Scope`, as `store.records`'
do; `paceline log` links an activity to a deal with `records.deal_in_scope` alone.

Deleting a deal keeps its activities (they are history) and unlinks them from it; its stage
history goes with it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    delete,
    false,
    insert,
    select,
    update,
)

from paceline.store import audit
from paceline.store.audit import Actor
from paceline.store.listings import Order, Page, Paging, in_team, read_page
from paceline.store.models import Account, Activity, Deal, DealStageHistory, Rep, Team, utcnow
from paceline.store.names import AccountResolver, name_key
from paceline.store.records import (
    API_SOURCE,
    Names,
    Scope,
    Stored,
    audit_created,
    insert_records,
    storable_id,
)


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
            conditions.append(in_team(Deal.rep_id, scope.team_id))
        else:
            conditions.append(false())
    if where.rep_id is not None:
        conditions.append(Deal.rep_id == where.rep_id)
    if where.team_id is not None:
        conditions.append(in_team(Deal.rep_id, where.team_id))
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
    order = Order("d", Deal.created_at, Deal.id, 13)
    with engine.connect() as conn:
        rows, total, next_, prev = read_page(conn, query, counter, order, paging)
    items = [_deal_record(r) for r in rows]
    return Page(items, total, paging.limit, paging.offset, next_, prev)


def get_deal(engine: Engine, scope: Scope, deal_id: int) -> DealRecord | None:
    if not storable_id(deal_id):
        return None
    with engine.connect() as conn:
        row = conn.execute(_deal_query().where(Deal.id == deal_id, scope.reps())).first()
    return None if row is None else _deal_record(row)


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
        stored = insert_records(conn, Deal, rows)
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
        audit_created(conn, actor, Deal, "deal", stored)
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


def _resolve_accounts(conn: Connection, items: Sequence[NewDeal]) -> Names:
    accounts = Names()
    names = {d.account for d in items if d.account}
    if names:
        by_key = AccountResolver(API_SOURCE).resolve_names(conn, names)
        for d in items:
            if d.account:
                accounts.ids[id(d)] = by_key[name_key(d.account)]
    return accounts
