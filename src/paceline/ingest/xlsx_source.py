"""The built-in import source "xlsx": spreadsheets (.xlsx, .xlsm, .xls, .ods) read like CSV.

A spreadsheet's cells are typed (numbers, dates, booleans) where a CSV's are text, and the
mapping and the checks downstream expect the text a CSV export of the same sheet would hold.
So each cell is turned into that text without changing what it means:

- a number that is a whole number is written without a fraction ("42", not "42.0": an id
  or a phone number stored as a number keeps exactly its digits); other numbers in full
  (`repr`, the shortest text that reads back as the same number);
- a date cell is a calendar date ("2026-11-20"), which the import counts on that very day;
  a date-and-time cell has no zone, so it is local time ("2026-11-20T10:30:00"), read in the
  mapping's or the calendar's zone like a CSV timestamp without an offset;
- a time of day or a duration cell is "HH:MM:SS", a boolean "TRUE"/"FALSE" (what Excel
  writes in a CSV export, so a mapping written for that export works unchanged).

The header is the first of the first rows that holds the columns the mapping reads (or, for
the generic format, the required columns); without those, the first row filled like a header
(text in at least half the columns). Title rows and merged banners above it are not data.
A cell merged over several rows below the header counts in each of them, as a reader of the
sheet sees it. Rows are numbered as in the spreadsheet, so an error names the sheet, the row
and the column ("Calls!B7").

The reader is python-calamine (Rust): a whole sheet is read at C speed into its compact cells,
then streamed to Python a row at a time and converted row by row, a bounded chunk at a time
(`SheetTable.chunks`, like a CSV file's blocks).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from paceline.hookspecs import hookimpl
from paceline.ingest.csvfile import BLOCK_CHARS, ImportFileError
from paceline.ingest.sources import ImportSource, ReadOptions, Row, RowTable

EXTENSIONS = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
HEADER_SEARCH_ROWS = 30
SAFE_INTEGER = 2**53  # above this, a float no longer holds every integer exactly


def cell_text(value: Any) -> str:
    """The text a CSV export would hold for one typed cell (see the module docstring)."""
    convert = _CONVERTERS.get(type(value))
    return convert(value) if convert is not None else _other_text(value)


def _float_text(value: float) -> str:
    if value.is_integer() and abs(value) < SAFE_INTEGER:
        return str(int(value))
    return repr(value)


def _datetime_text(value: dt.datetime) -> str:
    spec = "seconds" if value.microsecond == 0 else "milliseconds"
    return value.replace(tzinfo=None).isoformat(timespec=spec)


def _duration_text(value: dt.timedelta) -> str:
    seconds = round(value.total_seconds())
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    return f"{sign}{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _other_text(value: Any) -> str:
    """Subclasses of the types above, and anything else a reader may hand over."""
    for kind in (bool, str, float, int, dt.datetime, dt.date, dt.time, dt.timedelta):
        if isinstance(value, kind):
            return _CONVERTERS[kind](value)
    return "" if value is None else str(value)


# By exact type: a dictionary look-up per cell (a sheet has millions of them).
_CONVERTERS: dict[type, Callable[[Any], str]] = {
    str: lambda value: value,
    float: _float_text,
    bool: lambda value: "TRUE" if value else "FALSE",
    int: str,
    dt.datetime: _datetime_text,
    dt.date: dt.date.isoformat,
    dt.time: lambda value: value.isoformat(timespec="seconds"),
    dt.timedelta: _duration_text,
}


def column_letter(index: int) -> str:
    """0 -> "A", 25 -> "Z", 26 -> "AA": the spreadsheet's name for a column."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


class SheetTable(RowTable):
    """One sheet of a workbook as a RowTable: rows numbered as in the spreadsheet.

    The sheet's rows are streamed: only the first `HEADER_SEARCH_ROWS` are held (to find the
    header), then each row's typed cells are turned into text as the import asks for it, a
    chunk at a time (`chunks`: bounded by rows and by characters, as a CSV file's blocks
    are), so a sheet of a million rows never stands in memory as Python values.
    """

    def __init__(
        self,
        file_name: str,
        sheet: str,
        cells: Iterable[list[Any]],
        origin: tuple[int, int],
        merged: list[tuple[tuple[int, int], tuple[int, int]]],
        wanted: tuple[str, ...],
        total_rows: int | None = None,
    ) -> None:
        first_row, self.first_column = origin
        stream = iter(cells)
        typed_head = list(itertools.islice(stream, HEADER_SEARCH_ROWS))
        head = [[cell_text(v) for v in row] for row in typed_head]
        at = find_header(head, wanted)
        header = [h.strip() for h in head[at]] if head else []
        super().__init__(f"{file_name} (sheet {sheet!r})", header)
        self.sheet = sheet
        # typed cells, turned into text row by row: the head's rest, then the sheet's rest
        self._rows: Iterator[list[Any]] = itertools.chain(typed_head[at + 1 :], stream)
        self._first_data_row = first_row + at + 2  # 1-based, as the spreadsheet numbers rows
        self._total = (
            total_rows - (at + 1) if total_rows is not None else len(typed_head) - (at + 1)
        )
        self._merged = self._merged_down(merged, first_row + at + 1)
        self._done = 0

    def _merged_down(
        self, merged: list[tuple[tuple[int, int], tuple[int, int]]], header_row: int
    ) -> dict[int, list[tuple[int, int]]]:
        """The cells merged down over rows below the header, by the data row (0-based, from
        the first data row) holding their value: [(column, the last data row it covers)]."""
        by_row: dict[int, list[tuple[int, int]]] = {}
        for (top, left), (bottom, right) in merged:
            if top <= header_row - 1 or bottom == top:
                continue
            first = top - (self._first_data_row - 1)
            last = bottom - (self._first_data_row - 1)
            for column in range(left - self.first_column, right - self.first_column + 1):
                if first >= 0 and 0 <= column < len(self.header):
                    by_row.setdefault(first, []).append((column, last))
        return by_row

    def rows(self) -> Iterator[Row]:
        """The data rows as text, one typed row at a time; a value merged down over rows
        below the header counts in each of those rows, as a reader of the sheet sees it."""
        width = len(self.header)
        converters = _CONVERTERS
        merged = self._merged
        filling: dict[int, tuple[Any, int]] = {}  # column -> (merged value, last row)
        for offset, cells in enumerate(self._rows):
            self._done = offset + 1
            if merged or filling:
                cells = self._fill(cells, offset, filling)
            row = [
                convert(v) if (convert := converters.get(type(v))) else _other_text(v)
                for v in cells[:width]
            ]
            if not any(value.strip() for value in row):
                continue  # an empty row, like a blank line in a CSV file
            yield self._first_data_row + offset, row, None

    def _fill(
        self, cells: list[Any], offset: int, filling: dict[int, tuple[Any, int]]
    ) -> list[Any]:
        """The row with the values merged down into it; starts the merges it holds."""
        for column, (value, last) in list(filling.items()):
            if offset > last:
                del filling[column]
            elif column < len(cells):
                cells[column] = value
        for column, last in self._merged.pop(offset, ()):
            if column < len(cells):
                filling[column] = (cells[column], last)
        return cells

    def chunks(self, size: int) -> Iterator[list[Row]]:
        """The rows at most `size` at a time and, like a CSV file's blocks, at most
        `csvfile.BLOCK_CHARS` characters (a chunk ends after the row that reaches it): a
        sheet of large notes holds a few rows at a time, not 4,096 of them."""
        rows = self.rows()
        chunk: list[Row] = []
        chars = 0
        for row in rows:
            chunk.append(row)
            chars += sum(map(len, row[1]))
            if len(chunk) >= size or chars >= BLOCK_CHARS:
                yield chunk
                chunk, chars = [], 0
        if chunk:
            yield chunk

    def progress(self) -> tuple[int, int]:
        return (self._done, max(self._total, self._done))

    def close(self) -> None:
        self._rows = iter(())  # lets the reader's copy of the sheet go

    def locate(self, line: int, column: int) -> str | None:
        return f"{self.sheet}!{column_letter(self.first_column + column)}{line}"

    def header_hint(self, wanted: list[str]) -> str:
        shown = ", ".join(h for h in self.header[:15] if h)
        return (
            f" (the header found in sheet {self.sheet!r} is row {self._first_data_row - 1}: "
            f"{shown}{', ...' if len(self.header) > 15 else ''}; pass --sheet for another sheet)"
        )


def find_header(rows: list[list[str]], wanted: tuple[str, ...]) -> int:
    """The index of the header row among the first rows (see the module docstring)."""
    head = rows[:HEADER_SEARCH_ROWS]
    if wanted:
        names = {w.strip() for w in wanted}
        best, best_found = -1, 0
        for index, row in enumerate(head):
            found = len(names & {value.strip() for value in row})
            if found > best_found:
                best, best_found = index, found
            if found == len(names):
                return index
        if best >= 0:
            return best
    width = max((sum(1 for v in row if v.strip()) for row in head), default=0)
    for index, row in enumerate(head):
        filled = sum(1 for v in row if v.strip())
        if filled >= max(1, (width + 1) // 2) and not all(_numeric(v) for v in row if v):
            return index
    return 0


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def open_workbook_table(path: Path, options: ReadOptions) -> RowTable:
    """The sheet `options.sheet` (a name, or a 1-based number; default the first visible
    worksheet) as a RowTable, or `ImportFileError` when the file or the sheet is unusable."""
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except (CalamineError, OSError, ValueError) as exc:
        raise ImportFileError(f"{path.name}: cannot read it as a spreadsheet: {exc}") from None
    try:
        name = pick_sheet(path.name, workbook, options.sheet)
        sheet = workbook.get_sheet_by_name(name)
        merged = list(getattr(sheet, "merged_cell_ranges", None) or [])
        start, end = sheet.start, sheet.end
        # Streamed (`SheetTable`): the reader holds the sheet's cells in its compact form
        # (it reads a worksheet whole), Python sees a row at a time.
        cells: Iterator[list[Any]] = iter(sheet.iter_rows()) if start else iter(())
        table = SheetTable(
            path.name,
            name,
            cells,
            # iter_rows starts at the sheet's first row and its first filled column
            (0, start[1] if start else 0),
            merged,
            options.columns,
            (end[0] + 1) if end else 0,
        )
        if not any(h for h in table.header) and not any(
            any(cell_text(v).strip() for v in row) for row in sheet.iter_rows()
        ):  # a header without text: the sheet is read through once more, to tell
            raise ImportFileError(f"{path.name}: sheet {name!r} is empty: no header row")
    except ImportFileError:
        raise
    except (CalamineError, ValueError) as exc:
        raise ImportFileError(f"{path.name}: cannot read sheet: {exc}") from None
    finally:
        workbook.close()  # the sheet's rows stay readable: the sheet holds them
    return table


def pick_sheet(file_name: str, workbook: Any, wanted: str | None) -> str:
    """The sheet's name: `wanted` by name, else by 1-based position; by default the first
    visible worksheet."""
    names: list[str] = list(workbook.sheet_names)
    if wanted is None:
        for meta in workbook.sheets_metadata:
            if "Visible" in str(meta.visible) and "Work" in str(meta.typ):
                return str(meta.name)
        if names:
            return names[0]
        raise ImportFileError(f"{file_name}: the workbook has no sheets")
    if wanted in names:
        return wanted
    if wanted.strip().isdigit() and 1 <= int(wanted) <= len(names):
        return names[int(wanted) - 1]
    listed = ", ".join(f"{i}: {n!r}" for i, n in enumerate(names, 1))
    raise ImportFileError(f"--sheet: {file_name} has no sheet {wanted!r} (its sheets: {listed})")


XLSX_SOURCE = ImportSource(
    name="xlsx",
    description="Spreadsheets (.xlsx, .xlsm, .xls, .ods): one sheet (--sheet), like a CSV.",
    open=open_workbook_table,
    extensions=EXTENSIONS,
)


@hookimpl
def register_import_sources() -> list[ImportSource]:
    return [XLSX_SOURCE]
