"""Chart-page load in chromium: DOMContentLoaded, load, charts drawn, and bytes transferred.

The server is `paceline serve` (one process) on the demo organisation in SQLite, on
loopback; the browser is Debian's chromium through Playwright, logged in as the demo's
manager. Each page is loaded cold (a new browser context: empty HTTP cache) and then warm
(the same page again in that context, as a person moving between pages would), `--runs`
times, and the median is reported. "Charts drawn" is the time from navigation start until
every chart on the page has been drawn by plotly.js (`data-rendered`), which is when a
person can read and hover it. With `--network 4g` chromium throttles the connection (9 Mbit/s
down, 1.5 Mbit/s up, 60 ms round trip) as a phone's would be; the default is loopback.

Run it against any checkout: `PYTHONPATH=/path/to/src python benchmarks/page_load.py`.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "page_load.json"
WORK = Path(os.environ.get("PACELINE_BENCH_DIR", "/tmp")) / "paceline-bench-pages"
AS_OF = dt.date(2026, 11, 18)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
PAGES = ("/leaderboard", "/funnel", "/forecast", "/tipping", "/when", "/flow", "/team")
NETWORKS = {
    "loopback": None,
    "4g": {"latency": 60, "downloadThroughput": 9e6 / 8, "uploadThroughput": 1.5e6 / 8},
}
DRAWN = """() => Array.from(document.querySelectorAll('[data-figure]'))
                  .every(el => el.getAttribute('data-rendered') === 'true')"""
TIMING = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const all = [nav, ...performance.getEntriesByType('resource')];
  return {
    server_ms: nav.responseStart - nav.requestStart,
    dom_ms: nav.domContentLoadedEventEnd, load_ms: nav.loadEventEnd,
    transferred: all.reduce((s, e) => s + (e.transferSize || 0), 0),
    decoded: all.reduce((s, e) => s + (e.decodedBodySize || 0), 0),
    charts: document.querySelectorAll('[data-figure]').length,
  };
}"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--page-runs", type=int, default=3, help="page_load: runs per page (median)"
    )
    parser.add_argument(
        "--network", choices=sorted(NETWORKS), default="loopback", help="page_load: connection"
    )
    if not any("--label" in action.option_strings for action in parser._actions):
        # run.py builds one parser for every benchmark; http_load's --label names a run too
        parser.add_argument("--label", default="", help="page_load: a name for this run's figures")


def run(args: argparse.Namespace) -> int:
    from http_load import WORK as DEMO_DIR
    from http_load import Server, _prepare  # the same demo organisation, built once

    _prepare(Server(None, 1), "sqlite", "")
    database = DEMO_DIR / "demo.db"
    with _server(database) as (base, pid):
        figures = _measure(base, pid, args.page_runs, NETWORKS[args.network])
    result = {
        "benchmark": "page_load",
        "label": args.label,
        "network": args.network,
        "runs": args.page_runs,
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "pages": figures,
    }
    print(_report(result))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    results = RESULTS.with_name(f"page_load{'-' + args.label if args.label else ''}.json")
    results.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"Figures written to {results}")
    return 0


@contextlib.contextmanager
def _server(database: Path) -> Iterator[tuple[str, int]]:
    """`paceline serve` on the demo, its clock at the demo's day (as http_load's, plus that)."""
    from http_load import _free_port, _wait_until_up

    port = _free_port()
    command = [sys.executable, "-m", "paceline.cli", "--db", f"sqlite:///{database}"]
    command += ["serve", "--port", str(port)]
    environment = {**os.environ, "PACELINE_TODAY": AS_OF.isoformat()}
    process = subprocess.Popen(
        command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


def _measure(base: str, pid: int, runs: int, network: dict[str, float] | None) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    samples: dict[str, dict[str, list[dict[str, float]]]] = {
        p: {"cold": [], "warm": []} for p in PAGES
    }
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for _ in range(runs):
                for path in PAGES:
                    context = browser.new_context(
                        base_url=base, viewport={"width": 1366, "height": 900}
                    )
                    page = context.new_page()
                    _log_in(page)
                    if network is not None:
                        cdp = context.new_cdp_session(page)
                        cdp.send("Network.enable")
                        cdp.send("Network.emulateNetworkConditions", {"offline": False, **network})
                    for temperature in ("cold", "warm"):
                        samples[path][temperature].append(_load(page, path, pid))
                    context.close()
        finally:
            browser.close()
    return {
        path: {t: _median(values) for t, values in by_temperature.items()}
        for path, by_temperature in samples.items()
    }


def _log_in(page: Any) -> None:
    """Log in on a page without charts, so the first chart page's cache is still cold."""
    page.goto("/login")
    page.fill("#username", "manager")
    page.fill("#password", "paceline-demo")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def _load(page: Any, path: str, server_pid: int) -> dict[str, float]:
    started = time.perf_counter()
    cpu = _cpu_ms(server_pid)
    page.goto(path, wait_until="load")
    page.wait_for_function(DRAWN, timeout=60_000)
    drawn = page.evaluate("() => performance.now()")
    figures: dict[str, float] = page.evaluate(TIMING)
    figures["drawn_ms"] = drawn
    figures["wall_ms"] = (time.perf_counter() - started) * 1000
    figures["server_cpu_ms"] = _cpu_ms(server_pid) - cpu
    return figures


def _cpu_ms(pid: int) -> float:
    """CPU time (user + system) process `pid` has used so far, in ms (10 ms steps), from
    /proc; NaN elsewhere. The server's CPU per page load (the page and the files it fetches)
    moves far less with the machine's load than its time to the first byte does."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def _median(values: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(v[key] for v in values) for key in values[0]}


def _report(result: dict[str, Any]) -> str:
    lines = [
        f"Page load in chromium, {result['network']}, median of {result['runs']} runs"
        + (f" ({result['label']})" if result["label"] else ""),
        f"{'page':<13}{'':6}{'server':>9}{'server CPU':>13}{'DOMContentLoaded':>18}{'load':>10}"
        f"{'drawn':>10}{'transferred':>13}",
    ]
    for path, by_temperature in result["pages"].items():
        for temperature, f in by_temperature.items():
            times = "".join(
                f"{f[key]:>{width},.0f} ms"
                for key, width in (
                    ("server_ms", 6),
                    ("server_cpu_ms", 10),
                    ("dom_ms", 15),
                    ("load_ms", 7),
                    ("drawn_ms", 7),
                )
            )
            lines.append(f"{path:<13}{temperature:<6}{times}{f['transferred'] / 1024:>9,.0f} KiB")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    sys.exit(main())
