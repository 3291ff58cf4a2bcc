"""The built-in import source "csv": delimited text files, generic columns or a mapping.

It is registered through the same hook as any plugin's source (`register_import_sources`),
so the import command has no special case for it; it is only the default.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from paceline.hookspecs import hookimpl
from paceline.ingest.csvfile import CsvFile, ImportFileError, guess_delimiter, open_csv
from paceline.ingest.sources import ImportSource, ReadOptions, Row, RowTable


class CsvTable(RowTable):
    """An open CSV file as a RowTable: progress in bytes, and a delimiter hint when the
    header only makes sense split on another character."""

    def __init__(self, csv_file: CsvFile) -> None:
        super().__init__(csv_file.path.name, csv_file.header)
        self.csv_file = csv_file

    def rows(self) -> Iterator[Row]:
        return self.csv_file.rows()

    def chunks(self, size: int) -> Iterator[list[Row]]:
        """A block of lines at a time, as the checking process reads them: at most `size`
        rows and `csvfile.BLOCK_CHARS` characters (a few rows when cells are large)."""
        for chunk in self.csv_file.chunks(size):
            yield chunk.as_rows()

    def progress(self) -> tuple[int, int]:
        return (self.csv_file.bytes_read(), self.csv_file.size)

    def header_hint(self, wanted: list[str]) -> str:
        csv_file = self.csv_file
        other = guess_delimiter(csv_file.header_line, wanted, csv_file.delimiter)
        if other is None and len(csv_file.header) == 1:
            other = guess_delimiter(csv_file.header_line, [], csv_file.delimiter)
        if other is not None:
            return (
                f"; the file seems to be delimited by {other!r}, not {csv_file.delimiter!r}: "
                "choose that delimiter (--delimiter, or the Import page's Delimiter field)"
            )
        shown = ", ".join(csv_file.header[:15])
        return f" (the file's columns: {shown}{', ...' if len(csv_file.header) > 15 else ''})"

    def close(self) -> None:
        self.csv_file.close()


def open_csv_table(path: Path, options: ReadOptions) -> RowTable:
    if options.sheet is not None:
        raise ImportFileError(f"--sheet: {path.name} is read as CSV text, which has no sheets")
    return CsvTable(open_csv(path, options.encoding, options.delimiter))


CSV_SOURCE = ImportSource(
    name="csv",
    description="Delimited text (CSV) with the generic columns or a --mapping file.",
    open=open_csv_table,
    extensions=(".csv", ".tsv", ".txt"),
)


@hookimpl
def register_import_sources() -> list[ImportSource]:
    return [CSV_SOURCE]
