"""`paceline import salesforce DIR`: a whole Salesforce export folder in one command.

The work is `paceline.ingest.crm.salesforce_folder.import_folder`; this prints one table
row per object file and the folder's totals, or the result as JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from paceline.cli import (
    JSON_OPTION,
    _ctx,
    _print_import_result,
    err,
    handles_errors,
    import_app,
    note_line,
    out,
    print_title,
    rejected_line,
)
from paceline.terminal import new_table

if TYPE_CHECKING:  # the importer loads when the command runs
    from paceline.ingest.crm.salesforce_folder import FolderImport, LeftOut


@import_app.command("salesforce")
@handles_errors
def import_salesforce(
    ctx: typer.Context,
    folder: Path = typer.Argument(..., exists=True, file_okay=False, readable=True),
    source: str | None = typer.Option(
        None, help="Source system name (default salesforce); with the ids it makes re-import safe."
    ),
    no_new_reps: bool = typer.Option(
        False, "--no-new-reps", help="Reject rows naming an unknown rep instead of creating it."
    ),
    allow_new_rep: list[str] = typer.Option(
        [],
        "--allow-new-rep",
        metavar="NAME",
        help="Create this new rep although the name looks like an existing rep's; repeatable.",
    ),
    errors_dir: Path | None = typer.Option(
        None, "--errors-dir", file_okay=False, help="Where to write OBJECT.errors.csv files."
    ),
    batch_size: int = typer.Option(10_000, min=1, max=1_000_000),
    max_rejected: str | None = typer.Option(
        None,
        "--max-rejected",
        help="Fail (exit 1) when a file rejects more rows than this: N rows or P% of its rows.",
    ),
    skip: list[str] = typer.Option(
        [],
        "--skip",
        metavar="FILE",
        help="Leave this file of the folder out (a second file for an object, or an object "
        "the export cannot give); repeatable. Said before anything is written.",
    ),
    owner: str | None = typer.Option(
        None,
        "--owner",
        metavar="REP",
        help="Credit every row of a deal, task or event file that has no OwnerId column to "
        "this rep (an OwnerId a file has is always used).",
    ),
    unlinked_events: bool = typer.Option(
        False,
        "--unlinked-events",
        help="Keep events linked to no contact, lead, account or deal as meetings (skipped "
        "by default: a dinner or an internal meeting is not selling).",
    ),
    verbose: bool = typer.Option(False, "--verbose", help="Print each file's full result."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Import a Salesforce export folder (User, Account, Contact, Opportunity,
    OpportunityHistory, Task, Event; CSV or SFDX tree JSON) in dependency order."""
    from paceline.ingest.accounting import ImportOptions, RejectLimit
    from paceline.ingest.crm.salesforce_folder import import_folder, plan_folder
    from paceline.serialize import dumps

    c = _ctx(ctx)
    try:
        limit = RejectLimit.parse(max_rejected) if max_rejected is not None else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--max-rejected") from None
    options = ImportOptions(
        source=source,
        allow_new_reps=not no_new_reps,
        confirmed_new_reps=frozenset(allow_new_rep),
        batch_size=batch_size,
        max_rejected=limit,
        unlinked_events=unlinked_events,
    )
    if owner is not None and not owner.strip():
        raise typer.BadParameter("a rep's name, not an empty text", param_hint="--owner")
    plan = plan_folder(c.settings, folder, options, tuple(skip), owner or "")
    if not as_json:  # what is left out and whom rows are credited to, before any write
        for line in _plan_lines(plan.left_out, plan.owner, plan.owner_files, plan.owner_unused):
            err.print(line, highlight=False, markup=False)
    done = import_folder(
        c.engine(),
        c.settings,
        folder,
        options,
        errors_dir,
        on_file=None if as_json else lambda obj, path: err.print(f"importing {path.name} ..."),
        plan=plan,
    )
    if as_json:
        out.print_json(dumps(done))
    else:
        _print_folder(done, verbose)
    if done.failed:
        failure = done.results[-1][1].failure
        err.print(f"[bold red]import failed at {done.stopped_after}:[/]", end=" ")
        err.print(failure, highlight=False, markup=False)
        raise typer.Exit(1)


def _plan_lines(
    left_out: list[LeftOut], owner: str, owner_files: list[str], owner_unused: list[str]
) -> list[str]:
    """The plan's choices in words: each file left out and why, each file credited to the
    --owner rep, and once, with their count and names, the files it credits nothing in
    (their OwnerId says each row's owner)."""
    lines = [
        f"left out: {item.file}" + (f" ({item.object})" if item.object else "") + f", {item.reason}"
        for item in left_out
    ]
    lines += [
        f"{name}: no OwnerId column: every row credited to {owner!r} (--owner)"
        for name in owner_files
    ]
    if owner and owner_unused:
        which = "every deal, task and event file has" if not owner_files else "they have"
        lines.append(
            f"--owner {owner!r} not used in {len(owner_unused)} file(s) "
            f"({', '.join(owner_unused)}): {which} OwnerId, which names each row's owner"
        )
    elif owner and not owner_files:
        lines.append(f"--owner {owner!r} not used: every deal, task and event file has OwnerId")
    return lines


def _print_folder(done: FolderImport, verbose: bool) -> None:
    from paceline.ingest.crm.salesforce_folder import COUNTS

    print_title(f"{done.folder} -> Paceline (Salesforce)")
    table = new_table()
    table.add_column("object")
    for name in COUNTS:
        table.add_column(name, justify="right")
    table.add_column("errors file")
    for obj, r in done.results:
        table.add_row(obj, *(f"{getattr(r, n):,}" for n in COUNTS), r.errors_file or "")
    totals = done.totals
    table.add_row("total", *(f"{totals[n]:,}" for n in COUNTS), "")
    out.print(table)
    if done.absent:
        out.print(f"no file for: {', '.join(done.absent)}")
    for line in _plan_lines(done.left_out, done.owner, done.owner_files, done.owner_unused):
        out.print(line, highlight=False, markup=False)
    for obj, r in done.results:
        if verbose:  # whom --owner credited, or did not, is said above for the folder
            _print_import_result(r, owner_line=False)
            continue
        for note, count in r.notes.items():
            out.print(f"{obj}: {note_line(note, count)}", highlight=False, markup=False)
        for rejected in r.rejected_by_reason[:5]:
            line = f"{obj}: {rejected_line(rejected, 'row(s) rejected')}"
            out.print(line, highlight=False, markup=False)
