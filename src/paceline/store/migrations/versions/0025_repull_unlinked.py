"""A full pull of a sync's activities where some were kept unlinked before deal_wait

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-08

Before 0024 an activity pulled by `paceline sync` before its deal was stored without its
deal link, and which deal it named was not kept anywhere: 0024 starts with no rows
waiting, so the deal's arrival could not link it, and an incremental sync never pulls an
unchanged activity again. It stayed unlinked for good. Only pulling it again can tell
which deal it names, so this data step forgets the activity objects' cursors (HubSpot's
calls, meetings, emails and tasks; Pipedrive's activities) of every source that has an
activity without a deal link: the next sync lists them whole, and its import links each
one whose deal is stored now (counted in the summary), records those still waiting in
`deal_wait`, and finds the rest unchanged. A source whose activities are all linked keeps
its cursors. No other row is touched; the downgrade cannot put the cursors back (a full
pull is harmless: what it brings again is unchanged).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

# The sync objects whose records import as activities (`ingest.sync.hubspot.OBJECTS`,
# `ingest.sync.pipedrive.OBJECTS`), as they were when this migration was written.
ACTIVITY_OBJECTS = ("calls", "meetings", "emails", "tasks", "activities")


def upgrade() -> None:
    cursor = sa.table("sync_cursor", sa.column("source"), sa.column("object"))
    activity = sa.table("activity", sa.column("source"), sa.column("deal_id"))
    unlinked = sa.exists().where(activity.c.source == cursor.c.source, activity.c.deal_id.is_(None))
    op.execute(sa.delete(cursor).where(cursor.c.object.in_(ACTIVITY_OBJECTS), unlinked))


def downgrade() -> None:
    pass
