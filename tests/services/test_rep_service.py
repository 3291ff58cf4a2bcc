"""The one write path of a rep (`paceline.services.reps`): the service on SQLite and
PostgreSQL, the API's `POST /reps` and `PATCH /reps/{id}` with a role matrix, and the CLI's
`rep edit`.

Hand-built: East is Ana, Ben and Max (Max manages East); West is Dee and Wes (Wes manages
West). Users: root (admin), max (manager of East), wes (manager of West), ana (rep in East).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from factories import made_app, quick_user
from paceline import cli as cli_module
from paceline.auth.access import Principal
from paceline.auth.accounts import create_token
from paceline.cli import app as cli_app
from paceline.config import Settings
from paceline.errors import Forbidden, InputError, NotFound
from paceline.services import reps
from paceline.services.reps import RepEntry, add_rep
from paceline.store.migrate import upgrade
from paceline.store.models import Rep, Team

ADMIN = Principal(1, "root", "admin", None, None)


def team_id(engine: Engine, name: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(Team.id).where(Team.name == name)).scalar_one())


def stored(engine: Engine, rep_id: int) -> dict[str, Any]:
    """The rep's row as stored, team and manager by name."""
    with engine.connect() as conn:
        columns = (
            Rep.name,
            Rep.role,
            Rep.team_id,
            Rep.manager_id,
            Rep.email,
            Rep.start_date,
            Rep.end_date,
        )
        row = conn.execute(select(*columns).where(Rep.id == rep_id)).one()
        team = conn.scalar(select(Team.name).where(Team.id == row.team_id))
        manager = conn.scalar(select(Rep.name).where(Rep.id == row.manager_id))
    return {
        "name": row.name,
        "role": row.role,
        "team": team,
        "manager": manager,
        "email": row.email,
        "start_date": row.start_date,
        "end_date": row.end_date,
    }


def counts(engine: Engine) -> tuple[int, int]:
    """(reps, teams): what a refused write must leave as it was."""
    with engine.connect() as conn:
        return conn.scalar(select(func.count(Rep.id))) or 0, conn.scalar(
            select(func.count(Team.id))
        ) or 0


@pytest.fixture
def org(engine: Engine, settings: Settings) -> dict[str, int]:
    upgrade(engine)
    ids = {
        name: add_rep(engine, settings, name, role, team=team)
        for name, role, team in [
            ("Ana", "sdr", "East"),
            ("Ben", "ae", "East"),
            ("Max", "manager", "East"),
            ("Dee", "ae", "West"),
            ("Wes", "manager", "West"),
        ]
    }
    return ids


def manager_of(engine: Engine, team: str, rep_id: int) -> Principal:
    return Principal(2, "boss", "manager", rep_id, team_id(engine, team))


# --- the service, on both databases ----------------------------------------------------------


def test_the_operator_adds_a_rep_with_every_field(engine: Engine, settings: Settings) -> None:
    upgrade(engine)
    boss = add_rep(engine, settings, "Max", "manager", team="East")
    rep_id = add_rep(
        engine, settings, "  Ana   Ruiz ", "AE", "Central", "max", dt.date(2026, 3, 2), "a@x.io"
    )
    assert stored(engine, rep_id) == {
        "name": "Ana Ruiz",  # spacing normalised
        "role": "ae",  # the configuration's spelling
        "team": "Central",  # made: the operator's `rep add` creates a new team
        "manager": "Max",
        "email": "a@x.io",
        "start_date": dt.date(2026, 3, 2),
        "end_date": None,
    }
    assert boss != rep_id


@pytest.mark.parametrize(
    ("entry", "field", "says"),
    [
        (RepEntry("ana", "ae"), "name", "a rep named 'Ana' already exists"),
        (RepEntry(" A N A", "ae"), "name", None),  # not the same key: spaces inside count
        (RepEntry("Zed", "sdrr"), "role", "unknown role 'sdrr'; did you mean 'sdr'?"),
        (RepEntry("Zed", "ae", manager="Maxx"), "manager", "no rep named 'Maxx'; did you mean"),
        (RepEntry("Zed", "ae", email="not an email"), "email", "not an email address"),
        (RepEntry("   ", "ae"), "name", "a rep needs a name"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    engine: Engine,
    settings: Settings,
    org: dict[str, int],
    entry: RepEntry,
    field: str,
    says: str | None,
) -> None:
    before = counts(engine)
    if says is None:  # the control: a name that only looks alike is a new rep
        reps.create(engine, settings, ADMIN, entry)
        assert counts(engine) == (before[0] + 1, before[1])
        return
    with pytest.raises(InputError) as caught:
        reps.create(engine, settings, ADMIN, entry)
    assert caught.value.field == field and says in caught.value.reason
    assert counts(engine) == before


def test_an_admin_adding_to_an_unknown_team_is_refused_not_a_new_team(
    engine: Engine, settings: Settings, org: dict[str, int]
) -> None:
    before = counts(engine)
    with pytest.raises(InputError) as caught:
        reps.create(engine, settings, ADMIN, RepEntry("Zed", "ae", team="Eats"))
    assert caught.value.field == "team" and "did you mean 'East'?" in caught.value.reason
    assert counts(engine) == before


def test_an_edit_changes_what_it_names_and_keeps_the_rest(
    engine: Engine, settings: Settings, org: dict[str, int]
) -> None:
    ben = org["Ben"]
    reps.edit(
        engine,
        settings,
        ADMIN,
        ben,
        {"name": "Benjamin Ode", "team": "west", "manager": "Wes", "role": "Field"},
    )
    assert stored(engine, ben) == {
        "name": "Benjamin Ode",
        "role": "field",
        "team": "West",
        "manager": "Wes",
        "email": None,
        "start_date": None,
        "end_date": None,
    }
    reps.edit(
        engine, settings, ADMIN, ben, {"email": "ben@x.io", "start_date": dt.date(2026, 1, 5)}
    )
    after = stored(engine, ben)
    assert (after["name"], after["team"], after["email"], after["start_date"]) == (
        "Benjamin Ode",
        "West",
        "ben@x.io",
        dt.date(2026, 1, 5),
    )
    reps.edit(engine, settings, ADMIN, ben, {"manager": None, "team": None})
    assert (stored(engine, ben)["manager"], stored(engine, ben)["team"]) == (None, None)


def test_a_rep_may_be_renamed_to_another_casing_of_their_own_name(
    engine: Engine, settings: Settings, org: dict[str, int]
) -> None:
    reps.edit(engine, settings, ADMIN, org["Ana"], {"name": "ANA"})
    assert stored(engine, org["Ana"])["name"] == "ANA"


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"name": "dee"}, "name", "a rep named 'Dee' already exists"),
        ({"team": "Wset"}, "team", "no team named 'Wset'; did you mean 'West'?"),
        ({"role": "boss"}, "role", "unknown role 'boss'"),
        ({"manager": "Ben"}, "manager", "a rep cannot be their own manager"),
        ({"name": None}, "name", "cannot be null"),
        ({"role": None}, "role", "cannot be null"),
        ({"capacity": 0.5}, "capacity", "cannot be changed"),
    ],
)
def test_a_refused_edit_leaves_the_rep_as_it_was(
    engine: Engine,
    settings: Settings,
    org: dict[str, int],
    changes: dict[str, Any],
    field: str,
    says: str,
) -> None:
    before, teams = stored(engine, org["Ben"]), counts(engine)
    with pytest.raises(InputError) as caught:
        reps.edit(engine, settings, ADMIN, org["Ben"], {"email": "ben@x.io", **changes})
    assert caught.value.field == field and says in caught.value.reason
    assert stored(engine, org["Ben"]) == before and counts(engine) == teams


def test_a_last_day_is_set_and_cleared_and_never_before_the_start(
    engine: Engine, settings: Settings, org: dict[str, int]
) -> None:
    """Ben started on Jan 5 and leaves on Mar 31; a last day before the start is refused
    (whichever of the two moves), and clearing it (he rejoined) is an edit like any other."""
    ben = org["Ben"]
    start, last = dt.date(2026, 1, 5), dt.date(2026, 3, 31)
    reps.edit(engine, settings, ADMIN, ben, {"start_date": start})
    assert reps.edit(engine, settings, ADMIN, ben, {"end_date": last}).end_date == last
    assert stored(engine, ben)["end_date"] == last
    same_day = reps.edit(engine, settings, ADMIN, ben, {"end_date": start})  # a one-day stay
    assert same_day.end_date == start
    reps.edit(engine, settings, ADMIN, ben, {"end_date": last})
    before = stored(engine, ben)
    with pytest.raises(InputError) as caught:
        reps.edit(engine, settings, ADMIN, ben, {"end_date": dt.date(2026, 1, 2)})
    assert caught.value.field == "end_date"
    assert caught.value.reason == "the last day 2026-01-02 is before the start date 2026-01-05"
    with pytest.raises(InputError) as caught:
        reps.edit(engine, settings, ADMIN, ben, {"start_date": dt.date(2026, 4, 1)})
    assert caught.value.field == "start_date" and "before the start date 2026-04-01" in str(
        caught.value.reason
    )
    with pytest.raises(InputError, match="not a date"):
        reps.edit(engine, settings, ADMIN, ben, {"end_date": "2026-03-31"})
    assert stored(engine, ben) == before
    assert reps.edit(engine, settings, ADMIN, ben, {"end_date": None}).end_date is None
    assert stored(engine, ben)["end_date"] is None and stored(engine, ben)["start_date"] == start


def test_who_may_add_and_edit_reps(engine: Engine, settings: Settings, org: dict[str, int]) -> None:
    max_ = manager_of(engine, "East", org["Max"])
    ana = Principal(3, "ana", "rep", org["Ana"], team_id(engine, "East"))
    # A manager's new rep goes to their team; another team is refused, nothing written.
    assert reps.create(engine, settings, max_, RepEntry("Nia", "sdr")).team == "East"
    before = counts(engine)
    with pytest.raises(Forbidden):
        reps.create(engine, settings, max_, RepEntry("Olu", "sdr", team="West"))
    with pytest.raises(Forbidden):
        reps.create(engine, settings, ana, RepEntry("Olu", "sdr", team="East"))
    assert counts(engine) == before
    # Their team's reps they edit; not another team's; none they move out.
    assert reps.edit(engine, settings, max_, org["Ben"], {"role": "field"}).role == "field"
    with pytest.raises(Forbidden, match="edit rep 'Dee'"):
        reps.edit(engine, settings, max_, org["Dee"], {"role": "field"})
    with pytest.raises(NotFound):
        reps.edit(engine, settings, max_, 10_000, {"role": "field"})
    for leaving in ({"team": "West"}, {"team": None}):
        with pytest.raises(Forbidden, match="move rep 'Ben' out of your team"):
            reps.edit(engine, settings, max_, org["Ben"], leaving)
    assert stored(engine, org["Ben"])["team"] == "East"
    assert stored(engine, org["Dee"])["role"] == "ae"
    # A rep sees themself but may not edit even that.
    with pytest.raises(Forbidden):
        reps.edit(engine, settings, ana, org["Ana"], {"email": "me@x.io"})
    assert stored(engine, org["Ana"])["email"] is None


def test_the_operator_edits_by_name(
    engine: Engine, settings: Settings, org: dict[str, int]
) -> None:
    assert reps.edit_rep(engine, settings, "ben", {"team": "West"}).team == "West"
    with pytest.raises(InputError, match=r"no rep named 'Bne'; did you mean 'Ben'\?"):
        reps.edit_rep(engine, settings, "Bne", {"team": "West"})


# --- the API ---------------------------------------------------------------------------------


class Api:
    def __init__(self, engine: Engine, client: TestClient, tokens: dict[str, str]) -> None:
        self.engine, self.client, self.tokens = engine, client, tokens

    def call(self, user: str, method: str, path: str, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        return self.client.request(method, "/api/v1" + path, json=body, headers=headers)


@pytest.fixture
def api(sqlite_engine: Engine, settings: Settings) -> Iterator[tuple[Api, dict[str, int]]]:
    engine = sqlite_engine
    upgrade(engine)
    ids = {
        name: add_rep(engine, settings, name, role, team=team)
        for name, role, team in [
            ("Ana", "sdr", "East"),
            ("Ben", "ae", "East"),
            ("Max", "manager", "East"),
            ("Dee", "ae", "West"),
            ("Wes", "manager", "West"),
        ]
    }
    users = {"root": ("admin", None), "max": ("manager", "Max"), "wes": ("manager", "Wes")}
    users["ana"] = ("rep", "Ana")
    for username, (role, rep) in users.items():
        quick_user(engine, username, role, rep)
    tokens = {u: create_token(engine, u, "tests").token for u in users}
    with TestClient(made_app(settings, engine)) as client:
        yield Api(engine, client, tokens), ids


@pytest.mark.parametrize(
    ("user", "body", "status", "team"),
    [
        ("root", {"name": "Nia", "role": "sdr", "team": "West"}, 201, "West"),
        ("root", {"name": "Nia", "role": "sdr"}, 201, None),  # an admin's default: no team
        ("max", {"name": "Nia", "role": "sdr"}, 201, "East"),  # a manager's: their own
        ("max", {"name": "Nia", "role": "sdr", "team": "east"}, 201, "East"),
        ("max", {"name": "Nia", "role": "sdr", "team": "West"}, 403, None),
        ("wes", {"name": "Nia", "role": "sdr", "team": "East"}, 403, None),
        ("ana", {"name": "Nia", "role": "sdr", "team": "East"}, 403, None),
        ("ana", {"name": "Nia", "role": "sdr"}, 403, None),
    ],
)
def test_post_reps_role_matrix(
    api: tuple[Api, dict[str, int]],
    user: str,
    body: dict[str, Any],
    status: int,
    team: str | None,
) -> None:
    client, _ = api
    before = counts(client.engine)
    reply = client.call(user, "POST", "/reps", body)
    assert reply.status_code == status, reply.text
    if status == 201:
        made = reply.json()
        assert (made["name"], made["role"], made["team"], made["source"]) == (
            "Nia",
            "sdr",
            team,
            "api",
        )
        assert stored(client.engine, made["id"])["team"] == team
        assert counts(client.engine) == (before[0] + 1, before[1])
    else:
        assert reply.json()["detail"].startswith("not allowed: ")
        assert counts(client.engine) == before


@pytest.mark.parametrize(
    ("user", "rep", "body", "status"),
    [
        ("root", "Dee", {"email": "d@x.io"}, 200),
        ("root", "Ben", {"team": "West"}, 200),
        ("max", "Ben", {"email": "d@x.io"}, 200),
        ("max", "Max", {"email": "d@x.io"}, 200),  # a manager is a rep of their team too
        ("max", "Ben", {"team": "West"}, 403),  # not out of their team
        ("max", "Ben", {"team": None}, 403),
        ("max", "Dee", {"email": "d@x.io"}, 403),  # another team's
        ("wes", "Ben", {"email": "d@x.io"}, 403),
        ("wes", "Dee", {"email": "d@x.io"}, 200),
        ("ana", "Ana", {"email": "d@x.io"}, 403),  # herself: seen, not edited
        ("ana", "Ben", {"email": "d@x.io"}, 403),
    ],
)
def test_patch_reps_role_matrix(
    api: tuple[Api, dict[str, int]], user: str, rep: str, body: dict[str, Any], status: int
) -> None:
    client, ids = api
    before = stored(client.engine, ids[rep])
    reply = client.call(user, "PATCH", f"/reps/{ids[rep]}", body)
    assert reply.status_code == status, reply.text
    after = stored(client.engine, ids[rep])
    if status == 200:
        field, value = next(iter(body.items()))
        assert reply.json()[field] == value and after[field] == value
    else:
        assert after == before
    if status == 403:
        assert reply.json()["detail"].startswith("not allowed: ")


@pytest.mark.parametrize(
    ("method", "body", "field", "says"),
    [
        ("POST", {"name": "Nia", "role": "boss"}, "role", "unknown role 'boss'"),
        ("POST", {"name": "Nia", "role": "sdr", "team": "Eats"}, "team", "did you mean 'East'"),
        ("POST", {"name": "ben", "role": "sdr"}, "name", "a rep named 'Ben' already exists"),
        ("POST", {"name": "Nia", "role": "sdr", "manager": "Nobody"}, "manager", "no rep named"),
        ("POST", {"name": "Nia", "role": "sdr", "email": "nia"}, "email", "not an email"),
        ("POST", {"name": "Nia"}, "role", "Field required"),
        ("POST", {"name": "Nia", "role": "sdr", "capacity": 2}, "capacity", "Extra inputs"),
        ("PATCH", {"role": "boss"}, "role", "unknown role 'boss'"),
        ("PATCH", {"team": "Wset"}, "team", "no team named 'Wset'; did you mean 'West'?"),
        ("PATCH", {"name": "DEE"}, "name", "a rep named 'Dee' already exists"),
        ("PATCH", {"name": None}, "name", "cannot be null"),
        ("PATCH", {"manager": "Ben"}, "manager", "a rep cannot be their own manager"),
        ("PATCH", {"start_date": "2026-02-30"}, "start_date", "date"),
        ("PATCH", {"end_date": "2026-02-30"}, "end_date", "date"),
        ("PATCH", {"end_date": "2026-13-01"}, "end_date", "date"),
    ],
)
def test_bad_input_is_422_naming_the_field_and_writes_nothing(
    api: tuple[Api, dict[str, int]], method: str, body: dict[str, Any], field: str, says: str
) -> None:
    client, ids = api
    path = "/reps" if method == "POST" else f"/reps/{ids['Ben']}"
    before, ben = counts(client.engine), stored(client.engine, ids["Ben"])
    reply = client.call("root", method, path, body)
    assert reply.status_code == 422, reply.text
    (error,) = reply.json()["detail"]
    assert error["loc"] == ["body", field] and says in error["msg"]
    assert counts(client.engine) == before and stored(client.engine, ids["Ben"]) == ben


def test_patch_sets_and_clears_a_last_day_never_before_the_start(
    api: tuple[Api, dict[str, int]],
) -> None:
    client, ids = api
    path = f"/reps/{ids['Ben']}"
    reply = client.call("max", "PATCH", path, {"start_date": "2026-01-05"})
    assert reply.status_code == 200, reply.text
    reply = client.call("max", "PATCH", path, {"end_date": "2026-03-31"})
    assert reply.status_code == 200, reply.text
    assert reply.json()["end_date"] == "2026-03-31"
    assert client.call("max", "GET", path).json()["end_date"] == "2026-03-31"
    reply = client.call("max", "PATCH", path, {"end_date": "2026-01-02"})
    assert reply.status_code == 422, reply.text
    (error,) = reply.json()["detail"]
    assert error["loc"] == ["body", "end_date"]
    assert "before the start date 2026-01-05" in error["msg"]
    assert stored(client.engine, ids["Ben"])["end_date"] == dt.date(2026, 3, 31)
    assert client.call("wes", "PATCH", path, {"end_date": None}).status_code == 403
    reply = client.call("max", "PATCH", path, {"end_date": None})
    assert reply.status_code == 200 and reply.json()["end_date"] is None


def test_a_missing_rep_is_404(api: tuple[Api, dict[str, int]]) -> None:
    client, _ = api
    reply = client.call("root", "PATCH", "/reps/999", {"email": "x@y.io"})
    assert reply.status_code == 404 and reply.json()["detail"] == "not found: rep 999"


# --- the CLI ---------------------------------------------------------------------------------


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., tuple[int, str]]:
    """`paceline ARGS` run in an empty folder of its own, wide enough for every message:
    (exit code, output)."""
    monkeypatch.chdir(tmp_path)
    for var in ("PACELINE_DB", "PACELINE_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    for console in (cli_module.out, cli_module.err):
        monkeypatch.setattr(console, "width", 250)
    runner = CliRunner()

    def cli(*args: str) -> tuple[int, str]:
        result = runner.invoke(cli_app, list(args))
        return result.exit_code, result.output

    return cli


def test_rep_edit_at_the_command_line(cli: Callable[..., tuple[int, str]]) -> None:
    cli("init")
    cli("rep", "add", "Ana Ruiz", "--team", "East")
    cli("rep", "add", "Max Boss", "--role", "manager", "--team", "West")
    code, output = cli(
        "rep", "edit", "ana ruiz", "--name", "Ana Ruiz-Lopez", "--team", "West",
        "--manager", "Max Boss", "--role", "sdr", "--email", "ana@x.io", "--start", "2026-02-02",
        "--json",
    )  # fmt: skip
    assert code == 0, output
    edited = json.loads(output)
    assert {k: edited[k] for k in ("name", "team", "manager", "role", "email", "start_date")} == {
        "name": "Ana Ruiz-Lopez",
        "team": "West",
        "manager": "Max Boss",
        "role": "sdr",
        "email": "ana@x.io",
        "start_date": "2026-02-02",
    }
    code, output = cli("rep", "edit", "Ana Ruiz-Lopez", "--team", "Wset")
    assert code == 1 and "team: no team named 'Wset'; did you mean 'West'?" in output
    code, output = cli("rep", "edit", "Ana Ruiz-Lopez", "--role", "boss")
    assert code == 1 and "role: unknown role 'boss'" in output
    code, output = cli("rep", "edit", "Nobody", "--role", "sdr")
    assert code == 1 and "no rep named 'Nobody'" in output
    code, output = cli("rep", "edit", "Ana Ruiz-Lopez")
    assert code == 1 and "nothing to change" in output
    code, output = cli("rep", "list", "--json")
    assert sorted((r["name"], r["team"], r["role"]) for r in json.loads(output)) == [
        ("Ana Ruiz-Lopez", "West", "sdr"),
        ("Max Boss", "West", "manager"),
    ]


def test_rep_edit_sets_and_clears_the_last_day(cli: Callable[..., tuple[int, str]]) -> None:
    cli("init")
    cli("rep", "add", "Ana Ruiz", "--team", "East", "--start", "2026-02-02")
    code, output = cli("rep", "edit", "Ana Ruiz", "--end", "2026-06-30", "--json")
    assert code == 0, output
    assert json.loads(output)["end_date"] == "2026-06-30"
    code, output = cli("rep", "list")
    assert code == 0 and "last day" in output and "2026-06-30" in output
    assert json.loads(cli("rep", "list", "--json")[1])[0]["end_date"] == "2026-06-30"
    code, output = cli("rep", "edit", "Ana Ruiz", "--end", "2026-01-30")
    assert code == 1
    assert "end_date: the last day 2026-01-30 is before the start date 2026-02-02" in output
    code, output = cli("rep", "edit", "Ana Ruiz", "--end", "2026-06-31")
    assert code == 1 and "--end: 2026-06-31: June 2026 has 30 days" in output
    code, output = cli("rep", "edit", "Ana Ruiz", "--end", "none", "--json")
    assert code == 0, output
    assert json.loads(output)["end_date"] is None
    assert json.loads(cli("rep", "list", "--json")[1])[0]["end_date"] is None
