"""The one application `paceline serve` runs: the JSON API and the web pages, assembled.

The two HTTP faces do not import each other (the import-linter contract in pyproject.toml
forbids it, so neither can grow a hidden dependency on the other); this module, above both,
builds the API's application and mounts the pages on it. Tests that need both faces build
their client from here too.
"""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from paceline.api.app import create_api
from paceline.config import Settings
from paceline.web.pages import mount as mount_pages


def create_app(settings: Settings, engine: Engine) -> FastAPI:
    """The API under /api/v1 and the pages at /, sharing one state and one error policy."""
    app = create_api(settings, engine)
    mount_pages(app)
    return app
