"""Diagnosis and insight read paths: a whole team's diagnosis, tipping point and forecast.

The question: can a manager open the diagnosis of a ~200-rep team (every rep's funnel against
peers, revenue equation, busy-versus-productive, stalled deals, coaching, this month's alerts)
without waiting minutes, at 10 million activities? And how does it grow from 1M to 10M?

The data is the tracking benchmark's (1,000 reps in six teams; the 10M set is a year of
history, the 1M set its last five weeks), loaded into SQLite and PostgreSQL and cached by
`tracking.prepare` (the first run loads them: about 15 minutes per database at 10M). For the
team "Inside East" (about 200 SDRs and AEs), over the default 180-day diagnosis window, as of
the tracking benchmark's day, each case is timed warm (one warm-up, then the median of
`--diagnose-runs` rounds, round-robin):

- `team diagnosis`: `diagnose_team` for the team (what `paceline diagnose --team` runs);
- `rep brief`: `diagnose_rep` for one SDR (the heaviest funnel) with the median days;
- each analysis alone for the team: funnel, equation, quality, when-to-sell, stalled, flow;
- insight for the team: the tipping point of meetings held, the quarter's forecast (5,000
  Monte Carlo runs) and a 6-month backtest;
- the baseline: `team_scorecards` for the month, the page a manager already reads. The
  ratio column is each case against it.

Run it through ``benchmarks/run.py --only diagnose`` (``make bench``) or directly:
``python benchmarks/diagnose.py --scales 1M --no-postgres``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import tracking  # the data, its cache and its loaders
from paceline.analytics.backtest import backtest
from paceline.analytics.diagnose import diagnose_rep, diagnose_team
from paceline.analytics.equation import revenue_equation
from paceline.analytics.flow import pipeline_flow
from paceline.analytics.forecast import forecast
from paceline.analytics.funnel import funnel
from paceline.analytics.quality import busy_vs_productive
from paceline.analytics.rollup import ensure_rollup
from paceline.analytics.scorecard import team_scorecards
from paceline.analytics.stalled import stalled_deals
from paceline.analytics.timing import when_to_sell
from paceline.analytics.tipping import tipping_point
from paceline.analytics.window import Window, diagnosis_window
from paceline.config import Settings, default_settings
from paceline.store.engine import make_engine

NAME = "diagnose"
TEAM = "Inside East"
TIPPING = "meetings_held"
DEFAULT_SCALES = (1_000_000, 10_000_000)
DEFAULT_RUNS = 3
BASELINE = "team scorecards (baseline)"
RESULTS = Path(__file__).resolve().parent / "results" / f"{NAME}.json"

Case = tuple[str, Callable[[], object]]


def cases(engine: Any, settings: Settings, window: Window, sdr: str) -> list[Case]:
    as_of = window.as_of
    return [
        ("team diagnosis", lambda: diagnose_team(engine, settings, window, TEAM)),
        ("rep brief (one SDR)", lambda: diagnose_rep(engine, settings, window, sdr)),
        ("funnel (team)", lambda: funnel(engine, settings, window, team=TEAM)),
        ("revenue equation", lambda: revenue_equation(engine, settings, window, team=TEAM)),
        ("busy vs productive", lambda: busy_vs_productive(engine, settings, window, team=TEAM)),
        ("when to sell", lambda: when_to_sell(engine, settings, window, team=TEAM)),
        ("stalled deals", lambda: stalled_deals(engine, settings, as_of, team=TEAM)),
        ("pipeline flow", lambda: pipeline_flow(engine, settings, window, team=TEAM)),
        ("tipping point", lambda: tipping_point(engine, settings, TIPPING, team=TEAM, as_of=as_of)),
        ("forecast (quarter)", lambda: forecast(engine, settings, "quarter", as_of, team=TEAM)),
        (
            "backtest (6 months)",
            lambda: backtest(engine, settings, "month", team=TEAM, periods=6, as_of=as_of),
        ),
        (BASELINE, lambda: team_scorecards(engine, settings, "month", as_of, TEAM)),
    ]


def time_cases(named: Sequence[Case], runs: int) -> dict[str, dict[str, float]]:
    """Warm each case once, then `runs` round-robin rounds; median and min per case in ms."""
    for _, read in named:
        read()
    samples: dict[str, list[float]] = {name: [] for name, _ in named}
    for _ in range(runs):
        for name, read in named:
            started = time.perf_counter()
            read()
            samples[name].append((time.perf_counter() - started) * 1000)
    return {
        name: {"median_ms": statistics.median(ms), "min_ms": min(ms), "runs_ms": ms}
        for name, ms in samples.items()
    }


def first_sdr(engine: Any, settings: Settings, window: Window) -> tuple[str, int]:
    """The team's first SDR by name, and how many selling reps the team has."""
    report = busy_vs_productive(engine, settings, window, team=TEAM)
    sdrs = sorted(r.rep for r in report.reps if r.role == "sdr")
    return sdrs[0], len(report.reps)


def measure(scales: Sequence[int], runs: int, with_pg: bool) -> dict[str, Any]:
    settings = default_settings()
    problems: list[str] = []
    if with_pg:
        up, version = tracking.pg_server()
        if not up:
            problems.append(f"PostgreSQL skipped: {version}")
            with_pg = False
    tracking._log("preparing the tracking data (cached under " + str(tracking.CACHE) + "):")
    loaded = tracking.prepare(scales, tracking.SEED, with_pg, settings, tracking.AS_OF)
    window = diagnosis_window(settings, settings.diagnose.window, tracking.AS_OF)
    machine = tracking._machine()
    machine["load_average_before_timing"] = os.getloadavg()
    results = []
    for rows, engine_name in loaded:
        data = tracking.data_set(rows, tracking.SEED)
        engine = make_engine(tracking.database_url(engine_name, data))
        try:
            ensure_rollup(engine, settings)
            sdr, team_reps = first_sdr(engine, settings, window)
            tracking._log(f"{engine_name} {tracking._scale_label(rows)}: timing {runs} rounds")
            timings = time_cases(cases(engine, settings, window, sdr), runs)
        finally:
            engine.dispose()
        results.append(
            {"rows": rows, "engine": engine_name, "team_reps": team_reps, "cases": timings}
        )
    return {
        "benchmark": NAME,
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "team": TEAM,
        "window": window.label,
        "runs": runs,
        "results": results,
        "problems": problems,
    }


def report(figures: dict[str, Any]) -> str:
    results = figures["results"]
    columns = [f"{r['engine']} {tracking._scale_label(r['rows'])}" for r in results]
    names = list(results[0]["cases"]) if results else []
    lines = [
        f"Diagnosis of team {figures['team']} ({results[0]['team_reps'] if results else 0}"
        f" selling reps), window {figures['window']}, median of {figures['runs']} warm runs;"
        " (xN) = against the team scorecards",
        "",
        "| case | " + " | ".join(columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for name in names:
        cells = []
        for r in results:
            ms = r["cases"][name]["median_ms"]
            base = r["cases"][BASELINE]["median_ms"]
            ratio = "" if name == BASELINE else f" (x{ms / base:,.0f})"
            cells.append(f"{_seconds(ms)}{ratio}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    growth = _growth(results)
    if growth:
        lines += ["", "Growth 1M -> 10M of the team diagnosis: " + growth]
    lines += [f"problem: {p}" for p in figures["problems"]]
    return "\n".join(lines)


def _seconds(ms: float) -> str:
    return f"{ms:,.0f} ms" if ms < 1000 else f"{ms / 1000:,.2f} s"


def _growth(results: list[dict[str, Any]]) -> str:
    parts = []
    for engine in sorted({r["engine"] for r in results}):
        by_rows = {r["rows"]: r for r in results if r["engine"] == engine}
        if 1_000_000 in by_rows and 10_000_000 in by_rows:
            small = by_rows[1_000_000]["cases"]["team diagnosis"]["median_ms"]
            large = by_rows[10_000_000]["cases"]["team diagnosis"]["median_ms"]
            parts.append(f"{engine} x{large / small:.2f}")
    return ", ".join(parts)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    with contextlib.suppress(argparse.ArgumentError):
        parser.add_argument("--scales", type=tracking._scales, default=None)
    parser.add_argument(
        "--diagnose-runs",
        type=int,
        default=DEFAULT_RUNS,
        help=f"diagnose: timed rounds after the warm-up (default {DEFAULT_RUNS})",
    )
    with contextlib.suppress(argparse.ArgumentError):
        parser.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")


def run(args: argparse.Namespace) -> int:
    scales = args.scales or ([args.rows] if args.rows else list(DEFAULT_SCALES))
    started = time.perf_counter()
    figures = measure(scales, max(1, args.diagnose_runs), not args.no_postgres)
    figures["seconds"] = time.perf_counter() - started
    print(report(figures))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"Figures written to {RESULTS}")
    return 1 if any(not p.startswith("PostgreSQL skipped") for p in figures["problems"]) else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or NAME).split("\n\n")[0])
    parser.add_argument("--rows", type=tracking.parse_scale, default=None)
    add_arguments(parser)
    return run(parser.parse_args(list(sys.argv[1:] if argv is None else argv)))


if __name__ == "__main__":
    sys.exit(main())
