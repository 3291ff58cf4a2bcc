"""The pipeline analyses: stalled deals and weekly pipeline flow.

Each answers with exactly the result object `paceline stalled --json` / `paceline flow --json`
prints. Who may read what (refusals as in `_common.diagnosis_subject`):
- a rep: only their own deals (no `rep`, or their own name); naming another rep or a team is
  a 403;
- a manager: their team, or a rep of it; without `rep` or `team`, their own team;
- an admin: anyone; without `rep` or `team`, everyone.
With both `rep` and `team`, the rep is looked up among the team's reps.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from paceline.analytics.flow import FlowReport, pipeline_flow
from paceline.analytics.stalled import StalledReport, stalled_deals
from paceline.api.deps import ApiCaller, State
from paceline.api.routers._common import (
    AUTH,
    AsOf,
    RepQuery,
    SubjectAsked,
    TeamQuery,
    diagnosis_result,
    diagnosis_subject,
    input_errors,
    result,
)
from paceline.calendar import BusinessCalendar
from paceline.serialize import json_model

router = APIRouter(tags=["pipeline"], dependencies=AUTH)


@router.get("/stalled", response_model=json_model(StalledReport), summary="Stalled deals, per rep")
def stalled(
    state: State,
    caller: ApiCaller,
    rep: RepQuery = None,
    team: TeamQuery = None,
    as_of: AsOf = None,
) -> JSONResponse:
    """Open deals with no selling activity for `diagnose.stalled.business_days` business days,
    or longer in their stage than the team's usual (as `paceline stalled --json`)."""
    rep_, team_ = diagnosis_subject(
        state.engine, caller, rep, team, "stalled deals", rep_in_team=True
    )
    day = as_of or BusinessCalendar(state.settings.calendar).today()
    with input_errors("query"):
        report = stalled_deals(state.reads, state.settings, day, team=team_, rep=rep_)
    return result(report)


@router.get(
    "/flow", response_model=json_model(FlowReport), summary="Weekly pipeline flow and coverage"
)
def flow(state: State, caller: ApiCaller, asked: SubjectAsked) -> JSONResponse:
    """Per ISO week: prospects and opportunities in, won and lost out, net change, open
    pipeline and coverage of the quarter's remaining revenue target (as `paceline flow
    --json`)."""
    return diagnosis_result(state, caller, asked, pipeline_flow, "pipeline flow", rep_in_team=True)
