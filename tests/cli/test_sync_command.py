"""`paceline sync` on the command line: a Pipedrive sync replayed with respx from the
recorded deals of ../shared/data/crm_samples (8 deals, one user "Nango", 12 stages; counted
by hand), its summary, `--status`, `--json`, and a failure that exits 1 without the token.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from typer.testing import CliRunner

from factories import SHARED_DATA
from paceline.cli import app
from paceline.config import default_config_text, parse_settings
from paceline.ingest.crm.jsonrows import stages_toml
from paceline.ingest.crm.pipedrive import read_stages

SAMPLES = SHARED_DATA / "crm_samples" / "pipedrive" / "nango-integration-templates"
pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"no samples at {SAMPLES}")
TOKEN = "fedcba9876543210fedcba9876543210fedcba98"


def recorded(name: str) -> dict[str, Any]:
    data = json.loads((SAMPLES / name).read_text("utf-8"))
    return copy.deepcopy(next(iter(data["api"]["get"].values()))["response"])


def answer(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if path == "/v1/users":
        user = recorded("deals.test.json")["related_objects"]["user"]["25760681"]
        return httpx.Response(200, json={"success": True, "data": [user]})
    if path == "/v1/stages":
        return httpx.Response(200, json=recorded("stages.test.json"))
    if path == "/v1/deals":
        return httpx.Response(200, json=recorded("deals.test.json"))
    return httpx.Response(200, json={"success": True, "data": []})


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    base = parse_settings(default_config_text(), origin="test")
    stages = stages_toml(read_stages(SAMPLES / "stages.test.json"), [s.name for s in base.stages])
    (tmp_path / "paceline.toml").write_text(default_config_text() + "\n" + stages, "utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PACELINE_PIPEDRIVE_TOKEN", TOKEN)
    assert CliRunner().invoke(app, ["init"]).exit_code == 0
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    done = CliRunner().invoke(app, list(args))
    return done.exit_code, done.output


def test_sync_prints_the_imports_and_the_cursors_then_the_status(workdir: Path) -> None:
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="api.pipedrive.com").mock(side_effect=answer)
        code, output = run("sync", "pipedrive")
    assert code == 0, output
    # No cursor yet: everything is fetched (1 user, 8 deals; the activities answer is empty).
    assert "pipedrive: first sync done: 9 records fetched" in output
    assert "cursor deals: 2026-05-15 10:21:57" in output
    code, output = run("sync", "--status", "--json")
    assert code == 0
    status = {s["source"]: s for s in json.loads(output)}
    assert status["pipedrive"]["status"] == "done" and status["pipedrive"]["inserted"] == 9
    assert status["hubspot"]["status"] is None  # never synced
    code, output = run("sync", "--status")
    assert "pipedrive" in output and "deals: 2026-05-15 10:21:57" in output


def test_a_failed_sync_exits_1_with_the_reason_and_never_the_token(workdir: Path) -> None:
    with respx.mock(assert_all_called=False) as mock:
        refused = httpx.Response(401, json={"success": False, "error": f"bad token {TOKEN}"})
        mock.route(host="api.pipedrive.com").mock(return_value=refused)
        code, output = run("sync", "pipedrive")
    assert code == 1
    assert "sync failed" in output and "HTTP 401" in output
    assert TOKEN not in output
    assert "cursors unchanged" in output


def test_sync_names_the_known_sources(workdir: Path) -> None:
    code, output = run("sync")
    assert code == 1 and "hubspot, pipedrive" in output
    code, output = run("sync", "salesforce")
    assert code == 1 and "no sync connector called 'salesforce'" in output
