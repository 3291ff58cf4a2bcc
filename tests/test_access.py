"""The access policy (`paceline.access`), once, as a matrix: every face asks it.

Hand-built: team East has Ana and Ben (SDRs) and Max (their manager); team West has Dee.
The callers are an admin (no rep, no team), Max as manager of East and Ana as a rep. Each
row says what the caller may do with a rep seen from where they stand: themself, a teammate,
someone in another team, and a name that does not exist. Seeing a name that does not exist
is NotFound (404 on every face); a name in a body to write for is an InputError (422).
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from access_org import build_org, callers
from paceline import access
from paceline.auth.access import Principal
from paceline.config import Settings
from paceline.errors import Forbidden, InputError, NotFound
from paceline.services.activities import Entry, Writer, create
from paceline.store.listings import ActivityFilter, list_activities
from paceline.store.records import rep_refs

OK = "ok"


@pytest.fixture
def org(engine: Engine, settings: Settings) -> dict[str, int]:
    return build_org(engine, settings)


# Whom each relation means, for each caller (an admin is nobody's teammate: "Ana").
WHO = {
    "admin": {"own": None, "teammate": "Ana", "other team": "Dee", "unknown": "Zed"},
    "manager": {"own": "Max", "teammate": "Ana", "other team": "Dee", "unknown": "Zed"},
    "rep": {"own": "Ana", "teammate": "Ben", "other team": "Dee", "unknown": "Zed"},
}
# (role, relation) -> (see, change)
MATRIX = {
    ("admin", "teammate"): (OK, OK),
    ("admin", "other team"): (OK, OK),
    ("admin", "unknown"): (NotFound, InputError),
    ("manager", "own"): (OK, OK),
    ("manager", "teammate"): (OK, OK),
    ("manager", "other team"): (Forbidden, Forbidden),
    ("manager", "unknown"): (NotFound, InputError),
    ("rep", "own"): (OK, OK),
    ("rep", "teammate"): (Forbidden, Forbidden),
    ("rep", "other team"): (Forbidden, Forbidden),
    ("rep", "unknown"): (NotFound, InputError),
}


def outcome(call: object) -> object:
    try:
        call()  # type: ignore[operator]
    except (NotFound, Forbidden, InputError) as exc:
        return type(exc)
    return OK


def test_reps_matrix(engine: Engine, org: dict[str, int]) -> None:
    reps = rep_refs(engine)
    found = {}
    for role, principal in callers(engine, org).items():
        for relation, name in WHO[role].items():
            if name is None:
                continue
            see = outcome(lambda: access.readable_rep(reps, principal, name))  # noqa: B023
            change = outcome(lambda: access.writable_rep(reps, principal, name))  # noqa: B023
            found[role, relation] = (see, change)
    assert found == MATRIX


def test_a_rep_by_id_answers_as_by_name(engine: Engine, org: dict[str, int]) -> None:
    """Pages and the API address reps by id (`/reps/{id}`): the same verdicts as by name,
    an unknown id included (it was 403 on the pages and 404 in the API for one out of reach)."""
    ids = {**org, "Zed": max(org.values()) + 100}
    found = {}
    for role, principal in callers(engine, org).items():
        for relation, name in WHO[role].items():
            if name is not None:
                see = outcome(lambda: access.rep_by_id(engine, principal, ids[name], "x"))  # noqa: B023
                found[role, relation] = see
    assert found == {key: verdicts[0] for key, verdicts in MATRIX.items()}


def test_an_unknown_rep_names_its_field_and_suggests_only_reps_in_reach(
    engine: Engine, org: dict[str, int]
) -> None:
    reps = rep_refs(engine)
    people = callers(engine, org)
    with pytest.raises(NotFound) as admin_sees:
        access.readable_rep(reps, people["admin"], "Dea", field="owner")
    assert admin_sees.value.field == "owner"
    assert admin_sees.value.message == "no rep named 'Dea'; did you mean 'Dee'?"
    with pytest.raises(NotFound) as rep_sees:  # Dee is in West: not suggested to Ana
        access.readable_rep(reps, people["rep"], "Dea")
    assert rep_sees.value.message == "no rep named 'Dea'"
    with pytest.raises(InputError) as in_body:
        access.writable_rep(reps, people["manager"], "Zed")
    assert in_body.value.field == "rep" and in_body.value.reason == "no rep named 'Zed'"


def test_writing_without_a_rep_means_yourself(engine: Engine, org: dict[str, int]) -> None:
    reps = rep_refs(engine)
    people = callers(engine, org)
    assert access.writable_rep(reps, people["rep"], None).id == org["Ana"]
    assert access.writable_rep(reps, people["manager"], None).id == org["Max"]
    with pytest.raises(InputError, match="required"):
        access.writable_rep(reps, people["admin"], None)


# (role, team) -> (team pages, team diagnosis)
TEAMS = {
    ("admin", "East"): (OK, OK),
    ("admin", "West"): (OK, OK),
    ("admin", "Nowhere"): (NotFound, NotFound),
    ("manager", "East"): (OK, OK),
    ("manager", "West"): (Forbidden, Forbidden),
    ("manager", "Nowhere"): (NotFound, NotFound),
    ("rep", "East"): (OK, Forbidden),  # their team's leaderboard, not every rep diagnosed
    ("rep", "West"): (Forbidden, Forbidden),
    ("rep", "Nowhere"): (NotFound, NotFound),
}


def test_teams_matrix(engine: Engine, org: dict[str, int]) -> None:
    found = {}
    for role, principal in callers(engine, org).items():
        for team in ("East", "West", "Nowhere"):
            pages = outcome(lambda: access.team_in_reach(engine, principal, team, "x"))  # noqa: B023
            diagnosis = outcome(
                lambda: access.diagnosis_subject(engine, principal, None, team, "x")  # noqa: B023
            )
            found[role, team] = (pages, diagnosis)
    assert found == TEAMS


def test_nothing_asked_means_your_own(engine: Engine, org: dict[str, int]) -> None:
    people = callers(engine, org)
    assert access.diagnosis_subject(engine, people["admin"], None, None, "x") == (None, None)
    assert access.diagnosis_subject(engine, people["manager"], None, None, "x") == (None, "East")
    assert access.diagnosis_subject(engine, people["rep"], None, None, "x") == ("Ana", None)
    assert access.team_in_reach(engine, people["rep"], None, "x") == "East"
    linked_to_nobody = Principal(4, "ghost", "rep", None, None)
    with pytest.raises(InputError) as caught:
        access.diagnosis_subject(engine, linked_to_nobody, None, None, "x")
    assert caught.value.field == "rep"
    teamless = Principal(5, "boss", "manager", None, None)
    with pytest.raises(Forbidden):
        access.team_in_reach(engine, teamless, None, "x")


def test_scope_reads_what_the_matrix_allows(
    engine: Engine, settings: Settings, org: dict[str, int]
) -> None:
    """One activity per rep; each caller's scope reads exactly the reps they may see."""
    admin = callers(engine, org)["admin"]
    writer = Writer.of(engine, settings, admin, now=dt.datetime(2026, 11, 18, 12))
    for name in org:
        create(writer, Entry(rep=name, kind="email", occurred_at=dt.datetime(2026, 11, 17, 10)))
    for role, principal in callers(engine, org).items():
        page = list_activities(
            engine, access.scope_of(principal), ActivityFilter(), 50, 0, zone=settings.calendar.zone
        )
        read = sorted(a.rep for a in page.items)
        expected = {"admin": ["Ana", "Ben", "Dee", "Max"], "manager": ["Ana", "Ben", "Max"]}
        assert read == expected.get(role, ["Ana"]), role
    nobody = Principal(6, "new", "rep", None, None)
    assert (
        list_activities(
            engine, access.scope_of(nobody), ActivityFilter(), 50, 0, zone=settings.calendar.zone
        ).total
        == 0
    )
