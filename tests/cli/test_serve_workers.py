"""`paceline serve --workers 2`: worker processes that each find the database and answer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from factories import free_port
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade

SERVE = [sys.executable, "-m", "paceline.cli"]


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return [int(p) for p in found.stdout.split()]


@pytest.mark.slow
def test_serve_with_two_workers_answers_from_both(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'served.db'}"
    upgrade(make_engine(url))
    port = free_port()
    server = subprocess.Popen(
        [*SERVE, "--db", url, "serve", "--workers", "2", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PACELINE_DB": ""},  # the workers must get the URL from serve
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 90
        answer = None
        while time.monotonic() < deadline:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/login", timeout=5)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                time.sleep(0.05)  # not yet listening: look again soon
        assert answer is not None and answer.status_code == 200
        assert len(_children(server.pid)) >= 2  # the supervisor's two workers
        for _ in range(20):  # every worker reads the same database
            # a worker's first answer builds the API description: patient on a loaded machine
            page = httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=60)
            assert page.status_code == 200
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def test_serve_with_one_worker_freezes_what_it_loaded_before_serving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As each worker of `--workers N` does (tests/test_app.py): the start-up objects are out
    of the collector's full runs before the first request."""
    import gc

    import uvicorn
    from typer.testing import CliRunner

    from paceline.cli import app as cli_app

    url = f"sqlite:///{tmp_path / 'served.db'}"
    upgrade(make_engine(url))
    frozen: list[int] = []
    monkeypatch.setattr(uvicorn, "run", lambda *_a, **_k: frozen.append(gc.get_freeze_count()))
    monkeypatch.chdir(tmp_path)
    gc.unfreeze()
    try:
        done = CliRunner().invoke(cli_app, ["--db", url, "serve"])
    finally:
        gc.unfreeze()
    assert done.exit_code == 0, done.output
    assert len(frozen) == 1 and frozen[0] > 10_000
