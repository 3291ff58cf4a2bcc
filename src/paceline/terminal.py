"""The terminal the command line and the console alert channel print to.

Outside the `paceline.cli` package so that a built-in plugin printing to the terminal (the
console alert channel) can be loaded by the web application without importing the CLI.

Rich loads on first use, not on import: every command module imports `out`, `err` and the
table maker to declare its commands, and `paceline log`, which prints one plain line
(`line`), would otherwise import Rich's console, tables and markup for nothing (about 90 M
instructions, 5% of `log`; benchmarks/README.md, cli_startup). A command that prints a table,
JSON, markup or a progress bar makes the console then, and gets Rich's console itself.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table


class _LazyConsole:
    """A Rich `Console` made on its first use; every attribute is the console's own, read
    and set through (`out.width = 250` sets the console's width)."""

    def __init__(self, stderr: bool) -> None:
        object.__setattr__(self, "_stderr", stderr)
        object.__setattr__(self, "_console", None)

    def _made(self) -> Console:
        console: Console | None = self.__dict__["_console"]
        if console is None:
            from rich.console import Console

            if self.__dict__["_stderr"]:
                # Errors are one line each, whatever the width: a log or `grep` must see the
                # whole message (the terminal itself wraps long lines for the eye).
                console = Console(stderr=True, soft_wrap=True)
            else:
                console = Console()
                if not console.is_terminal:  # logs and pipes: wide enough for the tables,
                    console.width = max(console.width, 132)  # never 80-column wraps
            object.__setattr__(self, "_console", console)
        return console

    def __getattr__(self, name: str) -> Any:
        return getattr(self._made(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._made(), name, value)

    # The width is a property here as on the console (a data descriptor, not an instance
    # attribute), so that `monkeypatch.setattr(out, "width", 250)` restores the console's own
    # width afterwards rather than deleting an attribute this object never had.
    @property
    def width(self) -> int:
        return self._made().width

    @width.setter
    def width(self, value: int) -> None:
        self._made().width = value


# Typed as the consoles they become: a command prints with Rich's API, unchanged.
out = cast("Console", _LazyConsole(stderr=False))
err = cast("Console", _LazyConsole(stderr=True))


def console(made: Console) -> Console:
    """The Rich console behind `out` or `err` itself, for a Rich object that keeps the one it
    is given (`Progress(console=...)`) rather than only calling its methods."""
    if isinstance(made, _LazyConsole):
        return made._made()
    return made


def line(text: str) -> None:
    """Print one line of plain text on standard output, without Rich: no markup, no emoji
    codes, no highlighting (a rep's name is data) and no wrapping (one line stays one line
    for a log or `grep`). What `log` prints, so that it never imports Rich."""
    sys.stdout.write(f"{text}\n")


def new_table(*columns: Any, **options: Any) -> Table:
    """A Rich table (`rich.table.Table(*columns, **options)`), importing Rich when a command
    prints one rather than when its module is imported."""
    from rich.table import Table

    return Table(*columns, **options)


def escape(text: str) -> str:
    """`text` with Rich's markup escaped (`rich.markup.escape`), importing Rich when used."""
    from rich.markup import escape as escape_markup

    return escape_markup(text)


def number_cell(value: float | None) -> str:
    """A count or amount in a table cell: whole numbers from 100 up, one decimal below."""
    if value is None:
        return ""
    return f"{value:,.0f}" if abs(value) >= 100 or value == int(value) else f"{value:,.1f}"
