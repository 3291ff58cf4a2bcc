"""Peak memory of a spreadsheet import: a 200,000-row .xlsx of activities (one sheet, typed
cells: numbers, date-times, text), imported into a new SQLite file.

The reader (python-calamine) reads a worksheet whole into its compact cells; the import once
turned the whole sheet into Python values too (`to_python`: a list per row, an object per
cell) before checking the first row. It now streams the sheet a row at a time
(`iter_rows`), in chunks bounded by rows and characters like a CSV file's blocks
(`xlsx_source.SheetTable.chunks`). This measures the importing process's peak resident
memory (`/proc/self/status` VmHWM, in a fresh interpreter), before and during the import.
A memory figure, not a timing; run it with another tree's `src` on PYTHONPATH to compare.

    python benchmarks/large_sheet.py --sheet-rows 200000
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import benchkit

IMPORTED_AT = dt.datetime(2027, 1, 1)  # after the sheet's last row, whatever the clock says
HEADER = ["external_id", "rep", "kind", "occurred_at", "duration_min", "outcome", "has_ask"]
HEADER += ["account", "notes"]


def generate(path: Path, rows: int) -> int:
    """`rows` calls under a title row, written a row at a time; the file's bytes."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    sheet = book.add_worksheet("Calls")
    sheet.write(0, 0, "Call log, November 2026")
    sheet.write_row(1, 0, HEADER)
    start = dt.datetime(2026, 11, 1, 8, 0)
    for i in range(rows):
        at = 2 + i
        sheet.write_number(at, 0, 100_000 + i)
        sheet.write_row(at, 1, [f"Rep {i % 40}", "call"])
        sheet.write_datetime(at, 3, start + dt.timedelta(minutes=7 * i % 40_000), stamp)
        sheet.write_number(at, 4, 1 + i % 30)
        sheet.write_row(at, 5, ["conversation" if i % 3 else "no_answer", "yes" if i % 5 else "no"])
        sheet.write_row(at, 7, [f"Account {i % 2_000}", f"follow-up {i % 97}"])
    book.close()
    return path.stat().st_size


def _peak_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _child(sheet_path: Path, work: Path) -> dict[str, Any]:
    """The import, in this (fresh) process: counts and peaks."""
    from paceline import plugins
    from paceline.config import default_settings
    from paceline.ingest.importer import ImportOptions, import_file
    from paceline.store.engine import make_engine
    from paceline.store.migrate import upgrade

    engine = make_engine(f"sqlite:///{work / 'sheet.db'}")
    try:
        upgrade(engine)
        reader = plugins.import_source_for(sheet_path)
        before = _peak_mb()
        options = ImportOptions(errors_path=work / "errors.csv", now=IMPORTED_AT)
        result = import_file(
            engine, default_settings(), sheet_path, "activities", None, options, None, reader
        )
    finally:
        engine.dispose()
    return {
        "rows": result.read,
        "inserted": result.inserted,
        "rejected": result.rejected,
        "seconds": result.seconds,
        "peak_before_import_mb": before,
        "peak_mb": _peak_mb(),
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sheet-rows",
        type=int,
        default=200_000,
        help="large_sheet: data rows of the generated .xlsx (default 200,000)",
    )


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="paceline-sheet-") as tmp:
        work = Path(tmp)
        sheet_path = work / "calls.xlsx"
        size = generate(sheet_path, args.sheet_rows)
        figures = benchkit.child_figures(__file__, str(sheet_path), str(work))
        if figures is None:
            return 1
    figures["file_mb"] = size / 1e6
    print(
        f"{figures['rows']:,} rows of a .xlsx ({figures['file_mb']:.1f} MB): inserted"
        f" {figures['inserted']:,}, rejected {figures['rejected']:,},"
        f" {figures['seconds']:.1f} s\npeak resident memory of the importing process"
        f" {figures['peak_mb']:.0f} MB ({figures['peak_before_import_mb']:.0f} before the import)"
    )
    benchkit.save(
        Path(__file__).parent / "results" / "large_sheet.json",
        {"machine": benchkit.machine(), "figures": figures},
    )
    return 0 if figures["inserted"] == figures["rows"] == args.sheet_rows else 1


def main(argv: Sequence[str] | None = None) -> int:
    return benchkit.standalone_with_child(__doc__, add_arguments, run, _child, argv)


if __name__ == "__main__":
    sys.exit(main())
