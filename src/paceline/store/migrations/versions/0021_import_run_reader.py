"""import_run.reader: the import source that read the file

An import run recorded `source`, the system its records' ids come from ((source,
external_id) keys every record), which a file in the generic columns keeps as "csv" whatever
its format: a spreadsheet's run said "csv". `reader` records which import source read the
file ("csv", "xlsx", "calendar", a plugin's), so the record says what was imported. The
runs recorded before it have none (NULL): which source read them was never kept. Revises
0020.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from paceline.store.migration_batch import batch_alter_table

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("import_run", sa.Column("reader", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with batch_alter_table("import_run") as batch:
        batch.drop_column("reader")
