"""The funnel analysis: `GET /funnel`, as `paceline funnel ... --json`.

Who may: a rep reads their own funnel only (asking with no rep or team means themself); a
manager reads the funnel of a rep of their team or of the team itself (no rep or team given:
their team); an admin reads anyone's, any team's, or everyone's (nothing given). Refusals
follow `_common`: an unknown rep or team is a 422 naming the field, one outside the caller's
reach a 403.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from paceline.analytics.funnel import Funnel, funnel
from paceline.api.deps import ApiCaller, State
from paceline.api.routers._common import AUTH, SubjectAsked, diagnosis_result
from paceline.serialize import json_model

router = APIRouter(tags=["analyses"], dependencies=AUTH)


@router.get(
    "/funnel",
    response_model=json_model(Funnel),
    summary="A rep's or team's funnel beside their peers",
)
def funnel_(state: State, caller: ApiCaller, asked: SubjectAsked) -> JSONResponse:
    """Each funnel step's count, conversion and median days from the step before, for the
    subject and their peers, and the weakest step with its p-value and verdict."""
    return diagnosis_result(state, caller, asked, funnel, "funnel")
