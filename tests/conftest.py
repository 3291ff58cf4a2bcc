"""Shared fixtures: every storage test runs on SQLite *and* on a real PostgreSQL server.

The clock: every test runs with Paceline's clock set to `TEST_TODAY` (2026-12-07 unless
$PACELINE_TEST_TODAY says otherwise), so no test depends on the day it is run. Tests marked
`dated` build their data relative to that day and must pass on any day: `make test` runs them
again at a month's first business day, a Saturday, the Monday after a DST change and year end.

PostgreSQL: the server at $PACELINE_TEST_PG (default postgresql://postgres@127.0.0.1:5432/test)
gets a migrated template database per test run, which each test copies; every database the run
makes is named for the run (`paceline_run_<run>_...`) and dropped when it ends. The run holds an
advisory lock keyed by its id while it lives, and at start-up drops the databases of runs whose
lock is free: runs killed midway (`run_databases.sweep_stale_databases`). When no server answers,
the PostgreSQL variants are skipped with that reason (and only then).

Demo organisations: each build (seed, size, day) is made once per test run, whichever xdist
worker asks first, and every fixture copies it (`factories.shared_demo`, `shared_pg_demo`).
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import shutil
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from run_databases import (
    RUN_ID,
    drop_run_databases,
    hold_run_lock,
    settle_pg_copies,
    sweep_stale_databases,
)

if TYPE_CHECKING:
    from argon2 import PasswordHasher
    from fastapi.testclient import TestClient
    from sqlalchemy import Engine

    from factories import Org
    from paceline.config import Settings

# `make test-fast` (PACELINE_TEST_FAST=1): the edit-test loop. SQLite only, and without the
# tests marked `slow` (the slowest few percent: servers in subprocesses, the scheduler's week,
# big imports), nor those that build the full demo, drive the browser, fuzz or race;
# `make test` runs everything.
FAST = os.environ.get("PACELINE_TEST_FAST") == "1"

HEAVY_MODULES = {
    "test_web_browser.py",
    "test_board_browser.py",
    "test_web_phone.py",
    "test_words_browser.py",
    "test_tracking_demo.py",
    "test_demo.py",
    "test_api_fuzz.py",
    "test_api_concurrency.py",
    "test_web_import_browser.py",
    "test_server_kill.py",
}
# The full demo, and chromium (`tests/web/conftest.py`): a browser test outside the modules
# above (test_plotly_bundle.py's) is left out by its fixture, its module's other tests kept.
HEAVY_FIXTURES = {"demo_org", "_chromium"}


def _left_out_of_the_fast_loop(item: pytest.Item) -> bool:
    """Marked `slow`, in a heavy module, on the full demo or in chromium, or on PostgreSQL (a
    fixture named `pg_...`, or a parameter "postgresql" of any fixture)."""
    if item.get_closest_marker("slow") is not None or item.path.name in HEAVY_MODULES:
        return True
    fixtures = set(getattr(item, "fixturenames", ()))
    if HEAVY_FIXTURES & fixtures or any(name.startswith("pg_") for name in fixtures):
        return True
    callspec = getattr(item, "callspec", None)
    return callspec is not None and "postgresql" in callspec.params.values()


_RUN_LOCK = pytest.StashKey[Any]()
_SWEEP = pytest.StashKey[threading.Thread]()


def _runs_tests(config: pytest.Config) -> bool:
    """False in the xdist controller, which hands the tests to its workers and runs none
    (xdist registers its `dsession` plugin there, in a `pytest_configure` run before this
    file's, which is `trylast`)."""
    return hasattr(config, "workerinput") or not config.pluginmanager.has_plugin("dsession")


def _prepare_to_run_tests() -> None:
    """What a process that collects and runs tests needs before it imports the test files.

    Done here, not when this file is imported, because the xdist controller imports this file
    too and runs no test: the CLI's commands and Hypothesis (and, through the fixtures'
    imports, the application, SciPy and the demo) cost it some 2.4 CPU s of every run."""
    from hypothesis import settings as hypothesis_settings

    from paceline.cli import load_commands

    # `paceline NAME` imports NAME's command module when it runs (`cli.COMMAND_MODULES`); the
    # tests invoke `cli.app` itself, which must hold every command, as `paceline --help` does.
    load_commands()
    # Property tests draw the same examples on every run (derandomize), so the suite's verdict
    # does not change from one day or machine to the next, and they have no time limit per
    # example: a deadline is a timing test, and failed under load on a busy CI machine.
    hypothesis_settings.register_profile("paceline", derandomize=True, deadline=None, database=None)
    hypothesis_settings.load_profile("paceline")


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """One id for this test run, shared by its xdist workers: it names every database the run
    makes on PostgreSQL (`run_databases.run_database_name`), which the run drops when it ends.
    The run's first process holds the run's advisory lock for its lifetime and drops the
    databases that runs killed midway left behind (`run_databases.sweep_stale_databases`)."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        run = str(workerinput["testrunuid"])
    else:
        run = getattr(config.option, "testrunuid", None) or uuid.uuid4().hex
        if hasattr(config.option, "testrunuid"):
            config.option.testrunuid = run  # the workers are handed this one
    os.environ[RUN_ID] = run[:12]
    if _runs_tests(config):
        _prepare_to_run_tests()
    if workerinput is None:
        config.stash[_RUN_LOCK] = hold_run_lock(run[:12])
        if config.stash[_RUN_LOCK] is not None:
            # In a thread the run waits for only at its end: each DROP DATABASE waits for a
            # checkpoint (seconds on a busy server), which the first tests need not wait for.
            sweep = threading.Thread(target=sweep_stale_databases, args=(run[:12],))
            sweep.start()
            config.stash[_SWEEP] = sweep


def pytest_sessionfinish(session: pytest.Session) -> None:
    settle_pg_copies()  # this process's copies made ahead, and the drops still under way
    if hasattr(session.config, "workerinput"):
        collect_before_reporting_finished()
    if not hasattr(session.config, "workerinput"):  # the controller, once every worker is done
        drop_run_databases(os.environ[RUN_ID])


def collect_before_reporting_finished() -> None:
    """Collect a worker's garbage while the controller still waits for it, not after.

    xdist's worker says it has finished once this hook returns (its wrapper around
    `pytest_sessionfinish`); the controller then closes the worker's gateway, and execnet gives
    the worker 5 s to end before it sends the worker a SIGINT. pytest collects the garbage in
    `pytest_unconfigure`, after that message, and in a full run the collection finalises the
    database connections the tests dropped without closing (a PostgreSQL one waits on the
    server to close): under load it ran past the 5 s, and the SIGINT's KeyboardInterrupt was
    raised inside SQLAlchemy's collector callback, reported as PytestUnraisableExceptionWarning
    (tests/test_suite_isolation.py). Collected here, the unconfigure's collection finds
    nothing left to finalise."""
    gc.collect()


def pytest_unconfigure(config: pytest.Config) -> None:
    sweep = config.stash.get(_SWEEP, None)
    if sweep is not None:
        sweep.join()
    lock = config.stash.get(_RUN_LOCK, None)
    if lock is not None:
        lock.close()  # the run's lock, let go of after its databases are dropped


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not FAST:
        return
    left_out = [item for item in items if _left_out_of_the_fast_loop(item)]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not _left_out_of_the_fast_loop(item)]


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Once WeasyPrint is loaded (by the first test that prints a PDF: importing it costs
    seconds, and the CLI start-up tests check who loads it), each document is rendered to
    PDF once per process (`factories.memoise_pdf_rendering`)."""
    weasyprint = sys.modules.get("weasyprint")
    if weasyprint is not None:
        from factories import memoise_pdf_rendering

        memoise_pdf_rendering(weasyprint)


TEST_TODAY = dt.date.fromisoformat(os.environ.get("PACELINE_TEST_TODAY", "2026-12-07"))


@pytest.fixture(scope="session", autouse=True)
def fixed_clock() -> Iterator[dt.date]:
    """Paceline's clock set to TEST_TODAY for the whole session, session fixtures included."""
    from paceline import clock

    with clock.frozen(TEST_TODAY):
        yield TEST_TODAY


@pytest.fixture(scope="session")
def _cwd_parent(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cwd")


@pytest.fixture(autouse=True)
def isolated_cwd(_cwd_parent: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test starts in an empty working directory of its own, with $PACELINE_CONFIG,
    $PACELINE_DB and $PACELINE_REP unset: a stray ./paceline.toml where pytest was started (the
    CLI reads it) or a variable in the shell cannot change what a test sees, and nothing a test
    writes to a relative path lands in the repository."""
    from factories import isolate_working_directory

    return isolate_working_directory(monkeypatch, _cwd_parent)


@pytest.fixture(autouse=True)
def pinned_terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's consoles print `TERMINAL_WIDTH` columns in every test, whatever the machine.

    Each console is made once per process and keeps the width it found then: a COLUMNS given
    to `CliRunner().invoke(env=...)` reached it only in the first test of an xdist worker to
    print, so a test's wrapping depended on which tests its worker had run before it, and on
    the terminal or COLUMNS pytest was started with. A test that needs wider lines sets the
    console's width with monkeypatch (`tests/services/test_audit.py`)."""
    from factories import TERMINAL_WIDTH
    from paceline import terminal

    for console in (terminal.out, terminal.err):
        monkeypatch.setattr(console, "width", TERMINAL_WIDTH)


@pytest.fixture(scope="session", autouse=True)
def cli_command_tree() -> Iterator[None]:
    """`CliRunner().invoke` builds the click command tree once per app and set of commands
    (`factories.cli_built_once`), not on every call."""
    import typer.testing

    from factories import cli_built_once

    real = typer.testing._get_command
    typer.testing._get_command = cli_built_once(real)
    try:
        yield
    finally:
        typer.testing._get_command = real


@pytest.fixture(scope="session", autouse=True)
def settings_parsed_once() -> Iterator[None]:
    """Each configuration text is parsed and validated once per process
    (`factories.parsed_once`), not by every command a test runs."""
    from factories import parsed_once
    from paceline import config

    real = config.parse_settings
    config.parse_settings = parsed_once(real)
    try:
        yield
    finally:
        config.parse_settings = real


@pytest.fixture(scope="session", autouse=True)
def quick_password_hashing() -> Iterator[PasswordHasher]:
    """Argon2id at its lowest cost for the whole session (the hashes stay salted Argon2id
    that only the right password verifies); the real hasher, which it stands in for, is
    yielded. At RFC 9106's cost each hash or login took a fifth of a second of CPU, paid
    hundreds of times by fixtures that make users; tests/auth/test_password_cost.py pins
    the real hasher's cost. Commands run in a subprocess hash at the real cost."""
    from argon2 import PasswordHasher

    from paceline.auth import passwords

    real = passwords._HASHER
    passwords._HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    try:
        yield real
    finally:
        passwords._HASHER = real


@pytest.fixture(scope="session", autouse=True)
def shared_statement_cache() -> Iterator[None]:
    """Every engine `make_engine` makes shares one cache of compiled SQL
    (`factories.shared_compiled_cache`), as one long-lived engine does in a server: the
    suite makes an engine per test, and each compiled every statement it ran anew."""
    from factories import shared_compiled_cache
    from paceline.store import engine as store_engine

    real = store_engine.create_engine
    store_engine.create_engine = shared_compiled_cache(real)
    try:
        yield
    finally:
        store_engine.create_engine = real


@pytest.fixture(scope="session", autouse=True)
def replayed_migrations(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., None]]:
    """An empty SQLite database that the application migrates to the head in a test (`paceline
    init`, a builder on a new file) gets the run's migrated schema replayed
    (`factories.replayed_head_upgrades`) instead of running the 20 migrations again. The
    real `alembic.command.upgrade`, which it stands in for, is yielded."""
    from alembic import command

    from factories import migrated_sqlite, replayed_head_upgrades

    real = command.upgrade
    template = migrated_sqlite(tmp_path_factory)  # migrated by `real`, once per run
    command.upgrade = replayed_head_upgrades(real, template)
    try:
        yield real
    finally:
        command.upgrade = real


@pytest.fixture(scope="session")
def today() -> dt.date:
    """The day dated tests build their organisation up to and look at."""
    return TEST_TODAY


@pytest.fixture(scope="session")
def pg_database(worker_id: str) -> Iterator[str]:
    """A throw-away PostgreSQL database for this test session (one per xdist worker)."""
    from factories import scratch_pg_databases

    with scratch_pg_databases(f"session_{worker_id}") as (url,):
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url_and_engine(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, Engine]]:
    """An empty, migrated database of each kind: (dialect, engine). Each is a copy of one
    migrated once per test run (`factories.migrated_sqlite`, `migrated_pg_template`)."""
    from factories import migrated_sqlite_copy, postgres_engine

    if request.param == "sqlite":
        engine = migrated_sqlite_copy(request.getfixturevalue("tmp_path_factory"), tmp_path)
        yield "sqlite", engine
        engine.dispose()
    else:
        for engine in postgres_engine(request):
            yield "postgresql", engine


@pytest.fixture
def pg_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """PostgreSQL only, for tests about its planner or server behaviour: its connections
    keep the server's settings (commits wait for the disk, `factories.QUICK_COMMITS`)."""
    from factories import postgres_engine

    yield from postgres_engine(request, quick_commits=False)


@pytest.fixture
def engine(db_url_and_engine: tuple[str, Engine]) -> Engine:
    return db_url_and_engine[1]


@pytest.fixture
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Iterator[Engine]:
    """SQLite only, for tests about the embedded default itself (migrated: a copy of
    `factories.migrated_sqlite`)."""
    from factories import migrated_sqlite_copy

    engine = migrated_sqlite_copy(tmp_path_factory, tmp_path)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def zoho_engine(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    settings: Settings,
) -> Iterator[Engine]:
    """A private copy of the whole Zoho export imported with the example mappings, on each
    database kind: imported once per test run (`factories.shared_zoho`, `shared_pg_zoho`).
    Skipped when the export is not there."""
    from factories import ZOHO_EXPORT, pg_copy, shared_pg_zoho, shared_zoho, sqlite_copy

    if not ZOHO_EXPORT.is_dir():
        pytest.skip(f"the Zoho CRM export is not at {ZOHO_EXPORT}")
    if request.param == "sqlite":
        engine = sqlite_copy(shared_zoho(tmp_path_factory, settings), tmp_path)
        yield engine
        engine.dispose()
    else:
        yield from pg_copy(shared_pg_zoho(request, tmp_path_factory, settings))


@pytest.fixture(scope="session")
def settings() -> Settings:
    from paceline.config import default_settings

    return default_settings()


@pytest.fixture(scope="session")
def demo_org(
    tmp_path_factory: pytest.TempPathFactory, settings: Settings
) -> Iterator[tuple[Engine, dict[str, Any]]]:
    """The full demo organisation (seed 7, today 2026-11-18) on SQLite: built once per test
    run (`factories.shared_demo`), and copied once per worker.

    Diagnosis tests check that each planted truth (`truth["planted"]`) is found; they only
    read, so they share one copy.
    """
    from factories import shared_demo, sqlite_copy

    built = shared_demo(tmp_path_factory, settings)
    engine = sqlite_copy(built.path, tmp_path_factory.mktemp("demo_org"))
    yield engine, built.truth
    engine.dispose()


# --- the web organisation: a small demo with five users, copied for each test --------------


def _build_web_org(folder: Path, settings: Settings, now: dt.datetime) -> Org:
    from factories import WEB_PASSWORD, Org, sqlite_file_closed
    from paceline.analytics.roster import list_reps
    from paceline.auth.accounts import add_user, start_session
    from paceline.demo import build_demo
    from paceline.store.engine import make_engine
    from paceline.store.migrate import upgrade

    path = folder / "demo.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    # Four months: the alerts judge a shortfall by each rep's clustering over the 60 business
    # days before the stretch read; three months leave under 50 (one week off then weighs on
    # the estimate enough that a planted rep at 45% of normal is not told from chance).
    # Up to `now` on its last day, as `paceline demo` stops at the clock's now: a whole last
    # day wrote the afternoon's calls and deals, in the future of every page the tests read.
    build_demo(engine, settings, seed=7, reps=12, months=4, today=now.date(), now=now)
    reps = list_reps(engine)
    east = [r for r in reps if r.team == "East" and r.role == "sdr"]
    west = next(r for r in reps if r.team == "West" and r.role == "sdr")
    manager = next(r for r in reps if r.team == "East" and r.role == "manager")
    west_manager = next(r for r in reps if r.team == "West" and r.role == "manager")
    users = [
        add_user(engine, "admin", WEB_PASSWORD, "admin"),
        add_user(engine, "manager", WEB_PASSWORD, "manager", rep=manager.name),
        add_user(engine, "westmanager", WEB_PASSWORD, "manager", rep=west_manager.name),
        add_user(engine, "rep", WEB_PASSWORD, "rep", rep=east[0].name),
        add_user(engine, "westrep", WEB_PASSWORD, "rep", rep=west.name),
    ]
    # Sessions made once and copied with the database: the login form is tested on its own,
    # and each Argon2 check costs a third of a second.
    sessions = {user.username: start_session(engine, user.id) for user in users}
    sqlite_file_closed(engine)
    return Org(
        path, east[0].name, east[0].id, east[1].id, manager.name, west.id, west.name, sessions
    )


@pytest.fixture(scope="session")
def org(tmp_path_factory: pytest.TempPathFactory, settings: Settings, today: dt.date) -> Org:
    """The web organisation, built once per test run up to the clock's now (noon of `today`
    in the business's zone); `db` copies its file for each test."""
    from factories import built_once, settings_key
    from paceline import clock
    from paceline.calendar import BusinessCalendar

    now = clock.now(BusinessCalendar(settings.calendar).zone)
    assert now.date() == today, (now, today)
    key = f"web-org-{now.isoformat()}-{settings_key(settings)}"
    _, built = built_once(tmp_path_factory, key, lambda f: _build_web_org(f, settings, now))
    return built


@pytest.fixture
def db(org: Org, tmp_path: Path) -> Iterator[Engine]:
    """A private copy of the web organisation's database for one test."""
    from paceline.store.engine import make_engine

    copy = tmp_path / "web.db"
    shutil.copyfile(org.path, copy)
    engine = make_engine(f"sqlite:///{copy}")
    yield engine
    engine.dispose()


@pytest.fixture
def client(db: Engine, settings: Settings, org: Org) -> Iterator[TestClient]:
    """The application on `db`; `demo_login(client, user)` logs in as one of `org`'s users."""
    from fastapi.testclient import TestClient

    from factories import made_app

    app = made_app(settings, db)
    app.state.test_org = org
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def python_gc_thresholds() -> Iterator[None]:
    """Python's default collector thresholds during the test, whatever the process had, then
    the process's own: the tests of `paceline.collector`'s users read what they are set to."""
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*before)
