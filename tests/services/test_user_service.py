"""The one write path of accounts and API tokens (`paceline.services.users`), on SQLite and
PostgreSQL; and the guard that no face writes a record itself.

Hand-built: Ana (East); users root (admin) and ana (rep).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, func, select

from factories import made_app, quick_user
from paceline.access import OPERATOR
from paceline.auth.access import Principal
from paceline.auth.accounts import authenticate, create_token, list_tokens, token_principal
from paceline.config import Settings
from paceline.errors import Forbidden, InputError, NotFound
from paceline.services import users
from paceline.services.reps import add_rep
from paceline.store.migrate import upgrade
from paceline.store.models import ApiToken, AppUser

PASSWORD = "correct horse battery"
FACES = Path(__file__).resolve().parents[2] / "src" / "paceline"


@pytest.fixture
def people(engine: Engine, settings: Settings) -> dict[str, Principal]:
    upgrade(engine)
    add_rep(engine, settings, "Ana", "ae", team="East")
    root = users.add_user(engine, OPERATOR, "root", PASSWORD, "admin")
    ana = users.add_user(engine, OPERATOR, "ana", PASSWORD, "rep", rep="Ana")
    return {
        "root": Principal(root.id, "root", "admin", None, None),
        "ana": Principal(ana.id, "ana", "rep", None, None),
    }


def user_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count(AppUser.id))) or 0)


def test_only_an_admin_makes_accounts(engine: Engine, people: dict[str, Principal]) -> None:
    with pytest.raises(Forbidden, match="admins only"):
        users.add_user(engine, people["ana"], "eve", PASSWORD, "admin")
    assert user_count(engine) == 2
    made = users.add_user(engine, people["root"], "Max", PASSWORD, "manager", team="East")
    assert (made.username, made.role, made.team) == ("Max", "manager", "East")


@pytest.mark.parametrize(
    ("username", "password", "role", "rep", "field"),
    [
        ("ROOT", PASSWORD, "admin", None, "username"),  # taken, whatever the case
        ("eve", "short", "admin", None, "password"),
        ("eve", PASSWORD, "boss", None, "role"),
        ("eve", PASSWORD, "rep", "Anna", "rep"),
        ("eve", PASSWORD, "rep", None, "rep"),  # a rep user is linked to a rep
        ("  ", PASSWORD, "admin", None, "username"),
    ],
)
def test_bad_accounts_name_the_field_and_write_nothing(
    engine: Engine,
    people: dict[str, Principal],
    username: str,
    password: str,
    role: str,
    rep: str | None,
    field: str,
) -> None:
    with pytest.raises(InputError) as caught:
        users.add_user(engine, people["root"], username, password, role, rep)
    assert caught.value.field == field
    assert user_count(engine) == 2


def test_a_password_is_its_owners_or_an_admins(
    engine: Engine, people: dict[str, Principal]
) -> None:
    with pytest.raises(Forbidden):
        users.set_password(engine, people["ana"], "root", "a new long password")
    authenticate(engine, "root", PASSWORD, "10.0.0.1")  # unchanged
    users.set_password(engine, people["ana"], "ana", "ana's new password")
    assert authenticate(engine, "ana", "ana's new password", "10.0.0.1").username == "ana"
    with pytest.raises(InputError) as caught:
        users.set_password(engine, people["root"], "ana", "short")
    assert caught.value.field == "password"


def test_tokens_are_their_owners(engine: Engine, people: dict[str, Principal]) -> None:
    ana = people["ana"]
    with pytest.raises(Forbidden):
        users.create_token(engine, ana, "root", "sneaky")
    with engine.connect() as conn:
        assert conn.scalar(select(func.count(ApiToken.id))) == 0
    made = users.create_token(engine, ana, "ana", "dialer")
    found = token_principal(engine, made.token)
    assert found is not None and found.username == "ana"
    with pytest.raises(InputError) as caught:
        users.create_token(engine, ana, "ana", "  ")
    assert caught.value.field == "name"
    # Another user's token, or one not active, is not found: ids cannot be probed.
    root_token = users.create_token(engine, people["root"], "root", "ops")
    with pytest.raises(NotFound):
        users.revoke_token(engine, ana, "ana", root_token.id)
    assert token_principal(engine, root_token.token) is not None
    users.revoke_token(engine, ana, "ana", made.id)
    assert token_principal(engine, made.token) is None
    with pytest.raises(NotFound):
        users.revoke_token(engine, ana, "ana", made.id)
    assert [t.revoked_at is not None for t in list_tokens(engine, "ana")] == [True]


# --- the API's translation -------------------------------------------------------------------


def test_the_api_answers_the_services_errors(sqlite_engine: Engine, settings: Settings) -> None:
    engine = sqlite_engine
    upgrade(engine)
    add_rep(engine, settings, "Ana", "ae", team="East")
    quick_user(engine, "root", "admin")
    quick_user(engine, "ana", "rep", rep="Ana")
    tokens = {u: create_token(engine, u, "tests") for u in ("root", "ana")}

    def call(user: str, method: str, path: str, body: object = None) -> Response:
        headers = {"Authorization": f"Bearer {tokens[user].token}"}
        return client.request(method, f"/api/v1{path}", json=body, headers=headers)

    with TestClient(made_app(settings, engine)) as client:
        new = {"username": "eve", "password": PASSWORD, "role": "admin"}
        refused = call("ana", "POST", "/users", new)
        assert refused.status_code == 403
        assert refused.json()["detail"] == "not allowed: user accounts (admins only)"
        taken = call("root", "POST", "/users", new | {"username": "ANA"})
        assert taken.status_code == 422 and taken.json()["detail"][0]["loc"] == ["body", "username"]
        assert user_count(engine) == 2
        # Root's token, asked by Ana: not found, like one that does not exist.
        for token_id in (tokens["root"].id, 999):
            gone = call("ana", "DELETE", f"/tokens/{token_id}")
            assert gone.status_code == 404
            assert gone.json()["detail"] == f"not found: active token {token_id}"
        assert call("root", "GET", "/tokens").json()[0]["revoked_at"] is None


# --- no face writes ----------------------------------------------------------------------------

WRITES = {
    "paceline.auth.accounts": {"add_user", "set_password", "create_token", "revoke_token"},
    "paceline.store.records": {
        "insert_activities", "replace_activity", "take_activity", "restore_activity",
        "insert_deals", "replace_deal", "delete_deal",
    },
    "paceline.services.targets": {"save_targets"},
}  # fmt: skip


def _face_modules() -> list[Path]:
    return [p for face in ("cli", "api", "web") for p in (FACES / face).rglob("*.py")]


def test_the_guard_sees_the_faces() -> None:
    """A guard on the guard: it reads the modules the faces are made of."""
    names = {p.relative_to(FACES).as_posix() for p in _face_modules()}
    assert {"cli/web_commands.py", "api/routers/deals.py", "web/admin.py"} <= names


@pytest.mark.parametrize("module", _face_modules(), ids=lambda p: p.relative_to(FACES).as_posix())
def test_no_face_writes_a_record_itself(module: Path) -> None:
    """Writes of single records go through `paceline.services`; a face that imports a write
    from below it, or opens a transaction, bypasses their rules."""
    tree = ast.parse(module.read_text("utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in WRITES:
            taken = {alias.name for alias in node.names} & WRITES[node.module]
            assert not taken, f"{module.name} imports {taken} from {node.module}"
        if isinstance(node, ast.Attribute) and node.attr == "begin":
            raise AssertionError(f"{module.name}:{node.lineno} opens a transaction")
