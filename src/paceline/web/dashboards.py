"""Pages that read: a rep's scorecard, the team's scorecards, the leaderboard and its TV view."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine

from paceline import access, clock
from paceline.analytics.alerts import Alert, alerts
from paceline.analytics.leaderboard import LEADERBOARD_PERIODS, Leaderboard, leaderboard
from paceline.analytics.pacing import STATUS_ORDER
from paceline.analytics.scorecard import (
    SCORECARD_PERIODS,
    MetricLine,
    Scorecard,
    rep_scorecard,
    team_scorecards,
)
from paceline.auth.access import Principal
from paceline.calendar import BusinessCalendar
from paceline.callers import Caller, app_state
from paceline.config import Settings
from paceline.errors import UserInputError
from paceline.store.records import ActivityFilter
from paceline.web import queries
from paceline.web.charts import figure_json, leaderboard_figure
from paceline.web.common import (
    PageError,
    User,
    metric_units,
    page_errors,
    parse_date,
    parse_period,
    refused,
    render,
)

router = APIRouter(include_in_schema=False)

PAGE_PERIODS = ("week", "month", "quarter")
DEFAULT_METRIC = "meetings_set"
TV_REFRESH_DEFAULT = 60


# --- my scorecard / a rep's scorecard ---------------------------------------------------------


@router.get("/scorecard")
def my_scorecard(request: Request, caller: User) -> Response:
    rep_id = caller.principal.rep_id
    if rep_id is None:
        return RedirectResponse("/team", status_code=303)
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"/reps/{rep_id}{query}", status_code=303)


@router.get("/reps/{rep_id}")
def rep_page(
    request: Request,
    caller: User,
    rep_id: int,
    period: str = "month",
    as_of: str | None = None,
) -> Response:
    state = app_state(request)
    with page_errors():
        rep = access.rep_by_id(state.engine, caller.principal, rep_id, "scorecard")
    kind = parse_period(period, "month", SCORECARD_PERIODS)
    day = parse_date(as_of) or _today(state.settings)
    card = rep_scorecard(state.engine, state.settings, rep.name, kind, day)
    report = alerts(state.engine, state.settings, card.as_of, rep.team)
    recent = queries.activity_page(
        state.engine, caller.principal, ActivityFilter(rep_id=rep.id), per_page=8, count="none"
    )
    own = caller.principal.rep_id == rep.id
    return render(
        request,
        "scorecard.html",
        caller,
        {
            "active": "scorecard" if own else "team",
            "card": card,
            "rep": rep,
            "own": own,
            "periods": PAGE_PERIODS,
            "period": kind,
            "as_of": as_of or "",
            "alerts": [a for a in report.alerts if a.rep == rep.name],
            "alert_period": report.period_label,
            "recent": recent.rows,
        },
    )


def _today(settings: Settings) -> dt.date:
    return BusinessCalendar(settings.calendar).today()


# --- the team -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamRow:
    card: Scorecard
    rep_id: int
    alerts: list[Alert]
    lines: dict[str, MetricLine]

    @property
    def sort_status(self) -> int:
        return STATUS_ORDER[self.card.status]


def _team_scope(engine: Engine, principal: Principal, team: str | None) -> str | None:
    """The team a page shows: a manager's or rep's own; an admin's choice (None: everyone)."""
    with page_errors():
        return access.team_in_reach(engine, principal, team, "team pages")


@router.get("/team")
def team_page(
    request: Request,
    caller: User,
    period: str = "month",
    team: str | None = None,
    as_of: str | None = None,
) -> Response:
    state = app_state(request)
    principal = caller.principal
    if principal.role == "rep":
        raise refused("see every rep's scorecard (that page is for managers)")
    name = _team_scope(state.engine, caller.principal, team)
    kind = parse_period(period, "month", SCORECARD_PERIODS)
    day = parse_date(as_of) or _today(state.settings)
    cards = team_scorecards(state.engine, state.settings, kind, day, name)
    report = alerts(state.engine, state.settings, day, name, scorecards=cards)
    by_rep: dict[str, list[Alert]] = {}
    for alert in report.alerts:
        by_rep.setdefault(alert.rep, []).append(alert)
    rows = [
        TeamRow(card, card.rep_id, by_rep.get(card.rep, []), {x.metric: x for x in card.lines})
        for card in cards.reps
    ]
    rows.sort(key=lambda r: (not r.alerts, r.sort_status, r.card.rep))
    metrics = _metric_columns(state.settings, cards.reps)
    return render(
        request,
        "team.html",
        caller,
        {
            "active": "team",
            "cards": cards,
            "rows": rows,
            "metrics": metrics,
            "totals": {line.metric: line for line in cards.total},
            "report": report,
            "rep_ids": {c.rep: c.rep_id for c in cards.reps},
            "team": name,
            "team_ref": queries.team_by_name(state.engine, name) if name else None,
            "teams": queries.teams(state.engine) if principal.is_admin else [],
            "periods": PAGE_PERIODS,
            "period": kind,
            "as_of": as_of or "",
        },
    )


def _metric_columns(settings: Settings, cards: list[Scorecard]) -> list[str]:
    """Key metrics of the roles present, in the configuration's role order."""
    present = {c.role for c in cards}
    columns: list[str] = []
    for role in settings.roles:
        if role.name in present:
            columns += [m for m in role.key_metrics if m not in columns]
    return columns


# --- leaderboard ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardRequest:
    metric: str
    period: str
    team: str | None
    role: str | None
    as_of: str

    def query(self, **extra: str) -> str:
        params = {
            "metric": self.metric,
            "period": self.period,
            "team": self.team or "",
            "role": self.role or "",
            "as_of": self.as_of,
            **extra,
        }
        return urlencode({k: v for k, v in params.items() if v})


def _board(
    request: Request,
    caller: Caller,
    metric: str | None,
    period: str,
    team: str | None,
    role: str | None,
    as_of: str | None,
) -> tuple[BoardRequest, Leaderboard | None, str | None]:
    state = app_state(request)
    settings: Settings = state.settings
    name = _team_scope(state.engine, caller.principal, team)
    known = {m.name for m in settings.metrics}
    chosen = metric if metric in known else None
    chosen = chosen or (DEFAULT_METRIC if DEFAULT_METRIC in known else settings.metrics[0].name)
    kind = parse_period(period, "week", LEADERBOARD_PERIODS)
    wanted = BoardRequest(chosen, kind, name, role or None, as_of or "")
    day = parse_date(as_of) or _today(state.settings)
    try:
        board = leaderboard(state.engine, settings, chosen, kind, day, name, role or None)
    except UserInputError as exc:
        return wanted, None, str(exc)
    return wanted, board, None


@router.get("/leaderboard")
def leaderboard_page(
    request: Request,
    caller: User,
    metric: str | None = None,
    period: str = "week",
    team: str | None = None,
    role: str | None = None,
    as_of: str | None = None,
) -> Response:
    state = app_state(request)
    settings: Settings = state.settings
    wanted, board, error = _board(request, caller, metric, period, team, role, as_of)
    units = metric_units(settings)
    figure = figure_json(leaderboard_figure(board, units[board.metric])) if board else None
    return render(
        request,
        "leaderboard.html",
        caller,
        {
            "active": "leaderboard",
            "board": board,
            "error": error,
            "wanted": wanted,
            "figure": figure,
            "metrics": settings.metrics,
            "roles": [r for r in settings.roles if r.key_metrics],
            "periods": LEADERBOARD_PERIODS,
            "teams": queries.teams(state.engine) if caller.principal.is_admin else [],
        },
        status=422 if error else 200,
    )


@router.get("/leaderboard/tv")
def leaderboard_tv(
    request: Request,
    caller: User,
    metric: str | None = None,
    period: str = "week",
    team: str | None = None,
    role: str | None = None,
    as_of: str | None = None,
    refresh: int = TV_REFRESH_DEFAULT,
) -> Response:
    settings = app_state(request).settings
    wanted, board, error = _board(request, caller, metric, period, team, role, as_of)
    if board is None:
        raise PageError(422, "Cannot show this leaderboard", error or "")
    figure = leaderboard_figure(board, metric_units(settings)[board.metric], tv=True)
    return render(
        request,
        "tv.html",
        caller,
        {
            "board": board,
            "wanted": wanted,
            "figure": figure_json(figure),
            "refresh": min(max(refresh, 10), 3600),
            "now": clock.now(settings.calendar.zone).strftime("%H:%M"),
        },
    )
