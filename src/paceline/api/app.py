"""The JSON API's FastAPI application: routers under /api/v1, one error policy.

`paceline.server.create_app` adds the web pages to it; the API does not know them.

A saturated database (the connection pool exhausted, SQLite locked beyond its busy timeout)
answers 503 with `Retry-After`, never 500. Errors a user can fix become 422 with a body
naming the field (FastAPI's own validation errors already look like this; `UserInputError`
from the analyses is mapped to the same shape), so a client handles one format.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.types import Lifespan

from paceline import __version__
from paceline.api.deps import AppState
from paceline.callers import SecurityHeaders
from paceline.config import Settings
from paceline.errors import UserInputError
from paceline.store.engine import is_busy, read_engine

API_PREFIX = "/api/v1"
# Seconds a client is told to wait when the database is saturated (503): about how long the
# burst that filled the pool takes to drain.
RETRY_AFTER_S = 2
BUSY_ERRORS = (PoolTimeout, OperationalError)


def create_api(
    settings: Settings, engine: Engine, lifespan: Lifespan[FastAPI] | None = None
) -> FastAPI:
    app = FastAPI(
        lifespan=lifespan,  # what a server process does before its first request
        title="Paceline",
        version=__version__,
        description="Sales activity management: plans, scorecards, leaderboards, alerts.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # served below from the installed fastapi-offline files: no CDN
        redoc_url=None,
    )
    _mount_docs(app)
    app.state.paceline = AppState(
        settings=settings, engine=engine, reads=read_engine(settings, engine)
    )
    app.add_middleware(SecurityHeaders)
    app.add_exception_handler(UserInputError, _user_input_error)
    for error in BUSY_ERRORS:
        app.add_exception_handler(error, busy_error)
    for router in _routers("paceline.api.routers"):
        app.include_router(router, prefix=API_PREFIX)
    return app


async def _user_input_error(_request: Request, exc: Exception) -> JSONResponse:
    message = str(exc)
    field, _, reason = message.partition(": ")
    detail = [{"loc": ["body", field] if reason else ["body"], "msg": reason or message}]
    return JSONResponse(status_code=422, content={"detail": detail})


async def busy_error(_request: Request, exc: Exception) -> JSONResponse:
    """Saturation (no pooled connection within the pool timeout, a database locked beyond its
    busy timeout) is 503 with Retry-After: the client did nothing wrong and the same request
    will succeed shortly. Any other database error stays a 500."""
    if not is_busy(exc):
        raise exc
    return JSONResponse(
        status_code=503,
        content={"detail": "the server is busy; retry shortly"},
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def _routers(package: str) -> list[APIRouter]:
    """Every module of the package that defines `router` (one module per resource)."""
    try:
        root = importlib.import_module(package)
    except ModuleNotFoundError:
        return []
    found = []
    for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package}.{info.name}")
        router = getattr(module, "router", None)
        if isinstance(router, APIRouter):
            found.append(router)
    return found


# Swagger UI 5 (it reads OpenAPI 3.1, which FastAPI writes; Swagger UI 4 answered "Unable to
# render this definition"), as the `fastapi-offline` wheel ships it: no CDN at run time.
SWAGGER_UI_FILES = Path(fastapi_offline.__file__).parent / "static"


def _mount_docs(app: FastAPI) -> None:
    """Swagger UI at /api/v1/docs with its files from the installed package, not a CDN."""
    assets = f"{API_PREFIX}/docs-assets"
    app.mount(assets, StaticFiles(directory=SWAGGER_UI_FILES), name="docs-assets")

    @app.get(f"{API_PREFIX}/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=f"{API_PREFIX}/openapi.json",
            title="Paceline API",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon.png",
        )
