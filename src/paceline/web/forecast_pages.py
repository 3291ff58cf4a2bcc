"""The forecast page: the fan chart against the target, the parts, and (on demand) the
backtest table.

Who sees what follows the API (`api/routers/forecast.py`): managers their team (the default)
or a rep of it, admins anyone (everyone by default); reps are refused, the forecast is a
manager's instrument. Query: `period` (month, quarter, year), `team`, `rep`, `as_of`
(YYYY-MM-DD), the simulation's `runs` and `seed`, `backtest=1` and its `periods`: the
parameters and defaults of `paceline forecast` and `GET /api/v1/forecast`, so the page shows
their figures for the same inputs (it ignored `runs` and `seed` before, and showed the
configured simulation's figures whatever was asked). The backtest replays past periods and
takes a few seconds on a year of deals (about half a second per period measured on the
demo), so it runs only when asked for by its link.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from paceline import params
from paceline.analytics.backtest import Backtest
from paceline.analytics.backtest import backtest as replay_periods
from paceline.analytics.forecast import FORECAST_PERIODS, Forecast, forecast
from paceline.callers import app_state
from paceline.errors import UserInputError
from paceline.web.charts import figure_json
from paceline.web.common import User, checked_params, parse_choice, parse_date, refused, render
from paceline.web.forecast_charts import backtest_figure, fan_figure
from paceline.web.subjects import Wanted, page_subject, pickers

router = APIRouter(include_in_schema=False)

TOP_DEALS = 15


@dataclass(frozen=True)
class Simulation:
    """The simulation's parameters as the query gave them ("": the configured default)."""

    runs: str = ""
    seed: str = ""
    periods: str = ""  # the backtest's past periods

    def chosen(self) -> tuple[int | None, int | None, int | None]:
        """(runs, seed, periods) within what a request may ask (`params.RUNS`, ..., as the
        API); anything else is a 422 page naming the field, before the simulation runs."""
        with checked_params("/forecast"):
            return (
                params.RUNS.parse(self.runs),
                params.SEED.parse(self.seed),
                params.PERIODS.parse(self.periods),
            )


@dataclass(frozen=True)
class ForecastWanted(Wanted):
    """The page's choices, the simulation's included: its links (the download, the backtest)
    repeat them, so the file and the replay use the runs and seed the page shows."""

    simulation: Simulation = Simulation()

    def query(self, **changes: str | None) -> str:
        chosen = self.simulation
        asked = {"runs": chosen.runs, "seed": chosen.seed, "periods": chosen.periods}
        return super().query(**{**asked, **changes})


@router.get("/forecast")
def forecast_page(
    request: Request,
    caller: User,
    rep: str | None = None,
    team: str | None = None,
    period: str | None = None,
    as_of: str | None = None,
    backtest: str | None = None,
    runs: str | None = None,
    seed: str | None = None,
    periods: str | None = None,
) -> Response:
    state = app_state(request)
    principal = caller.principal
    if principal.role == "rep":
        raise refused("see the forecast (managers and admins see it)")
    rep_name, team_name = page_subject(
        state.engine, principal, rep or None, team or None, "forecast", rep_in_team=True
    )
    kind = parse_choice(params.FORECAST_PERIOD, period, "quarter")
    replaying = parse_choice(params.BACKTEST, backtest, "0") == "1"
    simulation = Simulation(runs or "", seed or "", periods or "")
    runs_, seed_, periods_ = simulation.chosen()
    wanted = ForecastWanted("/forecast", rep_name, team_name, kind, as_of or "", simulation)
    day = parse_date(as_of)
    found: Forecast | None = None
    replay: Backtest | None = None
    error = None
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
        if replaying:
            replay = replay_periods(
                state.reads,
                state.settings,
                kind,
                team=team_name,
                rep=rep_name,
                periods=periods_,
                as_of=day,
                runs=runs_,
                seed=seed_,
            )
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
        "min_runs": params.RUNS.low,
        "max_runs": params.RUNS.high,
        "default_runs": state.settings.insight.forecast.runs,
        "default_seed": state.settings.insight.forecast.seed,
        **pickers(state.engine, state.settings, principal),
    }
    return render(request, "forecast.html", caller, context, status=422 if error else 200)
