"""What every benchmark module shares: the machine and source tree it measured, where its
figures go, and how it runs on its own.

Each module once carried its own copy of these few lines; they had begun to differ (one
wrote its JSON without `default=str`, another forgot the "Figures written" line), and a
reader comparing two runs needs every module to describe its machine the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def commit() -> str | None:
    """The source tree measured: HEAD, marked "+dirty" when src/ has uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], cwd=ROOT, capture_output=True, text=True
        )
    except OSError:
        return None
    if head.returncode != 0:
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def _cpu_name() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            return next(
                (ln.split(":", 1)[1].strip() for ln in handle if ln.startswith("model name")), cpu
            )
    except OSError:
        return cpu


def machine(**versions: str) -> dict[str, Any]:
    """The machine and software a run measured; `versions` adds the libraries a benchmark
    compares against (DuckDB's, say), so figures from two runs are compared like for like."""
    import sqlalchemy

    return {
        "commit": commit(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sqlalchemy.__version__,
        **versions,
        "platform": platform.platform(),
        "cpu": _cpu_name(),
        "cpus": os.cpu_count(),
    }


def save(path: Path, figures: dict[str, Any]) -> None:
    """Write a run's figures as JSON (dates and decimals as text) and say where."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"Figures written to {path}")


def standalone(
    doc: str | None,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    run: Callable[[argparse.Namespace], int],
    argv: Sequence[str] | None,
    rows: Callable[[str], int] | None = None,
) -> int:
    """Run one benchmark module as a script, with the options `run.py` would give it;
    `rows` parses the shared `--rows` option where the module takes one."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0] or None)
    if rows is not None:
        parser.add_argument("--rows", type=rows, default=None, help="data size (activities)")
    add_arguments(parser)
    return run(parser.parse_args(list(sys.argv[1:] if argv is None else argv)))


def child_figures(script: str, *args: str) -> dict[str, Any] | None:
    """Run `script --child ARGS` in a fresh interpreter and return the JSON object it printed
    last; None, after printing its errors, when it failed. A peak of resident memory is only
    the import's own in a process that did nothing else first (large_cells, large_sheet)."""
    command = [sys.executable, script, "--child", *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
        return None
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def standalone_with_child(
    doc: str | None,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    run: Callable[[argparse.Namespace], int],
    child: Callable[[Path, Path], dict[str, Any]],
    argv: Sequence[str] | None,
) -> int:
    """`standalone` for a module whose `run` measures in a fresh interpreter
    (`child_figures`): called as `--child FILE WORK`, it runs `child` there and prints its
    figures as the JSON `child_figures` reads."""
    given = list(sys.argv[1:] if argv is None else argv)
    if given[:1] == ["--child"]:
        print(json.dumps(child(Path(given[1]), Path(given[2]))))
        return 0
    return standalone(doc, add_arguments, run, given)
