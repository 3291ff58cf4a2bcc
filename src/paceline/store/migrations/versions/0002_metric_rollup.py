"""metric rollup: metric_day, dirty marks kept by triggers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

Triggers rather than Python hooks mark changed rep-days, so every write path (imports, the
API, hand edits in SQL) keeps the rollup honest. PostgreSQL uses statement-level triggers with
transition tables (one INSERT of the distinct rep-days per statement, COPY included); SQLite
has only row triggers, which append one mark per row: nearly free, where an INSERT OR IGNORE
into a unique (rep, day) key doubled the cost of an imported row (measured).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

SQLITE_TRIGGERS = [
    """CREATE TRIGGER activity_rollup_insert AFTER INSERT ON activity BEGIN
        INSERT INTO rollup_dirty (rep_id, local_date) VALUES (NEW.rep_id, NEW.local_date);
    END""",
    """CREATE TRIGGER activity_rollup_update AFTER UPDATE ON activity BEGIN
        INSERT INTO rollup_dirty (rep_id, local_date) VALUES (OLD.rep_id, OLD.local_date);
        INSERT INTO rollup_dirty (rep_id, local_date) VALUES (NEW.rep_id, NEW.local_date);
    END""",
    """CREATE TRIGGER activity_rollup_delete AFTER DELETE ON activity BEGIN
        INSERT INTO rollup_dirty (rep_id, local_date) VALUES (OLD.rep_id, OLD.local_date);
    END""",
    """CREATE TRIGGER contact_rollup_update AFTER UPDATE OF seniority, is_decision_maker ON contact
    WHEN OLD.seniority IS NOT NEW.seniority OR OLD.is_decision_maker IS NOT NEW.is_decision_maker
    BEGIN
        INSERT INTO rollup_dirty_contact (contact_id) VALUES (NEW.id);
    END""",
]

_PG_MARK = """
    INSERT INTO rollup_dirty (rep_id, local_date) SELECT DISTINCT rep_id, local_date FROM {rows};
"""

POSTGRES_TRIGGERS = [
    f"""CREATE FUNCTION paceline_mark_activity_days() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN {_PG_MARK.format(rows="old_rows")} END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN {_PG_MARK.format(rows="new_rows")} END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER activity_rollup_insert AFTER INSERT ON activity
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION paceline_mark_activity_days()""",
    """CREATE TRIGGER activity_rollup_update AFTER UPDATE ON activity
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION paceline_mark_activity_days()""",
    """CREATE TRIGGER activity_rollup_delete AFTER DELETE ON activity
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION paceline_mark_activity_days()""",
    """CREATE FUNCTION paceline_mark_contacts() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO rollup_dirty_contact (contact_id)
        SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE o.seniority IS DISTINCT FROM n.seniority
           OR o.is_decision_maker IS DISTINCT FROM n.is_decision_maker;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER contact_rollup_update AFTER UPDATE ON contact
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION paceline_mark_contacts()""",
]


def upgrade() -> None:
    op.create_table(
        "metric_day",
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("rep_id", Id, autoincrement=False, nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("metric", "local_date", "rep_id", name=op.f("pk_metric_day")),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_metric_day_rep_day", "metric_day", ["rep_id", "local_date"])
    op.create_table(
        "rollup_dirty",
        sa.Column("id", Id, nullable=False),
        sa.Column("rep_id", Id, nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollup_dirty")),
    )
    op.create_table(
        "rollup_dirty_contact",
        sa.Column("id", Id, nullable=False),
        sa.Column("contact_id", Id, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollup_dirty_contact")),
    )
    op.create_table(
        "rollup_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("built_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollup_state")),
    )
    triggers = POSTGRES_TRIGGERS if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGERS
    for statement in triggers:
        op.execute(statement)


def downgrade() -> None:
    for name, table in (
        ("activity_rollup_insert", "activity"),
        ("activity_rollup_update", "activity"),
        ("activity_rollup_delete", "activity"),
        ("contact_rollup_update", "contact"),
    ):
        if op.get_bind().dialect.name == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS paceline_mark_activity_days()")
        op.execute("DROP FUNCTION IF EXISTS paceline_mark_contacts()")
    op.drop_table("rollup_state")
    op.drop_table("rollup_dirty_contact")
    op.drop_table("rollup_dirty")
    op.drop_index("ix_metric_day_rep_day", table_name="metric_day")
    op.drop_table("metric_day")
