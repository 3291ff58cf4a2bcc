"""`paceline backup FILE` and `paceline restore FILE`: the only safe way to copy the data.

A copy of a live SQLite file can miss acknowledged writes and a file copied over a database
with a leftover WAL is corrupt; these go through SQLite's backup API and pg_dump/pg_restore
(`paceline.store.backup`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from paceline.cli import JSON_OPTION, Context, app, handles_errors, out

if TYPE_CHECKING:
    from paceline.store.backup import BackupInfo


def _said(verb: str, info: BackupInfo) -> str:
    rows = ", ".join(f"{table} {count:,}" for table, count in info.rows.items())
    return f"{verb} {info.path} ({info.kind}, {info.bytes:,} bytes, schema {info.revision}): {rows}"


@app.command("backup")
@handles_errors
def backup_command(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="The backup file to write (replaced if it exists)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Write a consistent copy of the database while it stays in use."""
    from paceline.serialize import dumps
    from paceline.store.backup import backup

    c: Context = ctx.obj
    info = backup(c.engine(), file)
    if as_json:
        out.print_json(dumps(info))
        return
    out.print(_said("backed up to", info), highlight=False, soft_wrap=True)


@app.command("restore")
@handles_errors
def restore_command(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="A file written by `paceline backup`."),
    replace: bool = typer.Option(
        False, "--replace", help="Replace a database that already holds data."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Replace the database's contents with a backup's, all or nothing."""
    from paceline.serialize import dumps
    from paceline.store.backup import restore
    from paceline.store.migrate import is_up_to_date

    c: Context = ctx.obj
    info = restore(c.engine(checked=False), file, replace=replace)
    if as_json:
        out.print_json(dumps(info))
        return
    out.print(_said("restored from", info), highlight=False, soft_wrap=True)
    if not is_up_to_date(c.engine(checked=False)):
        out.print(
            "the backup's schema is older: run `paceline init` to upgrade it", highlight=False
        )
