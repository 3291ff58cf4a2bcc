"""The role matrix: who may read and write what through the API, including every refusal.

Users: root (admin), max (manager of East), ana (rep in East), dee (rep in West). East is
Ana, Ben, Cy and Max; West is Dee. Expected answers follow `paceline.auth.access` and the
refusal policy of `paceline.api.routers._common`: a record by id outside one's reach is 404
(like a missing one), a named rep or team outside it, or a forbidden action, is 403, and no
or a bad credential is 401.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, update

from factories import API_OPERATIONS, Api, make_api, migrated_sqlite_copy, quick_user
from paceline.api.deps import CSRF_HEADER, SESSION_COOKIE
from paceline.auth.accounts import create_token, start_session
from paceline.config import default_settings
from paceline.store.models import AppUser

USERS = ("root", "max", "ana", "dee")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, dict[str, int]]]:
    settings = default_settings()
    engine = migrated_sqlite_copy(tmp_path_factory, tmp_path_factory.mktemp("roles"))
    api = make_api(engine, settings)
    ids: dict[str, int] = {}
    for rep in ("Ana", "Ben", "Dee"):
        ids[f"{rep.lower()}_act"] = api.activity_ids(rep)[0]
        ids[f"{rep.lower()}_rep"] = api.reps[rep]
    for rep in ("Ana", "Cy", "Dee"):
        made = api.post(
            "root", "/deals", {"rep": rep, "name": f"{rep}'s", "amount": 10, "stage": "prospect"}
        )
        ids[f"{rep.lower()}_deal"] = made.json()["id"]
    with api.client:
        yield api, ids


def row(method: str, path: str, body: Any, *expected: int | None) -> list[Any]:
    """One action, with the status expected for root, max, ana and dee (None: not asked)."""
    assert len(expected) == len(USERS)
    return [
        pytest.param(user, method, path, body, status, id=f"{user} {method} {path} {body or ''}")
        for user, status in zip(USERS, expected, strict=True)
        if status is not None
    ]


def _rates() -> list[dict[str, Any]]:
    steps = list(default_settings().funnel.steps)
    return [{"upper": u, "lower": lo, "rate": 0.5} for u, lo in itertools.pairwise(steps)]


PLAN = {"revenue": 1e6, "deal_size": 2e4, "headcount": 3, "rates": _rates()}
SAVE = {"revenue": 1e6, "deal_size": 2e4, "save": True, "rates": _rates()}
MATRIX = [
    # activities, one by id: 404 outside one's reach
    *row("GET", "/activities/{ana_act}", None, 200, 200, 200, 404),
    *row("GET", "/activities/{ben_act}", None, 200, 200, 404, 404),
    *row("GET", "/activities/{dee_act}", None, 200, 404, 404, 200),
    *row("PATCH", "/activities/{ana_act}", {"notes": "seen"}, 200, 200, 200, 404),
    *row("PATCH", "/activities/{ben_act}", {"notes": "seen"}, 200, 200, 404, 404),
    *row("PATCH", "/activities/{dee_act}", {"notes": "seen"}, 200, 404, 404, 200),
    *row("PATCH", "/activities/{ana_act}", {"rep": "Dee"}, None, 403, 403, 404),
    # activities, lists and new ones: a named rep or team outside one's reach is 403
    *row("GET", "/activities", None, 200, 200, 200, 200),
    *row("GET", "/activities?rep=Ben", None, 200, 200, 403, 403),
    *row("GET", "/activities?rep=Dee", None, 200, 403, 403, 200),
    *row("GET", "/activities?team=East", None, 200, 200, 200, 403),
    *row("GET", "/activities?team=West", None, 200, 403, 403, 200),
    *row("POST", "/activities", {"kind": "call", "rep": "Ana"}, 201, 201, 201, 403),
    *row("POST", "/activities", {"kind": "call", "rep": "Ben"}, 201, 201, 403, 403),
    *row("POST", "/activities", {"kind": "call", "rep": "Dee"}, 201, 403, 403, 201),
    *row("POST", "/activities", {"kind": "call"}, 422, 201, 201, 201),
    *row(
        "POST", "/activities/bulk", {"items": [{"kind": "call", "rep": "Dee"}]}, 200, 200, 200, 200
    ),
    # deals
    *row("GET", "/deals/{ana_deal}", None, 200, 200, 200, 404),
    *row("GET", "/deals/{cy_deal}", None, 200, 200, 404, 404),
    *row("GET", "/deals/{dee_deal}", None, 200, 404, 404, 200),
    *row("PATCH", "/deals/{cy_deal}", {"amount": 20}, 200, 200, 404, 404),
    *row("PATCH", "/deals/{dee_deal}", {"amount": 20}, 200, 404, 404, 200),
    *row("PATCH", "/deals/{ana_deal}", {"rep": "Dee"}, None, 403, 403, 404),
    *row("GET", "/deals?rep=Cy", None, 200, 200, 403, 403),
    *row("GET", "/deals?team=West", None, 200, 403, 403, 200),
    *row(
        "POST",
        "/deals",
        {"rep": "Cy", "name": "n", "amount": 1, "stage": "prospect"},
        201,
        201,
        403,
        403,
    ),
    *row(
        "POST",
        "/deals",
        {"rep": "Dee", "name": "n", "amount": 1, "stage": "prospect"},
        201,
        403,
        403,
        201,
    ),
    *row(
        "POST",
        "/deals",
        {"name": "n", "amount": 1, "stage": "prospect", "sourced_by": "Ben"},
        422,
        201,
        201,
        403,
    ),
    # reps and teams
    *row("GET", "/reps/{ana_rep}", None, 200, 200, 200, 403),
    *row("GET", "/reps/{ben_rep}", None, 200, 200, 403, 403),
    *row("GET", "/reps/{dee_rep}", None, 200, 403, 403, 200),
    *row("GET", "/reps", None, 200, 200, 200, 200),
    *row("GET", "/reps?team=East", None, 200, 200, 200, 403),
    *row("GET", "/teams", None, 200, 200, 200, 200),
    # scorecards: a rep's own, a manager's team, an admin everyone; team cards not for reps
    *row("GET", "/scorecard?rep=Ana", None, 200, 200, 200, 403),
    *row("GET", "/scorecard?rep=Ben", None, 200, 200, 403, 403),
    *row("GET", "/scorecard?rep=Dee", None, 200, 403, 403, 200),
    *row("GET", "/scorecard", None, 422, 200, 200, 200),
    *row("GET", "/scorecard/team", None, 200, 200, 403, 403),
    *row("GET", "/scorecard/team?team=East", None, 200, 200, 403, 403),
    *row("GET", "/scorecard/team?team=West", None, 200, 403, 403, 403),
    # leaderboards: one's own team (an admin any, or everyone)
    *row("GET", "/leaderboard?metric=conversations", None, 200, 200, 200, 200),
    *row("GET", "/leaderboard?metric=conversations&team=East", None, 200, 200, 200, 403),
    *row("GET", "/leaderboard?metric=conversations&team=West", None, 200, 403, 403, 200),
    # alerts: a manager's team; a rep gets their own only (checked below)
    *row("GET", "/alerts", None, 200, 200, 200, 200),
    *row("GET", "/alerts?team=East", None, 200, 200, 200, 403),
    *row("GET", "/alerts?team=West", None, 200, 403, 403, 200),
    # targets: read one's reach; set: managers for their team, admins; never reps
    *row("GET", "/targets", None, 200, 200, 200, 200),
    *row("GET", "/targets?rep=Ben", None, 200, 200, 403, 403),
    *row("PUT", "/targets", {"rep": "Ana", "metric": "calls", "value": 5}, 200, 200, 403, 403),
    *row("PUT", "/targets", {"rep": "Dee", "metric": "calls", "value": 5}, 200, 403, 403, 403),
    # plans: build for one's team; save needs its manager or an admin
    *row("POST", "/plan", PLAN, 200, 200, 200, 200),
    *row("POST", "/plan", {**PLAN, "team": "West"}, 200, 403, 403, 200),
    *row("POST", "/plan", {**SAVE, "team": "East"}, 200, 200, 403, 403),
    *row("POST", "/plan", {**SAVE, "team": "West"}, 200, 403, 403, 403),
    # users: admins only
    *row("GET", "/users", None, 200, 403, 403, 403),
    *row(
        "POST",
        "/users",
        {"username": "x", "password": "0123456789", "role": "admin"},
        201,
        403,
        403,
        403,
    ),
    # one's own tokens
    *row("GET", "/tokens", None, 200, 200, 200, 200),
]


@pytest.mark.parametrize(("user", "method", "path", "body", "expected"), MATRIX)
def test_role_matrix(
    world: tuple[Api, dict[str, int]],
    user: str,
    method: str,
    path: str,
    body: Any,
    expected: int,
) -> None:
    api, ids = world
    response = api.call(user, method, path.format(**ids), json=body)
    assert response.status_code == expected, response.text


def test_what_each_one_sees(world: tuple[Api, dict[str, int]]) -> None:
    api, _ = world

    def listed(user: str, path: str, key: str) -> set[Any]:
        data = api.get(user, path).json()
        items = data["items"] if isinstance(data, dict) and "items" in data else data
        return {item[key] for item in items}

    assert listed("ana", "/activities?limit=500", "rep") == {"Ana"}
    assert listed("max", "/activities?limit=500", "team") == {"East"}
    assert listed("dee", "/activities?limit=500", "rep") == {"Dee"}
    assert listed("root", "/activities?limit=500", "team") == {"East", "West"}
    assert listed("ana", "/deals", "rep") == {"Ana"}
    assert listed("max", "/deals", "team") == {"East"}
    assert listed("ana", "/reps", "name") == {"Ana"}
    assert listed("max", "/reps", "name") == {"Ana", "Ben", "Cy", "Max"}
    assert listed("dee", "/teams", "name") == {"West"}
    assert listed("root", "/teams", "name") == {"East", "West"}
    assert {e["rep"] for e in api.get("ana", "/targets").json()["entries"]} <= {"Ana"}
    assert {e["rep"] for e in api.get("max", "/targets").json()["entries"]} <= {"Ana", "Ben", "Cy"}
    board = api.get("ana", "/leaderboard?metric=conversations&as_of=2026-11-18").json()
    assert board["team"] == "East" and {r["team"] for r in board["rows"]} == {"East"}
    assert api.get("root", "/leaderboard?metric=conversations").json()["team"] is None
    assert {a["rep"] for a in api.get("ana", "/alerts?as_of=2026-11-18").json()["alerts"]} == {
        "Ana"
    }
    east = api.get("max", "/alerts?as_of=2026-11-18").json()["alerts"]
    assert {a["team"] for a in east} == {"East"} and {"Ana", "Cy"} <= {a["rep"] for a in east}
    # A bulk item for someone out of reach is refused on its own.
    answer = api.post(
        "ana", "/activities/bulk", {"items": [{"kind": "call"}, {"kind": "call", "rep": "Ben"}]}
    )
    assert [(r["ok"], r["status"]) for r in answer.json()["results"]] == [(True, 201), (False, 403)]


@pytest.mark.parametrize("kind", ["activities", "deals"])
def test_who_may_delete(world: tuple[Api, dict[str, int]], kind: str) -> None:
    api, _ = world
    expected = {
        "Ana": (204, 204, 204, 404),
        "Cy": (204, 204, 404, 404),
        "Dee": (204, 404, 404, 204),
    }
    for owner, statuses in expected.items():
        for user, status in zip(USERS, statuses, strict=True):
            body = {"rep": owner, "kind": "call"}
            if kind == "deals":
                body = {"rep": owner, "name": "doomed", "amount": 1, "stage": "prospect"}
            made = api.post("root", f"/{kind}", body).json()["id"]
            assert api.delete(user, f"/{kind}/{made}").status_code == status, (user, owner)
            still = api.get("root", f"/{kind}/{made}").status_code
            assert still == (404 if status == 204 else 200)


def test_credentials(world: tuple[Api, dict[str, int]]) -> None:
    api, _ = world
    # No credentials, or bad ones: 401 on every operation.
    for method, path in API_OPERATIONS:
        url = path.replace("/api/v1", "").format(
            activity_id=1, deal_id=1, rep_id=1, token_id=1, user_id=1
        )
        for headers in ({}, {"Authorization": "Bearer pl_not-a-token"}):
            response = api.call(None, method, url, json={}, headers=headers)
            assert response.status_code == 401, (method, path, headers)
    # A deactivated user's token stops working.
    quick_user(api.engine, "gone", "rep", rep="Ben")
    token = create_token(api.engine, "gone", "t").token
    bearer = {"Authorization": f"Bearer {token}"}
    assert api.get(None, "/activities", headers=bearer).status_code == 200
    with api.engine.begin() as conn:
        conn.execute(update(AppUser).where(AppUser.username == "gone").values(active=False))
    assert api.get(None, "/activities", headers=bearer).status_code == 401


def test_browser_session_needs_csrf_to_write(world: tuple[Api, dict[str, int]]) -> None:
    """The web pages call the API with the session cookie: same rules, plus CSRF on writes."""
    api, ids = world
    with api.engine.connect() as conn:
        ana_id = conn.scalar(select(AppUser.id).where(AppUser.username == "ana"))
    cookie, csrf = start_session(api.engine, int(ana_id))
    client = api.client
    client.cookies.set(SESSION_COOKIE, cookie)
    try:
        assert client.get("/api/v1/activities").status_code == 200
        body = {"kind": "call"}
        assert client.post("/api/v1/activities", json=body).status_code == 403
        wrong = {CSRF_HEADER: "guess"}
        assert client.post("/api/v1/activities", json=body, headers=wrong).status_code == 403
        right = {CSRF_HEADER: csrf}
        assert client.post("/api/v1/activities", json=body, headers=right).status_code == 201
        other = {"kind": "call", "rep": "Ben"}
        assert client.post("/api/v1/activities", json=other, headers=right).status_code == 403
        assert client.get(f"/api/v1/activities/{ids['dee_act']}").status_code == 404
    finally:
        client.cookies.clear()
