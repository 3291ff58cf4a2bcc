"""Teams: an admin sees every team, a manager or rep their own."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from paceline.api.deps import ApiCaller, State
from paceline.api.routers._common import AUTH
from paceline.store.records import list_teams

router = APIRouter(prefix="/teams", tags=["teams"], dependencies=AUTH)


class TeamOut(BaseModel):
    id: int
    name: str
    reps: int


@router.get("", response_model=list[TeamOut], summary="List teams")
def list_(state: State, caller: ApiCaller) -> list[TeamOut]:
    """The teams the caller may see, with how many reps each has."""
    teams = list_teams(state.engine, caller.is_admin, caller.team_id)
    return [TeamOut(id=t.id, name=t.name, reps=t.reps) for t in teams]
