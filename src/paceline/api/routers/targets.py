"""Targets: read those of the reps the caller may see; set one (a manager for their team,
an admin for anyone; reps may not set targets, not even their own: `services.targets` asks
`paceline.access`, and a refusal is 403 here as on every face).

Both answer with the result objects of `paceline target list --json` and `target set --json`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from paceline.analytics.plan import TargetList, list_targets
from paceline.api.deps import ApiCaller, State
from paceline.api.routers._common import (
    AUTH,
    Day,
    Label,
    Name,
    domain_errors,
    input_errors,
    readable_rep,
    result,
)
from paceline.calendar import BusinessCalendar
from paceline.serialize import json_model
from paceline.services.targets import SetTarget, set_target
from paceline.store.records import rep_refs

router = APIRouter(prefix="/targets", tags=["targets"], dependencies=AUTH)
TargetPeriod = Literal["week", "month", "quarter", "year"]


class TargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rep: Name = Field(description="Whose target (name).")
    metric: Label = Field(description="A count metric, e.g. proposals.")
    period: TargetPeriod = "month"
    date: Day | None = Field(None, description="Any day in the period; default: today.")
    value: float = Field(ge=0, le=1e12, allow_inf_nan=False, description="For the whole period.")


@router.get("", response_model=json_model(TargetList), summary="List targets")
def list_(
    state: State,
    caller: ApiCaller,
    rep: Annotated[Name | None, Query(description="Only this rep (name).")] = None,
    period: Annotated[
        TargetPeriod | None,
        Query(
            description="The targets in force for this kind of period (prorated from longer "
            "ones); without it, the stored targets."
        ),
    ] = None,
    date: Annotated[Day | None, Query(description="The period containing this day.")] = None,
) -> JSONResponse:
    """Stored targets, or those in force for one period, of the reps the caller may see."""
    reps = rep_refs(state.engine)
    if rep is not None:
        readable_rep(reps, caller, rep, "query", "rep")
    with input_errors("query"):
        found = list_targets(state.engine, state.settings, rep, period, date)
    teams = {r.id: r.team_id for r in reps.values()}
    visible = tuple(e for e in found.entries if caller.can_read_rep(e.rep_id, teams.get(e.rep_id)))
    return result(dataclasses.replace(found, entries=visible))


@router.put(
    "",
    response_model=json_model(SetTarget),
    summary="Set one rep's target for one metric and period",
)
def put(body: TargetIn, state: State, caller: ApiCaller) -> JSONResponse:
    """Set, or override, a target; a target set for a period wins over one derived from a
    longer period's."""
    day: dt.date = body.date or BusinessCalendar(state.settings.calendar).today()
    with domain_errors("body"):
        done = set_target(
            state.engine,
            state.settings,
            body.rep,
            body.metric,
            body.period,
            day,
            body.value,
            principal=caller,
        )
    return result(done)
