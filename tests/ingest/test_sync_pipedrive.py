"""`paceline sync pipedrive` against Pipedrive's API replayed with respx, from the recorded
responses in ../shared/data/crm_samples/pipedrive (the same layout, the same records).

Counted by hand from the files: 8 deals (ids 1-8, all open; the latest update_time
2026-05-15 10:21:57, deal 1), 7 activities (all calls, none done: planned activities are
skipped; the latest update_time 2026-05-15 10:16:59, activity 7), 12 stages, and one user,
25760681 "Nango" (the answers' related_objects, served as GET /v1/users answers it). The
recorded stages are the /v2/stages answer, served as /v1/stages (the same records).
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
from sqlalchemy import Engine, func, select

from factories import SHARED_DATA
from paceline import plugins
from paceline.config import Settings, default_config_text, parse_settings
from paceline.ingest.crm.jsonrows import stages_toml
from paceline.ingest.crm.pipedrive import read_stages
from paceline.ingest.sync import SyncResult, run_sync
from paceline.ingest.sync.pipedrive import PipedriveConnector
from paceline.store import syncs
from paceline.store.models import Activity, Deal, ImportRun

SAMPLES = SHARED_DATA / "crm_samples" / "pipedrive" / "nango-integration-templates"
pytestmark = pytest.mark.skipif(
    not SAMPLES.is_dir(), reason=f"the Pipedrive samples are not at {SAMPLES}"
)
TOKEN = "0123456789abcdef0123456789abcdef01234567"


def recorded(name: str) -> dict[str, Any]:
    data = json.loads((SAMPLES / name).read_text("utf-8"))
    page: dict[str, Any] = next(iter(data["api"]["get"].values()))["response"]
    return copy.deepcopy(page)


def pipedrive_settings() -> Settings:
    base = parse_settings(default_config_text(), origin="test")
    extra = stages_toml(read_stages(SAMPLES / "stages.test.json"), [s.name for s in base.stages])
    return parse_settings(default_config_text() + "\n" + extra, origin="test")


def page(records: list[dict[str, Any]], start: int, more: bool) -> dict[str, Any]:
    pagination: dict[str, Any] = {"start": start, "limit": 5, "more_items_in_collection": more}
    if more:
        pagination["next_start"] = start + len(records)
    return {"success": True, "data": records, "additional_data": {"pagination": pagination}}


class FakePipedrive:
    """Pipedrive's v1 API as one respx route; `recents` answers /v1/recents by item."""

    def __init__(self, mock: respx.MockRouter) -> None:
        self.deals = recorded("deals.test.json")["data"]
        self.activities = recorded("activities.test.json")["data"]
        self.recents: dict[str, list[dict[str, Any]]] = {}
        self.failures: dict[str, list[httpx.Response]] = {}
        self.asked: list[tuple[str, dict[str, str]]] = []
        self.tokens: set[str] = set()
        mock.route(host="api.pipedrive.com").mock(side_effect=self.answer)

    def answer(self, request: httpx.Request) -> httpx.Response:
        path, params = request.url.path, dict(request.url.params)
        self.asked.append((path, params))
        self.tokens.add(request.headers.get("x-api-token", ""))
        if self.failures.get(path):
            return self.failures[path].pop(0)
        start = int(params.get("start", "0"))
        if path == "/v1/users":
            user = recorded("deals.test.json")["related_objects"]["user"]["25760681"]
            return httpx.Response(200, json={"success": True, "data": [user]})
        if path == "/v1/stages":
            return httpx.Response(200, json=recorded("stages.test.json"))
        if path in ("/v1/deals", "/v1/activities"):
            records = self.deals if path == "/v1/deals" else self.activities
            chunk = records[start : start + 5]  # pages of 5: the boundary falls mid-list
            return httpx.Response(200, json=page(chunk, start, start + 5 < len(records)))
        if path == "/v1/recents":
            items = self.recents.get(params["items"], [])
            wrapped = [{"item": params["items"], "id": r["id"], "data": r} for r in items]
            return httpx.Response(200, json=page(wrapped, 0, False))
        return httpx.Response(404, json={"success": False, "error": "unknown route"})


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PACELINE_PIPEDRIVE_TOKEN", TOKEN)
    return TOKEN


def sync(engine: Engine, tmp_path: Path) -> SyncResult:
    return run_sync(
        engine,
        pipedrive_settings(),
        PipedriveConnector(),
        plugins.import_source,
        errors_dir=tmp_path,
        sleep=lambda seconds: None,
    )


def count(engine: Engine, model: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def test_a_first_sync_pages_through_deals_and_activities(
    engine: Engine, tmp_path: Path, token: str
) -> None:
    with respx.mock(assert_all_called=False) as mock:
        fake = FakePipedrive(mock)
        result = sync(engine, tmp_path)
    assert result.status == "done", result.failure
    by_file = {r.file: r for r in result.imports}
    assert list(by_file) == ["pipedrive:users", "pipedrive:deals", "pipedrive:activities"]
    assert (by_file["pipedrive:deals"].read, by_file["pipedrive:deals"].inserted) == (8, 8)
    assert (by_file["pipedrive:activities"].read, by_file["pipedrive:activities"].skipped) == (
        7,
        7,
    )
    # Two pages each (5 + 3, 5 + 2), asked by start.
    starts = [(p, q.get("start")) for p, q in fake.asked if p in ("/v1/deals", "/v1/activities")]
    assert starts == [
        ("/v1/deals", "0"),
        ("/v1/deals", "5"),
        ("/v1/activities", "0"),
        ("/v1/activities", "5"),
    ]
    assert fake.tokens == {TOKEN}
    assert all("api_token" not in q for _, q in fake.asked)  # never in the URL
    assert syncs.cursors(engine, "pipedrive") == {
        "deals": "2026-05-15 10:21:57",
        "activities": "2026-05-15 10:16:59",
    }
    assert count(engine, Deal) == 8 and count(engine, Activity) == 0


def test_a_second_sync_reads_recents_since_the_cursors_and_doubles_nothing(
    engine: Engine, tmp_path: Path, token: str
) -> None:
    with respx.mock(assert_all_called=False) as mock:
        fake = FakePipedrive(mock)
        sync(engine, tmp_path)
        won = copy.deepcopy(next(d for d in fake.deals if d["id"] == 3))
        won.update(status="won", won_time="2026-05-20 14:00:00", update_time="2026-05-20 14:00:00")
        same = copy.deepcopy(next(d for d in fake.deals if d["id"] == 1))  # the cursor's own
        done = copy.deepcopy(next(a for a in fake.activities if a["id"] == 3))
        done.update(done=True, update_time="2026-05-20 15:00:00")
        fake.recents = {"deal": [same, won], "activity": [done]}
        fake.asked.clear()
        result = sync(engine, tmp_path)
    assert result.status == "done", result.failure
    recents = {q["items"]: q["since_timestamp"] for p, q in fake.asked if p == "/v1/recents"}
    # One second before each cursor: a change in the cursor's own second is not missed.
    assert recents == {"deal": "2026-05-15 10:21:56", "activity": "2026-05-15 10:16:58"}
    assert not any(p in ("/v1/deals", "/v1/activities") for p, _ in fake.asked)
    by_file = {r.file: r for r in result.imports}
    deals_import = by_file["pipedrive:deals"]
    assert (deals_import.read, deals_import.updated, deals_import.unchanged) == (2, 1, 1)
    assert by_file["pipedrive:activities"].inserted == 1
    assert count(engine, Deal) == 8 and count(engine, Activity) == 1
    with engine.connect() as conn:
        status, closed = conn.execute(
            select(Deal.status, Deal.closed_at).where(Deal.external_id == "3")
        ).one()
        day = conn.execute(select(Activity.local_date)).scalar_one()
    assert (status, closed) == ("won", dt.datetime(2026, 5, 20, 14, 0))
    assert day == dt.date(2026, 5, 15)  # due 2026-05-15, no time: counts on that date
    assert syncs.cursors(engine, "pipedrive") == {
        "deals": "2026-05-20 14:00:00",
        "activities": "2026-05-20 15:00:00",
    }


def test_a_server_error_on_recents_leaves_everything_as_the_last_sync_left_it(
    engine: Engine, tmp_path: Path, token: str
) -> None:
    with respx.mock(assert_all_called=False) as mock:
        fake = FakePipedrive(mock)
        sync(engine, tmp_path)
        runs = count(engine, ImportRun)
        fake.failures["/v1/recents"] = [httpx.Response(500)] * 6
        result = sync(engine, tmp_path)
    assert result.status == "failed" and "HTTP 500" in (result.failure or "")
    assert count(engine, ImportRun) == runs  # no import started
    assert syncs.cursors(engine, "pipedrive")["deals"] == "2026-05-15 10:21:57"
