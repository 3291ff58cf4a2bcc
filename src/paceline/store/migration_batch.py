"""Alembic's batch mode with the same result on every run, for the migrations.

On SQLite a batch that changes a column copies the table: Alembic reflects it, then walks
`Table.constraints` and `Table.indexes`, which are sets of objects hashed by their address, and
makes the copy's constraints and indexes in that walk's order. So two migrations of the same
empty database wrote `CREATE TABLE deal` with its foreign keys and unique constraint in
different orders (and made its indexes in different orders): the same schema, a different
text, which a schema compare had to sort line by line. Here the table is reflected first and
handed to Alembic (`copy_from`) with both sets in name order, so the copy is written the same
way every time. Other databases alter the table in place, and are given the batch as it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.util import OrderedSet


@contextmanager
def batch_alter_table(table_name: str) -> Iterator[Any]:
    """`op.batch_alter_table(table_name)`, whose table copy on SQLite lists its constraints
    and makes its indexes in name order (the primary key first, as SQLAlchemy writes it)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        with op.batch_alter_table(table_name) as batch:
            yield batch
        return
    table = sa.Table(table_name, sa.MetaData(), autoload_with=bind)
    table.constraints = OrderedSet(sorted(table.constraints, key=_constraint_order))
    table.indexes = OrderedSet(sorted(table.indexes, key=lambda index: str(index.name)))
    with op.batch_alter_table(table_name, copy_from=table) as batch:
        yield batch


def _constraint_order(constraint: sa.Constraint) -> tuple[str, str, tuple[str, ...]]:
    """By name, then kind and columns for a constraint SQLite keeps without one."""
    columns = tuple(column.name for column in getattr(constraint, "columns", ()))
    return (str(constraint.name or ""), type(constraint).__name__, columns)
