"""diagnosis aggregates: prospect_day, prospect_step, kind_day

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06

The diagnosis (funnel timing, distinct prospects, the activity mix) read raw activities;
these tables hold the same facts per rep-day (first and last event per funnel step and
account; activities, Asks and engaged outcomes per kind) and per prospect (first and last
event ever per step, account and rep). No new triggers: the rollup's marks in `rollup_dirty`
already name every changed rep-day, and `ensure_rollup` recomputes these tables from them
in the same transaction as `metric_day`. They start empty; the rollup's fingerprint now
covers the funnel steps, so the first analysis after the upgrade rebuilds them once.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "prospect_day",
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("account_id", Id, autoincrement=False, nullable=False),
        sa.Column("rep_id", Id, autoincrement=False, nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("first_at", sa.DateTime(), nullable=False),
        sa.Column("last_at", sa.DateTime(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "metric", "account_id", "rep_id", "local_date", name=op.f("pk_prospect_day")
        ),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_prospect_day_rep_day", "prospect_day", ["rep_id", "local_date"])
    op.create_index(
        "ix_prospect_day_key_last",
        "prospect_day",
        ["metric", "account_id", "rep_id", "last_at"],
    )
    op.create_table(
        "prospect_step",
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("rep_id", Id, autoincrement=False, nullable=False),
        sa.Column("account_id", Id, autoincrement=False, nullable=False),
        sa.Column("first_at", sa.DateTime(), nullable=False),
        sa.Column("first_date", sa.Date(), nullable=False),
        sa.Column("last_at", sa.DateTime(), nullable=False),
        sa.Column("last_date", sa.Date(), nullable=False),
        sa.Column("ordered", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("metric", "rep_id", "account_id", name=op.f("pk_prospect_step")),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_prospect_step_account", "prospect_step", ["metric", "account_id"])
    op.create_table(
        "kind_day",
        sa.Column("rep_id", Id, autoincrement=False, nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("activities", sa.Integer(), nullable=False),
        sa.Column("asks", sa.Integer(), nullable=False),
        sa.Column("engaged", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("rep_id", "local_date", "kind", name=op.f("pk_kind_day")),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("kind_day")
    op.drop_index("ix_prospect_step_account", table_name="prospect_step")
    op.drop_table("prospect_step")
    op.drop_index("ix_prospect_day_key_last", table_name="prospect_day")
    op.drop_index("ix_prospect_day_rep_day", table_name="prospect_day")
    op.drop_table("prospect_day")
