"""PostgreSQL with `activity` partitioned by month, against the plain schema, in one run.

The question (issue 17, "scale past one machine"): does Paceline run unchanged on the
partitioned form docs/scaling.md plans for 1,000M activities, and what does it cost or save?
The plain database is the tracking benchmark's (cached by `tracking.prepare_database`); the
partitioned one is a copy of it (`CREATE DATABASE ... TEMPLATE`) rewritten by
`paceline.store.partition.partition_by_month` and kept beside it as `<name>_part`.

Timed warm, round-robin over both databases (one warm-up, then `--runs` rounds):
- the manager's page: `ensure_rollup`, every rep's scorecard and a leaderboard for the month
  (`tracking.paceline_read`);
- the diagnosis of team "Inside East": the team diagnosis, one SDR's brief, the team funnel
  with median days, and the team's scorecards (`diagnose.cases`).
Then a day's refresh on each (`tracking.refresh_one_day`: every activity of the last day
touched, then the `ensure_rollup` that recomputes those rep-days), and a rebuild after a
definition change: the whole rebuild (`rollup._rebuild`: every aggregate, one transaction)
on each database, then the same aggregates rebuilt one month at a time (`rollup.rebuild_days`,
one transaction per month, its statements bounded by the month's dates) on each. With
`--partitioned-rebuild last-month` (for 10M, where a whole rebuild takes most of an hour per
database) only the last complete month is rebuilt, and only its rows are compared.

Checked: each timed read returns equal values on both databases (dataclass equality), the
aggregates of the partitioned database equal raw SQL (`diagnose.cross_check`), and after the
rebuilds every aggregate table holds the same rows on both (an md5 of the sorted rows). A
difference is a `PROBLEM:` line and a non-zero exit.

    PYTHONPATH=src python benchmarks/partitioned.py --rows 1M --partitioned-runs 5
    PYTHONPATH=src python benchmarks/partitioned.py --rows 10M --partitioned-runs 3 \
        --partitioned-rebuild last-month
    make bench BENCH_ARGS='--only partitioned'
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg
from sqlalchemy import Engine, func, select, text

import benchkit
import diagnose
import tracking
from paceline.analytics import aggregates, rollup
from paceline.analytics.window import diagnosis_window
from paceline.config import Settings, default_settings
from paceline.store.engine import make_engine
from paceline.store.models import Activity
from paceline.store.partition import month_starts, partition_by_month

NAME = "partitioned"
RESULTS = Path(__file__).resolve().parent / "results" / f"{NAME}.json"
AGGREGATES = {
    "metric_day": "metric, local_date, rep_id",
    "kind_day": "rep_id, local_date, kind",
    "prospect_day": "metric, account_id, rep_id, local_date",
    "prospect_step": "metric, rep_id, account_id",
}
DEFAULT_ROWS = 1_000_000
DEFAULT_RUNS = 5
REBUILDS = ("all", "last-month")
READS = ("team diagnosis", "rep brief (one SDR)", "funnel (team)", diagnose.BASELINE)


def prepare(rows: int, settings: Settings) -> tuple[str, str, dict[str, Any]]:
    """(plain URL, partitioned URL, the conversion's figures), loading what is not cached."""
    data = tracking.data_set(rows, tracking.SEED)
    tracking.generate(data, settings, tracking.AS_OF)
    tracking.prepare_database("postgresql", data, settings, tracking.AS_OF)
    part_name = f"{data.pg_name}_part"
    figures_path = data.folder / "postgresql_part.json"
    if figures_path.exists() and _exists(part_name):
        figures: dict[str, Any] = json.loads(figures_path.read_text(encoding="utf-8"))
        return tracking.pg_url(data.pg_name), tracking.pg_url(part_name), figures
    with psycopg.connect(tracking.pg_admin_conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{part_name}" WITH (FORCE)')
        started = time.perf_counter()
        conn.execute(f'CREATE DATABASE "{part_name}" TEMPLATE "{data.pg_name}"')
        copy_seconds = time.perf_counter() - started
    engine = make_engine(tracking.pg_url(part_name))
    try:
        started = time.perf_counter()
        months = partition_by_month(engine)
        seconds = time.perf_counter() - started
        tracking._settle(engine)
    finally:
        engine.dispose()
    figures = {
        "months": [m.isoformat() for m in months],
        "copy_seconds": copy_seconds,
        "partition_seconds": seconds,
    }
    figures_path.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return tracking.pg_url(data.pg_name), tracking.pg_url(part_name), figures


def _exists(name: str) -> bool:
    with psycopg.connect(tracking.pg_admin_conninfo(), autocommit=True) as conn:
        return (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            is not None
        )


def read_cases(engine: Engine, settings: Settings, sdr: str) -> list[diagnose.Case]:
    """The timed reads on one database; each returns what the page shows."""
    window = diagnosis_window(settings, settings.diagnose.window, tracking.AS_OF)
    page, page_values = tracking.paceline_read(engine, settings, tracking.AS_OF)

    def manager_page() -> object:
        page()
        return page_values()

    by_name = dict(diagnose.cases(engine, settings, window, sdr))
    return [("scorecards + leaderboard", manager_page), *((n, by_name[n]) for n in READS)]


def time_reads(
    engines: dict[str, Engine], settings: Settings, runs: int
) -> tuple[dict[str, Any], list[str], int]:
    """Both databases' reads interleaved: the timings, the reads that differ, and how many
    floats differed only in their last bits (sums of durations added in another order)."""
    window = diagnosis_window(settings, settings.diagnose.window, tracking.AS_OF)
    sdr, _ = diagnose.first_sdr(engines["plain"], settings, window)
    named: list[diagnose.Case] = []
    for label, engine in engines.items():
        rollup.ensure_rollup(engine, settings)
        named += [(f"{label}: {name}", read) for name, read in read_cases(engine, settings, sdr)]
    problems, rounding = [], 0
    cases = dict(named)
    for name, read in read_cases(engines["plain"], settings, sdr):
        differ = Differences()
        differ.walk(read(), cases[f"partitioned: {name}"]())
        rounding += differ.rounding
        if differ.found:
            problems.append(
                f"{name}: the partitioned database read other values: {differ.found[0]}"
            )
    return diagnose.time_cases(named, runs), problems, rounding


class Differences:
    """Walks two results side by side: values that differ, and floats equal to 1e-9."""

    def __init__(self) -> None:
        self.found: list[str] = []
        self.rounding = 0

    def walk(self, a: Any, b: Any, path: str = "") -> None:
        if isinstance(a, float) and isinstance(b, float):
            if a != b and math.isclose(a, b, rel_tol=1e-9):
                self.rounding += 1
            elif a != b and not (math.isnan(a) and math.isnan(b)):
                self.found.append(f"{path}: {a!r} against {b!r}")
        elif dataclasses.is_dataclass(a) and type(a) is type(b):
            for f in dataclasses.fields(a):
                self.walk(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
        elif isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                self.walk(x, y, f"{path}[{i}]")
        elif isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys():
            for key in a:
                self.walk(a[key], b[key], f"{path}[{key!r}]")
        elif a != b:
            self.found.append(f"{path}: {a!r} against {b!r}"[:300])


def rebuild_whole(engine: Engine, settings: Settings) -> float:
    """Seconds for the rebuild a changed definition triggers: every aggregate, one statement
    set, one transaction."""
    started = time.perf_counter()
    with engine.begin() as conn:
        rollup._take_lock(conn)
        rollup._rebuild(conn, settings, rollup.fingerprint(settings))
    return time.perf_counter() - started


def history_months(engine: Engine) -> list[dt.date]:
    """The first day of every month that holds an activity."""
    with engine.connect() as conn:
        first, last = conn.execute(
            select(func.min(Activity.local_date), func.max(Activity.local_date))
        ).one()
    return month_starts(first, last)


def rebuild_by_month(
    engine: Engine, settings: Settings, months: Sequence[dt.date]
) -> list[tuple[str, float]]:
    """The same aggregates rebuilt one month at a time (`rollup.rebuild_days`, one
    transaction per month): (month, seconds) per month."""
    timings = []
    for month in months:
        end = (month + dt.timedelta(days=32)).replace(day=1)
        started = time.perf_counter()
        rollup.rebuild_days(engine, settings, aggregates.DayRange(month, end))
        timings.append((month.isoformat(), time.perf_counter() - started))
    return timings


def aggregate_rows(
    engine: Engine, table: str, month: dt.date | None = None
) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """An aggregate table's rows (those of `month` only, for a table keyed by day): key ->
    the other columns."""
    key = AGGREGATES[table].split(", ")
    where = ""
    if month is not None and "local_date" in key:
        end = (month + dt.timedelta(days=32)).replace(day=1)
        where = f" WHERE local_date >= '{month.isoformat()}' AND local_date < '{end.isoformat()}'"
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT * FROM {table}{where}")).mappings()
        return {
            tuple(r[k] for k in key): tuple(v for k, v in r.items() if k not in key) for r in rows
        }


def sizes(engine: Engine) -> dict[str, int]:
    """Bytes of `activity`'s rows and of its indexes (its partitions' on the partitioned
    database), and of `activity_key` with its index (0 when there is none). The aggregates
    are left out: the rebuilds before this leave their dead rows in the files."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.relname = 'activity_key', sum(pg_table_size(c.oid)), "
                "sum(pg_indexes_size(c.oid)) FROM pg_class c "
                "WHERE c.relkind = 'r' AND (c.relname = 'activity' "
                "OR c.relname LIKE 'activity\\_%') GROUP BY 1"
            )
        ).all()
    found = {"activity_rows": 0, "activity_indexes": 0, "activity_key": 0}
    for is_key, table, indexes in rows:
        if is_key:
            found["activity_key"] = int(table) + int(indexes)
        else:
            found["activity_rows"], found["activity_indexes"] = int(table), int(indexes)
    return found


def measure(rows: int, runs: int, rebuild: str = "all") -> dict[str, Any]:
    settings = default_settings()
    plain_url, part_url, conversion = prepare(rows, settings)
    engines = {"plain": make_engine(plain_url), "partitioned": make_engine(part_url)}
    problems: list[str] = []
    try:
        load_before = os.getloadavg()
        timings, differ, read_rounding = time_reads(engines, settings, runs)
        problems += differ
        rounding = {"reads": read_rounding}
        window = diagnosis_window(settings, settings.diagnose.window, tracking.AS_OF)
        sdr, _ = diagnose.first_sdr(engines["partitioned"], settings, window)
        checked, found = diagnose.cross_check(engines["partitioned"], settings, window, sdr)
        problems += [f"partitioned: {p}" for p in found]
        load_reads = os.getloadavg()
        day = tracking.business_days_back(settings, tracking.AS_OF, 1)[0]
        refreshes = {
            label: tracking.refresh_one_day(e, settings, day) for label, e in engines.items()
        }
        every_month = history_months(engines["plain"])
        rebuilds, compared = {}, None
        if rebuild == "all":
            rebuilds = {
                "plain: whole": rebuild_whole(engines["plain"], settings),
                "partitioned: whole": rebuild_whole(engines["partitioned"], settings),
            }
            chosen = every_month
        else:  # the last month whose days are all in the history
            compared = every_month[-2]
            chosen = [compared]
        months = {label: rebuild_by_month(e, settings, chosen) for label, e in engines.items()}
        counts: dict[str, int] = {}
        for table in AGGREGATES:
            differ = Differences()
            plain_rows = aggregate_rows(engines["plain"], table, compared)
            part_rows = aggregate_rows(engines["partitioned"], table, compared)
            counts[table] = len(plain_rows)
            if plain_rows.keys() != part_rows.keys():
                problems.append(f"{table}: other keys on the partitioned database")
            else:
                differ.walk(plain_rows, part_rows, table)
            problems += [f"after the rebuilds: {p}" for p in differ.found[:5]]
            rounding[table] = differ.rounding
        for engine in engines.values():
            tracking._settle(engine)
        size = {label: sizes(engine) for label, engine in engines.items()}
    finally:
        for engine in engines.values():
            engine.dispose()
    return {
        "benchmark": NAME,
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "rows": rows,
        "runs": runs,
        "load_average": {"before": load_before, "after_reads": load_reads, "end": os.getloadavg()},
        "conversion": conversion,
        "reads": timings,
        "checked_values": checked,
        "day_refresh": refreshes,
        "rebuild_seconds": rebuilds,
        "rebuild_by_month": months,
        "aggregate_rows": counts,
        "compared_month": compared,
        "last_bit_differences": rounding,
        "sizes": size,
        "problems": problems,
    }


def report(figures: dict[str, Any]) -> str:
    reads = figures["reads"]
    names = [n.split(": ", 1)[1] for n in reads if n.startswith("plain: ")]
    lines = [
        f"PostgreSQL, {figures['rows']:,} activities: plain against partitioned by month "
        f"({', '.join(figures['conversion']['months'])} + default), ms, median and min of "
        f"{figures['runs']} warm rounds (load average {figures['load_average']['before'][0]:.1f} "
        f"before, {figures['load_average']['after_reads'][0]:.1f} after)",
        f"{'case':32} {'plain':>10} {'min':>8} {'partitioned':>12} {'min':>8} {'ratio':>7}",
    ]
    for name in names:
        a, b = reads[f"plain: {name}"], reads[f"partitioned: {name}"]
        lines.append(
            f"{name:32} {a['median_ms']:10,.0f} {a['min_ms']:8,.0f} {b['median_ms']:12,.0f} "
            f"{b['min_ms']:8,.0f} {b['median_ms'] / a['median_ms']:7.2f}"
        )
    lines.append("")
    conv = figures["conversion"]
    lines.append(
        f"Conversion: copy {conv['copy_seconds']:.1f} s, "
        f"partition_by_month {conv['partition_seconds']:.1f} s"
    )
    for label, refresh in figures.get("day_refresh", {}).items():
        lines.append(
            f"A day's refresh, {label}: {refresh['activities']:,} activities touched in "
            f"{refresh['update_seconds']:.1f} s, {refresh['rep_days']:,} rep-days refreshed "
            f"in {refresh['seconds']:.1f} s"
        )
    for label, seconds in figures["rebuild_seconds"].items():
        lines.append(f"Rebuild, {label}: {seconds:.1f} s")
    for label, months in figures["rebuild_by_month"].items():
        lines.append(
            f"Rebuild, {label}, month by month: "
            + ", ".join(f"{m[:7]} {s:.1f} s" for m, s in months)
            + f" (sum {sum(s for _, s in months):.1f} s)"
        )
    month = figures.get("compared_month")
    scope = f" (those of {month}, prospect_step all)" if month else ""
    lines.append(f"Aggregate rows{scope}: {figures['aggregate_rows']}")
    lines.append(
        "Floats equal to 1e-9 but not to the last bit (sums in another order): "
        f"{figures['last_bit_differences']}"
    )
    lines.append(f"Sizes (bytes): {figures['sizes']}")
    lines.append(
        f"Checked: {figures['checked_values']:,} aggregate values against raw SQL "
        "on the partitioned database"
    )
    lines += [f"PROBLEM: {p}" for p in figures["problems"]]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--partitioned-runs",
        type=int,
        default=DEFAULT_RUNS,
        help=f"partitioned: timed rounds after the warm-up (default {DEFAULT_RUNS})",
    )
    parser.add_argument(
        "--partitioned-rebuild",
        choices=REBUILDS,
        default="all",
        help="partitioned: rebuild everything, whole and month by month (default), or only "
        "the last complete month (last-month, for 10M)",
    )
    with contextlib.suppress(argparse.ArgumentError):
        parser.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")


def run(args: argparse.Namespace) -> int:
    if args.no_postgres:
        print("partitioned: PostgreSQL only, skipped (--no-postgres)")
        return 0
    up, why = tracking.pg_server()
    if not up:
        print(f"partitioned: skipped: {why}")
        return 0
    figures = measure(
        args.rows or DEFAULT_ROWS, max(1, args.partitioned_runs), args.partitioned_rebuild
    )
    benchkit.save(RESULTS, figures)
    print(report(figures))
    return 1 if figures["problems"] else 0


def main(argv: Sequence[str] | None = None) -> int:
    return benchkit.standalone(__doc__ or NAME, add_arguments, run, argv, rows=tracking.parse_scale)


if __name__ == "__main__":
    sys.exit(main())
