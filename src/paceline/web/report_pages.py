"""Downloads: the weekly reports (PDF, HTML) and every page's table as CSV or XLSX.

Who may download what is who may see the page (`paceline.access`): a rep's report and
scorecard the rep themself, their team's manager and admins; a team's report the team's
manager and admins (a rep is refused, as on the team page). Each export runs the same
analysis with the same query as its page, so the file holds the page's numbers, unrounded.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import Engine

from paceline import access, params
from paceline.analytics.diagnose import RepDiagnosis, TeamDiagnosis, diagnose_rep, diagnose_team
from paceline.analytics.forecast import forecast
from paceline.analytics.leaderboard import leaderboard
from paceline.analytics.report import RepReport, rep_report, report_day, team_report
from paceline.analytics.scorecard import rep_scorecard, team_scorecards
from paceline.analytics.window import Window, diagnosis_window
from paceline.calendar import BusinessCalendar
from paceline.callers import AppState, app_state
from paceline.config import Settings
from paceline.errors import UserInputError
from paceline.reports import export
from paceline.reports.render import Report, report_html, report_pdf
from paceline.web import queries
from paceline.web.common import (
    SECURITY_HEADERS,
    PageError,
    User,
    checked_params,
    not_found,
    page_errors,
    parse_choice,
    parse_date,
    refused,
)
from paceline.web.forecast_pages import Simulation
from paceline.web.subjects import Asked, page_subject
from paceline.web.work import activity_filter

router = APIRouter(include_in_schema=False)

# The activity list's download holds at most this many rows: 20,000 activities take about 9 s
# to read and 9 s to write as XLSX on the demo (2 busy cores). More is refused, never cut short.
EXPORT_ROWS = 20_000
PDF = "application/pdf"
HTML = "text/html; charset=utf-8"


def _today(settings: Settings) -> dt.date:
    return BusinessCalendar(settings.calendar).today()


def _download(data: bytes, media_type: str, filename: str, inline: bool = False) -> Response:
    disposition = "inline" if inline else "attachment"
    headers = {
        **SECURITY_HEADERS,
        "Content-Disposition": f'{disposition}; filename="{filename}"',
        "Cache-Control": "no-store",
    }
    return Response(data, media_type=media_type, headers=headers)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "report"


def _report_day(state: AppState, week: str | None) -> dt.date:
    try:
        return report_day(state.settings, parse_date(week, "week"), _today(state.settings))
    except UserInputError as exc:
        raise PageError(422, "No such week", str(exc)) from None


def _send_report(state: AppState, report: Report, fmt: str) -> Response:
    name = report.rep if isinstance(report, RepReport) else f"team-{report.team}"
    filename = f"{_slug(name)}-{report.week.label}.{fmt}"
    if fmt == "pdf":
        return _download(report_pdf(state.settings, report), PDF, filename)
    return _download(report_html(state.settings, report).encode("utf-8"), HTML, filename, True)


# --- the weekly reports ----------------------------------------------------------------------


@router.get("/reps/{rep_id}/report.{fmt}")
def rep_report_download(
    request: Request, caller: User, rep_id: int, fmt: str, week: str | None = None
) -> Response:
    """The rep's weekly one-on-one report (`week`: any day of it; default last week)."""
    state = app_state(request)
    if fmt not in ("pdf", "html"):
        raise not_found("such report format")
    rep = queries.rep_ref(state.engine, rep_id)
    if rep is None:
        raise not_found(f"rep with id {rep_id}")
    if not caller.principal.can_read_rep(rep.id, rep.team_id):
        raise refused(f"see the report of {rep.name}")
    day = _report_day(state, week)
    try:
        report = rep_report(state.reads, state.settings, rep.name, day)
    except UserInputError as exc:
        raise PageError(422, "No report", str(exc)) from None
    return _send_report(state, report, fmt)


@router.get("/teams/{team_id}/report.{fmt}")
def team_report_download(
    request: Request, caller: User, team_id: int, fmt: str, week: str | None = None
) -> Response:
    """The team's weekly report, for its manager and admins."""
    state = app_state(request)
    if fmt not in ("pdf", "html"):
        raise not_found("such report format")
    team = queries.team_by_id(state.engine, team_id)
    if team is None:
        raise not_found(f"team with id {team_id}")
    if not access.may_see_team_diagnosis(caller.principal, team.id):
        raise refused(f"see the report of team {team.name}")
    day = _report_day(state, week)
    return _send_report(state, team_report(state.reads, state.settings, team.name, day), fmt)


# --- the pages' tables -----------------------------------------------------------------------


def _format(fmt: str) -> export.Format:
    for known in export.FORMATS:
        if fmt == known:
            return known
    raise not_found("such export format (csv or xlsx)")


def _export(sheets: list[export.Sheet], fmt: str, filename: str, table: str | None) -> Response:
    chosen = _format(fmt)
    try:
        data = export.export_bytes(sheets, chosen, table)
    except KeyError:
        names = ", ".join(s.name for s in sheets)
        raise PageError(
            404, "Not found", f"There is no table {table!r}; use one of {names}."
        ) from None
    return _download(data, export.MEDIA_TYPES[chosen], f"{_slug(filename)}.{chosen}")


@router.get("/reps/{rep_id}/scorecard.{fmt}")
def scorecard_export(
    request: Request,
    caller: User,
    rep_id: int,
    fmt: str,
    period: str | None = None,
    as_of: str | None = None,
) -> Response:
    state = app_state(request)
    rep = queries.rep_ref(state.engine, rep_id)
    if rep is None:
        raise not_found(f"rep with id {rep_id}")
    if not caller.principal.can_read_rep(rep.id, rep.team_id):
        raise refused(f"see the scorecard of {rep.name}")
    page = f"/reps/{rep_id}"
    kind = parse_choice(params.SCORECARD_PERIOD, period, "month", page)
    day = parse_date(as_of, page=page) or _today(state.settings)
    card = rep_scorecard(state.reads, state.settings, rep.name, kind, day)
    return _export(export.scorecard_sheets(card), fmt, f"scorecard {rep.name} {day}", None)


@router.get("/team/export.{fmt}")
def team_export(
    request: Request,
    caller: User,
    fmt: str,
    period: str | None = None,
    team: str | None = None,
    as_of: str | None = None,
) -> Response:
    state = app_state(request)
    if caller.principal.role == "rep":
        raise refused("see every rep's scorecard (that page is for managers)")
    with page_errors():
        name = access.team_in_reach(state.engine, caller.principal, team, "team pages")
    kind = parse_choice(params.SCORECARD_PERIOD, period, "month", "/team")
    day = parse_date(as_of, page="/team") or _today(state.settings)
    cards = team_scorecards(state.reads, state.settings, kind, day, name)
    return _export(export.team_sheets(cards), fmt, f"team {name or 'all'} {day}", None)


@router.get("/leaderboard/export.{fmt}")
def leaderboard_export(
    request: Request,
    caller: User,
    fmt: str,
    metric: str | None = None,
    period: str | None = None,
    team: str | None = None,
    role: str | None = None,
    as_of: str | None = None,
    by: str | None = None,
) -> Response:
    """The leaderboard page's table: the same rules and defaults for every parameter as the
    page (`paceline.params`: the metric, `leaderboard.period`, the ranking `by`, the role),
    so the file holds the page's rows."""
    state = app_state(request)
    settings = state.settings
    with page_errors():
        name = access.team_in_reach(state.engine, caller.principal, team, "team pages")
    with checked_params("/leaderboard"):
        metric = params.board_metric(settings, metric)
        kind = params.LEADERBOARD_PERIOD.parse(period, settings.leaderboard.period)
        ranking = params.RANK.parse(by, "count")
        chosen_role = params.board_role(settings, role)
        day = params.day("as_of", as_of) or _today(settings)
    try:
        board = leaderboard(state.reads, settings, metric, kind, day, name, chosen_role, ranking)
    except UserInputError as exc:
        raise PageError(422, "Cannot export this leaderboard", str(exc)) from None
    return _export(export.leaderboard_sheets(board), fmt, f"leaderboard {metric} {day}", None)


@router.get("/activities/export.{fmt}")
def activities_export(
    request: Request,
    caller: User,
    fmt: str,
    rep: str | None = None,
    kind: str | None = None,
    start: str | None = None,
    end: str | None = None,
) -> Response:
    """The activity list with the page's filters, every page of it; more than EXPORT_ROWS
    matching is a 422 asking for narrower filters (a file cut short would look complete)."""
    state = app_state(request)
    wanted = activity_filter(state.settings, rep, kind, start, end)
    if wanted.rep_id is not None:
        found = queries.rep_ref(state.engine, wanted.rep_id)
        if found is None or not caller.principal.can_read_rep(found.id, found.team_id):
            raise refused("see that rep's activities")
    listing = queries.activity_page(
        state.engine,
        caller.principal,
        wanted,
        EXPORT_ROWS,
        zone=state.settings.calendar.zone,
        count="none",
    )
    if listing.older is not None:  # more follow: read one row past the limit, never counted
        raise PageError(
            422,
            "Too many activities",
            f"More than {EXPORT_ROWS:,} activities match; a download holds up to "
            f"{EXPORT_ROWS:,}. Narrow the dates, the rep or the kind.",
        )
    sheets = export.activity_sheets(listing.rows, state.settings.calendar.zone)
    return _export(sheets, fmt, "activities", None)


@router.get("/diagnose/export.{fmt}")
def diagnosis_export(
    request: Request, caller: User, fmt: str, asked: Asked, table: str | None = None
) -> Response:
    """The diagnosis page's tables: findings, coaching (and a rep's funnel); CSV: `table`."""
    state = app_state(request)
    rep, team = page_subject(
        state.engine, caller.principal, asked.rep or None, asked.team or None, "diagnosis"
    )
    found = _run(state, asked, lambda w: _diagnosis(state.reads, state.settings, w, rep, team))
    subject = rep or f"team {team or 'all'}"
    return _export(
        export.diagnosis_sheets(state.settings, found), fmt, f"diagnosis {subject}", table
    )


def _diagnosis(
    engine: Engine, settings: Settings, window: Window, rep: str | None, team: str | None
) -> RepDiagnosis | TeamDiagnosis:
    if rep is not None:
        return diagnose_rep(engine, settings, window, rep)
    return diagnose_team(engine, settings, window, team)


def _run(state: AppState, asked: Any, analysis: Any) -> Any:
    """The analysis over the window the page's period and as-of name; bad input is a 422."""
    day = parse_date(asked.as_of, page="/diagnose")
    try:
        period = (asked.period or state.settings.diagnose.window).strip()
        window = diagnosis_window(state.settings, period, day)
        return analysis(window)
    except UserInputError as exc:
        raise PageError(422, "Cannot export", str(exc)) from None


@router.get("/forecast/export.{fmt}")
def forecast_export(
    request: Request,
    caller: User,
    fmt: str,
    rep: str | None = None,
    team: str | None = None,
    period: str | None = None,
    as_of: str | None = None,
    table: str | None = None,
    runs: str | None = None,
    seed: str | None = None,
) -> Response:
    """The forecast page's tables, from the simulation the page ran (its `runs` and `seed`)."""
    state = app_state(request)
    if caller.principal.role == "rep":
        raise refused("see the forecast (managers and admins see it)")
    rep_name, team_name = page_subject(
        state.engine, caller.principal, rep or None, team or None, "forecast", rep_in_team=True
    )
    kind = parse_choice(params.FORECAST_PERIOD, period, "quarter", "/forecast")
    runs_, seed_, _ = Simulation(runs or "", seed or "").chosen()
    day = parse_date(as_of, page="/forecast")
    try:
        found = forecast(
            state.reads,
            state.settings,
            kind,
            day,
            team=team_name,
            rep=rep_name,
            runs=runs_,
            seed=seed_,
        )
    except UserInputError as exc:
        raise PageError(422, "Cannot export", str(exc)) from None
    subject = rep_name or team_name or "all"
    return _export(export.forecast_sheets(found), fmt, f"forecast {subject} {found.as_of}", table)
