"""Opening a CSV file safely: encoding, delimiter and header checked before any row is used.

Rows are streamed (constant memory whatever the file size). Bytes that are not valid in the
file's encoding do not abort the import: the affected row is rejected with its line number,
and every other row still gets in.
"""

from __future__ import annotations

import bisect
import codecs
import csv
import io
import itertools
import operator
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast

if TYPE_CHECKING:
    from paceline.ingest.sources import Row

csv.field_size_limit(10 * 1024 * 1024)
CANDIDATE_DELIMITERS = (",", ";", "\t", "|")
SNIFF_BYTES = 64 * 1024
# The most characters a block of lines holds (`CsvFile.chunks`), unless one line alone has
# more: the usual file's 4,096-line block is about 400,000, so only a file of large cells
# (a notes cell may hold 1,000,000) meets it.
BLOCK_CHARS = 8 * 1024 * 1024
# Characters of lines read ahead a call (about 11,000 lines of the usual file).
READ_CHARS = 1024 * 1024


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (nothing was written)."""


@dataclass(frozen=True, slots=True)
class RecordChunk:
    """Data rows read together (`CsvFile.chunks`): the line each starts on, its cells and,
    for a record that cannot be trusted, why (`problems`, by position; None when no record
    of the chunk has one). The lines are a range when each row is one line, as usual."""

    lines: range | list[int]
    rows: list[list[str]]
    problems: list[str | None] | None

    def as_rows(self) -> list[Row]:
        """The chunk as `CsvFile.rows` gives its rows."""
        problems: list[str | None] = self.problems or [None] * len(self.rows)
        rows: list[Row] = list(zip(self.lines, self.rows, problems, strict=True))
        return rows


@dataclass(frozen=True, slots=True)
class SplitChunk:
    """A block of lines each holding one record as wide as the header (`split_block`): the
    lines the rows are on, the rows as one text (cells joined by the unit separator given,
    rows by the record separator) and each column's cells."""

    lines: range
    text: str
    columns: list[list[str]]


# After a block's last line when it is parsed alone: an empty record when the block ends
# between records, swallowed by a quoted field the block ends inside (`CsvFile.chunks`).
_SENTINEL = "\n"


@dataclass
class CsvFile:
    """An open CSV file: its header and a stream of (line number, row)."""

    path: Path
    header: list[str]
    header_line: str
    delimiter: str
    size: int
    _binary: BinaryIO
    _reader: Iterator[list[str]]
    _csv: csv.Reader  # type: ignore[name-defined]
    _text: io.TextIOWrapper

    def rows(self) -> Iterator[tuple[int, list[str], str | None]]:
        """Data rows with the line each starts on (the header is line 1) and, for a record
        that cannot be trusted, why; blank lines skipped.

        A record the csv module cannot read (a field over the size limit) is reported, not
        raised, and reading goes on at the next line. A record whose quoted field swallowed
        whole lines that look like rows (one stray quote once hid 26 rows in one row's notes)
        is reported with the lines it spans.
        """
        last_line = self._csv.line_num
        width = len(self.header)
        while True:
            start = last_line + 1
            try:
                row = next(self._reader)
            except StopIteration:
                return
            except csv.Error as exc:
                last_line = self._csv.line_num
                yield start, [], f"cannot read this record: {exc}"
                continue
            last_line = self._csv.line_num
            if not row:
                continue
            if last_line == start:  # one line, the usual record: nothing to suspect
                yield start, row, None
            else:
                yield start, row, implausible_lines(row, start, last_line, width, self.delimiter)

    def chunks(self, size: int, max_chars: int | None = None) -> Iterator[RecordChunk]:
        """The data rows of `size` lines at a time, each as `rows` gives it, in C calls;
        a block also ends before its lines pass `max_chars` characters (`BLOCK_CHARS` when
        not given; always at least one line).

        A block of lines is parsed alone, with an empty line after it: when that gives one
        record a line (the usual block; blank lines are dropped), each row starts on its own
        line. Otherwise (a quoted field holding a line break, or running past the block's
        end, or a record the csv module cannot read) the block is read again record by
        record, as `rows` reads it, from the same lines and on into the next ones until a
        record ends: every line number and every report stays exact. Reading record by
        record cost a generator step per row, about a tenth of a large import's reading.

        Lines by count alone let a block of 4,096 lines of 1 MB notes hold 4 GB of text (and
        the rows parsed from it as much again): the lines are read ahead in C calls, never
        more than `max_chars` characters and a line ahead (`_next_block`), and each block is
        the longest run of them within both limits, so what a block holds is bounded
        whatever the file's cells (benchmarks/large_cells.py measures it)."""
        return cast("Iterator[RecordChunk]", self._chunks(size, max_chars, None))

    def split_chunks(
        self, size: int, separators: tuple[str, str], max_chars: int | None = None
    ) -> Iterator[RecordChunk | SplitChunk]:
        """`chunks`, but a block `split_block` can read (every line one record as wide as
        the header, the usual block) comes as a `SplitChunk`: its rows as one text, cells
        joined by `separators[0]` and rows by `separators[1]`, and its columns, made by
        splitting the text in C calls instead of the csv module's reading record by record
        and the rows' transposition into columns after it."""
        return self._chunks(size, max_chars, separators)

    def _chunks(
        self, size: int, max_chars: int | None, separators: tuple[str, str] | None
    ) -> Iterator[RecordChunk | SplitChunk]:
        """`chunks`, or `split_chunks` when `separators` are given."""
        limit = BLOCK_CHARS if max_chars is None else max_chars
        line = self._csv.line_num  # the header's last line
        ahead: list[str] = []  # lines read, not yet in a block
        width = len(self.header)
        while block := self._next_block(ahead, size, limit):
            if separators is not None:
                split = split_block(block, self.delimiter, width, *separators)
                if split is not None:
                    yield SplitChunk(range(line + 1, line + 1 + len(block)), *split)
                    line += len(block)
                    continue
            try:
                records = list(
                    csv.reader([*block, _SENTINEL], delimiter=self.delimiter, strict=False)
                )
            except csv.Error:  # (a field over the size limit) said record by record
                records = []
            if len(records) != len(block) + 1:
                chunk, line = self._block_by_record(block, line, ahead)
                if chunk.rows:
                    yield chunk
                continue
            records.pop()  # the empty line's record
            numbers: range | list[int] = range(line + 1, line + 1 + len(block))
            line += len(block)
            if [] in records:  # blank lines are not rows
                keep = list(map(bool, records))
                records = list(itertools.compress(records, keep))
                numbers = list(itertools.compress(numbers, keep))
            if records:
                yield RecordChunk(numbers, records, None)

    def _next_block(self, ahead: list[str], size: int, max_chars: int) -> list[str]:
        """The next block's lines, taken from the front of `ahead`, which is read on (at
        most `READ_CHARS` characters a call) while it holds fewer than `size` lines and
        `max_chars` characters: at most `size` lines, and no more than `max_chars`
        characters unless one line alone has more. `ahead` never holds more than
        `max_chars` characters and one line."""
        if len(ahead) < size:
            chars = sum(map(len, ahead))
            while len(ahead) < size and chars < max_chars:
                # Lines until their characters pass the hint (a C loop): one line more at most.
                more = self._text.readlines(min(max_chars - chars, READ_CHARS))
                if not more:
                    break
                ahead.extend(more)
                chars += sum(map(len, more))
        count = min(size, len(ahead))
        ends = list(itertools.accumulate(map(len, itertools.islice(ahead, count))))
        count = max(1, bisect.bisect_right(ends, max_chars)) if ahead else 0
        block = ahead[:count]
        del ahead[:count]
        return block

    def _block_by_record(
        self, block: list[str], line: int, ahead: list[str]
    ) -> tuple[RecordChunk, int]:
        """The rows of a block read as `rows` reads them (from line `line` + 1, on into
        the lines read ahead and the file for a record that runs past the block), and the
        last line read; the lines ahead such a record took are taken out of `ahead`."""
        rest = iter(ahead)
        reader = csv.reader(
            itertools.chain(block, rest, self._text), delimiter=self.delimiter, strict=False
        )
        width = len(self.header)
        numbers: list[int] = []
        rows: list[list[str]] = []
        problems: list[str | None] = []
        last = 0  # lines of the block (and after it) read
        while last < len(block):
            start = last + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                last = reader.line_num
                numbers.append(line + start)
                rows.append([])
                problems.append(f"cannot read this record: {exc}")
                continue
            last = reader.line_num
            if not row:
                continue
            numbers.append(line + start)
            rows.append(row)
            problems.append(
                None
                if last == start
                else implausible_lines(row, line + start, line + last, width, self.delimiter)
            )
        ahead[:] = rest  # the csv module reads a line only when a record needs it
        chunk = RecordChunk(numbers, rows, problems if any(problems) else None)
        return chunk, line + last

    def bytes_read(self) -> int:
        return self._binary.tell()

    def close(self) -> None:
        self._binary.close()


MAX_LINES_PER_RECORD = 50


def implausible_lines(
    row: list[str], start: int, end: int, width: int, delimiter: str
) -> str | None:
    """Why a record spanning several physical lines is probably a stray quote, or None.

    Notes legitimately hold line breaks; rows do not hide inside them. A multi-line field
    is suspect when lines inside it read as complete rows of this file on their own, or when
    one record runs over more than MAX_LINES_PER_RECORD lines.
    """
    if end == start:
        return None
    row_like = 0
    if width >= 3:
        for field_text in row:
            for inner in field_text.splitlines()[1:]:
                if len(next(csv.reader([inner], delimiter=delimiter), [])) == width:
                    row_like += 1
    if not row_like and end - start + 1 <= MAX_LINES_PER_RECORD:
        return None
    what = f"{row_like} of them read as rows of their own" if row_like else "too many"
    return (
        f"a quoted field runs over lines {start}-{end} and {what}: probably an unbalanced "
        "quote that swallowed the rows after it; fix the quote and import again (the lines "
        "inside were not imported)"
    )


def open_csv(path: Path, encoding: str, delimiter: str) -> CsvFile:
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ImportFileError(f"unknown encoding {encoding!r}") from None
    try:
        binary = path.open("rb")
    except OSError as exc:
        raise ImportFileError(f"cannot open {path}: {exc.strerror or exc}") from exc
    header_line = _first_line(binary.read(SNIFF_BYTES), encoding, path)
    binary.seek(0)
    text = io.TextIOWrapper(binary, encoding=encoding, errors="surrogateescape", newline="")
    reader = csv.reader(text, delimiter=delimiter, strict=False)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        binary.close()
        raise ImportFileError(f"{path.name} is empty: no header line") from None
    except csv.Error as exc:
        binary.close()
        raise ImportFileError(f"{path.name}: cannot read the header: {exc}") from None
    return CsvFile(
        path, header, header_line, delimiter, path.stat().st_size, binary, reader, reader, text
    )


def split_block(
    block: list[str], delimiter: str, width: int, unit: str, record: str
) -> tuple[str, list[list[str]]] | None:
    """A block's rows as one text (cells joined by `unit`, rows by `record`) and its
    columns, when each line is one record of `width` cells; None when the block must be
    read by the csv module record by record (`CsvFile.chunks`).

    Why it gives what the csv module gives: a line without a quote character holds no
    field the module reads specially, so its cells are the line, less its line break,
    split at the delimiter. A line with a quote is read by the module itself, each such
    line alone followed by an empty line: when every one of them gives its record and
    then the empty line's, each ends its record on its own line (a quoted field running
    on would swallow the empty line), so reading the whole block at once would give the
    same records. None for anything else: a cell over the csv module's size limit, a line
    of another width (a blank line, a partial last line), a lone carriage return, a NUL,
    a separator inside a cell. Per row, the csv module's reading and the transposition of
    its rows into columns cost about twice these C calls over the block's text."""
    text = "".join(block)
    if (
        width < 2
        or len(text) >= csv.field_size_limit()
        or unit in text
        or record in text
        or "\x00" in text
    ):
        return None
    if '"' in text:
        parts = _split_quoted(block, delimiter, unit)
        if parts is None:
            return None
        joined = "".join(parts)
    else:
        joined = text.replace(delimiter, unit)
    if "\r" in joined:
        joined = joined.replace("\r\n", "\n")
        if "\r" in joined:  # a line ended by a lone carriage return: the csv module's case
            return None
    if joined.endswith("\n"):
        joined = joined[:-1]
    rows = joined.split("\n")
    units = map(operator.methodcaller("count", unit), rows)
    if len(rows) != len(block) or not all(map((width - 1).__eq__, units)):
        return None
    packed = record.join(rows)
    flat = unit.join(rows).split(unit)
    return packed, [flat[at::width] for at in range(width)]


def _split_quoted(block: list[str], delimiter: str, unit: str) -> list[str] | None:
    """The block's text with its cells joined by `unit` (lines still ended by their
    breaks), the lines holding a quote read by the csv module (`split_block`); None when
    one of them does not end its record on its own line, or cannot be read."""
    quoted = [at for at, line in enumerate(block) if '"' in line]
    lines = map(block.__getitem__, quoted)
    given = list(itertools.chain.from_iterable(zip(lines, itertools.repeat(_SENTINEL))))
    try:
        records = list(csv.reader(given, delimiter=delimiter, strict=False))
    except csv.Error:
        return None
    if len(records) != len(given) or any(records[1::2]) or [] in records[0::2]:
        return None
    parts: list[str] = []
    start = 0
    for at, cells in zip(quoted, records[0::2], strict=True):
        if start < at:
            parts.append("".join(block[start:at]).replace(delimiter, unit))
        parts.append(unit.join(cells) + "\n")
        start = at + 1
    if start < len(block):
        parts.append("".join(block[start:]).replace(delimiter, unit))
    return parts


def bad_bytes(row: Iterable[str]) -> bool:
    """True when a row (or any of many rows' cells) holds bytes that were not valid in the
    file's encoding."""
    joined = "".join(row)
    if joined.isascii():
        return False
    try:
        joined.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def guess_delimiter(header_line: str, wanted: list[str], current: str) -> str | None:
    """Another delimiter under which the header has the wanted columns, if there is one."""
    for candidate in CANDIDATE_DELIMITERS:
        if candidate == current:
            continue
        columns = {c.strip() for c in next(csv.reader([header_line], delimiter=candidate))}
        if wanted and all(w in columns for w in wanted):
            return candidate
    return None


def _first_line(head: bytes, encoding: str, path: Path) -> str:
    """The header line as text, after checking the file really is in `encoding`."""
    name = codecs.lookup(encoding).name
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and "16" not in name:
        raise ImportFileError(
            f"{path.name} is UTF-16 encoded; re-save it as UTF-8 or give the encoding utf-16 "
            "(--encoding, or the Import page's Encoding field)"
        )
    # UTF-16 or binary data is full of NUL bytes; a stray one in a text file only costs the
    # row it is in (the row check rejects it), not the whole file.
    if head.count(b"\x00") > max(1, len(head) // 100) and "16" not in name and "32" not in name:
        raise ImportFileError(f"{path.name} contains NUL bytes: it is not a {encoding} text file")
    first_line = head.split(b"\n", 1)[0]
    try:
        return first_line.decode(encoding).lstrip("\ufeff").rstrip("\r")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"{path.name}: the header is not valid {encoding} ({exc.reason} at byte "
            f"{exc.start}); give its encoding (--encoding, or the Import page's Encoding "
            "field; for example cp1252 or latin-1)"
        ) from None
