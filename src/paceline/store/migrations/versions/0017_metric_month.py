"""metric_month: metric_day summed per rep and calendar month

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07

A manager's month-to-date page summed every day of the month from `metric_day` for every
rep and metric (47,000 rows grouped into 5,000 at 1,000 reps, 13 days in: the largest
statement of the page). `metric_month` holds those sums per month, with the last day each
one covers, so a window from the month's first day reads one row per rep and metric when
nothing is stored after it. No new triggers: `ensure_rollup` recomputes the months of the
rep-days `rollup_dirty` marks, in the same transaction as `metric_day`.

The table is filled here from `metric_day` as it stands (rep-days still marked are
recomputed, months included, by the next refresh), so an upgrade does not rebuild the
rollup. Revises 0016.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_FILL = """
INSERT INTO metric_month (metric, month, rep_id, value, last_day)
SELECT metric, {month}, rep_id, SUM(value), MAX(local_date)
FROM metric_day
GROUP BY metric, {month}, rep_id
"""

_MONTH = {
    "sqlite": "date(local_date, 'start of month')",
    "postgresql": "CAST(date_trunc('month', CAST(local_date AS timestamp)) AS date)",
}


def upgrade() -> None:
    op.create_table(
        "metric_month",
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("rep_id", Id, autoincrement=False, nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("metric", "month", "rep_id", name=op.f("pk_metric_month")),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_metric_month_rep_month", "metric_month", ["rep_id", "month"])
    month = _MONTH[op.get_bind().dialect.name]
    op.execute(_FILL.format(month=month))


def downgrade() -> None:
    op.drop_index("ix_metric_month_rep_month", table_name="metric_month")
    op.drop_table("metric_month")
