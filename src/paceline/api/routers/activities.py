"""Activities: log, list, read, correct and delete; and log many at once.

An activity is checked by the same rules as a logged or imported one (`finish_activity`):
known kind and outcome, an outcome that fits the kind, a duration of 0 or more within the
configured maximum, a date not beyond the configured days ahead, `engaged` following from the
outcome unless given, and `has_ask` set by an outcome that implies an Ask. A time without an
offset is business-local; the business-local day it counts on is recomputed whenever the time
changes. Who may: a rep their own activities, a manager their
team's, an admin everyone's (see `_common` for the refusal policy).

Bulk: every item is checked on its own and answered in `results` (same order, with its
`index`); the valid items are stored, together, even when others fail. A client that sends
`external_id` may safely retry: an item already stored under that id is answered with the
stored id and `duplicate: true`, never stored twice. An external id already used for a record
out of the caller's reach is refused with 409 (without saying whose it is).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, WithJsonSchema
from sqlalchemy import Engine

from paceline.api.deps import ApiCaller, State
from paceline.api.routers._common import (
    AUTH,
    MAX_ID,
    MAX_PAGE,
    Day,
    ExternalId,
    Label,
    Moment,
    Name,
    Notes,
    RecordId,
    RepNotFound,
    as_utc,
    find_rep,
    find_team,
    invalid,
    local_and_utc,
    missing,
    own_rep,
    picker,
    readable_rep,
    refuse,
    scope_of,
)
from paceline.auth.access import Principal
from paceline.calendar import BusinessCalendar
from paceline.config import Settings
from paceline.ingest.entities import finish_activity, slug
from paceline.ingest.fields import FieldError
from paceline.store.records import (
    ActivityFilter,
    ActivityRecord,
    NewActivity,
    RepRef,
    Stored,
    deal_in_scope,
    delete_activity,
    get_activity,
    insert_activities,
    list_activities,
    rep_refs,
    replace_activity,
)

TAKEN = "external_id: already used by a record you cannot see; use another id"
router = APIRouter(prefix="/activities", tags=["activities"], dependencies=AUTH)
MAX_BULK = 1000


class ActivityIn(BaseModel):
    """One activity to log."""

    model_config = ConfigDict(extra="forbid")

    rep: Name | None = Field(None, description="The rep's name; default: the caller's own rep.")
    kind: Label = Field(description="An activity kind from the configuration, e.g. call.")
    occurred_at: Moment | None = Field(
        None, description="When; ISO 8601. Without an offset: business-local time. Default: now."
    )
    duration_min: float | None = Field(None, ge=0, le=100_000, allow_inf_nan=False)
    outcome: Label | None = Field(None, description="An outcome from the configuration.")
    has_ask: bool = Field(False, description="The rep put an Ask in front of the prospect.")
    engaged: bool | None = Field(None, description="Default: follows from the outcome.")
    account: Name | None = Field(None, description="Account name (created if new).")
    contact: Name | None = Field(None, description="Contact name at the account (created if new).")
    deal_id: int | None = Field(None, ge=1, le=MAX_ID)
    notes: Notes | None = None
    external_id: ExternalId | None = Field(
        None, description="Your id for this activity: a retried request is not stored twice."
    )


class ActivityPatch(BaseModel):
    """Fields to change; those left out keep their value, null clears an optional one."""

    model_config = ConfigDict(extra="forbid")

    rep: Name | None = None
    kind: Label | None = None
    occurred_at: Moment | None = None
    duration_min: float | None = Field(None, ge=0, le=100_000, allow_inf_nan=False)
    outcome: Label | None = None
    has_ask: bool | None = None
    engaged: bool | None = None
    account: Name | None = None
    contact: Name | None = None
    deal_id: int | None = Field(None, ge=1, le=MAX_ID)
    notes: Notes | None = None


class ActivityOut(BaseModel):
    id: int
    rep_id: int
    rep: str
    team: str | None
    kind: str
    occurred_at: dt.datetime
    local_date: dt.date
    duration_min: float | None
    outcome: str | None
    has_ask: bool
    engaged: bool
    selling: bool
    account_id: int | None
    account: str | None
    contact_id: int | None
    contact: str | None
    deal_id: int | None
    notes: str | None
    source: str
    external_id: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class ActivityPage(BaseModel):
    items: list[ActivityOut]
    total: int
    limit: int
    offset: int


class ItemError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class BulkItemResult(BaseModel):
    index: int
    ok: bool
    status: int = Field(
        description="What the item alone would have been answered: 201, 200, 403 or 422."
    )
    id: int | None = None
    duplicate: bool = False
    errors: list[ItemError] = []


class BulkResult(BaseModel):
    created: int
    duplicates: int
    failed: int
    results: list[BulkItemResult]


class ActivityBulk(BaseModel):
    """Up to 1,000 activities; each is checked and answered on its own."""

    model_config = ConfigDict(extra="forbid")

    items: Annotated[
        list[dict[str, Any]],
        WithJsonSchema(
            {
                "type": "array",
                "items": {"$ref": "#/components/schemas/ActivityIn"},
                "minItems": 1,
                "maxItems": MAX_BULK,
            }
        ),
    ] = Field(min_length=1, max_length=MAX_BULK)


# --- checking one item -----------------------------------------------------------------------


class Refused(Exception):
    """An item that cannot be stored: its status (403/422), field and reason."""

    def __init__(self, status_code: int, field: str, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.field = field
        self.message = message


@dataclass
class Context:
    """What checking items needs, looked up once per request."""

    engine: Engine
    settings: Settings
    calendar: BusinessCalendar
    principal: Principal
    reps: dict[str, RepRef]

    @classmethod
    def of(cls, state: State, principal: Principal) -> Context:
        settings = state.settings
        return cls(
            state.engine,
            settings,
            BusinessCalendar(settings.calendar),
            principal,
            rep_refs(state.engine),
        )

    def writable_rep(self, name: str | None) -> RepRef:
        if name is None:
            mine = own_rep(self.reps, self.principal)
            if mine is None:
                raise Refused(422, "rep", "required (you are not a rep yourself)")
            return mine
        try:
            rep = find_rep(self.reps, self.principal, name)
        except RepNotFound as exc:
            raise Refused(422, "rep", exc.message) from None
        if not self.principal.can_write_for_rep(rep.id, rep.team_id):
            raise Refused(403, "rep", f"not allowed: activities of rep {rep.name!r}")
        return rep

    def check_deal(self, deal_id: int | None) -> None:
        if deal_id is not None and not deal_in_scope(
            self.engine, scope_of(self.principal), deal_id
        ):
            raise Refused(422, "deal_id", f"no deal {deal_id}")


def _checked(
    ctx: Context,
    rep: RepRef,
    values: dict[str, Any],
    moment: tuple[dt.datetime, dt.datetime],
) -> dict[str, Any]:
    try:
        return finish_activity({**values, "rep": rep.name, "occurred_at": moment}, ctx.settings)
    except FieldError as exc:
        raise Refused(422, exc.field, exc.reason) from None


def _new_activity(ctx: Context, item: ActivityIn) -> NewActivity:
    rep = ctx.writable_rep(item.rep)
    moment = local_and_utc(ctx.calendar, item.occurred_at)
    record = _checked(
        ctx,
        rep,
        {
            "kind": item.kind,
            "outcome": item.outcome,
            "has_ask": item.has_ask or None,  # false is the default: "not said"
            "engaged": item.engaged,
            "duration_min": item.duration_min,
            "notes": item.notes,
        },
        moment,
    )
    ctx.check_deal(item.deal_id)
    return NewActivity(
        rep_id=rep.id,
        kind=record["kind"],
        occurred_at=record["occurred_at"],
        local_date=record["local_date"],
        duration_min=record["duration_min"],
        outcome=record["outcome"],
        has_ask=record["has_ask"],
        engaged=record["engaged"],
        notes=record["notes"],
        account=item.account,
        contact=item.contact,
        deal_id=item.deal_id,
        external_id=item.external_id,
    )


def _raise(exc: Refused) -> HTTPException:
    if exc.status_code == 403:
        return HTTPException(status.HTTP_403_FORBIDDEN, exc.message)
    return invalid("body", exc.field, exc.message)


def out(settings: Settings, a: ActivityRecord) -> ActivityOut:
    return ActivityOut(
        id=a.id,
        rep_id=a.rep_id,
        rep=a.rep,
        team=a.team,
        kind=a.kind,
        occurred_at=as_utc(a.occurred_at),
        local_date=a.local_date,
        duration_min=a.duration_min,
        outcome=a.outcome,
        has_ask=a.has_ask,
        engaged=a.engaged,
        selling=settings.is_selling(a.kind, a.has_ask),
        account_id=a.account_id,
        account=a.account,
        contact_id=a.contact_id,
        contact=a.contact,
        deal_id=a.deal_id,
        notes=a.notes,
        source=a.source,
        external_id=a.external_id,
        created_at=as_utc(a.created_at),
        updated_at=as_utc(a.updated_at),
    )


def _fetch(state: State, principal: Principal, activity_id: int) -> ActivityRecord:
    found = get_activity(state.engine, scope_of(principal), activity_id)
    if found is None:
        missing(f"activity {activity_id}")
    return found


# --- endpoints -------------------------------------------------------------------------------


@router.get("", response_model=ActivityPage, summary="List activities, newest first")
def list_(
    state: State,
    caller: ApiCaller,
    rep: Annotated[Name | None, Query(description="Only this rep (name).")] = None,
    team: Annotated[Name | None, Query(description="Only this team (name).")] = None,
    kind: Annotated[Label | None, Query(description="Only this kind.")] = None,
    start: Annotated[Day | None, Query(alias="from", description="From this local day.")] = None,
    end: Annotated[
        Day | None, Query(alias="to", description="To this local day, inclusive.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> ActivityPage:
    """The activities the caller may see (a rep: their own; a manager: their team's)."""
    rep_id = team_id = None
    if rep is not None:
        rep_id = readable_rep(rep_refs(state.engine), caller, rep, "query", "rep").id
    if team is not None:
        team_id = find_team(state.engine, team, "query")[0]
        if not caller.is_admin and team_id != caller.team_id:
            refuse(f"the activities of team {team!r}")
    kind_name = None if kind is None else slug(kind)
    if kind_name is not None and kind_name not in state.settings.kind_names:
        raise invalid("query", "kind", f"unknown kind {kind!r}")
    page = list_activities(
        state.engine,
        scope_of(caller),
        ActivityFilter(rep_id, team_id, kind_name, start, end),
        limit,
        offset,
    )
    return ActivityPage(
        items=[out(state.settings, a) for a in page.items],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post(
    "",
    response_model=ActivityOut,
    status_code=status.HTTP_201_CREATED,
    summary="Log one activity",
    responses={
        200: {"description": "Already stored under this external_id (not doubled)."},
        409: {"description": "The external_id is taken by a record out of your reach."},
    },
)
def create(body: ActivityIn, state: State, caller: ApiCaller, response: Response) -> ActivityOut:
    ctx = Context.of(state, caller)
    try:
        item = _new_activity(ctx, body)
    except Refused as exc:
        raise _raise(exc) from None
    (stored,) = insert_activities(state.engine, [item])
    found = get_activity(state.engine, scope_of(caller), stored.id)
    if found is None:  # the external id belongs to a record out of the caller's reach
        raise HTTPException(status.HTTP_409_CONFLICT, TAKEN)
    if stored.duplicate:
        response.status_code = status.HTTP_200_OK
    return out(state.settings, found)


@router.post("/bulk", response_model=BulkResult, summary="Log many activities")
def bulk(body: ActivityBulk, state: State, caller: ApiCaller) -> BulkResult:
    """Each item is checked on its own; the valid ones are stored (together) even when
    others fail. `results` answers every item, in order, with what it alone would have been
    answered: its id, or the fields that are wrong."""
    ctx = Context.of(state, caller)
    adapter = TypeAdapter(ActivityIn)
    results: list[BulkItemResult] = []
    accepted: list[tuple[int, NewActivity]] = []
    for index, raw in enumerate(body.items):
        try:
            parsed = adapter.validate_python(raw)
            accepted.append((index, _new_activity(ctx, parsed)))
        except ValidationError as exc:
            errors = [
                ItemError(
                    loc=[str(p) if not isinstance(p, int) else p for p in e["loc"]],
                    msg=e["msg"],
                    type=e["type"],
                )
                for e in exc.errors()
            ]
            results.append(BulkItemResult(index=index, ok=False, status=422, errors=errors))
        except Refused as exc:
            kind = "forbidden" if exc.status_code == 403 else "value_error"
            results.append(
                BulkItemResult(
                    index=index,
                    ok=False,
                    status=exc.status_code,
                    errors=[ItemError(loc=[exc.field], msg=exc.message, type=kind)],
                )
            )
    stored: list[Stored] = insert_activities(state.engine, [a for _, a in accepted])
    scope = scope_of(caller)
    for (index, _), s in zip(accepted, stored, strict=True):
        if s.duplicate and get_activity(state.engine, scope, s.id) is None:
            error = ItemError(loc=["external_id"], msg=TAKEN, type="conflict")
            results.append(BulkItemResult(index=index, ok=False, status=409, errors=[error]))
            continue
        results.append(
            BulkItemResult(
                index=index,
                ok=True,
                status=200 if s.duplicate else 201,
                id=s.id,
                duplicate=s.duplicate,
            )
        )
    results.sort(key=lambda r: r.index)
    return BulkResult(
        created=sum(1 for s in stored if not s.duplicate),
        duplicates=sum(1 for r in results if r.duplicate),
        failed=sum(1 for r in results if not r.ok),
        results=results,
    )


@router.get("/{activity_id}", response_model=ActivityOut, summary="One activity")
def read(activity_id: RecordId, state: State, caller: ApiCaller) -> ActivityOut:
    return out(state.settings, _fetch(state, caller, activity_id))


@router.patch("/{activity_id}", response_model=ActivityOut, summary="Correct an activity")
def patch(
    activity_id: RecordId, body: ActivityPatch, state: State, caller: ApiCaller
) -> ActivityOut:
    """Change the fields given; the activity is checked again as a whole, and its local day
    follows its time."""
    current = _fetch(state, caller, activity_id)
    given = body.model_fields_set
    for required in ("rep", "kind", "occurred_at", "has_ask"):
        if required in given and getattr(body, required) is None:
            raise invalid("body", required, "cannot be null")
    ctx = Context.of(state, caller)
    try:
        rep = ctx.writable_rep(body.rep) if "rep" in given else _current_rep(ctx, current)
        if "occurred_at" in given:
            moment = local_and_utc(ctx.calendar, body.occurred_at)
        else:
            moment = (current.occurred_at, dt.datetime.combine(current.local_date, dt.time()))
        if "engaged" in given:
            engaged = body.engaged
        else:
            engaged = None if "outcome" in given else current.engaged
        pick = picker(body)
        record = _checked(
            ctx,
            rep,
            {
                "kind": pick("kind", current.kind),
                "outcome": pick("outcome", current.outcome),
                "has_ask": pick("has_ask", current.has_ask) or None,
                "engaged": engaged,
                "duration_min": pick("duration_min", current.duration_min),
                "notes": pick("notes", current.notes),
            },
            moment,
        )
        deal_id = pick("deal_id", current.deal_id)
        if "deal_id" in given:
            ctx.check_deal(deal_id)
    except Refused as exc:
        raise _raise(exc) from None
    item = NewActivity(
        rep_id=rep.id,
        kind=record["kind"],
        occurred_at=record["occurred_at"],
        local_date=record["local_date"],
        duration_min=record["duration_min"],
        outcome=record["outcome"],
        has_ask=record["has_ask"],
        engaged=record["engaged"],
        notes=record["notes"],
        account_id=None if "account" in given else current.account_id,
        account=body.account if "account" in given else None,
        contact_id=None if "contact" in given else current.contact_id,
        contact=body.contact if "contact" in given else None,
        deal_id=deal_id,
    )
    if not replace_activity(state.engine, activity_id, item):
        missing(f"activity {activity_id}")
    return out(state.settings, _fetch(state, caller, activity_id))


@router.delete(
    "/{activity_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete an activity"
)
def remove(activity_id: RecordId, state: State, caller: ApiCaller) -> Response:
    """For activities logged by mistake: an activity that happened is history; correct it
    with PATCH instead."""
    current = _fetch(state, caller, activity_id)
    if not caller.can_write_for_rep(current.rep_id, current.team_id):
        refuse(f"activity {activity_id}")
    if not delete_activity(state.engine, activity_id):
        missing(f"activity {activity_id}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _current_rep(ctx: Context, current: ActivityRecord) -> RepRef:
    if not ctx.principal.can_write_for_rep(current.rep_id, current.team_id):
        raise Refused(403, "rep", f"not allowed: activities of rep {current.rep!r}")
    return RepRef(current.rep_id, current.rep, current.team_id, current.team)
