"""An upgrade that fails halfway leaves the schema as it was, and the next upgrade succeeds.

The fault, as seen: on SQLite, migration 0003 failed after creating `app_user`, and every
later `paceline init` failed on "table app_user already exists" (Python's sqlite3 driver
commits before each CREATE TABLE). Here the fault is injected the same way: the schema is
taken back to 0002, then the first index 0003 creates raises, after its four tables.
"""

from __future__ import annotations

import pytest
from alembic.operations import Operations
from sqlalchemy import Engine, inspect, text

from paceline.store.migrate import current_revision, downgrade, head_revision, upgrade

pytestmark = pytest.mark.faults


class InjectedFault(RuntimeError):
    pass


def _fail(*_args: object, **_kwargs: object) -> None:
    raise InjectedFault("disk I/O error (injected)")


def test_a_migration_failing_halfway_changes_nothing(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    downgrade(engine, "0002")
    with engine.begin() as conn:  # data written before the upgrade must survive its failure
        conn.execute(text("INSERT INTO team (name, created_at) VALUES ('East', '2026-12-01')"))
    tables = set(inspect(engine).get_table_names())
    assert "app_user" not in tables

    with monkeypatch.context() as patched:
        patched.setattr(Operations, "create_index", _fail)
        with pytest.raises(InjectedFault):
            upgrade(engine)
    engine.dispose()  # fresh connections: nothing may hide in a pooled one

    assert set(inspect(engine).get_table_names()) == tables  # not app_user, nor the others
    assert current_revision(engine) == "0002"
    upgrade(engine)  # it used to fail here forever: "table app_user already exists"
    assert current_revision(engine) == head_revision(engine)
    assert {"app_user", "api_token", "web_session", "login_attempt"} <= set(
        inspect(engine).get_table_names()
    )
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM team")).scalars().all() == ["East"]


def test_a_failed_first_upgrade_leaves_an_empty_database(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From nothing (as `paceline init` starts): all of 0001-0004 or none of it."""
    downgrade(engine, "base")
    assert [t for t in inspect(engine).get_table_names() if t != "alembic_version"] == []
    with monkeypatch.context() as patched:
        patched.setattr(Operations, "create_index", _fail)
        with pytest.raises(InjectedFault):
            upgrade(engine)
    engine.dispose()
    assert [t for t in inspect(engine).get_table_names() if t != "alembic_version"] == []
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)
