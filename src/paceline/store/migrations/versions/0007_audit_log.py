"""audit_log: every change to activities, deals, targets, users, reps and tokens; the token
a token was minted with (api_token.parent_id), so revoking it revokes its children

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from paceline.store.migration_batch import batch_alter_table

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", Id, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(length=160), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("face", sa.String(length=16), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    op.create_index("ix_audit_log_entity_at", "audit_log", ["entity", "at"])
    with batch_alter_table("api_token") as batch:
        parent = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # as api_token.id
        batch.add_column(sa.Column("parent_id", parent, nullable=True))
        batch.create_foreign_key(
            op.f("fk_api_token_parent_id_api_token"), "api_token", ["parent_id"], ["id"]
        )


def downgrade() -> None:
    with batch_alter_table("api_token") as batch:
        batch.drop_constraint(op.f("fk_api_token_parent_id_api_token"), type_="foreignkey")
        batch.drop_column("parent_id")
    op.drop_index("ix_audit_log_entity_at", table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_at"), table_name="audit_log")
    op.drop_table("audit_log")
