"""`paceline serve`, `paceline scheduler` and a server started from the application factory
(gunicorn, `uvicorn --factory`) after a bulk load was killed (SIGKILL) build the indexes it
left out, and say so; a load still running is left to build them.

A load into the empty activity table drops its secondary indexes and builds them at its end
(`store.loads`); killed before, it leaves the table without them and its run recorded as
running by a process that is gone (`factories.leave_killed_activity_load`). Every answer is
still right, only slow, so the long-running processes repair it at start-up rather than
leave it to the next import or `paceline init`. SQLite and PostgreSQL, each a database of
the test's own that the processes open by URL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import inspect

from factories import ACTIVITY_SECONDARY_INDEXES, free_port, kill_a_load
from paceline.store.engine import make_engine

pytestmark = [pytest.mark.faults, pytest.mark.slow]

SRC = Path(__file__).resolve().parents[2] / "src"
GONE_PID = 2**22 + 12345  # above Linux's pid_max (4,194,304): no process has it
# How long a process may take to start and answer: a guard against one that hangs, not an
# estimate (two loaded cores shared by several test runs).
PATIENCE_S = 600
BUILT = "built the indexes an interrupted import left out"


def _indexes(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return {str(index["name"]) for index in inspect(engine).get_indexes("activity")}
    finally:
        engine.dispose()


def _paceline(url: str, cwd: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "paceline.cli", "--db", url, *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(SRC), "COLUMNS": "500"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _serve_until_it_answers(url: str, cwd: Path) -> str:
    """Start `paceline serve`, wait for its first answer, stop it (SIGTERM): its output."""
    port = free_port()
    return _until_it_answers(_paceline(url, cwd, "serve", "--port", str(port)), port)


def _factory_until_it_answers(url: str, cwd: Path, workers: int) -> str:
    """Start the application as a deployment's own server does, from the factory and the
    environment (`uvicorn --factory`, no `paceline serve` before it), with `workers`
    processes started together; wait for an answer, stop it: its output."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "--port", str(port), "--workers",
         str(workers), "paceline.server:create_app_from_environment"],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(SRC), "PACELINE_DB": url},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )  # fmt: skip
    return _until_it_answers(process, port)


def _until_it_answers(process: subprocess.Popen[str], port: int) -> str:
    try:
        deadline = time.monotonic() + PATIENCE_S
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=5)
                break
            except httpx.TransportError:
                pass
            if process.poll() is not None:
                output = process.stdout.read() if process.stdout else ""
                raise AssertionError(f"serve ended ({process.returncode}): {output}")
            assert time.monotonic() < deadline, "serve did not answer"
            time.sleep(0.2)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=PATIENCE_S)
    return output


def test_serve_builds_the_indexes_a_killed_load_left_out(database_url: str, tmp_path: Path) -> None:
    kill_a_load(database_url, GONE_PID)
    assert not _indexes(database_url) & ACTIVITY_SECONDARY_INDEXES
    output = _serve_until_it_answers(database_url, tmp_path)
    assert _indexes(database_url) >= ACTIVITY_SECONDARY_INDEXES
    said = " ".join(output.split())
    assert f"serve: {BUILT}: {', '.join(sorted(ACTIVITY_SECONDARY_INDEXES))}" in said, output


def test_serve_leaves_the_indexes_to_a_load_still_running(
    database_url: str, tmp_path: Path
) -> None:
    kill_a_load(database_url, os.getpid())  # alive, on this host: a load under way
    output = _serve_until_it_answers(database_url, tmp_path)
    assert not _indexes(database_url) & ACTIVITY_SECONDARY_INDEXES
    assert BUILT not in output


def test_the_scheduler_alone_builds_them_too(database_url: str, tmp_path: Path) -> None:
    kill_a_load(database_url, GONE_PID)
    process = _paceline(database_url, tmp_path, "scheduler", "--once")
    output, _ = process.communicate(timeout=PATIENCE_S)
    assert process.returncode == 0, output
    assert _indexes(database_url) >= ACTIVITY_SECONDARY_INDEXES
    assert f"scheduler: {BUILT}" in " ".join(output.split()), output


def test_a_server_from_the_factory_builds_them_once_with_two_workers(
    database_url: str, tmp_path: Path
) -> None:
    """gunicorn or `uvicorn --factory` runs `create_app_from_environment` in each worker,
    with no `paceline serve` before it (which alone repaired). Two workers start at once:
    the indexes are built, and by one of them (the other waits for the lock, then finds
    them there)."""
    kill_a_load(database_url, GONE_PID)
    output = _factory_until_it_answers(database_url, tmp_path, workers=2)
    assert _indexes(database_url) >= ACTIVITY_SECONDARY_INDEXES
    said = " ".join(output.split())
    built = f"server: {BUILT}: {', '.join(sorted(ACTIVITY_SECONDARY_INDEXES))}"
    assert said.count(built) == 1, output


def test_a_server_from_the_factory_leaves_them_to_a_load_still_running(
    database_url: str, tmp_path: Path
) -> None:
    kill_a_load(database_url, os.getpid())  # alive, on this host: a load under way
    output = _factory_until_it_answers(database_url, tmp_path, workers=1)
    assert not _indexes(database_url) & ACTIVITY_SECONDARY_INDEXES
    assert BUILT not in output
