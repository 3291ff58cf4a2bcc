"""The terminal's consoles are made on first use, and `line` prints a line as it is.

Which modules a command imports is checked in a fresh interpreter by
`tests/cli/test_cli_startup.py` (this process has long imported Rich); these tests check that
the lazy consoles behave as the Rich consoles they stand for.
"""

from __future__ import annotations

import pytest
from rich.console import Console

from paceline import terminal


def test_a_console_is_made_on_first_use_and_is_the_same_one_after() -> None:
    lazy = terminal._LazyConsole(stderr=False)
    assert lazy.__dict__["_console"] is None  # nothing made yet
    lazy.width = 250  # set through to the console it makes
    made = terminal.console(lazy)  # type: ignore[arg-type]  # what `out` is at run time
    assert isinstance(made, Console) and made.width == 250
    assert lazy.is_terminal is made.is_terminal and terminal.console(lazy) is made  # type: ignore[arg-type]
    assert terminal.console(made) is made  # a real console is its own


def test_the_consoles_keep_their_settings(capsys: pytest.CaptureFixture[str]) -> None:
    """Standard output is wide when not a terminal (tables in logs are not cut at 80
    columns); the error console never wraps a message (one error, one line for `grep`)."""
    out = terminal.console(terminal._LazyConsole(stderr=False))  # type: ignore[arg-type]
    err = terminal.console(terminal._LazyConsole(stderr=True))  # type: ignore[arg-type]
    assert not out.is_terminal and out.width >= 132  # pytest captures stdout: not a terminal
    assert err.stderr and err.soft_wrap and not out.soft_wrap


def test_a_width_patched_for_a_test_is_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests widen `out` with monkeypatch: undoing it must give the console its width
    back, not try to delete an attribute the lazy console does not have."""
    lazy = terminal._LazyConsole(stderr=False)
    before = lazy.width
    with monkeypatch.context() as patch:
        patch.setattr(lazy, "width", before + 100)
        assert terminal.console(lazy).width == before + 100  # type: ignore[arg-type]
    assert lazy.width == before


def test_a_line_is_printed_as_it_is(capsys: pytest.CaptureFixture[str]) -> None:
    """No markup, no emoji codes, no wrapping: a rep's name is data."""
    text = "logged call #1 for Cy [b]Lane :phone: " + "x" * 300
    terminal.line(text)
    assert capsys.readouterr().out == text + "\n"


def test_tables_and_escapes_are_richs() -> None:
    table = terminal.new_table("rep", "calls", title="week")
    assert type(table).__module__ == "rich.table" and len(table.columns) == 2
    assert terminal.escape("[b]Lane") == "\\[b]Lane"


def test_every_test_reads_the_same_width() -> None:
    """The consoles print `TERMINAL_WIDTH` columns in each test (`pinned_terminal_width`),
    whatever COLUMNS or terminal pytest was started with and whichever test made them: a
    console is made once per process and kept the width it found then."""
    from factories import TERMINAL_WIDTH

    assert terminal.out.width == terminal.err.width == TERMINAL_WIDTH == 132
