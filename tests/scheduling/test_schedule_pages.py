"""`/preferences` (each user, their own) and `/jobs` (admins) over the real app."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from factories import made_app
from paceline.access import OPERATOR
from paceline.scheduling import run_due
from paceline.services import users
from paceline.store.schedule import Preference, preference_of, user_by_name
from schedule_org import PASSWORD, build_org, settings_for


@pytest.fixture
def client(sqlite_engine: Engine) -> Iterator[TestClient]:
    settings = settings_for(2525)
    build_org(sqlite_engine, settings, with_preferences=False)
    users.add_user(sqlite_engine, OPERATOR, "root", PASSWORD, "admin")
    with TestClient(made_app(settings, sqlite_engine)) as test_client:
        yield test_client


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no csrf field"
    return found.group(1)


def _login(client: TestClient, username: str) -> str:
    client.cookies.clear()
    form = client.get("/login")
    reply = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf": _csrf(form.text)},
        follow_redirects=False,
    )
    assert reply.status_code == 303, reply.text
    return _csrf(client.get("/preferences").text)


def _saved(engine: Engine, username: str) -> Preference:
    found = user_by_name(engine, username)
    assert found is not None
    return preference_of(engine, found[0])


def test_a_user_sets_their_own_preferences(client: TestClient, sqlite_engine: Engine) -> None:
    csrf = _login(client, "ben")
    page = client.get("/preferences")
    assert page.status_code == 200
    assert 'name="rep_digest" value="on" checked' in page.text  # on until said otherwise
    reply = client.post(
        "/preferences",
        data={"csrf": csrf, "rep_digest": "on", "channel": "webhook",
              "quiet_start": "22:00", "quiet_end": "07:00"},
    )  # fmt: skip
    assert reply.status_code == 200 and "Saved." in reply.text
    assert _saved(sqlite_engine, "ben") == Preference(
        rep_digest=True, manager_digest=False, alerts=False, channel="webhook",
        quiet_start="22:00", quiet_end="07:00",
    )  # fmt: skip
    bad = client.post("/preferences", data={"csrf": csrf, "quiet_start": "22:00", "quiet_end": ""})
    assert bad.status_code == 422 and "quiet_end: give both or neither" in bad.text
    assert _saved(sqlite_engine, "ben").quiet_start == "22:00"  # nothing half-written
    assert client.post("/preferences", data={"csrf": "wrong"}).status_code == 403


def test_the_jobs_page_is_for_admins(client: TestClient, sqlite_engine: Engine) -> None:
    run_due(sqlite_engine, settings_for(2525), dt.datetime(2026, 12, 7))
    _login(client, "ben")
    assert client.get("/jobs").status_code == 403
    _login(client, "root")
    page = client.get("/jobs")
    assert page.status_code == 200
    assert 'data-job="morning"' in page.text and 'data-job="monday_team"' in page.text
    assert "first seen after this time" in page.text
