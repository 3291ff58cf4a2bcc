"""kind_month: kind_day summed per rep, calendar month and kind

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07

A rep's brief at 10M activities read ~125 business days of `kind_day` per rep for the rep
and the peers over its 180-day window (the largest statement of the brief). `kind_month`
holds those sums per month, with the last day each one covers, so the window's whole months
(and its last month, when nothing is stored after the window's end) are one row per rep and
kind. No new triggers: `ensure_rollup` recomputes the months of the rep-days `rollup_dirty`
marks, in the same transaction as `kind_day`.

The table is filled here from `kind_day` as it stands (rep-days still marked are
recomputed, months included, by the next refresh), so an upgrade does not rebuild the
rollup. Revises 0018.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_FILL = """
INSERT INTO kind_month (rep_id, month, kind, activities, asks, engaged, last_day)
SELECT rep_id, {month}, kind, SUM(activities), SUM(asks), SUM(engaged), MAX(local_date)
FROM kind_day
GROUP BY rep_id, {month}, kind
"""

_MONTH = {
    "sqlite": "date(local_date, 'start of month')",
    "postgresql": "CAST(date_trunc('month', CAST(local_date AS timestamp)) AS date)",
}


def upgrade() -> None:
    op.create_table(
        "kind_month",
        sa.Column("rep_id", Id, autoincrement=False, nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("activities", sa.Integer(), nullable=False),
        sa.Column("asks", sa.Integer(), nullable=False),
        sa.Column("engaged", sa.Integer(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("rep_id", "month", "kind", name=op.f("pk_kind_month")),
        sqlite_with_rowid=False,
    )
    month = _MONTH[op.get_bind().dialect.name]
    op.execute(_FILL.format(month=month))


def downgrade() -> None:
    op.drop_table("kind_month")
