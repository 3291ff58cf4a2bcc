"""The audit log (issue 16): exactly the changes made, through each face, with the changed
fields before and after, written in the change's transaction (a failed change leaves none),
never a secret, and readable by admins only. On SQLite and PostgreSQL.

Hand-built: reps Ana (East) and Zoe (West); users root (admin) and ana (rep Ana).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from factories import made_app
from paceline import cli as cli_module
from paceline.access import OPERATOR
from paceline.auth.access import Principal
from paceline.auth.accounts import authenticate, start_session
from paceline.callers import SESSION_COOKIE
from paceline.cli import app as cli_app
from paceline.config import Settings
from paceline.errors import Forbidden
from paceline.services import audit, reps, users
from paceline.services.activities import Entry, Writer, create
from paceline.services.reps import add_rep
from paceline.store import audit as store_audit
from paceline.store.migrate import upgrade
from paceline.store.models import Activity, AuditEntry

PASSWORD = "correct horse battery"
API = "/api/v1"


@pytest.fixture
def app(engine: Engine, settings: Settings) -> TestClient:
    upgrade(engine)
    add_rep(engine, settings, "Ana", "ae", team="East")
    add_rep(engine, settings, "Zoe", "ae", team="West")
    users.add_user(engine, OPERATOR, "root", PASSWORD, "admin")
    users.add_user(engine, OPERATOR, "ana", PASSWORD, "rep", rep="Ana")
    return TestClient(made_app(settings, engine))


def log(engine: Engine) -> list[Any]:
    """Every entry, oldest first."""
    return list(reversed(audit.read(engine, OPERATOR, limit=500).items))


def count(engine: Engine, model: Any) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(model)) or 0)


def test_the_setup_is_four_entries_by_the_operator(app: TestClient, engine: Engine) -> None:
    got = [(e.actor, e.face, e.entity, e.action) for e in log(engine)]
    assert got == [
        ("operator", "cli", "rep", "create"),
        ("operator", "cli", "rep", "create"),
        ("operator", "cli", "user", "create"),
        ("operator", "cli", "user", "create"),
    ]
    ana = log(engine)[0].after
    assert ana is not None and ana["name"] == "Ana" and ana["role"] == "ae"
    user = log(engine)[2].after
    assert user is not None and user["username"] == "root" and "password_hash" not in user


def test_each_api_change_is_one_entry_with_before_and_after(
    app: TestClient, engine: Engine
) -> None:
    root = users.create_token(engine, OPERATOR, "root", "audit").token
    auth = {"Authorization": f"Bearer {root}"}
    start = len(log(engine))  # 4 setup entries + the token just made
    assert start == 5
    made = app.post(
        API + "/activities", json={"rep": "Ana", "kind": "call", "notes": "first"}, headers=auth
    )
    assert made.status_code == 201, made.text
    activity = made.json()["id"]
    edited = app.patch(f"{API}/activities/{activity}", json={"notes": "second"}, headers=auth)
    assert edited.status_code == 200, edited.text
    unchanged = app.patch(f"{API}/activities/{activity}", json={"notes": "second"}, headers=auth)
    assert unchanged.status_code == 200  # nothing changed: no entry
    refused = app.patch(f"{API}/activities/{activity}", json={"kind": "nope"}, headers=auth)
    assert refused.status_code == 422  # refused: no entry
    assert app.delete(f"{API}/activities/{activity}", headers=auth).status_code == 204
    moved = app.patch(
        f"{API}/reps/{_rep_id(app, auth, 'Zoe')}", json={"team": "East"}, headers=auth
    )
    assert moved.status_code == 200, moved.text
    entries = log(engine)[start:]
    assert [(e.actor, e.face, e.entity, e.action) for e in entries] == [
        ("root", "api", "activity", "create"),
        ("root", "api", "activity", "edit"),
        ("root", "api", "activity", "delete"),
        ("root", "api", "rep", "edit"),
    ]
    create_, edit, delete, rep = entries
    assert create_.before is None and create_.after is not None
    assert (create_.after["notes"], create_.after["kind"]) == ("first", "call")
    assert (edit.before, edit.after) == ({"notes": "first"}, {"notes": "second"})
    assert delete.before is not None and delete.before["notes"] == "second"
    assert delete.after is None
    assert rep.before is not None and rep.after is not None
    assert set(rep.before) == {"team_id"} and rep.before["team_id"] != rep.after["team_id"]
    assert all(e.entity_id == str(activity) for e in entries[:3])


def _rep_id(app: TestClient, auth: dict[str, str], name: str) -> int:
    listed = app.get(API + "/reps", headers=auth).json()
    items = listed["items"] if isinstance(listed, dict) else listed
    return int(next(r["id"] for r in items if r["name"] == name))


def test_the_web_face_and_the_token_lifecycle(app: TestClient, engine: Engine) -> None:
    users.set_password(engine, OPERATOR, "ana", "another long password")
    made = users.create_token(engine, OPERATOR, "ana", "script")
    users.set_active(engine, Principal(1, "root", "admin", None, None, face="web"), "ana", False)
    entries = log(engine)[4:]
    assert [(e.actor, e.face, e.entity, e.action) for e in entries] == [
        ("operator", "cli", "user", "password"),
        ("operator", "cli", "token", "create"),
        ("root", "web", "token", "revoke"),
        ("root", "web", "user", "deactivate"),
    ]
    assert entries[0].after == {"password": "changed", "sessions_ended": 0, "tokens_revoked": []}
    assert entries[2].entity_id == str(made.id)
    assert (entries[3].before, entries[3].after) == ({"active": True}, {"active": False})
    with engine.connect() as conn:
        stored = conn.execute(select(AuditEntry.before, AuditEntry.after)).all()
    text = " ".join(str(v) for row in stored for v in row)
    assert made.token not in text and "argon2" not in text and "token_hash" not in text


def test_a_password_change_reads_back_through_the_api(app: TestClient, engine: Engine) -> None:
    """Its entry lists the tokens the change revoked; the API answered 500 on that list
    (the answer's model allowed only single values) until it allowed a list."""
    root = users.create_token(engine, OPERATOR, "root", "t").token
    revoked = users.create_token(engine, OPERATOR, "ana", "script").id
    users.set_password(engine, OPERATOR, "ana", "another long password")
    page = app.get(
        API + "/audit",
        params={"entity": "user", "limit": 1},
        headers={"Authorization": f"Bearer {root}"},
    )
    assert page.status_code == 200, page.text
    entry = page.json()["items"][0]
    assert (entry["action"], entry["before"]) == ("password", None)
    assert entry["after"] == {
        "password": "changed",
        "sessions_ended": 0,
        "tokens_revoked": [revoked],
    }


def test_a_failed_change_leaves_no_entry(
    app: TestClient, engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The entry is written, then the transaction fails: both are rolled back together."""
    written = store_audit.write

    def write_then_fail(*args: Any, **kwargs: Any) -> None:
        written(*args, **kwargs)
        raise RuntimeError("disk full")

    monkeypatch.setattr(store_audit, "write", write_then_fail)
    before = (count(engine, AuditEntry), count(engine, Activity))
    with pytest.raises(RuntimeError, match="disk full"):
        create(Writer.of(engine, settings, OPERATOR), Entry(rep="Ana", kind="call"))
    with pytest.raises(RuntimeError, match="disk full"):
        reps.edit_rep(engine, settings, "Zoe", {"team": "East"})
    monkeypatch.undo()
    assert (count(engine, AuditEntry), count(engine, Activity)) == before
    assert reps.edit_rep(engine, settings, "Zoe", {}).team == "West"


def test_only_admins_read_it(app: TestClient, engine: Engine) -> None:
    ana = users.create_token(engine, OPERATOR, "ana", "t").token
    root = users.create_token(engine, OPERATOR, "root", "t").token
    denied = app.get(API + "/audit", headers={"Authorization": f"Bearer {ana}"})
    assert denied.status_code == 403
    with pytest.raises(Forbidden):
        audit.read(engine, Principal(2, "ana", "rep", None, None))
    page = app.get(
        API + "/audit",
        params={"entity": "user", "limit": 1, "offset": 1},
        headers={"Authorization": f"Bearer {root}"},
    )
    assert page.status_code == 200
    body = page.json()
    assert (body["total"], body["limit"], body["offset"]) == (2, 1, 1)
    assert body["items"][0]["after"]["username"] == "root"  # newest first: ana, then root
    bad = app.get(API + "/audit?entity=nope", headers={"Authorization": f"Bearer {root}"})
    assert bad.status_code == 422


def test_the_audit_page_is_for_admins(app: TestClient, engine: Engine) -> None:
    for username, status in (("ana", 403), ("root", 200)):
        principal = authenticate(engine, username, PASSWORD, "127.0.0.1")
        app.cookies.clear()
        app.cookies.set(SESSION_COOKIE, start_session(engine, principal.user_id)[0])
        page = app.get("/audit?entity=user")
        assert page.status_code == status
    assert "root" in page.text and "password_hash" not in page.text


# --- the command line and imports (face "cli", "import N"); a SQLite file ----------------

runner = CliRunner()
CSV = """external_id,rep,kind,occurred_at,duration_min,outcome,has_ask,account
a1,Ana Ruiz,call,2026-11-20T10:00:00,5,meeting_set,yes,Acme
a2,Ana Ruiz,email,2026-11-20T10:20:00,,,yes,Acme
a3,Bo Li,call,2026-11-20T11:00:00,3,,,Initech
a4,Ana Ruiz,call,not a time,,,,
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for var in ("PACELINE_DB", "PACELINE_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    for console in (cli_module.out, cli_module.err):
        monkeypatch.setattr(console, "width", 250)
    return tmp_path


def cli(*args: str) -> str:
    result = runner.invoke(cli_app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.slow
def test_each_command_is_one_entry_and_an_import_one_per_run(workdir: Path) -> None:
    cli("init")
    cli("rep", "add", "Ana Ruiz", "--role", "ae", "--team", "East")  # 1 rep create
    cli("user", "add", "ana", "--role", "rep", "--rep", "Ana Ruiz", "--password", PASSWORD)  # 2
    cli("token", "create", "ana", "--name", "laptop")  # 3 token create
    out = cli("user", "deactivate", "ana")  # 4 token revoke, 5 user deactivate
    assert "deactivated" in out
    cli("user", "activate", "ana")  # 6
    assert "1 recent failed" not in cli("user", "unlock", "ana")  # 7 unlock
    cli("log", "call", "--rep", "Ana Ruiz", "--account", "Acme")  # 8 activity create
    (workdir / "calls.csv").write_text(CSV)
    result = runner.invoke(cli_app, ["import", "activities", "calls.csv"])  # 9: one entry
    assert result.exit_code in (0, 1), result.output
    entries = json.loads(cli("audit", "--json"))["items"]
    got = [(e["actor"], e["face"], e["entity"], e["action"]) for e in reversed(entries)]
    assert got[:8] == [
        ("operator", "cli", "rep", "create"),
        ("operator", "cli", "user", "create"),
        ("operator", "cli", "token", "create"),
        ("operator", "cli", "token", "revoke"),
        ("operator", "cli", "user", "deactivate"),
        ("operator", "cli", "user", "activate"),
        ("operator", "cli", "user", "unlock"),
        ("operator", "cli", "activity", "create"),
    ]
    assert len(got) == 9
    actor, face, entity, action = got[8]
    run = entries[0]
    assert (face, entity, action) == ("import", "import", "import")
    assert actor == f"import {run['entity_id']}"
    counts = run["after"]
    # a1-a3 are new (a3 brings the new rep Bo Li), a4 is rejected for its time
    assert (counts["read"], counts["inserted"], counts["rejected"], counts["new_reps"]) == (
        4,
        3,
        1,
        1,
    )
    only_users = json.loads(cli("audit", "--entity", "user", "--json"))["items"]
    assert [e["action"] for e in only_users] == ["unlock", "activate", "deactivate", "create"]
    none_later = json.loads(cli("audit", "--since", "2999-01-01", "--json"))
    assert none_later["total"] == 0
    table = cli("audit", "--user", "operator", "--limit", "2")
    assert "Audit log (2 of 8)" in table


def test_a_bad_since_is_one_line(workdir: Path) -> None:
    cli("init")
    result = runner.invoke(cli_app, ["audit", "--since", "last week"])
    assert result.exit_code == 1 and "--since" in result.output


def test_the_cli_and_the_api_answer_the_same_page(app: TestClient, engine: Engine) -> None:
    """One result type for both faces: `audit --json` printed `entries` with times without an
    offset while the API answered `items` in UTC."""
    root = users.create_token(engine, OPERATOR, "root", "t").token
    url = engine.url.render_as_string(hide_password=False)
    result = runner.invoke(cli_app, ["--db", url, "audit", "--limit", "3", "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    answered = app.get(
        API + "/audit", params={"limit": 3}, headers={"Authorization": f"Bearer {root}"}
    ).json()
    assert printed["total"] == answered["total"] == 5  # the setup's four and the token
    assert [e["action"] for e in printed["items"]] == ["create"] * 3
    for cli_entry, api_entry in zip(printed["items"], answered["items"], strict=True):
        assert dt.datetime.fromisoformat(cli_entry["at"]).utcoffset() == dt.timedelta(0)
        assert dt.datetime.fromisoformat(cli_entry["at"]) == dt.datetime.fromisoformat(
            api_entry["at"].replace("Z", "+00:00")
        )
        assert {**cli_entry, "at": None} == {**api_entry, "at": None}
