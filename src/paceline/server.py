"""The one application `paceline serve` runs: the JSON API and the web pages, assembled.

The two HTTP faces do not import each other (the import-linter contract in pyproject.toml
forbids it, so neither can grow a hidden dependency on the other); this module, above both,
builds the API's application and mounts the pages on it. Tests that need both faces build
their client from here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from sqlalchemy import Engine

from paceline import plugins
from paceline.api.app import API_PREFIX, BUSY_ERRORS, RETRY_AFTER_S, busy_error, create_api
from paceline.callers import api_caller
from paceline.config import Settings, load_settings, resolve_database_url
from paceline.store.engine import is_busy, make_engine
from paceline.web.pages import busy_page
from paceline.web.pages import mount as mount_pages


def create_app(settings: Settings, engine: Engine) -> FastAPI:
    """The API under /api/v1, plugins' pages, then the pages at /: one state, one error policy
    (a saturated database answers 503 with Retry-After on both).

        Plugins' routers come before the built-in pages so a plugin's path is never shadowed.
        Every plugin route needs a signed-in caller (a session or an API token; a browser session
        proves CSRF on writes), so a plugin cannot publish data by forgetting a check; what the
        caller may see it asks `paceline.access`, as the built-in faces do.
    """
    app = create_api(settings, engine)
    signed_in = [Depends(api_caller)]
    for router in plugins.routers():  # plugins' pages, at the paths they declare
        app.include_router(router, dependencies=signed_in)
    mount_pages(app)
    for error in BUSY_ERRORS:  # after the pages: the pages' 503 is a page
        app.add_exception_handler(error, _busy)
    return app


async def _busy(request: Request, exc: Exception) -> Response:
    """503 with Retry-After when the database is saturated: JSON for the API, a page for the
    pages (rendered without reading the session: that would need the database)."""
    if request.url.path.startswith(API_PREFIX + "/"):
        return await busy_error(request, exc)
    if not is_busy(exc):
        raise exc
    return busy_page(request, RETRY_AFTER_S)


def create_app_from_environment() -> FastAPI:
    """The application for each worker process of `paceline serve --workers N`: uvicorn
    starts workers from an import string, so they find the database and configuration where
    `serve` left them for them, in PACELINE_DB and PACELINE_CONFIG (PACELINE_TODAY, when
    set, reaches the clock the same way)."""
    settings = load_settings()
    url = resolve_database_url(settings)
    return create_app(settings, make_engine(url, **settings.database.pool()))


def proxy_options(trusted_proxies: Sequence[str]) -> dict[str, Any]:
    """uvicorn's proxy settings: believe `X-Forwarded-For`/`-Proto` only from the proxies the
    deployment names. uvicorn believes 127.0.0.1 by default, so any local process could claim
    any address and step around the per-address login limit."""
    if not trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": ",".join(trusted_proxies)}
