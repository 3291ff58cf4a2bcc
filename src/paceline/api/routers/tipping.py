"""The tipping point: `GET /tipping`, as `paceline tipping METRIC ... --json`.

Who may: the estimate pools many rep-weeks and names no rep, so anyone may read it for their
own team (a rep, a manager; nothing given means that team); an admin reads any team's or
everyone's (nothing given). Another team is a 403, an unknown one a 422 naming `team`, as are
unknown or ratio metrics (`metric`, `outcome`) and roles (`role`). Data that cannot support an
estimate is not an error: the answer says `supported: false` and why.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from paceline.analytics.tipping import TippingPoint, tipping_point
from paceline.api.deps import ApiCaller, State
from paceline.api.routers._common import (
    AUTH,
    Day,
    Label,
    Name,
    input_errors,
    result,
    team_in_reach,
)
from paceline.params import LAG
from paceline.serialize import json_model

router = APIRouter(tags=["analyses"], dependencies=AUTH)

MetricQuery = Annotated[Label, Query(description="The activity metric, e.g. meetings_held.")]
OutcomeQuery = Annotated[Label, Query(description="The result metric that follows the activity.")]
TeamQuery = Annotated[
    Name | None, Query(description="A team (name); default: your own (an admin: everyone).")
]
RoleQuery = Annotated[
    list[Label] | None,
    Query(
        description="Only reps of these roles (repeat the parameter); default: the roles "
        "that do the activity and get the outcome."
    ),
]
LagQuery = Annotated[
    int | None,
    Query(
        ge=LAG.low,
        le=LAG.high,
        description="Weeks from the activity to the outcome; default: configured or measured.",
    ),
]
AsOf = Annotated[Day | None, Query(description="History ends the week before this day.")]


@router.get(
    "/tipping",
    response_model=json_model(TippingPoint),
    summary="The weekly activity level past which returns diminish",
)
def tipping_(
    state: State,
    caller: ApiCaller,
    metric: MetricQuery,
    outcome: OutcomeQuery = "opportunities_created",
    team: TeamQuery = None,
    role: RoleQuery = None,
    lag: LagQuery = None,
    as_of: AsOf = None,
) -> JSONResponse:
    """The tipping point of `metric` for `outcome` with its bootstrap interval, the marginal
    returns below and above it, the rep-weeks behind it, the recommended weekly target and the
    scatter of rep-weeks (pooled, without names); or `supported: false` and the reason."""
    chosen = team_in_reach(state.engine, caller, team, "the tipping point")
    with input_errors("query"):
        found = tipping_point(
            state.reads,
            state.settings,
            metric,
            outcome=outcome,
            team=chosen,
            roles=role or None,
            lag_weeks=lag,
            as_of=as_of,
        )
    return result(found)
