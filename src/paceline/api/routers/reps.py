"""Reps: the people whose activities are tracked, as far as the caller may see them; adding
and editing them.

An admin sees every rep, a manager their team's, a rep themself. A rep out of reach answers
403 and one that does not exist 404, as on the pages (`paceline.access.rep_by_id`); naming
another team is 403 too.

Writes go through `paceline.services.reps`, as the CLI's `rep add` and `rep edit` do: an
admin adds and edits any rep; a manager adds reps to their own team (the default when no
team is given) and edits its reps, but may not move one out of it (403); a rep neither
(403). Editing a rep out of one's reach is 403 too (an unknown id: 404). An unknown role,
team or manager, a name another rep has, or an email that is not one is a 422 naming the
field, and nothing is written. No team is created here: add teams with
an import or `paceline rep add`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from paceline.access import rep_by_id
from paceline.api.deps import ApiCaller, State
from paceline.api.routers._common import (
    AUTH,
    Answer,
    Day,
    Label,
    Name,
    RecordId,
    clean_text,
    domain_errors,
    find_team,
    known_value,
    missing,
    refuse,
    scope_of,
)
from paceline.api.shapes import RecordOut, many, record_model
from paceline.services import reps
from paceline.services.reps import RepEntry
from paceline.store.listings import RepRecord, get_rep, list_reps
from paceline.store.records import API_SOURCE, Scope

router = APIRouter(prefix="/reps", tags=["reps"], dependencies=AUTH)
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=320),
    AfterValidator(clean_text),
]


class RepIn(BaseModel):
    """A rep to add."""

    model_config = ConfigDict(extra="forbid")

    name: Name = Field(description="Full name, unique among reps (case and spacing ignored).")
    role: Label = Field(description="A role from the configuration, e.g. ae or sdr.")
    team: Name | None = Field(
        None, description="An existing team; a manager's default (and only choice): their own."
    )
    manager: Name | None = Field(None, description="The manager's name (an existing rep).")
    start_date: Day | None = None
    email: Email | None = None
    confirm_new_name: bool = Field(
        False,
        description="A name that looks like an existing rep's (an accent, or one or two "
        "letters away: 'Jon Smith' beside 'John Smith') is refused as a likely typo (422 "
        "naming the rep it looks like); true adds the rep anyway.",
    )


class RepPatch(BaseModel):
    """Fields to change; those left out keep their value, null clears an optional one."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    role: Label | None = None
    team: Name | None = Field(None, description="Move to this existing team (admins).")
    manager: Name | None = None
    start_date: Day | None = None
    end_date: Day | None = Field(
        None,
        description="The rep's last day (they left), on or after the start date; null clears "
        "it (they rejoined). Analyses pace a leaver over the days they were there.",
    )
    email: Email | None = None


RepOut = record_model(RepRecord, "RepOut")


REPS = Answer[list[RecordOut]](many(RepOut))
ONE = Answer[RecordOut](RepOut)


@router.get("", response_model=many(RepOut), summary="List reps")
def list_(
    state: State,
    caller: ApiCaller,
    team: Annotated[Name | None, Query(description="Only this team (name).")] = None,
    role: Annotated[Label | None, Query(description="Only this role.")] = None,
) -> Response:
    """The reps the caller may see, by name."""
    team_id = None if team is None else find_team(state.engine, team, "query")[0]
    if team_id is not None and not caller.can_read_team(team_id):
        refuse(f"the reps of team {team!r}")
    if role is not None:
        role = known_value(role, state.settings.role_names, "role")
    found = list_reps(state.engine, scope_of(caller), team_id, role)
    return REPS.json([RepOut.of(r) for r in found])


@router.get("/{rep_id}", response_model=RepOut, summary="One rep")
def read(rep_id: RecordId, state: State, caller: ApiCaller) -> Response:
    with domain_errors("path"):
        rep_by_id(state.engine, caller, rep_id, "record")
    found = get_rep(state.engine, Scope(everyone=True), rep_id)
    if found is None:  # deleted in between
        missing(f"rep {rep_id}")
    return ONE.json(RepOut.of(found))


@router.post(
    "",
    response_model=RepOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a rep (admins; managers to their own team)",
)
def create(body: RepIn, state: State, caller: ApiCaller) -> Response:
    given = body.model_dump(exclude={"confirm_new_name"})
    with domain_errors("body"):
        made = reps.create(
            state.engine,
            state.settings,
            caller,
            RepEntry(**given),
            source=API_SOURCE,
            near_check=not body.confirm_new_name,
        )
    return ONE.json(RepOut.of(made), status.HTTP_201_CREATED)


@router.patch(
    "/{rep_id}", response_model=RepOut, summary="Edit a rep (admins; managers their team's)"
)
def patch(rep_id: RecordId, body: RepPatch, state: State, caller: ApiCaller) -> Response:
    """Rename, move to another team, or change role, manager, start date, last day or email."""
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    with domain_errors("body"):
        edited = reps.edit(state.engine, state.settings, caller, rep_id, changes)
    return ONE.json(RepOut.of(edited))
