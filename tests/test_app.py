"""The application shell: API docs served without a CDN, errors in one shape."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from factories import migrated_sqlite_copy
from paceline.config import Settings
from paceline.server import create_app


def test_api_docs_load_everything_from_this_server(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, settings: Settings
) -> None:
    engine = migrated_sqlite_copy(tmp_path_factory, tmp_path)
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
