"""Teams: an admin sees every team, a manager or rep their own."""

from __future__ import annotations

from fastapi import APIRouter, Response

from paceline.api.deps import ApiCaller, State
from paceline.api.routers._common import AUTH, Answer
from paceline.api.shapes import RecordOut, many, record_model
from paceline.calendar import BusinessCalendar
from paceline.store.listings import TeamRecord, list_teams

router = APIRouter(prefix="/teams", tags=["teams"], dependencies=AUTH)


TeamOut = record_model(TeamRecord, "TeamOut")
TEAMS = Answer[list[RecordOut]](many(TeamOut))


@router.get("", response_model=many(TeamOut), summary="List teams")
def list_(state: State, caller: ApiCaller) -> Response:
    """The teams the caller may see, with how many reps each has today (as the team page
    counts them: reps with key metrics who have started and not left)."""
    settings = state.settings
    today = BusinessCalendar(settings.calendar).today()
    paced = [r.name for r in settings.roles if r.key_metrics]
    teams = list_teams(state.engine, caller.is_admin, caller.team_id, today, paced)
    return TEAMS.json([TeamOut.of(t) for t in teams])
