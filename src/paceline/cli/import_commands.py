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
    from paceline.ingest.accounting import ImportOptions, RejectLimit
    from paceline.ingest.calendar_ics import import_calendar
    from paceline.serialize import dumps

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


@import_app.command("detect")
@handles_errors
def detect_command(
    ctx: typer.Context,
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    sheet: str | None = typer.Option(
        None, help="A spreadsheet's sheet, by name or 1-based number (default: the first)."
    ),
    reader_name: str | None = typer.Option(
        None, "--from", help="The import source that reads FILE (default: by its extension)."
    ),
    output: Path | None = typer.Option(
        None,
        "--output",
        help="Where to write a starting mapping for an unknown layout "
        "(default: ./<file>.mapping.toml).",
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing starting mapping."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Recognise a file's layout (a shipped or example mapping, or the generic columns) and
    print the import command; for an unknown layout, write a starting mapping to edit."""
    from paceline import plugins
    from paceline.ingest.detect import detect
    from paceline.serialize import dumps

    c = _ctx(ctx)
    source = plugins.import_source_for(file, reader_name)
    found = detect(file, source, c.settings, sheet, output, force, reader_name is not None)
    if as_json:
        out.print_json(dumps(found))
        return
    if found.pipeline_stages is not None:
        out.print(
            f"{file.name}: a {found.reader} pipeline definition with "
            f"{found.pipeline_stages} stage(s); it names deals' stages (--pipelines), and "
            "prints the [[stages]] the configuration lacks with:",
            highlight=False,
            markup=False,
        )
        out.print(f"  {found.command}", highlight=False, soft_wrap=True)
        return
    shown = ", ".join(h for h in found.header if h.strip())
    out.print(f"{file.name}: {len(found.header)} columns ({shown})", highlight=False)
    if found.known:
        what = f"the mapping {found.mapping}" if found.mapping else "the generic columns"
        out.print(f"recognised: {found.entity}, read with {what}", highlight=False)
    else:
        closest = next(iter(found.fits), None)
        if closest is not None:
            out.print(
                f"no known layout fits; the closest is {closest['mapping']} "
                f"({closest['entity']}), which lacks: {', '.join(map(str, closest['missing']))}",  # type: ignore[call-overload]
                highlight=False,
            )
        else:
            out.print("no known layout shares a column with it", highlight=False)
        if found.written:
            out.print(f"wrote a starting mapping for {found.entity}: {found.written}")
        else:
            out.print(f"kept the existing {found.mapping} (--force replaces it)")
        if found.missing_fields:
            out.print(
                f"[yellow]edit it first:[/] no column found for the required "
                f"{', '.join(found.missing_fields)}",
                highlight=False,
            )
        out.print("check every guess in it, then import with:")
    out.print(f"  {found.command}", highlight=False, soft_wrap=True)
