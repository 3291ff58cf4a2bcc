"""The revenue equation, busy-versus-productive and when-to-sell, as JSON.

Each answers with exactly the result object the CLI prints with --json (`paceline equation`,
`quality`, `when`). Who may read what: a rep their own diagnosis only (asking without `rep`
means themself), a manager their team's reps, an admin anyone; without `rep` or `team` a
manager means their own team and an admin everyone; with both, the rep is looked up among
the team's reps. Refusals follow `_common`: 403 for a rep or team outside the caller's reach,
422 naming the parameter for unknown names or periods.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from paceline.analytics.equation import EquationReport, revenue_equation
from paceline.analytics.quality import QualityReport, busy_vs_productive
from paceline.analytics.timing import WhenToSell, when_to_sell
from paceline.api.deps import ApiCaller, State
from paceline.api.routers._common import AUTH, SubjectAsked, diagnosis_result
from paceline.serialize import json_model

router = APIRouter(tags=["diagnosis"], dependencies=AUTH)


@router.get(
    "/equation",
    response_model=json_model(EquationReport),
    summary="The revenue equation, factor by factor against peers",
)
def equation(state: State, caller: ApiCaller, asked: SubjectAsked) -> JSONResponse:
    """Revenue = prospects x selling activities per prospect x wins per selling activity x
    revenue per win, each against the peers' median, with each factor's log contribution to
    the gap (as `paceline equation --json`)."""
    return diagnosis_result(
        state, caller, asked, revenue_equation, "revenue equation", rep_in_team=True
    )


@router.get(
    "/quality",
    response_model=json_model(QualityReport),
    summary="Busy vs productive: selling time and engagement",
)
def quality(state: State, caller: ApiCaller, asked: SubjectAsked) -> JSONResponse:
    """Selling share of logged time, activity mix, connect, ask and engagement rates,
    decision-maker share, and the `low_selling_time` and `high_volume_low_engagement` flags
    (as `paceline quality --json`)."""
    return diagnosis_result(
        state, caller, asked, busy_vs_productive, "busy-vs-productive view", rep_in_team=True
    )


@router.get(
    "/when",
    response_model=json_model(WhenToSell),
    summary="When to sell: rates by local weekday and hour",
)
def when(state: State, caller: ApiCaller, asked: SubjectAsked) -> JSONResponse:
    """Activity volume, connect rate (per call) and engagement rate (per outreach attempt:
    `attempts`, any selling-kind activity, Ask or not) by business-local weekday x hour, and
    the best hours to call (as `paceline when --json`)."""
    return diagnosis_result(state, caller, asked, when_to_sell, "call hours", rep_in_team=True)
