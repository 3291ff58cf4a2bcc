"""import_run.failure: why a failed import failed

An import that ran to its end but rejected every row, or more than --max-rejected, used to be
recorded as "done"; it is now "failed", and this column says why.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa

from paceline.store.migration_batch import batch_alter_table

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with batch_alter_table("import_run") as table:
        table.add_column(sa.Column("failure", sa.String(length=1000), nullable=True))


def downgrade() -> None:
    with batch_alter_table("import_run") as table:
        table.drop_column("failure")
