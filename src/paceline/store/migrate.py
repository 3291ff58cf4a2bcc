"""Schema migrations with Alembic, driven from code so `paceline init` needs no alembic.ini.

An upgrade is all or nothing on both databases. PostgreSQL's DDL is transactional as it
comes; SQLite's is too, but Python's sqlite3 driver commits on its own before each CREATE or
ALTER, so a migration that failed halfway left its first tables behind and every later
upgrade failed on "table ... already exists". The upgrade therefore takes the SQLite
transaction out of the driver's hands and opens it itself (`BEGIN`), as SQLAlchemy documents
for pysqlite: the whole upgrade, every revision in it, commits or rolls back as one.

SQLite changes a column (say, its NOT NULL) by copying the table and dropping the old one
(Alembic's batch mode). With foreign keys enforced, that drop is a DELETE: it would cascade
to the rows that reference the table (every stage-history row of every deal) or fail on
them. So, as SQLite's own procedure for schema changes says, foreign keys are turned off
before the transaction (the pragma does nothing inside one), checked with
`PRAGMA foreign_key_check` before the commit (a violation rolls everything back), and turned
on again after.

Alembic (with Mako and Pygments) takes a fifth of a second to import, so it is imported only
to migrate: the check every command makes, `is_up_to_date`, reads the head revision from the
migration files' text and the current one with one SELECT.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

# `revision = "0004"` and `down_revision = "0003"` (or None) at the top of a migration file.
_REVISION_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.+?)\s*$", re.M)


def alembic_config(engine: Engine, connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("paceline.store") / "migrations"))
    config.attributes["engine"] = engine
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema up to `revision` (creating it on an empty database), in one
    transaction: a failure leaves the schema exactly as it was before.

    A database already at the head is left as it is without importing Alembic (which then
    loads every migration file to find nothing to do, a tenth of a second): `paceline init`
    on a current database, and the test builders that make sure of the schema, pay one
    SELECT."""
    if revision == "head" and is_up_to_date(engine):
        return
    from alembic import command

    with engine.connect() as conn, _transactional_ddl(conn):
        command.upgrade(alembic_config(engine, conn), revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema back to `revision`, in one transaction as `upgrade` does (for tests and
    recovery; no command offers it)."""
    from alembic import command

    with engine.connect() as conn, _transactional_ddl(conn):
        command.downgrade(alembic_config(engine, conn), revision)


@contextmanager
def _transactional_ddl(conn: Connection) -> Iterator[None]:
    """One transaction around DDL and data alike; committed only if everything succeeded."""
    if conn.dialect.name != "sqlite":
        with conn.begin():
            yield
        return
    driver = conn.connection.dbapi_connection
    assert driver is not None
    saved = driver.isolation_level
    driver.isolation_level = None  # the driver stops committing
    driver.execute("PRAGMA foreign_keys=OFF")  # outside the transaction, or it does nothing
    try:
        with conn.begin():
            conn.exec_driver_sql("BEGIN")
            yield
            broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                table, row, parent, _ = broken[0]
                raise RuntimeError(
                    f"migration left {len(broken)} broken foreign key(s), e.g. {table} row "
                    f"{row} -> {parent}; nothing was changed"
                )
    finally:
        driver.execute("PRAGMA foreign_keys=ON")
        driver.isolation_level = saved


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def is_up_to_date(engine: Engine) -> bool:
    """Whether the database is at the newest revision; without importing Alembic when the
    migrations form one line (they always have), with it otherwise."""
    head = head_from_files()
    if head is None:
        return current_revision(engine) == head_revision(engine)
    # One query, the common answer: stamped at the head. Only when it fails is it asked why
    # (no alembic_version table: never migrated), so a current database costs no reflection.
    with engine.connect() as conn:
        try:
            stamped = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        except DBAPIError:
            conn.rollback()
            if inspect(conn).has_table("alembic_version"):
                raise  # the table is there: the failure is something else, say it
            return False
    return list(stamped) == [head]


def head_from_files() -> str | None:
    """The head revision as the migration files' `revision`/`down_revision` lines name it:
    the one revision no other revision builds on. None when that is not one plain answer (a
    branch, a merge, a value that is not a string literal): then ask Alembic."""
    revisions: set[str] = set()
    parents: set[str] = set()
    versions = resources.files("paceline.store") / "migrations" / "versions"
    for path in versions.iterdir():
        if not path.name.endswith(".py"):
            continue
        found = dict(_REVISION_LINE.findall(path.read_text("utf-8")))
        try:
            revision = ast.literal_eval(found.get("revision", "None"))
            down = ast.literal_eval(found.get("down_revision", "None"))
        except (ValueError, SyntaxError):
            return None
        if not isinstance(revision, str) or not (down is None or isinstance(down, str)):
            return None
        revisions.add(revision)
        if down is not None:
            parents.add(down)
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None
