"""job_run, job_delivery, user_preference: scheduled jobs' claimed runs, their per-person
deliveries, and what each user wants sent

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "job_run",
        sa.Column("id", Id, nullable=False),
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("scheduled_for", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=False),
        sa.Column("lease_until", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=1000), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_run")),
        sa.UniqueConstraint("job", "scope", "scheduled_for", name="uq_job_run_slot"),
    )
    op.create_table(
        "job_delivery",
        sa.Column("id", Id, nullable=False),
        sa.Column("run_id", Id, nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("not_before", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=1000), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["job_run.id"], name=op.f("fk_job_delivery_run_id_job_run")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_delivery")),
        sa.UniqueConstraint("run_id", "recipient", "subject", name="uq_job_delivery_item"),
    )
    op.create_index("ix_job_delivery_run_id", "job_delivery", ["run_id"])
    op.create_index("ix_job_delivery_status_not_before", "job_delivery", ["status", "not_before"])
    op.create_table(
        "user_preference",
        sa.Column("user_id", Id, nullable=False),
        sa.Column("rep_digest", sa.Boolean(), nullable=False),
        sa.Column("manager_digest", sa.Boolean(), nullable=False),
        sa.Column("alerts", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("quiet_start", sa.String(length=5), nullable=True),
        sa.Column("quiet_end", sa.String(length=5), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_user_preference_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_preference")),
    )


def downgrade() -> None:
    op.drop_table("user_preference")
    op.drop_index("ix_job_delivery_status_not_before", table_name="job_delivery")
    op.drop_index("ix_job_delivery_run_id", table_name="job_delivery")
    op.drop_table("job_delivery")
    op.drop_table("job_run")
