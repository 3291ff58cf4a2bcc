"""The terminal the command line and the console alert channel print to.

Outside the `paceline.cli` package so that a built-in plugin printing to the terminal (the
console alert channel) can be loaded by the web application without importing the CLI.
"""

from __future__ import annotations

from rich.console import Console

out = Console()
# Errors are one line each, whatever the width: a log or `grep` must see the whole message
# (the terminal itself wraps long lines for the eye).
err = Console(stderr=True, soft_wrap=True)
if not out.is_terminal:  # logs and pipes: wide enough for the tables, never 80-column wraps
    out.width = max(out.width, 132)


def number_cell(value: float | None) -> str:
    """A count or amount in a table cell: whole numbers from 100 up, one decimal below."""
    if value is None:
        return ""
    return f"{value:,.0f}" if abs(value) >= 100 or value == int(value) else f"{value:,.1f}"
