"""The builders the tests share: users, hand-built teams, rows, deals, worlds, imports, the app.

Every test file imports what it needs from here (`from factories import ...`), never from
another test file (`tests/test_suite_layout.py` fails when one does). A builder moves here when
a second test file needs it; one that a single file uses stays in that file, next to the
hand-computed figures that depend on it.

Each builder writes what its docstring says and nothing else, so the figures the tests expect
can be counted by hand from it.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import functools
import hashlib
import html
import io
import itertools
import json
import os
import pickle
import re
import select as fd_select
import shutil
import socket
import sqlite3
import stat
import threading
import tomllib
import types
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser
from itertools import count
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import numpy as np
import psycopg
import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from fastapi.routing import APIRouter
from fastapi.testclient import TestClient
from filelock import FileLock
from httpx import Response
from sqlalchemy import Connection, Engine, event, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.util import LRUCache
from typer import Typer

from paceline import plugins
from paceline.analytics.metrics import utc_bounds
from paceline.analytics.stalled import day_end_utc
from paceline.api.deps import SESSION_COOKIE
from paceline.auth.accounts import create_token, start_session
from paceline.auth.passwords import hash_password
from paceline.calendar import BusinessCalendar, shift_months
from paceline.config import CONFIG_FILE_NAME, Settings, default_config_text, load_settings
from paceline.demo import DemoSummary, build_demo
from paceline.ingest.importer import ImportOptions, ImportResult, import_csv
from paceline.ingest.mapping import Entity, load_mapping
from paceline.server import create_app
from paceline.services.reps import add_rep, edit_rep
from paceline.services.targets import TargetRow, save_targets
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade
from paceline.store.models import (
    Account,
    Activity,
    AppUser,
    Base,
    Contact,
    Deal,
    DealStageHistory,
    ImportRun,
    Rep,
    utcnow,
)
from run_databases import (
    PG_ADMIN_URL,
    admin_connection,
    drop_soon,
    next_copy,
    pg_conninfo,
    run_database_name,
)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
ZOHO_EXPORT = SHARED_DATA / "zoho_crm_export"

# The day the hand-built teams are read on: Wednesday 18 November 2026, business day 13 of 19.
AS_OF = dt.date(2026, 11, 18)
NOV = dt.date(2026, 11, 1)
# The day the full demo organisation (seed 7) is built up to: a Wednesday, mid-month.
DEMO_TODAY = dt.date(2026, 11, 18)
# The small demo test_demo.py reads and test_tracking_demo.py compares across the databases:
# the same arguments, so one SQLite build and one PostgreSQL template a run serve both (with
# seeds 7 and 11 the run built two of each, some 6 CPU s and a template's copy more).
# Built at noon in New York on its last day, as `paceline demo` is when the clock says noon:
# nothing after it is written (test_demo.py checks it on both databases).
DEMO_NOON = dt.datetime(2026, 11, 18, 17, 0)  # naive UTC
SMALL_DEMO: dict[str, Any] = {
    "seed": 7, "reps": 12, "months": 6, "today": DEMO_TODAY, "now": DEMO_NOON
}  # fmt: skip
# The three-month demo test_demo_targets.py reads, which test_demo.py's determinism check
# builds again (seed 7, and seed 8 for another seed) beside the shared one.
THREE_MONTH_DEMO: dict[str, Any] = {"seed": 7, "reps": 12, "months": 3, "today": DEMO_TODAY}
NEW_YORK_NOON = dt.time(17, 0)  # 12:00 in New York in November (EST), as naive UTC
_external = count(1)
T = TypeVar("T")


# --- databases -------------------------------------------------------------------------------


@contextmanager
def scratch_pg_databases(prefix: str, count: int = 1) -> Iterator[list[str]]:
    """The URLs of `count` empty PostgreSQL databases of the caller's own, not migrated (a
    server in another process, or a restore, makes the schema), dropped afterwards in the
    background (`drop_soon`: a drop waits for a checkpoint, which took up to 157 s of a
    test's teardown under load). Skips the test when no server answers. Named
    `run_database_name(prefix)`."""
    admin = pg_conninfo(PG_ADMIN_URL)
    try:
        conn = psycopg.connect(admin, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL server answers at {PG_ADMIN_URL}: {exc}".strip())
    names = [run_database_name(prefix) for _ in range(count)]
    with conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield [pg_url(name) for name in names]
    finally:
        for name in names:
            drop_soon(name)


def postgres_engine(
    request: pytest.FixtureRequest, *, quick_commits: bool = True
) -> Iterator[Engine]:
    """An engine on a fresh, migrated PostgreSQL database of its own, dropped afterwards.

    The database is copied (`CREATE DATABASE ... TEMPLATE`, half a second, made ahead while
    the test before runs: `pg_copy`) from one migrated once per test run
    (`migrated_pg_template`): running every migration for each test took seconds on
    PostgreSQL. Its commits do not wait for the disk unless `quick_commits` is False
    (`QUICK_COMMITS`). Skipped when no server answers."""
    request.getfixturevalue("pg_database")  # skips the test when no server answers
    template = migrated_pg_template(request.getfixturevalue("tmp_path_factory"))
    yield from pg_copy(template, ahead=True, quick_commits=quick_commits)


def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite database migrated to the head revision, made once per test run; copy
    it (`migrated_sqlite_copy`), never open it."""

    def build(folder: Path) -> None:
        engine = make_engine(f"sqlite:///{folder / 'paceline.db'}")
        upgrade(engine)
        sqlite_file_closed(engine)

    folder, _ = built_once(tmp_path_factory, "migrated-sqlite", build)
    return folder / "paceline.db"


def migrated_sqlite_copy(tmp_path_factory: pytest.TempPathFactory, folder: Path) -> Engine:
    """An engine on `folder`/paceline.db, an empty database migrated to head: a copy of the
    run's `migrated_sqlite` file (a few milliseconds, where migrating takes half a second)."""
    return sqlite_copy(migrated_sqlite(tmp_path_factory), folder)


# A database the application itself creates in a test (`paceline init` in a new folder, a
# builder handed a new SQLite file, the import page's first upload) is migrated by it from
# nothing: 20 migrations, 0.1-0.15 CPU s each time, 127 times in `make test-fast` (2026-12-07,
# 12 of its 166 CPU s). The run's migrated database (`migrated_sqlite`) already holds the
# result, so `replayed_head_upgrades` gives an empty SQLite database that result instead:
# the template's schema statements (SQLite keeps each CREATE as it was written) and rows,
# inside the upgrade's own transaction. The migrations still run from nothing once per run
# (the template), from each revision in tests/store/test_schema.py, and in every upgrade that
# is not an empty SQLite database to head (a downgraded one, PostgreSQL, a fault injected).
_INTERNAL_TABLES = ("sqlite_sequence", "sqlite_stat1", "sqlite_stat4")


@dataclass(frozen=True)
class SqliteContent:
    """What an SQLite database holds: its schema statements in the order they were made, and
    the rows of each table that has any."""

    statements: tuple[str, ...]
    rows: tuple[tuple[str, tuple[tuple[Any, ...], ...]], ...]


def sqlite_content(conn: sqlite3.Connection) -> SqliteContent:
    statements = tuple(
        sql
        for (sql,) in conn.execute(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%'"
            " ESCAPE '\\' ORDER BY rowid"
        )
    )
    tables = [
        name
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if name not in _INTERNAL_TABLES[1:]
    ]
    rows = tuple(
        (table, found)
        for table in sorted(tables)
        if (found := tuple(conn.execute(f'SELECT * FROM "{table}"')))
    )
    return SqliteContent(statements, rows)


def replayed_head_upgrades(real: Callable[..., None], template: Path) -> Callable[..., None]:
    """`alembic.command.upgrade` (`real`), which gives an empty SQLite database upgraded to
    the head the content of the database at `template` (one `real` migrated to the head),
    replayed on the upgrade's connection; every other upgrade is `real`'s."""
    with contextlib.closing(sqlite3.connect(f"file:{template}?mode=ro", uri=True)) as source:
        content = sqlite_content(source)

    def upgrade(config: Any, revision: str, *args: Any, **kwargs: Any) -> None:
        conn = config.attributes.get("connection")
        if revision != "head" or conn is None or conn.dialect.name != "sqlite":
            return real(config, revision, *args, **kwargs)
        if conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar():
            return real(config, revision, *args, **kwargs)  # not empty: migrate it
        for statement in content.statements:
            conn.exec_driver_sql(statement)
        for table, rows in content.rows:
            marks = ", ".join("?" * len(rows[0]))
            conn.exec_driver_sql(f'INSERT INTO "{table}" VALUES ({marks})', list(rows))
        return None

    return upgrade


def migrated_pg_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The name of an empty PostgreSQL database migrated to head, made once per test run as a
    template to copy (its name carries the run's id; the run drops it when it ends)."""

    def build(_folder: Path) -> str:
        name = run_database_name("tpl")
        with admin_connection() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        engine = make_engine(pg_url(name))
        upgrade(engine)
        engine.dispose()  # a template may have no open connections
        return name

    return built_once(tmp_path_factory, "migrated-pg", build)[1]


# What a dialect's settings are made of: values, and the functions and modules it was given
# (a JSON serializer, the DB-API module), which are the same objects for every engine.
_DIALECT_SETTING = (
    str,
    int,
    float,
    tuple,
    type(None),
    types.FunctionType,
    types.BuiltinFunctionType,
    types.ModuleType,
)


class _CompiledByDialect(LRUCache[Any, Any]):
    """SQLAlchemy's cache of compiled statements, keyed by what the dialect is rather than by
    which dialect object compiled them (its key's first part): the type and settings of the
    dialect, with the server version its connection found."""

    @staticmethod
    def _shared(key: tuple[Any, ...]) -> tuple[Any, ...]:
        dialect, *rest = key
        settings = tuple(
            (name, value)
            for name, value in sorted(vars(dialect).items())
            if isinstance(value, _DIALECT_SETTING)  # not its own helper objects
        )
        return (type(dialect), settings, *rest)

    def get(self, key: Any, default: Any = None) -> Any:
        return super().get(self._shared(key), default)

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(self._shared(key), value)


def shared_compiled_cache(create: Callable[..., Engine]) -> Callable[..., Engine]:
    """`create` (sqlalchemy's create_engine), whose engines share one cache of compiled
    statements (`_CompiledByDialect`).

    Why: SQLAlchemy compiles a statement once per engine and keeps it in that engine's own
    cache; the suite makes an engine for nearly every test, so each test compiled every
    statement it ran again, a fifth of the suite's CPU. Statements compiled by one dialect
    of the same kind, settings and server version are the same SQL."""
    cache = _CompiledByDialect(5000)

    def created(*args: Any, **kwargs: Any) -> Engine:
        engine = create(*args, **kwargs)
        if engine._compiled_cache is not None:
            engine._compiled_cache = cache
        return engine

    return created


def memoise_pdf_rendering(weasyprint: types.ModuleType) -> None:
    """WeasyPrint's `HTML(string=...)` made to render each document to PDF once per process
    and hand later renders of the same document the same bytes (idempotent).

    Why: a report's PDF (`reports.render.report_pdf`) takes a second or two of CPU, and the
    scheduler and channel tests send the same few weekly reports again and again (26 PDFs of
    4 documents in test_scheduler.py alone, on each database). WeasyPrint's output depends
    only on the document (no clock, no randomness: the same document gives the same bytes),
    so a render from the memo is the render itself. Anything but `HTML(string=...)` then
    `write_pdf()` with no arguments renders for real."""
    real = weasyprint.HTML
    if getattr(real, "memoised", False):
        return
    rendered: dict[str, bytes] = {}

    class MemoisedHTML(real):  # type: ignore[misc, valid-type]
        memoised = True

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            source = kwargs.get("string")
            plain = not args and set(kwargs) == {"string"} and isinstance(source, str)
            self._memo_key = hashlib.sha256(source.encode()).hexdigest() if plain else None

        def write_pdf(self, *args: Any, **kwargs: Any) -> Any:
            if args or kwargs or self._memo_key is None:
                return super().write_pdf(*args, **kwargs)
            if self._memo_key not in rendered:
                rendered[self._memo_key] = super().write_pdf()
            return rendered[self._memo_key]

    weasyprint.HTML = MemoisedHTML


def free_port() -> int:
    """A TCP port on loopback nobody listens on now, for a server a test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LoopbackSMTP(Controller):  # type: ignore[misc]
    """An aiosmtpd server on a loopback port the kernel picks when the server binds (port 0).

    Why: a port chosen first (`free_port`) and bound later can be taken in between by another
    test worker's server; with port 0 nothing lies between choosing and listening. The chosen
    port is read back before aiosmtpd opens its first connection to the server."""

    def __init__(self, handler: Any, **options: Any) -> None:
        super().__init__(handler, hostname="127.0.0.1", port=0, **options)

    def _create_server(self) -> Any:
        return self._bind()

    async def _bind(self) -> Any:
        server = await self.loop.create_server(
            self._factory_invoker, host=self.hostname, port=0, ssl=self.ssl_context
        )
        self.port = int(server.sockets[0].getsockname()[1])
        return server


@contextmanager
def served_app(app: FastAPI, **options: Any) -> Iterator[str]:
    """`app` served by uvicorn on a free loopback port in a thread of this process (no
    subprocess to start; `options` go to uvicorn.Config): its base URL. Stopped on the way
    out."""
    import threading
    import time

    import uvicorn

    # The socket is bound here and handed over, so no other process can take the port
    # between choosing it and listening on it.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def recorded_executions(on: Engine | Connection) -> Iterator[list[tuple[str, Any]]]:
    """(SQL, parameters) of every statement `on` (an engine, or one connection) runs inside
    the block, in order, recorded as they run (tests that pin how many statements, which
    tables or which plan a read takes, and what it was asked)."""
    executions: list[tuple[str, Any]] = []

    def note(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        executions.append((str(statement), parameters))

    event.listen(on, "before_cursor_execute", note)
    try:
        yield executions
    finally:
        event.remove(on, "before_cursor_execute", note)


@contextmanager
def recorded_statements(on: Engine | Connection) -> Iterator[list[str]]:
    """The SQL of every statement `on` runs inside the block, in order, recorded as they run
    (`recorded_executions` without the parameters)."""
    statements: list[str] = []

    def note(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(on, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(on, "before_cursor_execute", note)


def count_rows(engine: Engine, model: type) -> int:
    """How many rows `model`'s table holds."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


# --- users -----------------------------------------------------------------------------------

PASSWORD = "correct horse battery"
# username -> (role, the rep the account is linked to)
Users = Mapping[str, tuple[str, str | None]]


@functools.cache
def password_hash() -> str:
    """One Argon2 hash of PASSWORD for every quick user (0.2 s each otherwise)."""
    return hash_password(PASSWORD)


def quick_user(engine: Engine, username: str, role: str, rep: str | None = None) -> int:
    """A user as `add_user` makes one (password PASSWORD), with the one shared hash."""
    return _insert_user(engine, username, role, rep, password_hash())


def _insert_user(engine: Engine, username: str, role: str, rep: str | None, hashed: str) -> int:
    with engine.begin() as conn:
        rep_id, team_id = (None, None)
        if rep is not None:
            rep_id, team_id = conn.execute(select(Rep.id, Rep.team_id).where(Rep.name == rep)).one()
        return int(
            conn.execute(
                insert(AppUser)
                .values(
                    username=username,
                    username_key=username.casefold(),
                    password_hash=hashed,
                    role=role,
                    rep_id=rep_id,
                    team_id=team_id,
                    active=True,
                    created_at=utcnow(),
                )
                .returning(AppUser.id)
            ).scalar_one()
        )


def add_users(engine: Engine, users: Users) -> None:
    """Every user of `users`, linked to their rep (and through it to the rep's team)."""
    for username, (role, rep) in users.items():
        quick_user(engine, username, role, rep)


def users_without_password(engine: Engine, users: Users) -> dict[str, int]:
    """Users nobody can log in as with a password (sessions and tokens only); their ids."""
    return {
        username: _insert_user(engine, username, role, rep, "!unusable")
        for username, (role, rep) in users.items()
    }


def api_tokens(engine: Engine, users: Users) -> dict[str, str]:
    """Adds `users` and returns an API token per username, for tests that call as each role."""
    add_users(engine, users)
    return {username: create_token(engine, username, "tests").token for username in users}


def bearer(token: str) -> dict[str, str]:
    """The header an API token is sent in."""
    return {"Authorization": f"Bearer {token}"}


def login(client: TestClient, engine: Engine, username: str) -> None:
    """Log `client` in as `username` with a fresh session cookie (no password check)."""
    with engine.connect() as conn:
        user_id = conn.scalar(select(AppUser.id).where(AppUser.username == username))
    cookie, _ = start_session(engine, int(user_id or 0))
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, cookie)


def import_page_client(engine: Engine, settings: Settings) -> tuple[TestClient, str]:
    """An admin's client on the web Import page, and that page's HTML (its CSRF token and
    fields): the form tests post uploads through it."""
    quick_user(engine, "root", "admin")
    client = TestClient(made_app(settings, engine))
    login(client, engine, "root")
    page = client.get("/import")
    assert page.status_code == 200
    return client, page.text


def upload_activities(client: TestClient, csrf: str, content: bytes, **fields: str) -> str:
    """Post `content` as an activities file ("calls.csv") through the Import page, new reps
    allowed, with the form's other `fields` (an encoding, a delimiter); the page answered."""
    data = {"csrf": csrf, "entity": "activities", "allow_new_reps": "1", **fields}
    answer = client.post("/import", data=data, files={"file": ("calls.csv", content, "text/csv")})
    return answer.text


# --- the command line ------------------------------------------------------------------------


def parsed_once(parse: Callable[[str, str], Settings]) -> Callable[[str, str], Settings]:
    """`parse` (`config.parse_settings`: TOML text to validated settings), kept per text.

    Why: every CLI command a test runs reads its paceline.toml again, 677 times in `make
    test-fast`, and the default file (22 KB of commented TOML) takes some 2.3 ms of CPU to
    parse and validate each time. The settings are frozen models, so one parsed object serves
    every caller of equal text; a text that fails is parsed (and fails) each time."""
    parsed: dict[tuple[str, str], Settings] = {}

    def parse_settings(text: str, origin: str = CONFIG_FILE_NAME) -> Settings:
        key = (text, origin)
        if key not in parsed:
            parsed[key] = parse(text, origin)
        return parsed[key]

    return parse_settings


def cli_built_once(build: Callable[[Typer], Any]) -> Callable[[Typer], Any]:
    """`build` (typer.testing's: a Typer app made into its click command), kept per app.

    Why: typer builds the whole click command tree from the Typer app on every
    `CliRunner().invoke`, 60 ms of CPU, paid by each of the suite's many CLI calls; the tree
    it builds is the same each time. It is built again when the app's commands, groups or
    the process's plugin manager (which adds the plugins' commands) are not the same objects
    or sizes as when it was built (tests/test_plugins.py installs a plugin with a command).
    """
    built: dict[tuple[int, ...], tuple[Any, tuple[object, ...]]] = {}

    def command(app: Typer) -> Any:
        # held with the tree, so that no id in its key is reused by a later object
        held = (app, app.registered_commands, app.registered_groups, plugins._manager)
        key = (*map(id, held), len(app.registered_commands), len(app.registered_groups))
        if key not in built:
            built[key] = (build(app), held)
        return built[key][0]

    return command


# --- the application -------------------------------------------------------------------------

# The route tables made_app has built, per settings and plugins' routers (kept alive here, so
# their ids in the key are never reused).
_ROUTES: dict[tuple[str, tuple[int, ...]], tuple[APIRouter, list[Any]]] = {}


def made_app(settings: Settings, engine: Engine) -> FastAPI:
    """`create_app(settings, engine)`, answering its first request as fast as its second.

    Why: FastAPI works out every route's parameters (signatures, pydantic validators) the
    first time an application answers, a tenth of a CPU second per application, paid again
    by each test that made its own. The application returned is new, with its own state
    (`AppState` on `engine`, the web state), middleware and error handlers; only its route
    table is shared with the earlier ones made from equal settings and the same plugins'
    routers, whose routes are the same and hold no state. Dependency overrides are looked up
    on the application that made the table: a test that overrides one uses `create_app`.
    """
    app = create_app(settings, engine)
    found = plugins.routers()
    key = (settings_key(settings), tuple(id(router) for router in found))
    router, _ = _ROUTES.setdefault(key, (app.router, found))
    app.router = router
    return app


@dataclass
class Site:
    """The application over a database, with a session cookie and API token per user."""

    client: TestClient
    sessions: dict[str, str]
    tokens: dict[str, str]

    def page(self, user: str, path: str, **params: str) -> Any:
        self.client.cookies.clear()
        self.client.cookies.set(SESSION_COOKIE, self.sessions[user])
        return self.client.get(path, params=params)

    def api(self, user: str, path: str, **params: str) -> Any:
        self.client.cookies.clear()
        return self.client.get("/api/v1" + path, params=params, headers=bearer(self.tokens[user]))


def make_site(engine: Engine, settings: Settings, users: Users) -> Site:
    """The application with the given users, each with a session and an API token."""
    ids = users_without_password(engine, users)
    sessions = {u: start_session(engine, i)[0] for u, i in ids.items()}
    tokens = {u: create_token(engine, u, "tests").token for u in ids}
    return Site(TestClient(made_app(settings, engine)), sessions, tokens)


API = "/api/v1"


@dataclass
class Api:
    """The application on the tracking team, and a token per user."""

    engine: Engine
    client: TestClient
    tokens: dict[str, str]
    reps: dict[str, int]

    def call(self, user: str | None, method: str, path: str, **kwargs: Any) -> Response:
        headers = dict(kwargs.pop("headers", {}))
        if user is not None:
            headers.update(bearer(self.tokens[user]))
        return self.client.request(method, API + path, headers=headers, **kwargs)

    def get(self, user: str | None, path: str, **kwargs: Any) -> Response:
        return self.call(user, "GET", path, **kwargs)

    def post(self, user: str | None, path: str, body: Any, **kwargs: Any) -> Response:
        return self.call(user, "POST", path, json=body, **kwargs)

    def patch(self, user: str | None, path: str, body: Any) -> Response:
        return self.call(user, "PATCH", path, json=body)

    def delete(self, user: str | None, path: str) -> Response:
        return self.call(user, "DELETE", path)

    def activity_ids(self, rep: str) -> list[int]:
        with self.engine.connect() as conn:
            ids = conn.scalars(
                select(Activity.id).where(Activity.rep_id == self.reps[rep]).order_by(Activity.id)
            )
            return [int(i) for i in ids]


def make_api(engine: Engine, settings: Settings) -> Api:
    """The tracking team with users root (admin), max (East's manager), ana and dee (reps)."""
    reps = build_tracking_team(engine, settings)
    users = {"root": ("admin", None), "max": ("manager", "Max"), "ana": ("rep", "Ana")}
    users["dee"] = ("rep", "Dee")
    tokens = api_tokens(engine, users)
    return Api(engine, TestClient(made_app(settings, engine)), tokens, reps)


# Every operation of the API, as (method, path): the fuzzing covers each, the role matrix too.
API_OPERATIONS = [
    ("GET", "/api/v1/activities"),
    ("POST", "/api/v1/activities"),
    ("POST", "/api/v1/activities/bulk"),
    ("GET", "/api/v1/activities/{activity_id}"),
    ("PATCH", "/api/v1/activities/{activity_id}"),
    ("DELETE", "/api/v1/activities/{activity_id}"),
    ("GET", "/api/v1/deals"),
    ("POST", "/api/v1/deals"),
    ("GET", "/api/v1/deals/{deal_id}"),
    ("PATCH", "/api/v1/deals/{deal_id}"),
    ("DELETE", "/api/v1/deals/{deal_id}"),
    ("GET", "/api/v1/reps"),
    ("GET", "/api/v1/reps/{rep_id}"),
    ("POST", "/api/v1/reps"),
    ("PATCH", "/api/v1/reps/{rep_id}"),
    ("GET", "/api/v1/teams"),
    ("GET", "/api/v1/targets"),
    ("PUT", "/api/v1/targets"),
    ("GET", "/api/v1/scorecard"),
    ("GET", "/api/v1/scorecard/team"),
    ("GET", "/api/v1/leaderboard"),
    ("GET", "/api/v1/alerts"),
    ("POST", "/api/v1/plan"),
    ("GET", "/api/v1/funnel"),
    ("GET", "/api/v1/equation"),
    ("GET", "/api/v1/quality"),
    ("GET", "/api/v1/when"),
    ("GET", "/api/v1/stalled"),
    ("GET", "/api/v1/flow"),
    ("GET", "/api/v1/diagnosis"),
    ("GET", "/api/v1/diagnosis/team"),
    ("GET", "/api/v1/coaching"),
    ("GET", "/api/v1/tipping"),
    ("GET", "/api/v1/forecast"),
    ("GET", "/api/v1/forecast/backtest"),
    ("GET", "/api/v1/reports/rep"),
    ("GET", "/api/v1/reports/team"),
    ("GET", "/api/v1/audit"),
    ("PATCH", "/api/v1/users/{user_id}"),
    ("GET", "/api/v1/tokens"),
    ("POST", "/api/v1/tokens"),
    ("DELETE", "/api/v1/tokens/{token_id}"),
    ("GET", "/api/v1/users"),
    ("POST", "/api/v1/users"),
]


# --- rows ------------------------------------------------------------------------------------


def activity_row(
    rep_id: int,
    day: dt.date,
    *,
    kind: str = "call",
    outcome: str | None = "no_answer",
    ask: bool = True,
    engaged: bool = False,
    account_id: int | None = None,
    contact_id: int | None = None,
    minutes: float | None = None,
    at: dt.time = NEW_YORK_NOON,
) -> dict[str, Any]:
    """An activity row on a local day (at noon New York time unless `at` says otherwise)."""
    return {
        "rep_id": rep_id,
        "kind": kind,
        "occurred_at": dt.datetime.combine(day, at),
        "local_date": day,
        "outcome": outcome,
        "has_ask": ask,
        "engaged": engaged,
        "account_id": account_id,
        "contact_id": contact_id,
        "duration_min": minutes,
        "source": "test",
        "external_id": f"a{next(_external)}",
    }


def accounts(engine: Engine, n: int, prefix: str) -> list[int]:
    """`n` accounts named "`prefix` 0" ... ; their ids in that order."""
    with engine.begin() as conn:
        return [
            int(conn.scalar(insert(Account).values(name=f"{prefix} {i}").returning(Account.id)))
            for i in range(n)
        ]


def account(engine: Engine, name: str) -> int:
    with engine.begin() as conn:
        return int(conn.execute(insert(Account).values(name=name).returning(Account.id)).scalar())


def at(month: int, day: int, year: int = 2026, hour: int = 17) -> dt.datetime:
    """A naive UTC moment: 17:00 UTC is noon in New York in winter, 1 pm in summer."""
    return dt.datetime(year, month, day, hour)


def put_activity(
    engine: Engine,
    rep_id: int,
    moment: dt.datetime,
    *,
    deal_id: int | None = None,
    account_id: int | None = None,
    kind: str = "call",
    ask: bool = True,
    local_date: dt.date | None = None,
) -> None:
    """One conversation (selling when `ask`), counted on `local_date` or the UTC day."""
    with engine.begin() as conn:
        conn.execute(
            insert(Activity).values(
                rep_id=rep_id,
                deal_id=deal_id,
                account_id=account_id,
                kind=kind,
                occurred_at=moment,
                local_date=local_date or moment.date(),
                outcome="conversation",
                has_ask=ask,
                engaged=False,
                source="test",
            )
        )


# A stage entry: (stage, entered at) at the deal's amount, or (stage, entered at, amount then);
# an amount of None is one the CRM left empty (unknown).
StageEntry = tuple[str, dt.datetime] | tuple[str, dt.datetime, float | None]


def put_deal(
    engine: Engine,
    rep_id: int,
    name: str,
    amount: float | None,
    created: dt.datetime,
    *,
    status: str = "open",
    stage: str | None = None,
    closed: dt.datetime | None = None,
    expected_close: dt.date | None = None,
    account_id: int | None = None,
    history: Sequence[StageEntry] | None = None,
    sourced_by: int | None = None,
) -> int:
    """A deal and its stage history; its stage is `stage`, else the last entry's, else
    prospect."""
    history = list(history or [])
    final = stage or (history[-1][0] if history else "prospect")
    statuses = {"closed_won": "won", "closed_lost": "lost", "disqualified": "lost"}
    with engine.begin() as conn:
        deal_id = int(
            conn.execute(
                insert(Deal)
                .values(
                    rep_id=rep_id,
                    account_id=account_id,
                    name=name,
                    amount=None if amount is None else Decimal(str(amount)),
                    stage=final,
                    status=status,
                    created_at=created,
                    closed_at=closed,
                    expected_close=expected_close,
                    sourced_by_id=sourced_by,
                    source="test",
                )
                .returning(Deal.id)
            ).scalar_one()
        )
        for entry in history:
            value = entry[2] if len(entry) == 3 else amount
            conn.execute(
                insert(DealStageHistory).values(
                    deal_id=deal_id,
                    stage=entry[0],
                    status=statuses.get(entry[0], "open"),
                    amount=None if value is None else Decimal(str(value)),
                    entered_at=entry[1],
                )
            )
    return deal_id


def put_old_win(engine: Engine, rep_id: int) -> int:
    """A deal of 1,000 created on 2024-01-05 and won on 2024-03-10: the organisation records
    wins (`step_rules.wins_recorded`, the scorecard's rule), so a forecast whose history
    holds lost deals only reads them as a measured 0% instead of refusing; closed before the
    histories the tests read (a year before 2025), it is in none of their curves."""
    path: list[StageEntry] = [("proposal", at(1, 5, 2024)), ("closed_won", at(3, 10, 2024))]
    return put_deal(engine, rep_id, "Old win", 1000, at(1, 5, 2024), status="won",
                    stage="closed_won", closed=at(3, 10, 2024), history=path)  # fmt: skip


# --- hand-built teams ------------------------------------------------------------------------


def east_and_west(engine: Engine, settings: Settings) -> dict[str, int]:
    """AEs Ana, Ben and Cy and their manager Max in East; AE Dee in West. No activity."""
    return {
        "Ana": add_rep(engine, settings, "Ana", "ae", team="East"),
        "Ben": add_rep(engine, settings, "Ben", "ae", team="East"),
        "Cy": add_rep(engine, settings, "Cy", "ae", team="East"),
        "Dee": add_rep(engine, settings, "Dee", "ae", team="West"),
        "Max": add_rep(engine, settings, "Max", "manager", team="East"),
    }


def build_flow_without_wins(engine: Engine, settings: Settings) -> dict[str, int]:
    """East (`east_and_west`) with Ana's open deal (10,000, created Nov 3) and Ben's deal
    (8,000, created Nov 10) lost on Nov 17, 2026: no deal won, ever, so the pipeline flow's
    wins are not recorded (not 0). Returns the reps' ids by name."""
    reps = east_and_west(engine, settings)
    put_deal(engine, reps["Ana"], "open", 10_000, at(11, 3))
    put_deal(engine, reps["Ben"], "lost", 8_000, at(11, 10), status="lost", stage="closed_lost",
             closed=at(11, 17))  # fmt: skip
    return reps


def build_flow_with_wins(engine: Engine, settings: Settings) -> dict[str, int]:
    """`build_flow_without_wins` and Ana's deal of 5,000 (created Nov 3) won on Nov 12, 2026:
    wins recorded, with their amounts. Returns the reps' ids by name."""
    reps = build_flow_without_wins(engine, settings)
    put_deal(engine, reps["Ana"], "won", 5_000, at(11, 3), status="won", stage="closed_won",
             closed=at(11, 12))  # fmt: skip
    return reps


def build_flow_unknown_amounts(engine: Engine, settings: Settings) -> dict[str, int]:
    """East (`east_and_west`) with wins and new deals some of whose amounts the CRM left
    empty, for the pipeline flow as of Wednesday 2026-11-18 over "14d" (ISO weeks W45 Nov 2-8,
    W46 Nov 9-15, W47 Nov 16-18; times 17:00 UTC = noon in New York):

    | deal                      | rep | amount  | created | closed        |
    |---------------------------|-----|---------|---------|---------------|
    | won, amount unknown       | Ana | -       | Oct 1   | won Nov 4     |
    | won                       | Ana | 20,000  | Oct 1   | won Nov 12    |
    | won too, amount unknown   | Ben | -       | Oct 1   | won Nov 13    |
    | new                       | Ben | 12,000  | Nov 10  | open          |
    | new, amount unknown       | Ana | -       | Nov 17  | open          |
    | lost                      | Ben | 8,000   | Oct 1   | lost Nov 17   |

    So per week: in 0 / 1 (12,000) / 1 (amount unknown); won 1 (amount unknown) / 2
    (20,000 known, 1 unknown) / 0; lost 0 / 0 / 1 (8,000); open at the week's end 3 deals
    (28,000 known) / 2 (20,000) / 2 (12,000 known). Returns the reps' ids by name."""
    reps = east_and_west(engine, settings)
    ana, ben = reps["Ana"], reps["Ben"]
    won = {"status": "won", "stage": "closed_won"}
    put_deal(engine, ana, "won, amount unknown", None, at(10, 1), closed=at(11, 4), **won)
    put_deal(engine, ana, "won", 20_000, at(10, 1), closed=at(11, 12), **won)
    put_deal(engine, ben, "won too, amount unknown", None, at(10, 1), closed=at(11, 13), **won)
    put_deal(engine, ben, "new", 12_000, at(11, 10))
    put_deal(engine, ana, "new, amount unknown", None, at(11, 17))
    put_deal(engine, ben, "lost", 8_000, at(10, 1), status="lost", stage="closed_lost",
             closed=at(11, 17))  # fmt: skip
    return reps


def calls_on(
    rep_id: int, day: dt.date, n: int, outcome: str, ask: bool = True, kind: str = "call"
) -> list[dict[str, Any]]:
    """`n` activity rows (calls unless `kind` says) at noon New York time on a local day."""
    moment = dt.datetime.combine(day, dt.time(17, 0))  # noon in New York, as UTC
    return [
        {
            "rep_id": rep_id,
            "kind": kind,
            "occurred_at": moment,
            "local_date": day,
            "outcome": outcome,
            "has_ask": ask,
            "engaged": False,
            "source": "test",
        }
        for _ in range(n)
    ]


def build_tracking_team(engine: Engine, settings: Settings) -> dict[str, int]:
    """The small team the tracking tests count by hand (November 2026, as of the 18th):

    - Ana (SDR, East): 12 conversation calls and 2 meeting-set calls, all with an Ask, on
      Nov 2-13 (last on Friday 13th), and 8 unanswered calls; in October 5 conversations.
    - Ben (SDR, East): 5 conversation calls with an Ask on Nov 16-17.
    - Cy (AE, East): one meeting held (with an Ask) on Friday Oct 30; nothing in November.
    - Dee (SDR, West): 14 conversation calls with an Ask on Nov 3; 20 on Oct 20.
    - Max (manager, East): internal work only; managers have no key metrics.
    Targets for November: Ana conversations 190 and meetings set 3; Ben conversations 19;
    Cy meetings held 19. Returns the reps' ids by name.
    """
    upgrade(engine)
    ids = {
        "Ana": add_rep(engine, settings, "Ana", "sdr", team="East"),
        "Ben": add_rep(engine, settings, "Ben", "sdr", team="East"),
        "Cy": add_rep(engine, settings, "Cy", "ae", team="East"),
        "Dee": add_rep(engine, settings, "Dee", "sdr", team="West"),
        "Max": add_rep(engine, settings, "Max", "manager", team="East"),
    }
    rows: list[dict[str, Any]] = []
    ana_days = [2, 3, 4, 5, 6, 9, 10, 11, 12, 13]
    for day in ana_days:
        rows += calls_on(ids["Ana"], dt.date(2026, 11, day), 1, "conversation")
    rows += calls_on(ids["Ana"], dt.date(2026, 11, 13), 2, "conversation")
    rows += calls_on(ids["Ana"], dt.date(2026, 11, 12), 2, "meeting_set")
    rows += calls_on(ids["Ana"], dt.date(2026, 11, 4), 8, "no_answer", ask=False)
    rows += calls_on(ids["Ana"], dt.date(2026, 10, 15), 5, "conversation")
    rows += calls_on(ids["Ben"], dt.date(2026, 11, 16), 3, "conversation")
    rows += calls_on(ids["Ben"], dt.date(2026, 11, 17), 2, "conversation")
    rows += calls_on(ids["Cy"], dt.date(2026, 10, 30), 1, "held", kind="meeting")
    rows += calls_on(ids["Dee"], dt.date(2026, 11, 3), 14, "conversation")
    rows += calls_on(ids["Dee"], dt.date(2026, 10, 20), 20, "conversation")
    rows += calls_on(
        ids["Max"], dt.date(2026, 11, 2), 1, "done", ask=False, kind="internal_meeting"
    )
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
        save_targets(
            conn,
            [
                TargetRow(ids["Ana"], "conversations", "month", NOV, 190),
                TargetRow(ids["Ana"], "meetings_set", "month", NOV, 3),
                TargetRow(ids["Ben"], "conversations", "month", NOV, 19),
                TargetRow(ids["Cy"], "meetings_held", "month", NOV, 19),
            ],
        )
    return ids


def in_zone(settings: Settings, zone: str) -> Settings:
    """The settings with `[calendar] timezone` set to `zone` (a team correcting the zone)."""
    return variant(settings, calendar={**settings.calendar.model_dump(), "timezone": zone})


def variant(settings: Settings, extra: Iterable[dict[str, Any]] = (), **changes: Any) -> Settings:
    """The settings with metrics added, metrics replaced by name and top-level keys changed."""
    data = settings.model_dump()
    metrics = data["metrics"]
    for metric in extra:
        names = [m["name"] for m in metrics]
        if metric["name"] in names:
            metrics[names.index(metric["name"])] = {
                **metrics[names.index(metric["name"])],
                **metric,
            }
        else:
            metrics.append(metric)
    data.update(changes)
    return Settings.model_validate(data)


def decision_maker_calls(settings: Settings) -> Settings:
    """A configuration whose calls are only those to a decision maker (a contact filter)."""
    return variant(settings, [{"name": "calls", "decision_maker": True}])


def build_calls_to_two_contacts(engine: Engine, settings: Settings) -> dict[str, int]:
    """Wednesday Nov 4, 10:00-11:00 EST (15:05 UTC), Ana's six calls: three to Dee (a
    decision maker, one connected), two to Sam (not one, both connected), one to nobody.
    So under `decision_maker_calls` the hour has 3 calls and 1 connect (a 33% connect rate)."""
    upgrade(engine)
    ana = add_rep(engine, settings, "Ana", "sdr", team="East")
    wed, day = dt.datetime(2026, 11, 4, 15, 5), dt.date(2026, 11, 4)
    with engine.begin() as conn:
        acc = int(conn.execute(insert(Account).values(name="Acme").returning(Account.id)).one()[0])
        dee, sam = (
            int(
                conn.execute(
                    insert(Contact)
                    .values(name=name, account_id=acc, is_decision_maker=dm)
                    .returning(Contact.id)
                ).one()[0]
            )
            for name, dm in (("Dee", True), ("Sam", False))
        )
        outcomes = [(dee, "conversation"), (dee, "no_answer"), (dee, "no_answer")]
        outcomes += [(sam, "conversation"), (sam, "conversation"), (None, "no_answer")]
        rows = [
            activity_row(ana, day, outcome=o, account_id=acc, contact_id=c) for c, o in outcomes
        ]
        for row in rows:
            row["occurred_at"] = wed
        conn.execute(insert(Activity), rows)
    return {"Ana": ana, "Dee": dee, "Sam": sam}


# Lea's last day: a Wednesday, business day 8 of November's 19 (Nov 2-6, 9-11).
LEA_LAST_DAY = dt.date(2026, 11, 11)


def build_leaver_team(engine: Engine, settings: Settings) -> dict[str, int]:
    """`build_tracking_team` and Lea (SDR, East), who left on Wednesday Nov 11: 4
    conversation calls with an Ask on each of her 8 business days (32), a November target of
    76 conversations. Over the days she was there she is exactly on pace (76 x 8/19 = 32
    expected); paced over the month to the 18th she would be 32 of 76 x 13/19 = 52."""
    ids = build_tracking_team(engine, settings)
    ids["Lea"] = add_leaver(engine, settings)
    return ids


def add_leaver(engine: Engine, settings: Settings, *, left: bool = True) -> int:
    """Lea of `build_leaver_team`, added to `build_tracking_team`'s team; her id. Her last day
    is set through the one write path (`services.reps`); `left=False` leaves it to the test
    (her activities and target are there, but nothing says she left)."""
    lea = add_rep(engine, settings, "Lea", "sdr", team="East")
    rows: list[dict[str, Any]] = []
    for day in [2, 3, 4, 5, 6, 9, 10, 11]:
        rows += calls_on(lea, dt.date(2026, 11, day), 4, "conversation")
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
        save_targets(conn, [TargetRow(lea, "conversations", "month", NOV, 76)])
    if left:
        edit_rep(engine, settings, "Lea", {"end_date": LEA_LAST_DAY})
    return lea


# Zoe's first day: Monday Nov 23, after `AS_OF`; 4 of November's 19 business days are hers
# (23-25 and 30: the 26th and 27th are holidays).
ZOE_FIRST_DAY = dt.date(2026, 11, 23)


def add_late_starter(engine: Engine, settings: Settings) -> int:
    """Zoe (SDR, East), who starts on `ZOE_FIRST_DAY`, with a November target of 76
    conversations (76 x 4/19 = 16 hers) and no activity; her id."""
    zoe = add_rep(engine, settings, "Zoe", "sdr", team="East", start_date=ZOE_FIRST_DAY)
    with engine.begin() as conn:
        save_targets(conn, [TargetRow(zoe, "conversations", "month", NOV, 76)])
    return zoe


# The day the digests and alerts of `build_comers_and_goers` are sent: Monday Dec 7 2026.
SEND_DAY = dt.date(2026, 12, 7)


def build_comers_and_goers(engine: Engine, settings: Settings) -> None:
    """People with an address around `SEND_DAY`, all reachable but for their dates:

    - East: Ana (SDR, no dates); Lea (left Friday Dec 4); Lou (his last day is the send
      day); Sam (starts on the send day); Zoe (starts Monday Dec 14); manager Max (user
      "max");
    - West: manager Mia (user "mia", still active) whose last day was Monday Nov 30.
    Those there on the send day: Ana, Lou, Sam (reps) and Max (manager)."""
    upgrade(engine)
    dates = {
        "Ana": (None, None),
        "Lea": (None, dt.date(2026, 12, 4)),
        "Lou": (None, SEND_DAY),
        "Sam": (SEND_DAY, None),
        "Zoe": (dt.date(2026, 12, 14), None),
    }
    for name, (start, _) in dates.items():
        add_rep(engine, settings, name, "sdr", "East", start_date=start, email=f"{name}@x.test")
    add_rep(engine, settings, "Max", "manager", "East", email="max@x.test")
    add_rep(engine, settings, "Mia", "manager", "West", email="mia@x.test")
    for name, (_, end) in [*dates.items(), ("Mia", (None, dt.date(2026, 11, 30)))]:
        if end is not None:
            edit_rep(engine, settings, name, {"end_date": end})
    quick_user(engine, "max", "manager", "Max")
    quick_user(engine, "mia", "manager", "Mia")


def build_partial_peers(engine: Engine, settings: Settings) -> dict[str, int]:
    """East SDRs who were not all there all November (window "month" as of `AS_OF`, the
    18th: Nov 2-18, 13 business days), each unanswered call with an Ask, on each business
    day the rep was there:

    - Ana 10 calls a day (130); Ben 6 a day (78); Eve nothing at all, though there all along;
    - Lea left on Wednesday Nov 11 (`LEA_LAST_DAY`, 8 business days): 5 a day (40);
    - Dan started on Monday Nov 16 (3 business days): 4 a day (12);
    - Oli left on Friday Oct 30 after 100 calls that day; Zoe starts on Nov 23
      (`ZOE_FIRST_DAY`): neither worked a day of the window.
    Returns the reps' ids by name."""
    upgrade(engine)
    dates = {
        "Ana": (None, None),
        "Ben": (None, None),
        "Eve": (None, None),
        "Lea": (None, LEA_LAST_DAY),
        "Dan": (dt.date(2026, 11, 16), None),
        "Oli": (None, dt.date(2026, 10, 30)),
        "Zoe": (ZOE_FIRST_DAY, None),
    }
    ids = {
        n: add_rep(engine, settings, n, "sdr", "East", start_date=s) for n, (s, _) in dates.items()
    }
    for name, (_, end) in dates.items():
        if end is not None:
            edit_rep(engine, settings, name, {"end_date": end})
    daily = {"Ana": 10, "Ben": 6, "Lea": 5, "Dan": 4}
    rows: list[dict[str, Any]] = []
    for day in NOV_BUSINESS_DAYS_TO_18:
        date = dt.date(2026, 11, day)
        for name, n in daily.items():
            start, end = dates[name]
            if (start is None or date >= start) and (end is None or date <= end):
                rows += calls_on(ids[name], date, n, "no_answer")
    rows += calls_on(ids["Oli"], dt.date(2026, 10, 30), 100, "no_answer")
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
    return ids


def paced_on_connect_rate(settings: Settings) -> Settings:
    """The default settings with SDRs also paced on their connect rate (conversations per
    call): a ratio line, which a CRM with no call results cannot fill."""
    roles = [
        r.model_copy(update={"key_metrics": [*r.key_metrics, "connect_rate"]})
        if r.name == "sdr"
        else r
        for r in settings.roles
    ]
    return settings.model_copy(update={"roles": roles})


NOV_BUSINESS_DAYS_TO_18 = [2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 16, 17, 18]


def build_unrecorded_team(
    engine: Engine, settings: Settings, extra_anas: int = 0
) -> dict[str, int]:
    """A team whose CRM records no call results (as the Zoho export), November 2026 as of
    Wednesday the 18th (business day 13 of 19), every SDR (East) paced on conversations,
    meetings set and (with `paced_on_connect_rate`) the connect rate:

    - Ana: 3 unanswered calls with an Ask on each of the 13 business days (39), nothing else;
    - Ben: 2 unanswered calls with an Ask a day (26), and a meeting set by e-mail on each
      business day but the 18th (12; an e-mail is no conversation);
    - nobody has a connected call, ever: conversations are not recorded; meetings set are,
      by Ben only; nobody has sourced an opportunity (no target for it either).
    Targets for November: conversations 190 (Ana) and 95 (Ben), meetings set 19 each.
    `extra_anas`: as many more reps ("Ana 1", ...) with Ana's data and targets, for counting
    statements against the number of reps. Returns the reps' ids by name."""
    upgrade(engine)
    anas = ["Ana", *(f"Ana {i}" for i in range(1, extra_anas + 1))]
    ids = {name: add_rep(engine, settings, name, "sdr", team="East") for name in [*anas, "Ben"]}
    rows: list[dict[str, Any]] = []
    targets: list[TargetRow] = []
    for day in NOV_BUSINESS_DAYS_TO_18:
        date = dt.date(2026, 11, day)
        for name in anas:
            rows += calls_on(ids[name], date, 3, "no_answer")
        rows += calls_on(ids["Ben"], date, 2, "no_answer")
        if day != 18:
            rows += calls_on(ids["Ben"], date, 1, "meeting_set", kind="email")
    for name in anas:
        targets += [
            TargetRow(ids[name], "conversations", "month", NOV, 190),
            TargetRow(ids[name], "meetings_set", "month", NOV, 19),
        ]
    targets += [
        TargetRow(ids["Ben"], "conversations", "month", NOV, 95),
        TargetRow(ids["Ben"], "meetings_set", "month", NOV, 19),
    ]
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
        save_targets(conn, targets)
    return ids


# rep -> (calls, meeting-set calls among them), Nov 2-13 2026: the coaching team
COACHING_MIX = {
    "Ana": (200, 2),
    "Ben": (100, 0),
    "Cy": (200, 20),
    "Dee": (200, 20),
    "Eve": (200, 20),
}


def _coaching_rows(rep_id: int, calls: int, meetings: int) -> list[dict[str, Any]]:
    """`calls` calls over Nov 2-13: `meetings` set a meeting, a fifth connect, the rest not."""
    conversations = calls // 5 - meetings
    outcomes = ["meeting_set"] * meetings + ["conversation"] * conversations
    outcomes += ["no_answer"] * (calls - len(outcomes))
    days = [dt.date(2026, 11, d) for d in (2, 3, 4, 5, 6, 9, 10, 11, 12, 13)]
    return [
        {
            "rep_id": rep_id,
            "kind": "call",
            "occurred_at": dt.datetime.combine(days[i % len(days)], dt.time(16, 0)),
            "local_date": days[i % len(days)],
            "outcome": outcome,
            "has_ask": True,
            "engaged": outcome == "meeting_set",
            "source": "test",
        }
        for i, outcome in enumerate(outcomes)
    ]


CALLERS = ("Jay", "Kim", "Lou", "Max", "Ned")


def build_calls_without_results(engine: Engine, settings: Settings) -> dict[str, int]:
    """A CRM export shaped like Zoho's: calls have no result (never engaged), every meeting
    is an event recorded as held (engaged). Five AEs of East, on Nov 10 (window "30d" to
    Nov 18): Jay 300 calls and 3 meetings; Kim, Lou, Max and Ned 100 calls and 60 meetings
    each. Jay's 303 outreach attempts are 1.89x the peers' median of 160."""
    upgrade(engine)
    reps = {n: add_rep(engine, settings, n, "ae", team="East") for n in CALLERS}
    day = dt.date(2026, 11, 10)
    rows: list[dict[str, Any]] = []
    for name, calls, meetings in (("Jay", 300, 3), *((n, 100, 60) for n in CALLERS[1:])):
        rows += [activity_row(reps[name], day, outcome=None) for _ in range(calls)]
        rows += [
            activity_row(reps[name], day, kind="meeting", outcome="held", ask=False, engaged=True)
            for _ in range(meetings)
        ]
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
    return reps


def build_coaching_team(engine: Engine, settings: Settings) -> dict[str, int]:
    """Five East SDRs calling as COACHING_MIX says; the reps' ids by name."""
    upgrade(engine)
    ids = {name: add_rep(engine, settings, name, "sdr", team="East") for name in COACHING_MIX}
    rows = [row for name, (c, m) in COACHING_MIX.items() for row in _coaching_rows(ids[name], c, m)]
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
    return ids


# --- generated worlds with known rates (the forecast and the backtest) -----------------------


@dataclass(frozen=True)
class Truth:
    """The process deals follow: known stages, chances, stays, volume and sizes."""

    stages: tuple[str, ...] = ("prospect", "qualification", "proposal")
    advance: tuple[float, ...] = (0.7, 0.6, 0.5)  # a win is 0.7 x 0.6 x 0.5 = 21%
    stay_days: tuple[float, ...] = (6.0, 10.0, 8.0)  # means of exponential stays
    per_day: float = 3.0  # deals created per business day
    amount: float = 10_000.0  # median (log-normal, sigma 0.5)


@dataclass
class Draft:
    deal_id: int
    created: float  # days since the world's origin (UTC)
    amount: float
    entries: list[tuple[str, str, float]] = field(default_factory=list)  # stage, status, at
    stage: int = 0  # index of the stage it is in (when open)

    @property
    def status(self) -> str:
        return self.entries[-1][1]


@dataclass
class World:
    """Deals of one rep up to a cut-off (as the database holds them), and the truth."""

    truth: Truth
    settings: Settings
    origin: dt.datetime  # UTC instant of day 0
    cutoff: float  # days since the origin: the end of the as-of day
    as_of: dt.date
    deals: list[Draft]

    def moment(self, days: float) -> dt.datetime:
        return self.origin + dt.timedelta(days=days)

    def days(self, moment: dt.datetime) -> float:
        return (moment - self.origin).total_seconds() / 86_400


def business_days(settings: Settings, first: dt.date, end: dt.date) -> list[dt.date]:
    calendar = BusinessCalendar(settings.calendar)
    days = [first + dt.timedelta(days=k) for k in range((end - first).days)]
    return [d for d in days if calendar.is_business_day(d)]


def creation_times(
    rng: np.random.Generator, world_origin: dt.datetime, settings: Settings, days: list[dt.date],
    per_day: float,
) -> list[float]:  # fmt: skip
    """Deals created on business days, Poisson many a day, between 9:00 and 17:00 local."""
    times = []
    for day in days:
        start = utc_bounds(settings, day, day)[0]
        for _ in range(int(rng.poisson(per_day))):
            moment = start + dt.timedelta(hours=float(rng.uniform(9, 17)))
            times.append((moment - world_origin).total_seconds() / 86_400)
    return times


def walk(rng: np.random.Generator, truth: Truth, draft: Draft, until: float) -> None:
    """Move a deal through the stages from where it is, recording what happens before
    `until` (exponential stays: where it stands at `until` is all its future depends on)."""
    at = draft.entries[-1][2] if draft.entries else draft.created
    if not draft.entries:
        draft.entries.append((truth.stages[0], "open", at))
    while draft.status == "open":
        at += float(rng.exponential(truth.stay_days[draft.stage]))
        if at >= until:
            return
        if rng.random() >= truth.advance[draft.stage]:
            draft.entries.append(("closed_lost", "lost", at))
        elif draft.stage + 1 == len(truth.stages):
            draft.entries.append(("closed_won", "won", at))
        else:
            draft.stage += 1
            draft.entries.append((truth.stages[draft.stage], "open", at))


def make_world(
    settings: Settings, seed: int, as_of: dt.date, months: int = 12, first_id: int = 1
) -> World:
    truth = Truth()
    rng = np.random.default_rng(seed)
    first = dt.date(as_of.year - months // 12, as_of.month, 1) + dt.timedelta(days=1)
    origin = utc_bounds(settings, first, first)[0]
    cutoff = (day_end_utc(settings, as_of) - origin).total_seconds() / 86_400
    days = business_days(settings, first, as_of + dt.timedelta(days=1))
    deals = []
    for i, created in enumerate(creation_times(rng, origin, settings, days, truth.per_day)):
        amount = round(truth.amount * float(rng.lognormal(0, 0.5)), -1)
        draft = Draft(first_id + i, created, amount)
        walk(rng, truth, draft, cutoff)
        deals.append(draft)
    return World(truth, settings, origin, cutoff, as_of, deals)


def write_world(engine: Engine, world: World, rep: str = "Ana") -> int:
    """The world's deals (as known at its cut-off) for one AE of team East."""
    rep_id = add_rep(engine, world.settings, rep, "ae", team="East")
    deals, history = [], []
    for d in world.deals:
        stage, status, last = d.entries[-1]
        deals.append(
            {
                "id": d.deal_id,
                "rep_id": rep_id,
                "name": f"deal {d.deal_id}",
                "amount": Decimal(str(d.amount)),
                "stage": stage,
                "status": status,
                "created_at": world.moment(d.created),
                "closed_at": world.moment(last) if status != "open" else None,
                "source": "test",
                "external_id": str(d.deal_id),
            }
        )
        history += [
            {
                "deal_id": d.deal_id,
                "stage": s,
                "status": st,
                "amount": Decimal(str(d.amount)),
                "entered_at": world.moment(at),
            }
            for s, st, at in d.entries
        ]
    with engine.begin() as conn:
        conn.execute(insert(Deal), deals)
        conn.execute(insert(DealStageHistory), history)
    return rep_id


# --- CSV files and imports -------------------------------------------------------------------


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    """`text` written to `path`; the path."""
    path.write_text(text, encoding=encoding)
    return path


# A generic activities file of calls, for the import loop's tests (chunks, the second
# process, deferred indexes, PostgreSQL bulk loads).
CALLS_HEADER = "external_id,rep,kind,occurred_at,duration_min,outcome,has_ask,account,notes"
ACTIVITY_SECONDARY_INDEXES = frozenset(
    {
        "ix_activity_account",
        "ix_activity_deal",
        "ix_activity_occurred_id",
        "ix_activity_rep_day_kind",
    }
)


def call_rows(
    first: int, count: int, *, prefix: str = "c", account: Callable[[int], str] = lambda i: "Acme"
) -> list[str]:
    """Calls numbered `first`.. (ids `prefix` + number), Ana Ruiz and Ben Ode in turn, Nov 2-6
    2026, lasting their number of minutes, unanswered."""
    return [
        f"{prefix}{i},{'Ana Ruiz' if i % 2 else 'Ben Ode'},call,"
        f"2026-11-{2 + i % 5:02d}T10:{i:02d}:00,{i},no_answer,no,{account(i)},"
        for i in range(first, first + count)
    ]


def calls_file(path: Path, rows: Sequence[str]) -> Path:
    """`rows` under the generic header, written to `path`."""
    return write(path, "\n".join([CALLS_HEADER, *rows]) + "\n")


def fail_the_second_activity_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make an activities import write its first batch, then stop with "disk on fire" at
    the second: a load stopped by an error half way, on either database."""
    from paceline.ingest import writers
    from paceline.ingest.accounting import Batch

    real = writers.ActivityWriter.write_any
    written: list[int] = []

    def second_batch_fails(self: writers.ActivityWriter, conn: Connection, batch: Batch) -> None:
        if written:
            raise RuntimeError("disk on fire")
        written.append(len(batch))
        real(self, conn, batch)

    monkeypatch.setattr(writers.ActivityWriter, "write_any", second_batch_fails)


def leave_killed_activity_load(conn: Connection, pid: int) -> None:
    """What a load into an empty `activity` killed after its first batch leaves on either
    database: no secondary indexes, and its run still recorded as running (by `pid` on this
    host)."""
    from paceline.store.runs import this_host

    for name in sorted(ACTIVITY_SECONDARY_INDEXES):
        conn.execute(text(f"DROP INDEX {name}"))
    conn.execute(
        insert(ImportRun).values(
            entity="activities",
            source="csv",
            file_name="big.csv",
            status="running",
            host=this_host(),
            pid=pid,
        )
    )


def kill_a_load(url: str, pid: int) -> None:
    """`leave_killed_activity_load` on the database at `url`, in a transaction of its own (a
    test that then starts `paceline serve`, `init` or the scheduler sees it committed)."""
    from paceline.store.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            leave_killed_activity_load(conn, pid)
    finally:
        engine.dispose()


def import_counting_progress(
    engine: Engine, settings: Settings, path: Path, batch_size: int, calls: list[str]
) -> ImportResult:
    """An activities import in batches of `batch_size`, each progress call noted in `calls`."""
    options = ImportOptions(errors_path=path.with_suffix(".errors.csv"), batch_size=batch_size)
    return import_csv(
        engine,
        settings,
        path,
        "activities",
        options=options,
        progress=lambda done, total: calls.append("progress"),
    )


def cli_in(workdir: Path, *args: str) -> tuple[int, str]:
    """`paceline --db sqlite:///<workdir>/p.db ARGS` (exit code, output)."""
    from typer.testing import CliRunner

    from paceline.cli import app

    db = f"sqlite:///{workdir / 'p.db'}"
    result = CliRunner().invoke(app, ["--db", db, *args])
    return result.exit_code, result.output


# Five deals in a generic CSV, one with a misspelt stage ("Negotiaton").
PIPELINE = """external_id,name,rep,amount,stage,created_at,closed_at
p1,Acme renewal,Ana Ruiz,1000,Won,2026-03-02T10:00:00,2026-03-20T10:00:00
p2,Globex pilot,Ana Ruiz,2000,Won,2026-03-03T10:00:00,2026-03-21T10:00:00
p3,Initech,Ben Ode,500,Lost,2026-03-04T10:00:00,2026-03-22T10:00:00
p4,Umbrella,Ben Ode,700,Negotiaton,2026-03-05T10:00:00,
p5,Hooli,Ben Ode,900,negotiation,2026-03-06T10:00:00,
"""


# --- calendars (hand-written .ics) ------------------------------------------------------------
# Ana's Google export and an Outlook export, with the reps their e-mails name: every meeting
# they hold is worked out by hand in tests/test_faces_calendar_sheets.py's docstring, as of
# IMPORTED_AT (the import's moment). The CLI, the Import page and the browser import them.

IMPORTED_AT = "2026-11-07T12:00-05:00"  # the import's moment: Saturday noon in New York

REPS_CSV = """\
name,email,role,team
Ana Ruiz,ana@paceline.test,ae,East
Ben Okafor,Ben@Paceline.test,ae,East
"""

GOOGLE_ICS = """\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Google Inc//Google Calendar 70.9054//EN
METHOD:PUBLISH
X-WR-CALNAME:ana@paceline.test
X-WR-TIMEZONE:America/Los_Angeles
BEGIN:VEVENT
UID:acme-weekly@google.com
SUMMARY:Acme weekly
DTSTART;TZID=America/New_York:20261019T100000
DTEND;TZID=America/New_York:20261019T103000
RRULE:FREQ=WEEKLY;COUNT=5
EXDATE;TZID=America/New_York:20261026T100000
ORGANIZER;CN=Ana Ruiz:mailto:ana@paceline.test
ATTENDEE;CN=Bob;PARTSTAT=ACCEPTED:mailto:bob@acme.test
ATTENDEE;CN=Ana Ruiz;PARTSTAT=ACCEPTED:mailto:ana@paceline.test
END:VEVENT
BEGIN:VEVENT
UID:acme-weekly@google.com
RECURRENCE-ID;TZID=America/New_York:20261109T100000
STATUS:CANCELLED
SUMMARY:Acme weekly
DTSTART;TZID=America/New_York:20261109T100000
DTEND;TZID=America/New_York:20261109T103000
END:VEVENT
BEGIN:VEVENT
UID:standup@google.com
SUMMARY:Globex standup
DTSTART;TZID=America/New_York:20261028T080000
DTEND;TZID=America/New_York:20261028T081500
RRULE:FREQ=DAILY;COUNT=3
ORGANIZER:mailto:ana@paceline.test
ATTENDEE;PARTSTAT=ACCEPTED:mailto:hans@globex.test
END:VEVENT
BEGIN:VEVENT
UID:standup@google.com
RECURRENCE-ID;TZID=America/New_York:20261029T080000
STATUS:CANCELLED
SUMMARY:Globex standup
DTSTART;TZID=America/New_York:20261029T080000
DTEND;TZID=America/New_York:20261029T081500
ORGANIZER:mailto:ana@paceline.test
ATTENDEE;PARTSTAT=ACCEPTED:mailto:hans@globex.test
END:VEVENT
BEGIN:VEVENT
UID:offsite@google.com
SUMMARY:Offsite
DTSTART;VALUE=DATE:20261103
DTEND;VALUE=DATE:20261104
ORGANIZER:mailto:ana@paceline.test
ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@acme.test
END:VEVENT
BEGIN:VEVENT
UID:late-call@google.com
SUMMARY:Late call
DTSTART:20261104T003000Z
DTEND:20261104T013000Z
ORGANIZER:mailto:ana@paceline.test
ATTENDEE;PARTSTAT=ACCEPTED:mailto:peter@initech.test
END:VEVENT
BEGIN:VEVENT
UID:floating@google.com
SUMMARY:West coast dinner
DTSTART:20261105T223000
DTEND:20261105T233000
ORGANIZER:mailto:ana@paceline.test
ATTENDEE;PARTSTAT=ACCEPTED:mailto:peter@initech.test
END:VEVENT
BEGIN:VEVENT
UID:berlin@google.com
SUMMARY:Berlin night session
DTSTART;TZID=Europe/Berlin:20261024T230000
DTEND;TZID=Europe/Berlin:20261025T030000
ORGANIZER:mailto:ana@paceline.test
ATTENDEE;PARTSTAT=ACCEPTED:mailto:hans@globex.test
END:VEVENT
BEGIN:VEVENT
UID:halloween@google.com
SUMMARY:Halloween call
DTSTART;TZID=America/New_York:20261031T233000
DTEND;TZID=America/New_York:20261101T023000
ORGANIZER:mailto:ana@paceline.test
ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@acme.test
END:VEVENT
BEGIN:VEVENT
UID:sunday@google.com
SUMMARY:Sunday dinner
DTSTART;TZID=America/New_York:20261101T200000
DTEND;TZID=America/New_York:20261101T213000
ORGANIZER:mailto:ana@paceline.test
ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@acme.test
END:VEVENT
BEGIN:VEVENT
UID:declined@google.com
SUMMARY:Vendor pitch
DTSTART;TZID=America/New_York:20261028T150000
DTEND;TZID=America/New_York:20261028T160000
ORGANIZER:mailto:carol@vendor.test
ATTENDEE;PARTSTAT=DECLINED:mailto:ana@paceline.test
END:VEVENT
BEGIN:VEVENT
UID:cancelled@google.com
STATUS:CANCELLED
SUMMARY:Cancelled demo
DTSTART;TZID=America/New_York:20261029T150000
DTEND;TZID=America/New_York:20261029T160000
ORGANIZER:mailto:ana@paceline.test
ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@acme.test
END:VEVENT
BEGIN:VEVENT
UID:internal@google.com
SUMMARY:Pipeline review
DTSTART;TZID=America/New_York:20261030T090000
DTEND;TZID=America/New_York:20261030T100000
ORGANIZER:mailto:ana@paceline.test
ATTENDEE;PARTSTAT=ACCEPTED:mailto:ben@paceline.test
END:VEVENT
BEGIN:VEVENT
UID:focus@google.com
SUMMARY:Focus time
DTSTART;TZID=America/New_York:20261027T130000
DTEND;TZID=America/New_York:20261027T150000
ORGANIZER:mailto:ana@paceline.test
END:VEVENT
BEGIN:VEVENT
UID:ben-acme@google.com
SUMMARY:Acme with Ben
DTSTART;TZID=America/New_York:20261106T113000
DTEND;TZID=America/New_York:20261106T123000
ORGANIZER:mailto:frank@acme.test
ATTENDEE;PARTSTAT=ACCEPTED:mailto:BEN@paceline.test
ATTENDEE;PARTSTAT=DECLINED:mailto:ana@paceline.test
END:VEVENT
BEGIN:VEVENT
UID:running@google.com
SUMMARY:Still going
DTSTART;TZID=America/New_York:20261107T113000
DTEND;TZID=America/New_York:20261107T130000
ORGANIZER:mailto:ana@paceline.test
ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@acme.test
END:VEVENT
END:VCALENDAR
"""

OUTLOOK_ICS = """\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN
METHOD:PUBLISH
BEGIN:VEVENT
UID:strangers@outlook
SUMMARY:Strangers
DTSTART;TZID=Pacific Standard Time:20261102T090000
DTEND;TZID=Pacific Standard Time:20261102T100000
ORGANIZER:mailto:dave@unknown.test
ATTENDEE;PARTSTAT=ACCEPTED:mailto:eve@other.test
END:VEVENT
BEGIN:VEVENT
UID:ben-pst@outlook
SUMMARY:Ben in Pacific time
DTSTART;TZID=Pacific Standard Time:20261102T210000
DTEND;TZID=Pacific Standard Time:20261102T220000
ORGANIZER:mailto:ben@paceline.test
ATTENDEE;PARTSTAT=ACCEPTED:mailto:zed@acme.test
END:VEVENT
END:VCALENDAR
"""


# --- the Zoho CRM export ---------------------------------------------------------------------

ZOHO_MAPPINGS = REPO / "examples" / "mappings" / "zoho"
ZOHO_DATE = "%d %b, %Y %H:%M:%S"  # "15 Apr, 2021 00:02:00"
# file stem, entity, mapping stem: in the order the README gives
ZOHO_IMPORTS: tuple[tuple[str, Entity, str], ...] = (
    ("Users", "reps", "users"),
    ("Accounts", "accounts", "accounts"),
    ("Contacts", "contacts", "contacts"),
    ("Calls", "activities", "calls"),
    ("Events", "activities", "events"),
    ("Tasks", "activities", "tasks"),
    ("Potentials", "deals", "potentials"),
)


@dataclass(frozen=True)
class CsvRow:
    line: int  # line the row starts on; the header is line 1
    values: dict[str, str]

    def __getitem__(self, column: str) -> str:
        return self.values[column]


def read_export(stem: str, folder: Path = ZOHO_EXPORT) -> list[CsvRow]:
    """The rows of one file of the export, read with the csv module (not the importer)."""
    with (folder / f"{stem}.csv").open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows, last = [], reader.line_num
        for row in reader:
            start, last = last + 1, reader.line_num
            if row:
                rows.append(CsvRow(start, dict(zip(header, row, strict=True))))
        return rows


def money(text: str) -> Decimal:
    return Decimal(text.replace("$", "").replace(",", ""))


def zoho_time(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, ZOHO_DATE)


def zoho_utc_local_day(text: str, zone: str = "America/New_York") -> dt.date:
    """The local day of a call's or event's time: the export's times are UTC ("2021-04-15
    23:03:00"), counted in the default configuration's zone."""
    moment = dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
    return moment.astimezone(ZoneInfo(zone)).date()


def zoho_no_ask_days() -> list[tuple[str, dt.date]]:
    """(owner, local day) of every activity of a selling kind the export records no Ask on,
    read with the csv module: each event (a meeting: events.toml) and each task whose
    completed task (tasks.toml skips the others) whose subject tasks.toml maps to a selling
    kind other than a call (follow-ups, e-mails, a proposal; nobody records an Ask on them,
    where calls carry one), once per identity (tasks.toml's external id: owner, subject,
    created, due). Due dates are days: their date as written."""
    mapping = tomllib.loads((ZOHO_MAPPINGS / "tasks.toml").read_text(encoding="utf-8"))
    kinds = mapping["columns"]["kind"]["map"]
    found = [
        (row["Event Owner"], zoho_utc_local_day(row["Start DateTime"]))
        for row in read_export("Events")
    ]
    tasks = {
        (row["Task Owner"], row["Subject"], row["Created Time"], row["Due Date"])
        for row in read_export("Tasks")
        if row["Status"] == "Completed"
        and kinds.get(row["Subject"]) in ("follow_up", "email", "proposal")
    }
    found += [(owner, zoho_time(due).date()) for owner, _, _, due in tasks]
    return found


def run_import(
    engine: Engine,
    settings: Settings,
    stem: str,
    entity: Entity,
    mapping: str,
    out: Path,
    folder: Path = ZOHO_EXPORT,
    tag: str = "",
) -> ImportResult:
    """One file of the export imported with its mapping; every row accounted for, and every
    rejected row (only those) in the errors file."""
    errors = out / f"{stem}{tag}.errors.csv"
    result = import_csv(
        engine,
        settings,
        folder / f"{stem}.csv",
        entity,
        mapping=load_mapping(ZOHO_MAPPINGS / f"{mapping}.toml"),
        options=ImportOptions(errors_path=errors),
    )
    assert result.read == len(read_export(stem, folder)), stem
    assert result.accounted == result.read, stem
    check_errors_file(result, errors)
    return result


def check_errors_file(result: ImportResult, errors: Path) -> None:
    """Every rejected row, and only those, is in the errors CSV with a line and a reason."""
    if result.rejected == 0:
        assert result.errors_file is None
        assert not errors.exists()
        return
    rows = errors_file_rows(errors)
    assert len(rows) == result.rejected
    for row in rows:
        assert int(row["line"]) >= 2
        assert row["reason"].strip()


def errors_file_rows(errors: Path) -> list[dict[str, str]]:
    with errors.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _import_zoho(engine: Engine, settings: Settings, folder: Path) -> None:
    upgrade(engine)
    for stem, entity, mapping in ZOHO_IMPORTS:
        run_import(engine, settings, stem, entity, mapping, folder)


def shared_zoho(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> Path:
    """The whole Zoho export imported into SQLite with the example mappings (`ZOHO_IMPORTS`,
    each file's rows accounted for: `run_import`), once per test run: copy the file it
    returns (`sqlite_copy`), never open it. Three test files read the whole export and each
    imported it (about 1 CPU s idle, 3-4 under load)."""

    def build(folder: Path) -> None:
        engine = make_engine(f"sqlite:///{folder / 'zoho.db'}")
        _import_zoho(engine, settings, folder)
        sqlite_file_closed(engine)

    folder, _ = built_once(tmp_path_factory, f"zoho-{settings_key(settings)}", build)
    return folder / "zoho.db"


def shared_pg_zoho(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, settings: Settings
) -> str:
    """`shared_zoho` into a PostgreSQL template database, once per test run: its name (copy
    it with `pg_copy`). Skipped when no server answers."""
    request.getfixturevalue("pg_database")

    def build(folder: Path) -> str:
        name = run_database_name("tpl")
        with admin_connection() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        engine = make_engine(pg_url(name))
        _import_zoho(engine, settings, folder)
        engine.dispose()  # a template may have no open connections
        return name

    return built_once(tmp_path_factory, f"pg-zoho-{settings_key(settings)}", build)[1]


# --- the web organisation (a small demo with users and sessions) ----------------------------

WEB_PASSWORD = "correct-horse-battery"


@dataclass(frozen=True)
class Org:
    """The demo organisation's people the tests log in as or look at."""

    path: Path
    east_rep: str  # the `rep` user
    east_rep_id: int
    east_teammate_id: int
    east_manager: str  # the `manager` user
    west_rep_id: int
    west_rep: str
    sessions: dict[str, tuple[str, str]]  # user name -> (session cookie, CSRF token)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def demo_login(client: TestClient, username: str) -> str:
    """Be logged in as one of the web organisation's users; returns the session's CSRF token."""
    org: Org = client.app.state.test_org  # type: ignore[attr-defined]
    cookie, csrf = org.sessions[username]
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, cookie)
    return csrf


# --- built once per test run, copied by each fixture ----------------------------------------
# The demo organisation takes half a minute to build at full size. Every fixture that needs a
# given build (same seed, size, day and settings) gets it from one build per test run: the
# first xdist worker to ask builds it under a file lock in the run's shared temporary folder
# (the pytest-xdist pattern), the others wait for it, and each fixture then copies the SQLite
# file, so a test that writes changes only its own copy.


def _run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temporary folder of this test run that every xdist worker shares."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def built_once(
    tmp_path_factory: pytest.TempPathFactory, key: str, build: Callable[[Path], T]
) -> tuple[Path, T]:
    """`build(folder)` run once per test run, by whichever worker asks first; the folder it
    wrote into and what it returned (pickled). A build that fails is tried again by the next
    fixture that asks, and fails that one too."""
    root = _run_folder(tmp_path_factory) / "built-once"
    root.mkdir(exist_ok=True)
    folder, done = root / key, root / f"{key}.pickle"
    with FileLock(str(root / f"{key}.lock")):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            result = build(folder)
            partial = done.with_suffix(".partial")
            partial.write_bytes(pickle.dumps(result))
            partial.replace(done)
    return folder, pickle.loads(done.read_bytes())


def settings_key(settings: Settings) -> str:
    """A short fingerprint of the settings, part of a build's key."""
    return hashlib.sha256(settings.model_dump_json().encode()).hexdigest()[:10]


def sqlite_file_closed(engine: Engine) -> None:
    """Fold the write-ahead log into the file and close it, so a plain copy is complete."""
    with engine.begin() as conn:
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()


@dataclass(frozen=True)
class DemoBuild:
    """A demo organisation built once: its SQLite file (copy it, never open it) and truth."""

    path: Path
    summary: DemoSummary
    truth: dict[str, Any]


def shared_demo(
    tmp_path_factory: pytest.TempPathFactory,
    settings: Settings,
    *,
    seed: int = 7,
    reps: int = 30,
    months: int = 15,
    today: dt.date = DEMO_TODAY,
    now: dt.datetime | None = None,
) -> DemoBuild:
    """`build_demo` with these arguments into SQLite, once per test run."""
    cut = f"-{now.isoformat()}" if now else ""
    key = f"demo-s{seed}-r{reps}-m{months}-{today.isoformat()}{cut}-{settings_key(settings)}"

    def build(folder: Path) -> tuple[DemoSummary, dict[str, Any]]:
        engine = make_engine(f"sqlite:///{folder / 'demo.db'}")
        upgrade(engine)
        truth_path = folder / "truth.json"
        summary = build_demo(
            engine, settings, seed=seed, reps=reps, months=months, today=today, now=now,
            truth_path=truth_path,
        )  # fmt: skip
        sqlite_file_closed(engine)
        return summary, dict(json.loads(truth_path.read_text("utf-8")))

    folder, (summary, truth) = built_once(tmp_path_factory, key, build)
    return DemoBuild(folder / "demo.db", summary, truth)


def sqlite_copy(path: Path, folder: Path) -> Engine:
    """An engine on a private copy of the SQLite file at `path`, made in `folder`."""
    copy = folder / path.name
    shutil.copyfile(path, copy)
    return make_engine(f"sqlite:///{copy}")


# PostgreSQL: a build made once per test run into a template database, which each fixture
# copies with CREATE DATABASE ... TEMPLATE. The names of the run's databases, its lock, the
# copies made ahead and the drops are `run_databases`'.


def pg_url(database: str) -> str:
    return make_url(PG_ADMIN_URL).set(database=database).render_as_string(hide_password=False)


def shared_pg_demo(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    settings: Settings,
    *,
    seed: int,
    reps: int,
    months: int,
    today: dt.date,
    now: dt.datetime | None = None,
) -> tuple[str, DemoSummary, dict[str, Any]]:
    """`build_demo` with these arguments into a PostgreSQL template database, once per test
    run: (the template's name, the summary, the truth). Skipped when no server answers."""
    request.getfixturevalue("pg_database")
    cut = f"-{now.isoformat()}" if now else ""
    key = f"pg-demo-s{seed}-r{reps}-m{months}-{today.isoformat()}{cut}-{settings_key(settings)}"

    def build(folder: Path) -> tuple[str, DemoSummary, dict[str, Any]]:
        name = run_database_name("tpl")
        with admin_connection() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        engine = make_engine(pg_url(name))
        upgrade(engine)
        truth_path = folder / "truth.json"
        summary = build_demo(
            engine, settings, seed=seed, reps=reps, months=months, today=today, now=now,
            truth_path=truth_path,
        )  # fmt: skip
        engine.dispose()  # a template may have no open connections
        return name, summary, dict(json.loads(truth_path.read_text("utf-8")))

    return built_once(tmp_path_factory, key, build)[1]


# The tests' commits on their copies return before the server has flushed the write-ahead log
# to disk (`synchronous_commit` off, for the connections of the engine `pg_copy` makes, not
# the server's or another process's): a commit that waits for the flush took 4.8-5.0 ms on
# the shared machine, one that does not 0.5-0.6 ms (2026-12-07, 300 one-row commits each),
# and the tests on PostgreSQL commit thousands of times. What a test sees is the same: a
# commit is visible to every other connection at once either way; only a crash of the
# server itself could lose the last commits, and no test crashes it (they end backends, never
# the server, and every copy is thrown away after its test). The setting is a connection
# option (libpq's `options`): `CREATE DATABASE ... TEMPLATE` does not copy a database's own
# settings (`ALTER DATABASE ... SET`), so setting it on the template would not reach the
# copies. `pg_engine` keeps the server's setting for the tests about the server's behaviour
# (the import's batches that set it off themselves, and their end, which does not).
QUICK_COMMITS = {"options": "-c synchronous_commit=off"}


def pg_copy(template: str, *, ahead: bool = False, quick_commits: bool = True) -> Iterator[Engine]:
    """An engine on a fresh database copied from `template`, dropped afterwards (in the
    background). `ahead`: the next copies of `template` are made while this one is in use,
    for templates many tests copy (copies made ahead and never taken are dropped at the end).
    `quick_commits`: its connections commit without waiting for the disk (`QUICK_COMMITS`);
    False keeps the server's setting."""
    name = next_copy(template, ahead=ahead)
    engine = make_engine(pg_url(name), connect_args=QUICK_COMMITS if quick_commits else {})
    try:
        yield engine
    finally:
        engine.dispose()
        drop_soon(name)


# The CRM sync status (tests/web/test_sync_pages.py covers who may read it).
API_OPERATIONS.append(("GET", "/api/v1/syncs"))


# --- the working directory -------------------------------------------------------------------
# The CLI reads ./paceline.toml (and $PACELINE_CONFIG, $PACELINE_DB): a stray file in the folder
# pytest was started from, or a variable in the developer's shell, would change what the tests
# see. Every test starts in an empty folder of its own with those variables unset
# (`isolated_cwd` in tests/conftest.py); tests/test_suite_isolation.py proves it.

# The width the CLI's consoles print in every test (`pinned_terminal_width` in
# tests/conftest.py): what Paceline gives a pipe or a log (`paceline.terminal`), so the tests
# read what CI and a redirected command print. Wrapping never depends on the test's machine.
TERMINAL_WIDTH = 132

CWD_VARIABLES = ("PACELINE_CONFIG", "PACELINE_DB", "PACELINE_READ_DB", "PACELINE_REP")


def isolate_working_directory(monkeypatch: pytest.MonkeyPatch, parent: Path) -> Path:
    """Move into a new empty folder under `parent` and unset the variables that name a
    configuration or database, for the rest of the test; the folder."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="cwd-", dir=parent))
    monkeypatch.chdir(folder)
    for variable in CWD_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    return folder


def initialised_workdir(
    tmp_path_factory: pytest.TempPathFactory,
    workdir: Path,
    key: str,
    commands: Sequence[Sequence[str]] = (("init",),),
) -> Path:
    """`workdir` as `paceline COMMANDS` (run in order, in a folder of their own, through the
    CLI in-process) left theirs, for the price of copying files: the commands run once per test
    run (`built_once`, under `key`) and each test copies the folder they wrote, whose
    paceline.toml names its database by a relative path. `paceline init` migrates a new
    database, half a second of CPU that the tests which only need an initialised folder paid
    each; the tests of `init` itself run it."""
    import contextlib

    from typer.testing import CliRunner

    from paceline.cli import app

    def build(folder: Path) -> None:
        with contextlib.chdir(folder):
            for args in commands:
                result = CliRunner().invoke(app, list(args))
                assert result.exit_code == 0, (args, result.output)
        for wal in folder.glob("*.db"):  # fold a write-ahead log into the file to be copied
            with contextlib.closing(sqlite3.connect(wal)) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    folder, _ = built_once(tmp_path_factory, key, build)
    for source in folder.iterdir():
        if source.is_file() and not source.name.endswith(("-wal", "-shm")):
            shutil.copyfile(source, workdir / source.name)
    return workdir


def build_wins_entered_after_close(engine: Engine, settings: Settings) -> dict[str, int]:
    """A CRM migrated with its won deals re-entered after they closed (Salesforce's sample org:
    all 18 wins created on the migration day, closed months before). Cy's four wins of 1,000
    close on the 10th of February to May 2026 and were each created on the 2nd of the month
    after (23 to 20 days late); two deals are open in proposal: "Open" (500, created June 1)
    and "Open 2" (700, May 1). No win with a known sales cycle. The reps (`east_and_west`)."""
    reps = east_and_west(engine, settings)
    cy = reps["Cy"]
    for month in (2, 3, 4, 5):
        closed = at(month, 10)
        put_deal(engine, cy, f"Late {month}", 1000, at(month + 1, 2), status="won",
                 stage="closed_won", closed=closed, history=[("closed_won", closed)])  # fmt: skip
    for name, amount, created in (("Open", 500, at(6, 1)), ("Open 2", 700, at(5, 1))):
        put_deal(engine, cy, name, amount, created, stage="proposal",
                 history=[("proposal", created)])  # fmt: skip
    return reps


def build_records_begin_late(engine: Engine, settings: Settings, selling: bool) -> dict[str, int]:
    """East's reps (`east_and_west`), none with a start date. Ana's records begin on Monday
    2026-11-02: an admin task every business day to AS_OF (13 business days), no selling.
    With `selling`, Ben made one selling call on Thursday 2026-10-01 and nothing since;
    without, nobody in the organisation has ever recorded a selling activity. Cy has no
    record at all."""
    reps = east_and_west(engine, settings)
    calendar = BusinessCalendar(settings.calendar)
    days = [
        dt.date(2026, 11, 2) + dt.timedelta(days=i)
        for i in range((AS_OF - dt.date(2026, 11, 2)).days + 1)
    ]
    rows = [
        activity_row(reps["Ana"], day, kind="admin", outcome=None, ask=False)
        for day in days
        if calendar.is_business_day(day)
    ]
    if selling:
        rows.append(activity_row(reps["Ben"], dt.date(2026, 10, 1)))
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
    return reps


def build_meetings_of_unknown_ask(
    engine: Engine, settings: Settings, meeting_asks: bool
) -> dict[str, int]:
    """East's reps (`east_and_west`), no start dates. Ben made a selling call on Monday
    2026-11-02 (selling is recorded). Ana held a meeting, with no Ask recorded, on Monday
    16th and Tuesday 17th, and did nothing else. With `meeting_asks`, Cy recorded a meeting
    with an Ask on 2026-10-01: meetings do record Asks, and Ana's without one were not
    selling; without, nobody has ever recorded an Ask on a meeting (Zoho's events)."""
    reps = east_and_west(engine, settings)
    rows = [activity_row(reps["Ben"], dt.date(2026, 11, 2))]
    rows += [
        activity_row(reps["Ana"], day, kind="meeting", outcome="held", ask=False, engaged=True)
        for day in (dt.date(2026, 11, 16), dt.date(2026, 11, 17))
    ]
    if meeting_asks:
        rows.append(activity_row(reps["Cy"], dt.date(2026, 10, 1), kind="meeting"))
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
    return reps


def build_some_wins_entered_after_close(engine: Engine, settings: Settings) -> dict[str, int]:
    """`build_wins_entered_after_close` (Cy's four wins of 1,000, each entered after it
    closed; "Open" and "Open 2" in proposal) and two deals of known cycle: "Normal" (3,000,
    created March 1 2026, won March 20) and "Lost" (created March 1, lost April 1), both
    through proposal. Q2 2026 as of June 30 (history from 2025-07-01): the curves learn from
    Normal, Lost, Open and Open 2 (1 won); the four late wins are in none of them."""
    reps = build_wins_entered_after_close(engine, settings)
    cy = reps["Cy"]
    for name, amount, status, closed in (
        ("Normal", 3000, "won", at(3, 20)),
        ("Lost", 2000, "lost", at(4, 1)),
    ):
        stage = "closed_won" if status == "won" else "closed_lost"
        put_deal(engine, cy, name, amount, at(3, 1), status=status, stage=stage, closed=closed,
                 history=[("proposal", at(3, 1)), (stage, closed)])  # fmt: skip
    return reps


# The start of the history of a forecast as of 2026-06-30 (12 months: from 2025-07-01), as
# naive UTC: midnight in New York (EDT), where a close *date* of 2025-07-01 is stored.
HISTORY_START_2025_07_01 = dt.datetime(2025, 7, 1, 4)


def build_close_at_window_start(engine: Engine, settings: Settings) -> dict[str, int]:
    """Cy's deals (`east_and_west`), every one through proposal, for a forecast as of
    2026-06-30 (history from 2025-07-01, `HISTORY_START_2025_07_01`):

    - "Edge" (3,000): created 2025-06-01, won on 2025-07-01, the history's first day, its
      close stored at that day's midnight: the very instant the history starts;
    - "Normal" (2,000): created 2026-03-01, won 2026-03-20;
    - "Lost" (1,000): created 2026-02-01, lost 2026-04-01;
    - "Open" (500): created 2026-05-01, still in proposal.
    The history: 4 deals, 2 won (Edge and Normal)."""
    reps = east_and_west(engine, settings)
    cy = reps["Cy"]
    edge = HISTORY_START_2025_07_01
    deals = (
        ("Edge", 3000, at(6, 1, 2025), "won", edge),
        ("Normal", 2000, at(3, 1), "won", at(3, 20)),
        ("Lost", 1000, at(2, 1), "lost", at(4, 1)),
    )
    for name, amount, created, status, closed in deals:
        stage = "closed_won" if status == "won" else "closed_lost"
        put_deal(engine, cy, name, amount, created, status=status, stage=stage, closed=closed,
                 history=[("proposal", created), (stage, closed)])  # fmt: skip
    put_deal(engine, cy, "Open", 500, at(5, 1), stage="proposal",
             history=[("proposal", at(5, 1))])  # fmt: skip
    return reps


def build_deals_ending(engine: Engine, settings: Settings, last: dt.date) -> dict[str, int]:
    """Cy's deals (`east_and_west`): each month from January 2025 to the month of `last`, a
    deal of 1,000 created on the 1st and won on the 20th (through proposal), the last one
    won on `last` instead (at noon in New York): the deals' records end on `last`."""
    reps = east_and_west(engine, settings)
    cy = reps["Cy"]
    month = dt.date(2025, 1, 1)
    while month <= last:
        created = dt.datetime.combine(month, dt.time(17))
        won_on = (
            last if (month.year, month.month) == (last.year, last.month) else month.replace(day=20)
        )
        closed = dt.datetime.combine(won_on, dt.time(17))
        put_deal(engine, cy, f"Won {month:%Y-%m}", 1000, created, status="won",
                 stage="closed_won", closed=closed,
                 history=[("proposal", created), ("closed_won", closed)])  # fmt: skip
        month = shift_months(month, 1)
    return reps


def build_equation_part_window_peers(engine: Engine, settings: Settings) -> dict[str, int]:
    """East AEs for the revenue equation over November to the 18th (window "month" as of
    `AS_OF`: Nov 2-18, 13 business days). Each selling call (with an Ask, a conversation)
    names an account, each of a rep's prospects called twice, on days the rep was there;
    each rep won one deal of 1,000 on Nov 10 (Dan on Nov 17):

    - Ana 20 prospects (40 calls), Ben 12 (24), Cy 10 (20): there all along;
    - Lea, who left on Wednesday Nov 11 (`LEA_LAST_DAY`, 8 business days): 4 prospects (8);
    - Dan, who started on Monday Nov 16 (3 business days): 3 prospects (6).
    Wins per call: Ana 1/40, Ben 1/24, Cy 1/20, Lea 1/8, Dan 1/6."""
    upgrade(engine)
    dates = {
        "Ana": (None, None, 20),
        "Ben": (None, None, 12),
        "Cy": (None, None, 10),
        "Lea": (None, LEA_LAST_DAY, 4),
        "Dan": (dt.date(2026, 11, 16), None, 3),
    }
    ids = {
        n: add_rep(engine, settings, n, "ae", "East", start_date=s)
        for n, (s, _, _) in dates.items()
    }
    rows: list[dict[str, Any]] = []
    for name, (start, end, prospects) in dates.items():
        if end is not None:
            edit_rep(engine, settings, name, {"end_date": end})
        days = [
            dt.date(2026, 11, d)
            for d in NOV_BUSINESS_DAYS_TO_18
            if (start is None or dt.date(2026, 11, d) >= start)
            and (end is None or dt.date(2026, 11, d) <= end)
        ]
        for i, account_id in enumerate(accounts(engine, prospects, name)):
            for call in (2 * i, 2 * i + 1):
                row = calls_on(ids[name], days[call % len(days)], 1, "conversation")[0]
                rows.append({**row, "account_id": account_id})
        won = dt.datetime(2026, 11, 17 if name == "Dan" else 10, 17)
        put_deal(engine, ids[name], f"{name} won", 1000, won - dt.timedelta(days=5),
                 status="won", stage="closed_won", closed=won)  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
    return ids


def put_june_wins(engine: Engine, rep_id: int) -> None:
    """Ten deals of the rep in proposal from creation (June 1-10, 2026), each won two days
    later, at 30,000 and 10,000 in turn (sum 200,000, average 20,000): a history of wins
    whose sizes are all known."""
    for i in range(10):
        amount = 10_000 if i % 2 else 30_000
        created, closed = at(6, 1 + i), at(6, 3 + i)
        put_deal(engine, rep_id, f"won {i}", amount, created, status="won", stage="closed_won",
                 closed=closed, history=[("proposal", created, amount),
                 ("closed_won", closed, amount)])  # fmt: skip


def build_unknown_amount_wins(engine: Engine, settings: Settings) -> int:
    """Cy (AE, East; `east_and_west`), whose CRM left some amounts empty, as of Sunday
    2026-07-05 (times 17:00 UTC, noon in New York):

    - history: ten deals in proposal from creation (June 1-10), each won two days later, at
      10,000 and 30,000 in turn (sum 200,000);
    - won in July (each in proposal from June 29 to its win on July 2 or 3): "Paid" 5,000,
      "Pilot" a real 0, "Unknown win" with no amount: won so far 5,000, one win left out;
    - open in proposal since July 4: "X" with no amount, "Z" with a real 0, "W" at 7,000.

    Returns Cy's id."""
    cy = east_and_west(engine, settings)["Cy"]
    put_june_wins(engine, cy)
    for name, amount, won_on in (("Paid", 5_000, 2), ("Pilot", 0, 2), ("Unknown win", None, 3)):
        created, closed = at(6, 29), at(7, won_on)
        put_deal(engine, cy, name, amount, created, status="won", stage="closed_won",
                 closed=closed, history=[("proposal", created, amount),
                 ("closed_won", closed, amount)])  # fmt: skip
    for name, amount in (("X", None), ("Z", 0), ("W", 7_000)):
        put_deal(engine, cy, name, amount, at(7, 4), stage="proposal",
                 history=[("proposal", at(7, 4), amount)])  # fmt: skip
    return cy


def replay_july_from(engine: Engine, rep_id: int) -> None:
    """What a backtest of July 2026 as of August 1 needs on top of
    `build_unknown_amount_wins`: a deal won in March (the 90 days of history before a
    cut-off) and records reaching July 31 (`records_until`: July is a whole month of data).
    July's actual is then 5,000 (Paid and Pilot), with one win (Unknown win) left out."""
    records_until(engine, rep_id, dt.date(2026, 7, 31))
    march = [("proposal", at(3, 2)), ("closed_won", at(3, 5))]
    put_deal(engine, rep_id, "March", 10_000, at(3, 2), status="won", stage="closed_won",
             closed=at(3, 5), history=march)  # fmt: skip


def records_until(engine: Engine, rep_id: int, day: dt.date) -> int:
    """An open deal of 100 created at noon New York on `day`, in prospect: the deals' records
    reach `day`, so a backtest scores the periods that end by then (a period ending after
    the records is skipped as partial). Created after a backtest's cut-offs, no forecast
    sees it, and open, it adds nothing won."""
    created = dt.datetime.combine(day, dt.time(17))
    return put_deal(engine, rep_id, f"Records to {day}", 100, created, stage="prospect",
                    history=[("prospect", created)])  # fmt: skip


@contextmanager
def two_empty_databases(request: pytest.FixtureRequest, dialect: str) -> Iterator[list[Engine]]:
    """Two empty, migrated databases of one kind (`dialect`: sqlite or postgresql), for
    holding two ways of importing the same file to the same stored rows."""
    with contextlib.ExitStack() as stack:
        if dialect == "sqlite":
            factory = request.getfixturevalue("tmp_path_factory")
            engines = [migrated_sqlite_copy(factory, factory.mktemp("pair")) for _ in range(2)]
            for engine in engines:
                stack.callback(engine.dispose)
        else:
            engines = [
                stack.enter_context(contextmanager(postgres_engine)(request)) for _ in range(2)
            ]
        yield engines


def stored_import_tables(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row an activity import writes (activities, reps, accounts, contacts, rollup
    marks, matched keys), by id or key, without the moments it was written at."""
    wanted = {
        "activity": "id",
        "rep": "id",
        "account": "id",
        "contact": "id",
        "rollup_dirty": "rep_id, local_date",
        "import_seen": "run_id, external_id",
    }
    written_at = {"created_at", "updated_at"}
    found: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table, order in wanted.items():
            columns = [c.name for c in Base.metadata.tables[table].c if c.name not in written_at]
            sql = f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}"
            found[table] = [tuple(row) for row in conn.exec_driver_sql(sql)]
    return found


def build_migration_in_the_run_window(engine: Engine, settings: Settings) -> int:
    """Cy's deals for a forecast as of 2026-06-30 (history from 2025-07-01; the 90-day run
    rate's window from 2026-04-02, 63 business days: 21 in April from the 2nd, 20 in May
    (Memorial Day, the 25th, is a holiday of the default calendar), 22 in June), all with
    a stage history through proposal but the migrated:

    - "Won A" (4,000): created 2026-04-06, won 2026-05-06;
    - "Lost B" (2,000): created 2026-04-13, lost 2026-06-01;
    - "Open C" (500): created 2026-06-08, in proposal;
    - five deals closed on 2025-10-15 (three won at 1,000, two lost) and re-created on the
      migration day, 2026-05-04, with their final stage alone (as a CRM snapshot records a
      closed deal).

    No activity: the new deals come from the opportunity run rate. Returns Cy's id."""
    cy = east_and_west(engine, settings)["Cy"]
    for name, amount, created, status, closed in (
        ("Won A", 4000, at(4, 6), "won", at(5, 6)),
        ("Lost B", 2000, at(4, 13), "lost", at(6, 1)),
    ):
        stage = "closed_won" if status == "won" else "closed_lost"
        put_deal(engine, cy, name, amount, created, status=status, stage=stage, closed=closed,
                 history=[("proposal", created), (stage, closed)])  # fmt: skip
    put_deal(engine, cy, "Open C", 500, at(6, 8), history=[("proposal", at(6, 8))])
    closed = at(10, 15, 2025)
    for i, status in enumerate(("won", "won", "won", "lost", "lost")):
        stage = "closed_won" if status == "won" else "closed_lost"
        put_deal(engine, cy, f"Migrated {i}", 1000, at(5, 4), status=status, stage=stage,
                 closed=closed, history=[(stage, closed)])  # fmt: skip
    return cy


def build_migration_in_a_month(engine: Engine, settings: Settings) -> dict[str, int]:
    """November 2026 (New York on standard time: a close *date* is 05:00 UTC; times 17:00
    UTC unless said) for the deal metrics dated by creation. AEs Ana and Ben (East), SDR Sid
    sourcing every deal below:

    - Ana's real new deals: "New open" created Nov 3, open; "New won" created Nov 5, won
      Nov 20; "Same day" created Nov 16, won with the close date Nov 16 (midnight before the
      creation: less than a day, counted); "Just under" created Nov 18 17:00, lost at a time,
      Nov 17 17:00:00.000001 (a microsecond under a day, counted); "No date" created Nov 9, won
      with no close date (nothing says it closed before its creation, counted);
    - a migration on Nov 17 of closed deals, each created that day: Ana's "Old win" (won
      Nov 4, inside the month), "Old loss" (lost Aug 3) and "Older win" (won 2025-10-15);
      Ben's "Ben old 1" and "Ben old 2" (won Sep 1);
    - Ana's "Exactly a day": created Nov 18 17:00, lost at a time, Nov 17 17:00: a day to
      the microsecond, a late entry (the two are timed: a close *date* has two days of
      grace, `late_entry.entered_after_close`);
    - "October" (Ana's, created Oct 20, open): outside the month.

    Opportunities created in November, by hand: Ana 5 (New open, New won, Same day, Just
    under, No date), Ben 0; sourced: Sid 5. Read by creation alone (before 2026-12-07):
    Ana 9, Ben 2, Sid 11."""
    ids = east_and_west(engine, settings)
    ana, ben = ids["Ana"], ids["Ben"]
    sid = add_rep(engine, settings, "Sid", "sdr", team="East")

    def deal(rep: int, name: str, created: dt.datetime, status: str = "open",
             closed: dt.datetime | None = None) -> None:  # fmt: skip
        stage = {"won": "closed_won", "lost": "closed_lost"}.get(status)
        put_deal(engine, rep, name, 1_000, created, status=status, stage=stage, closed=closed,
                 sourced_by=sid)  # fmt: skip

    deal(ana, "New open", at(11, 3))
    deal(ana, "New won", at(11, 5), "won", at(11, 20))
    deal(ana, "Same day", at(11, 16), "won", at(11, 16, hour=5))
    deal(ana, "Just under", at(11, 18), "lost",
         dt.datetime(2026, 11, 17, 17, 0, 0, 1))  # fmt: skip
    deal(ana, "No date", at(11, 9), "won")
    deal(ana, "Old win", at(11, 17), "won", at(11, 4, hour=5))
    deal(ana, "Old loss", at(11, 17), "lost", at(8, 3, hour=4))
    deal(ana, "Older win", at(11, 17), "won", at(10, 15, 2025, hour=4))
    deal(ben, "Ben old 1", at(11, 17), "won", at(9, 1, hour=4))
    deal(ben, "Ben old 2", at(11, 17), "won", at(9, 1, hour=4))
    deal(ana, "Exactly a day", at(11, 18), "lost", at(11, 17))
    deal(ana, "October", at(10, 20))
    return {**ids, "Sid": sid}


def build_late_entries_in_flow_weeks(engine: Engine, settings: Settings) -> dict[str, int]:
    """Ana's deals for a pipeline flow as of Wednesday 2026-11-18, window "14d": ISO weeks
    W45 (Nov 2-8), W46 (Nov 9-15), W47 (Nov 16-18); New York on standard time, so a close
    *date* is 05:00 UTC and the weeks start at Monday 05:00 UTC. Times 17:00 UTC unless said.

    - "Won on time" (20,000): created Nov 3 (W45), won Nov 12 (W46);
    - "Open" (10,000): created Nov 10 (W46), open;
    - "Logged late" (7,000): won on Nov 6 (a date, W45), entered Nov 10 (W46): 4 days late;
    - a migration on Nov 17 (W47) of "Old win" (3,000, won Nov 4, W45), "Old loss" (1,000,
      closed_lost Nov 11, W46) and "Older win" (5,000, won Aug 3, before the window);
    - "Same day" (2,000): created Nov 16 (W47), won with the close date Nov 16: a same-day
      close (midnight before the creation's hour, less than a day), not a late entry;
    - "After as-of" (4,000): won Nov 12, entered Nov 20, after the as-of day.
    """
    ids = east_and_west(engine, settings)
    ana = ids["Ana"]

    def won(name: str, amount: float, created: dt.datetime, closed: dt.datetime) -> None:
        put_deal(engine, ana, name, amount, created, status="won", stage="closed_won",
                 closed=closed)  # fmt: skip

    won("Won on time", 20_000, at(11, 3), at(11, 12))
    put_deal(engine, ana, "Open", 10_000, at(11, 10))
    won("Logged late", 7_000, at(11, 10), at(11, 6, hour=5))
    won("Old win", 3_000, at(11, 17), at(11, 4, hour=5))
    put_deal(engine, ana, "Old loss", 1_000, at(11, 17), status="lost", stage="closed_lost",
             closed=at(11, 11, hour=5))  # fmt: skip
    won("Older win", 5_000, at(11, 17), at(8, 3, hour=4))
    won("Same day", 2_000, at(11, 16), at(11, 16, hour=5))
    won("After as-of", 4_000, at(11, 20), at(11, 12, hour=5))
    return ids


def build_win_entered_after_its_close(engine: Engine, settings: Settings) -> dict[str, int]:
    """Ana's (East, AE) November 2026 wins, for the "as of" rule of the deal metrics; New
    York on standard time, so a close *date* is 05:00 UTC and a local day ends at 05:00 UTC
    the next day:

    - "On time" (3,000, account Acme): created Monday Nov 2, won Monday Nov 9 (a date);
    - "Logged late" (5,000, account Globex): won Tuesday Nov 10 (a date), entered in the CRM
      on Friday Nov 20 at 17:00 UTC (noon in New York): unknown as of Nov 19, known as of
      Nov 20.

    Ana's November target is 20 deals won (so she is behind on it whatever is counted). Ben
    (East) and the others have no deal."""
    ids = east_and_west(engine, settings)
    ana = ids["Ana"]
    acme, globex = account(engine, "Acme"), account(engine, "Globex")
    put_deal(engine, ana, "On time", 3_000, at(11, 2), status="won", stage="closed_won",
             closed=at(11, 9, hour=5), account_id=acme)  # fmt: skip
    put_deal(engine, ana, "Logged late", 5_000, at(11, 20), status="won", stage="closed_won",
             closed=at(11, 10, hour=5), account_id=globex)  # fmt: skip
    with engine.begin() as conn:
        save_targets(conn, [TargetRow(ana, "deals_won", "month", NOV, 20)])
    return ids


def build_calls_before_a_win_entered_late(engine: Engine, settings: Settings) -> dict[str, int]:
    """`build_win_entered_after_its_close` and Ana's calls before the wins (17:00 UTC, noon
    in New York), for the readers of deals by account and by week:

    - Acme: Monday Nov 2, and Monday to Wednesday Nov 9-11 (3 calls that week); its win
      ("On time", Nov 9 05:00 UTC) comes 6.5 days after its first call;
    - Globex: Thursday Nov 5; its win ("Logged late", Nov 10 05:00 UTC, entered Nov 20) comes
      4.5 days after its first call.

    Ana's calls: 2 in the week of Nov 2 (no win), 3 in the week of Nov 9 (both wins, the
    second known only from Nov 20). Returns the reps' and the two accounts' ids by name."""
    ids = build_win_entered_after_its_close(engine, settings)
    with engine.connect() as conn:
        names = dict(conn.execute(select(Account.name, Account.id)).all())
    acme, globex = int(names["Acme"]), int(names["Globex"])
    for moment, place in (
        (at(11, 2), acme),
        (at(11, 5), globex),
        (at(11, 9), acme),
        (at(11, 10), acme),
        (at(11, 11), acme),
    ):
        put_activity(engine, ids["Ana"], moment, account_id=place)
    return ids | {"Acme": acme, "Globex": globex}


def build_deal_alerts_to_date(engine: Engine, settings: Settings) -> dict[str, int]:
    """Ben's and Cy's (East, AEs; targets 20 deals won in November 2026, 19 business days
    with Thanksgiving, so 20/19 a business day) wins, for dating deal alerts as of Friday
    Nov 20 (a close *date* is local midnight: 05:00 UTC in November, 04:00 in October):

    - Ben: two wins closed Monday Nov 2 (entered Oct 26) and one closed Tuesday Nov 3 but
      entered on Nov 25, after the as-of day. Known as of Nov 20: 2 wins, on pace (75% of
      20/19 a day) on Nov 2 and 3, behind from Wednesday Nov 4;
    - Cy: a win closed Tuesday Oct 20 (entered Oct 1) and one closed Wednesday Nov 4 but
      entered Nov 25. Known as of Nov 20: no November win, the last one on Oct 20.

    Ana, Dee and Max have no deal and no target. Returns the reps' ids by name."""
    ids = east_and_west(engine, settings)
    ben, cy = ids["Ben"], ids["Cy"]
    for name, rep, created, closed in (
        ("Ben one", ben, at(10, 26), at(11, 2, hour=5)),
        ("Ben two", ben, at(10, 26), at(11, 2, hour=5)),
        ("Ben late", ben, at(11, 25), at(11, 3, hour=5)),
        ("Cy October", cy, at(10, 1), at(10, 20, hour=4)),
        ("Cy late", cy, at(11, 25), at(11, 4, hour=5)),
    ):
        put_deal(engine, rep, name, 1_000, created, status="won", stage="closed_won",
                 closed=closed)  # fmt: skip
    with engine.begin() as conn:
        save_targets(
            conn,
            [TargetRow(r, "deals_won", "month", NOV, 20) for r in (ben, cy)],
        )
    return ids


def build_revenue_days(engine: Engine, settings: Settings) -> dict[str, int]:
    """Ana's (East) wins around November 2026, for the revenue read day by day
    (`metrics.deal_daily_values`, `last_deal_day`); created Oct 5 unless said, a close *date*
    at local midnight (05:00 UTC in November), other closes at the instant given:

    | deal             | amount    | closed (UTC)       | local day | as of Nov 20            |
    |------------------|-----------|--------------------|-----------|-------------------------|
    | Monday midnight  | 3,000.20  | Nov 2 05:00        | Mon Nov 2 | counted                 |
    | Monday noon      | 1,500.10  | Nov 2 17:00        | Mon Nov 2 | counted                 |
    | Logged late      | 7,000     | Nov 3 05:00        | Tue Nov 3 | entered Nov 25: unknown |
    | No amount        | -         | Nov 4 05:00        | Wed Nov 4 | adds nothing            |
    | Wednesday        | 2,000     | Nov 4 17:00        | Wed Nov 4 | counted                 |
    | No amount either | -         | Nov 6 17:00        | Fri Nov 6 | adds nothing            |
    | Rewon            | 10,000    | Nov 17 17:00       | Nov 17    | counted (once)          |
    | Reopened         | 4,000     | - (open)           | -         | not a win               |
    | Late night       | 800       | Nov 21 04:59       | Fri Nov 20| counted                 |
    | Halloween night  | 600       | Nov 1 03:30 (EDT)  | Oct 31    | before November         |

    "Rewon" was won on Nov 3, reopened into negotiation on Nov 10 and won again on Nov 17
    (its row: won, closed Nov 17); "Reopened" was won on Nov 5 and reopened into
    negotiation on Nov 12 (its row: open, no close date). Ben won 5,000 on Nov 2 (not
    Ana's). Returns the reps' ids by name (`east_and_west`)."""
    reps = east_and_west(engine, settings)
    ana = reps["Ana"]
    won = {"status": "won", "stage": "closed_won"}
    for name, amount, created, closed in (
        ("Monday midnight", 3_000.20, at(10, 5), at(11, 2, hour=5)),
        ("Monday noon", 1_500.10, at(10, 5), at(11, 2)),
        ("Logged late", 7_000, at(11, 25), at(11, 3, hour=5)),
        ("No amount", None, at(10, 5), at(11, 4, hour=5)),
        ("Wednesday", 2_000, at(10, 5), at(11, 4)),
        ("No amount either", None, at(10, 5), at(11, 6)),
        ("Late night", 800, at(10, 5), dt.datetime(2026, 11, 21, 4, 59)),
        ("Halloween night", 600, at(10, 5), dt.datetime(2026, 11, 1, 3, 30)),
    ):
        put_deal(engine, ana, name, amount, created, closed=closed, **won)
    put_deal(engine, ana, "Rewon", 10_000, at(10, 5), closed=at(11, 17), **won,
             history=[("proposal", at(10, 5)), ("closed_won", at(11, 3)),
                      ("negotiation", at(11, 10)), ("closed_won", at(11, 17))])  # fmt: skip
    put_deal(engine, ana, "Reopened", 4_000, at(10, 5),
             history=[("proposal", at(10, 5)), ("closed_won", at(11, 5)),
                      ("negotiation", at(11, 12))])  # fmt: skip
    put_deal(engine, reps["Ben"], "Ben's", 5_000, at(10, 5), closed=at(11, 2), **won)
    return reps


ACCOUNTS_CALLED = {
    "name": "accounts_called",
    "label": "Accounts called",
    "source": "activities",
    "aggregate": "distinct_count",
    "field": "account_id",
    "kinds": ["call"],
}


def paced_on_accounts_called(settings: Settings) -> Settings:
    """SDRs paced on calls and on accounts called (`ACCOUNTS_CALLED`: the distinct accounts
    of their calls), a distinct count among their key metrics."""
    roles = [
        {**role, "key_metrics": ["calls", "accounts_called"]} if role["name"] == "sdr" else role
        for role in settings.model_dump()["roles"]
    ]
    return variant(settings, [ACCOUNTS_CALLED], roles=roles)


def build_same_account_called(engine: Engine, settings: Settings) -> dict[str, int]:
    """SDRs Ana and Ben (East; targets 190 calls and 38 accounts called in November 2026, 19
    business days with Thanksgiving: 10 calls and 2 accounts a business day), for dating
    alerts on a distinct count as of Friday Nov 20 under `paced_on_accounts_called` (calls at
    noon New York time):

    - Ana: one call to Acme on Wednesday Oct 28. Ten calls a business day from Monday Nov 2
      to Friday Nov 13, then none: Nov 2 to Acme (4), Bolt (3) and Core (3); Nov 3 to Acme
      (5) and Dune (5); Nov 4-13 all ten to Acme. Her accounts called this month: 3 on Nov
      2, 4 from Nov 3 on (flat while she calls Acme a hundred times); her calls: 100;
    - Ben: two calls to Echo on Thursday Oct 29; ten calls a business day from Nov 2 to
      Nov 20 logged without an account (150, on pace, and no account called); a meeting
      at Echo on Thursday Nov 5 (not a call); a call to Echo on Saturday Nov 21, after the
      as-of day.

    Returns the reps' and accounts' ids by name."""
    ids = {
        "Ana": add_rep(engine, settings, "Ana", "sdr", team="East"),
        "Ben": add_rep(engine, settings, "Ben", "sdr", team="East"),
    }
    acme, bolt, core, dune, echo = accounts(engine, 5, "Account")
    ana, ben = ids["Ana"], ids["Ben"]
    calls = [(ana, dt.date(2026, 10, 28), acme)]
    calls += [(ana, dt.date(2026, 11, 2), a) for a in [acme] * 4 + [bolt] * 3 + [core] * 3]
    calls += [(ana, dt.date(2026, 11, 3), a) for a in [acme] * 5 + [dune] * 5]
    calls += [(ana, day, acme) for day in business_days(settings, dt.date(2026, 11, 4),
              dt.date(2026, 11, 14)) for _ in range(10)]  # fmt: skip
    calls += [(ben, dt.date(2026, 10, 29), echo)] * 2
    calls += [(ben, day, None) for day in business_days(settings, NOV, dt.date(2026, 11, 21))
              for _ in range(10)]  # fmt: skip
    calls += [(ben, dt.date(2026, 11, 21), echo)]
    rows = [activity_row(rep, day, account_id=a, outcome="conversation") for rep, day, a in calls]
    rows.append(activity_row(ben, dt.date(2026, 11, 5), kind="meeting", outcome="held",
                             account_id=echo))  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
        save_targets(
            conn,
            [
                TargetRow(rep, metric, "month", NOV, value)
                for rep in (ana, ben)
                for metric, value in (("calls", 190), ("accounts_called", 38))
            ],
        )
    names = ("Acme", "Bolt", "Core", "Dune", "Echo")
    return ids | dict(zip(names, (acme, bolt, core, dune, echo), strict=True))


def paced_on_accounts_a_quarter(settings: Settings) -> Settings:
    """SDRs paced on accounts called alone (`ACCOUNTS_CALLED`), alerted on over the quarter."""
    roles = [
        {**role, "key_metrics": ["accounts_called"]} if role["name"] == "sdr" else role
        for role in settings.model_dump()["roles"]
    ]
    alerts = {**settings.alerts.model_dump(), "period": "quarter"}
    return variant(settings, [ACCOUNTS_CALLED], roles=roles, alerts=alerts)


def build_no_account_called_this_quarter(engine: Engine, settings: Settings) -> int:
    """SDR Dee (East) under `paced_on_accounts_a_quarter`: a target of 40 accounts called in
    Q4 2026 (63 business days: October 22, November 19, December 22), none for Q3; calls to
    two accounts on Wednesday Sep 30, none since. Returns her id."""
    dee = add_rep(engine, settings, "Dee", "sdr", team="East")
    one, two = accounts(engine, 2, "Quarter account")
    sep_30 = dt.date(2026, 9, 30)
    rows = [activity_row(dee, sep_30, account_id=a, outcome="conversation") for a in (one, two)]
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
        save_targets(conn, [TargetRow(dee, "accounts_called", "quarter", dt.date(2026, 10, 1), 40)])
    return dee


SDR_KEY_METRICS = 'key_metrics = ["conversations", "meetings_set", "opportunities_sourced"]'


def accounts_called_config(folder: Path, settings: Settings) -> Path:
    """The built-in configuration with accounts called added and the SDRs paced on calls and
    accounts called, as a user writes it (`paced_on_accounts_called`), and the BDRs too
    when `settings` has them (`paced_on_accounts_with_a_new_role`); checked against them."""
    text = default_config_text()
    assert SDR_KEY_METRICS in text
    text = text.replace(SDR_KEY_METRICS, 'key_metrics = ["calls", "accounts_called"]')
    text += "\n[[metrics]]\n" + "".join(
        f"{key} = {json.dumps(value)}\n" for key, value in ACCOUNTS_CALLED.items()
    )
    if any(role.name == "bdr" for role in settings.roles):
        text += '\n[[roles]]\nname = "bdr"\nkey_metrics = ["accounts_called"]\n'
    path = folder / "paceline.toml"
    path.write_text(text, encoding="utf-8")
    written = load_settings(path)
    assert written.metric("accounts_called") == settings.metric("accounts_called")
    assert written.roles == settings.roles
    return path


def paced_on_accounts_with_a_new_role(settings: Settings) -> Settings:
    """`paced_on_accounts_called` (SDRs on calls and accounts called), and a new role, BDRs,
    paced on accounts called alone."""
    paced = paced_on_accounts_called(settings)
    roles = [*paced.model_dump()["roles"], {"name": "bdr", "key_metrics": ["accounts_called"]}]
    return variant(paced, roles=roles)


def build_book_callers(engine: Engine, settings: Settings) -> dict[str, int]:
    """Team East under `paced_on_accounts_with_a_new_role`, for pacing accounts called by
    their accrual curve in November 2026 (19 business days); August and September 2026
    have 21 business days, October 22. Calls at noon; the team's records begin on Friday
    Jul 31 (Ava calls an account of her book), so August to October are whole periods:

    - SDR Ava works a book of 20 accounts. In each of August, September and October she
      first calls 10 of them on the month's business day 1, 6 more on business day 6 and
      the last 4 on business day 11 (and calls the first again on business day 15): 50% of
      the month's accounts by day 1, 80% by day 6, all by day 11. Targets: 20 accounts and
      190 calls in November. In November she calls 10 of her book on Monday Nov 2, an 11th
      on Monday Nov 9 and a 12th on Monday Nov 16: she slows down, and ends at 12 of 20;
    - SDR Bea is a hunter: one new account each business day of August to October (64 in
      all), and of November to Wednesday Nov 11 (8); a target of 19 accounts;
    - SDR Cal starts on Monday Nov 2 (no history of his own): 10 accounts by Nov 11, two on
      each of his first five business days; a target of 20;
    - BDR Dot, of a role nobody had before (no history anywhere): 5 accounts by Nov 11,
      one on each of Nov 2-6; a target of 19.

    Returns the reps' ids by name."""
    ids = {
        "Ava": add_rep(engine, settings, "Ava", "sdr", team="East"),
        "Bea": add_rep(engine, settings, "Bea", "sdr", team="East"),
        "Cal": add_rep(
            engine, settings, "Cal", "sdr", team="East", start_date=dt.date(2026, 11, 2)
        ),
        "Dot": add_rep(engine, settings, "Dot", "bdr", team="East"),
    }
    book = accounts(engine, 20, "Book account")
    calls: list[tuple[int, dt.date, int]] = [(ids["Ava"], dt.date(2026, 7, 31), book[0])]
    months = [(dt.date(2026, m, 1), dt.date(2026, m + 1, 1)) for m in (8, 9, 10)]
    for first, end in months:
        days = business_days(settings, first, end)
        calls += [(ids["Ava"], days[0], a) for a in book[:10]]
        calls += [(ids["Ava"], days[5], a) for a in book[10:16]]
        calls += [(ids["Ava"], days[10], a) for a in book[16:]]
        calls.append((ids["Ava"], days[14], book[0]))
    nov = [dt.date(2026, 11, 2), dt.date(2026, 11, 9), dt.date(2026, 11, 16)]
    calls += [(ids["Ava"], nov[0], a) for a in book[:10]]
    calls += [(ids["Ava"], nov[1], book[10]), (ids["Ava"], nov[2], book[11])]
    hunted = [day for first, end in months for day in business_days(settings, first, end)]
    hunted += business_days(settings, NOV, dt.date(2026, 11, 12))
    leads = accounts(engine, len(hunted), "Lead")
    calls += [(ids["Bea"], day, lead) for day, lead in zip(hunted, leads, strict=True)]
    first_week = business_days(settings, NOV, dt.date(2026, 11, 7))
    for rep, per_day in (("Cal", 2), ("Dot", 1)):
        theirs = iter(accounts(engine, 5 * per_day, f"{rep}'s account"))
        calls += [(ids[rep], day, next(theirs)) for day in first_week for _ in range(per_day)]
    rows = [activity_row(rep, day, account_id=a, outcome="conversation") for rep, day, a in calls]
    targets = [("Ava", "accounts_called", 20), ("Ava", "calls", 190),
               ("Bea", "accounts_called", 19), ("Cal", "accounts_called", 20),
               ("Dot", "accounts_called", 19)]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
        save_targets(conn, [TargetRow(ids[r], m, "month", NOV, v) for r, m, v in targets])
    return ids


def build_accounts_called_month_by_month(engine: Engine, settings: Settings) -> int:
    """SDR Ana (East, no start date) under `paced_on_accounts_called`, for a demo's run-rate
    targets as of Wednesday 2026-11-18, whose recent stretch starts on Thursday Oct 29 (the
    trailing 15 business days): the run rate is read from Jul 29 to Oct 28, in month-long
    slices [Jul 29, Aug 29), [Aug 29, Sep 29) and [Sep 29, Oct 29). Calls at noon:

    - Tuesday Jul 28 (before the run rate's months), to Fig;
    - the first slice: Acme and Bolt on Jul 29, Acme again and Core on Friday Aug 28;
    - the second: Core on Monday Aug 31, Acme, Bolt, Dune and Echo on Sep 15, one call
      logged without an account;
    - the third: Acme on Oct 28.

    Accounts called each slice: 3, 5 and 1 (9 in all); over the three months at once, 5
    (Acme, Bolt, Core, Dune, Echo). Calls: 11 in the three months. Returns her id."""
    ana = add_rep(engine, settings, "Ana", "sdr", team="East")
    acme, bolt, core, dune, echo, fig = accounts(engine, 6, "Monthly account")
    called = [
        (dt.date(2026, 7, 28), fig),
        (dt.date(2026, 7, 29), acme),
        (dt.date(2026, 7, 29), bolt),
        (dt.date(2026, 8, 28), acme),
        (dt.date(2026, 8, 28), core),
        (dt.date(2026, 8, 31), core),
        *[(dt.date(2026, 9, 15), a) for a in (acme, bolt, dune, echo, None)],
        (dt.date(2026, 10, 28), acme),
    ]
    rows = [activity_row(ana, day, account_id=a, outcome="conversation") for day, a in called]
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
    return ana


def build_new_hire_accounts_called(engine: Engine, settings: Settings) -> dict[str, int]:
    """SDRs under `paced_on_accounts_called`, for a demo's run-rate targets as of Wednesday
    2026-11-18 (the run rate's month-long slices [Jul 29, Aug 29), [Aug 29, Sep 29) and
    [Sep 29, Oct 29): 23, 20 and 22 business days). Calls at noon:

    - Ana (no start date) works a book of 20 accounts: in each slice she first calls 10 of
      them on its business day 1, 6 more on business day 6 and the last 4 on business day
      16 (and the first again on day 16): 16 of 20 from day 6 to day 15;
    - Hal starts on Thursday Oct 15, the last 10 business days of the third slice: 6 new
      accounts on Oct 15, 6 more on Oct 16, and the first of them again on Oct 20: 12.

    Returns their ids by name."""
    ids = {
        "Ana": add_rep(engine, settings, "Ana", "sdr", team="East"),
        "Hal": add_rep(
            engine, settings, "Hal", "sdr", team="East", start_date=dt.date(2026, 10, 15)
        ),
    }
    book = accounts(engine, 20, "Book account")
    bounds = [
        dt.date(2026, 7, 29),
        dt.date(2026, 8, 29),
        dt.date(2026, 9, 29),
        dt.date(2026, 10, 29),
    ]
    calls: list[tuple[int, dt.date, int]] = []
    for first, end in itertools.pairwise(bounds):
        days = business_days(settings, first, end)
        calls += [(ids["Ana"], days[0], a) for a in book[:10]]
        calls += [(ids["Ana"], days[5], a) for a in book[10:16]]
        calls += [(ids["Ana"], days[15], a) for a in (*book[16:], book[0])]
    his = accounts(engine, 12, "Hal's account")
    calls += [(ids["Hal"], dt.date(2026, 10, 15), a) for a in his[:6]]
    calls += [(ids["Hal"], dt.date(2026, 10, 16), a) for a in his[6:]]
    calls.append((ids["Hal"], dt.date(2026, 10, 20), his[0]))
    rows = [activity_row(rep, day, account_id=a, outcome="conversation") for rep, day, a in calls]
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
    return ids


def build_win_entered_after_a_cutoff(engine: Engine, settings: Settings) -> int:
    """Cy's (East, AE) wins around a backtest's cut-off at the end of 2026-06-30 (the 90-day
    run rate's window from 2026-04-02):

    - "On time" (4,000): created 2026-04-06, won 2026-05-06;
    - "Logged late" (9,000): won 2026-05-20 (a date), entered in the CRM on 2026-07-10,
      after the cut-off.

    Returns Cy's id."""
    cy = east_and_west(engine, settings)["Cy"]
    put_deal(engine, cy, "On time", 4_000, at(4, 6), status="won", stage="closed_won",
             closed=at(5, 6))  # fmt: skip
    put_deal(engine, cy, "Logged late", 9_000, at(7, 10), status="won", stage="closed_won",
             closed=at(5, 20, hour=4))  # fmt: skip
    return cy


def build_north_recorded_from_mid_month(engine: Engine, settings: Settings) -> dict[str, int]:
    """`build_tracking_team` (East and West, recorded since October), and team North, whose
    records begin on Tuesday Nov 10 (its CRM import began then; nobody in North has a record
    before). November 2026 has 19 business days (Thanksgiving and the day after off); each
    SDR has a November target of 76 conversations (4 a business day):

    - Sam (SDR, North, no start date): 4 conversation calls every business day from Nov 10
      to Nov 18 (7 days: 28);
    - Kim (SDR, North, no start date): nothing recorded;
    - Lee (SDR, North, start date Thursday Nov 12, after North's records begin): 4
      conversation calls every business day from Nov 12 to Nov 18 (5 days: 20)."""
    ids = build_tracking_team(engine, settings)
    ids["Sam"] = add_rep(engine, settings, "Sam", "sdr", team="North")
    ids["Kim"] = add_rep(engine, settings, "Kim", "sdr", team="North")
    ids["Lee"] = add_rep(engine, settings, "Lee", "sdr", team="North",
                         start_date=dt.date(2026, 11, 12))  # fmt: skip
    rows: list[dict[str, Any]] = []
    for day in (10, 11, 12, 13, 16, 17, 18):
        rows += calls_on(ids["Sam"], dt.date(2026, 11, day), 4, "conversation")
        if day >= 12:
            rows += calls_on(ids["Lee"], dt.date(2026, 11, day), 4, "conversation")
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
        save_targets(
            conn,
            [
                TargetRow(ids[name], "conversations", "month", NOV, 76)
                for name in ("Sam", "Kim", "Lee")
            ],
        )
    return ids


def build_reopened_deals(engine: Engine, settings: Settings) -> dict[str, int]:
    """Ana's (East) deals closed and then reopened; times 17:00 UTC (1 pm in New York until
    Nov 1, noon after: a close *date* is not used, every step is an instant):

    - "Rewon" (10,000): qualification Oct 1, proposal Oct 20, closed_won Nov 3, reopened
      into negotiation Nov 10, closed_won again Nov 17 (its row: won, closed Nov 17);
    - "Lost, reopened" (5,000): qualification Oct 5, closed_lost Nov 4, reopened into
      qualification Nov 12, open (its row: open, no close date);
    - "Plain win" (2,000): qualification Oct 15, closed_won Nov 11 (nothing reopened).

    The reps (`east_and_west`)."""
    reps = east_and_west(engine, settings)
    ana = reps["Ana"]
    put_deal(engine, ana, "Rewon", 10_000, at(10, 1), status="won", closed=at(11, 17),
             history=[("qualification", at(10, 1)), ("proposal", at(10, 20)),
                      ("closed_won", at(11, 3)), ("negotiation", at(11, 10)),
                      ("closed_won", at(11, 17))])  # fmt: skip
    put_deal(engine, ana, "Lost, reopened", 5_000, at(10, 5),
             history=[("qualification", at(10, 5)), ("closed_lost", at(11, 4)),
                      ("qualification", at(11, 12))])  # fmt: skip
    put_deal(engine, ana, "Plain win", 2_000, at(10, 15), status="won", closed=at(11, 11),
             history=[("qualification", at(10, 15)), ("closed_won", at(11, 11))])  # fmt: skip
    return reps


class PipeReader:
    """A FIFO at `path`, read by a thread for as long as the test runs: a stand-in for a
    device or a pipe a user names as an output (`/dev/null`, `/dev/stdout` piped on), which
    must be written through and never replaced or removed. Its one descriptor holds both
    ends, so a writer never waits for the reader and closing the writer's end is no end of
    file: the file can be opened and closed several times, as a shell's pipe can."""

    def __init__(self, path: Path) -> None:
        os.mkfifo(path)
        self.path = path
        self._fd = os.open(path, os.O_RDWR)
        self._chunks: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while not self._stop.is_set():
            if fd_select.select([self._fd], [], [], 0.02)[0]:
                self._chunks.append(os.read(self._fd, 1 << 16))

    def is_pipe(self) -> bool:
        """Whether `path` is still the FIFO (not replaced by a regular file, not removed)."""
        return self.path.exists() and stat.S_ISFIFO(os.stat(self.path).st_mode)

    def received(self) -> bytes:
        """Everything written through the pipe so far; the reader stops."""
        self._stop.set()
        self._thread.join()
        while fd_select.select([self._fd], [], [], 0)[0]:
            self._chunks.append(os.read(self._fd, 1 << 16))
        os.close(self._fd)
        return b"".join(self._chunks)


# --- reading what a face shows (the cross-face tests on real files) ---------------------------


class _Tables(HTMLParser):
    """Every table of a page as rows of cell texts (scripts and styles left out); a table
    inside a cell (a report's pace bar) is a table of its own, its text not the cell's."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._open: list[tuple[list[list[str]], list[str] | None, list[str] | None]] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        elif tag == "table":
            self.tables.append([])
            self._open.append((self.tables[-1], None, None))
        elif tag == "tr" and self._open:
            table, _, _ = self._open[-1]
            table.append([])
            self._open[-1] = (table, table[-1], None)
        elif tag in ("td", "th") and self._open and self._open[-1][1] is not None:
            table, row, _ = self._open[-1]
            self._open[-1] = (table, row, [])

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden -= 1
        elif tag == "table" and self._open:
            self._open.pop()
        elif tag in ("td", "th") and self._open:
            table, row, cell = self._open[-1]
            if row is not None and cell is not None:
                row.append(re.sub(r"\s+", " ", " ".join(cell)).strip())
                self._open[-1] = (table, row, None)

    def handle_data(self, data: str) -> None:
        if self._open and self._open[-1][2] is not None and not self._hidden:
            self._open[-1][2].append(data)


def page_tables(text: str) -> list[list[list[str]]]:
    parser = _Tables()
    parser.feed(text)
    return parser.tables


def table_with(text: str, heading: str) -> dict[str, list[str]]:
    """The rows, by their first cell, of the page's first table whose header row has
    `heading`."""
    for table in page_tables(text):
        if table and heading in table[0]:
            return {row[0]: row for row in table[1:] if row}
    raise AssertionError(f"no table headed {heading!r}")


def page_text(text: str) -> str:
    text = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", text)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text)))


_SCALE = {"": 1, "k": 1_000, "M": 1_000_000}


def shows(cell: str, truth: float | Decimal, what: str = "") -> None:
    """`cell` (a page's "1,240", "789.2k", "1.20M", "57%") is `truth` to the precision it is
    printed with: half a unit of its last digit either way, and no more."""
    match = re.fullmatch(r"(-?[\d,]*\.?\d+)\s*([kM%]?)", cell.strip())
    assert match, f"{what}: {cell!r} is no number"
    digits, suffix = match.groups()
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    scale = 0.01 if suffix == "%" else _SCALE[suffix]
    value = float(digits.replace(",", "")) * scale
    half = 0.5 * 10**-decimals * scale
    assert abs(value - float(truth)) <= half + 1e-9, f"{what}: shows {cell!r}, truth {truth}"


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


@dataclass
class FacesOrg:
    """An organisation imported through the CLI into `folder`, read on every face: the CLI
    (run in the folder, against `db` when given, else the folder's configured database), the
    JSON API and the pages (as the admin `root`)."""

    folder: Path
    engine: Engine
    settings: Settings
    site: Site
    rep_ids: dict[str, int]
    db: str | None = None

    def invoke(self, *args: str) -> Any:
        """`paceline ARGS` in the organisation's folder, as the CLI's result."""
        from typer.testing import CliRunner

        from paceline.cli import app

        where = ["--db", self.db] if self.db else []
        with contextlib.chdir(self.folder):
            return CliRunner().invoke(app, [*where, *args])

    def cli(self, *args: str) -> Any:
        """`paceline ARGS --json` in the organisation's folder, as JSON."""
        result = self.invoke(*args, "--json")
        assert result.exit_code == 0, (args, result.output)
        return json.loads(result.output)

    def text(self, *args: str) -> list[list[str]]:
        """`paceline ARGS` as printed: the table rows, cells split on Rich's bars."""
        result = self.invoke(*args)
        assert result.exit_code == 0, (args, result.output)
        rows = [line.strip("│ ").split("│") for line in result.output.splitlines()]
        return [[c.strip() for c in r] for r in rows if len(r) > 2]

    def api(self, path: str, **params: str) -> Any:
        answer = self.site.api("root", path, **params)
        assert answer.status_code == 200, (path, answer.text)
        return answer.json()

    def page(self, path: str, **params: str) -> str:
        answer = self.site.page("root", path, **params)
        assert answer.status_code == 200, (path, answer.text[:500])
        return str(answer.text)


def cli_with_config(engine: Engine, config: Path, *args: str) -> tuple[int, str]:
    """`paceline --db <engine's url> --config CONFIG ARGS`: (exit code, output with its
    whitespace collapsed, so a check does not depend on where the terminal wraps)."""
    from typer.testing import CliRunner

    from paceline.cli import app

    url = engine.url.render_as_string(hide_password=False)
    shown = CliRunner().invoke(app, ["--db", url, "--config", str(config), *args])
    return shown.exit_code, " ".join(shown.output.split())


def run_cli_ok(*args: str) -> str:
    """`paceline ARGS` in the current folder, which must succeed: its printed output."""
    from typer.testing import CliRunner

    from paceline.cli import app

    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (args, result.output)
    return result.output


def east_forecast_totals(
    engine: Engine, settings: Settings, day: dt.date, runs: int, seed: int
) -> np.ndarray:
    """Team East's revenue in the quarter of `day` in each of the forecast's own simulated
    runs: the measured-zero tests read the distribution itself, not its summary."""
    from paceline.analytics.forecast import prepare, run_simulation
    from paceline.analytics.pipeline_history import forecast_scope

    period = BusinessCalendar(settings.calendar).period("quarter", day)
    with engine.connect() as conn:
        scope = forecast_scope(conn, "East", None)
        inputs = prepare(conn, settings, scope, day, period, use_plan=True)
    return run_simulation(inputs, runs, seed).totals


STALE_DEALS, STALE_AMOUNT = 20, 1000.0  # `stale_losses`: Cy's open deals and their amount


def stale_losses(
    engine: Engine,
    settings: Settings,
    closes: int,
    *,
    staged: bool = True,
    wins: int = 30,
    quick_losses: int = 0,
) -> dict[str, int]:
    """East, as of 2026-05-15: Ana's `wins` quick wins then her `quick_losses` quick losses (10
    days in negotiation, one a day from 2025-06-01, 5,000 each), Cy's `closes` losses 230
    days in negotiation (one a day from 2025-06-01, 1,000 each) and his 20 open deals of
    1,000 in negotiation since 2025-10-17 (210.5 days in at the cut-off): the measured-zero
    tests' stale deals (test_forecast_measured_zero_of_a_curve, test_forecast_from_prior).
    Returns the reps' ids.
    `staged` False: no stage history written (a CRM export of one row per deal), so every
    deal is read by its age, the same days from creation."""
    reps = east_and_west(engine, settings)
    for i in range(wins + quick_losses):
        created = at(6, 1, 2025) + dt.timedelta(days=i)
        closed = created + dt.timedelta(days=10)
        status = "won" if i < wins else "lost"
        path = [("negotiation", created), (f"closed_{status}", closed)] if staged else None
        put_deal(engine, reps["Ana"], f"Quick {i}", 5000, created, status=status,
                 stage=f"closed_{status}", closed=closed, history=path)  # fmt: skip
    for i in range(closes):
        created = at(6, 1, 2025) + dt.timedelta(days=i)
        lost = created + dt.timedelta(days=230)
        path = [("negotiation", created), ("closed_lost", lost)] if staged else None
        put_deal(engine, reps["Cy"], f"Lost {i}", 1000, created, status="lost",
                 stage="closed_lost", closed=lost, history=path)  # fmt: skip
    for i in range(STALE_DEALS):
        put_deal(engine, reps["Cy"], f"Stale {i}", STALE_AMOUNT, at(10, 17, 2025),
                 stage="negotiation",
                 history=[("negotiation", at(10, 17, 2025))] if staged else None)  # fmt: skip
    return reps


def wide_default_cli(
    engine: Engine, folder: Path, monkeypatch: Any, *command: str
) -> Callable[..., str]:
    """`paceline --db <engine's url> --config <the default configuration> COMMAND ARGS` on a
    400-column console, as a function of ARGS: its printed output (a table's rows stay on
    one line each, so a check can read a row whole)."""
    from typer.testing import CliRunner

    from paceline.cli import app
    from paceline.cli import out as cli_out

    monkeypatch.setattr(cli_out, "width", 400)
    config = folder / "paceline.toml"
    config.write_text(default_config_text(), encoding="utf-8")
    url = engine.url.render_as_string(hide_password=False)
    base = ["--db", url, "--config", str(config), *command]
    runner = CliRunner()
    return lambda *args: runner.invoke(app, [*base, *args]).output
