"""Shared fixtures: every storage test runs on SQLite *and* on a real PostgreSQL server.

The clock: every test runs with Paceline's clock set to `TEST_TODAY` (2026-12-07 unless
$PACELINE_TEST_TODAY says otherwise), so no test depends on the day it is run. Tests marked
`dated` build their data relative to that day and must pass on any day: `make test` runs them
again at a month's first business day, a Saturday, the Monday after a DST change and year end.

PostgreSQL: a database named for this test session is created on the server at
$PACELINE_TEST_PG (default postgresql://postgres@127.0.0.1:5432/test) and dropped afterwards;
each test gets a fresh schema inside it. When no server answers, the PostgreSQL variants are
skipped with that reason (and only then).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url

from paceline import clock
from paceline.config import Settings, default_settings
from paceline.demo import build_demo
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade

PG_ADMIN_URL = os.environ.get("PACELINE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ZOHO_EXPORT = SHARED_DATA / "zoho_crm_export"


# `make test-fast` (PACELINE_TEST_FAST=1): the edit-test loop. SQLite only, and without the
# tests that build the full demo, drive the browser, fuzz or race; `make test` runs everything.
FAST = os.environ.get("PACELINE_TEST_FAST") == "1"
HEAVY_MODULES = {
    "test_web_browser.py",
    "test_web_phone.py",
    "test_tracking_demo.py",
    "test_demo.py",
    "test_api_fuzz.py",
    "test_api_concurrency.py",
}
HEAVY_FIXTURES = {"pg_engine", "pg_database", "demo_org"}


def _left_out_of_the_fast_loop(item: pytest.Item) -> bool:
    if HEAVY_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    callspec = getattr(item, "callspec", None)
    if callspec is not None and callspec.params.get("db_url_and_engine") == "postgresql":
        return True
    return item.path.name in HEAVY_MODULES


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not FAST:
        return
    left_out = [item for item in items if _left_out_of_the_fast_loop(item)]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not _left_out_of_the_fast_loop(item)]


TEST_TODAY = dt.date.fromisoformat(os.environ.get("PACELINE_TEST_TODAY", "2026-12-07"))


@pytest.fixture(scope="session", autouse=True)
def fixed_clock() -> Iterator[dt.date]:
    """Paceline's clock set to TEST_TODAY for the whole session, session fixtures included."""
    with clock.frozen(TEST_TODAY):
        yield TEST_TODAY


@pytest.fixture(scope="session")
def today() -> dt.date:
    """The day dated tests build their organisation up to and look at."""
    return TEST_TODAY


def _pg_conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_database(worker_id: str) -> Iterator[str]:
    """A throw-away PostgreSQL database for this test session (one per xdist worker)."""
    admin = _pg_conninfo(PG_ADMIN_URL)
    try:
        conn = psycopg.connect(admin, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL server answers at {PG_ADMIN_URL}: {exc}".strip())
    name = f"paceline_test_{uuid.uuid4().hex[:10]}_{worker_id}"
    with conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _postgres_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    database_url = request.getfixturevalue("pg_database")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    @event.listens_for(engine, "connect")
    def _use_schema(dbapi_connection: psycopg.Connection, _record: object) -> None:
        with dbapi_connection.cursor() as cur:
            cur.execute(f'SET search_path TO "{schema}"')
        dbapi_connection.commit()

    engine.dispose()  # reconnect so every pooled connection gets the search_path
    try:
        yield engine
    finally:
        engine.dispose()
        with make_engine(database_url).begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url_and_engine(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, Engine]]:
    """An empty, migrated database of each kind: (dialect, engine)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'paceline.db'}")
        upgrade(engine)
        yield "sqlite", engine
        engine.dispose()
    else:
        for engine in _postgres_engine(request):
            upgrade(engine)
            yield "postgresql", engine


@pytest.fixture
def pg_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """PostgreSQL only, for tests about its planner or server behaviour."""
    for engine in _postgres_engine(request):
        upgrade(engine)
        yield engine


@pytest.fixture
def engine(db_url_and_engine: tuple[str, Engine]) -> Engine:
    return db_url_and_engine[1]


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """SQLite only, for tests about the embedded default itself."""
    engine = make_engine(f"sqlite:///{tmp_path / 'paceline.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def settings() -> Settings:
    return default_settings()


DEMO_TODAY = dt.date(2026, 11, 18)


@pytest.fixture(scope="session")
def demo_org(
    tmp_path_factory: pytest.TempPathFactory, settings: Settings
) -> Iterator[tuple[Engine, dict[str, Any]]]:
    """The full demo organisation (seed 7, today 2026-11-18) on SQLite, built once per worker.

    Diagnosis tests check that each planted truth (`truth["planted"]`) is found; they only
    read, so they share one build (about 35 s).
    """
    folder = tmp_path_factory.mktemp("demo_org")
    engine = make_engine(f"sqlite:///{folder / 'demo.db'}")
    upgrade(engine)
    truth_path = folder / "truth.json"
    build_demo(engine, settings, seed=7, today=DEMO_TODAY, truth_path=truth_path)
    yield engine, dict(json.loads(truth_path.read_text("utf-8")))
    engine.dispose()
