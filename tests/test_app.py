"""The application shell: API docs served without a CDN, errors in one shape."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from factories import migrated_sqlite_copy
from paceline.config import Settings
from paceline.server import create_app, create_app_from_environment
from paceline.store.loads import Completed


def test_api_docs_load_everything_from_this_server(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, settings: Settings
) -> None:
    engine = migrated_sqlite_copy(tmp_path_factory, tmp_path)
    client = TestClient(create_app(settings, engine))
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    links = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert links and all(link.startswith("/api/v1/") for link in links)
    for link in links:
        assert client.get(link).status_code == 200, link
    assert "http" not in page.text.replace("http-equiv", "")
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["info"]["title"] == "Paceline"


def test_first_match_routes_every_request_as_the_router_does(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, settings: Settings
) -> None:
    """`FirstMatch` remembers which route answers a method and path: every answer (status,
    headers, body) is the one the router gives without it, asked twice (the second time
    from memory), 404s, 405s and the redirect to the path with its slash included; and a
    remembered path is found by trying one route, not all those before it."""
    from starlette.routing import Match

    from paceline.server import FirstMatch

    engine = migrated_sqlite_copy(tmp_path_factory, tmp_path)
    app = create_app(settings, engine)
    first = app.router.routes[0]
    assert isinstance(first, FirstMatch)
    plain = create_app(settings, engine)
    plain.router.routes.remove(plain.router.routes[0])
    requests = [
        ("GET", "/api/v1/teams"),
        ("GET", "/api/v1/scorecard?rep=nobody"),
        ("GET", "/api/v1/users"),
        ("POST", "/api/v1/teams"),  # 405
        ("GET", "/api/v1/no-such-thing"),  # 404
        ("GET", "/api/v1/teams/"),  # redirect without the slash
        ("GET", "/api/v1/activities/12"),
        ("DELETE", "/api/v1/activities/12"),
        ("GET", "/api/v1/openapi.json"),
        ("GET", "/api/v1/docs"),
        ("GET", "/login?next=/teams"),  # a page (its form's token differs: compared apart)
        ("GET", "/"),
        ("GET", "/static/no-such-file.css"),
        ("GET", "/no-such-page"),
    ]

    def answers(client: TestClient) -> list[tuple[int, list[tuple[str, str]], bytes]]:
        got = []
        for method, path in requests * 2:
            answer = client.request(method, path, follow_redirects=False)
            headers = sorted((k, v) for k, v in answer.headers.items() if k != "set-cookie")
            body = answer.content if "/login" not in path else answer.content[:200]
            got.append((answer.status_code, headers, body))
        return got

    with TestClient(app) as served, TestClient(plain) as unchanged:
        assert answers(served) == answers(unchanged)
    assert ("GET", "", "/api/v1/teams") in first.found

    tried: list[object] = []
    for route in app.router.routes[1:]:
        real = route.matches

        def counted(scope: dict[str, object], real: object = real, route: object = route) -> object:
            tried.append(route)
            return real(scope)  # type: ignore[operator]

        route.matches = counted  # type: ignore[method-assign]
    scope = {"type": "http", "method": "GET", "path": "/api/v1/teams", "root_path": ""}
    assert first.matches(scope)[0] is Match.FULL
    assert len(tried) == 1


def test_a_worker_leaves_its_start_up_objects_out_of_full_collections(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve --workers N` builds each worker's application with `create_app_from_environment`,
    which then freezes what the process holds (`gc.freeze()`), so that the collector's full
    runs no longer stop the worker for 60-140 ms to scan the modules and routes."""
    import gc

    engine = migrated_sqlite_copy(tmp_path_factory, tmp_path)
    monkeypatch.setenv("PACELINE_DB", engine.url.render_as_string(hide_password=False))
    monkeypatch.chdir(tmp_path)  # no paceline.toml: the defaults
    gc.unfreeze()
    try:
        app = create_app_from_environment()
        assert gc.get_freeze_count() > 10_000  # the modules, the routes, the configuration
        assert app.state.paceline.engine.url == engine.url
    finally:
        gc.unfreeze()


def test_a_worker_starts_serving_when_the_database_is_too_busy_to_repair(
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A killed load left the activity indexes out, and another process holds SQLite's
    write lock past the busy timeout while a worker starts: the worker's start-up repair
    (`completing_interrupted_loads`) cannot lock, says so, and the worker serves anyway
    (its answers are right without the indexes); the indexes wait, not half-built. Once
    the lock is gone, the next worker to start builds them."""
    import sqlite3

    from sqlalchemy import inspect

    from factories import ACTIVITY_SECONDARY_INDEXES, leave_killed_activity_load
    from paceline.server import completing_interrupted_loads
    from paceline.store import engine as store_engine

    migrated_sqlite_copy(tmp_path_factory, tmp_path).dispose()
    monkeypatch.setattr(store_engine, "SQLITE_BUSY_TIMEOUT_MS", 100)
    engine = store_engine.make_engine(f"sqlite:///{tmp_path / 'paceline.db'}")
    with engine.begin() as conn:
        leave_killed_activity_load(conn, 2**22 + 12345)  # no process has that id

    def indexes() -> set[str]:
        return {str(index["name"]) for index in inspect(engine).get_indexes("activity")}

    holder = sqlite3.connect(tmp_path / "paceline.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        app = create_app(settings, engine, lifespan=completing_interrupted_loads)
        with caplog.at_level("WARNING", logger="paceline.server"), TestClient(app) as client:
            assert client.get("/api/v1/openapi.json").status_code == 200
        assert [r.getMessage() for r in caplog.records] == [
            "server: the database was too busy to check for an interrupted import's indexes; "
            "the next worker, import or `paceline init` builds any missing"
        ]
        assert not indexes() & ACTIVITY_SECONDARY_INDEXES
    finally:
        holder.rollback()
        holder.close()
    caplog.clear()
    app = create_app(settings, engine, lifespan=completing_interrupted_loads)
    with caplog.at_level("WARNING", logger="paceline.server"), TestClient(app):
        pass
    assert indexes() >= ACTIVITY_SECONDARY_INDEXES
    assert [r.getMessage() for r in caplog.records] == [
        "server: built the indexes an interrupted import left out: "
        + ", ".join(sorted(ACTIVITY_SECONDARY_INDEXES))
    ]


def test_a_worker_serves_while_it_builds_the_indexes_a_killed_load_left_out(
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """gunicorn kills a worker that has not started within `--timeout`, and a worker built
    the indexes a killed load left out before it started: on a large table the build
    outlasted the timeout, was rolled back with the killed worker, and began again in the
    next. Now the build runs beside the serving worker: held here until the worker has
    answered a request (before, the worker could not answer until the build was done), it
    then completes, and the worker's shutdown waits for it."""
    import threading

    from sqlalchemy import inspect

    from factories import ACTIVITY_SECONDARY_INDEXES, leave_killed_activity_load
    from paceline import server
    from paceline.store import engine as store_engine

    migrated_sqlite_copy(tmp_path_factory, tmp_path).dispose()
    engine = store_engine.make_engine(f"sqlite:///{tmp_path / 'paceline.db'}")
    with engine.begin() as conn:
        leave_killed_activity_load(conn, 2**22 + 12345)  # no process has that id
    answered, building = threading.Event(), threading.Event()
    complete = server.complete_interrupted_loads

    def held_build(engine: Engine) -> Completed:
        building.set()
        answered.wait(60)  # a guard: the worker answers in well under that
        return complete(engine)

    monkeypatch.setattr(server, "complete_interrupted_loads", held_build)
    app = create_app(settings, engine, lifespan=server.completing_interrupted_loads)

    def serve() -> None:
        with TestClient(app) as client:
            assert client.get("/api/v1/openapi.json").status_code == 200
            answered.set()

    worker = threading.Thread(target=serve)
    worker.start()
    assert building.wait(60)
    # The worker answers while the build is held: it did not before, the build being part
    # of its start.
    assert answered.wait(10), "the worker did not answer while the indexes were building"
    worker.join(60)
    assert not worker.is_alive()
    names = {str(index["name"]) for index in inspect(engine).get_indexes("activity")}
    assert names >= ACTIVITY_SECONDARY_INDEXES
