"""Account lifecycle promises (issue 16), seen as the issue saw them, through the API, for a
browser session and an API token alike, on SQLite and PostgreSQL:

- a token minted with a token dies with it (and the tokens minted with that one);
- a password change ends every session and revokes every token;
- a deactivated user is refused at once, and activating them brings nothing back;
- a rep moved to another team loses the old team's access at the next request.

Hand-built: reps Ana and Max (East), Zoe (West); users root (admin), ana (rep Ana),
max (manager, rep Max).
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from factories import made_app
from paceline.access import OPERATOR
from paceline.auth.accounts import authenticate, start_session
from paceline.callers import SESSION_COOKIE
from paceline.config import Settings
from paceline.errors import InputError
from paceline.services import reps, users
from paceline.services.reps import add_rep
from paceline.store.migrate import upgrade

PASSWORD = "correct horse battery"
API = "/api/v1"


@pytest.fixture
def app(engine: Engine, settings: Settings) -> TestClient:
    upgrade(engine)
    add_rep(engine, settings, "Ana", "ae", team="East")
    add_rep(engine, settings, "Max", "ae", team="East")
    add_rep(engine, settings, "Zoe", "ae", team="West")
    users.add_user(engine, OPERATOR, "root", PASSWORD, "admin")
    users.add_user(engine, OPERATOR, "ana", PASSWORD, "rep", rep="Ana")
    users.add_user(engine, OPERATOR, "max", PASSWORD, "manager", rep="Max")
    return TestClient(made_app(settings, engine))


def token_of(engine: Engine, username: str, name: str = "t") -> str:
    return users.create_token(engine, OPERATOR, username, name).token


def session_of(engine: Engine, username: str) -> str:
    principal = authenticate(engine, username, PASSWORD, "127.0.0.1")
    return start_session(engine, principal.user_id)[0]


def with_token(client: TestClient, token: str, path: str = "/tokens") -> int:
    return client.get(API + path, headers={"Authorization": f"Bearer {token}"}).status_code


def with_session(client: TestClient, cookie: str, path: str = "/tokens") -> int:
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, cookie)
    try:
        return client.get(API + path).status_code
    finally:
        client.cookies.clear()


def mint(client: TestClient, token: str, name: str) -> tuple[int, str]:
    made = client.post(
        API + "/tokens", json={"name": name}, headers={"Authorization": f"Bearer {token}"}
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"]), str(made.json()["token"])


def test_a_token_minted_with_a_token_dies_with_it(app: TestClient, engine: Engine) -> None:
    first = token_of(engine, "ana", "laptop")
    child_id, child = mint(app, first, "script")
    _, grandchild = mint(app, child, "cron")
    sibling = token_of(engine, "ana", "other")  # made by the operator: no parent
    assert [with_token(app, t) for t in (first, child, grandchild, sibling)] == [200] * 4
    ana_tokens = app.get(API + "/tokens", headers={"Authorization": f"Bearer {first}"}).json()
    first_id = next(t["id"] for t in ana_tokens if t["name"] == "laptop")
    revoked = users.revoke_token(engine, OPERATOR, "ana", first_id)
    assert [with_token(app, t) for t in (first, child, grandchild, sibling)] == [401, 401, 401, 200]
    assert revoked == [first_id, child_id, child_id + 1]


def test_revoking_a_child_leaves_its_parent(app: TestClient, engine: Engine) -> None:
    first = token_of(engine, "ana")
    child_id, child = mint(app, first, "script")
    deleted = app.delete(f"{API}/tokens/{child_id}", headers={"Authorization": f"Bearer {first}"})
    assert deleted.status_code == 204
    assert (with_token(app, first), with_token(app, child)) == (200, 401)


def test_a_password_change_ends_sessions_and_revokes_tokens(
    app: TestClient, engine: Engine
) -> None:
    token, other = token_of(engine, "ana"), token_of(engine, "root")
    session, root_session = session_of(engine, "ana"), session_of(engine, "root")
    assert (with_token(app, token), with_session(app, session)) == (200, 200)
    changed = users.set_password(engine, OPERATOR, "ana", "a new long password")
    assert (with_token(app, token), with_session(app, session)) == (401, 401)
    assert changed == (1, 1)  # (sessions ended, tokens revoked)
    assert (with_token(app, other), with_session(app, root_session)) == (200, 200)
    fresh = token_of(engine, "ana")  # a token made after the change works
    assert with_token(app, fresh) == 200


def test_a_deactivated_user_is_refused_at_once(app: TestClient, engine: Engine) -> None:
    token, session = token_of(engine, "ana"), session_of(engine, "ana")
    root = token_of(engine, "root")
    ana_id = next(
        u["id"]
        for u in app.get(API + "/users", headers={"Authorization": f"Bearer {root}"}).json()
        if u["username"] == "ana"
    )
    patched = app.patch(
        f"{API}/users/{ana_id}",
        json={"active": False},
        headers={"Authorization": f"Bearer {root}"},
    )
    assert patched.status_code == 200 and patched.json()["active"] is False
    assert (with_token(app, token), with_session(app, session)) == (401, 401)
    login = app.post("/login", data={"username": "ana", "password": PASSWORD})
    assert SESSION_COOKIE not in login.cookies
    assert users.set_active(engine, OPERATOR, "ana", True) is True
    # activating again brings no old session or token back, but a new login works
    assert (with_token(app, token), with_session(app, session)) == (401, 401)
    assert with_session(app, session_of(engine, "ana")) == 200


def test_only_admins_deactivate_and_not_themselves(app: TestClient, engine: Engine) -> None:
    ana, root = token_of(engine, "ana"), token_of(engine, "root")
    listed = app.get(API + "/users", headers={"Authorization": f"Bearer {root}"}).json()
    ids = {u["username"]: u["id"] for u in listed}
    refused = app.patch(
        f"{API}/users/{ids['root']}",
        json={"active": False},
        headers={"Authorization": f"Bearer {ana}"},
    )
    assert refused.status_code == 403
    own = app.patch(
        f"{API}/users/{ids['root']}",
        json={"active": False},
        headers={"Authorization": f"Bearer {root}"},
    )
    assert own.status_code == 422
    assert with_token(app, root) == 200
    missing = app.patch(
        f"{API}/users/999999", json={"active": False}, headers={"Authorization": f"Bearer {root}"}
    )
    assert missing.status_code == 404


def test_a_rep_moved_to_another_team_loses_the_old_one(
    app: TestClient, engine: Engine, settings: Settings
) -> None:
    token, session = token_of(engine, "max"), session_of(engine, "max")
    east, west = "/activities?team=East", "/activities?team=West"
    assert (with_token(app, token, east), with_session(app, session, east)) == (200, 200)
    assert (with_token(app, token, west), with_session(app, session, west)) == (403, 403)
    reps.edit_rep(engine, settings, "Max", {"team": "West"})
    assert (with_token(app, token, east), with_session(app, session, east)) == (403, 403)
    assert (with_token(app, token, west), with_session(app, session, west)) == (200, 200)


def test_a_team_beside_a_rep_must_be_the_reps(app: TestClient, engine: Engine) -> None:
    with pytest.raises(InputError, match="team"):
        users.add_user(engine, OPERATOR, "eve", PASSWORD, "manager", rep="Zoe", team="East")


def test_the_users_page_deactivates(app: TestClient, engine: Engine) -> None:
    """The admin's button on the Users page: a form post with the session's CSRF token."""
    token = token_of(engine, "ana")
    root = authenticate(engine, "root", PASSWORD, "127.0.0.1")
    cookie, csrf = start_session(engine, root.user_id)
    app.cookies.set(SESSION_COOKIE, cookie)
    forged = app.post("/users/ana/active", data={"csrf": "wrong", "active": "0"})
    assert forged.status_code == 403 and with_token(app, token) == 200
    done = app.post("/users/ana/active", data={"csrf": csrf, "active": "0"}, follow_redirects=False)
    assert done.status_code == 303
    app.cookies.clear()
    assert with_token(app, token) == 401
