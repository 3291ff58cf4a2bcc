"""HTTP load: req/s, p50/p99 latency and errors for a list, an analysis and a write endpoint at
16 and 64 concurrent clients, on SQLite and PostgreSQL, with every write accounted for.

The server is `paceline serve --workers 2` on the demo organisation (480k activities), on
loopback only; the clients are threads with keep-alive connections in this process. The
cases, each run at every client count:

- `list`: `GET /api/v1/activities?limit=100`, the unfiltered newest page (the request that
  took 1.1 s on the demo and failed with 500s at 64 clients before keyset paging);
- `scorecard`: `GET /api/v1/scorecard?rep=...&as_of=...`, one analysis per request;
- `light`: `GET /api/v1/teams`, three teams with their head counts: what any request pays
  besides its own work (routing, the token's check, one small query, the JSON);
- `write`: `POST /api/v1/activities`, one activity each, with an `external_id` of its own. A
  write is *acknowledged* when answered 201; afterwards the stored rows with this run's
  external ids are read back from the database: `lost` counts acknowledged writes that are
  not stored (must be 0), `unacked` stored writes whose answer was an error or a timeout.

Errors are every answer other than 200/201 and every client-side failure (a timeout after
60 s, a dropped connection); a healthy run has none. Each case runs on a freshly started
server, so the backlog of a slow case does not spill into the next. Client and server
share the machine's cores, so the figures are a floor.

`--server-src DIR` serves (and builds the demo) from another checkout's `src`, to measure the
code before a change on the same machine: run it first, then this checkout (its `paceline
init` upgrades the same demo database), then `--compare FILE` prints the two side by side.
See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
WORK = Path(os.environ.get("PACELINE_BENCH_DIR", "/tmp")) / "paceline-bench-http"
# The PostgreSQL server, as the other benchmarks take it; the demo goes in its own database.
PG_SERVER = os.environ.get("PACELINE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
PG_DATABASE = "paceline_bench_http"
AS_OF = dt.date(2026, 11, 18)
CASES = ("list", "scorecard", "light", "write")
DEFAULT_CLIENTS = "16,64"
DEFAULT_SECONDS = 6.0
WARM_UP_S = 1.0
CLIENT_TIMEOUT_S = 60.0
DB_CPU = "db_cpu_ms_per_request"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--clients",
        default=DEFAULT_CLIENTS,
        help=f"http_load: concurrent clients, comma-separated (default {DEFAULT_CLIENTS})",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=DEFAULT_SECONDS,
        help=f"http_load: measured seconds per case (default {DEFAULT_SECONDS:g})",
    )
    parser.add_argument(
        "--databases",
        default="sqlite,postgresql",
        help="http_load: sqlite, postgresql or both (default both)",
    )
    parser.add_argument(
        "--pg-database",
        default=PG_DATABASE,
        help=f"http_load: the PostgreSQL database on $PACELINE_BENCH_PG (default {PG_DATABASE})",
    )
    parser.add_argument(
        "--cases",
        default=",".join(CASES),
        help=f"http_load: which cases, comma-separated (default {','.join(CASES)})",
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="http_load: server worker processes (default 2)"
    )
    parser.add_argument(
        "--server-src",
        type=Path,
        default=None,
        help="http_load: serve from this checkout's src/ (e.g. main before a change)",
    )
    parser.add_argument(
        "--label", default="current", help="http_load: name of this run in the results file"
    )
    parser.add_argument(
        "--compare",
        type=Path,
        default=None,
        help="http_load: a previous run's results file, printed side by side with this run",
    )


def run(args: argparse.Namespace) -> int:
    clients = [int(n) for n in args.clients.split(",")]
    server = Server(args.server_src, args.workers)
    result: dict[str, Any] = {
        "benchmark": "http_load",
        "label": args.label,
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "server_src": str(args.server_src or "this checkout"),
        "workers": args.workers,
        "server_stack": server.stack(),
        "seconds": args.seconds,
        "databases": {},
    }
    for database in args.databases.split(","):
        url = _prepare(server, database.strip(), args.pg_database)
        cases = [c.strip() for c in args.cases.split(",")]
        result["databases"][database] = _measure(server, url, cases, clients, args.seconds)
    print(_report(result))
    if args.compare is not None:
        print()
        print(_side_by_side(json.loads(args.compare.read_text("utf-8")), result))
    RESULTS.mkdir(parents=True, exist_ok=True)
    written = RESULTS / f"http_load-{args.label}.json"
    written.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"Figures written to {written}")
    failed = [
        (db, case["name"], case["clients"])
        for db, cases in result["databases"].items()
        for case in cases
        if case["errors"] or case.get("lost")
    ]
    return 1 if failed else 0


# --- the server and its database ---------------------------------------------------------------


class Server:
    """How to run `paceline` commands: with this checkout's code or another's `src`."""

    def __init__(self, src: Path | None, workers: int) -> None:
        self.env = dict(os.environ)
        # This checkout's src unless told otherwise: an interpreter with Paceline installed
        # elsewhere (an editable install of another worktree) would otherwise serve that.
        self.env["PYTHONPATH"] = str((src or HERE.parent / "src").resolve())
        self.env["PACELINE_TODAY"] = AS_OF.isoformat()
        self.workers = workers

    def stack(self) -> str:
        """uvicorn's HTTP parser and event loop as the server will pick them ("auto"): httptools
        and uvloop when the serving interpreter can import them, h11 and asyncio otherwise."""
        probe = (
            "import importlib.util as u; "
            "print('httptools' if u.find_spec('httptools') else 'h11', "
            "'uvloop' if u.find_spec('uvloop') else 'asyncio')"
        )
        done = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, env=self.env, check=True
        )
        return "+".join(done.stdout.split())

    def command(self, url: str, *args: str) -> list[str]:
        return [sys.executable, "-m", "paceline.cli", "--db", url, *args]

    def paceline(self, url: str, *args: str) -> str:
        WORK.mkdir(parents=True, exist_ok=True)  # `init` writes paceline.toml in its folder
        done = subprocess.run(
            self.command(url, *args), capture_output=True, text=True, env=self.env, cwd=WORK
        )
        if done.returncode:
            raise RuntimeError(f"{' '.join(args)} failed: {done.stderr or done.stdout}")
        return done.stdout


def _prepare(server: Server, database: str, pg_database: str) -> str:
    """The demo organisation's database of that kind, built once by the serving code and
    upgraded to its schema (`paceline init`) before each run."""
    if database == "sqlite":
        path = WORK / "demo.db"
        url = f"sqlite:///{path}"
        missing = not path.exists()
    elif database == "postgresql":
        url = make_url(PG_SERVER).set(database=pg_database).render_as_string(hide_password=False)
        missing = _pg_missing(url)
    else:
        raise SystemExit(f"unknown database {database!r}: sqlite or postgresql")
    if missing:
        print(f"building the demo organisation in {database}...", flush=True)
        server.paceline(url, "demo", "--today", AS_OF.isoformat(), "--json")
        if database == "postgresql":
            _analyze(url)
    server.paceline(url, "init")
    return url


def _pg_missing(url: str) -> bool:
    """Whether the benchmark's PostgreSQL database lacks the demo (created empty if absent)."""
    name = make_url(url).database
    admin = create_engine(_driver(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    engine = create_engine(_driver(url))
    with engine.connect() as conn:
        found = conn.scalar(text("SELECT to_regclass('activity') IS NOT NULL"))
    engine.dispose()
    return not found


def _driver(url: str) -> URL:
    """The URL with the psycopg 3 driver for PostgreSQL (what Paceline itself uses)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")
    return parsed


def _analyze(url: str) -> None:
    """Planner statistics, as autovacuum would have gathered them by the time anyone serves."""
    engine = create_engine(_driver(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()


@contextlib.contextmanager
def _serving(server: Server, url: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = _free_port()
    command = server.command(
        url, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(server.workers)
    )
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=server.env, cwd=WORK
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process)
        yield base, process
    finally:
        process.terminate()  # uvicorn waits for requests in flight; a stuck worker is killed
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"the server exited: {process.stderr.read() if process.stderr else ''}"
            )
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(f"{base}/api/v1/openapi.json", timeout=2)
            return
        time.sleep(0.3)
    raise RuntimeError("the server did not start within 180 s")


def _family(pid: int) -> set[int]:
    """The server process and its children (the workers)."""
    pids = {pid}
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError):
            fields = dict(
                line.split(":", 1) for line in status.read_text().splitlines() if ":" in line
            )
            if int(fields.get("PPid", "0").strip()) == pid:
                pids.add(int(status.parent.name))
    return pids


def _rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (the workers), in MB."""
    total_kb = 0
    for each in _family(pid):
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
    return total_kb / 1024


def _cpu_s(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) each process of the server has used so far, by pid: on a
    machine shared with other work, CPU per request is the figure that does not move with
    the load (wall-clock req/s and latencies do). Read from /proc; empty elsewhere."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    used = {}
    for each in _family(pid):
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = Path(f"/proc/{each}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            used[each] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return used


def _pg_database(url: str) -> str | None:
    """The PostgreSQL database the server uses, or None for SQLite."""
    parsed = make_url(url)
    return parsed.database if parsed.get_backend_name() == "postgresql" else None


def _backends_cpu_s(database: str | None) -> dict[int, float]:
    """CPU seconds used so far by each PostgreSQL process serving `database` (a backend's
    command line reads `postgres: ... USER DATABASE HOST(PORT) STATE`), by pid; empty for
    SQLite, for a server on another host, or where /proc is not readable."""
    if database is None:
        return {}
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    used = {}
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            title = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if not title.startswith("postgres:") or not _serves(title, database):
                continue
            stat = (cmdline.parent / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            used[int(cmdline.parent.name)] = (int(fields[11]) + int(fields[12])) / ticks
    return used


def _serves(title: str, database: str) -> bool:
    """Whether a PostgreSQL process title is a client's backend on `database` (not an
    autovacuum worker, whose title names the database too)."""
    words = title.split()
    return any(
        word == database and i + 1 < len(words) and words[i + 1].endswith((")", "[local]"))
        for i, word in enumerate(words)
    )


def _cpu_between(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds the server used between two readings (a process gone by the second reading
    is left out, one that appeared counts from 0)."""
    return sum(after[p] - before.get(p, 0.0) for p in after)


# --- the load ------------------------------------------------------------------------------------


def _measure(
    server: Server, url: str, cases: list[str], clients: list[int], seconds: float
) -> list[dict[str, Any]]:
    made = server.paceline(url, "token", "create", "admin", "--name", "bench", "--json")
    token = json.loads(made)["token"]
    listed = json.loads(server.paceline(url, "rep", "list", "--json"))
    sellers = [r["name"] for r in listed if r["role"] != "manager"]
    figures = []
    unknown = sorted(set(cases) - set(CASES))
    if unknown:
        raise SystemExit(f"unknown case(s) {', '.join(unknown)}: {', '.join(CASES)}")
    for case, n in itertools.product(cases, clients):
        # A fresh server per case: a slow case's backlog never spills into the next one.
        with _serving(server, url) as (base, process):
            run_id = uuid.uuid4().hex[:10]
            requests = _requests(case, base, sellers, run_id)
            print(f"  {make_url(url).get_backend_name()} {case} x{n}...", flush=True)
            found = _load(requests, token, n, seconds, process.pid, _pg_database(url))
        found.update({"name": case, "clients": n})
        if case == "write":
            found.update(_accounting(url, run_id, found.pop("acknowledged")))
        else:
            found.pop("acknowledged")
        figures.append(found)
        print(_line(make_url(url).get_backend_name(), found), flush=True)
    return figures


Request = tuple[str, str, Any]  # method, url, a function (client, n) -> JSON body, or None


def _requests(case: str, base: str, reps: list[str], run_id: str) -> list[Request]:
    if case == "list":
        return [("GET", f"{base}/api/v1/activities?limit=100", None)]
    if case == "scorecard":
        return [("GET", f"{base}/api/v1/scorecard?rep={r}&as_of={AS_OF}", None) for r in reps]
    if case == "light":
        return [("GET", f"{base}/api/v1/teams", None)]

    def body(client: int, n: int, rep: str) -> dict[str, Any]:
        return {
            "rep": rep,
            "kind": "call",
            "occurred_at": f"{AS_OF}T10:{n % 60:02d}:00",
            "outcome": "conversation",
            "external_id": f"bench-{run_id}-{client}-{n}",
        }

    return [("POST", f"{base}/api/v1/activities", (body, r)) for r in reps]


def _load(
    requests: list[Request],
    token: str,
    concurrency: int,
    seconds: float,
    server_pid: int,
    pg_database: str | None = None,
) -> dict[str, Any]:
    """Each client loops over the requests until time is up; the first second is a warm-up
    whose latencies are not counted (its writes are: every write is accounted for)."""
    latencies: list[float] = []
    errors: list[str] = []
    acknowledged: list[str] = []
    lock = threading.Lock()
    start = time.perf_counter() + WARM_UP_S
    stop = start + seconds
    peak_rss = [_rss_mb(server_pid)]
    cpu_at_start: list[dict[int, float]] = [{}]
    db_cpu_at_start: list[dict[int, float]] = [{}]
    db_cpu_seen: dict[int, float] = {}  # the latest reading of each backend, gone ones kept
    counted = [0]  # requests started in the measured window, answered or not

    def client(number: int) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(headers=headers, timeout=CLIENT_TIMEOUT_S) as http:
            for n in itertools.count():
                now = time.perf_counter()
                if now >= stop:
                    return
                method, url, make = requests[(number + n) % len(requests)]
                body = None if make is None else make[0](number, n, make[1])
                try:
                    response = http.request(method, url, json=body)
                    problem = None if response.status_code in (200, 201) else response
                except httpx.HTTPError as exc:
                    response, problem = None, exc
                took = time.perf_counter() - now
                with lock:
                    if problem is not None:
                        errors.append(_describe(problem))
                    elif body is not None and response is not None:
                        acknowledged.append(body["external_id"])
                    if problem is None and now >= start:
                        latencies.append(took)
                    if now >= start:
                        counted[0] += 1

    def watch_memory() -> None:
        time.sleep(max(0.0, start - time.perf_counter()))
        cpu_at_start[0] = _cpu_s(server_pid)
        db_cpu_at_start[0] = _backends_cpu_s(pg_database)
        while time.perf_counter() < stop:
            peak_rss[0] = max(peak_rss[0], _rss_mb(server_pid))
            db_cpu_seen.update(_backends_cpu_s(pg_database))
            time.sleep(0.5)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(concurrency)]
    threads.append(threading.Thread(target=watch_memory))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    drained = time.perf_counter() - stop
    server_cpu = _cpu_between(cpu_at_start[0], _cpu_s(server_pid))
    # A backend can come and go within the run (a pool's overflow connection is closed when
    # it is returned): counted from its last reading; one shorter than 0.5 s is missed.
    db_cpu_seen.update(_backends_cpu_s(pg_database))
    db_cpu = _cpu_between(db_cpu_at_start[0], db_cpu_seen)
    latencies.sort()
    return {
        "requests": len(latencies),
        "requests_per_s": len(latencies) / seconds,
        "p50_ms": _percentile(latencies, 0.50) * 1000,
        "p99_ms": _percentile(latencies, 0.99) * 1000,
        "mean_ms": statistics.fmean(latencies) * 1000 if latencies else 0.0,
        "errors": len(errors),
        "first_errors": sorted(set(errors))[:3],
        "server_rss_mb": round(peak_rss[0]),
        "server_cpu_s": round(server_cpu, 2),
        # Server CPU (every worker, user + system) from the end of the warm-up until the last
        # request in flight was answered, over the requests started in that time.
        "cpu_ms_per_request": round(server_cpu * 1000 / counted[0], 2) if counted[0] else None,
        # PostgreSQL's own CPU for the same requests (its processes serving the benchmark's
        # database), on the same cores; None for SQLite, which runs inside the workers.
        "db_cpu_ms_per_request": (
            round(db_cpu * 1000 / counted[0], 2) if counted[0] and pg_database else None
        ),
        "drain_s": round(drained, 1),
        "acknowledged": acknowledged,
    }


def _describe(problem: Any) -> str:
    if isinstance(problem, httpx.Response):
        return f"{problem.status_code}: {problem.text[:120]}"
    return f"{type(problem).__name__}: {problem}"[:160]


def _accounting(url: str, run_id: str, acknowledged: list[str]) -> dict[str, Any]:
    """Acknowledged writes against the stored rows of this run (read straight from the
    database, not through the API under test)."""
    engine = create_engine(_driver(url))
    with engine.connect() as conn:
        stored = set(
            conn.scalars(
                text(
                    "SELECT external_id FROM activity WHERE source = 'api' AND external_id LIKE :p"
                ),
                {"p": f"bench-{run_id}-%"},
            )
        )
    engine.dispose()
    acked = set(acknowledged)
    return {
        "acknowledged": len(acked),
        "stored": len(stored),
        "lost": len(acked - stored),
        "unacked": len(stored - acked),
    }


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    return values[min(len(values) - 1, int(share * len(values)))]


# --- the tables ----------------------------------------------------------------------------------


def _writes(case: dict[str, Any]) -> str:
    if "acknowledged" not in case:
        return ""
    return f"{case['acknowledged']}/{case['stored']}/{case['lost']}"


def _report(result: dict[str, Any]) -> str:
    lines = [
        f"HTTP load ({result['label']}): paceline serve --workers {result['workers']} "
        f"({result.get('server_stack', 'stack not recorded')}), "
        f"{result['seconds']:g} s per case, demo organisation, loopback",
        f"{'db':<11}{'case':<10}{'clients':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'errors':>8}{'RSS MB':>8}{'CPU ms/req':>11}{'DB CPU':>8}  acked/stored/lost",
    ]
    for db, cases in result["databases"].items():
        lines += [_line(db, c) for c in cases]
    return "\n".join(lines)


def _line(db: str, c: dict[str, Any]) -> str:
    return (
        f"{db:<11}{c['name']:<10}{c['clients']:>8}{c['requests_per_s']:>9,.1f}"
        f"{c['p50_ms']:>9,.0f}{c['p99_ms']:>9,.0f}{c['errors']:>8}"
        f"{c['server_rss_mb']:>8}{_cpu_ms(c):>11}{_cpu_ms(c, DB_CPU):>8}"
        f"  {_writes(c)}"
    )


def _cpu_ms(c: dict[str, Any], key: str = "cpu_ms_per_request") -> str:
    """Server (or PostgreSQL) CPU ms per request; "-" for a run that did not measure it."""
    value = c.get(key)
    return "-" if value is None else f"{value:.1f}"


def _side_by_side(before: dict[str, Any], after: dict[str, Any]) -> str:
    """Each case's req/s, p99 and errors before and after, one line per case."""
    lines = [
        f"{before['label']} ({before.get('server_stack', '?')}) -> "
        f"{after['label']} ({after.get('server_stack', '?')})",
        f"{'db':<11}{'case':<10}{'clients':>8}{'req/s':>18}{'p99 ms':>20}{'errors':>14}"
        f"{'RSS MB':>14}{'CPU ms/req':>16}{'DB CPU':>16}",
    ]
    for db, cases in after["databases"].items():
        earlier = {(c["name"], c["clients"]): c for c in before["databases"].get(db, [])}
        for c in cases:
            b = earlier.get((c["name"], c["clients"]))
            if b is None:
                continue
            lines.append(
                f"{db:<11}{c['name']:<10}{c['clients']:>8}"
                f"{b['requests_per_s']:>8,.1f} ->{c['requests_per_s']:>7,.1f}"
                f"{b['p99_ms']:>9,.0f} ->{c['p99_ms']:>8,.0f}"
                f"{b['errors']:>6} ->{c['errors']:>5}"
                f"{b['server_rss_mb']:>6} ->{c['server_rss_mb']:>5}"
                f"{_cpu_ms(b):>8} ->{_cpu_ms(c):>5}"
                f"{_cpu_ms(b, DB_CPU):>8} ->{_cpu_ms(c, DB_CPU):>5}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
