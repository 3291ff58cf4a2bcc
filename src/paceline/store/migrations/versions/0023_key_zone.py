"""day_zone.key_zone: the zone the keys of activities without an id are worked out in

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07

An activity imported without an `external_id` is known by a hash of its content, which held
its day and, for a date without a time, that day's midnight: both in the configured
`[calendar] timezone`. After the zone changed (and `day_zone` moved the stored days), the
same file imported again hashed its moved rows to new keys and added them again: a 3-row
file read 5 calls on a Monday. The keys are now worked out in one zone per database, the
first recorded, whatever the configured zone is later. Existing keys were worked out in the
zone the stored days are recorded in, so that zone becomes the key zone: every stored key
stays the one its file gives again, and no stored row is rewritten.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from paceline.store.migration_batch import batch_alter_table

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("day_zone", sa.Column("key_zone", sa.String(length=64), nullable=True))
    op.execute("UPDATE day_zone SET key_zone = zone")


def downgrade() -> None:
    with batch_alter_table("day_zone") as batch:
        batch.drop_column("key_zone")
