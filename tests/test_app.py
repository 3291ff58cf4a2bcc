"""The application shell: API docs served without a CDN, errors in one shape."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from paceline.config import Settings
from paceline.server import create_app
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade


def test_api_docs_load_everything_from_this_server(tmp_path: Path, settings: Settings) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'app.db'}")
    upgrade(engine)
    client = TestClient(create_app(settings, engine))
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    links = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert links and all(link.startswith("/api/v1/") for link in links)
    for link in links:
        assert client.get(link).status_code == 200, link
    assert "http" not in page.text.replace("http-equiv", "")
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["info"]["title"] == "Paceline"
