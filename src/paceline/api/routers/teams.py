"""Teams: an admin sees every team, a manager or rep their own."""

from __future__ import annotations

from fastapi import APIRouter, Response

from paceline.api.deps import ApiCaller, State
from paceline.api.routers._common import AUTH, Answer
from paceline.api.shapes import RecordOut, many, record_model
from paceline.store.listings import TeamRecord, list_teams

router = APIRouter(prefix="/teams", tags=["teams"], dependencies=AUTH)


TeamOut = record_model(TeamRecord, "TeamOut")
TEAMS = Answer[list[RecordOut]](many(TeamOut))


@router.get("", response_model=many(TeamOut), summary="List teams")
def list_(state: State, caller: ApiCaller) -> Response:
    """The teams the caller may see, with how many reps each has."""
    teams = list_teams(state.engine, caller.is_admin, caller.team_id)
    return TEAMS.json([TeamOut.of(t) for t in teams])
