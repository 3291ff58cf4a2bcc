"""Teams: an admin sees every team, a manager or rep their own."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel

from paceline.api.deps import ApiCaller, State
from paceline.api.routers._common import AUTH, Answer
from paceline.store.listings import list_teams

router = APIRouter(prefix="/teams", tags=["teams"], dependencies=AUTH)


class TeamOut(BaseModel):
    id: int
    name: str
    reps: int


TEAMS = Answer[list[TeamOut]](list[TeamOut])


@router.get("", response_model=list[TeamOut], summary="List teams")
def list_(state: State, caller: ApiCaller) -> Response:
    """The teams the caller may see, with how many reps each has."""
    teams = list_teams(state.engine, caller.is_admin, caller.team_id)
    return TEAMS.json([TeamOut(id=t.id, name=t.name, reps=t.reps) for t in teams])
