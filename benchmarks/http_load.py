"""HTTP load on the scorecard endpoint: requests/s and p50/p99 latency at a fixed concurrency.

The server is `paceline serve` (uvicorn, one process) on the demo organisation in SQLite,
on loopback; the clients are threads with keep-alive connections in a second process. Side
by side, the same load on a light endpoint (`/api/v1/teams`) is the baseline: what the HTTP
stack, authentication and JSON cost without an analysis. Client and server share the
machine's two cores, so the figures are a floor, not a ceiling.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "http_load.json"
WORK = Path(os.environ.get("PACELINE_BENCH_DIR", "/tmp")) / "paceline-bench-http"
AS_OF = dt.date(2026, 11, 18)
DEFAULT_CONCURRENCY = 8
DEFAULT_SECONDS = 15.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help=f"http_load: concurrent clients (default {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=DEFAULT_SECONDS,
        help=f"http_load: measured seconds per endpoint (default {DEFAULT_SECONDS:g})",
    )


def run(args: argparse.Namespace) -> int:
    database = _demo_database()
    token = _admin_token(database)
    reps = _rep_names(database)
    with _server(database) as base:
        cases = {
            "scorecard": [f"{base}/api/v1/scorecard?rep={name}&as_of={AS_OF}" for name in reps],
            "baseline: teams": [f"{base}/api/v1/teams"],
        }
        figures = {
            name: _load(urls, token, args.concurrency, args.seconds) for name, urls in cases.items()
        }
    result = {
        "benchmark": "http_load",
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "concurrency": args.concurrency,
        "seconds": args.seconds,
        "reps": len(reps),
        "cases": figures,
    }
    print(_report(result))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"Figures written to {RESULTS}")
    return 1 if any(f["errors"] for f in figures.values()) else 0


def _paceline(database: Path, *args: str) -> str:
    command = [sys.executable, "-m", "paceline.cli", "--db", f"sqlite:///{database}", *args]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(args)} failed: {done.stderr or done.stdout}")
    return done.stdout


def _demo_database() -> Path:
    """The default demo organisation (30 reps, 15 months), built once and reused while its
    schema is current."""
    WORK.mkdir(parents=True, exist_ok=True)
    database = WORK / "demo.db"
    if database.exists() and not _is_current(database):
        for stale in WORK.glob("demo.*"):
            stale.unlink()
    if not database.exists():
        print("building the demo organisation...", flush=True)
        _paceline(database, "demo", "--today", AS_OF.isoformat(), "--json")
    return database


def _is_current(database: Path) -> bool:
    from paceline.store.engine import make_engine
    from paceline.store.migrate import is_up_to_date

    engine = make_engine(f"sqlite:///{database}")
    try:
        return is_up_to_date(engine)
    finally:
        engine.dispose()


def _admin_token(database: Path) -> str:
    made = json.loads(_paceline(database, "token", "create", "admin", "--name", "bench", "--json"))
    return str(made["token"])


def _rep_names(database: Path) -> list[str]:
    listed = json.loads(_paceline(database, "rep", "list", "--json"))
    return [r["name"] for r in listed if r["role"] != "manager"]


@contextlib.contextmanager
def _server(database: Path) -> Iterator[str]:
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "paceline.cli",
        "--db",
        f"sqlite:///{database}",
        "serve",
        "--port",
        str(port),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"the server exited: {process.stderr.read() if process.stderr else ''}"
            )
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(f"{base}/api/v1/openapi.json", timeout=1)
            return
        time.sleep(0.2)
    raise RuntimeError("the server did not start within 30 s")


def _load(urls: list[str], token: str, concurrency: int, seconds: float) -> dict[str, Any]:
    """Each client loops over the URLs until time is up; one warm-up second is not counted."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = time.perf_counter() + 1.0
    stop = start + seconds

    def client(offset: int) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(headers=headers, timeout=30) as http:
            i = offset
            while (now := time.perf_counter()) < stop:
                response = http.get(urls[i % len(urls)])
                took = time.perf_counter() - now
                i += 1
                if now < start:
                    continue
                with lock:
                    if response.status_code == 200:
                        latencies.append(took)
                    else:
                        errors.append(f"{response.status_code}: {response.text[:200]}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    return {
        "requests": len(latencies),
        "requests_per_s": len(latencies) / seconds,
        "p50_ms": _percentile(latencies, 0.50) * 1000,
        "p99_ms": _percentile(latencies, 0.99) * 1000,
        "mean_ms": statistics.fmean(latencies) * 1000 if latencies else 0.0,
        "errors": len(errors),
        "first_errors": errors[:3],
    }


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    return values[min(len(values) - 1, int(share * len(values)))]


def _report(result: dict[str, Any]) -> str:
    lines = [
        f"HTTP load: {result['concurrency']} concurrent clients, {result['seconds']:g} s per "
        f"endpoint, demo organisation ({result['reps']} reps), SQLite, loopback",
        f"{'endpoint':<18}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>8}",
    ]
    for name, f in result["cases"].items():
        lines.append(
            f"{name:<18}{f['requests_per_s']:>10,.0f}{f['p50_ms']:>10.1f}"
            f"{f['p99_ms']:>10.1f}{f['errors']:>8}"
        )
    base = result["cases"]["baseline: teams"]["requests_per_s"]
    card = result["cases"]["scorecard"]["requests_per_s"]
    if base:
        lines.append(f"scorecard throughput is {card / base:.0%} of the light endpoint's")
    return "\n".join(lines)
