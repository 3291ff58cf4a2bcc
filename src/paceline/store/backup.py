"""Backups that hold every acknowledged write, and restores that cannot half-happen.

Copying a live SQLite file is not a backup: a copy taken while Paceline wrote missed 43 of
2,511 acknowledged writes (they were still in the `-wal` file), and copying a file over a
database that had a leftover `-wal` gave "database disk image is malformed". So:

- SQLite goes through SQLite's online backup API, in one step: the copy is the database as
  of one instant (every write committed before the backup started, none half-done), taken
  while writers go on (WAL readers do not block them). The copy is written to a temporary
  file, checked (`PRAGMA integrity_check`) and only then renamed into place.
- PostgreSQL goes through `pg_dump --format=custom` (a consistent snapshot by design) and
  `pg_restore --single-transaction`, so a restore that fails changes nothing.

A restore replaces what the target holds, so it refuses a target that has data unless told
`replace=True`, and it refuses a file of the other database's kind with a clear reason.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, inspect, text

from paceline.errors import UserInputError
from paceline.files import is_special

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
COUNTED_TABLES = ("rep", "team", "activity", "deal", "target", "app_user")


class BackupError(UserInputError):
    """A backup or restore that could not be made; nothing was changed."""


@dataclass(frozen=True)
class BackupInfo:
    """What a backup or restore holds, for the face to confirm: the file, its kind, its size,
    the schema revision and the rows of the tables people care about."""

    path: str
    kind: str  # "sqlite" or "postgresql"
    bytes: int
    revision: str | None
    rows: dict[str, int]


def backup(engine: Engine, target: Path) -> BackupInfo:
    """Write a consistent copy of the database to `target` (replaced if it exists)."""
    target = target.expanduser()
    if target.is_dir():
        raise BackupError(f"{target}: is a folder; name the backup file")
    special = is_special(target)  # /dev/stdout, a pipe: written through, never replaced
    if not special:
        target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="paceline-backup-") as scratch:
        partial = (Path(scratch) if special else target.parent) / (target.name + ".partial")
        try:
            if engine.dialect.name == "sqlite":
                _sqlite_backup(engine, partial)
            else:
                _pg_dump(engine, partial)
            size = partial.stat().st_size
            if special:
                with partial.open("rb") as source, target.open("wb") as sink:
                    shutil.copyfileobj(source, sink)
            else:
                os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    return BackupInfo(str(target), engine.dialect.name, size, *_contents(engine))


def restore(engine: Engine, source: Path, *, replace: bool = False) -> BackupInfo:
    """Replace the database's contents with the backup's, all or nothing."""
    source = source.expanduser()
    kind = backup_kind(source)
    if kind != engine.dialect.name:
        raise BackupError(
            f"{source}: a {kind} backup cannot be restored into a {engine.dialect.name} "
            "database (export and import the data instead)"
        )
    _, rows = _contents(engine)
    if not replace and any(rows.values()):
        held = ", ".join(f"{n} {t}" for t, n in rows.items() if n)
        raise BackupError(
            f"the database already holds data ({held}); restoring replaces all of it: "
            "pass --replace to do so (take a backup of it first)"
        )
    if kind == "sqlite":
        _sqlite_restore(engine, source)
    else:
        _pg_restore(engine, source)
    return BackupInfo(str(source), kind, source.stat().st_size, *_contents(engine))


def backup_kind(path: Path) -> str:
    """'sqlite' or 'postgresql', from the file's first bytes; anything else is refused."""
    try:
        with path.open("rb") as file:
            head = file.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise BackupError(f"{path}: cannot read the backup: {exc.strerror}") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_DUMP_MAGIC):
        return "postgresql"
    raise BackupError(f"{path}: not a Paceline backup (neither a SQLite file nor a pg_dump)")


def _contents(engine: Engine) -> tuple[str | None, dict[str, int]]:
    tables = set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        revision = (
            conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            if "alembic_version" in tables
            else None
        )
        rows = {
            table: int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in COUNTED_TABLES
            if table in tables
        }
    return revision, rows


# --- SQLite ----------------------------------------------------------------------------------


def _sqlite_backup(engine: Engine, partial: Path) -> None:
    partial.unlink(missing_ok=True)
    with engine.connect() as conn:
        live = conn.connection.dbapi_connection
        assert isinstance(live, sqlite3.Connection)
        copy = sqlite3.connect(partial)
        try:
            live.backup(copy)  # pages=-1: one step, one snapshot
            _check_integrity(copy, partial)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal
        finally:
            copy.close()


def _sqlite_restore(engine: Engine, source: Path) -> None:
    """Through the backup API into the live database (never a file copy over it), so its WAL
    and the other connections' view stay coherent; one step, so all or nothing."""
    backup_file = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        _check_integrity(backup_file, source)
        engine.dispose()  # no pooled connection keeps a stale schema cache
        with engine.connect() as conn:
            live = conn.connection.dbapi_connection
            assert isinstance(live, sqlite3.Connection)
            backup_file.backup(live)
    finally:
        backup_file.close()
    engine.dispose()


def _check_integrity(conn: sqlite3.Connection, path: Path) -> None:
    try:
        found = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as exc:  # cut short or not a database at all
        raise BackupError(f"{path}: not a usable SQLite backup: {exc}") from None
    if found != ["ok"]:
        raise BackupError(f"{path}: the copy fails SQLite's integrity check: {found[:3]}")


# --- PostgreSQL ------------------------------------------------------------------------------


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed: a PostgreSQL backup needs the PostgreSQL client tools "
            "(Debian: apt-get install postgresql-client), of the server's version or newer"
        )
    return found


def _libpq_url(engine: Engine) -> str:
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()
        raise BackupError(f"{what} failed: {reason[-1] if reason else done.returncode}")


def _pg_dump(engine: Engine, partial: Path) -> None:
    _run(
        [
            _pg_tool("pg_dump"),
            "--format=custom",
            "--no-owner",
            f"--file={partial}",
            _libpq_url(engine),
        ],
        "pg_dump",
    )


def _pg_restore(engine: Engine, source: Path) -> None:
    engine.dispose()
    _run(
        [
            _pg_tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={_libpq_url(engine)}",
            str(source),
        ],
        "pg_restore",
    )
