"""`paceline import calendar` and `paceline import detect`: meetings from .ics files, and
which mapping (or which starting mapping) reads an unknown file.

Both only parse options and print: the calendar goes through the activity import
(`paceline.ingest.calendar_ics`), the detection is `paceline.ingest.detect`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from paceline.cli import (
    JSON_OPTION,
    _ctx,
    _fail_if_failed,
    _print_import_result,
    handles_errors,
    import_app,
    out,
)
from paceline.ingest.accounting import ImportOptions, RejectLimit
from paceline.ingest.calendar_ics import import_calendar
from paceline.serialize import dumps


@import_app.command("calendar")
@handles_errors
def calendar_command(
    ctx: typer.Context,
    path: Path = typer.Argument(
        ..., exists=True, readable=True, help="An .ics file, or a folder of them."
    ),
    rep: str | None = typer.Option(
        None,
        "--rep",
        help="The rep whose calendar this is: the meetings' rep when neither the organiser "
        "nor an attendee has a rep's e-mail.",
    ),
    internal_domain: list[str] | None = typer.Option(
        None,
        "--internal-domain",
        help="An e-mail domain of your own company (repeat for several); added to "
        "[meetings] internal_domains. Default: the reps' e-mail domains.",
    ),
    since: str | None = typer.Option(
        None, "--since", help="Leave out meetings before this date (YYYY-MM-DD)."
    ),
    source: str | None = typer.Option(
        None, help="Source name the event ids are kept under (default: calendar)."
    ),
    errors: Path | None = typer.Option(None, help="Where to write rejected events (CSV)."),
    max_rejected: str | None = typer.Option(
        None, "--max-rejected", help="Fail (exit 1) above N rejected events, or P% of them."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Import meetings from iCalendar files (Google Calendar, Outlook, CalDAV exports)."""
    c = _ctx(ctx)
    try:
        limit = RejectLimit.parse(max_rejected) if max_rejected is not None else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--max-rejected") from None
    try:
        start = dt.datetime.combine(dt.date.fromisoformat(since), dt.time()) if since else None
    except ValueError:
        raise typer.BadParameter(f"not a date: {since!r}", param_hint="--since") from None
    if start is not None:  # the start of that day in the business calendar, in UTC
        zone = c.settings.calendar.zone
        start = start.replace(tzinfo=zone).astimezone(dt.UTC).replace(tzinfo=None)
    options = ImportOptions(source=source, errors_path=errors, max_rejected=limit)
    result = import_calendar(
        c.engine(), c.settings, path, options, rep, list(internal_domain or []), start
    )
    if as_json:
        out.print_json(dumps(result))
    else:
        _print_import_result(result)
    _fail_if_failed(result)
