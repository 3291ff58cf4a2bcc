"""sync_run, sync_cursor: live CRM syncs and each source's high-water mark per object

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
COUNTS = (
    "fetched",
    "requests",
    "rows_read",
    "inserted",
    "updated",
    "unchanged",
    "duplicate",
    "skipped",
    "rejected",
)


def upgrade() -> None:
    op.create_table(
        "sync_run",
        sa.Column("id", Id, nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("failure", sa.String(length=1000), nullable=True),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_run")),
    )
    op.create_index("ix_sync_run_source", "sync_run", ["source"])
    op.create_table(
        "sync_cursor",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("object", sa.String(length=64), nullable=False),
        sa.Column("cursor", sa.String(length=64), nullable=False),
        sa.Column("run_id", Id, nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["sync_run.id"], name=op.f("fk_sync_cursor_run_id_sync_run")
        ),
        sa.PrimaryKeyConstraint("source", "object", name=op.f("pk_sync_cursor")),
    )


def downgrade() -> None:
    op.drop_table("sync_cursor")
    op.drop_index("ix_sync_run_source", table_name="sync_run")
    op.drop_table("sync_run")
