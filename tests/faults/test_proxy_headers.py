"""X-Forwarded-For is believed only from a configured proxy.

As seen: uvicorn believes the header from 127.0.0.1 by default, so a local client sending a
new X-Forwarded-For with each guess stepped around the per-address login limit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from factories import served_app
from paceline.config import Settings
from paceline.server import create_app, proxy_options
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade
from paceline.store.models import LoginAttempt

pytestmark = pytest.mark.faults


def _serving(settings: Settings, db: Path, trusted: list[str]) -> Iterator[str]:
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    try:
        with served_app(create_app(settings, engine), **proxy_options(trusted)) as url:
            yield url
    finally:
        engine.dispose()


def _recorded_address(settings: Settings, db: Path, trusted: list[str]) -> str:
    """Fail one login sending X-Forwarded-For: 203.0.113.9; the address the limit counted."""
    for url in _serving(settings, db, trusted):
        with httpx.Client(base_url=url) as client:
            form = client.get("/login")
            csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
            assert csrf is not None
            refused = client.post(
                "/login",
                data={"username": "nobody", "password": "wrong password", "csrf": csrf[1]},
                headers={"X-Forwarded-For": "203.0.113.9"},
            )
            assert refused.status_code == 401
    with make_engine(f"sqlite:///{db}").connect() as conn:
        return str(conn.execute(select(LoginAttempt.address)).scalar_one())


@pytest.mark.slow
def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(
    settings: Settings, tmp_path: Path
) -> None:
    assert _recorded_address(settings, tmp_path / "a.db", []) == "127.0.0.1"
    assert _recorded_address(settings, tmp_path / "b.db", ["127.0.0.1"]) == "203.0.113.9"
