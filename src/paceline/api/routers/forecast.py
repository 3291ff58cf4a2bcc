"""The forecast and its backtest.

Each answers with exactly the result object `paceline forecast --json` (and with
`--backtest --json`) prints. Who may read what:
- a rep: refused (403). A forecast is a manager's instrument: it reads the whole team's
  pipeline and history, and a rep's own number is on their scorecard;
- a manager: their team (the default), or one rep of it;
- an admin: anyone; without `rep` or `team`, everyone.
With both `rep` and `team`, the rep must be in the team. Unknown names and unusable values
are 422s naming the field. `runs` and `periods` are capped for a request, here as on the
forecast page (`params.MAX_SERVED_RUNS`; the CLI allows more), so one request cannot occupy
the server for minutes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from paceline.analytics.backtest import Backtest, backtest
from paceline.analytics.forecast import Forecast, ForecastPeriod, forecast
from paceline.api.deps import ApiCaller, State
from paceline.api.routers._common import (
    AUTH,
    AsOf,
    RepQuery,
    TeamQuery,
    diagnosis_subject,
    input_errors,
    refuse,
    result,
)
from paceline.auth.access import Principal
from paceline.params import PERIODS, RUNS, SEED
from paceline.serialize import json_model

router = APIRouter(tags=["forecast"], dependencies=AUTH)

# The rules of `paceline.params`, which the forecast page and its download apply too.
PeriodKindQuery = Annotated[ForecastPeriod, Query(description="The period forecast.")]
RunsQuery = Annotated[
    int | None,
    Query(ge=RUNS.low, le=RUNS.high, description="Monte Carlo runs (default: configured)."),
]
SeedQuery = Annotated[
    int | None,
    Query(
        ge=SEED.low, le=SEED.high, description="Random seed; the same seed gives the same answer."
    ),
]
PeriodsQuery = Annotated[
    int | None,
    Query(
        ge=PERIODS.low, le=PERIODS.high, description="Past periods replayed (default: configured)."
    ),
]


def _subject(
    state: State, caller: Principal, rep: str | None, team: str | None
) -> tuple[str | None, str | None]:
    """(rep, team) both endpoints read: the forecast is a manager's instrument, so a rep is
    refused before any name is looked up; the rest is the diagnoses' rule, rep within team."""
    if caller.role == "rep":
        refuse("the forecast (managers and admins only)")
    return diagnosis_subject(state.engine, caller, rep, team, "forecast", rep_in_team=True)


@router.get(
    "/forecast",
    response_model=json_model(Forecast),
    summary="Revenue forecast for the period, as a distribution",
)
def get_forecast(
    state: State,
    caller: ApiCaller,
    period: PeriodKindQuery = "quarter",
    as_of: AsOf = None,
    rep: RepQuery = None,
    team: TeamQuery = None,
    runs: RunsQuery = None,
    seed: SeedQuery = None,
) -> JSONResponse:
    """Revenue won by the end of the period containing `as_of`: P10/P50/P90, the chance of
    reaching the revenue target, the parts (won so far, open pipeline, new deals), the stage
    rates, every open deal's chance and the fan (as `paceline forecast --json`)."""
    rep_, team_ = _subject(state, caller, rep, team)
    with input_errors("query"):
        found = forecast(
            state.reads,
            state.settings,
            period,
            as_of,
            team=team_,
            rep=rep_,
            runs=runs,
            seed=seed,
        )
    return result(found)


@router.get(
    "/forecast/backtest",
    response_model=json_model(Backtest),
    summary="The forecast replayed on past periods",
)
def get_backtest(
    state: State,
    caller: ApiCaller,
    period: PeriodKindQuery = "quarter",
    as_of: AsOf = None,
    rep: RepQuery = None,
    team: TeamQuery = None,
    periods: PeriodsQuery = None,
    runs: RunsQuery = None,
    seed: SeedQuery = None,
) -> JSONResponse:
    """Each of the last complete periods before `as_of` forecast at its start and in its
    middle with only what was known then, beside the weighted pipeline (null where the stage
    history cannot give it, with the reason) and the run rate, with WAPE, bias and coverage;
    cut-offs without a history to stand on are listed with the reason (as
    `paceline forecast --backtest --json`)."""
    rep_, team_ = _subject(state, caller, rep, team)
    with input_errors("query"):
        found = backtest(
            state.reads,
            state.settings,
            period,
            team=team_,
            rep=rep_,
            periods=periods,
            as_of=as_of,
            runs=runs,
            seed=seed,
        )
    return result(found)
