"""What the diagnosis commands share: their options, the window those name, and the command
that runs one analysis.

`funnel`, `equation`, `quality`, `when`, `flow`, `stalled` and `diagnose` all ask about a rep,
a team or everyone over a window ending on an as-of day; declaring the options once keeps their
names, formats and defaults the same in every command.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import typer

from paceline.cli import JSON_OPTION, _ctx, app, handles_errors, out
from paceline.cli.dates import DAY_METAVAR, parse_day

if TYPE_CHECKING:
    from paceline.analytics.window import Window
    from paceline.config import Settings

REP_OPTION = typer.Option(None, "--rep", "-r", help="One rep (by name), beside their peers.")
TEAM_OPTION = typer.Option(None, "--team", "-t", help="One team's reps (default: everyone).")
PERIOD_OPTION = typer.Option(
    None,
    "--period",
    "-p",
    help="week, month, quarter, year (to date) or trailing days such as 90d "
    "(default: the configured diagnosis window).",
)
AS_OF_OPTION = typer.Option(
    None,
    "--as-of",
    parser=parse_day,
    metavar=DAY_METAVAR,
    help="The last day read (default: today).",
)

Analysis = Callable[..., Any]


def as_of_day(as_of: dt.datetime | None) -> dt.date | None:
    """--as-of as a day (Typer parses dates into datetimes); None means today."""
    return as_of.date() if as_of else None


def option_window(settings: Settings, period: str | None, as_of: dt.datetime | None) -> Window:
    """The window --period and --as-of name; no --period: the configured diagnosis window."""
    from paceline.analytics.window import diagnosis_window

    return diagnosis_window(settings, period or settings.diagnose.window, as_of_day(as_of))


def analysis_command(
    name: str, analysis: Analysis | str, show: Callable[[Any], None], summary: str
) -> None:
    """Register `paceline NAME`: `analysis(engine, settings, window, rep=, team=)` over the
    options above, printed by `show` for people or as JSON with --json.

    `analysis` may be named as "module:function", imported only when the command runs, so
    that starting `paceline` does not load every analysis (and SciPy) first."""

    @app.command(name, help=summary)
    @handles_errors
    def command(
        ctx: typer.Context,
        rep: str | None = REP_OPTION,
        team: str | None = TEAM_OPTION,
        period: str | None = PERIOD_OPTION,
        as_of: dt.datetime | None = AS_OF_OPTION,
        as_json: bool = JSON_OPTION,
    ) -> None:
        from paceline.serialize import dumps

        c = _ctx(ctx)
        window = option_window(c.settings, period, as_of)
        found = _resolve(analysis)(c.reader(), c.settings, window, rep=rep, team=team)
        out.print_json(dumps(found)) if as_json else show(found)


def _resolve(analysis: Analysis | str) -> Analysis:
    """The analysis function itself, importing its module if it was named "module:function"."""
    if not isinstance(analysis, str):
        return analysis
    module, _, attribute = analysis.partition(":")
    found: Analysis = getattr(importlib.import_module(module), attribute)
    return found
