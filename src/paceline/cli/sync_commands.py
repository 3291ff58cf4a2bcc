"""`paceline sync SOURCE` and `paceline sync --status`: pull a CRM's changes through its API.

The work is `paceline.ingest.sync.run_sync` (fetch everything first, then import it with the
source's shipped mappings, then move the cursors); this finds the connector through the
plugin seam, prints the accounting of each object's import and the sync's outcome, or the
status of every source.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from paceline.cli import JSON_OPTION, _ctx, _print_import_result, app, err, handles_errors, out
from paceline.errors import UserInputError
from paceline.terminal import new_table

if TYPE_CHECKING:
    from paceline.ingest.sync import SyncResult
    from paceline.store.syncs import SyncStatus


@app.command("sync")
@handles_errors
def sync_command(
    ctx: typer.Context,
    source: str | None = typer.Argument(
        None, help="The CRM to pull from: hubspot, pipedrive, or one a plugin adds."
    ),
    full: bool = typer.Option(
        False, "--full", help="Fetch every record, not only those changed since the last sync."
    ),
    status: bool = typer.Option(
        False, "--status", help="Show each source's last sync, cursors, rows and errors."
    ),
    errors_dir: Path | None = typer.Option(
        None,
        "--errors-dir",
        file_okay=False,
        help="Where rejected records go, SOURCE-OBJECT.errors.csv "
        "(default: [sync.SOURCE] errors_dir, else the current folder).",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Pull what changed in a CRM since the last sync through its API and import it."""
    from paceline import plugins  # the plugin machinery only when a sync runs
    from paceline.serialize import dumps

    c = _ctx(ctx)
    known = plugins.sync_connectors()
    if status:
        from paceline.store import syncs

        found = syncs.statuses(c.engine(), sorted(known) if source is None else [source])
        if as_json:
            out.print_json(dumps(found))
        else:
            _print_statuses(found)
        return
    if source is None:
        raise UserInputError(f"SOURCE: which CRM? known: {', '.join(sorted(known))}")
    from paceline.ingest.sync import run_sync

    connector = plugins.sync_connector(source)
    result = run_sync(c.engine(), c.settings, connector, plugins.import_source, full, errors_dir)
    if as_json:
        out.print_json(dumps(result))
    else:
        _print_result(result)
    if result.failure:
        err.print(f"[bold red]sync failed:[/] {result.failure}", highlight=False, markup=True)
        raise typer.Exit(1)


def _print_result(result: SyncResult) -> None:
    for done in result.imports:
        _print_import_result(done)
    how = "full" if result.full else "incremental" if result.cursors_before else "first"
    out.print(
        f"{result.source}: {how} sync {result.status}: {result.fetched:,} records fetched in "
        f"{result.requests:,} requests"
        + (f" ({result.waited_seconds:.0f} s waiting out limits)" if result.waited_seconds else ""),
        highlight=False,
    )
    if result.status == "done":
        for obj, mark in sorted(result.cursors_after.items()):
            out.print(f"  cursor {obj}: {mark}", highlight=False)
    else:
        out.print("  cursors unchanged: the next sync fetches the same changes", highlight=False)


def _print_statuses(found: list[SyncStatus]) -> None:
    table = new_table(title="CRM syncs", title_justify="left")
    for name in ("source", "last run", "status", "fetched", "read", "inserted", "updated"):
        table.add_column(name, justify="left" if name in ("source", "last run") else "right")
    table.add_column("rejected", justify="right")
    table.add_column("cursors")
    for s in found:
        when = f"{s.started_at:%Y-%m-%d %H:%M} UTC" if s.started_at else "never"
        table.add_row(
            s.source,
            when + (" (full)" if s.full else ""),
            s.status or "",
            f"{s.fetched:,}",
            f"{s.rows_read:,}",
            f"{s.inserted:,}",
            f"{s.updated:,}",
            f"{s.rejected:,}",
            "\n".join(f"{k}: {v}" for k, v in s.cursors.items()),
        )
    out.print(table)
    for s in found:
        if s.failure:
            out.print(f"{s.source}: [red]{s.status}[/]: ", end="")
            out.print(s.failure, highlight=False, markup=False)
