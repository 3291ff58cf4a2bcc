"""A new rep name that looks like an existing rep's is refused unless confirmed.

`paceline log` refused the typo "Ana Ruis" with "did you mean", while `import` quietly made
a second rep of it. Now an import refuses the rows of a look-alike (an accent, or one or two
letters away for names of six letters or more) with a reason naming the existing rep, until
the name is confirmed (`--allow-new-rep`, the import page's confirm box, `confirm_new_name`
in the API). Every expected figure is counted by hand from the small files below.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from factories import bearer, made_app, migrated_sqlite_copy, write
from paceline.auth.accounts import add_user, create_token
from paceline.cli import app as cli_app
from paceline.config import Settings
from paceline.ingest.importer import ImportOptions, ImportResult, import_csv
from paceline.services.reps import add_rep
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade
from paceline.store.models import Rep
from paceline.store.names import edit_distance, near_duplicate

HEADER = "external_id,rep,kind,occurred_at,outcome,has_ask,account"
PASSWORD = "correct-horse-battery"


@pytest.mark.parametrize(
    ("new", "existing", "found"),
    [
        ("Jon Smith", ["John Smith"], "John Smith"),  # one letter left out
        ("Ana Ruis", ["Ana Ruiz", "Ben Ode"], "Ana Ruiz"),  # one letter changed
        ("Jose Garcia", ["José García"], "José García"),  # accents only
        ("Jhon Smith", ["John Smith"], "John Smith"),  # two letters changed
        ("Jhon Smiht", ["John Smith"], None),  # four: beyond a typo's two
        ("Ana", ["Ava"], None),  # too short to call a typo
        ("Maria Lopez", ["John Smith"], None),  # someone else
        ("ana  RUIZ", ["Ana Ruiz"], None),  # the same rep (case, spaces): not a new one
    ],
)
def test_which_names_look_like_an_existing_rep(
    new: str, existing: list[str], found: str | None
) -> None:
    assert near_duplicate(new, existing) == found


def test_edit_distance_by_hand() -> None:
    assert edit_distance("jon smith", "john smith", 2) == 1
    assert edit_distance("ana ruis", "ana ruiz", 2) == 1
    assert edit_distance("kitten", "sitting", 5) == 3
    assert edit_distance("abc", "abcdef", 2) == 3  # length gap alone: limit + 1
    assert edit_distance("jhon smiht", "john smith", 2) == 3  # 4 edits: stops at limit + 1


def _import(engine: Engine, settings: Settings, path: Path, **options: object) -> ImportResult:
    opts = ImportOptions(errors_path=path.with_suffix(".errors.csv"), **options)  # type: ignore[arg-type]
    return import_csv(engine, settings, path, "activities", options=opts)


def _reps(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(Rep.name)).scalars())


FILE = f"""{HEADER}
n1,Ana Ruiz,call,2026-11-20T10:00:00,conversation,yes,Acme
n2,Ana Ruis,call,2026-11-20T11:00:00,conversation,yes,Acme
n3,Ana Ruis,email,2026-11-20T12:00:00,,yes,Acme
n4,Maria Lopez,call,2026-11-20T13:00:00,,no,Globex
"""


def test_an_import_refuses_a_look_alike_and_names_the_existing_rep(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    add_rep(engine, settings, "Ana Ruiz", "ae", "East")
    result = _import(engine, settings, write(tmp_path / "acts.csv", FILE))
    # Ana Ruiz's row and Maria Lopez's (a new person, not close to anyone) go in; the two
    # rows of "Ana Ruis" are refused.
    assert (result.read, result.inserted, result.rejected) == (4, 2, 2)
    assert result.new_reps == ["Maria Lopez"]
    assert result.near_duplicates == {"Ana Ruis": "Ana Ruiz"}
    assert _reps(engine) == ["Ana Ruiz", "Maria Lopez"]
    assert result.errors_file is not None
    with open(result.errors_file, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["line"] for r in rows] == ["3", "4"]
    assert {r["field"] for r in rows} == {"rep"}
    assert "new rep 'Ana Ruis' looks like the existing rep 'Ana Ruiz'" in rows[0]["reason"]
    assert "--allow-new-rep 'Ana Ruis'" in rows[0]["reason"]


def test_a_confirmed_name_becomes_a_new_rep(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    add_rep(engine, settings, "John Smith", "ae", "East")
    text = f"{HEADER}\nc1,Jon Smith,call,2026-11-20T10:00:00,conversation,yes,Acme\n"
    path = write(tmp_path / "acts.csv", text)
    refused = _import(engine, settings, path)
    assert (refused.inserted, refused.rejected) == (0, 1)
    done = _import(engine, settings, path, confirmed_new_reps=frozenset({"jon  smith"}))
    assert (done.inserted, done.rejected, done.new_reps) == (1, 0, ["Jon Smith"])
    assert done.near_duplicates == {}
    assert _reps(engine) == ["John Smith", "Jon Smith"]


def test_the_cli_says_which_rep_it_looks_like_and_takes_allow_new_rep(
    tmp_path: Path, settings: Settings
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    upgrade(engine)
    add_rep(engine, settings, "José García", "ae", "East")
    text = f"{HEADER}\nj1,Jose Garcia,call,2026-11-20T10:00:00,conversation,yes,Acme\n"
    path = write(tmp_path / "acts.csv", text)
    runner = CliRunner()
    base = ["--db", url, "import", "activities", str(path), "--errors", str(tmp_path / "e.csv")]
    refused = runner.invoke(cli_app, base)
    shown = " ".join(refused.output.split())
    assert "new rep 'Jose Garcia' looks like the existing rep 'José García'" in shown, shown
    assert _reps(engine) == ["José García"]
    done = runner.invoke(cli_app, [*base, "--allow-new-rep", "Jose Garcia"])
    assert done.exit_code == 0, done.output
    assert _reps(engine) == ["Jose Garcia", "José García"]


def test_rep_add_refuses_a_look_alike_unless_confirmed(tmp_path: Path, settings: Settings) -> None:
    url = f"sqlite:///{tmp_path / 'add.db'}"
    engine = make_engine(url)
    upgrade(engine)
    add_rep(engine, settings, "John Smith", "ae", "East")
    runner = CliRunner()
    refused = runner.invoke(cli_app, ["--db", url, "rep", "add", "Jon Smith", "--team", "East"])
    assert refused.exit_code == 1
    assert "looks like the existing rep 'John Smith'" in " ".join(refused.output.split())
    done = runner.invoke(
        cli_app, ["--db", url, "rep", "add", "Jon Smith", "--team", "East", "--confirm-new-name"]
    )
    assert done.exit_code == 0, done.output
    assert _reps(engine) == ["John Smith", "Jon Smith"]


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found[1]


def test_the_import_page_offers_to_confirm_and_the_api_takes_a_field(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, settings: Settings
) -> None:
    engine = migrated_sqlite_copy(tmp_path_factory, tmp_path)
    add_user(engine, "root", PASSWORD, "admin")
    add_rep(engine, settings, "Ana Ruiz", "ae", "East")
    client = TestClient(made_app(settings, engine))
    login = client.get("/login")
    client.post(
        "/login", data={"username": "root", "password": PASSWORD, "csrf": _csrf(login.text)}
    )
    csrf = _csrf(client.get("/import").text)
    upload = ("acts.csv", FILE.encode(), "text/csv")
    data = {"csrf": csrf, "entity": "activities", "allow_new_reps": "yes"}
    first = client.post("/import", data=data, files={"file": upload}).text
    assert 'data-testid="near-duplicates"' in first
    assert "“Ana Ruis” looks like <strong>Ana Ruiz</strong>" in first
    # The confirm step: a box per refused name, under the form, to tick and import again.
    assert 'name="allow_new_rep" type="checkbox" value="Ana Ruis"' in first
    again = client.post(
        "/import", data={**data, "allow_new_rep": ["Ana Ruis"]}, files={"file": upload}
    ).text
    assert 'data-testid="near-duplicates"' not in again
    assert _reps(engine) == ["Ana Ruis", "Ana Ruiz", "Maria Lopez"]

    # The API: 422 naming the rep, then 201 with confirm_new_name.
    client.cookies.clear()
    headers = bearer(create_token(engine, "root", "tests").token)
    body = {"name": "Ana Ruic", "role": "ae"}
    refused = client.post("/api/v1/reps", json=body, headers=headers)
    assert refused.status_code == 422, refused.text
    assert "looks like the existing rep" in refused.text
    made = client.post("/api/v1/reps", json={**body, "confirm_new_name": True}, headers=headers)
    assert made.status_code == 201, made.text
