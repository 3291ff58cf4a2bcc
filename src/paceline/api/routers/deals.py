"""Deals: create, list, read, update (each stage change is a stage-history row) and delete.

Every write goes through `paceline.services.deals`, which owns the rules (those of an
imported deal, `finish_deal`), who may (a rep their own deals, a manager their team's, an
admin everyone's; `sourced_by` the caller, a rep of their team, or for an admin anyone) and
the choices worth knowing (a deal changed to won or lost without `closed_at` closes now; a
new stage or status is a stage-history row; deleting keeps the activities, unlinked). This
router parses, calls it and translates its errors (see `_common`). Times without an offset
are business-local.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from paceline.api.deps import ApiCaller, State
from paceline.api.routers._common import (
    AUTH,
    NEXT_DOC,
    TOTAL_DOC,
    Answer,
    CountQuery,
    CursorQuery,
    Day,
    ExternalId,
    Label,
    Limit,
    LongName,
    Moment,
    Name,
    Offset,
    RecordId,
    domain_errors,
    find_team,
    known_value,
    local_and_utc,
    paging,
    readable_rep,
    refuse,
    scope_of,
)
from paceline.api.shapes import RecordOut, page_model, record_model
from paceline.auth.access import Principal
from paceline.calendar import BusinessCalendar
from paceline.services import deals
from paceline.services.activities import Writer
from paceline.services.deals import DealEntry
from paceline.store.deal_records import DealFilter, DealRecord, list_deals
from paceline.store.listings import Page
from paceline.store.records import rep_refs

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
    amount: Amount | None = Field(
        None, description="Omitted or null: not known yet (stored as unknown, never as 0)."
    )
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


DealOut = record_model(
    DealRecord,
    "DealOut",
    leave_out={"team_id"},
    describe={"amount": "null: not known (the source left it empty)."},
)
DealPage = page_model(
    Page,
    "DealPage",
    DealOut,
    leave_out={"prev"},
    types_={"next": str | None},
    describe={"total": TOTAL_DOC, "next": NEXT_DOC},
)


def _writer(state: State, caller: Principal) -> Writer:
    return Writer.of(state.engine, state.settings, caller)


def _fetch(state: State, caller: Principal, deal_id: int) -> DealRecord:
    with domain_errors("path"):
        return deals.readable(_writer(state, caller), deal_id)


# --- endpoints -------------------------------------------------------------------------------

PAGE = Answer[RecordOut](DealPage)
ONE = Answer[RecordOut](DealOut)


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
    limit: Limit = 100,
    offset: Offset = 0,
    cursor: CursorQuery = None,
    count: CountQuery = False,
) -> Response:
    """The deals the caller may see (a rep: their own; a manager: their team's), newest
    first. Page with `cursor`: each answer's `next` is the cursor of the page after it."""
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
        paging(limit, offset, cursor, count, "d"),
    )
    token = None if page.next is None else page.next.token()
    return PAGE.json(DealPage.of(page, next=token))


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
def create(body: DealIn, state: State, caller: ApiCaller) -> Response:
    with domain_errors("body"):
        made = deals.create(_writer(state, caller), DealEntry(**body.model_dump()))
    answered = status.HTTP_200_OK if made.duplicate else status.HTTP_201_CREATED
    return ONE.json(DealOut.of(made.deal), answered)


@router.get("/{deal_id}", response_model=DealOut, summary="One deal")
def read(deal_id: RecordId, state: State, caller: ApiCaller) -> Response:
    return ONE.json(DealOut.of(_fetch(state, caller, deal_id)))


@router.patch("/{deal_id}", response_model=DealOut, summary="Update a deal")
def patch(deal_id: RecordId, body: DealPatch, state: State, caller: ApiCaller) -> Response:
    """Change the fields given; the deal is checked again as a whole."""
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    with domain_errors("body"):
        _fetch(state, caller, deal_id)  # out of reach: 404 (path), before any body check
        found = deals.edit(_writer(state, caller), deal_id, changes)
    return ONE.json(DealOut.of(found))


@router.delete("/{deal_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a deal")
def remove(deal_id: RecordId, state: State, caller: ApiCaller) -> Response:
    """The deal and its stage history go; its activities stay, unlinked."""
    with domain_errors("path"):
        deals.delete(_writer(state, caller), deal_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
