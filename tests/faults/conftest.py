"""Fixtures of the fault tests that start other processes (`paceline serve`, `scheduler`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from factories import migrated_sqlite_copy, postgres_engine


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL another process can open, of a migrated, empty database: a copy of the run's
    migrated SQLite file or PostgreSQL template (`factories`), not migrated for each test."""
    if request.param == "sqlite":
        migrated_sqlite_copy(request.getfixturevalue("tmp_path_factory"), tmp_path).dispose()
        yield f"sqlite:///{tmp_path / 'paceline.db'}"
        return
    for engine in postgres_engine(request):
        engine.dispose()
        yield engine.url.render_as_string(hide_password=False)
