"""day_zone: the time zone the activities' local days were derived in

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07

`activity.local_date`, the business day an activity counts on, is derived once, when the
activity is written, in the configured `[calendar] timezone`. Changing that zone afterwards
(`paceline init` writes America/New_York, a team in Berlin corrects it) left every stored
activity on its New York day while periods were cut in Berlin: an evening call stayed on
the day before, silently. One row records the zone the days are in, so a changed zone is
seen and the days derived again. Databases migrated with activities in them start with no
row: the zone configured at the next analysis or write is taken to be theirs (nothing
records which zone their days were derived in).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "day_zone",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_day_zone")),
    )


def downgrade() -> None:
    op.drop_table("day_zone")
