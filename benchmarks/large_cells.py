"""Peak memory of an import of large cells: a CSV file of activities whose notes hold
1,000,000 characters each (the most a note may hold), imported into a new SQLite file.

A block of 4,096 lines once held 4,096 such notes (4 GB of text, and the rows parsed from
it as much again) and a batch of 10,000 rows held 10 GB: the reader now bounds a block by
characters (`csvfile.BLOCK_CHARS`) and the importer a batch by the bytes its rows span
(`importer.BATCH_BYTES`). This measures what that leaves: the importing process's peak
resident memory and its checking process's (`PACELINE_IMPORT_PROCESS`, `always` by
default here), read by the importing process itself in a fresh interpreter
(`/proc/self/status` VmHWM, and `getrusage(RUSAGE_CHILDREN).ru_maxrss` for the checking
process). A memory figure, not a timing.

    python benchmarks/large_cells.py --cell-rows 300   # a 300 MB file
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import benchkit

NOTE_CHARS = 1_000_000  # the most a note may hold (`ingest.entities`)
IMPORTED_AT = dt.datetime(2027, 1, 1)  # after the file's last row, whatever the clock says
HEADER = "external_id,rep,kind,occurred_at,duration_min,outcome,has_ask,account,notes\n"


def generate(path: Path, rows: int) -> int:
    """`rows` calls, each with a note of NOTE_CHARS characters; the file's bytes."""
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        for i in range(rows):
            note = (f"call {i} " * (NOTE_CHARS // 8))[:NOTE_CHARS]
            day = 1 + i % 28
            out.write(
                f"L{i},Rep {i % 7},call,2026-11-{day:02d}T10:00:00,5,no_answer,no,"
                f"Account {i % 50},{note}\n"
            )
    return path.stat().st_size


def _peak_mb() -> float:
    """This process's own peak resident memory (VmHWM: `ru_maxrss` of a process started by
    exec can carry its parent's peak)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(csv_path: Path, work: Path) -> dict[str, Any]:
    """The import, in this (fresh) process: counts and peaks."""
    from paceline.config import default_settings
    from paceline.ingest.importer import ImportOptions, import_csv
    from paceline.store.engine import make_engine
    from paceline.store.migrate import upgrade

    engine = make_engine(f"sqlite:///{work / 'cells.db'}")
    try:
        upgrade(engine)
        before = _peak_mb()
        options = ImportOptions(errors_path=work / "errors.csv", now=IMPORTED_AT)
        result = import_csv(engine, default_settings(), csv_path, "activities", options=options)
    finally:
        engine.dispose()
    return {
        "rows": result.read,
        "inserted": result.inserted,
        "rejected": result.rejected,
        "seconds": result.seconds,
        "peak_before_import_mb": before,
        "peak_mb": _peak_mb(),
        "checking_process_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cell-rows",
        type=int,
        default=300,
        help="large_cells: rows of 1,000,000-character notes (default 300: a 300 MB file)",
    )


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("PACELINE_IMPORT_PROCESS", "always")
    with tempfile.TemporaryDirectory(prefix="paceline-cells-") as tmp:
        work = Path(tmp)
        csv_path = work / "cells.csv"
        size = generate(csv_path, args.cell_rows)
        figures = benchkit.child_figures(__file__, str(csv_path), str(work))
        if figures is None:
            return 1
    figures["file_mb"] = size / 1e6
    figures["process"] = os.environ["PACELINE_IMPORT_PROCESS"]
    print(
        f"{figures['rows']:,} rows of {NOTE_CHARS:,}-character notes ({figures['file_mb']:.0f}"
        f" MB), PACELINE_IMPORT_PROCESS={figures['process']}: inserted {figures['inserted']:,},"
        f" rejected {figures['rejected']:,}, {figures['seconds']:.1f} s\n"
        f"peak resident memory: importing process {figures['peak_mb']:.0f} MB"
        f" ({figures['peak_before_import_mb']:.0f} before the import), checking process"
        f" {figures['checking_process_peak_mb']:.0f} MB"
    )
    benchkit.save(
        Path(__file__).parent / "results" / "large_cells.json",
        {"machine": benchkit.machine(), "figures": figures},
    )
    return 0 if figures["inserted"] == figures["rows"] == args.cell_rows else 1


def main(argv: Sequence[str] | None = None) -> int:
    return benchkit.standalone_with_child(__doc__, add_arguments, run, _child, argv)


if __name__ == "__main__":
    sys.exit(main())
