"""The analyses: scorecard, team scorecards, leaderboard, alerts and plan.

Each answers with exactly the result object the CLI prints with --json (the same function,
the same serialisation), so a script can move between the two. Who may:
- scorecard of a rep: the rep themself, their manager, an admin;
- team scorecards: a manager of that team, an admin (not reps);
- leaderboard: anyone of that team (an admin: any team, or everyone when no team is given);
- alerts: a manager of that team, an admin; a rep gets only the alerts about themself;
- plan: anyone may build one for their own team (an admin: any team, or everyone); saving its
  targets needs a manager of that team or an admin.
Without `team`, a manager's or rep's own team is meant; refusals follow `_common`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from paceline.analytics.alerts import AlertReport, alerts
from paceline.analytics.leaderboard import Leaderboard, LeaderboardPeriod, RankBy, leaderboard
from paceline.analytics.plan import (
    GivenRate,
    Plan,
    PlanInput,
    build_plan,
    measure_rates,
    plan_period,
    plan_weights,
)
from paceline.analytics.scorecard import (
    Scorecard,
    ScorecardPeriod,
    TeamScorecard,
    rep_scorecard,
    team_scorecards,
)
from paceline.api.deps import ApiCaller, State
from paceline.api.routers._common import (
    AUTH,
    Day,
    Label,
    Name,
    domain_errors,
    input_errors,
    invalid,
    own_rep,
    readable_rep,
    refuse,
    result,
    team_in_reach,
)
from paceline.calendar import BusinessCalendar
from paceline.serialize import json_model
from paceline.services.targets import SavedTargets, save_plan_targets
from paceline.store.records import RepRef, rep_refs

router = APIRouter(tags=["analyses"], dependencies=AUTH)
AsOf = Annotated[Day | None, Query(description="Evaluate as of this day (default: today).")]
TeamQuery = Annotated[Name | None, Query(description="The team (name); default: your own.")]
MIN_RATE = 1e-6


def _today(state: State) -> dt.date:
    return BusinessCalendar(state.settings.calendar).today()


@router.get("/scorecard", response_model=json_model(Scorecard), summary="A rep's scorecard")
def scorecard(
    state: State,
    caller: ApiCaller,
    rep: Annotated[Name | None, Query(description="The rep (name); default: yourself.")] = None,
    period: ScorecardPeriod = "month",
    as_of: AsOf = None,
) -> JSONResponse:
    """Each key metric of the rep's role against target: expected to date, pace, projection,
    run rate needed (as `paceline scorecard --rep NAME --json`)."""

    def readable(reps: dict[str, RepRef]) -> RepRef:  # asked first, on the card's connection
        if rep is None:
            mine = own_rep(reps, caller)
            if mine is None:
                raise invalid("query", "rep", "required (you are not a rep yourself)")
            return mine
        return readable_rep(reps, caller, rep, "query", "rep")

    day = as_of or _today(state)
    with input_errors("query"):
        card = rep_scorecard(state.reads, state.settings, readable, period, day)
    return result(card)


@router.get(
    "/scorecard/team",
    response_model=json_model(TeamScorecard),
    summary="Every rep's scorecard of a team, and its total",
)
def team_scorecard(
    state: State,
    caller: ApiCaller,
    team: TeamQuery = None,
    period: ScorecardPeriod = "month",
    as_of: AsOf = None,
) -> JSONResponse:
    """As `paceline scorecard --team NAME --json` (an admin without `team`: `--all`)."""
    if caller.role == "rep":
        refuse("team scorecards (ask for your own with /scorecard)")
    name = team_in_reach(state.engine, caller, team, "the scorecards")
    with input_errors("query"):
        found = team_scorecards(state.reads, state.settings, period, as_of, name)
    return result(found)


@router.get(
    "/leaderboard", response_model=json_model(Leaderboard), summary="Stack ranking on one metric"
)
def leaderboard_(
    state: State,
    caller: ApiCaller,
    metric: Annotated[Label, Query(description="The metric to rank on, e.g. conversations.")],
    period: Annotated[
        LeaderboardPeriod | None,
        Query(description="The period to date; default: the configured leaderboard.period."),
    ] = None,
    team: TeamQuery = None,
    role: Annotated[
        Label | None,
        Query(description="Only this role; `all`: every role ranked together."),
    ] = None,
    by: Annotated[
        RankBy,
        Query(description="Rank on count, target (% of own target to date) or improved."),
    ] = "count",
    as_of: AsOf = None,
) -> JSONResponse:
    """As `paceline leaderboard METRIC --json`: ranks within each role, values and moves."""
    name = team_in_reach(state.engine, caller, team, "the leaderboard")
    with input_errors("query"):
        board = leaderboard(state.reads, state.settings, metric, period, as_of, name, role, by)
    return result(board)


@router.get(
    "/alerts", response_model=json_model(AlertReport), summary="Who is behind, idle or at zero"
)
def alerts_(
    state: State, caller: ApiCaller, team: TeamQuery = None, as_of: AsOf = None
) -> JSONResponse:
    """As `paceline alerts --json`. A rep gets only the alerts about themself."""
    name = team_in_reach(state.engine, caller, team, "the alerts")
    with input_errors("query"):
        report = alerts(state.reads, state.settings, as_of, name)
    if caller.role == "rep":
        mine = own_rep(rep_refs(state.engine), caller)
        own_name = mine.name if mine else None
        report = dataclasses.replace(report, alerts=[a for a in report.alerts if a.rep == own_name])
    return result(report)


class RateIn(BaseModel):
    """A conversion between two consecutive funnel steps, e.g. proposals → deals_won 0.25."""

    model_config = ConfigDict(extra="forbid")

    upper: Label = Field(description="The upper step, e.g. proposals (prefixes and singulars do).")
    lower: Label = Field(description="The step below it, e.g. deals_won.")
    rate: float = Field(ge=0, le=100, allow_inf_nan=False, description="A fraction, e.g. 0.25.")

    @field_validator("rate")
    @classmethod
    def _not_vanishing(cls, value: float) -> float:
        if 0 < value < MIN_RATE:
            raise ValueError(f"below {MIN_RATE:g}: no funnel converts that rarely")
        return value


class PlanRequest(BaseModel):
    """What `paceline plan` is asked, as JSON."""

    model_config = ConfigDict(extra="forbid")

    revenue: float = Field(ge=0, le=1e15, allow_inf_nan=False, description="Revenue goal.")
    deal_size: float = Field(ge=0.01, le=1e12, allow_inf_nan=False, description="Average deal.")
    rates: list[RateIn] = Field(default_factory=list, max_length=50)
    headcount: int | None = Field(
        None, ge=1, le=100_000, description="Plan for this many equal reps, not the stored reps."
    )
    role: Label | None = Field(None, description="Only reps of this role.")
    team: Name | None = Field(None, description="Only reps of this team; default: your own.")
    year: int | None = Field(None, ge=1900, le=2999, description="Fiscal year starting then.")
    from_history: bool = Field(False, description="Measure every rate not given from history.")
    history_months: int | None = Field(None, ge=1, le=60)
    as_of: Day | None = Field(None, description="History ends the day before this date.")
    save: bool = Field(False, description="Store each rep's yearly targets (managers, admins).")


@dataclasses.dataclass(frozen=True)
class PlanAnswer:
    """The plan, and the targets it stored (null unless `save`), as `paceline plan --json`."""

    plan: Plan
    saved: SavedTargets | None


@router.post(
    "/plan",
    response_model=json_model(PlanAnswer),
    summary="Build a plan: revenue goal → activity targets",
)
def plan(body: PlanRequest, state: State, caller: ApiCaller) -> JSONResponse:
    """As `paceline plan ... --json`: `{"plan": ..., "saved": ...}`."""
    team = team_in_reach(state.engine, caller, body.team, "a plan")
    if body.save and body.headcount is not None:
        raise invalid("body", "save", "targets are saved for stored reps; drop headcount")
    settings = state.settings
    calendar = BusinessCalendar(settings.calendar)
    given = tuple(GivenRate(r.upper, r.lower, r.rate) for r in body.rates)
    # Whether the caller may save the plan's targets is `services.targets`' question (403).
    with input_errors("body"), domain_errors("body"):
        period = plan_period(calendar, body.year)
        weights = (
            ()
            if body.headcount is not None
            else plan_weights(state.engine, settings, period, body.role, team)
        )
        measured = (
            measure_rates(
                state.engine,
                settings,
                body.as_of or calendar.today(),
                None,  # each step on the reps of the role owning it
                team,
                body.history_months,
                by_role=True,
            )
            if body.from_history
            else None
        )
        built = build_plan(
            settings,
            calendar,
            PlanInput(
                body.revenue,
                body.deal_size,
                given,
                body.year,
                body.headcount,
                weights,
                body.role if body.headcount is not None else None,
            ),
            measured,
        )
        saved = save_plan_targets(state.engine, built, principal=caller) if body.save else None
    return result(PlanAnswer(built, saved))
