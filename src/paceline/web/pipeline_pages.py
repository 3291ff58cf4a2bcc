"""Pages about the pipeline: stalled deals (per rep) and weekly pipeline flow (with a chart).

Who sees what follows the API: a rep their own deals, a manager their team's (or one rep of
it), an admin anyone (everyone by default); given both a rep and a team, the rep is looked up
among the team's reps. Both pages take `rep` and `team` by name and `as_of` (YYYY-MM-DD); the
flow page also takes `period` (month, quarter, year, or trailing days such as 90d).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from paceline.analytics.flow import pipeline_flow
from paceline.analytics.stalled import StalledReport, stalled_deals
from paceline.calendar import BusinessCalendar
from paceline.callers import app_state
from paceline.errors import UserInputError
from paceline.web.common import User, parse_date
from paceline.web.pipeline_charts import flow_figure
from paceline.web.subjects import Asked, DiagnosisPage

router = APIRouter(include_in_schema=False)

STALLED = DiagnosisPage("/stalled", "stalled.html", "stalled deals", rep_in_team=True)
FLOW = DiagnosisPage(
    "/flow",
    "flow.html",
    "pipeline flow",
    ("month", "quarter", "year", "90d", "180d", "365d"),
    rep_in_team=True,
)


@router.get("/stalled")
def stalled_page(request: Request, caller: User, asked: Asked) -> Response:
    state = app_state(request)
    wanted = STALLED.wanted(state, caller.principal, asked)
    day = parse_date(asked.as_of) or BusinessCalendar(state.settings.calendar).today()
    report: StalledReport | None = None
    error = None
    try:
        report = stalled_deals(state.reads, state.settings, day, team=wanted.team, rep=wanted.rep)
    except UserInputError as exc:
        error = str(exc)
    context = STALLED.context(state, caller.principal, wanted, error)
    return STALLED.render(request, caller, context | {"report": report})


@router.get("/flow")
def flow_page(request: Request, caller: User, asked: Asked) -> Response:
    return FLOW.show(request, caller, asked, pipeline_flow, flow_figure)
