"""`paceline report rep NAME` and `paceline report team NAME`: the weekly reports.

Without a file option the report prints as text (the e-mail's plain-text part); `--html FILE`
writes the HTML (inline styles, charts as SVG, no JavaScript), `--pdf FILE` the PDF, both at
once if asked; `--json` prints the report's data. `--week DATE` picks the week containing the
day (default: last week), read to its end or to today while it runs.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from paceline.cli import JSON_OPTION, _ctx, app, handles_errors, out
from paceline.cli.dates import DAY_METAVAR, parse_day
from paceline.cli.diagnosis_options import as_of_day
from paceline.errors import UserInputError
from paceline.files import write_whole

if TYPE_CHECKING:  # the reports (Jinja2, WeasyPrint) load when a report is asked for
    from paceline.reports.render import Report

report_app = typer.Typer(no_args_is_help=True, help="The weekly reports, as text, HTML or PDF.")
app.add_typer(report_app, name="report")

WEEK_OPTION = typer.Option(
    None,
    "--week",
    parser=parse_day,
    metavar=DAY_METAVAR,
    help="Any day of the week to report on (default: last week).",
)
PDF_OPTION = typer.Option(None, "--pdf", help="Write the report as PDF to this file.")
HTML_OPTION = typer.Option(None, "--html", help="Write the report as HTML to this file.")


@report_app.command("rep")
@handles_errors
def rep_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The rep's name."),
    week: dt.datetime | None = WEEK_OPTION,
    pdf: Path | None = PDF_OPTION,
    html: Path | None = HTML_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """A rep's weekly one-on-one: pace, changes, findings, coaching, stalled deals, targets."""
    _report(ctx, "rep", name, week, pdf, html, as_json)


@report_app.command("team")
@handles_errors
def team_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The team's name."),
    week: dt.datetime | None = WEEK_OPTION,
    pdf: Path | None = PDF_OPTION,
    html: Path | None = HTML_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """A team's weekly report: at a glance, who needs attention, forecast, pipeline flow."""
    _report(ctx, "team", name, week, pdf, html, as_json)


def _report(
    ctx: typer.Context,
    kind: str,
    name: str,
    week: dt.datetime | None,
    pdf: Path | None,
    html: Path | None,
    as_json: bool,
) -> None:
    from paceline.calendar import BusinessCalendar
    from paceline.reports.render import report_html, report_pdf, report_text, weekly_report
    from paceline.serialize import dumps

    c = _ctx(ctx)
    today = BusinessCalendar(c.settings.calendar).today()
    report = weekly_report(c.reader(), c.settings, kind, name, as_of_day(week), today)
    if html is not None:
        _write(html, report_html(c.settings, report).encode("utf-8"))
    if pdf is not None:
        _write(pdf, report_pdf(c.settings, report))
    if as_json:
        out.print_json(dumps(report))
    elif pdf is None and html is None:
        out.print(report_text(c.settings, report), highlight=False, markup=False, soft_wrap=True)
    else:
        _say_written(report, [p for p in (html, pdf) if p is not None])


def _write(path: Path, data: bytes) -> None:
    """The whole file or nothing (`files.write_whole`: a device such as /dev/stdout is
    written in place, never replaced)."""
    try:
        write_whole(path, data)
    except OSError as exc:
        raise UserInputError(f"file: cannot write {path}: {exc.strerror}") from None


def _say_written(report: Report, paths: list[Path]) -> None:
    written = ", ".join(str(p) for p in paths)
    out.print(
        f"{report.week.label} as of {report.as_of.isoformat()}: wrote {written}", highlight=False
    )
