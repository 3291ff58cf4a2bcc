"""The forecast page: the fan chart against the target, the parts, and (on demand) the
backtest table.

Who sees what follows the API (`api/routers/forecast.py`): managers their team (the default)
or a rep of it, admins anyone (everyone by default); reps are refused, the forecast is a
manager's instrument. Query: `period` (month, quarter, year), `team`, `rep`, `as_of`
(YYYY-MM-DD) and `backtest=1`. The backtest replays past periods and takes a few seconds on
a year of deals (about half a second per period measured on the demo), so it runs only when
asked for by its link.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from paceline.analytics.backtest import Backtest
from paceline.analytics.backtest import backtest as replay_periods
from paceline.analytics.forecast import FORECAST_PERIODS, Forecast, forecast
from paceline.callers import app_state
from paceline.errors import UserInputError
from paceline.web.charts import figure_json
from paceline.web.common import User, parse_date, refused, render
from paceline.web.forecast_charts import backtest_figure, fan_figure
from paceline.web.subjects import Wanted, page_subject, pickers

router = APIRouter(include_in_schema=False)

TOP_DEALS = 15


@router.get("/forecast")
def forecast_page(
    request: Request,
    caller: User,
    rep: str | None = None,
    team: str | None = None,
    period: str | None = None,
    as_of: str | None = None,
    backtest: str | None = None,
) -> Response:
    state = app_state(request)
    principal = caller.principal
    if principal.role == "rep":
        raise refused("see the forecast (managers and admins see it)")
    rep_name, team_name = page_subject(
        state.engine, principal, rep or None, team or None, "forecast", rep_in_team=True
    )
    kind = (period or "quarter").strip().lower()
    wanted = Wanted("/forecast", rep_name, team_name, kind, as_of or "")
    day = parse_date(as_of)
    found: Forecast | None = None
    replay: Backtest | None = None
    error = None
    try:
        found = forecast(state.reads, state.settings, kind, day, team=team_name, rep=rep_name)
        if backtest:
            replay = _backtest(request, kind, day, team_name, rep_name)
    except UserInputError as exc:
        error = str(exc)
    context: dict[str, Any] = {
        "active": "forecast",
        "result": found,
        "replay": replay,
        "figure": figure_json(fan_figure(found)) if found else None,
        "backtest_figure": figure_json(backtest_figure(replay)) if replay and replay.rows else None,
        "error": error,
        "wanted": wanted,
        "periods": list(FORECAST_PERIODS),
        "top_deals": found.open_deals[:TOP_DEALS] if found else [],
        **pickers(state.engine, state.settings, principal),
    }
    return render(request, "forecast.html", caller, context, status=422 if error else 200)


def _backtest(
    request: Request, kind: str, day: dt.date | None, team: str | None, rep: str | None
) -> Backtest:
    state = app_state(request)
    return replay_periods(state.reads, state.settings, kind, team=team, rep=rep, as_of=day)
