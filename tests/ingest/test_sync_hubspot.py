"""`paceline sync hubspot` against HubSpot's API replayed with respx, from the recorded
responses in ../shared/data/crm_samples/hubspot (the same layout, the same records).

The sandbox's records are used as recorded, with two planted changes a real portal has:
every deal and task gets the owner 101 (the sandbox set none) from an owners answer in
HubSpot's layout, and every task is COMPLETED at its creation time (the recording did not
ask for hs_timestamp or hs_task_status). Expected figures were counted by hand from the
files: 21 deals, of which 8 have both an amount and a stage (479475667160, 480202228957,
480280330430, 481587939522, 487515647195, 493152397520, 493192081607, 493593663734) and 13
lack one of them (rejected: Paceline stores no empty amounts or stages); 25 tasks, 23 TODO
and 2 CALL. The latest updatedAt: deals 2026-03-12T07:36:23.415Z (493593663734), tasks
2026-03-15T10:00:00.838Z (472212098254).
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
from paceline.ingest.crm.hubspot import read_pipelines
from paceline.ingest.crm.jsonrows import stages_toml
from paceline.ingest.sync import SyncResult, run_sync
from paceline.ingest.sync.hubspot import HubSpotConnector
from paceline.ingest.writers import ACTIVITIES_LINKED, ACTIVITIES_RELINKED, deal_not_imported
from paceline.store import syncs
from paceline.store.migrate import downgrade, upgrade
from paceline.store.models import Account, Activity, Deal, ImportRun, Rep, SyncRun

SAMPLES = SHARED_DATA / "crm_samples" / "hubspot" / "nango-integration-templates"
pytestmark = pytest.mark.skipif(
    not SAMPLES.is_dir(), reason=f"the HubSpot samples are not at {SAMPLES}"
)
API = "https://api.hubapi.com"
TOKEN = "pat-na1-test-token-0000"
DEALS_MARK = "2026-03-12T07:36:23.415Z"
TASKS_MARK = "2026-03-15T10:00:00.838Z"
OWNER = {
    "id": "101",
    "email": "ana.ruiz@example.com",
    "firstName": "Ana",
    "lastName": "Ruiz",
    "userId": 9001,
    "createdAt": "2026-01-05T09:00:00.000Z",
    "updatedAt": "2026-01-05T09:00:00.000Z",
    "archived": False,
}


def recorded(name: str) -> dict[str, Any]:
    data = json.loads((SAMPLES / name).read_text("utf-8"))
    page: dict[str, Any] = next(iter(data["api"]["get"].values()))["response"]
    return page


def deals() -> list[dict[str, Any]]:
    records = copy.deepcopy(recorded("deals.test.json")["results"])
    for record in records:
        record["properties"]["hubspot_owner_id"] = "101"
    return records


def tasks() -> list[dict[str, Any]]:
    records = copy.deepcopy(recorded("tasks.test.json")["results"])
    for record in records:
        props = record["properties"]
        props.update(
            hubspot_owner_id="101", hs_task_status="COMPLETED", hs_timestamp=props["hs_createdate"]
        )
    return records


def hubspot_settings() -> Settings:
    base = parse_settings(default_config_text(), origin="test")
    stages = read_pipelines(SAMPLES / "fetch-pipelines.test.json")
    extra = stages_toml(stages, [s.name for s in base.stages])
    return parse_settings(default_config_text() + "\n" + extra, origin="test")


class FakeHubSpot:
    """HubSpot's API as respx routes: list pages, searches and association reads, with a
    script of failures to answer first. Records every request."""

    def __init__(self, mock: respx.MockRouter) -> None:
        self.lists: dict[str, list[list[dict[str, Any]]]] = {}  # object -> pages
        self.searches: dict[str, list[dict[str, Any]]] = {}
        self.links: dict[tuple[str, str], dict[str, list[str]]] = {}
        self.failures: dict[str, list[httpx.Response]] = {}  # path -> answers to give first
        self.bodies: list[tuple[str, Any]] = []
        self.headers: list[str] = []
        mock.route(host="api.hubapi.com").mock(side_effect=self.answer)

    def answer(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.headers.append(request.headers.get("authorization", ""))
        if self.failures.get(path):
            return self.failures[path].pop(0)
        if path == "/crm/v3/owners":
            return httpx.Response(200, json={"results": [OWNER]})
        if path == "/crm/v3/pipelines/deals":
            return httpx.Response(200, json=recorded("fetch-pipelines.test.json"))
        parts = path.strip("/").split("/")
        if path.startswith("/crm/v3/objects/") and request.method == "GET":
            pages = self.lists.get(parts[3], [[]])
            index = int(request.url.params.get("after", "0"))
            page: dict[str, Any] = {"results": pages[index]}
            if index + 1 < len(pages):
                page["paging"] = {"next": {"after": str(index + 1), "link": "..."}}
            return httpx.Response(200, json=page)
        if path.endswith("/search"):
            body = json.loads(request.content)
            self.bodies.append((parts[3], body))
            found = self.searches.get(parts[3], [])
            return httpx.Response(200, json={"total": len(found), "results": found})
        if path.startswith("/crm/v4/associations/"):
            body = json.loads(request.content)
            links = self.links.get((parts[3], parts[4]), {})
            results = [
                {
                    "from": {"id": item["id"]},
                    "to": [
                        {"toObjectId": int(t), "associationTypes": [{"typeId": 1}]}
                        for t in links[item["id"]]
                    ],
                }
                for item in body["inputs"]
                if item["id"] in links
            ]
            return httpx.Response(200, json={"status": "COMPLETE", "results": results})
        return httpx.Response(404, json={"message": f"no route {path}"})


def sync(
    engine: Engine, settings: Settings, tmp_path: Path, full: bool = False
) -> tuple[SyncResult, list[float]]:
    waits: list[float] = []
    result = run_sync(
        engine,
        settings,
        HubSpotConnector(),
        plugins.import_source,
        full=full,
        errors_dir=tmp_path,
        sleep=waits.append,
    )
    return result, waits


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PACELINE_HUBSPOT_TOKEN", TOKEN)
    return TOKEN


def count(engine: Engine, model: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def first_sync(engine: Engine, tmp_path: Path, fake: FakeHubSpot) -> SyncResult:
    all_deals = deals()
    fake.lists["deals"] = [all_deals[:10], all_deals[10:20], all_deals[20:]]  # 3 pages
    fake.lists["tasks"] = [tasks()]
    result, _ = sync(engine, hubspot_settings(), tmp_path)
    return result


def test_a_first_sync_pages_through_everything_and_imports_it_with_the_mappings(
    engine: Engine, tmp_path: Path, token: str
) -> None:
    with respx.mock(assert_all_called=False) as mock:
        fake = FakeHubSpot(mock)
        result = first_sync(engine, tmp_path, fake)
    assert result.status == "done", result.failure
    by_file = {r.file: r for r in result.imports}
    assert list(by_file) == ["hubspot:owners", "hubspot:deals", "hubspot:tasks"]
    deal_import = by_file["hubspot:deals"]
    # All three pages were read (10 + 10 + 1): the page boundaries lose and double nothing.
    assert (deal_import.read, deal_import.inserted, deal_import.rejected) == (21, 8, 13)
    assert (by_file["hubspot:tasks"].read, by_file["hubspot:tasks"].inserted) == (25, 25)
    assert result.fetched == 1 + 21 + 25
    assert result.cursors_after == {"deals": DEALS_MARK, "tasks": TASKS_MARK}
    assert syncs.cursors(engine, "hubspot") == {"deals": DEALS_MARK, "tasks": TASKS_MARK}
    assert count(engine, Deal) == 8 and count(engine, Activity) == 25
    with engine.connect() as conn:
        assert conn.execute(select(Rep.name)).scalars().all() == ["Ana Ruiz"]
        kinds = dict(
            conn.execute(select(Activity.kind, func.count()).group_by(Activity.kind)).all()
        )
        run = conn.execute(
            select(SyncRun.status, SyncRun.fetched, SyncRun.inserted, SyncRun.rejected)
        ).one()
    assert kinds == {"follow_up": 23, "call": 2}
    assert tuple(run) == ("done", 47, 34, 13)
    # Each import is recorded like any other; rejected deals are in the errors file.
    assert count(engine, ImportRun) == 3
    assert (tmp_path / "hubspot-deals.errors.csv").is_file()
    # The token went in the header, every time.
    assert set(fake.headers) == {f"Bearer {TOKEN}"}


def test_a_second_sync_asks_only_for_changes_and_doubles_nothing(
    engine: Engine, tmp_path: Path, token: str
) -> None:
    with respx.mock(assert_all_called=False) as mock:
        fake = FakeHubSpot(mock)
        first_sync(engine, tmp_path, fake)
        changed = deals()[-1]  # 493593663734, 15000 -> 18000, and linked to company 555
        changed["properties"]["amount"] = "18000"
        changed["updatedAt"] = changed["properties"]["hs_lastmodifieddate"] = (
            "2026-04-01T09:00:00.000Z"
        )
        boundary = deals()[-1]  # seen again at the cursor itself (GTE): unchanged
        fresh = copy.deepcopy(tasks()[0])
        fresh["id"] = fresh["properties"]["hs_object_id"] = "499000000001"
        fresh["updatedAt"] = "2026-04-02T10:00:00.000Z"
        fake.searches = {"deals": [boundary, changed], "tasks": [fresh]}
        fake.links[("deals", "companies")] = {"493593663734": ["555"]}
        fake.lists = {}  # a list request now would answer nothing: none may be made
        result, _ = sync(engine, hubspot_settings(), tmp_path)
    assert result.status == "done", result.failure
    # Each object was searched from its own cursor, in epoch milliseconds.
    filters = {obj: body["filterGroups"][0]["filters"][0] for obj, body in fake.bodies}
    deals_from = dt.datetime(2026, 3, 12, 7, 36, 23, 415000, tzinfo=dt.UTC)
    assert filters["deals"]["value"] == str(int(deals_from.timestamp() * 1000))
    assert filters["deals"]["operator"] == "GTE"
    assert filters["deals"]["propertyName"] == "hs_lastmodifieddate"
    # Objects without records had no cursor to move: they are listed whole again (empty).
    assert set(filters) == {"deals", "tasks"}
    by_file = {r.file: r for r in result.imports}
    # The search returned the boundary deal and its change: one record, updated once.
    assert (by_file["hubspot:deals"].read, by_file["hubspot:deals"].updated) == (1, 1)
    assert by_file["hubspot:tasks"].inserted == 1
    assert count(engine, Deal) == 8 and count(engine, Activity) == 26
    with engine.connect() as conn:
        amount, account = conn.execute(
            select(Deal.amount, Account.external_id)
            .join(Account, Deal.account_id == Account.id)
            .where(Deal.external_id == "493593663734")
        ).one()
    assert (amount, account) == (18000, "555")
    assert syncs.cursors(engine, "hubspot") == {
        "deals": "2026-04-01T09:00:00.000Z",
        "tasks": "2026-04-02T10:00:00.000Z",
    }


def test_a_rate_limit_is_waited_out_for_as_long_as_retry_after_says(
    engine: Engine, tmp_path: Path, token: str
) -> None:
    with respx.mock(assert_all_called=False) as mock:
        fake = FakeHubSpot(mock)
        limited = httpx.Response(
            429,
            headers={"Retry-After": "7"},
            json={"status": "error", "message": "You have reached your secondly limit."},
        )
        fake.failures["/crm/v3/objects/deals"] = [limited, httpx.Response(502)]
        fake.lists["deals"] = [deals()]
        result, waits = sync(engine, hubspot_settings(), tmp_path)
    assert result.status == "done", result.failure
    # 7 s as told for the 429, then the back-off of a second failed attempt (2 s) for the 502.
    assert waits == [7.0, 2.0]
    assert result.waited_seconds == 9.0
    assert count(engine, Deal) == 8


def page_one(fake: FakeHubSpot) -> dict[str, Any]:
    return {"results": fake.lists["deals"][0], "paging": {"next": {"after": "1"}}}


def test_a_500_mid_sync_writes_nothing_and_leaves_the_cursors_where_they_were(
    engine: Engine, tmp_path: Path, token: str
) -> None:
    with respx.mock(assert_all_called=False) as mock:
        fake = FakeHubSpot(mock)
        # The first sync fails on the second page of deals, after owners and page one.
        fake.lists["deals"] = [deals()[:10], deals()[10:]]
        broken = [httpx.Response(500, json={"message": "internal error"}) for _ in range(6)]
        fake.failures["/crm/v3/objects/deals"] = [httpx.Response(200, json=page_one(fake))]
        fake.failures["/crm/v3/objects/deals"] += broken
        result, waits = sync(engine, hubspot_settings(), tmp_path)
    assert result.status == "failed"
    assert result.failure is not None and "HTTP 500" in result.failure
    assert "after 6 attempts" in result.failure and TOKEN not in result.failure
    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0]  # five retries, bounded
    # Nothing half-written: no rep, no deal, no import run, no cursor.
    assert (count(engine, Rep), count(engine, Deal), count(engine, ImportRun)) == (0, 0, 0)
    assert syncs.cursors(engine, "hubspot") == {}
    (status,) = syncs.statuses(engine, ["hubspot"])
    assert status.status == "failed" and status.failure == result.failure


def test_a_failed_incremental_sync_keeps_the_cursors_of_the_last_good_one(
    engine: Engine, tmp_path: Path, token: str
) -> None:
    with respx.mock(assert_all_called=False) as mock:
        fake = FakeHubSpot(mock)
        first_sync(engine, tmp_path, fake)
        changed = deals()[-1]
        changed["properties"]["amount"] = "99999"
        changed["updatedAt"] = "2026-04-01T09:00:00.000Z"
        fake.searches = {"deals": [changed]}
        fake.failures["/crm/v3/objects/tasks/search"] = [httpx.Response(503)] * 6
        result, _ = sync(engine, hubspot_settings(), tmp_path)
    assert result.status == "failed"
    assert syncs.cursors(engine, "hubspot") == {"deals": DEALS_MARK, "tasks": TASKS_MARK}
    with engine.connect() as conn:  # the deal fetched before the failure was not written
        amount = conn.execute(
            select(Deal.amount).where(Deal.external_id == "493593663734")
        ).scalar_one()
    assert amount == 15000


def test_a_refused_token_fails_at_once_without_showing_it(
    engine: Engine, tmp_path: Path, token: str
) -> None:
    with respx.mock(assert_all_called=False) as mock:
        fake = FakeHubSpot(mock)
        fake.failures["/crm/v3/owners"] = [
            httpx.Response(401, json={"message": f"Authentication credentials {TOKEN} invalid"})
        ]
        result, waits = sync(engine, hubspot_settings(), tmp_path)
    assert result.status == "failed" and waits == []  # a 401 is not retried
    assert result.failure is not None
    assert "HTTP 401" in result.failure and "refused the token" in result.failure
    assert TOKEN not in result.failure and "***" in result.failure


def test_without_a_token_nothing_is_asked_and_the_variable_is_named(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PACELINE_HUBSPOT_TOKEN", raising=False)
    with pytest.raises(Exception, match="PACELINE_HUBSPOT_TOKEN"):
        sync(engine, hubspot_settings(), tmp_path)
    assert count(engine, SyncRun) == 0


def test_the_configuration_names_another_variable_for_the_token(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_TOKEN", "other-token")
    settings = hubspot_settings().model_copy(
        update={"sync": parse_settings(
            default_config_text() + '\n[sync.hubspot]\ntoken_env = "CRM_TOKEN"\n', origin="t"
        ).sync}
    )  # fmt: skip
    with respx.mock(assert_all_called=False) as mock:
        fake = FakeHubSpot(mock)
        result, _ = sync(engine, settings, tmp_path)
    assert result.status == "done" and set(fake.headers) == {"Bearer other-token"}


def test_a_task_pulled_before_its_deal_is_linked_when_the_deal_comes(
    engine: Engine, tmp_path: Path, token: str
) -> None:
    """Task 463216971977 is associated with deal 487986255044, which the first sync refuses
    (amount 15000, no stage): the task is kept without its deal, in a warning. The portal
    then gives the deal a stage; the second sync pulls the deal alone (the task did not
    change, so it is never pulled again) and links the task to it. It stayed unlinked."""
    listed = tasks()
    assert listed[0]["id"] == "463216971977"
    listed[0]["associations"]["deals"] = {
        "results": [{"id": "487986255044", "type": "task_to_deal"}]
    }
    with respx.mock(assert_all_called=False) as mock:
        fake = FakeHubSpot(mock)
        fake.lists = {"deals": [deals()], "tasks": [listed]}
        first, _ = sync(engine, hubspot_settings(), tmp_path)
        assert first.status == "done", first.failure
        warned = {r.file: r.notes for r in first.imports}["hubspot:tasks"]
        assert warned == {deal_not_imported("487986255044"): 1}
        fixed = next(d for d in deals() if d["id"] == "487986255044")
        fixed["properties"].update(dealstage="appointmentscheduled", pipeline="default")
        fixed["updatedAt"] = fixed["properties"]["hs_lastmodifieddate"] = "2026-04-01T09:00:00.000Z"
        fake.searches = {"deals": [fixed], "tasks": []}
        fake.lists = {}
        second, _ = sync(engine, hubspot_settings(), tmp_path)
    assert second.status == "done", second.failure
    deal_import = {r.file: r for r in second.imports}["hubspot:deals"]
    assert (deal_import.read, deal_import.inserted) == (1, 1)
    assert deal_import.notes == {ACTIVITIES_LINKED: 1}
    with engine.connect() as conn:
        linked = conn.execute(
            select(Activity.external_id, Deal.external_id).join(Deal, Deal.id == Activity.deal_id)
        ).all()
    assert linked == [("463216971977", "487986255044")]


def test_a_task_kept_unlinked_before_deal_wait_is_linked_by_the_next_sync_after_the_upgrade(
    engine: Engine, tmp_path: Path, token: str
) -> None:
    """As above, but the first sync ran before migration 0024: nothing recorded that task
    463216971977 waits for deal 487986255044. Upgraded, the next sync pulled the fixed deal
    alone and the task stayed unlinked for good (its tasks' cursor asked only for changed
    tasks: none). Migration 0025 forgets the tasks' cursor of a source with unlinked
    activities, so that sync lists the 25 tasks whole: the task is linked and counted, the
    other 24 are unchanged, and the deals' cursor is kept."""
    listed = tasks()
    listed[0]["associations"]["deals"] = {
        "results": [{"id": "487986255044", "type": "task_to_deal"}]
    }
    with respx.mock(assert_all_called=False) as mock:
        fake = FakeHubSpot(mock)
        fake.lists = {"deals": [deals()], "tasks": [listed]}
        first, _ = sync(engine, hubspot_settings(), tmp_path)
        assert first.status == "done", first.failure
        downgrade(engine, "0023")  # the first sync as before 0024: no deal_wait rows
        upgrade(engine)
        assert set(syncs.cursors(engine, "hubspot")) == {"deals"}
        fixed = next(d for d in deals() if d["id"] == "487986255044")
        fixed["properties"].update(dealstage="appointmentscheduled", pipeline="default")
        fixed["updatedAt"] = fixed["properties"]["hs_lastmodifieddate"] = "2026-04-01T09:00:00.000Z"
        fake.searches = {"deals": [fixed], "tasks": []}
        fake.lists = {"tasks": [listed]}
        second, _ = sync(engine, hubspot_settings(), tmp_path)
    assert second.status == "done", second.failure
    imported = {r.file: r for r in second.imports}
    assert imported["hubspot:deals"].notes == {}  # nothing waited for it
    task_import = imported["hubspot:tasks"]
    assert (task_import.read, task_import.updated, task_import.unchanged) == (25, 1, 24)
    assert task_import.notes == {ACTIVITIES_RELINKED: 1}
    with engine.connect() as conn:
        linked = conn.execute(
            select(Activity.external_id, Deal.external_id).join(Deal, Deal.id == Activity.deal_id)
        ).all()
    assert linked == [("463216971977", "487986255044")]
    assert second.cursors_after["tasks"] == TASKS_MARK
