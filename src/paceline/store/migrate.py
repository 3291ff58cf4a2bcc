"""Schema migrations with Alembic, driven from code so `paceline init` needs no alembic.ini.

An upgrade is all or nothing on both databases. PostgreSQL's DDL is transactional as it
comes; SQLite's is too, but Python's sqlite3 driver commits on its own before each CREATE or
ALTER, so a migration that failed halfway left its first tables behind and every later
upgrade failed on "table ... already exists". The upgrade therefore takes the SQLite
transaction out of the driver's hands and opens it itself (`BEGIN`), as SQLAlchemy documents
for pysqlite: the whole upgrade, every revision in it, commits or rolls back as one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine


def alembic_config(engine: Engine, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.files("paceline.store") / "migrations"))
    config.attributes["engine"] = engine
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema up to `revision` (creating it on an empty database), in one
    transaction: a failure leaves the schema exactly as it was before."""
    with engine.connect() as conn, _transactional_ddl(conn):
        command.upgrade(alembic_config(engine, conn), revision)


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
    try:
        with conn.begin():
            conn.exec_driver_sql("BEGIN")
            yield
    finally:
        driver.isolation_level = saved


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def is_up_to_date(engine: Engine) -> bool:
    return current_revision(engine) == head_revision(engine)
