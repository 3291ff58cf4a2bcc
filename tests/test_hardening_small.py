"""The small hardening findings, each as seen and now refused or answered properly: security
headers on every response, ids no row can have, unknown filter values, a non-UTF-8
configuration file, names that look alike, a header that repeats a column, one-line errors."""

from __future__ import annotations

import re
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from factories import made_app, migrated_sqlite_copy
from paceline.auth.accounts import add_user, create_token
from paceline.cli import app
from paceline.config import Settings
from paceline.store.models import Activity, Rep
from paceline.store.names import name_key

PASSWORD = "correct-horse-battery"
HUGE = 10**20  # no database integer holds it


@pytest.fixture
def site(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, settings: Settings
) -> Iterator[tuple[TestClient, dict[str, str]]]:
    engine = migrated_sqlite_copy(tmp_path_factory, tmp_path)
    add_user(engine, "root", PASSWORD, "admin")
    token = create_token(engine, "root", "test").token
    with TestClient(made_app(settings, engine), raise_server_exceptions=False) as client:
        yield client, {"Authorization": f"Bearer {token}"}
    engine.dispose()


def _log_in(client: TestClient) -> str:
    form = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    done = client.post(
        "/login",
        data={"username": "root", "password": PASSWORD, "csrf": csrf[1]},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    page_csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/tokens").text)
    assert page_csrf is not None
    return page_csrf[1]


def test_every_response_carries_the_security_headers(
    site: tuple[TestClient, dict[str, str]],
) -> None:
    client, auth = site
    answers = {
        "json": client.get("/api/v1/openapi.json"),
        "refused": client.get("/api/v1/reps"),  # 401, no token
        "not found": client.get("/api/v1/reps/999", headers=auth),
        "static": client.get("/static/paceline.css"),
        "docs page": client.get("/api/v1/docs"),
    }
    assert answers["refused"].status_code == 401 and answers["not found"].status_code == 404
    for what, answer in answers.items():
        assert answer.headers["x-content-type-options"] == "nosniff", what
        assert answer.headers["x-frame-options"] == "DENY", what
        assert answer.headers["referrer-policy"] == "same-origin", what
    for what in ("json", "refused", "not found", "static"):  # data runs nothing
        assert answers[what].headers["content-security-policy"].startswith("default-src 'none'")
    login_page = client.get("/login")  # a page keeps its own policy
    assert "script-src 'self'" in login_page.headers["content-security-policy"]


def test_ids_no_row_can_have_are_not_found(site: tuple[TestClient, dict[str, str]]) -> None:
    """They were 500s (the driver's overflow) on the pages and 422s in the API."""
    client, auth = site
    for path in ("reps", "activities", "deals"):
        answer = client.get(f"/api/v1/{path}/{HUGE}", headers=auth)
        assert answer.status_code == 404, (path, answer.text)
    assert client.delete(f"/api/v1/activities/{HUGE}", headers=auth).status_code == 404
    csrf = _log_in(client)
    assert client.get(f"/reps/{HUGE}").status_code == 404
    assert client.get(f"/activities/{HUGE}/edit").status_code == 404
    revoked = client.post(f"/tokens/{HUGE}/revoke", data={"csrf": csrf})
    assert revoked.status_code < 500


def test_unknown_filter_values_are_refused_by_name(
    site: tuple[TestClient, dict[str, str]],
) -> None:
    """An unknown stage or role gave an empty list, which reads as "nothing there"."""
    client, auth = site
    for path, field in (("deals?stage=Closd%20Won", "stage"), ("reps?role=sdrs", "role")):
        answer = client.get(f"/api/v1/{path}", headers=auth)
        assert answer.status_code == 422
        assert answer.json()["detail"][0]["loc"] == ["query", field]
    assert "did you mean 'closed_won'" in client.get(
        "/api/v1/deals?stage=Closd%20Won", headers=auth
    ).text.replace('\\"', "'")
    assert client.get("/api/v1/deals?stage=Closed%20Won", headers=auth).status_code == 200


def test_a_configuration_file_that_is_not_utf8_is_one_clear_line(tmp_path: Path) -> None:
    config = tmp_path / "paceline.toml"
    config.write_bytes(b'[calendar]\ntimezone = "Europe/Paris"\n# caf\xe9\n')
    ran = CliRunner().invoke(
        app, ["--config", str(config), "--db", f"sqlite:///{tmp_path / 'x.db'}", "init"]
    )
    assert ran.exit_code == 1
    assert f"{config}: line 3: not UTF-8 (byte 0xe9)" in ran.output
    assert "Traceback" not in ran.output


def test_names_that_look_the_same_are_one_rep(sqlite_engine: Engine, tmp_path: Path) -> None:
    composed = unicodedata.normalize("NFC", "José Núñez")
    decomposed = unicodedata.normalize("NFD", "José Núñez")
    wide = "Ｊｏｓé Núñez"  # full-width letters, as some input methods type them
    assert composed != decomposed
    assert name_key(composed) == name_key(decomposed) == name_key(wide)
    file = tmp_path / "calls.csv"
    file.write_text(
        "rep,kind,occurred_at\n"
        f"{decomposed},call,2026-11-02T10:00\n"
        f"{composed},call,2026-11-03T10:00\n"
        f"{wide},call,2026-11-04T10:00\n",
        "utf-8",
    )
    url = str(sqlite_engine.url)
    ran = CliRunner().invoke(app, ["--db", url, "import", "activities", str(file)])
    assert ran.exit_code == 0, ran.output
    with sqlite_engine.connect() as conn:
        reps = conn.execute(select(Rep.name)).scalars().all()
        assert len(reps) == 1 and name_key(reps[0]) == name_key(composed)
        assert len(conn.execute(select(Activity.id)).all()) == 3


def test_a_header_that_repeats_a_column_the_import_reads_is_refused(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    """It took the last 'rep' column silently: Ana's call became Bob's."""
    file = tmp_path / "calls.csv"
    file.write_text("rep,kind,occurred_at,rep,notes,notes\nAna,call,2026-11-02,Bob,a,b\n", "utf-8")
    ran = CliRunner().invoke(
        app, ["--db", str(sqlite_engine.url), "import", "activities", str(file)]
    )
    assert ran.exit_code == 1
    assert "the header repeats a column the import reads: 'rep' is columns 1, 4" in ran.output
    with sqlite_engine.connect() as conn:
        assert conn.execute(select(Activity.id)).all() == []


@pytest.mark.slow
def test_errors_stay_on_one_line_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    missing = tmp_path / ("a-long-folder-name-" * 6) / "paceline.toml"
    ran = subprocess.run(
        [sys.executable, "-m", "paceline.cli", "--config", str(missing), "summary"],
        capture_output=True,
        text=True,
        check=False,
        env={"COLUMNS": "80", "PATH": "/usr/bin:/bin"},
    )
    assert ran.returncode == 1
    lines = [line for line in ran.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and str(missing) in lines[0], ran.stderr


def test_a_file_that_cannot_be_written_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    """`init --config` into a folder that is a file crashed with a traceback."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder", "utf-8")
    ran = CliRunner().invoke(
        app,
        [
            "--config",
            str(blocker / "paceline.toml"),
            "--db",
            f"sqlite:///{tmp_path / 'x.db'}",
            "init",
        ],
    )
    assert ran.exit_code == 1
    assert "Traceback" not in ran.output and "error:" in ran.output and "blocker" in ran.output
    made = CliRunner().invoke(  # a folder that does not exist yet is made
        app,
        [
            "--config",
            str(tmp_path / "etc" / "paceline.toml"),
            "--db",
            f"sqlite:///{tmp_path / 'y.db'}",
            "init",
        ],
    )
    assert made.exit_code == 0, made.output
    assert (tmp_path / "etc" / "paceline.toml").is_file()
