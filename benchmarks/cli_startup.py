"""CLI start-up: wall and CPU time of `paceline --help`, `log` and `summary`, before and after.

A command's start-up is mostly imports: the benchmark runs each command in a fresh interpreter,
as a user does, and reports the median wall time, the CPU time the child used (user + system;
on a shared, loaded machine the wall time mostly measures the other processes) and its peak
memory, and each command's CPU as a ratio to a bare interpreter's (`python -c pass`, measured
the same way in the same run): the ratio travels between machines and loads better than the
seconds do. `python -c "import sqlalchemy"` is measured too: the floor of any command that
opens the database, and `-c floor`, the floor of `log` itself (the same work written with its
libraries alone, `FLOOR_PROGRAM`). It also counts, in one more run each, the modules the
command imports (`-X importtime`) and the Python function calls it makes (`-m cProfile`):
neither depends on the machine's load, so they compare two trees on a shared machine where the
seconds cannot. With `--cli-before REV` it extracts that git revision's `src/` (with `git
archive`, touching no checkout) and measures it the same way beside the current checkout, e.g.
`--cli-before 38ec964` (the last commit before lazy imports).

Bytecode is cached under a temporary `PYTHONPYCACHEPREFIX` and each command runs once
unmeasured first, so both trees are timed from compiled modules, as an installed package is
(`PYTHONDONTWRITEBYTECODE` would otherwise make Python compile every module on every run).

Usage: `python benchmarks/cli_startup.py [--cli-runs 7] [--cli-before REV]`, or through
`benchmarks/run.py --only cli_startup`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
GNU_TIME = Path("/usr/bin/time")
TARGET_SECONDS = 0.3  # the goal for --help and log, wall time on an idle machine
BASELINE = "-c pass"  # a bare interpreter: the floor every command stands on
# Importing SQLAlchemy alone: the floor of any command that opens the database (`log`), since
# the CLI writes through the same service layer, on SQLAlchemy Core, as the API and the web.
SQLALCHEMY = "-c sqlalchemy"
GOALS = ("--help", "log")  # the commands the 0.3 s goal is for (summary is reported beside)
# The floor of `log` itself: what the libraries it must use cost for the same work, written as
# plainly as they allow. A Typer command with `log`'s parameters (Typer 0.29 builds a Pydantic
# `TypeAdapter` for each), a one-field Pydantic model (the configuration is Pydantic models),
# and one row written with SQLAlchemy Core to SQLite, its line printed without Rich. `log` over
# this is what Paceline adds: its configuration, its tables, its checks, its command list.
FLOOR = "-c floor"
FLOOR_PROGRAM = """
import datetime as dt, sys
import pydantic, sqlalchemy as sa, typer

rows = sa.Table(
    "activity", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("rep", sa.String(200)), sa.Column("kind", sa.String(64)),
    sa.Column("occurred_at", sa.DateTime),
)

class Settings(pydantic.BaseModel):
    default_rep: str | None = None

def log(
    kind: str = typer.Argument(...),
    db: str = typer.Option(..., "--db"),
    rep: str | None = typer.Option(None, "--rep"),
    account: str | None = typer.Option(None),
    ask: bool = typer.Option(False, "--ask"),
    outcome: str | None = typer.Option(None),
    at: dt.datetime | None = typer.Option(None),
    minutes: float | None = typer.Option(None, min=0),
    contact: str | None = typer.Option(None),
    notes: str | None = typer.Option(None),
    engaged: bool | None = typer.Option(None, "--engaged/--not-engaged"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    who = rep or Settings().default_rep
    engine = sa.create_engine(db)
    rows.create(engine, checkfirst=True)
    with engine.begin() as conn:
        new = conn.execute(sa.insert(rows).values(rep=who, kind=kind, occurred_at=at))
    sys.stdout.write(f"logged {kind} #{new.inserted_primary_key[0]} for {who}\\n")

typer.run(log)
"""


@dataclass(frozen=True)
class Timing:
    tree: str
    command: str
    runs: int
    wall_median_s: float
    cpu_median_s: float
    max_rss_mib: float | None  # None without GNU time
    modules: int  # modules imported (-X importtime), the interpreter's own included
    calls: int | None  # Python function calls (cProfile); None for the bare interpreter


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cli-runs", type=int, default=7, help="cli_startup: runs per command (median)"
    )
    parser.add_argument(
        "--cli-before",
        default=None,
        metavar="REV",
        help="cli_startup: also measure this git revision's src/ (e.g. main or a commit)",
    )


def _env(src: Path, pycache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    env["PYTHONPATH"] = str(src)
    env["PACELINE_TODAY"] = "2026-12-07"
    env.pop("PACELINE_CONFIG", None)
    env.pop("PACELINE_DB", None)
    return env


def _run_once(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, float | None]:
    """(wall s, CPU s, peak RSS MiB or None) of one child process: `paceline ARGS`, or with
    ARGS starting "-c", a bare `python -c ...`.

    The CPU time is the child's own (`os.wait4`, descendants included). Its peak memory is
    read by GNU time when there is one: a child started straight from this process reports
    this process's peak instead, which it inherits until it executes Python."""
    python_args = args if args[:1] == ["-c"] else ["-m", "paceline.cli", *args]
    command = [sys.executable, *python_args]
    with tempfile.TemporaryDirectory() as scratch:
        peak_file = Path(scratch) / "peak"
        if GNU_TIME.is_file():
            command = [str(GNU_TIME), "-f", "%M", "-o", str(peak_file), *command]
        with (Path(scratch) / "output").open("w+b") as output:
            started = time.perf_counter()
            child = subprocess.Popen(command, env=env, cwd=cwd, stdout=output, stderr=output)
            _, status, usage = os.wait4(child.pid, 0)
            wall = time.perf_counter() - started
            child.returncode = os.waitstatus_to_exitcode(status)
            if child.returncode != 0:
                output.seek(0)
                said = output.read().decode("utf-8", "replace")[-500:]
                raise RuntimeError(f"{' '.join(python_args)} failed: {said}")
        peak = int(peak_file.read_text().split()[-1]) / 1024 if peak_file.is_file() else None
    return wall, usage.ru_utime + usage.ru_stime, peak


def _counts(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, int | None]:
    """(modules imported, Python function calls) of `paceline ARGS` (or `python -c ...`)."""
    python_args = args if args[:1] == ["-c"] else ["-m", "paceline.cli", *args]
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *python_args],
        env=env, cwd=cwd, capture_output=True, text=True, check=True,
    )  # fmt: skip
    modules = sum(1 for line in done.stderr.splitlines() if line.startswith("import time:"))
    if args[:1] == ["-c"]:
        return modules - 1, None  # the first line is the report's header
    profiled = subprocess.run(
        [sys.executable, "-m", "cProfile", *python_args],
        env=env, cwd=cwd, capture_output=True, text=True, check=True,
    )  # fmt: skip
    found = re.search(r"(\d+) function calls", profiled.stdout)
    return modules - 1, int(found.group(1)) if found else None


def _measure(tree: str, src: Path, command: str, args: list[str], runs: int, work: Path) -> Timing:
    env = _env(src, work / f"pycache-{tree}")
    _run_once(args, env, work)  # compile and cache the bytecode, warm the page cache
    samples = [_run_once(args, env, work) for _ in range(runs)]
    modules, calls = _counts(args, env, work)
    return Timing(
        tree=tree,
        command=command,
        runs=runs,
        wall_median_s=round(statistics.median(s[0] for s in samples), 3),
        cpu_median_s=round(statistics.median(s[1] for s in samples), 3),
        max_rss_mib=max((round(s[2], 1) for s in samples if s[2] is not None), default=None),
        modules=modules,
        calls=calls,
    )


def _extract(revision: str, into: Path) -> Path:
    """`src/` of a git revision, unpacked into `into` with `git archive` (no checkout)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, "src"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into / "src"


def _prepare_database(src: Path, work: Path, name: str) -> str:
    """A SQLite database with one rep, made by the tree at `src`, for its `log` to write to:
    each tree its own, as an older tree refuses a database migrated past its own schema.

    Set up in a folder of its own: `init` writes a paceline.toml there, which the measured
    commands (run in `work`) must not read, an older tree rejecting newer keys."""
    url = f"sqlite:///{work / f'{name}.db'}"
    env = _env(src, work / f"pycache-setup-{name}")
    setup = work / f"setup-{name}"
    setup.mkdir()
    for args in (["--db", url, "init"], ["--db", url, "rep", "add", "Ana Ruiz", "--role", "sdr"]):
        subprocess.run(
            [sys.executable, "-m", "paceline.cli", *args],
            env=env,
            cwd=setup,
            check=True,
            capture_output=True,
        )
    return url


def run(args: argparse.Namespace) -> int:
    runs = max(1, args.cli_runs)
    with tempfile.TemporaryDirectory(prefix="paceline-cli-bench-") as tmp:
        work = Path(tmp)
        trees = {"current": ROOT / "src"}
        if args.cli_before:
            (work / "before").mkdir()
            trees = {f"before ({args.cli_before})": _extract(args.cli_before, work / "before")}
            trees["current"] = ROOT / "src"
        timings = []
        for at, (tree, src) in enumerate(trees.items()):
            url = _prepare_database(src, work, f"bench{at}")
            commands = {
                BASELINE: ["-c", "pass"],
                SQLALCHEMY: ["-c", "import sqlalchemy"],
                FLOOR: [
                    "-c",
                    FLOOR_PROGRAM,
                    "call",
                    "--db",
                    f"sqlite:///{work / f'floor{at}.db'}",
                    "--rep",
                    "Ana Ruiz",
                    "--at",
                    "2026-12-07",
                ],
                "--help": ["--help"],
                "log": ["--db", url, "log", "call", "--rep", "Ana Ruiz", "--at", "2026-12-07"],
                "summary": ["--db", url, "summary"],
            }
            timings += [
                _measure(tree, src, name, argv, runs, work) for name, argv in commands.items()
            ]
    load = os.getloadavg()[0]
    print(f"CLI start-up, median of {runs} runs (load average {load:.1f} on {os.cpu_count()} CPUs)")
    print(
        f"{'tree':<24} {'command':<13} {'wall s':>8} {'CPU s':>8} {'x pass':>7} {'peak MiB':>9}"
        f" {'modules':>8} {'calls':>9}"
    )
    bare = {t.tree: t.cpu_median_s for t in timings if t.command == BASELINE}
    for t in timings:
        ratio = t.cpu_median_s / bare[t.tree] if bare.get(t.tree) else float("nan")
        print(
            f"{t.tree:<24} {t.command:<13} {t.wall_median_s:>8.3f} {t.cpu_median_s:>8.3f} "
            f"{ratio:>7.1f} {'n/a' if t.max_rss_mib is None else f'{t.max_rss_mib:.1f}':>9}"
            f" {t.modules:>8} {'' if t.calls is None else f'{t.calls:,}':>9}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "cli_startup.json").write_text(
        json.dumps(
            {"runs": runs, "load_average": load, "timings": [asdict(t) for t in timings]},
            indent=2,
        ),
        "utf-8",
    )
    slow = [
        t
        for t in timings
        if t.tree == "current" and t.command in GOALS and t.cpu_median_s > TARGET_SECONDS
    ]
    floor = {t.tree: t.cpu_median_s for t in timings if t.command == FLOOR}
    for t in timings:
        if t.command == "log" and floor.get(t.tree):
            print(f"{t.tree}: log uses {t.cpu_median_s / floor[t.tree]:.2f}x the floor's CPU")
    for t in slow:
        print(f"note: {t.command} uses {t.cpu_median_s:.2f} s of CPU, over {TARGET_SECONDS} s")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=None, help=argparse.SUPPRESS)
    add_arguments(parser)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
