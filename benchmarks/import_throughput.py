"""Import throughput: rows per second for a generic activities CSV, SQLite and PostgreSQL.

What is measured (each case in a fresh child process, so its peak RSS is its own):

- ``sqlite fresh``      `import_csv` into an empty, migrated SQLite file database.
- ``postgresql fresh``  the same into a freshly created PostgreSQL database (created and
                        dropped here; skipped, with the reason, when no server answers).
- ``postgresql re-import``  the same file again into that PostgreSQL database.
- ``sqlite re-import``  the same file again into the SQLite database of the first case:
                        every row is unchanged, so this measures the idempotency check.
- ``floor (csv+sqlite3)`` the raw floor on the same file: stdlib `csv` reading it and `sqlite3`
                        `executemany` of the raw string tuples into a plain table with no
                        constraints, no parsing, no checks. It is what any importer pays just
                        to read the file and write the rows; it is *not* a competitor.

The file is generated deterministically (numpy, fixed seed): ~200 reps, ~20,000 accounts,
kinds and outcomes from the default configuration, ISO timestamps over 15 months, durations,
Asks, a few notes, unique external ids. Timing is the importer's own `ImportResult.seconds`
(opening the file to the last commit); migrations and file generation are not timed.

Run it through ``benchmarks/run.py`` (``make bench``) or directly:
``python benchmarks/import_throughput.py --rows 200000``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import math
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import benchkit

if TYPE_CHECKING:
    import numpy as np


NAME = "import_throughput"
DEFAULT_ROWS = 1_000_000
DEFAULT_SCALE_ROWS = 200_000
SEED = 20_260_101
REPS = 200
ACCOUNTS = 20_000
FIRST_DAY = dt.date(2025, 10, 1)
DAYS = 456  # 15 months: 2025-10-01 .. 2026-12-30
IMPORTED_AT = dt.datetime(2027, 1, 1)  # naive UTC "now" of the import, after the last row
CHUNK = 50_000
FLOOR_BATCH = 10_000
FLOOR = "floor (csv+sqlite3)"
TARGET_SQLITE = 100_000  # rows/s for a fresh import, SQLite and PostgreSQL (issue 17)
TARGET_FLOOR_RATIO = 0.45  # ... and on SQLite this share of the floor's rows/s, same run
PG_ADMIN_URL = os.environ.get("PACELINE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
RESULTS = Path(__file__).resolve().parent / "results" / f"{NAME}.json"
HEADER = [
    "external_id",
    "rep",
    "kind",
    "occurred_at",
    "duration_min",
    "outcome",
    "has_ask",
    "engaged",
    "account",
    "account_ref",
    "contact",
    "deal_ref",
    "notes",
]

# --- the generated file ----------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.split()


FIRST_NAMES = _words(
    "Ana Ben Carla Dev Elena Farid Grace Hugo Ines Jon Kemi Liam Maya Nils Olga Pablo Quinn "
    "Rosa Sam Tara Uma Victor Wen Xavi Yara Zoe Amir Bea Cole Dana"
)
LAST_NAMES = _words(
    "Ruiz Ode Silva Patel Novak Haddad Kim Moreau Costa Berg Adeyemi Walsh Chen Larsen "
    "Ivanova Ortiz Reyes Singh Okafor Rossi Tanaka Weber Khan Duarte Lind"
)
ACCOUNT_WORDS = _words(
    "Acme Apex Blue Bright Cedar Coastal Crown Delta Eagle Echo Falcon First Global Golden "
    "Granite Harbor Horizon Iron Keystone Lake Liberty Maple Metro Noble North Oak Pacific "
    "Peak Pioneer Prime Quantum River Rock Summit Sun Titan Union Valley Vertex West"
)
ACCOUNT_NOUNS = _words(
    "Analytics Bakery Builders Capital Clinic Consulting Dental Design Energy Engineering "
    "Farms Foods Freight Health Homes Hotels Insurance Labs Logistics Media Motors "
    "Outfitters Partners Pharma Plastics Printing Realty Robotics Software Solar Staffing "
    "Steel Systems Textiles Travel Ventures Water Wireless Works"
)
ACCOUNT_SUFFIXES = [
    "",
    " & Sons",
    *(" " + word for word in _words("Inc LLC Ltd Group Co GmbH Corp Holdings PLC AG Services USA")),
]
NOTES = [
    "left a voicemail, try again Thursday",
    "asked for pricing; sending the deck",
    "decision maker out until next week",
    'said "call me in Q3"',
    "wants a demo for the ops team",
    "renewal coming up, check usage",
    "referred by existing customer",
    "no budget this quarter",
]
# Typical outcomes and duration (median minutes) per kind; anything else draws from all.
KIND_OUTCOMES = {
    "call": ["no_answer", "voicemail", "gatekeeper", "conversation", "not_interested"],
    "meeting": ["held", "no_show", "meeting_set", "opportunity_created"],
    "discovery_meeting": ["held", "no_show", "opportunity_created"],
    "video_meeting": ["held", "no_show", "meeting_set"],
    "email": ["sent", "replied"],
    "letter": ["sent"],
    "social_message": ["sent", "replied"],
    "proposal": ["sent", "proposal_reviewed"],
    "follow_up": ["sent", "replied", "conversation", "meeting_set"],
}
KIND_MINUTES = {
    "call": 4,
    "email": 3,
    "social_message": 2,
    "follow_up": 5,
    "meeting": 45,
    "discovery_meeting": 50,
    "video_meeting": 30,
}
KIND_WEIGHT = {"call": 30, "email": 20, "follow_up": 8, "social_message": 6, "crm_update": 6}


def _unique_names(
    rng: np.random.Generator, parts: Sequence[Sequence[str]], count: int
) -> list[str]:
    sizes = [len(p) for p in parts]
    total = math.prod(sizes)
    assert count <= total, f"only {total} distinct names for {count}"
    picks = rng.choice(total, size=count, replace=False)
    names = []
    for flat in picks.tolist():
        words = []
        for part, size in zip(reversed(parts), reversed(sizes), strict=True):
            flat, at = divmod(flat, size)
            words.append(part[at])
        names.append("".join(reversed(words)))
    return names


def generate_csv(path: Path, rows: int, seed: int = SEED) -> dict[str, Any]:
    """Write `rows` activities in the generic format to `path`; same seed, same bytes."""
    import numpy as np

    from paceline.config import default_settings

    settings = default_settings()
    rng = np.random.default_rng(seed)
    reps = _unique_names(rng, [FIRST_NAMES, [" "], LAST_NAMES], REPS)
    accounts = _unique_names(rng, [ACCOUNT_WORDS, [" "], ACCOUNT_NOUNS, ACCOUNT_SUFFIXES], ACCOUNTS)
    kinds = [k.name for k in settings.kinds]
    selling = np.array([k.selling for k in settings.kinds])
    kind_weights = np.array([KIND_WEIGHT.get(k, 2) for k in kinds], dtype=float)
    kind_weights /= kind_weights.sum()
    # Accounts are worked unevenly: a Zipf-like popularity over the 20,000.
    popularity = 1.0 / np.arange(1, ACCOUNTS + 1) ** 0.8
    popularity /= popularity.sum()
    # Reps log at different rates too.
    rep_weights = rng.gamma(4.0, 1.0, REPS)
    rep_weights /= rep_weights.sum()
    workdays = np.array(
        [d for d in range(DAYS) if (FIRST_DAY + dt.timedelta(d)).weekday() < 5], dtype=np.int64
    )
    epoch0 = np.datetime64(FIRST_DAY.isoformat(), "s")
    # Only outcomes that fit the kind, and an Ask wherever the outcome implies one: the
    # importer rejects contradictory rows, and a benchmark row must be a valid row.
    outcome_lists = [
        KIND_OUTCOMES.get(k, [o.name for o in settings.outcomes if o.kinds is None or k in o.kinds])
        for k in kinds
    ]

    written = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        while written < rows:
            n = min(CHUNK, rows - written)
            # Rows come in time order, like a CRM export: chunk k covers its slice of the days.
            lo = len(workdays) * written // rows
            hi = max(lo + 1, len(workdays) * (written + n) // rows)
            days = np.sort(rng.choice(workdays[lo:hi], size=n))
            seconds = days * 86_400 + rng.integers(8 * 60, 18 * 60, size=n) * 60
            order = np.argsort(seconds, kind="stable")
            stamps = np.datetime_as_string(epoch0 + seconds[order].astype("timedelta64[s]"))
            kind_ix = rng.choice(len(kinds), size=n, p=kind_weights)
            rep_ix = rng.choice(REPS, size=n, p=rep_weights)
            account_ix = rng.choice(ACCOUNTS, size=n, p=popularity)
            outcome_pick = rng.random(n)
            ask = rng.random(n) < 0.35
            minutes = np.round(rng.lognormal(0.0, 0.6, n), 1)
            has_note = rng.random(n) < 0.15
            note_ix = rng.integers(0, len(NOTES), n)
            for i in range(n):
                k = int(kind_ix[i])
                kind = kinds[k]
                customer_facing = bool(selling[k])
                choices = outcome_lists[k]
                outcome = (
                    choices[int(outcome_pick[i] * len(choices))]
                    if customer_facing and outcome_pick[i] < 0.97
                    else ""
                )
                ask[i] = ask[i] and customer_facing
                writer.writerow(
                    (
                        f"ACT-{written + i + 1:08d}",
                        reps[rep_ix[i]],
                        kind,
                        stamps[i],
                        f"{minutes[i] * KIND_MINUTES.get(kind, 10):.1f}",
                        outcome,
                        "yes" if ask[i] or outcome in settings.ask_outcomes else "no",
                        "",
                        accounts[account_ix[i]] if customer_facing else "",
                        "",
                        "",
                        "",
                        NOTES[note_ix[i]] if has_note[i] else "",
                    )
                )
            written += n
    return {
        "rows": rows,
        "seed": seed,
        "reps": REPS,
        "accounts": ACCOUNTS,
        "bytes": path.stat().st_size,
    }


# --- the cases (each run in a child process) -------------------------------------------------


def _peak_rss_mb() -> float:
    """This process's peak resident memory, in MB.

    On Linux this is VmHWM from /proc: `getrusage(RUSAGE_SELF).ru_maxrss` carries the peak of
    the process image replaced by exec over, so in a child started by subprocess it would
    report the parent's peak (numpy, the generator) instead of the child's own.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _cpu_seconds() -> float:
    """CPU time (user + system) of this process so far, and of its children that ended
    (the import's checking process, `ingest.pipeline`): on a machine shared with other work
    the wall time of a case moves with the load, its CPU time much less (PostgreSQL's server
    process is not counted: it is another process)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime + _children_cpu_seconds()


def _children_cpu_seconds() -> float:
    """CPU time (user + system) of this process's children that ended."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _server_cpu(url: str) -> dict[int, float] | None:
    """CPU seconds so far of each client backend of PostgreSQL serving `url`'s database, by
    process id, read from /proc (so only for a server on this machine, readable by this
    user); None when they cannot be read. Autovacuum's workers are not counted."""
    if not url.startswith("postgresql"):
        return None
    import psycopg
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    admin = make_url(PG_ADMIN_URL).set(drivername="postgresql")
    try:
        with psycopg.connect(
            admin.render_as_string(hide_password=False), autocommit=True, connect_timeout=3
        ) as conn:
            pids = [
                int(row[0])
                for row in conn.execute(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = %s AND backend_type = 'client backend'",
                    (database,),
                )
            ]
        tick = os.sysconf("SC_CLK_TCK")
        used = {}
        for pid in pids:
            with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            used[pid] = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    except (OSError, ValueError, psycopg.Error):
        return None
    return used


def _import(url: str, csv_path: Path, work: Path, migrate: bool) -> dict[str, Any]:
    from paceline.config import default_settings
    from paceline.ingest.importer import ImportOptions, import_csv
    from paceline.store.engine import make_engine
    from paceline.store.migrate import upgrade

    settings = default_settings()
    engine = make_engine(url)
    try:
        if migrate:
            upgrade(engine)
        rss_before = _peak_rss_mb()
        # The file runs to the end of 2026: "now" is fixed after it, whatever the clock says.
        options = ImportOptions(errors_path=work / "errors.csv", now=IMPORTED_AT)
        server_before = _server_cpu(url)
        cpu_before, child_before = _cpu_seconds(), _children_cpu_seconds()
        result = import_csv(engine, settings, csv_path, "activities", options=options)
        cpu_seconds = _cpu_seconds() - cpu_before
        child_seconds = _children_cpu_seconds() - child_before
        server_after = _server_cpu(url)  # before the pool's connections close
    finally:
        engine.dispose()
    return {
        "rows": result.read,
        "seconds": result.seconds,
        "inserted": result.inserted,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "rejected": result.rejected,
        "new_reps": len(result.new_reps),
        "new_accounts": result.new_accounts,
        "rss_before_mb": rss_before,
        "cpu_seconds": cpu_seconds,
        # Of which the checking process's (a second core's, while this process writes).
        "child_cpu_seconds": child_seconds,
        "server_cpu_seconds": (
            None
            if server_before is None or server_after is None
            else sum(cpu - server_before.get(pid, 0.0) for pid, cpu in server_after.items())
        ),
    }


def _floor(csv_path: Path, db_path: Path) -> dict[str, Any]:
    """The raw floor: stdlib csv into a plain sqlite3 table, same pragmas, no checks at all."""
    started = time.perf_counter()
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    with csv_path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        columns = ", ".join(f'"{c}" TEXT' for c in header)
        conn.execute(f"CREATE TABLE raw ({columns})")
        insert = f"INSERT INTO raw VALUES ({', '.join('?' * len(header))})"
        rows = 0
        batch: list[list[str]] = []
        for row in reader:
            batch.append(row)
            if len(batch) >= FLOOR_BATCH:
                with conn:
                    conn.executemany(insert, batch)
                rows += len(batch)
                batch = []
        if batch:
            with conn:
                conn.executemany(insert, batch)
            rows += len(batch)
    conn.close()
    return {"rows": rows, "seconds": time.perf_counter() - started}


def _child(argv: Sequence[str]) -> int:
    """`--child CASE`: run one case and print its figures as JSON on the last line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", required=True, choices=["import", "reimport", "floor"])
    parser.add_argument("--csv", type=Path, required=True)
    parser.add_argument("--url", default="")
    parser.add_argument("--work", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.child == "floor":
        rss_before = _peak_rss_mb()
        cpu_before = _cpu_seconds()
        figures = _floor(args.csv, args.work / "floor.db")
        figures["cpu_seconds"] = _cpu_seconds() - cpu_before
        figures["rss_before_mb"] = rss_before
    else:
        figures = _import(args.url, args.csv, args.work, migrate=args.child == "import")
    figures["peak_rss_mb"] = _peak_rss_mb()
    print(json.dumps(figures))
    return 0


def _run_child(
    case: str, csv_path: Path, work: Path, timeout: float, url: str = ""
) -> dict[str, Any]:
    """One case in a fresh interpreter: its figures, or {"failed": why}."""
    command = [sys.executable, __file__, "--child", case, "--csv", str(csv_path)]
    command += ["--work", str(work), "--url", url]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"failed": f"timed out after {timeout:g}s (--case-timeout)"}
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1:] or ["no error output"]
        return {"failed": f"exit status {done.returncode}: {last[0]}", "stderr": done.stderr}
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    figures["rows_per_second"] = figures["rows"] / figures["seconds"]
    return figures


# --- PostgreSQL: a throw-away database ------------------------------------------------------


def _pg_database() -> tuple[str | None, str, str]:
    """(url of a fresh database or None, server version or the reason it is skipped, name)."""
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(PG_ADMIN_URL)
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"paceline_bench_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=3) as conn:
            version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, f"no PostgreSQL server answers at {PG_ADMIN_URL}: {reason}", name
    return admin.set(database=name).render_as_string(hide_password=False), version, name


def _drop_pg_database(name: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    conninfo = make_url(PG_ADMIN_URL).set(drivername="postgresql")
    with psycopg.connect(
        conninfo.render_as_string(hide_password=False), autocommit=True, connect_timeout=3
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- orchestration ---------------------------------------------------------------------------


def _cases(
    rows: int, work: Path, full: bool, with_pg: bool, timeout: float
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(case, figures) in order; `full` adds PostgreSQL (if `with_pg`) and the re-import."""
    csv_path = work / f"activities_{rows}.csv"
    started = time.perf_counter()
    file_info = generate_csv(csv_path, rows)
    _log(
        f"  generated {rows:,} rows ({file_info['bytes'] / 1e6:.0f} MB) "
        f"in {time.perf_counter() - started:.1f}s"
    )
    yield "file", file_info

    sqlite_dir = work / f"sqlite_{rows}"
    sqlite_dir.mkdir()
    sqlite_url = f"sqlite:///{sqlite_dir / 'paceline.db'}"
    fresh = _run_child("import", csv_path, sqlite_dir, timeout, sqlite_url)
    yield "sqlite fresh", fresh

    if full and with_pg:
        pg_dir = work / f"pg_{rows}"
        pg_dir.mkdir()
        url, version, name = _pg_database()
        if url is None:
            yield "postgresql fresh", {"skipped": version}
        else:
            try:
                figures = _run_child("import", csv_path, pg_dir, timeout, url)
                figures["server_version"] = version
                yield "postgresql fresh", figures
                if "failed" not in figures:
                    yield (
                        "postgresql re-import",
                        _run_child("reimport", csv_path, pg_dir, timeout, url),
                    )
            finally:
                _drop_pg_database(name)

    if full:
        if "failed" in fresh:
            yield "sqlite re-import", {"skipped": "the fresh SQLite import failed"}
        else:
            yield (
                "sqlite re-import",
                _run_child("reimport", csv_path, sqlite_dir, timeout, sqlite_url),
            )

    floor_dir = work / f"floor_{rows}"
    floor_dir.mkdir()
    yield FLOOR, _run_child("floor", csv_path, floor_dir, timeout)
    csv_path.unlink()


def _log(text: str) -> None:
    print(text, flush=True)


def _describe(figures: dict[str, Any]) -> str:
    if "skipped" in figures:
        return f"skipped: {figures['skipped']}"
    if "failed" in figures:
        return f"FAILED: {figures['failed']}"
    return (
        f"{figures['rows_per_second']:,.0f} rows/s ({figures['seconds']:.1f}s, "
        f"peak RSS {figures['peak_rss_mb']:.0f} MB)"
    )


def _check(case: str, rows: int, figures: dict[str, Any]) -> list[str]:
    """The benchmark is only meaningful if the import did what it should."""
    expected = {"sqlite fresh": "inserted", "postgresql fresh": "inserted"}
    expected["sqlite re-import"] = expected["postgresql re-import"] = "unchanged"
    field = expected.get(case)
    problems = []
    if figures.get("rows") != rows:
        problems.append(f"{case}: read {figures.get('rows')} rows, expected {rows}")
    if field and figures.get(field) != rows:
        problems.append(f"{case}: {field} = {figures.get(field)}, expected {rows}")
    return problems


def measure(
    rows: int, scale_rows: int, with_pg: bool = True, timeout: float = 3600
) -> dict[str, Any]:
    """Run every case at `rows` (and the SQLite scaling check at `scale_rows`); the figures."""
    sizes = [rows] + ([scale_rows] if 0 < scale_rows < rows else [])
    runs: list[dict[str, Any]] = []
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="paceline-bench-") as tmp:
        for size in sorted(sizes):
            main = size == rows
            _log(f"{size:,} rows{'' if main else ' (scaling check: SQLite and floor only)'}:")
            work = Path(tmp) / str(size)
            work.mkdir()
            cases: dict[str, dict[str, Any]] = {}
            for case, figures in _cases(size, work, main, with_pg, timeout):
                cases[case] = figures
                if case == "file":
                    continue
                _log(f"  {case}: {_describe(figures)}")
                if "failed" in figures:
                    problems.append(f"{case} at {size:,} rows: {figures['failed']}")
                elif "skipped" not in figures:
                    problems += _check(case, size, figures)
            floor = cases[FLOOR].get("rows_per_second")
            floor_cpu = cases[FLOOR].get("cpu_seconds")
            for figures in cases.values():
                if "rows_per_second" in figures and floor:
                    figures["ratio_to_floor"] = figures["rows_per_second"] / floor
                if figures.get("cpu_seconds") and floor_cpu:
                    figures["cpu_ratio_to_floor"] = floor_cpu / figures["cpu_seconds"]
            runs.append({"rows": size, "cases": cases})
    return {
        "benchmark": NAME,
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": benchkit.machine(),
        "target_rows_per_second_sqlite": TARGET_SQLITE,
        "target_floor_ratio": TARGET_FLOOR_RATIO,
        "runs": runs,
        "problems": problems,
    }


def report(figures: dict[str, Any]) -> str:
    """The figures as a plain-text table, one block per file size."""
    lines = []
    head = (
        f"{'case':<22}{'rows':>11}{'seconds':>9}{'rows/s':>10}{'x floor':>9}"
        f"{'CPU s':>8}{'x floor':>9}{'server s':>9}{'peak RSS':>10}{'growth':>8}"
    )
    for run in figures["runs"]:
        lines += ["", f"Import throughput, {run['rows']:,} activities (generic CSV)", head]
        lines.append("-" * len(head))
        for case, f in run["cases"].items():
            if case == "file":
                continue
            if "rows_per_second" not in f:
                lines.append(f"{case:<22}  {_describe(f)}")
                continue
            lines.append(
                f"{case:<22}{f['rows']:>11,}{f['seconds']:>9.1f}{f['rows_per_second']:>10,.0f}"
                f"{f.get('ratio_to_floor', math.nan):>9.2f}{f.get('cpu_seconds', math.nan):>8.1f}"
                f"{f.get('cpu_ratio_to_floor', math.nan):>9.2f}{_server(f):>9}"
                f"{f['peak_rss_mb']:>8.0f}MB"
                f"{f['peak_rss_mb'] - f['rss_before_mb']:>6.0f}MB"
            )
        children = [
            f"{case} {f['child_cpu_seconds']:.1f}"
            for case, f in run["cases"].items()
            if isinstance(f, dict) and f.get("child_cpu_seconds")
        ]
        if children:
            lines.append(f"of the CPU s, the checking process's: {', '.join(children)}")
    lines += [
        "",
        "x floor = rows/s divided by the floor's rows/s. The floor (stdlib csv + sqlite3",
        "executemany of raw strings into a plain table, no parsing or checks) is the cost of",
        "reading the file and writing rows at all: a lower bound, not a competitor.",
        "CPU s = CPU time of the case's process and of the process that reads and checks",
        "a large file beside it (ingest.pipeline; PostgreSQL's server not included); its",
        "x floor = the floor's CPU time divided by the case's: the speed ratio with the",
        "machine's other load taken out. server s = CPU time of the PostgreSQL backends",
        "serving the import (a server on this machine only; autovacuum not included).",
        "peak RSS = peak resident memory of the case's own process (interpreter and libraries",
        "included); growth = how much of it came during the import itself.",
        "",
        "Goals (issue 17):",
    ]
    lines += [f"  {'met    ' if ok else 'NOT met'}  {text}" for text, ok in verdicts(figures)]
    lines += [f"PROBLEM: {p}" for p in figures["problems"]]
    m = figures["machine"]
    lines.append(
        f"Machine: {m['cpu']}, {m['cpus']} CPUs; Python {m['python']}, SQLite {m['sqlite']}, "
        f"SQLAlchemy {m['sqlalchemy']}; source {m['commit'] or 'unknown'}"
    )
    if hasattr(os, "getloadavg"):  # the wall times move with it: compare within a run
        lines.append("Load average at the end: " + " / ".join(f"{x:.1f}" for x in os.getloadavg()))
    return "\n".join(lines)


def _server(f: dict[str, Any]) -> str:
    """The server CPU seconds of a PostgreSQL case, or "-" (SQLite, or not readable)."""
    seconds = f.get("server_cpu_seconds")
    return "-" if seconds is None else f"{seconds:.1f}"


def verdicts(figures: dict[str, Any]) -> list[tuple[str, bool]]:
    """The import goals, each with whether this run met it: a fresh import of the largest
    file at TARGET_ROWS_PER_SECOND or more on each database, and on SQLite at least
    TARGET_FLOOR_RATIO of the floor measured in the same run (the machine's speed, shared
    with other work, moves both alike)."""
    run = figures["runs"][-1] if figures["runs"] else {"rows": 0, "cases": {}}
    cases = run["cases"]
    out: list[tuple[str, bool]] = []
    for case, name in (("sqlite fresh", "SQLite"), ("postgresql fresh", "PostgreSQL")):
        f = cases.get(case, {})
        if "rows_per_second" not in f:
            why = f.get("skipped") or f.get("failed") or "not run"
            out.append((f"{name} fresh import: {why}", False))
            continue
        rate, ratio = f["rows_per_second"], f.get("ratio_to_floor", math.nan)
        out.append(
            (
                f"{name} fresh import of {run['rows']:,} rows at {TARGET_SQLITE:,} rows/s or "
                f"more: {rate:,.0f} rows/s ({rate / TARGET_SQLITE:.2f} of the goal)",
                rate >= TARGET_SQLITE,
            )
        )
        if case == "sqlite fresh":
            out.append(
                (
                    f"SQLite fresh import at {TARGET_FLOOR_RATIO:.2f}x the floor or more "
                    f"(same run): x{ratio:.2f} ({ratio / TARGET_FLOOR_RATIO:.2f} of the goal)",
                    ratio >= TARGET_FLOOR_RATIO,
                )
            )
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """This benchmark's own options (``--rows`` is shared, added by the caller)."""
    parser.add_argument(
        "--scale-rows",
        type=int,
        default=DEFAULT_SCALE_ROWS,
        help="import_throughput: also run SQLite and the floor at this size, to show that "
        f"rows/s and memory hold with size (0: skip; default {DEFAULT_SCALE_ROWS:,})",
    )
    parser.add_argument(
        "--no-postgres", action="store_true", help="import_throughput: skip PostgreSQL"
    )
    parser.add_argument(
        "--case-timeout",
        type=float,
        default=3600,
        help="import_throughput: give up on a case after this many seconds (default 3600)",
    )


def run(args: argparse.Namespace) -> int:
    """Measure, print the table, write the JSON; non-zero when an import misbehaved."""
    rows = args.rows or DEFAULT_ROWS
    figures = measure(rows, args.scale_rows, not args.no_postgres, args.case_timeout)
    figures["goals"] = [{"goal": text, "met": ok} for text, ok in verdicts(figures)]
    print(report(figures))
    benchkit.save(RESULTS, figures)
    return 1 if figures["problems"] else 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--child" in argv:
        return _child(argv)
    return benchkit.standalone(__doc__, add_arguments, run, argv, rows=int)


if __name__ == "__main__":
    sys.exit(main())
