"""`make bench` builds one argparse parser from every benchmark module's options.

Two modules that both added `--label` made argparse refuse the whole parser, so `make bench`
failed before measuring anything, unnoticed because no test built that parser.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _run_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("paceline_bench_run", BENCHMARKS / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_benchmark_option_fits_one_parser() -> None:
    run = _run_module()
    before = list(sys.path)
    try:
        parser = run.parser_for(run.BENCHMARKS)
        args = parser.parse_args(["--only", "page_load", "--label", "after"])
    finally:
        sys.path[:] = before
    assert args.only == ["page_load"]
    assert args.label == "after"
