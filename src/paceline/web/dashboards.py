"""Pages that read: a rep's scorecard, the team's scorecards, the leaderboard and its TV view."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine

from paceline import access, clock, params
from paceline.analytics.alerts import Alert, alerts
from paceline.analytics.leaderboard import (
    LEADERBOARD_PERIODS,
    RANK_BY,
    Leaderboard,
    leaderboard,
    recent_wins,
)
from paceline.analytics.pacing import STATUS_ORDER
from paceline.analytics.scorecard import (
    MetricLine,
    Scorecard,
    TeamScorecard,
    rep_scorecard,
    team_scorecards,
)
from paceline.auth.access import Principal
from paceline.calendar import BusinessCalendar, PeriodKind
from paceline.callers import Caller, app_state
from paceline.config import Settings
from paceline.describe import STANDING_TEXT, board_unrecorded_text, headcount_text
from paceline.errors import UserInputError
from paceline.store.listings import ActivityFilter
from paceline.web import queries
from paceline.web.boards import (
    BY_TITLES,
    group_title,
    score_text,
    shown_wins,
    tv_pages,
)
from paceline.web.charts import figure_json, leaderboard_figure
from paceline.web.common import (
    PageError,
    User,
    checked_params,
    metric_units,
    page_errors,
    parse_choice,
    parse_date,
    refused,
    render,
)

router = APIRouter(include_in_schema=False)

PAGE_PERIODS = ("week", "month", "quarter")
TV_REFRESH_DEFAULT = 60
TV_WINS_SHOWN = 4  # the banner's newest wins; the rest are counted, their lines lit


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
    period: str | None = None,
    as_of: str | None = None,
) -> Response:
    state = app_state(request)
    with page_errors():
        rep = access.rep_by_id(state.engine, caller.principal, rep_id, "scorecard")
    kind = parse_choice(params.SCORECARD_PERIOD, period, "month")
    day = parse_date(as_of) or _today(state.settings)
    card = rep_scorecard(state.reads, state.settings, rep.name, kind, day)
    report = alerts(state.reads, state.settings, card.as_of, rep.team)
    recent = queries.activity_page(
        state.engine,
        caller.principal,
        ActivityFilter(rep_id=rep.id),
        per_page=8,
        zone=state.settings.calendar.zone,
        count="none",
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
    period: str | None = None,
    team: str | None = None,
    as_of: str | None = None,
) -> Response:
    state = app_state(request)
    principal = caller.principal
    if principal.role == "rep":
        raise refused("see every rep's scorecard (that page is for managers)")
    name = _team_scope(state.engine, caller.principal, team)
    kind = parse_choice(params.SCORECARD_PERIOD, period, "month")
    day = parse_date(as_of) or _today(state.settings)
    cards = team_scorecards(state.reads, state.settings, kind, day, name)
    report = alerts(state.reads, state.settings, day, name, scorecards=cards)
    by_rep: dict[str, list[Alert]] = {}
    for alert in report.alerts:
        by_rep.setdefault(alert.rep, []).append(alert)
    rows = [
        TeamRow(card, card.rep_id, by_rep.get(card.rep, []), {x.metric: x for x in card.lines})
        for card in cards.reps
    ]
    rows.sort(key=lambda r: (not r.alerts, r.sort_status, r.card.rep))
    return render(
        request,
        "team.html",
        caller,
        {
            "active": "team",
            "cards": cards,
            "headcount": headcount_text(cards),
            "rows": rows,
            "groups": _role_groups(state.settings, cards, rows),
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


@dataclass(frozen=True)
class RoleGroup:
    """One role's reps on the team page: its own key metrics as columns, its own totals."""

    role: str
    label: str
    metrics: list[str]
    rows: list[TeamRow]
    totals: dict[str, MetricLine]


def _role_groups(settings: Settings, cards: TeamScorecard, rows: list[TeamRow]) -> list[RoleGroup]:
    """The rows by role, in the configuration's role order: an SDR's columns (conversations,
    meetings set) never interleave with an AE's (proposals, revenue), and each table is only as
    wide as one role's key metrics."""
    groups = []
    for role in settings.roles:
        members = [r for r in rows if r.card.role == role.name]
        if not members:
            continue
        totals = {line.metric: line for line in cards.role_totals.get(role.name, [])}
        label = role.label or role.name.replace("_", " ").upper()
        groups.append(RoleGroup(role.name, label, list(role.key_metrics), members, totals))
    known = {role.name for role in settings.roles}
    for name in dict.fromkeys(r.card.role for r in rows if r.card.role not in known):
        members = [r for r in rows if r.card.role == name]
        metrics = list(dict.fromkeys(m for r in members for m in r.lines))
        totals = {line.metric: line for line in cards.role_totals.get(name, [])}
        groups.append(RoleGroup(name, name, metrics, members, totals))
    return groups


# --- leaderboard ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BoardRequest:
    metric: str
    period: str
    team: str | None
    role: str | None
    as_of: str
    by: str = "count"

    def query(self, **extra: str) -> str:
        params = {
            "metric": self.metric,
            "period": self.period,
            "team": self.team or "",
            "role": self.role or "",
            "by": "" if self.by == "count" else self.by,
            "as_of": self.as_of,
            **extra,
        }
        return urlencode({k: v for k, v in params.items() if v})


@dataclass(frozen=True)
class BoardAsk:
    """What a board page was asked for, as the query string gave it."""

    metric: str | None = None
    period: str | None = None  # None: the face's configured default
    role: str | None = None
    as_of: str | None = None
    by: str | None = None  # None: count


def board_for(
    request: Request, team: str | None, ask: BoardAsk, default_period: PeriodKind
) -> tuple[BoardRequest, Leaderboard | None, str | None]:
    """The board of `team` (already in the asker's reach; None: everyone), over the period
    asked or else `default_period`: the configuration's, for the page or for the TV board
    (`leaderboard.period`, `leaderboard.tv_period`), never a literal of the face. Each
    parameter follows its rule in `paceline.params`, as the API and the download do: a bad
    one is a 422 page, never another board than the one asked for."""
    state = app_state(request)
    settings: Settings = state.settings
    with checked_params():
        chosen = params.board_metric(settings, ask.metric)
        kind = params.LEADERBOARD_PERIOD.parse(ask.period, default_period)
        by = params.RANK.parse(ask.by, "count")
        role = params.board_role(settings, ask.role)
    day = parse_date(ask.as_of) or _today(state.settings)
    wanted = BoardRequest(chosen, kind, team, role, ask.as_of or "", by)
    try:
        board = leaderboard(state.reads, settings, chosen, kind, day, team, role, by)
    except UserInputError as exc:
        return wanted, None, str(exc)
    return wanted, board, None


@router.get("/leaderboard")
def leaderboard_page(
    request: Request,
    caller: User,
    metric: str | None = None,
    period: str | None = None,
    team: str | None = None,
    role: str | None = None,
    as_of: str | None = None,
    by: str | None = None,
) -> Response:
    state = app_state(request)
    settings: Settings = state.settings
    name = _team_scope(state.engine, caller.principal, team)
    ask = BoardAsk(metric, period, role, as_of, by)
    wanted, board, error = board_for(request, name, ask, settings.leaderboard.period)
    figures = []
    if board:
        unit = metric_units(settings)[board.metric]
        for group in board.groups:
            rows = board.group_rows(group)
            figure = figure_json(leaderboard_figure(board, unit, rows))
            figures.append((group, group_title(settings, group), rows, figure))
    return render(
        request,
        "leaderboard.html",
        caller,
        {
            "active": "leaderboard",
            "board": board,
            "error": error,
            "wanted": wanted,
            "figures": figures,
            "you": caller.principal.rep_id,
            "score_text": score_text,
            "notes": STANDING_TEXT,
            "unrecorded_text": board_unrecorded_text(board) if board and board.unrecorded else None,
            "metrics": settings.metrics,
            "roles": [r for r in settings.roles if r.key_metrics],
            "periods": LEADERBOARD_PERIODS,
            "rank_by": RANK_BY,
            "teams": queries.teams(state.engine) if caller.principal.is_admin else [],
        },
        status=422 if error else 200,
    )


@dataclass(frozen=True)
class TvAsk:
    """The TV board's own settings from the query string, as typed (None: the default)."""

    refresh: str | None = None
    top: str | None = None
    page: str | None = None


def tv_response(
    request: Request,
    caller: Caller | None,
    team: str | None,
    ask: BoardAsk,
    tv: TvAsk,
    base: str,
) -> Response:
    """The TV board (for a session, or a kiosk link: `caller` None, no way off the page)."""
    state = app_state(request)
    settings: Settings = state.settings
    with checked_params():
        refresh = params.TV_REFRESH.parse(tv.refresh) or TV_REFRESH_DEFAULT
        asked_top = params.TV_TOP.parse(tv.top)
        page_number = params.TV_PAGE.parse(tv.page) or 1
    wanted, board, error = board_for(request, team, ask, settings.leaderboard.tv_period)
    if board is None:
        raise PageError(422, "Cannot show this leaderboard", error or "")
    # The configured rows per page kept within what a screen holds; one asked for is checked.
    top = asked_top or min(max(settings.leaderboard.tv_top, params.TV_TOP.low), params.TV_TOP.high)
    now = clock.now(settings.calendar.zone)
    since = now - dt.timedelta(minutes=settings.leaderboard.celebrate_minutes)
    with page_errors():
        wins = recent_wins(
            state.engine,
            settings,
            settings.celebrated_metrics,
            since,
            [r.rep_id for r in board.rows],
            until=now,
        )
    you = caller.principal.rep_id if caller else None
    pages = tv_pages(settings, board, top, you, wins)
    page = pages[(page_number - 1) % len(pages)]
    following = page.number % page.count + 1
    extra = {"refresh": str(refresh), "page": str(following)}
    if asked_top:
        extra["top"] = str(top)
    refresh_content = (
        f"{refresh};url={base}?{wanted.query(**extra)}" if page.count > 1 else str(refresh)
    )
    return render(
        request,
        "tv.html",
        caller,
        {
            "board": board,
            "wanted": wanted,
            "page": page,
            "by_title": BY_TITLES[board.by],
            "wins": shown_wins(wins, settings.calendar.zone, TV_WINS_SHOWN),
            "more_wins": max(len(wins) - TV_WINS_SHOWN, 0),
            "refresh": refresh,
            "refresh_content": refresh_content,
            "kiosk": caller is None,
            "now": now.strftime("%H:%M"),
        },
    )


@router.get("/leaderboard/tv")
def leaderboard_tv(
    request: Request,
    caller: User,
    metric: str | None = None,
    period: str | None = None,
    team: str | None = None,
    role: str | None = None,
    as_of: str | None = None,
    by: str | None = None,
    refresh: str | None = None,
    top: str | None = None,
    page: str | None = None,
) -> Response:
    name = _team_scope(app_state(request).engine, caller.principal, team)
    ask = BoardAsk(metric, period, role, as_of, by)
    return tv_response(request, caller, name, ask, TvAsk(refresh, top, page), "/leaderboard/tv")
