"""The tipping-point page: pick an activity and an outcome, see the scatter of rep-weeks, the
fitted hinge and the tipping point with its interval, and the weekly target it suggests.

Who sees what is the API's rule: the estimate pools rep-weeks without names, so a rep or a
manager sees their own team's; an admin any team's or everyone's. Another team is refused
(403), an unknown one not found (404); input the analysis cannot use (a ratio metric, a lag
out of range) is shown on the page (422). Data that cannot support an estimate is a normal
page saying why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import Engine

from paceline import access, params
from paceline.analytics.tipping import TippingPoint, tipping_point
from paceline.auth.access import Principal
from paceline.callers import app_state
from paceline.config import Settings
from paceline.errors import UserInputError
from paceline.web import queries
from paceline.web.charts import figure_json
from paceline.web.common import User, page_errors, parse_date, parse_number, render
from paceline.web.tipping_charts import tipping_figure

router = APIRouter(include_in_schema=False)

DEFAULT_METRIC = "meetings_held"
DEFAULT_OUTCOME = "opportunities_created"


@dataclass(frozen=True)
class TippingRequest:
    """What the page was asked for; team None means everyone (admins only)."""

    metric: str
    outcome: str
    team: str | None
    lag: str  # "" = the configured or measured lag
    as_of: str
    roles: tuple[str, ...] = ()  # () = the roles that do the activity and get the outcome

    def query(self, **changes: str) -> str:
        params = {
            "metric": self.metric,
            "outcome": self.outcome,
            "team": self.team or "",
            "lag": self.lag,
            "as_of": self.as_of,
            **changes,
        }
        pairs = [(k, v) for k, v in params.items() if v]
        return urlencode(pairs + [("role", r) for r in self.roles])


@router.get("/tipping")
def tipping_page(
    request: Request,
    caller: User,
    metric: str | None = None,
    outcome: str | None = None,
    team: str | None = None,
    lag: str | None = None,
    as_of: str | None = None,
    role: Annotated[list[str] | None, Query()] = None,
) -> Response:
    """The API's and `paceline tipping`'s parameters and defaults, `role` included (repeat it
    for several; none: the roles that do the activity), so the page can ask what they ask."""
    state = app_state(request)
    settings: Settings = state.settings
    principal = caller.principal
    chosen_team = _team(state.engine, principal, team or None)
    wanted = TippingRequest(
        (metric or _default(settings, DEFAULT_METRIC, "activities")).strip(),
        (outcome or _default(settings, DEFAULT_OUTCOME, "deals")).strip(),
        chosen_team,
        (lag or "").strip(),
        as_of or "",
        tuple(r.strip() for r in role or [] if r.strip()),
    )
    lag_weeks = parse_number(params.LAG, wanted.lag)
    day = parse_date(as_of)
    result: TippingPoint | None = None
    error: str | None = None
    try:
        result = tipping_point(
            state.reads,
            settings,
            wanted.metric,
            outcome=wanted.outcome,
            team=chosen_team,
            roles=list(wanted.roles) or None,
            lag_weeks=lag_weeks,
            as_of=day,
        )
    except UserInputError as exc:
        error = str(exc)
    figure = tipping_figure(result) if result else None
    return render(
        request,
        "tipping.html",
        caller,
        {
            "active": "tipping",
            "result": result,
            "error": error,
            "wanted": wanted,
            "figure": figure_json(figure) if figure else None,
            "metrics": _metric_choices(settings),
            "lags": [str(n) for n in range(settings.insight.tipping.max_lag_weeks + 1)],
            "roles": [r.name for r in settings.roles if r.key_metrics],
            "teams": queries.teams(state.engine) if principal.is_admin else [],
        },
        status=422 if error else 200,
    )


def _team(engine: Engine, principal: Principal, team: str | None) -> str | None:
    """The team shown, once the user may see it; nothing asked: their own (admins: all)."""
    with page_errors():
        return access.team_in_reach(engine, principal, team, "tipping point")


def _default(settings: Settings, name: str, source: str) -> str:
    """The usual metric when configured, else the first count of that source."""
    names = [m.name for m in settings.metrics if m.aggregate != "ratio" and m.source == source]
    return name if name in names else (names[0] if names else name)


def _metric_choices(settings: Settings) -> list[tuple[str, str]]:
    """(name, label) of every metric the analysis accepts (ratios are not)."""
    return [(m.name, m.label or m.name) for m in settings.metrics if m.aggregate != "ratio"]
