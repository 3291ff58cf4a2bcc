"""import_seen without a foreign key to import_run

`import_seen` holds the ids of stored records a running import has matched (a re-import
records every row of its file), and is emptied when the run ends or is found interrupted.
Its foreign key on `run_id` was checked by a trigger per inserted row (an index probe and a
row lock on the run): half of the server's work on `import_seen` and 40% of its insert, some
2.4 CPU s of a million-row re-import on PostgreSQL (benchmarks/README.md, import_throughput).
Only the import that created a run writes its `import_seen` rows, and no code deletes an
`import_run` (so the key's ON DELETE CASCADE never fired): the key guarded nothing, as
`activity.import_run_id` has none (0008).

PostgreSQL drops the constraint; SQLite, which cannot, copies the table (a few rows at
most: those of imports running during the upgrade). Revises 0019.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
KEY = "fk_import_seen_run_id_import_run"


def _copy_table(*constraints: sa.Constraint) -> None:
    """SQLite: `import_seen` again, with `constraints` besides its primary key."""
    op.create_table(
        "import_seen_copy",
        sa.Column("run_id", Id, nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        *constraints,
        sa.PrimaryKeyConstraint("run_id", "external_id", name=op.f("pk_import_seen")),
        sqlite_with_rowid=False,
    )
    op.execute("INSERT INTO import_seen_copy (run_id, external_id) SELECT * FROM import_seen")
    op.drop_table("import_seen")
    op.rename_table("import_seen_copy", "import_seen")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _copy_table()
    else:
        op.drop_constraint(KEY, "import_seen", type_="foreignkey")


def downgrade() -> None:
    # The rows of runs that are not recorded (none, as only a run's import writes them).
    op.execute("DELETE FROM import_seen WHERE run_id NOT IN (SELECT id FROM import_run)")
    if op.get_bind().dialect.name == "sqlite":
        key = sa.ForeignKeyConstraint(
            ["run_id"], ["import_run.id"], name=op.f(KEY), ondelete="CASCADE"
        )
        _copy_table(key)
    else:
        op.create_foreign_key(
            KEY, "import_seen", "import_run", ["run_id"], ["id"], ondelete="CASCADE"
        )
