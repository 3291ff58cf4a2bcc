"""deal.amount and deal_stage_history.amount may be NULL: an amount the CRM left empty is
stored as unknown, not as 0, so a real zero and a missing amount stay apart

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06

Existing zeros are kept as they are: nothing tells a zero typed on purpose from a blank that
an earlier version stored as 0, so the migration does not guess; re-importing the source
file stores its blanks as unknown. The downgrade writes unknown amounts back as 0 (the only
value the older schema can hold), which loses the distinction again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from paceline.store.migration_batch import batch_alter_table

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

Money = sa.Numeric(16, 2)


def _refuse_enforced_foreign_keys() -> None:
    """On SQLite the batch copy drops the old `deal` table; with foreign keys enforced that
    drop would delete every stage-history row (ON DELETE CASCADE). `paceline.store.migrate`
    turns them off around the transaction; anything else running this is refused."""
    bind = op.get_bind()
    if bind.dialect.name == "sqlite" and bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError(
            "0014 must run with SQLite foreign keys off (use paceline.store.migrate): "
            "copying the deal table would delete its stage history"
        )


def upgrade() -> None:
    # Batch mode: SQLite cannot ALTER a column's nullability, so the table is copied; the
    # upgrade runs in one transaction, so a failure leaves the tables as they were.
    _refuse_enforced_foreign_keys()
    with batch_alter_table("deal") as batch:
        batch.alter_column("amount", existing_type=Money, nullable=True)
    with batch_alter_table("deal_stage_history") as batch:
        batch.alter_column("amount", existing_type=Money, nullable=True)


def downgrade() -> None:
    _refuse_enforced_foreign_keys()
    op.execute("UPDATE deal_stage_history SET amount = 0 WHERE amount IS NULL")
    op.execute("UPDATE deal SET amount = 0 WHERE amount IS NULL")
    with batch_alter_table("deal_stage_history") as batch:
        batch.alter_column("amount", existing_type=Money, nullable=False)
    with batch_alter_table("deal") as batch:
        batch.alter_column("amount", existing_type=Money, nullable=False)
