"""Accounts, logins, sessions and tokens on both databases; the role rules by hand."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from typer.testing import CliRunner

from paceline.auth.access import Principal
from paceline.auth.accounts import (
    MAX_FAILURES_PER_USER,
    LoginRefused,
    TooManyAttempts,
    add_user,
    authenticate,
    create_token,
    end_session,
    list_tokens,
    list_users,
    revoke_token,
    session_principal,
    set_password,
    start_session,
    token_principal,
)
from paceline.auth.passwords import hash_password, verify_password
from paceline.cli import app
from paceline.config import Settings
from paceline.errors import UserInputError
from paceline.services.reps import add_rep
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade
from paceline.store.models import ApiToken, AppUser, WebSession

PASSWORD = "correct horse battery"


@pytest.fixture
def people(engine: Engine, settings: Settings) -> Engine:
    upgrade(engine)
    add_rep(engine, settings, "Ana Ruiz", "sdr", team="East")
    add_rep(engine, settings, "Max Boss", "manager", team="East")
    add_rep(engine, settings, "Dee Lee", "sdr", team="West")
    return engine


def test_password_hashes_are_argon2_and_salted() -> None:
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first.startswith("$argon2id$") and first != second
    assert verify_password(first, PASSWORD) and not verify_password(first, PASSWORD + "x")
    assert not verify_password("not a hash", PASSWORD)


def test_add_user_links_reps_and_teams(people: Engine) -> None:
    rep = add_user(people, "ana", PASSWORD, "rep", rep="ana ruiz")
    assert (rep.role, rep.rep, rep.team) == ("rep", "Ana Ruiz", "East")
    boss = add_user(people, "max", PASSWORD, "manager", rep="Max Boss")
    assert boss.team == "East"  # from the rep's team
    admin = add_user(people, "root", PASSWORD, "admin")
    assert (admin.rep, admin.team) == (None, None)
    assert [u.username for u in list_users(people)] == ["ana", "max", "root"]
    with people.connect() as conn:
        stored = conn.scalar(select(AppUser.password_hash).where(AppUser.username == "ana"))
    assert stored and PASSWORD not in stored


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"username": " ", "role": "rep"}, "username: a user needs a name"),
        ({"username": "x", "role": "boss"}, "role: must be one of admin, manager, rep"),
        ({"username": "x", "role": "rep"}, "rep: a user with the rep role must be linked"),
        ({"username": "x", "role": "manager"}, "team: a manager needs a team"),
        ({"username": "x", "role": "rep", "rep": "Nobody"}, "rep: no rep named 'Nobody'"),
        ({"username": "x", "role": "manager", "team": "Nowhere"}, "team: no team named"),
        ({"username": "x", "role": "admin", "password": "short"}, "password: at least 10"),
    ],
)
def test_add_user_refuses_bad_input(people: Engine, kwargs: dict[str, str], message: str) -> None:
    given = dict(kwargs)
    password = given.pop("password", PASSWORD)
    with pytest.raises(UserInputError, match=message):
        add_user(people, password=password, **given)  # type: ignore[arg-type]
    assert list_users(people) == []


def test_usernames_are_unique_case_insensitively(people: Engine) -> None:
    add_user(people, "Root", PASSWORD, "admin")
    with pytest.raises(UserInputError, match="taken"):
        add_user(people, "root", PASSWORD, "admin")


def test_login_and_rate_limit(people: Engine) -> None:
    add_user(people, "ana", PASSWORD, "rep", rep="Ana Ruiz")
    principal = authenticate(people, "ANA", PASSWORD, "10.0.0.1")
    assert (principal.username, principal.role) == ("ana", "rep")
    for _ in range(MAX_FAILURES_PER_USER):
        with pytest.raises(LoginRefused):
            authenticate(people, "ana", "wrong password", "10.0.0.1")
    with pytest.raises(TooManyAttempts) as refused:
        authenticate(people, "ana", PASSWORD, "10.0.0.2")  # even the right password now
    assert 0 < refused.value.retry_after <= 15 * 60 + 1
    with pytest.raises(LoginRefused):  # an unknown user is refused like a wrong password
        authenticate(people, "nobody", PASSWORD, "10.0.0.3")


def test_failures_expire_after_the_window(people: Engine) -> None:
    add_user(people, "ana", PASSWORD, "rep", rep="Ana Ruiz")
    for _ in range(MAX_FAILURES_PER_USER):
        with pytest.raises(LoginRefused):
            authenticate(people, "ana", "wrong password", "10.0.0.1")
    from paceline.store.models import LoginAttempt

    with people.begin() as conn:
        conn.execute(update(LoginAttempt).values(at=dt.datetime(2020, 1, 1)))
    assert authenticate(people, "ana", PASSWORD, "10.0.0.1").username == "ana"


def test_sessions_store_only_a_digest_and_end(people: Engine) -> None:
    user = add_user(people, "ana", PASSWORD, "rep", rep="Ana Ruiz")
    token, csrf = start_session(people, user.id)
    found = session_principal(people, token)
    assert found is not None and found[0].username == "ana" and found[1] == csrf
    with people.connect() as conn:
        assert token not in str(conn.execute(select(WebSession.token_hash)).all())
    assert session_principal(people, token + "x") is None
    end_session(people, token)
    assert session_principal(people, token) is None


def test_expired_sessions_and_password_change_end_sessions(people: Engine) -> None:
    user = add_user(people, "ana", PASSWORD, "rep", rep="Ana Ruiz")
    token, _ = start_session(people, user.id)
    with people.begin() as conn:
        conn.execute(update(WebSession).values(expires_at=dt.datetime(2020, 1, 1)))
    assert session_principal(people, token) is None
    token, _ = start_session(people, user.id)
    set_password(people, "ana", "another long password")
    assert session_principal(people, token) is None
    assert authenticate(people, "ana", "another long password", "x").username == "ana"


def test_tokens_hashed_and_revocable(people: Engine) -> None:
    add_user(people, "ana", PASSWORD, "rep", rep="Ana Ruiz")
    new = create_token(people, "ana", "CRM sync")
    assert new.token.startswith("pl_") and len(new.token) > 40
    principal = token_principal(people, new.token)
    assert principal is not None and principal.username == "ana"
    with people.connect() as conn:
        assert conn.scalar(select(ApiToken.token_hash)) != new.token
    [info] = list_tokens(people, "ana")
    assert info.name == "CRM sync" and info.last_used_at is not None and info.revoked_at is None
    revoke_token(people, "ana", new.id)
    assert token_principal(people, new.token) is None
    with pytest.raises(UserInputError, match="no active token"):
        revoke_token(people, "ana", new.id)
    assert token_principal(people, "pl_not-a-token") is None
    assert token_principal(people, "no prefix") is None


def test_inactive_users_cannot_use_anything(people: Engine) -> None:
    user = add_user(people, "ana", PASSWORD, "rep", rep="Ana Ruiz")
    token, _ = start_session(people, user.id)
    api = create_token(people, "ana", "script")
    with people.begin() as conn:
        conn.execute(update(AppUser).values(active=False))
    assert session_principal(people, token) is None
    assert token_principal(people, api.token) is None
    with pytest.raises(LoginRefused):
        authenticate(people, "ana", PASSWORD, "x")


def test_role_rules() -> None:
    east, west = 1, 2
    admin = Principal(1, "root", "admin", None, None)
    manager = Principal(2, "max", "manager", 10, east)
    rep = Principal(3, "ana", "rep", 11, east)
    # (rule, rep 11 in East, rep 12 in East, rep 13 in West)
    assert [admin.can_read_rep(r, t) for r, t in ((11, east), (12, east), (13, west))] == [
        True,
        True,
        True,
    ]
    assert [manager.can_read_rep(r, t) for r, t in ((11, east), (12, east), (13, west))] == [
        True,
        True,
        False,
    ]
    assert [rep.can_read_rep(r, t) for r, t in ((11, east), (12, east), (13, west))] == [
        True,
        False,
        False,
    ]
    assert rep.can_read_team(east) and not rep.can_read_team(west)
    assert not rep.can_see_team_scorecards(east)
    assert manager.can_see_team_scorecards(east) and not manager.can_see_team_scorecards(west)
    assert manager.can_set_targets(east) and not manager.can_set_targets(west)
    assert not rep.can_set_targets(east)
    assert admin.can_administer and not manager.can_administer and not rep.can_administer


def test_cli_users_and_tokens(tmp_path: Path, settings: Settings) -> None:
    url = f"sqlite:///{tmp_path / 'auth.db'}"
    engine = make_engine(url)
    upgrade(engine)
    add_rep(engine, settings, "Ana Ruiz", "sdr", team="East")
    runner = CliRunner()

    def run(*args: str, stdin: str | None = None) -> str:
        result = runner.invoke(app, ["--db", url, *args], input=stdin)
        assert result.exit_code == 0, result.output
        return result.output

    run(
        "user",
        "add",
        "ana",
        "--role",
        "rep",
        "--rep",
        "Ana Ruiz",
        stdin=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert authenticate(engine, "ana", PASSWORD, "x").username == "ana"
    users = json.loads(run("user", "list", "--json"))
    assert users == [
        {
            "id": 1,
            "username": "ana",
            "role": "rep",
            "rep": "Ana Ruiz",
            "team": "East",
            "active": True,
        }
    ]
    made = json.loads(run("token", "create", "ana", "--name", "sync", "--json"))
    assert token_principal(engine, made["token"]) is not None
    assert "sync" in run("token", "list", "ana")
    run("token", "revoke", "ana", str(made["id"]))
    assert token_principal(engine, made["token"]) is None
    run("user", "passwd", "ana", "--password", "a new long password")
    assert authenticate(engine, "ana", "a new long password", "x").username == "ana"
    refused = runner.invoke(
        app, ["--db", url, "user", "add", "bob", "--role", "rep", "--password", "short"]
    )
    assert refused.exit_code == 1 and "at least 10 characters" in refused.output
    mismatch = runner.invoke(
        app,
        ["--db", url, "user", "add", "bob", "--role", "admin"],
        input="long password 1\nother\n",
    )
    assert mismatch.exit_code == 1 and "the two entries differ" in mismatch.output


def test_non_ascii_user_names_fold_like_python(people: Engine) -> None:
    add_user(people, "Élodie", PASSWORD, "admin")
    assert authenticate(people, "élodie", PASSWORD, "x").username == "Élodie"
    with pytest.raises(UserInputError, match="taken"):
        add_user(people, "ÉLODIE", PASSWORD, "admin")
