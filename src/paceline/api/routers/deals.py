"""Deals: create, list, read, update (each stage change is a stage-history row) and delete.

A deal is checked by the same rules as an imported one (`finish_deal`): a stage, a status
that is open, won or lost (by default the stage's status from the configuration), an amount
of 0 or more, and a close date for a won or lost deal, not before its creation. Times without
an offset are business-local.

Choices worth knowing:
- Updating a deal to won or lost without `closed_at` closes it now (creating one needs the
  date: it may be history being entered).
- A changed stage or status adds a stage-history row entered at `stage_changed_at`, else at
  the close date, else now, so the funnel sees every step.
- `sourced_by` may name the caller, or a rep of the caller's team (an admin: anyone).
- Deleting a deal keeps its activities, unlinked (activities are history).
Who may: a rep their own deals, a manager their team's, an admin everyone's (refusals: see
`_common`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from paceline import clock
from paceline.api.deps import ApiCaller, State
from paceline.api.routers._common import (
    AUTH,
    MAX_PAGE,
    Day,
    ExternalId,
    Label,
    LongName,
    Moment,
    Name,
    RecordId,
    as_utc,
    find_rep,
    find_team,
    invalid,
    known_value,
    local_and_utc,
    missing,
    picker,
    readable_rep,
    refuse,
    scope_of,
    writable_rep,
)
from paceline.auth.access import Principal
from paceline.calendar import BusinessCalendar
from paceline.ingest.entities import finish_deal, slug
from paceline.ingest.fields import FieldError
from paceline.store.records import (
    DealFilter,
    DealRecord,
    NewDeal,
    RepRef,
    delete_deal,
    get_deal,
    insert_deals,
    list_deals,
    rep_refs,
    replace_deal,
)

router = APIRouter(prefix="/deals", tags=["deals"], dependencies=AUTH)
Status = Literal["open", "won", "lost"]
Amount = Annotated[
    Decimal,
    Field(ge=0, max_digits=16, decimal_places=2, description="Up to 2 decimals, e.g. 22700.50."),
]


class DealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rep: Name | None = Field(None, description="The owner's name; default: the caller's rep.")
    name: LongName
    amount: Amount
    stage: Label = Field(description="Stage name; its status comes from the configuration.")
    status: Status | None = Field(None, description="Overrides the stage's status.")
    created_at: Moment | None = Field(None, description="Default: now.")
    closed_at: Moment | None = Field(None, description="Required for won and lost deals.")
    expected_close: Day | None = None
    account: Name | None = Field(None, description="Account name (created if new).")
    sourced_by: Name | None = Field(None, description="Rep who sourced it, e.g. the SDR.")
    external_id: ExternalId | None = Field(
        None, description="Your id for this deal: a retried request is not stored twice."
    )


class DealPatch(BaseModel):
    """Fields to change; those left out keep their value, null clears an optional one."""

    model_config = ConfigDict(extra="forbid")

    rep: Name | None = None
    name: LongName | None = None
    amount: Amount | None = None
    stage: Label | None = None
    status: Status | None = None
    created_at: Moment | None = None
    closed_at: Moment | None = None
    expected_close: Day | None = None
    account: Name | None = None
    sourced_by: Name | None = None
    stage_changed_at: Moment | None = Field(
        None, description="When a new stage was entered; default: the close date, else now."
    )


class DealOut(BaseModel):
    id: int
    rep_id: int
    rep: str
    team: str | None
    sourced_by_id: int | None
    sourced_by: str | None
    account_id: int | None
    account: str | None
    name: str
    amount: float
    stage: str
    status: str
    created_at: dt.datetime
    closed_at: dt.datetime | None
    expected_close: dt.date | None
    source: str
    external_id: str | None
    updated_at: dt.datetime


class DealPage(BaseModel):
    items: list[DealOut]
    total: int
    limit: int
    offset: int


def out(d: DealRecord) -> DealOut:
    return DealOut(
        id=d.id,
        rep_id=d.rep_id,
        rep=d.rep,
        team=d.team,
        sourced_by_id=d.sourced_by_id,
        sourced_by=d.sourced_by,
        account_id=d.account_id,
        account=d.account,
        name=d.name,
        amount=float(d.amount),
        stage=d.stage,
        status=d.status,
        created_at=as_utc(d.created_at),
        closed_at=as_utc(d.closed_at),
        expected_close=d.expected_close,
        source=d.source,
        external_id=d.external_id,
        updated_at=as_utc(d.updated_at),
    )


def _owner(reps: dict[str, RepRef], caller: Principal, name: str | None) -> RepRef:
    return writable_rep(reps, caller, name)


def _sourcer(reps: dict[str, RepRef], caller: Principal, name: str | None) -> int | None:
    if name is None:
        return None
    rep = find_rep(reps, caller, name, "sourced_by")
    same_team = caller.team_id is not None and rep.team_id == caller.team_id
    if not (caller.is_admin or rep.id == caller.rep_id or same_team):
        refuse(f"crediting rep {rep.name!r} (not in your team)")
    return rep.id


def _moment(
    calendar: BusinessCalendar, value: dt.datetime | None
) -> tuple[dt.datetime, dt.datetime] | None:
    return None if value is None else local_and_utc(calendar, value)


def _finish(values: dict[str, Any], state: State) -> dict[str, Any]:
    try:
        return finish_deal(values, state.settings)
    except FieldError as exc:
        raise invalid("body", exc.field, exc.reason) from None


def _new_deal(record: dict[str, Any], rep: RepRef, sourced_by_id: int | None) -> NewDeal:
    return NewDeal(
        rep_id=rep.id,
        name=record["name"],
        amount=record["amount"],
        stage=record["stage"],
        status=record["status"],
        created_at=record["created_at"],
        closed_at=record["closed_at"],
        expected_close=record["expected_close"],
        sourced_by_id=sourced_by_id,
    )


def _fetch(state: State, caller: Principal, deal_id: int) -> DealRecord:
    found = get_deal(state.engine, scope_of(caller), deal_id)
    if found is None:
        missing(f"deal {deal_id}")
    return found


# --- endpoints -------------------------------------------------------------------------------


@router.get("", response_model=DealPage, summary="List deals, newest first")
def list_(
    state: State,
    caller: ApiCaller,
    rep: Annotated[Name | None, Query(description="Only this owner (name).")] = None,
    team: Annotated[Name | None, Query(description="Only this team (name).")] = None,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    stage: Annotated[Label | None, Query()] = None,
    start: Annotated[
        Day | None, Query(alias="from", description="Created on or after this local day.")
    ] = None,
    end: Annotated[
        Day | None, Query(alias="to", description="Created on or before this local day.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> DealPage:
    """The deals the caller may see (a rep: their own; a manager: their team's)."""
    rep_id = team_id = None
    if rep is not None:
        rep_id = readable_rep(rep_refs(state.engine), caller, rep, "query", "rep").id
    if team is not None:
        team_id = find_team(state.engine, team, "query")[0]
        if not caller.is_admin and team_id != caller.team_id:
            refuse(f"the deals of team {team!r}")
    calendar = BusinessCalendar(state.settings.calendar)
    stage_names = [s.name for s in state.settings.stages]

    def utc_midnight(day: dt.date) -> dt.datetime:
        return local_and_utc(calendar, dt.datetime.combine(day, dt.time()))[0]

    page = list_deals(
        state.engine,
        scope_of(caller),
        DealFilter(
            rep_id=rep_id,
            team_id=team_id,
            status=status_,
            stage=None if stage is None else known_value(stage, stage_names, "stage"),
            start=None if start is None else utc_midnight(start),
            end=None if end is None else utc_midnight(end + dt.timedelta(days=1)),
        ),
        limit,
        offset,
    )
    return DealPage(
        items=[out(d) for d in page.items], total=page.total, limit=page.limit, offset=page.offset
    )


@router.post(
    "",
    response_model=DealOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a deal",
    responses={
        200: {
            "model": DealOut,
            "description": "Already stored under this external_id (not doubled).",
        },
        409: {"description": "The external_id is taken by a record out of your reach."},
    },
)
def create(body: DealIn, state: State, caller: ApiCaller, response: Response) -> DealOut:
    reps = rep_refs(state.engine)
    rep = _owner(reps, caller, body.rep)
    sourced_by_id = _sourcer(reps, caller, body.sourced_by)
    calendar = BusinessCalendar(state.settings.calendar)
    record = _finish(
        {
            "name": body.name,
            "rep": rep.name,
            "sourced_by": body.sourced_by,
            "amount": body.amount,
            "stage": body.stage,
            "status": body.status,
            "created_at": local_and_utc(calendar, body.created_at),
            "closed_at": _moment(calendar, body.closed_at),
            "expected_close": body.expected_close,
            "account": body.account,
            "account_ref": None,
            "external_id": body.external_id,
        },
        state,
    )
    deal = replace(
        _new_deal(record, rep, sourced_by_id), account=body.account, external_id=body.external_id
    )
    (stored,) = insert_deals(state.engine, [deal])
    found = get_deal(state.engine, scope_of(caller), stored.id)
    if found is None:  # the external id belongs to a deal out of the caller's reach
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "external_id: already used by a deal you cannot see; use another id",
        )
    if stored.duplicate:
        response.status_code = status.HTTP_200_OK
    return out(found)


@router.get("/{deal_id}", response_model=DealOut, summary="One deal")
def read(deal_id: RecordId, state: State, caller: ApiCaller) -> DealOut:
    return out(_fetch(state, caller, deal_id))


@router.patch("/{deal_id}", response_model=DealOut, summary="Update a deal")
def patch(deal_id: RecordId, body: DealPatch, state: State, caller: ApiCaller) -> DealOut:
    """Change the fields given; the deal is checked again as a whole."""
    current = _fetch(state, caller, deal_id)
    if not caller.can_write_for_rep(current.rep_id, current.team_id):
        refuse(f"deal {deal_id}")
    given = body.model_fields_set
    for required in ("rep", "name", "amount", "stage", "created_at"):
        if required in given and getattr(body, required) is None:
            raise invalid("body", required, "cannot be null")
    reps = rep_refs(state.engine)
    calendar = BusinessCalendar(state.settings.calendar)
    pick = picker(body)
    if "rep" in given:
        rep = _owner(reps, caller, body.rep)
    else:
        rep = RepRef(current.rep_id, current.rep, current.team_id, current.team)
    sourced_by_id = (
        _sourcer(reps, caller, body.sourced_by) if "sourced_by" in given else current.sourced_by_id
    )
    stage = slug(pick("stage", current.stage))
    status_value = pick("status", None if "stage" in given else current.status)
    status_now = status_value or state.settings.stage_status.get(stage, "open")
    closed = _moment(calendar, body.closed_at) if "closed_at" in given else None
    if "closed_at" not in given and current.closed_at is not None:
        closed = (current.closed_at, current.closed_at)
    if closed is None and status_now in ("won", "lost") and "closed_at" not in given:
        now = clock.utcnow()
        closed = (now, now)
    created = (
        local_and_utc(calendar, body.created_at)
        if "created_at" in given
        else (current.created_at, current.created_at)
    )
    record = _finish(
        {
            "name": pick("name", current.name),
            "rep": rep.name,
            "sourced_by": None,
            "amount": pick("amount", current.amount),
            "stage": stage,
            "status": status_value,
            "created_at": created,
            "closed_at": closed,
            "expected_close": pick("expected_close", current.expected_close),
            "account": None,
            "account_ref": None,
            "external_id": current.external_id,
            "stage_changed_at": _moment(calendar, body.stage_changed_at),
        },
        state,
    )
    deal = replace(
        _new_deal(record, rep, sourced_by_id),
        account_id=None if "account" in given else current.account_id,
        account=body.account if "account" in given else None,
    )
    entered = record["stage_changed_at"] or record["closed_at"] or clock.utcnow()
    if not replace_deal(state.engine, deal_id, deal, entered):
        missing(f"deal {deal_id}")
    return out(_fetch(state, caller, deal_id))


@router.delete("/{deal_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a deal")
def remove(deal_id: RecordId, state: State, caller: ApiCaller) -> Response:
    """The deal and its stage history go; its activities stay, unlinked."""
    current = _fetch(state, caller, deal_id)
    if not caller.can_write_for_rep(current.rep_id, current.team_id):
        refuse(f"deal {deal_id}")
    if not delete_deal(state.engine, deal_id):
        missing(f"deal {deal_id}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
