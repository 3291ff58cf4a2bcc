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

The diagnosis reads maintained aggregates (`paceline.analytics.aggregates`: first events per
prospect and step, activities per kind). The goals (issue 17: team diagnosis <= 1 s, a rep's
brief <= 0.5 s, the team funnel with median days <= 2 s, a 6-month backtest <= 3 s) are
printed met / not met with the ratio to the goal, beside the same cases read the raw way
(`aggregates.raw_reads()`, `--raw-runs` rounds, 0 skips them). Then the values are checked:
for every rep, account and step, the first and last event and the count in the window from
the aggregates equal raw SQL compiled independently (`tracking.raw_condition`); per rep, the
distinct prospects and the activities, Asks and engaged outcomes per kind equal raw SQL; per
rep, UTC hour (and midnight minute) the five counts of `hour_day` (when to sell) equal raw
SQL; per rep, calendar month and kind from the window's first month on, `kind_month`'s
counts and last day equal raw SQL; and the team funnel, team diagnosis, rep brief and
when-to-sell equal their raw-path results. A difference is a problem: a `PROBLEM:` line and
a non-zero exit.

Run it through ``benchmarks/run.py --only diagnose`` (``make bench``) or directly:
``python benchmarks/diagnose.py --scales 1M --no-postgres``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchkit
import tracking  # the data, its cache and its loaders
from paceline.analytics import aggregates
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
# Issue 17's goals at 10M activities, in ms.
GOALS = {
    "team diagnosis": 1000.0,
    "rep brief (one SDR)": 500.0,
    "funnel (team)": 2000.0,
    "backtest (6 months)": 3000.0,
}
DEFAULT_RAW_RUNS = 1


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


def time_cases(named: Sequence[Case], runs: int, warm: bool = True) -> dict[str, dict[str, float]]:
    """Warm each case once, then `runs` round-robin rounds; median and min per case in ms."""
    for _, read in named if warm else ():
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


def measure(scales: Sequence[int], runs: int, with_pg: bool, raw_runs: int) -> dict[str, Any]:
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
    import duckdb

    machine = benchkit.machine(duckdb=duckdb.__version__)
    machine["load_average_before_timing"] = os.getloadavg()
    results = []
    for rows, engine_name in loaded:
        data = tracking.data_set(rows, tracking.SEED)
        engine = make_engine(tracking.database_url(engine_name, data))
        try:
            ensure_rollup(engine, settings)
            sdr, team_reps = first_sdr(engine, settings, window)
            tracking._log(f"{engine_name} {tracking._scale_label(rows)}: timing {runs} rounds")
            named = cases(engine, settings, window, sdr)
            timings = time_cases(named, runs)
            raw: dict[str, dict[str, float]] = {}
            if raw_runs:
                tracking._log(f"  the goal cases the raw way, {raw_runs} round(s)")
                with aggregates.raw_reads():
                    raw = time_cases([c for c in named if c[0] in GOALS], raw_runs, warm=False)
            tracking._log("  checking the aggregates against raw SQL")
            checked, found = cross_check(engine, settings, window, sdr)
            problems += [f"{engine_name} {tracking._scale_label(rows)}: {p}" for p in found]
        finally:
            engine.dispose()
        results.append(
            {
                "rows": rows,
                "engine": engine_name,
                "team_reps": team_reps,
                "cases": timings,
                "raw": raw,
                "checked_values": checked,
            }
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


def cross_check(engine: Any, settings: Settings, window: Window, sdr: str) -> tuple[int, list[str]]:
    """Compare the aggregates with raw SQL: (values compared, differences found)."""
    from sqlalchemy import text

    steps = {**aggregates.aggregated_steps(settings)}
    conditions = {name: tracking.raw_condition(settings, m) for name, m in steps.items()}
    selling = _selling_condition(settings)
    conditions[aggregates.SELLING] = selling
    bounds = {"start": window.start, "end": window.end}
    problems: list[str] = []
    checked = 0
    with engine.connect() as conn:
        columns = ", ".join(
            f"MIN(CASE WHEN {c} THEN a.occurred_at END), MAX(CASE WHEN {c} THEN a.occurred_at END),"
            f" SUM(CASE WHEN {c} THEN 1 ELSE 0 END)"
            for c in conditions.values()
        )
        raw_rows = conn.execute(
            text(
                f"SELECT a.rep_id, a.account_id, {columns} FROM activity a"
                " LEFT JOIN contact c ON c.id = a.contact_id"
                " WHERE a.account_id IS NOT NULL AND a.local_date >= :start"
                " AND a.local_date < :end GROUP BY a.rep_id, a.account_id"
            ),
            bounds,
        ).all()
        raw: dict[tuple[str, int, int], tuple[Any, ...]] = {}
        for r in raw_rows:
            for i, name in enumerate(conditions):
                first, last, n = r[2 + 3 * i : 5 + 3 * i]
                if n:
                    raw[name, int(r[0]), int(r[1])] = (str(first), str(last), int(n))
        held = {
            (str(m), int(rep), int(acc)): (str(first), str(last), int(n))
            for m, rep, acc, first, last, n in conn.execute(
                text(
                    "SELECT metric, rep_id, account_id, MIN(first_at), MAX(last_at),"
                    " SUM(events) FROM prospect_day WHERE local_date >= :start"
                    " AND local_date < :end GROUP BY metric, rep_id, account_id"
                ),
                bounds,
            )
        }
        checked += len(raw) * 3
        if held != raw:
            wrong = sorted(set(held.items()) ^ set(raw.items()))[:3]
            problems.append(f"first/last/count per rep, account and step differ: {wrong}")
        reps = [int(r) for (r,) in conn.execute(text("SELECT id FROM rep"))]
        prospects = aggregates.prospects(conn, window.start, window.end, reps)
        raw_prospects = {
            int(rep): int(n)
            for rep, n in conn.execute(
                text(
                    f"SELECT a.rep_id, COUNT(DISTINCT a.account_id) FROM activity a"
                    f" WHERE {selling} AND a.local_date >= :start AND a.local_date < :end"
                    " GROUP BY a.rep_id"
                ),
                bounds,
            )
            if n
        }
        checked += len(reps)
        if prospects != raw_prospects:
            problems.append("distinct prospects per rep differ")
        kinds = {
            (r, k): (n, a, e)
            for r, k, n, a, e in aggregates.kind_counts(conn, window.start, window.end, reps)
        }
        raw_kinds = {
            (int(r), str(k)): (int(n), int(a), int(e))
            for r, k, n, a, e in conn.execute(
                text(
                    "SELECT a.rep_id, a.kind, COUNT(*),"
                    " SUM(CASE WHEN a.has_ask THEN 1 ELSE 0 END),"
                    " SUM(CASE WHEN a.engaged THEN 1 ELSE 0 END) FROM activity a"
                    " WHERE a.local_date >= :start AND a.local_date < :end"
                    " GROUP BY a.rep_id, a.kind"
                ),
                bounds,
            )
        }
        checked += len(raw_kinds) * 3
        if kinds != raw_kinds:
            problems.append("activities, Asks or engaged per rep and kind differ")
        hours_checked, hours_differ = _check_hours(conn, settings, bounds)
        checked += hours_checked
        problems += hours_differ
        months_checked, months_differ = _check_kind_months(conn, window.start.replace(day=1))
        checked += months_checked
        problems += months_differ
    analyses: dict[str, Callable[[], object]] = {
        "team funnel": lambda: funnel(engine, settings, window, team=TEAM),
        "when to sell": lambda: when_to_sell(engine, settings, window, team=TEAM),
        "team diagnosis": lambda: diagnose_team(engine, settings, window, TEAM),
        "rep brief": lambda: diagnose_rep(engine, settings, window, sdr),
    }
    for name, read in analyses.items():
        value = read()
        with aggregates.raw_reads():
            expected = read()
        checked += 1
        if value != expected:
            problems.append(f"{name}: the aggregates' result differs from the raw path's")
    return checked, problems


def _check_hours(conn: Any, settings: Settings, bounds: dict[str, Any]) -> tuple[int, list[str]]:
    """`hour_day` against raw SQL: per rep, UTC hour and midnight minute (-1: none) of the
    window, the activities, calls, connected calls, outreach attempts and engaged attempts."""
    from sqlalchemy import text

    from paceline.analytics.hours import CALLS_METRIC, candidate_minutes

    calls = tracking.raw_condition(settings, settings.metric(CALLS_METRIC))
    connected = ", ".join(f"'{o}'" for o in sorted(settings.connected_outcomes)) or "NULL"
    kinds = ", ".join(f"'{k}'" for k in sorted(settings.selling_kinds)) or "NULL"
    minutes = ", ".join(str(m) for m in candidate_minutes(settings))
    if conn.dialect.name == "sqlite":
        hour = "strftime('%Y-%m-%d %H', a.occurred_at)"
        whole = "strftime('%f', a.occurred_at) = '00.000'"
        minute = "CAST(strftime('%M', a.occurred_at) AS INTEGER)"
        held_hour = "strftime('%Y-%m-%d %H', h.hour)"
    else:
        hour = "to_char(a.occurred_at, 'YYYY-MM-DD HH24')"
        whole = "date_trunc('minute', a.occurred_at) = a.occurred_at"
        minute = "CAST(extract(minute FROM a.occurred_at) AS INTEGER)"
        held_hour = "to_char(h.hour, 'YYYY-MM-DD HH24')"
    flag = f"CASE WHEN {whole} AND {minute} IN ({minutes}) THEN {minute} ELSE -1 END"
    outreach = f"a.kind IN ({kinds})"
    raw = {
        (int(r), str(at), int(m)): tuple(int(v) for v in values)
        for r, at, m, *values in conn.execute(
            text(
                f"SELECT a.rep_id, {hour}, {flag}, COUNT(*),"
                f" SUM(CASE WHEN {calls} THEN 1 ELSE 0 END),"
                f" SUM(CASE WHEN {calls} AND a.outcome IN ({connected}) THEN 1 ELSE 0 END),"
                f" SUM(CASE WHEN {outreach} THEN 1 ELSE 0 END),"
                f" SUM(CASE WHEN {outreach} AND a.engaged THEN 1 ELSE 0 END)"
                " FROM activity a LEFT JOIN contact c ON c.id = a.contact_id"
                " WHERE a.local_date >= :start AND a.local_date < :end"
                f" GROUP BY a.rep_id, {hour}, {flag}"
            ),
            bounds,
        )
    }
    held = {
        (int(r), str(at), int(m)): tuple(int(v) for v in values)
        for r, at, m, *values in conn.execute(
            text(
                f"SELECT h.rep_id, {held_hour}, h.minute, SUM(h.activities), SUM(h.calls),"
                " SUM(h.conversations), SUM(h.attempts), SUM(h.engaged) FROM hour_day h"
                " WHERE h.local_date >= :start AND h.local_date < :end"
                f" GROUP BY h.rep_id, {held_hour}, h.minute"
            ),
            bounds,
        )
    }
    if held == raw:
        return len(raw) * 5, []
    wrong = sorted(set(held.items()) ^ set(raw.items()))[:3]
    return len(raw) * 5, [f"hour_day per rep, UTC hour and minute differs from raw SQL: {wrong}"]


def _check_kind_months(conn: Any, first_month: dt.date) -> tuple[int, list[str]]:
    """`kind_month` against raw SQL: per rep, calendar month and kind from the window's first
    month on, the activities, Asks, engaged outcomes and the last day."""
    from sqlalchemy import text

    if conn.dialect.name == "sqlite":
        month_of, day_of = "strftime('%Y-%m-01', {})", "strftime('%Y-%m-%d', {})"
    else:
        month_of, day_of = "to_char({}, 'YYYY-MM-01')", "to_char({}, 'YYYY-MM-DD')"
    month, last = month_of.format("a.local_date"), day_of.format("MAX(a.local_date)")
    held_month, held_last = day_of.format("m.month"), day_of.format("m.last_day")
    raw = {
        (int(r), str(m), str(k)): (int(n), int(asks), int(engaged), str(day))
        for r, m, k, n, asks, engaged, day in conn.execute(
            text(
                f"SELECT a.rep_id, {month}, a.kind, COUNT(*),"
                " SUM(CASE WHEN a.has_ask THEN 1 ELSE 0 END),"
                " SUM(CASE WHEN a.engaged THEN 1 ELSE 0 END),"
                f" {last} FROM activity a WHERE a.local_date >= :first"
                f" GROUP BY a.rep_id, {month}, a.kind"
            ),
            {"first": first_month},
        )
    }
    held = {
        (int(r), str(m), str(k)): (int(n), int(asks), int(engaged), str(day))
        for r, m, k, n, asks, engaged, day in conn.execute(
            text(
                f"SELECT m.rep_id, {held_month}, m.kind, m.activities, m.asks, m.engaged,"
                f" {held_last} FROM kind_month m WHERE m.month >= :first"
            ),
            {"first": first_month},
        )
    }
    if held == raw:
        return len(raw) * 4, []
    wrong = sorted(set(held.items()) ^ set(raw.items()))[:3]
    return len(raw) * 4, [f"kind_month per rep, month and kind differs from raw SQL: {wrong}"]


def _selling_condition(settings: Settings) -> str:
    kinds = ", ".join(f"'{k}'" for k in sorted(settings.selling_kinds)) or "NULL"
    selling = f"a.kind IN ({kinds})"
    return f"({selling} AND a.has_ask)" if settings.selling.require_ask else selling


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
    lines += ["", "Goals (issue 17, at 10M; ratio = time / goal, under 1 is met):"]
    for r in results:
        label = f"{r['engine']} {tracking._scale_label(r['rows'])}"
        for name, goal in GOALS.items():
            ms = r["cases"][name]["median_ms"]
            verdict = "met    " if ms <= goal else "NOT met"
            before = r["raw"].get(name)
            raw = f"; raw path {_seconds(before['median_ms'])}" if before else ""
            lines.append(
                f"  {verdict} {label}: {name} <= {_seconds(goal)}: {_seconds(ms)}"
                f" (x{ms / goal:.2f} of the goal{raw})"
            )
    checked = ", ".join(
        f"{r['checked_values']:,} at {r['engine']} {tracking._scale_label(r['rows'])}"
        for r in results
    )
    if checked and not [p for p in figures["problems"] if not p.startswith("PostgreSQL")]:
        lines.append(f"Checked: the aggregates equal raw SQL on every value ({checked})")
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
    parser.add_argument(
        "--raw-runs",
        type=int,
        default=DEFAULT_RAW_RUNS,
        help="diagnose: rounds of the goal cases read the raw way (default 1; 0 skips)",
    )
    with contextlib.suppress(argparse.ArgumentError):
        parser.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")


def run(args: argparse.Namespace) -> int:
    scales = args.scales or ([args.rows] if args.rows else list(DEFAULT_SCALES))
    started = time.perf_counter()
    figures = measure(
        scales, max(1, args.diagnose_runs), not args.no_postgres, max(0, args.raw_runs)
    )
    figures["seconds"] = time.perf_counter() - started
    print(report(figures))
    benchkit.save(RESULTS, figures)
    return 1 if any(not p.startswith("PostgreSQL skipped") for p in figures["problems"]) else 0


def main(argv: Sequence[str] | None = None) -> int:
    return benchkit.standalone(__doc__ or NAME, add_arguments, run, argv, rows=tracking.parse_scale)


if __name__ == "__main__":
    sys.exit(main())
