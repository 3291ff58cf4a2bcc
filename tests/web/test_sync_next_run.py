"""The Syncs page says when each scheduled sync runs next, as the scheduler reckons it.

Worked by hand: the test clock stands on Monday 2026-12-07 (noon); a sync job at 07:00 on
business days in Berlin has missed Monday's slot, so it next runs on Tuesday 2026-12-08 at
07:00 Berlin time (06:00 UTC), shown in the calendar's zone. A disabled job has no next run.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from factories import add_users, login, made_app
from paceline.config import CalendarSettings, JobSettings, Settings


def test_the_syncs_page_shows_each_scheduled_syncs_next_run(
    sqlite_engine: Engine, settings: Settings
) -> None:
    calendar = CalendarSettings(**{**settings.calendar.model_dump(), "timezone": "Europe/Berlin"})
    jobs = [
        JobSettings(name="crm", kind="sync", source="hubspot", at="07:00", days="business"),
        JobSettings(name="old", kind="sync", source="pipedrive", at="05:00", enabled=False),
    ]
    add_users(sqlite_engine, {"root": ("admin", None)})
    scheduled = settings.model_copy(update={"calendar": calendar, "jobs": jobs})
    with TestClient(made_app(scheduled, sqlite_engine)) as client:
        login(client, sqlite_engine, "root")
        page = client.get("/syncs")
    assert page.status_code == 200
    assert '<span data-next="crm">2026-12-08 07:00</span>' in page.text
    assert 'data-next="old"' not in page.text and "05:00 business; disabled" in page.text
