"""The pages' static files: versioned URLs, a year's caching, gzip, and the web-app manifest.

Checked over HTTP against the real application (no browser): what a browser is told about
each file decides whether a chart page fetches 4.8 MB of plotly.js every time or once.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from factories import made_app
from paceline.config import Settings

STATIC = Path(__file__).resolve().parents[2] / "src" / "paceline" / "web" / "static"
YEAR = "max-age=31536000"


@pytest.fixture
def client(sqlite_engine: Engine, settings: Settings) -> Iterator[TestClient]:
    with TestClient(made_app(settings, sqlite_engine)) as client:
        yield client


def _linked(client: TestClient) -> dict[str, str]:
    """The asset URLs the login page (every page's base template) links, by file name."""
    page = client.get("/login").text
    urls = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
    return {url.split("?")[0].rsplit("/", 1)[1]: url.replace("&amp;", "&") for url in urls}


def test_pages_link_assets_by_content_hash(client: TestClient) -> None:
    linked = _linked(client)
    css = (STATIC / "paceline.css").read_bytes()
    assert (
        linked["paceline.css"] == f"/static/paceline.css?v={hashlib.sha256(css).hexdigest()[:12]}"
    )
    assert {"paceline.js", "favicon.svg", "manifest.webmanifest", "icon-192.png"} <= set(linked)


def test_a_versioned_asset_is_cached_a_year_and_sent_gzipped(client: TestClient) -> None:
    url = _linked(client)["paceline.css"]
    reply = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert reply.status_code == 200
    assert reply.headers["content-encoding"] == "gzip"
    assert YEAR in reply.headers["cache-control"] and "immutable" in reply.headers["cache-control"]
    assert reply.headers["vary"] == "Accept-Encoding"
    assert reply.content == (STATIC / "paceline.css").read_bytes()  # decoded: the same file
    raw = client.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers
    assert raw.content == (STATIC / "paceline.css").read_bytes()


def test_an_unversioned_or_stale_url_is_revalidated_not_cached(client: TestClient) -> None:
    for url in ("/static/paceline.css", "/static/paceline.css?v=0123456789ab"):
        reply = client.get(url)
        assert reply.status_code == 200
        assert reply.headers["cache-control"] == "no-cache", url


def test_a_revalidated_gzipped_file_answers_304(client: TestClient) -> None:
    url = _linked(client)["paceline.js"]
    first = client.get(url, headers={"Accept-Encoding": "gzip"})
    again = client.get(
        url, headers={"Accept-Encoding": "gzip", "If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304


def test_plotly_is_partial_and_sent_compressed(client: TestClient) -> None:
    """4.8 MB of plotly.js on the wire was most of a chart page's first load; the partial
    bundle is 1.2 MB, about 0.4 MB gzipped."""
    plotly = client.get("/vendor/plotly/plotly.min.js", headers={"Accept-Encoding": "gzip"})
    assert plotly.status_code == 200 and plotly.headers["content-encoding"] == "gzip"
    wire = int(plotly.headers["content-length"])
    assert wire < len(plotly.content) / 2, (wire, len(plotly.content))
    assert wire < 600_000 and len(plotly.content) < 2_000_000, (wire, len(plotly.content))
    assert client.get("/vendor/plotly/LICENSE.txt").status_code == 404  # plotly.js only


def test_the_manifest_makes_the_site_installable(client: TestClient) -> None:
    reply = client.get(_linked(client)["manifest.webmanifest"])
    assert reply.headers["content-type"].startswith("application/manifest+json")
    manifest = json.loads(reply.content)
    assert manifest["name"] == "Paceline" and manifest["display"] == "standalone"
    assert manifest["start_url"] == "/"
    sizes = set()
    for icon in manifest["icons"]:
        image = client.get(icon["src"])
        assert image.status_code == 200 and image.headers["content-type"] == icon["type"]
        if icon["type"] == "image/png":
            assert image.content[:8] == b"\x89PNG\r\n\x1a\n"
            width, height = struct.unpack(">II", image.content[16:24])  # the IHDR chunk
            assert icon["sizes"] == f"{width}x{height}"
            sizes.add(width)
    assert {192, 512} <= sizes  # what Chrome asks of an installable app
