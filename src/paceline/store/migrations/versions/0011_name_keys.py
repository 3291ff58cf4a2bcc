"""name keys: account.name_key and contact.name_key, indexed, back-filled

Imports and the API find accounts and contacts by name as names match (case, spacing, NFKC
forms ignored). That was `lower(name) IN (...)`, which no index serves (a full scan of the
table per batch) and which on SQLite folds only ASCII ('ÉLODIE' was not 'élodie'). The key is
now stored, filled on every insert, and compared on its index.

The column is added NOT NULL with an empty default (SQLite can add no NOT NULL column
otherwise without rebuilding the table, which would drop the contact trigger the rollup
needs), then every existing row's key is computed here, in Python: the same normalisation as
`paceline.store.keys.name_key`, copied so this migration keeps meaning what it meant.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from __future__ import annotations

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLES = ("account", "contact")
CHUNK = 5_000


def _key(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).split()).casefold()


def upgrade() -> None:
    conn = op.get_bind()
    for table in TABLES:
        op.add_column(
            table,
            sa.Column("name_key", sa.String(length=400), server_default="", nullable=False),
        )
        t = sa.table(table, sa.column("id", sa.Integer()), sa.column("name", sa.String()))
        key = sa.table(table, sa.column("id"), sa.column("name_key"))
        update = (
            sa.update(key)
            .where(key.c.id == sa.bindparam("_id"))
            .values(name_key=sa.bindparam("_key"))
        )
        last = 0
        while True:
            rows = conn.execute(
                sa.select(t.c.id, t.c.name).where(t.c.id > last).order_by(t.c.id).limit(CHUNK)
            ).all()
            if not rows:
                break
            conn.execute(update, [{"_id": i, "_key": _key(name)} for i, name in rows])
            last = rows[-1][0]
        op.create_index(f"ix_{table}_name_key", table, ["name_key"])


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_index(f"ix_{table}_name_key", table_name=table)
        op.drop_column(table, "name_key")  # SQLite 3.35+: in place, the triggers kept
