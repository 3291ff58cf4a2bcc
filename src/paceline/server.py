"""The one application `paceline serve` runs: the JSON API and the web pages, assembled.

The two HTTP faces do not import each other (the import-linter contract in pyproject.toml
forbids it, so neither can grow a hidden dependency on the other); this module, above both,
builds the API's application and mounts the pages on it. Tests that need both faces build
their client from here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Depends, FastAPI
from sqlalchemy import Engine

from paceline import plugins
from paceline.api.app import create_api
from paceline.callers import api_caller
from paceline.config import Settings, load_settings, resolve_database_url
from paceline.store.engine import make_engine
from paceline.web.pages import mount as mount_pages


def create_app(settings: Settings, engine: Engine) -> FastAPI:
    """The API under /api/v1, plugins' pages, then the pages at /: one state, one error policy.

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
    return app


def create_app_from_environment() -> FastAPI:
    """The application for each worker process of `paceline serve --workers N`: uvicorn
    starts workers from an import string, so they find the database and configuration where
    `serve` left them for them, in PACELINE_DB and PACELINE_CONFIG (PACELINE_TODAY, when
    set, reaches the clock the same way)."""
    settings = load_settings()
    return create_app(settings, make_engine(resolve_database_url(settings)))


def proxy_options(trusted_proxies: Sequence[str]) -> dict[str, Any]:
    """uvicorn's proxy settings: believe `X-Forwarded-For`/`-Proto` only from the proxies the
    deployment names. uvicorn believes 127.0.0.1 by default, so any local process could claim
    any address and step around the per-address login limit."""
    if not trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": ",".join(trusted_proxies)}
