"""The weekly reports: `GET /reports/rep` and `GET /reports/team`.

The same report as `paceline report rep|team NAME --json` (`format=json`, the default), or
the rendered report (`format=pdf` or `html`). Who may: a rep's report the rep (nothing given
means themself), their team's manager and admins; a team's report its manager and admins.
Refusals follow `_common`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from paceline.analytics.report import RepReport, TeamReport, rep_report, report_day, team_report
from paceline.api.deps import ApiCaller, AppState, State
from paceline.api.routers._common import (
    AUTH,
    Day,
    Name,
    diagnosis_subject,
    input_errors,
    invalid,
    refuse,
    result,
)
from paceline.calendar import BusinessCalendar
from paceline.reports.render import Report, report_html, report_pdf
from paceline.serialize import json_model

router = APIRouter(prefix="/reports", tags=["analyses"], dependencies=AUTH)

ReportFormat = Literal["json", "html", "pdf"]
WeekQuery = Annotated[
    Day | None, Query(description="Any day of the week to report on (default: last week).")
]
FormatQuery = Annotated[ReportFormat, Query(description="json (default), html or pdf.")]
# format=html and format=pdf answer the rendered report instead of the JSON.
RENDERED: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "text/html": {"schema": {"type": "string"}},
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
        }
    }
}


@router.get(
    "/rep",
    response_model=json_model(RepReport),
    responses=RENDERED,
    summary="A rep's weekly one-on-one report",
)
def rep(
    state: State,
    caller: ApiCaller,
    rep: Annotated[Name | None, Query(description="The rep (default: yourself).")] = None,
    week: WeekQuery = None,
    format: FormatQuery = "json",
) -> Response:
    """Pace (week and month), week-over-week change per key metric, the diagnosis's findings
    and coaching, stalled deals and next week's targets."""
    name, _ = diagnosis_subject(state.engine, caller, rep, None, "report")
    if name is None:
        raise invalid("query", "rep", "required: the report is about one rep")
    day = _day(state, week)
    with input_errors("query"):
        return _send(state, rep_report(state.reads, state.settings, name, day), format)


@router.get(
    "/team",
    response_model=json_model(TeamReport),
    responses=RENDERED,
    summary="A team's weekly report",
)
def team(
    state: State,
    caller: ApiCaller,
    team: Annotated[Name | None, Query(description="The team (default: yours).")] = None,
    week: WeekQuery = None,
    format: FormatQuery = "json",
) -> Response:
    """The team at a glance, who needs attention and why, the quarter's forecast and the
    pipeline's weekly flow."""
    if caller.role == "rep":
        refuse("a team's report (a rep reads their own: GET /reports/rep)")
    _, name = diagnosis_subject(state.engine, caller, None, team, "report")
    if name is None:
        raise invalid("query", "team", "required: the report is about one team")
    day = _day(state, week)
    with input_errors("query"):
        return _send(state, team_report(state.reads, state.settings, name, day), format)


def _day(state: AppState, week: dt.date | None) -> dt.date:
    today = BusinessCalendar(state.settings.calendar).today()
    with input_errors("query"):
        return report_day(state.settings, week, today)


def _send(state: AppState, report: Report, fmt: ReportFormat) -> Response:
    if fmt == "pdf":
        return Response(report_pdf(state.settings, report), media_type="application/pdf")
    if fmt == "html":
        return Response(report_html(state.settings, report), media_type="text/html")
    return result(report)
