"""deal_wait: activities kept without their deal link until the deal is imported

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07

`paceline sync` pulls only the records changed since the last sync. An activity pulled
before its deal (the deal refused by the first sync and corrected in the CRM since, or
created after the deals were fetched) was stored without its deal link and never pulled
again, so it stayed unlinked for good: every per-deal count left it out. One row per such
activity records the deal it names, and the deal's import links it. Databases migrated
with unlinked activities start with no rows: which deal those named was never stored.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deal_wait",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("activity_ref", sa.String(length=200), nullable=False),
        sa.Column("deal_ref", sa.String(length=200), nullable=False),
        sa.Column("file_hash", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("source", "activity_ref", name=op.f("pk_deal_wait")),
    )
    op.create_index("ix_deal_wait_deal", "deal_wait", ["source", "deal_ref"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_deal_wait_deal", table_name="deal_wait")
    op.drop_table("deal_wait")
