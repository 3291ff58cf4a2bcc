"""A `kind = "sync"` job: `paceline scheduler` (or `notify --due`) runs `paceline sync
SOURCE` on its timetable, once per slot, and a failed sync fails the run with the reason.

HubSpot is replayed with respx from the recorded deals of ../shared/data/crm_samples (the
owner 101 planted on each, as a real portal has): 21 deals, 8 with an amount and a stage
(counted by hand; see tests/ingest/test_sync_hubspot.py's docstring for the list).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import Engine

from factories import SHARED_DATA
from paceline.config import Settings, default_config_text, parse_settings
from paceline.ingest.crm.hubspot import read_pipelines
from paceline.ingest.crm.jsonrows import stages_toml
from paceline.scheduling import run_due
from paceline.store import syncs

SAMPLES = SHARED_DATA / "crm_samples" / "hubspot" / "nango-integration-templates"
pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"no samples at {SAMPLES}")
MONDAY = dt.datetime(2026, 12, 7)  # naive UTC
OWNER = {"id": "101", "email": "ana@example.com", "firstName": "Ana", "lastName": "Ruiz"}


def recorded(name: str) -> dict[str, Any]:
    data = json.loads((SAMPLES / name).read_text("utf-8"))
    return copy.deepcopy(next(iter(data["api"]["get"].values()))["response"])


def answer(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if path == "/crm/v3/owners":
        return httpx.Response(200, json={"results": [OWNER]})
    if path == "/crm/v3/pipelines/deals":
        return httpx.Response(200, json=recorded("fetch-pipelines.test.json"))
    if path == "/crm/v3/objects/deals":
        deals = recorded("deals.test.json")["results"]
        for deal in deals:
            deal["properties"]["hubspot_owner_id"] = "101"
        return httpx.Response(200, json={"results": deals})
    if path.endswith("/search"):
        return httpx.Response(200, json={"total": 0, "results": []})
    return httpx.Response(200, json={"results": []})


def settings_with(jobs: str, tmp_path: Path) -> Settings:
    base = parse_settings(default_config_text(), origin="test")
    stages = stages_toml(
        read_pipelines(SAMPLES / "fetch-pipelines.test.json"), [s.name for s in base.stages]
    )
    sync = f'[sync.hubspot]\nerrors_dir = "{tmp_path}"\n'
    return parse_settings(f"{default_config_text()}\n{stages}\n{sync}\n{jobs}", origin="test")


JOB = '[[jobs]]\nname = "crm"\nkind = "sync"\nsource = "hubspot"\nat = "02:00"\ndays = "daily"\n'


def test_a_sync_job_runs_the_sync_once_a_night(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PACELINE_HUBSPOT_TOKEN", "token")
    settings = settings_with(JOB, tmp_path)
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="api.hubapi.com").mock(side_effect=answer)
        run_due(engine, settings, MONDAY + dt.timedelta(hours=20))  # first sight: skipped
        # 02:00 New York on Tuesday is 07:00 UTC.
        [night] = run_due(engine, settings, dt.datetime(2026, 12, 8, 7))
        assert run_due(engine, settings, dt.datetime(2026, 12, 8, 7, 30)) == []  # once
    assert night.status == "done", night.detail
    assert night.detail == "hubspot: 22 fetched, 9 new, 0 updated, 13 rejected"  # 1 rep, 8 deals
    assert syncs.cursors(engine, "hubspot") == {"deals": "2026-03-12T07:36:23.415Z"}


def test_a_failed_sync_fails_its_run_with_the_reason(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PACELINE_HUBSPOT_TOKEN", "token")
    settings = settings_with(JOB, tmp_path)
    with respx.mock(assert_all_called=False) as mock:
        mock.route(host="api.hubapi.com").mock(return_value=httpx.Response(403))
        run_due(engine, settings, MONDAY + dt.timedelta(hours=20))
        [night] = run_due(engine, settings, dt.datetime(2026, 12, 8, 7))
    assert night.status == "failed"
    assert "HTTP 403" in night.detail and "lacks a scope" in night.detail
    assert syncs.cursors(engine, "hubspot") == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[jobs]]\nname = "x"\nkind = "sync"\nat = "02:00"\n', "needs source"),
        ('[[jobs]]\nname = "x"\nkind = "alerts"\nat = "02:00"\nsource = "hubspot"\n', "sync jobs"),
    ],
)
def test_sync_job_settings_are_checked(text: str, message: str) -> None:
    with pytest.raises(Exception, match=message):
        parse_settings(default_config_text() + "\n" + text, origin="test")
