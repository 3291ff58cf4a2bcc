"""list order indexes: activities by (occurred_at, id), deals by (created_at, id)

The API's and the pages' lists read newest first and page with a keyset cursor; without an
index in that order every first page scanned and sorted the whole table (1.1 s per request on
a 480k-activity database).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_activity_occurred_id", "activity", ["occurred_at", "id"])
    op.create_index("ix_deal_created_id", "deal", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_deal_created_id", table_name="deal")
    op.drop_index("ix_activity_occurred_id", table_name="activity")
