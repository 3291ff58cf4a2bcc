"""Alembic environment: runs on the connection (and in the transaction) `paceline.store.migrate`
hands over in config.attributes, so an upgrade commits or rolls back as one."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, Engine

from paceline.store.models import Base

engine: Engine = context.config.attributes["engine"]
given: Connection | None = context.config.attributes.get("connection")


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()


if given is not None:
    run(given)
else:  # alembic driven without paceline.store.migrate.upgrade (e.g. downgrade in a test)
    with engine.begin() as connection:
        run(connection)
