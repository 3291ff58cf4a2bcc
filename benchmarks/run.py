"""Run Paceline's benchmarks: ``make bench`` calls this.

Each benchmark is a module in this folder listed in BENCHMARKS. A module provides
``add_arguments(parser)`` (options of its own, distinct from other modules') and
``run(args) -> int`` (measure, print a table, write ``benchmarks/results/<name>.json``, return
non-zero when something went wrong). ``args.rows`` is the one shared option: the data size,
``None`` for the module's default. To add a benchmark, write such a module and list it here.

Usage: ``python benchmarks/run.py [--only NAME ...] [--rows N] [module options]``, e.g.
``python benchmarks/run.py --only tracking --scales 100k,1M --no-postgres`` for a quick run.
All modules' options share one parser, so an option two modules both want (``--no-postgres``)
is added by whichever comes first and read by both.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
BENCHMARKS: tuple[str, ...] = (
    "import_throughput",
    "large_cells",
    "large_sheet",
    "tracking",
    "diagnose",
    "partitioned",
    "replica",
    "http_load",
    "forecast_calibration",
    "cli_startup",
    "page_load",
    "tv_board",
)


def load(name: str) -> ModuleType:
    """A benchmark module by name, whether run as a script or as ``benchmarks.run``."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    module = importlib.import_module(name)
    for attribute in ("add_arguments", "run"):
        if not callable(getattr(module, attribute, None)):
            raise TypeError(f"benchmark module {name!r} has no {attribute}()")
    return module


def parser_for(names: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Run Paceline's benchmarks.")
    parser.add_argument(
        "--only",
        action="append",
        choices=BENCHMARKS,
        metavar="NAME",
        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument(
        "--rows", type=int, default=None, help="data size for every benchmark (default: each one's)"
    )
    for name in names:
        load(name).add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = parser_for(BENCHMARKS)
    args = parser.parse_args(argv)
    failures = []
    for name in args.only or BENCHMARKS:
        print(f"== {name} ==", flush=True)
        started = time.perf_counter()
        status = load(name).run(args)
        print(f"== {name}: {time.perf_counter() - started:.0f}s in all ==\n", flush=True)
        if status:
            failures.append(name)
    if failures:
        print(f"benchmarks that reported problems: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
