"""The pages' static files: compressed once, cached for a year, and named by their content.

A chart page used to fetch a 4.8 MB plotly.js, uncompressed, and revalidate it on every visit:
1.7 to 4.2 s before a chart was drawn. Now each page links its assets as `/static/NAME?v=HASH`
(`asset_url`), HASH being the start of the file's SHA-256, so a versioned URL can be cached
`immutable` for a year: a new release changes the hash, hence the URL, and no browser keeps a
stale stylesheet. A request without the current `v` is still answered, revalidated every time
(`no-cache`), so an old page or a bookmark never pins an old file.

Compressible files (text, scripts, JSON, SVG) are sent gzip-compressed to browsers that ask for
it; each is compressed once per process, on its first request, and kept in memory (plotly.js
compresses to about 0.4 MB). HTML pages are not compressed: they carry the session's CSRF
token next to text a visitor can put in the URL, which is what compression attacks (BREACH)
need.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import os
import threading
from pathlib import Path

import anyio
from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
YEAR = 365 * 24 * 3600
LONG_CACHE = f"public, max-age={YEAR}, immutable"
REVALIDATE = "no-cache"
MANIFEST_TYPE = "application/manifest+json"
COMPRESSIBLE = (
    "text/",
    "application/javascript",
    "application/json",
    "image/svg+xml",
    MANIFEST_TYPE,
)
MIN_GZIP_BYTES = 1024

mimetypes.add_type(MANIFEST_TYPE, ".webmanifest")
mimetypes.add_type("text/javascript", ".js")  # some systems' tables say application/x-...


# plotly.js, vendored: a partial bundle of the core plus the trace types the chart builders draw
# (scatter, bar, heatmap, funnel, waterfall), 1.2 MB against the full bundle's 4.8 MB, which a
# browser spent seconds parsing on every cold visit. It ships in the package with its MIT
# licence (vendor/plotly/LICENSE.txt); tools/plotly_bundle/build.sh rebuilds it, and
# tests/web/test_plotly_bundle.py checks it registers every trace type the builders use.
PLOTLY_DIR = HERE / "vendor" / "plotly"
PLOTLY = "plotly.min.js"
PLOTLY_TRACES = frozenset({"scatter", "bar", "heatmap", "funnel", "waterfall"})
MOUNTS = {"/static": STATIC, "/vendor/plotly": PLOTLY_DIR}


class _Digests:
    """Content hashes by path, recomputed only when a file's size or time changes."""

    def __init__(self) -> None:
        self._known: dict[Path, tuple[tuple[int, int], str]] = {}
        self._lock = threading.Lock()

    def of(self, path: Path) -> str:
        stat = path.stat()
        key = (stat.st_size, stat.st_mtime_ns)
        with self._lock:
            known = self._known.get(path)
        if known is not None and known[0] == key:
            return known[1]
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        with self._lock:
            self._known[path] = (key, digest)
        return digest


DIGESTS = _Digests()


def asset_url(name: str) -> str:
    """The versioned URL of a static file (`paceline.css`), or of plotly.js (`plotly`)."""
    if name == "plotly":
        return f"/vendor/plotly/{PLOTLY}?v={DIGESTS.of(MOUNTS['/vendor/plotly'] / PLOTLY)}"
    path = STATIC / name
    if not path.is_file() or STATIC not in path.resolve().parents:
        raise ValueError(f"no static file {name!r}")
    return f"/static/{name}?v={DIGESTS.of(path)}"


class _Compressed:
    """Gzipped bodies by path, made once per file version (level 6: nearly level 9's size
    for a fraction of its time)."""

    def __init__(self) -> None:
        self._bodies: dict[Path, tuple[tuple[int, int], bytes]] = {}
        self._lock = threading.Lock()

    def body(self, path: Path, stat: os.stat_result) -> bytes:
        key = (stat.st_size, stat.st_mtime_ns)
        with self._lock:
            known = self._bodies.get(path)
            if known is not None and known[0] == key:
                return known[1]
            body = gzip.compress(path.read_bytes(), compresslevel=6, mtime=0)
            self._bodies[path] = (key, body)
            return body


COMPRESSED = _Compressed()


class AssetFiles(StaticFiles):
    """StaticFiles that sets the cache lifetime by version and sends compressible files gzipped.

    `only` limits the mount to the named files (plotly's folder holds its licence too)."""

    def __init__(self, directory: Path, only: frozenset[str] | None = None) -> None:
        super().__init__(directory=directory)
        self.only = only

    async def get_response(self, path: str, scope: Scope) -> Response:
        if self.only is not None and path not in self.only:
            return Response("not found", status_code=404, media_type="text/plain")
        response = await super().get_response(path, scope)
        if response.status_code not in (200, 304):
            return response
        request = Headers(scope=scope)
        response.headers["Cache-Control"] = _cache_control(scope, Path(str(self.directory)), path)
        response.headers["Vary"] = "Accept-Encoding"
        if (
            isinstance(response, FileResponse)
            and response.status_code == 200
            and "range" not in request
            and "gzip" in request.get("accept-encoding", "").lower()
            and response.media_type is not None
            and response.media_type.startswith(COMPRESSIBLE)
            and response.stat_result is not None
            and response.stat_result.st_size >= MIN_GZIP_BYTES
        ):
            return await anyio.to_thread.run_sync(_gzipped, response)  # once: 0.2 s for plotly
        return response


def _cache_control(scope: Scope, directory: Path, path: str) -> str:
    """A year when the URL names the file's current version, else revalidate every time."""
    wanted = _query_value(scope.get("query_string", b""), "v")
    if wanted and wanted == DIGESTS.of(directory / path):
        return LONG_CACHE
    return REVALIDATE


def _query_value(query: bytes, name: str) -> str:
    for part in query.decode("latin-1").split("&"):
        key, _, value = part.partition("=")
        if key == name:
            return value
    return ""


def _gzipped(response: FileResponse) -> Response:
    assert response.stat_result is not None
    body = COMPRESSED.body(Path(response.path), response.stat_result)
    headers = {
        name: value
        for name, value in response.headers.items()
        if name.lower() not in ("content-length", "etag", "accept-ranges")
    }
    headers["Content-Encoding"] = "gzip"
    headers["ETag"] = "W/" + response.headers["etag"]  # another representation, same file
    return Response(body, status_code=200, headers=headers, media_type=response.media_type)
