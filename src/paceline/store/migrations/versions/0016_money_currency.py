"""money_currency: the currency the database's amounts are in

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06

Each import refused amounts in a second currency, but only within one file: a first import
in dollars and a second in euros were added together in revenue. One row records the
currency the stored amounts are in (the configured `[money] currency`, else the first
marked amount or currency code an import accepted); later imports count in it. Databases
migrated with amounts already in them start with no row: the next marked amount sets it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "money_currency",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_money_currency")),
    )


def downgrade() -> None:
    op.drop_table("money_currency")
