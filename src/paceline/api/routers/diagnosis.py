"""A rep's diagnosis and coaching: `GET /diagnosis`, `/diagnosis/team`, `/coaching`.

The same objects as `paceline diagnose --rep NAME --json` (a rep) and `paceline diagnose
--team NAME --json` (a team). Who may: a rep reads their own (nothing given means themself);
a manager a rep of their team, or the team; an admin anyone, any team or everyone. Refusals
follow `_common`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from paceline.analytics.coaching import Coaching
from paceline.analytics.diagnose import (
    RepDiagnosis,
    TeamDiagnosis,
    diagnose_rep,
    diagnose_team,
    rep_coaching,
)
from paceline.analytics.window import Window
from paceline.api.deps import ApiCaller, AppState, State
from paceline.api.routers._common import (
    AUTH,
    Asked,
    RepAsked,
    TeamAsked,
    diagnosis_result,
    diagnosis_subject,
    input_errors,
    invalid,
    query_window,
    refuse,
    result,
)
from paceline.auth.access import Principal
from paceline.config import Settings
from paceline.serialize import json_model

router = APIRouter(tags=["analyses"], dependencies=AUTH)

OneRepAnalysis = Callable[[Engine, Settings, Window, str], Any]


@router.get(
    "/diagnosis",
    response_model=json_model(RepDiagnosis),
    summary="One rep's diagnosis: what to read before a one-on-one",
)
def diagnosis(state: State, caller: ApiCaller, asked: RepAsked) -> JSONResponse:
    """Findings (alerts, weak funnel steps, the revenue factor holding the rep back, busy
    versus productive flags, stalled deals), the coaching rules' verdicts, and every analysis
    behind them."""
    return _about_one_rep(state, caller, asked, diagnose_rep, "diagnosis")


@router.get(
    "/diagnosis/team",
    response_model=json_model(TeamDiagnosis),
    summary="Every selling rep of a team, diagnosed",
)
def team_diagnosis(state: State, caller: ApiCaller, asked: TeamAsked) -> JSONResponse:
    """Each rep's diagnosis, as `/diagnosis` gives it for one (not for reps)."""
    if caller.role == "rep":
        refuse("a team's diagnosis (a rep reads their own: GET /diagnosis)")
    return diagnosis_result(state, caller, asked, _team_diagnosis, "diagnosis")


@router.get(
    "/coaching",
    response_model=json_model(Coaching),
    summary="The coaching rules applied to one rep",
)
def coaching(state: State, caller: ApiCaller, asked: RepAsked) -> JSONResponse:
    """Every rule of the configured coaching table with its verdict (`hint` when it fires)
    and the evidence: the rep's and peers' conversion with its p-value, the volume check."""
    return _about_one_rep(state, caller, asked, rep_coaching, "coaching")


def _about_one_rep(
    state: AppState, caller: Principal, asked: Asked, analysis: OneRepAnalysis, what: str
) -> JSONResponse:
    """An analysis of one rep: a manager or admin asking without `rep` must name one (422)."""
    name, team = diagnosis_subject(state.engine, caller, asked.rep, None, what)
    if name is None:
        raise invalid("query", "rep", f"required: the {what} is about one rep (team: {team})")
    window = query_window(state.settings, asked.period, asked.as_of)
    with input_errors("query"):
        return result(analysis(state.reads, state.settings, window, name))


def _team_diagnosis(
    engine: Engine, settings: Settings, window: Window, *, rep: str | None, team: str | None
) -> TeamDiagnosis:
    """`diagnose_team` as `diagnosis_result` calls an analysis (no rep is ever asked here)."""
    return diagnose_team(engine, settings, window, team)
