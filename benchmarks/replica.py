"""Analyses read from a PostgreSQL streaming replica: what a read costs there, and how long a
read after a write waits for the replica to replay it.

The question (issue 17, "scale past one machine"): can the analyses move to a read replica
while writes and the aggregates' refresh stay on the primary (`[database] read_url`,
`store.engine.read_engine`)? Needs a streaming replica of the benchmark's server (set-up in
docs/scaling.md); its address in `--replica-url` or $PACELINE_BENCH_REPLICA, e.g.
postgresql://postgres@127.0.0.1:5433/postgres (the database name is replaced by the
benchmark's); skipped without one. Reads the tracking benchmark's PostgreSQL database
(`--rows`, default 1M; loaded on the primary when missing, and streamed to the replica).

Timed warm, round-robin: the manager's page and the diagnosis of team "Inside East"
(`partitioned.read_cases`) through the primary's engine and through the read engine (whose
`ensure_rollup` asks the primary, then waits for the replica to replay). Then, `--replica-writes`
times: every activity of the last day touched on the primary (as a re-import that changed them
would), the refresh on the primary (`ensure_rollup`), and `wait_for_replay` (until the
replica has replayed both), with the WAL they wrote.

Checked: every timed read returns equal values through both engines.

    PACELINE_BENCH_REPLICA=postgresql://postgres@127.0.0.1:5433/postgres \\
        PYTHONPATH=src python benchmarks/replica.py --rows 10M --replica-runs 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

import benchkit
import diagnose
import partitioned
import tracking
from paceline.analytics import rollup
from paceline.analytics.window import diagnosis_window
from paceline.config import Settings, default_settings
from paceline.store.engine import make_engine, read_engine, wait_for_replay

NAME = "replica"
RESULTS = Path(__file__).resolve().parent / "results" / f"{NAME}.json"
DEFAULT_ROWS = 1_000_000
DEFAULT_RUNS = 3
DEFAULT_WRITES = 3
REPLAY_TIMEOUT_S = 300.0


def with_read_url(settings: Settings, url: str) -> Settings:
    database = settings.database.model_copy(update={"read_url": url})
    return settings.model_copy(update={"database": database})


def _lsn(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.scalar(text("SELECT CAST(pg_current_wal_lsn() AS text)")))


def _wal_bytes(engine: Engine, since: str) -> int:
    with engine.connect() as conn:
        found = conn.scalar(
            text("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), CAST(:lsn AS pg_lsn))"),
            {"lsn": since},
        )
    return int(found or 0)


def write_then_read(
    primary: Engine, reads: Engine, settings: Settings, day: dt.date
) -> dict[str, Any]:
    """A day's activities touched on the primary, its refresh there, then the wait for the
    replica: seconds of each, and the WAL written."""
    started_lsn = _lsn(primary)
    touched, update_seconds = tracking.touch_day(primary, day)
    update_wal = _wal_bytes(primary, started_lsn)
    started = time.perf_counter()
    refresh = rollup.ensure_rollup(primary, settings)
    refresh_seconds = time.perf_counter() - started
    started = time.perf_counter()
    caught_up = wait_for_replay(primary, reads, timeout=REPLAY_TIMEOUT_S)
    wait_seconds = time.perf_counter() - started
    return {
        "activities": touched,
        "update_seconds": update_seconds,
        "rep_days": refresh.rep_days,
        "refresh_seconds": refresh_seconds,
        "replay_wait_seconds": wait_seconds,
        "caught_up": caught_up,
        "wal_bytes": {"update": update_wal, "update and refresh": _wal_bytes(primary, started_lsn)},
    }


def measure(rows: int, runs: int, writes: int, replica_url: str) -> dict[str, Any]:
    settings = default_settings()
    data = tracking.data_set(rows, tracking.SEED)
    tracking.generate(data, settings, tracking.AS_OF)
    tracking.prepare_database("postgresql", data, settings, tracking.AS_OF)
    replica = make_url(replica_url).set(database=data.pg_name).render_as_string(False)
    primary = make_engine(tracking.pg_url(data.pg_name))
    reads = read_engine(with_read_url(settings, replica), primary)
    problems: list[str] = []
    try:
        window = diagnosis_window(settings, settings.diagnose.window, tracking.AS_OF)
        sdr, _ = diagnose.first_sdr(primary, settings, window)
        named: list[diagnose.Case] = []
        by_engine = {"primary": primary, "replica": reads}
        for label, engine in by_engine.items():
            cases = partitioned.read_cases(engine, settings, sdr)
            named += [(f"{label}: {name}", read) for name, read in cases]
        found = dict(named)
        for name, read in partitioned.read_cases(primary, settings, sdr):
            differ = partitioned.Differences()
            differ.walk(read(), found[f"replica: {name}"]())
            problems += [f"{name}: the replica read other values: {d}" for d in differ.found[:1]]
        load_before = os.getloadavg()
        timings = diagnose.time_cases(named, runs)
        day = tracking.business_days_back(settings, tracking.AS_OF, 1)[0]
        after_writes = [write_then_read(primary, reads, settings, day) for _ in range(writes)]
        problems += [
            f"write {i + 1}: the replica did not catch up in {REPLAY_TIMEOUT_S:.0f} s"
            for i, w in enumerate(after_writes)
            if not w["caught_up"]
        ]
        tracking._settle(primary)
    finally:
        reads.dispose()
        primary.dispose()
    return {
        "benchmark": NAME,
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "rows": rows,
        "runs": runs,
        "load_average": {"before": load_before, "end": os.getloadavg()},
        "reads": timings,
        "writes": after_writes,
        "problems": problems,
    }


def report(figures: dict[str, Any]) -> str:
    reads = figures["reads"]
    names = [n.split(": ", 1)[1] for n in reads if n.startswith("primary: ")]
    load = figures["load_average"]
    lines = [
        f"PostgreSQL, {figures['rows']:,} activities: analyses on the primary against a "
        f"streaming replica, ms, median and min of {figures['runs']} warm rounds (load average "
        f"{load['before'][0]:.1f} before, {load['end'][0]:.1f} after)",
        f"{'case':32} {'primary':>10} {'min':>8} {'replica':>10} {'min':>8} {'ratio':>7}",
    ]
    for name in names:
        a, b = reads[f"primary: {name}"], reads[f"replica: {name}"]
        lines.append(
            f"{name:32} {a['median_ms']:10,.0f} {a['min_ms']:8,.0f} {b['median_ms']:10,.0f} "
            f"{b['min_ms']:8,.0f} {b['median_ms'] / a['median_ms']:7.2f}"
        )
    for i, w in enumerate(figures["writes"], 1):
        lines.append(
            f"Write {i}: {w['activities']:,} activities touched in {w['update_seconds']:.1f} s "
            f"({w['wal_bytes']['update'] / 1e6:.0f} MB WAL); refresh of {w['rep_days']:,} "
            f"rep-days on the primary {w['refresh_seconds']:.1f} s "
            f"({w['wal_bytes']['update and refresh'] / 1e6:.0f} MB WAL in all); the replica "
            f"replayed it {w['replay_wait_seconds']:.2f} s later"
        )
    lines += [f"PROBLEM: {p}" for p in figures["problems"]]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--replica-url",
        default=os.environ.get("PACELINE_BENCH_REPLICA"),
        help="replica: a streaming replica of the benchmark's PostgreSQL server (default "
        "$PACELINE_BENCH_REPLICA; skipped without one)",
    )
    parser.add_argument(
        "--replica-runs",
        type=int,
        default=DEFAULT_RUNS,
        help=f"replica: timed rounds after the warm-up (default {DEFAULT_RUNS})",
    )
    parser.add_argument(
        "--replica-writes",
        type=int,
        default=DEFAULT_WRITES,
        help=f"replica: writes followed by a read (default {DEFAULT_WRITES})",
    )


def run(args: argparse.Namespace) -> int:
    if not args.replica_url:
        print("replica: skipped: no --replica-url or $PACELINE_BENCH_REPLICA")
        return 0
    up, why = tracking.pg_server()
    if not up:
        print(f"replica: skipped: {why}")
        return 0
    figures = measure(
        args.rows or DEFAULT_ROWS,
        max(1, args.replica_runs),
        max(0, args.replica_writes),
        args.replica_url,
    )
    benchkit.save(RESULTS, figures)
    print(report(figures))
    return 1 if figures["problems"] else 0


def main(argv: Sequence[str] | None = None) -> int:
    return benchkit.standalone(__doc__ or NAME, add_arguments, run, argv, rows=tracking.parse_scale)


if __name__ == "__main__":
    sys.exit(main())
