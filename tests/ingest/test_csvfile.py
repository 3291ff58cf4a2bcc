"""Reading a CSV file a block of lines at a time (`CsvFile.chunks`) gives each row the line
it starts on, as reading record by record (`CsvFile.rows`) does: with quoted fields holding
line breaks inside a block and across the end of one, blank lines, and records the csv
module cannot read. Every line number below is counted by hand from the file."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import hypothesis
import pytest
from hypothesis import given
from hypothesis import strategies as st

from factories import write
from paceline.ingest import csvfile
from paceline.ingest.csvfile import open_csv

Row = tuple[int, list[str], str | None]


def _chunked(path: Path, size: int) -> list[list[Row]]:
    csv_file = open_csv(path, "utf-8", ",")
    try:
        return [chunk.as_rows() for chunk in csv_file.chunks(size)]
    finally:
        csv_file.close()


def _by_record(path: Path) -> list[Row]:
    csv_file = open_csv(path, "utf-8", ",")
    try:
        return list(csv_file.rows())
    finally:
        csv_file.close()


def test_a_quoted_line_break_across_the_end_of_a_block_keeps_every_line_number(
    tmp_path: Path,
) -> None:
    """Blocks of 3 lines: a2's note opens on line 4, the block's last, and closes on line 5;
    the next block starts after it, on line 6. The line breaks inside it stay as written."""
    path = write(
        tmp_path / "a.csv",
        "id,rep,notes\n"  # line 1
        "a0,Ana,\n"  # 2
        "a1,Ana,one\n"  # 3
        'a2,Ben,"first\n'  # 4
        'second"\n'  # 5
        "a3,Ana,\n"  # 6
        "a4,Ben,\r\n"  # 7
        'a5,Ana,"x\r\ny"\n'  # 8-9, a CRLF inside the quotes
        "a6,Ben,last\n",  # 10
    )
    chunks = _chunked(path, 3)
    assert [[(line, row[0]) for line, row, _ in chunk] for chunk in chunks] == [
        [(2, "a0"), (3, "a1"), (4, "a2")],
        [(6, "a3"), (7, "a4"), (8, "a5")],
        [(10, "a6")],
    ]
    assert chunks[0][2] == (4, ["a2", "Ben", "first\nsecond"], None)
    assert chunks[1][2] == (8, ["a5", "Ana", "x\r\ny"], None)
    assert [row for chunk in chunks for row in chunk] == _by_record(path)


def test_the_usual_block_gives_its_lines_as_a_range_and_drops_blank_lines(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "b.csv", "id,rep\na0,Ana\n\na1,Ben\na2,Ana\na3,Ben\n")
    csv_file = open_csv(path, "utf-8", ",")
    try:
        first, second = csv_file.chunks(3)
    finally:
        csv_file.close()
    assert (first.lines, first.rows, first.problems) == (
        [2, 4],
        [["a0", "Ana"], ["a1", "Ben"]],
        None,
    )
    assert (second.lines, second.rows) == (range(5, 7), [["a2", "Ana"], ["a3", "Ben"]])


@pytest.fixture
def small_fields() -> Iterator[None]:
    """Fields of at most 20 characters: a longer one is a record the csv module refuses."""
    limit = csv.field_size_limit(20)
    yield
    csv.field_size_limit(limit)


def test_a_record_the_csv_module_cannot_read_is_reported_on_its_line(
    tmp_path: Path, small_fields: None
) -> None:
    """Line 4's field is over the limit: reported there, and reading goes on at line 5, in
    the same block (of 4 lines) and after it; a stray quote on line 7 swallows the lines
    after it, reported with the lines it spans."""
    long = "x" * 30
    path = write(
        tmp_path / "c.csv",
        f'id,rep,notes\na0,Ana,\na1,Ana,\na2,Ana,{long}\na3,Ben,\na4,Ana,\na5,Ben,"oops\na6,Ana,\n',
    )
    chunks = _chunked(path, 4)
    rows = [row for chunk in chunks for row in chunk]
    assert [(line, problem is not None) for line, _, problem in rows] == [
        (2, False),
        (3, False),
        (4, True),
        (5, False),
        (6, False),
        (7, True),
    ]
    assert rows[2][1] == [] and str(rows[2][2]).startswith("cannot read this record: field larger")
    assert rows == _by_record(path)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 64])
def test_any_block_size_gives_the_rows_of_the_record_by_record_reading(
    tmp_path: Path, size: int
) -> None:
    """Notes that break lines, CR line ends, blank lines and a last line without an end:
    whatever the block size, the rows and their lines are those `rows` gives."""
    path = write(
        tmp_path / "d.csv",
        'id,rep,notes\r\na0,Ana,"x\ny"\r\n\r\na1,Ben,\ra2,Ana,"p,\r\nq"\na3,Ben,"',
    )
    expected = _by_record(path)
    assert [line for line, _, _ in expected] == [2, 5, 6, 8]
    assert [row for chunk in _chunked(path, size) for row in chunk] == expected


def _chunked_within(path: Path, size: int, max_chars: int) -> list[list[Row]]:
    csv_file = open_csv(path, "utf-8", ",")
    try:
        return [chunk.as_rows() for chunk in csv_file.chunks(size, max_chars)]
    finally:
        csv_file.close()


def test_a_block_of_large_cells_ends_at_its_characters_before_its_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each row below is one line of 1,010 characters ("aN,Ana," 7, the note 1,002, the
    line end 1). Blocks of up to 100 lines but 2,500 characters (here the default,
    `BLOCK_CHARS`) hold two rows each (2,020; a third would make 3,030); with 1,000
    characters, less than one line, each block is its one line."""
    rows = [f"a{n},Ana,{'x' * 1000}ok" for n in range(5)]
    path = write(tmp_path / "big.csv", "id,rep,notes\n" + "".join(r + "\n" for r in rows))
    monkeypatch.setattr(csvfile, "BLOCK_CHARS", 2500)
    two = _chunked(path, 100)
    assert [[line for line, _, _ in chunk] for chunk in two] == [[2, 3], [4, 5], [6]]
    one = _chunked_within(path, 100, 1000)
    assert [[line for line, _, _ in chunk] for chunk in one] == [[2], [3], [4], [5], [6]]
    assert [row for chunk in two for row in chunk] == _by_record(path)
    assert [row for chunk in one for row in chunk] == _by_record(path)
    assert two[1][0] == (4, ["a2", "Ana", "x" * 1000 + "ok"], None)


def test_a_quoted_field_running_past_a_block_of_characters_takes_the_lines_read_ahead(
    tmp_path: Path,
) -> None:
    """Lines of 19 characters, blocks of at most 45 characters (two lines): a1's note opens
    on line 3, the block's last, and runs over lines 4 and 5, which were read ahead; the
    next block starts after them, on line 6, and every row is where `rows` finds it."""
    path = write(
        tmp_path / "q.csv",
        "id,rep,notes\n"  # 1
        "a0,Ana,aaaaaaaaaaa\n"  # 2, 19 characters with the line end
        'a1,Ben,"bbbbbbbbbb\n'  # 3
        "cccccccccccccccccc\n"  # 4, inside a1's note
        'ddddddddddddddddd"\n'  # 5, a1's note ends
        "a2,Ana,eeeeeeeeeee\n"  # 6
        "a3,Ben,fffffffffff\n"  # 7
        "a4,Ana,ggggggggggg\n",  # 8
    )
    chunks = _chunked_within(path, 100, 45)
    assert [[line for line, _, _ in chunk] for chunk in chunks] == [[2, 3], [6, 7], [8]]
    assert chunks[0][1][1] == ["a1", "Ben", "bbbbbbbbbb\ncccccccccccccccccc\nddddddddddddddddd"]
    assert [row for chunk in chunks for row in chunk] == _by_record(path)


# The checking process's separators (`pipeline.UNIT`, `pipeline.RECORD`).
SEPARATORS = ("\x1f", "\x1e")
# Awkward blocks, each under the header "id,rep,notes": what the csv module makes of each
# line is what splitting a block's text must give, or the block goes to the csv module.
AWKWARD = {
    "plain": "a0,Ana,one\na1,Ben,\na2,Ana,two words\n",
    "quoted comma and doubled quotes": 'a0,Ana,"x, y"\na1,Ben,"say ""hi"""\na2,Ana,z\n',
    "a quote inside a field": 'a0,Ana,5" screen\na1,Ben,"ab"cd\na2,Ana,"" \n',
    "a stray quote swallowing lines": 'a0,Ana,"oops\na1,Ben,x\na2,Ana,y\n',
    "a quoted line break": 'a0,Ana,"first\nsecond"\na1,Ben,x\n',
    "CRLF line ends": 'a0,Ana,one\r\na1,Ben,"q,r"\r\na2,Ana,\r\n',
    "a lone CR": "a0,Ana,one\ra1,Ben,two\n",
    "blank lines": "a0,Ana,one\n\na1,Ben,two\n\r\n",
    "a partial last line": "a0,Ana,one\na1,Ben",
    "a last line without its end": "a0,Ana,one\na1,Ben,two",
    "a last quoted line without its end": 'a0,Ana,one\na1,Ben,"two',
    "too many cells": "a0,Ana,one,extra\na1,Ben,two\n",
    "a NUL": "a0,Ana,o\x00ne\na1,Ben,two\n",
    "a separator in a cell": "a0,Ana,o\x1fne\na1,Ben,t\x1ewo\n",
    "spaces": " a0 , Ana ,  \na1,Ben, x \n",
}


# The blocks above split whole (the others hold a line the csv module must read).
SPLIT_WHOLE = {
    "plain",
    "quoted comma and doubled quotes",
    "a quote inside a field",
    "CRLF line ends",
    "a last line without its end",
    "spaces",
}


def _split_rows(path: Path, size: int) -> tuple[list[Row], int]:
    """The rows `split_chunks` gives, as `rows` gives them, and how many came split."""
    csv_file = open_csv(path, "utf-8", ",")
    rows: list[Row] = []
    split = 0
    try:
        for chunk in csv_file.split_chunks(size, SEPARATORS):
            if isinstance(chunk, csvfile.SplitChunk):
                split += 1
                cells = [list(row) for row in zip(*chunk.columns, strict=True)]
                packed = [row.split(SEPARATORS[0]) for row in chunk.text.split(SEPARATORS[1])]
                assert packed == cells
                rows += [(line, row, None) for line, row in zip(chunk.lines, cells, strict=True)]
            else:
                rows += chunk.as_rows()
    finally:
        csv_file.close()
    return rows, split


@pytest.mark.parametrize("size", [1, 2, 3, 64])
@pytest.mark.parametrize("name", sorted(AWKWARD))
def test_a_block_read_by_splitting_its_text_gives_the_csv_modules_rows(
    tmp_path: Path, name: str, size: int
) -> None:
    """Whatever the block, `split_chunks` gives the rows, cells and lines the csv module
    gives record by record (`rows`) and block by block (`chunks`); a block it cannot split
    exactly goes to the csv module."""
    path = write(tmp_path / "s.csv", "\ufeffid,rep,notes\n" + AWKWARD[name])
    expected = _by_record(path)
    rows, split = _split_rows(path, size)
    assert rows == expected
    if size == 64:  # one block: split when every line is a record of three cells
        assert split == (name in SPLIT_WHOLE)
    assert rows == [row for chunk in _chunked(path, size) for row in chunk]


def test_the_usual_blocks_are_split_and_an_awkward_one_is_left_to_the_csv_module(
    tmp_path: Path,
) -> None:
    """Blocks of 2 lines: the first two (a quoted note with a comma, CRLF ends) are split,
    the third (a stray quote from line 6 on) is read by the csv module, which reports it."""
    path = write(
        tmp_path / "u.csv",
        'id,rep,notes\na0,Ana,"x, y"\r\na1,Ben,\r\na2,Ana,p\na3,Ben,q\na4,Ana,"oops\na5,Ben,r\n',
    )
    rows, split = _split_rows(path, 2)
    assert split == 2
    assert rows[:4] == [
        (2, ["a0", "Ana", "x, y"], None),
        (3, ["a1", "Ben", ""], None),
        (4, ["a2", "Ana", "p"], None),
        (5, ["a3", "Ben", "q"], None),
    ]
    assert rows == _by_record(path)


def test_a_cell_over_the_csv_modules_limit_is_left_to_it(
    tmp_path: Path, small_fields: None
) -> None:
    """A block longer than the csv module's field limit is not split: its long cell is the
    module's to refuse, on its line (4)."""
    path = write(tmp_path / "l.csv", f"id,rep,notes\na0,Ana,\na1,Ana,\na2,Ana,{'x' * 30}\n")
    rows, split = _split_rows(path, 64)
    assert split == 0
    assert rows == _by_record(path)
    assert rows[2][0] == 4 and str(rows[2][2]).startswith("cannot read this record")


@hypothesis.settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
@given(
    text=st.text(alphabet=["a", "b", ",", '"', "\r", "\n", " ", "\x1f"], max_size=80),
    size=st.sampled_from([1, 2, 3, 64]),
)
def test_any_text_split_or_not_gives_the_csv_modules_rows(
    tmp_path: Path, text: str, size: int
) -> None:
    """Whatever the text (quotes, delimiters, CR and LF anywhere, a separator), the rows of
    `split_chunks` are those of the csv module's record-by-record reading."""
    path = write(tmp_path / "h.csv", "id,rep,notes\n" + text)
    rows, _ = _split_rows(path, size)
    assert rows == _by_record(path)


_CELL = st.text(alphabet=["a", ",", '"', " ", "\r", "\n"], max_size=6)


@hypothesis.settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
@given(
    lines=st.lists(
        st.tuples(
            st.lists(_CELL, min_size=2, max_size=4),
            st.booleans(),  # the cells quoted as a CSV writer quotes them
            st.sampled_from(["\n", "\r\n"]),
        ),
        max_size=12,
    ),
    size=st.sampled_from([1, 3, 64]),
)
def test_written_rows_split_or_not_give_the_csv_modules_rows(
    tmp_path: Path, lines: list[tuple[list[str], bool, str]], size: int
) -> None:
    """Rows of 2-4 cells, some as a CSV writer quotes them, some raw (a stray quote, a
    line break inside a cell), CRLF or LF: the rows of `split_chunks` are those of the csv
    module's record-by-record reading, and a block of quoted, three-cell rows is split."""
    text = ""
    for cells, quoted, end in lines:
        if quoted:
            cells = ['"' + cell.replace('"', '""') + '"' for cell in cells]
        text += ",".join(cells) + end
    path = write(tmp_path / "w.csv", "id,rep,notes\n" + text)
    rows, split = _split_rows(path, size)
    assert rows == _by_record(path)
    writer_quoted = all(q and len(c) == 3 and "\r" not in "".join(c) for c, q, _ in lines)
    if lines and writer_quoted and all("\n" not in "".join(c) for c, _, _ in lines):
        assert split >= 1
