"""Activities: log, list, read, correct and delete; and log many at once.

Every write goes through `paceline.services.activities`, as the CLI's `log` and the pages'
forms do, and is checked by the rules an imported activity passes (`finish_activity`):
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

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, WithJsonSchema

from paceline import params
from paceline.api.deps import ApiCaller, State
from paceline.api.routers._common import (
    AUTH,
    MAX_ID,
    NEXT_DOC,
    TOTAL_DOC,
    Answer,
    CountQuery,
    CursorQuery,
    Day,
    ExternalId,
    Label,
    Limit,
    Moment,
    Name,
    Notes,
    Offset,
    RecordId,
    domain_errors,
    find_team,
    input_errors,
    paging,
    readable_rep,
    refuse,
    scope_of,
)
from paceline.api.shapes import RecordOut, page_model, record_model
from paceline.auth.access import Principal
from paceline.config import Settings
from paceline.errors import Forbidden, InputError
from paceline.services import activities
from paceline.services.activities import Entry, Writer
from paceline.store.listings import ActivityFilter, Page, list_activities
from paceline.store.records import (
    ActivityRecord,
    NewActivity,
    Stored,
    get_activity,
    rep_refs,
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


ActivityOut = record_model(
    ActivityRecord,
    "ActivityOut",
    leave_out={"team_id"},
    add={"selling": (bool, "Selling activity under the current configuration ([selling]).")},
)
ActivityPage = page_model(
    Page,
    "ActivityPage",
    ActivityOut,
    leave_out={"prev"},
    types_={"next": str | None},
    describe={"total": TOTAL_DOC, "next": NEXT_DOC},
)


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


# --- the service, translated ------------------------------------------------------------------


def _writer(state: State, caller: Principal) -> Writer:
    return Writer.of(state.engine, state.settings, caller)


def _entry(item: ActivityIn) -> Entry:
    return Entry(**item.model_dump())


def _item_error(exc: InputError | Forbidden) -> BulkItemResult:
    """What one refused item of a bulk request is answered."""
    if isinstance(exc, Forbidden):
        error = ItemError(loc=["rep"], msg=f"not allowed: {exc.what}", type="forbidden")
        return BulkItemResult(index=0, ok=False, status=403, errors=[error])
    error = ItemError(loc=[exc.field], msg=exc.reason, type="value_error")
    return BulkItemResult(index=0, ok=False, status=422, errors=[error])


def out(settings: Settings, a: ActivityRecord) -> RecordOut:
    """The activity's answer: the record, and whether it counts as selling now."""
    return ActivityOut.of(a, selling=settings.is_selling(a.kind, a.has_ask))


def _fetch(state: State, principal: Principal, activity_id: int) -> ActivityRecord:
    with domain_errors("path"):
        return activities.readable(_writer(state, principal), activity_id)


# --- endpoints -------------------------------------------------------------------------------

PAGE = Answer[RecordOut](ActivityPage)
ONE = Answer[RecordOut](ActivityOut)


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
    limit: Limit = 100,
    offset: Offset = 0,
    cursor: CursorQuery = None,
    count: CountQuery = False,
) -> Response:
    """The activities the caller may see (a rep: their own; a manager: their team's), newest
    first. Page with `cursor`: each answer's `next` is the cursor of the page after it."""
    rep_id = team_id = None
    if rep is not None:
        rep_id = readable_rep(rep_refs(state.engine), caller, rep, "query", "rep").id
    if team is not None:
        team_id = find_team(state.engine, team, "query")[0]
        if not caller.is_admin and team_id != caller.team_id:
            refuse(f"the activities of team {team!r}")  # not `may_see_team`: a rep's team
    with input_errors("query"):
        kind_name = params.activity_kind(state.settings, kind)
    page = list_activities(
        state.engine,
        scope_of(caller),
        ActivityFilter(rep_id, team_id, kind_name, start, end),
        paging(limit, offset, cursor, count, "a"),
        zone=state.settings.calendar.zone,
    )
    items = [out(state.settings, a) for a in page.items]
    token = None if page.next is None else page.next.token()
    return PAGE.json(ActivityPage.of(page, items=items, next=token))


@router.post(
    "",
    response_model=ActivityOut,
    status_code=status.HTTP_201_CREATED,
    summary="Log one activity",
    responses={
        200: {
            "model": ActivityOut,
            "description": "Already stored under this external_id (not doubled).",
        },
        409: {"description": "The external_id is taken by a record out of your reach."},
    },
)
def create(body: ActivityIn, state: State, caller: ApiCaller) -> Response:
    with domain_errors("body"):
        stored = activities.create(_writer(state, caller), _entry(body))
    found = get_activity(state.engine, scope_of(caller), stored.id)
    if found is None:  # the external id belongs to a record out of the caller's reach
        raise HTTPException(status.HTTP_409_CONFLICT, TAKEN)
    answered = status.HTTP_200_OK if stored.duplicate else status.HTTP_201_CREATED
    return ONE.json(out(state.settings, found), answered)


@router.post("/bulk", response_model=BulkResult, summary="Log many activities")
def bulk(body: ActivityBulk, state: State, caller: ApiCaller) -> BulkResult:
    """Each item is checked on its own; the valid ones are stored (together) even when
    others fail. `results` answers every item, in order, with what it alone would have been
    answered: its id, or the fields that are wrong."""
    writer = _writer(state, caller)
    adapter = TypeAdapter(ActivityIn)
    results: list[BulkItemResult] = []
    accepted: list[tuple[int, NewActivity]] = []
    for index, raw in enumerate(body.items):
        try:
            parsed = adapter.validate_python(raw)
            accepted.append((index, activities.check_new(writer, _entry(parsed))))
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
        except (InputError, Forbidden) as exc:
            results.append(_item_error(exc).model_copy(update={"index": index}))
    stored: list[Stored] = activities.store(writer, [a for _, a in accepted])
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
def read(activity_id: RecordId, state: State, caller: ApiCaller) -> Response:
    return ONE.json(out(state.settings, _fetch(state, caller, activity_id)))


@router.patch("/{activity_id}", response_model=ActivityOut, summary="Correct an activity")
def patch(activity_id: RecordId, body: ActivityPatch, state: State, caller: ApiCaller) -> Response:
    """Change the fields given; the activity is checked again as a whole, and its local day
    follows its time."""
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    with domain_errors("body"):
        _fetch(state, caller, activity_id)  # out of reach: 404 (path), before any body check
        found = activities.edit(_writer(state, caller), activity_id, changes)
    return ONE.json(out(state.settings, found))


@router.delete(
    "/{activity_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete an activity"
)
def remove(activity_id: RecordId, state: State, caller: ApiCaller) -> Response:
    """For activities logged by mistake: an activity that happened is history; correct it
    with PATCH instead."""
    _fetch(state, caller, activity_id)
    with domain_errors("path"):
        activities.delete(_writer(state, caller), activity_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
