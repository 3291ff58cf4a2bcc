"""imports that run at once, and imports whose process died

- `activity.import_run_id`, `deal.import_run_id`: the import that last wrote the row. An
  import used to take every row with an id above the largest one at its start as its own, so
  a row another import wrote meanwhile was counted as a "duplicate". Nullable, no foreign key
  and no index: adding it rewrites nothing on either database, and an imported row pays one
  integer, not a constraint check.
- `import_run.heartbeat_at`, `host`, `pid`, `pid_started`: who runs an import and when it was
  last seen alive, so the next import can mark a run whose process is gone "interrupted"
  (instead of "running" forever) and delete its `import_seen` rows.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from paceline.store.migration_batch import batch_alter_table

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Plain ADD COLUMN (no table copy) on both: SQLite and PostgreSQL add a nullable column
    # without a default by changing the catalogue only.
    op.add_column("activity", sa.Column("import_run_id", Id, nullable=True))
    op.add_column("deal", sa.Column("import_run_id", Id, nullable=True))
    op.add_column("import_run", sa.Column("heartbeat_at", sa.DateTime(), nullable=True))
    op.add_column("import_run", sa.Column("host", sa.String(length=255), nullable=True))
    op.add_column("import_run", sa.Column("pid", sa.Integer(), nullable=True))
    op.add_column("import_run", sa.Column("pid_started", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    for column in ("pid_started", "pid", "host", "heartbeat_at"):
        with batch_alter_table("import_run") as table:
            table.drop_column(column)
    for name in ("deal", "activity"):
        with batch_alter_table(name) as table:
            table.drop_column("import_run_id")
