"""The sync status on the web (`/syncs`) and in the API (`GET /api/v1/syncs`): admins see
each connector's last sync, its rows, its failure and its cursors; nobody else does.

The runs are written through `store.syncs` by hand (a done HubSpot sync that moved two
cursors, then a failed one; Pipedrive never synced), so every figure shown is planted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from factories import add_rep, api_tokens, bearer, login, made_app
from paceline.config import Settings
from paceline.store import syncs

USERS = {"root": ("admin", None), "max": ("manager", "Max"), "ana": ("rep", "Ana")}
FAILURE = "fetching: GET /crm/v3/owners: HTTP 401 Unauthorized: the API refused the token"


@pytest.fixture
def site(sqlite_engine: Engine, settings: Settings) -> Iterator[tuple[TestClient, dict[str, str]]]:
    add_rep(sqlite_engine, settings, "Max", "manager", team="East")
    add_rep(sqlite_engine, settings, "Ana", "ae", team="East")
    tokens = api_tokens(sqlite_engine, USERS)
    done = syncs.start_run(sqlite_engine, "hubspot", full=True)
    counts = {"rows_read": 47, "inserted": 34, "rejected": 13, "fetched": 47, "requests": 9}
    marks = {"deals": "2026-03-12T07:36:23.415Z", "tasks": "2026-03-15T10:00:00.838Z"}
    syncs.finish_run(sqlite_engine, done, "hubspot", counts, marks, None)
    failed = syncs.start_run(sqlite_engine, "hubspot", full=False)
    moved = {"deals": "2027-01-01T00:00:00.000Z"}  # a failed run moves nothing
    syncs.finish_run(sqlite_engine, failed, "hubspot", {"requests": 1}, moved, FAILURE)
    with TestClient(made_app(settings, sqlite_engine)) as client:
        yield client, tokens


def test_admins_see_each_source_with_its_last_run_failure_and_cursors(
    site: tuple[TestClient, dict[str, str]], sqlite_engine: Engine
) -> None:
    client, _ = site
    login(client, sqlite_engine, "root")
    page = client.get("/syncs")
    assert page.status_code == 200
    assert 'data-source="hubspot"' in page.text and 'data-source="pipedrive"' in page.text
    assert "deals: 2026-03-12T07:36:23.415Z" in page.text  # the done run's cursor stands
    assert "2027-01-01" not in page.text
    assert "the API refused the token" in page.text
    assert 'href="/syncs"' in page.text  # in the admin's menu


@pytest.mark.parametrize("username", ["max", "ana"])
def test_others_are_refused_the_page_and_the_endpoint(
    site: tuple[TestClient, dict[str, str]], sqlite_engine: Engine, username: str
) -> None:
    client, tokens = site
    login(client, sqlite_engine, username)
    assert client.get("/syncs").status_code == 403
    assert 'href="/syncs"' not in client.get("/leaderboard").text
    client.cookies.clear()
    assert client.get("/api/v1/syncs", headers=bearer(tokens[username])).status_code == 403


def test_the_endpoint_gives_the_same_status(site: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = site
    client.cookies.clear()
    reply = client.get("/api/v1/syncs", headers=bearer(tokens["root"]))
    assert reply.status_code == 200
    by_source = {s["source"]: s for s in reply.json()}
    hubspot, pipedrive = by_source["hubspot"], by_source["pipedrive"]
    assert (hubspot["status"], hubspot["failure"], hubspot["full"]) == ("failed", FAILURE, False)
    assert hubspot["cursors"] == {
        "deals": "2026-03-12T07:36:23.415Z",
        "tasks": "2026-03-15T10:00:00.838Z",
    }
    assert hubspot["last_done_at"] is not None and hubspot["inserted"] == 0  # the failed run's
    assert pipedrive["status"] is None and pipedrive["cursors"] == {}
    assert pipedrive["run_id"] is None and isinstance(hubspot["run_id"], int)
    for moment in ("started_at", "finished_at", "last_done_at"):  # stored as naive UTC
        assert dt.datetime.fromisoformat(hubspot[moment]).utcoffset() == dt.timedelta(0), moment
