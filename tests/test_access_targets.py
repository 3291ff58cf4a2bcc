"""Who may set targets (`paceline.access.require_set_targets`), as a matrix, asked where
targets are written (`services.targets`), so every face gets the same answer.

Hand-built, as in the rest of the access matrix: team East has Ana and Ben (SDRs) and Max
(their manager); team West has Dee. The callers are an admin (no rep, no team), Max as
manager of East and Ana as a rep. The rule, from the roles' description: an admin sets
anyone's targets, a manager those of their own team's reps, a rep nobody's (not even their
own). A name that does not exist is an InputError naming the field, whoever asks.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, select

from access_org import build_org, callers
from paceline import access
from paceline.analytics.plan import PlanInput, build_plan, parse_rate, plan_period, plan_weights
from paceline.auth.access import Principal
from paceline.calendar import BusinessCalendar
from paceline.config import Settings
from paceline.errors import Forbidden, InputError, NotFound
from paceline.services.targets import save_plan_targets, set_target
from paceline.store.models import Target
from paceline.store.records import rep_refs

OK = "ok"
RATES = tuple(
    parse_rate(text)
    for text in (
        "calls:conversations=0.2",
        "conversations:meetings_set=0.5",
        "meetings_set:meetings_held=0.8",
        "meetings_held:proposals=0.25",
        "proposals:deals_won=0.25",
    )
)


@pytest.fixture
def org(engine: Engine, settings: Settings) -> dict[str, int]:
    return build_org(engine, settings)


WHO = {
    "admin": {"teammate": "Ana", "other team": "Dee", "unknown": "Zed"},
    "manager": {"own": "Max", "teammate": "Ana", "other team": "Dee", "unknown": "Zed"},
    "rep": {"own": "Ana", "teammate": "Ben", "other team": "Dee", "unknown": "Zed"},
}
# (role, relation) -> setting that rep's target
MATRIX = {
    ("admin", "teammate"): OK,
    ("admin", "other team"): OK,
    ("admin", "unknown"): InputError,
    ("manager", "own"): OK,
    ("manager", "teammate"): OK,
    ("manager", "other team"): Forbidden,
    ("manager", "unknown"): InputError,
    ("rep", "own"): Forbidden,  # a rep never sets targets, not even their own
    ("rep", "teammate"): Forbidden,
    ("rep", "other team"): Forbidden,
    ("rep", "unknown"): InputError,
}


def outcome(call: object) -> object:
    try:
        call()  # type: ignore[operator]
    except (NotFound, Forbidden, InputError) as exc:
        return type(exc)
    return OK


def stored_targets(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(Target)) or 0)


def test_set_targets_matrix(engine: Engine, settings: Settings, org: dict[str, int]) -> None:
    """The service answers what the policy says, and writes only what it allows."""
    day = dt.date(2026, 11, 17)

    def verdict(principal: Principal, name: str) -> object:
        return outcome(
            lambda: set_target(engine, settings, name, "calls", "month", day, 10.0, principal)
        )

    found = {}
    for role, principal in callers(engine, org).items():
        for relation, name in WHO[role].items():
            found[role, relation] = verdict(principal, name)
    assert found == MATRIX
    with engine.connect() as conn:  # the admin's and the manager's target for Ana are one
        written = set(conn.scalars(select(Target.rep_id)))
    assert written == {org["Ana"], org["Dee"], org["Max"]}


def test_the_policy_answers_alike_by_reference(engine: Engine, org: dict[str, int]) -> None:
    """`may_set_targets` itself, on the reps by record, matches the service's matrix."""
    reps = rep_refs(engine)
    for role, principal in callers(engine, org).items():
        for relation, name in WHO[role].items():
            if name == "Zed":
                continue
            allowed = access.may_set_targets(principal, reps[name.lower()])
            assert allowed == (MATRIX[role, relation] == OK), (role, relation)


def test_a_refusal_names_the_rep(engine: Engine, settings: Settings, org: dict[str, int]) -> None:
    manager = callers(engine, org)["manager"]
    with pytest.raises(Forbidden) as caught:
        set_target(engine, settings, "dee", "calls", "month", dt.date(2026, 11, 17), 5.0, manager)
    assert caught.value.what == "set targets for rep 'Dee'"
    assert str(caught.value) == "not allowed: set targets for rep 'Dee'"


def test_an_unknown_rep_suggests_only_reps_in_reach(
    engine: Engine, settings: Settings, org: dict[str, int]
) -> None:
    """A manager of East typing "Dea" is not told about Dee of West; the operator at the
    command line is, and is told how to add a rep."""
    people = callers(engine, org)
    day = dt.date(2026, 11, 17)
    with pytest.raises(InputError) as manager_sees:
        set_target(engine, settings, "Dea", "calls", "month", day, 5.0, people["manager"])
    assert (manager_sees.value.field, manager_sees.value.reason) == ("rep", "no rep named 'Dea'")
    with pytest.raises(InputError) as operator_sees:
        set_target(engine, settings, "Dea", "calls", "month", day, 5.0, access.OPERATOR)
    assert operator_sees.value.reason == (
        "no rep named 'Dea'; did you mean 'Dee'? (add one with `paceline rep add`)"
    )


def _team_plan(engine: Engine, settings: Settings, team: str) -> object:
    calendar = BusinessCalendar(settings.calendar)
    period = plan_period(calendar, 2026)
    weights = plan_weights(engine, settings, period, "sdr", team)
    return build_plan(settings, calendar, PlanInput(1e6, 2e4, RATES, 2026, reps=weights))


# (role, team of the plan) -> saving its targets
PLANS = {
    ("admin", "East"): OK,
    ("admin", "West"): OK,
    ("manager", "East"): OK,
    ("manager", "West"): Forbidden,
    ("rep", "East"): Forbidden,
    ("rep", "West"): Forbidden,
}


def test_saving_a_plan_matrix(engine: Engine, settings: Settings, org: dict[str, int]) -> None:
    """A plan's targets are saved only when the caller may set every one of its reps'; a
    refusal stores nothing."""
    found = {}
    plans = {team: _team_plan(engine, settings, team) for team in ("East", "West")}
    for role, principal in callers(engine, org).items():
        for team, plan in plans.items():
            before = stored_targets(engine)
            found[role, team] = outcome(
                lambda: save_plan_targets(engine, plan, principal=principal)  # type: ignore[arg-type]  # noqa: B023
            )
            if found[role, team] != OK:
                assert stored_targets(engine) == before, (role, team)
    assert found == PLANS
    with pytest.raises(Forbidden) as caught:
        save_plan_targets(engine, plans["West"], principal=callers(engine, org)["manager"])  # type: ignore[arg-type]
    assert caught.value.what == "set targets for rep 'Dee'"
