"""Reps: the people whose activities are tracked, as far as the caller may see them.

An admin sees every rep, a manager their team's, a rep themself. A rep out of reach answers
403 and one that does not exist 404, as on the pages (`paceline.access.rep_by_id`); naming
another team is 403 too.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from paceline.access import rep_by_id
from paceline.api.deps import ApiCaller, State
from paceline.api.routers._common import (
    AUTH,
    Label,
    Name,
    RecordId,
    domain_errors,
    find_team,
    known_value,
    missing,
    refuse,
    scope_of,
)
from paceline.store.records import RepRecord, Scope, get_rep, list_reps

router = APIRouter(prefix="/reps", tags=["reps"], dependencies=AUTH)


class RepOut(BaseModel):
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


def out(r: RepRecord) -> RepOut:
    return RepOut(**r.__dict__)


@router.get("", response_model=list[RepOut], summary="List reps")
def list_(
    state: State,
    caller: ApiCaller,
    team: Annotated[Name | None, Query(description="Only this team (name).")] = None,
    role: Annotated[Label | None, Query(description="Only this role.")] = None,
) -> list[RepOut]:
    """The reps the caller may see, by name."""
    team_id = None if team is None else find_team(state.engine, team, "query")[0]
    if team_id is not None and not caller.can_read_team(team_id):
        refuse(f"the reps of team {team!r}")
    if role is not None:
        role = known_value(role, state.settings.role_names, "role")
    return [out(r) for r in list_reps(state.engine, scope_of(caller), team_id, role)]


@router.get("/{rep_id}", response_model=RepOut, summary="One rep")
def read(rep_id: RecordId, state: State, caller: ApiCaller) -> RepOut:
    with domain_errors("path"):
        rep_by_id(state.engine, caller, rep_id, "record")
    found = get_rep(state.engine, Scope(everyone=True), rep_id)
    if found is None:  # deleted in between
        missing(f"rep {rep_id}")
    return out(found)
