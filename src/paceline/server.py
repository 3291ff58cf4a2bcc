"""The one application `paceline serve` runs: the JSON API and the web pages, assembled.

The two HTTP faces do not import each other (the import-linter contract in pyproject.toml
forbids it, so neither can grow a hidden dependency on the other); this module, above both,
builds the API's application and mounts the pages on it. Tests that need both faces build
their client from here too.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import URLPath
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Lifespan, Receive, Scope, Send

from paceline import plugins
from paceline.api.app import API_PREFIX, BUSY_ERRORS, RETRY_AFTER_S, busy_error, create_api
from paceline.callers import api_caller
from paceline.config import Settings, load_settings, resolve_database_url
from paceline.describe import completed_lines
from paceline.store.engine import is_busy, make_engine
from paceline.store.loads import complete_interrupted_loads
from paceline.web.pages import busy_page, invalid_request_page
from paceline.web.pages import mount as mount_pages

log = logging.getLogger(__name__)


def create_app(
    settings: Settings, engine: Engine, lifespan: Lifespan[FastAPI] | None = None
) -> FastAPI:
    """The API under /api/v1, plugins' pages, then the pages at /: one state, one error policy
    (a saturated database answers 503 with Retry-After on both).

        Plugins' routers come before the built-in pages so a plugin's path is never shadowed.
        Every plugin route needs a signed-in caller (a session or an API token; a browser session
        proves CSRF on writes), so a plugin cannot publish data by forgetting a check; what the
        caller may see it asks `paceline.access`, as the built-in faces do.
    """
    app = create_api(settings, engine, lifespan)
    signed_in = [Depends(api_caller)]
    for router in plugins.routers():  # plugins' pages, at the paths they declare
        app.include_router(router, dependencies=signed_in)
    mount_pages(app)
    for error in BUSY_ERRORS:  # after the pages: the pages' 503 is a page
        app.add_exception_handler(error, _busy)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.router.routes.insert(0, FirstMatch(app.router.routes))
    return app


# The scope key under which `FirstMatch.matches` hands the route it found to `handle`.
_FOUND = "paceline.first_match"


class FirstMatch(BaseRoute):
    """The application's router, remembering which of its routes answers each path.

    The router tries its routes in order until one matches in full: the API's 17 routers and
    the pages one after another, each trying every route of its own (FastAPI keeps an
    included router as one route and checks no prefix first), so finding /api/v1/teams took
    about 100 µs and a page 115, where /api/v1/scorecard (the second router) took 26. Put
    first in the router's list, this tries the same routes in the same order once per method
    and path, and afterwards only the route that matched: which route matches a request in
    full depends on its type, method and path alone (no route here matches on the host), and
    the routes do not change once the application is built. Anything that matches in no
    route in full (a 404, a 405, a redirect to the path with or without its slash) is left to
    the router as before."""

    LIMIT = 4096  # distinct paths remembered (ids in paths make them many); then start over

    def __init__(self, routes: list[BaseRoute]) -> None:
        self.routes = routes  # the router's own list, this route first
        self.found: dict[tuple[str, str, str], int] = {}

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        key = (scope["method"], scope.get("root_path", ""), scope["path"])
        at = self.found.get(key)
        if at is not None:
            route = self.routes[at]
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                return match, {**child_scope, _FOUND: route}
        for at, route in enumerate(self.routes):
            if route is self:
                continue
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                if len(self.found) >= self.LIMIT:
                    self.found.clear()
                self.found[key] = at
                return match, {**child_scope, _FOUND: route}
        return Match.NONE, {}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        route: BaseRoute = scope.pop(_FOUND)
        await route.handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        raise NoMatchFound(name, path_params)  # the routes after it answer for their own


async def _busy(request: Request, exc: Exception) -> Response:
    """503 with Retry-After when the database is saturated: JSON for the API, a page for the
    pages (rendered without reading the session: that would need the database)."""
    if request.url.path.startswith(API_PREFIX + "/"):
        return await busy_error(request, exc)
    if not is_busy(exc):
        raise exc
    return busy_page(request, RETRY_AFTER_S)


async def _invalid_request(request: Request, exc: Exception) -> Response:
    """A parameter FastAPI could not parse: the API's JSON 422 (`detail` naming the field) on
    the API and to a client that asked for JSON only (a script calling a plugin's route
    outside /api/v1), a 422 page on the pages (not JSON, which a person following a link
    cannot use)."""
    assert isinstance(exc, RequestValidationError)
    if request.url.path.startswith(API_PREFIX + "/") or asks_for_json_only(request):
        return await request_validation_exception_handler(request, exc)
    return await run_in_threadpool(invalid_request_page, request, exc)


def asks_for_json_only(request: Request) -> bool:
    """The request's Accept names JSON and not HTML: a program, which cannot read a page. A
    browser names text/html (and often */*); a client that names nothing gets the page."""
    accepted = {
        part.split(";")[0].strip().lower() for part in request.headers.get("accept", "").split(",")
    }
    return "application/json" in accepted and "text/html" not in accepted


def create_app_from_environment() -> FastAPI:
    """The application for each worker process of `paceline serve --workers N`: uvicorn
    starts workers from an import string, so they find the database and configuration where
    `serve` left them for them, in PACELINE_DB and PACELINE_CONFIG (PACELINE_TODAY, when
    set, reaches the clock the same way)."""
    settings = load_settings()
    url = resolve_database_url(settings)
    engine = make_engine(url, **settings.database.pool())
    app = create_app(settings, engine, lifespan=completing_interrupted_loads)
    settle_heap()
    return app


@asynccontextmanager
async def completing_interrupted_loads(app: FastAPI) -> AsyncIterator[None]:
    """Build the indexes (and validate the references) a killed bulk load left out, in a
    thread of the worker while it serves, as `paceline serve` does before it starts its
    workers, so a server started from this factory alone (gunicorn, uvicorn --factory)
    repairs too.

    In the background because the build may take longer than the worker may take to start:
    built in the lifespan, a million activities' indexes outlasted gunicorn's `--timeout`
    (the worker answers gunicorn's heartbeat only once started), gunicorn killed it
    mid-build, the build was rolled back, and the next worker began it again, for ever.
    Meanwhile every answer is right, only slower (reads scan the table); a write waits for
    the build (PostgreSQL's lock on the table; SQLite's write lock, then 503 with
    Retry-After past its busy timeout). At shutdown the worker waits for a build under way
    rather than throw it away.

    Every worker runs it; the database lets one build (`_complete`)."""
    engine: Engine = app.state.paceline.engine
    build = threading.Thread(
        target=_complete, args=(engine,), name="paceline-complete-loads", daemon=True
    )
    build.start()
    try:
        yield
    finally:
        if build.is_alive():
            log.info("server: waiting for the index build under way to finish before stopping")
        await run_in_threadpool(build.join)


def _complete(engine: Engine) -> None:
    """`complete_interrupted_loads`, and what it did or why it could not, in the log.

    SQLite's write lock (BEGIN IMMEDIATE) or PostgreSQL's lock on the table
    (`store.bulk.build_indexes`) makes the other workers wait, then find nothing missing; a
    load still running is left to build them itself (`store.loads`). A schema already whole
    costs one short transaction. A database too busy to lock, or failing, leaves them to the
    next worker, import or `paceline init`."""
    try:
        completed = complete_interrupted_loads(engine)
    except SQLAlchemyError as exc:
        if is_busy(exc):
            log.warning(
                "server: the database was too busy to check for an interrupted import's "
                "indexes; the next worker, import or `paceline init` builds any missing"
            )
        else:
            log.exception(
                "server: could not check for an interrupted import's indexes; "
                "`paceline init` builds any missing"
            )
        return
    for line in completed_lines(completed):
        log.warning("server: %s", line)


def settle_heap() -> None:
    """Leave what a server process has loaded by now out of the garbage collector's full runs.

    A worker starts with some 190,000 objects (the modules, the routes, the configuration)
    that live as long as it does. Python's collector scanned them all at every run of its
    oldest generation, 110-140 ms of CPU with the whole worker stopped, which every request
    in flight on it waited out: the tail of the latency (benchmarks/README.md, http_load).
    `gc.freeze()` moves them to a generation no run scans; objects made afterwards are
    collected as before, and reference counting frees everything as always (a cycle among
    the frozen objects is never freed: they are the ones the process keeps anyway)."""
    gc.collect()
    gc.freeze()


def proxy_options(trusted_proxies: Sequence[str]) -> dict[str, Any]:
    """uvicorn's proxy settings: believe `X-Forwarded-For`/`-Proto` only from the proxies the
    deployment names. uvicorn believes 127.0.0.1 by default, so any local process could claim
    any address and step around the per-address login limit."""
    if not trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": ",".join(trusted_proxies)}
