"""A backup taken under concurrent writes restores to a consistent database holding every
write acknowledged before it started; a restore that cannot be done changes nothing.

The writer commits one team at a time and records each name only after its commit returned
(an acknowledged write). The backup starts once 150 are acknowledged; the writer goes on
during and after it. The restored database must hold every name acknowledged before the
backup started and, the writer being sequential, exactly the first N names for some N: no
gap, no half-written row.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select
from typer.testing import CliRunner

from factories import PipeReader, scratch_pg_databases
from paceline.cli import app
from paceline.store.backup import BackupError, backup, restore
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade
from paceline.store.models import Team

pytestmark = pytest.mark.faults
WHEN = dt.datetime(2026, 12, 1, 9)


class Writer(threading.Thread):
    """Writes teams T00000, T00001, ... one transaction each, until stopped."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.engine = make_engine(url)
        self.acknowledged: list[str] = []
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                name = f"T{len(self.acknowledged):05d}"
                with self.engine.begin() as conn:
                    conn.execute(insert(Team).values(name=name, created_at=WHEN))
                self.acknowledged.append(name)  # only once the commit returned
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            self.engine.dispose()

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + 60
        while len(self.acknowledged) < count:
            assert self.error is None, self.error
            assert time.monotonic() < deadline, "the writer is stuck"
            time.sleep(0.005)


def _teams(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(Team.name).order_by(Team.name)).scalars())


def _backup_under_writes(url: str, engine: Engine, file: Path) -> tuple[list[str], list[str]]:
    """(acknowledged before the backup started, acknowledged by the end)."""
    writer = Writer(url)
    writer.start()
    try:
        writer.wait_for(150)
        before = list(writer.acknowledged)
        backup(engine, file)
        writer.wait_for(len(before) + 50)  # it kept writing through the backup
    finally:
        writer.stop.set()
        writer.join(timeout=30)
    assert writer.error is None, writer.error
    return before, list(writer.acknowledged)


def _consistent(restored: list[str], before: list[str], total: list[str]) -> None:
    assert set(before) <= set(restored)  # every write acknowledged before the backup
    assert restored == total[: len(restored)]  # a prefix of the writer's: no gap


def test_sqlite_backup_under_writes_holds_every_acknowledged_write(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.db'}"
    engine = make_engine(url)
    upgrade(engine)
    file = tmp_path / "backups" / "paceline.backup"
    before, total = _backup_under_writes(url, engine, file)
    assert not file.with_name(file.name + ".partial").exists()
    assert not Path(f"{file}-wal").exists()  # one self-contained file

    target = make_engine(f"sqlite:///{tmp_path / 'restored.db'}")
    info = restore(target, file)
    restored = _teams(target)
    _consistent(restored, before, total)
    assert info.rows["team"] == len(restored) and info.revision is not None
    with target.begin() as conn:  # the restored database takes writes
        conn.execute(insert(Team).values(name="after restore", created_at=WHEN))
    assert len(_teams(target)) == len(restored) + 1


@pytest.fixture
def pg_databases() -> Iterator[tuple[str, str]]:
    """Two empty PostgreSQL databases of this test's own (a live one and a restore target)."""
    with scratch_pg_databases("backup", 2) as (live, target):
        yield live, target


def test_postgresql_backup_under_writes_holds_every_acknowledged_write(
    pg_databases: tuple[str, str], tmp_path: Path
) -> None:
    live_url, target_url = pg_databases
    engine = make_engine(live_url)
    upgrade(engine)
    file = tmp_path / "paceline.dump"
    before, total = _backup_under_writes(live_url, engine, file)
    engine.dispose()

    target = make_engine(target_url)
    info = restore(target, file)
    restored = _teams(target)
    _consistent(restored, before, total)
    assert info.kind == "postgresql" and info.rows["team"] == len(restored)
    with target.begin() as conn:  # sequences restored too: the next id does not collide
        conn.execute(insert(Team).values(name="after restore", created_at=WHEN))
    target.dispose()


def test_a_restore_that_cannot_be_done_changes_nothing(tmp_path: Path) -> None:
    source = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    upgrade(source)
    with source.begin() as conn:
        conn.execute(insert(Team).values(name="From backup", created_at=WHEN))
    file = tmp_path / "a.backup"
    backup(source, file)

    busy = make_engine(f"sqlite:///{tmp_path / 'b.db'}")
    upgrade(busy)
    with busy.begin() as conn:
        conn.execute(insert(Team).values(name="Precious", created_at=WHEN))
    with pytest.raises(BackupError, match=r"already holds data \(1 team\).*--replace"):
        restore(busy, file)
    assert _teams(busy) == ["Precious"]
    restore(busy, file, replace=True)
    assert _teams(busy) == ["From backup"]

    garbage = tmp_path / "notes.txt"
    garbage.write_text("not a backup\n", "utf-8")
    with pytest.raises(BackupError, match="not a Paceline backup"):
        restore(busy, garbage)
    half = tmp_path / "half.backup"  # a SQLite file cut short: refused by the integrity check
    half.write_bytes(file.read_bytes()[: 4096 * 2])
    with pytest.raises(BackupError):
        restore(busy, half, replace=True)
    assert _teams(busy) == ["From backup"]


def test_cli_backs_up_and_restores(tmp_path: Path) -> None:
    live = f"sqlite:///{tmp_path / 'live.db'}"
    runner = CliRunner()
    assert runner.invoke(app, ["--db", live, "init"]).exit_code == 0
    engine = make_engine(live)
    with engine.begin() as conn:
        conn.execute(insert(Team).values(name="East", created_at=WHEN))
    made = runner.invoke(app, ["--db", live, "backup", str(tmp_path / "p.backup")])
    assert made.exit_code == 0, made.output
    assert "team 1," in made.output and "sqlite" in made.output

    empty = f"sqlite:///{tmp_path / 'new.db'}"
    back = runner.invoke(app, ["--db", empty, "restore", str(tmp_path / "p.backup")])
    assert back.exit_code == 0, back.output
    assert "restored from" in back.output and "team 1," in back.output
    again = runner.invoke(app, ["--db", empty, "restore", str(tmp_path / "p.backup")])
    assert again.exit_code == 1 and "--replace" in again.output


def test_a_backup_named_as_a_pipe_is_written_through_it(tmp_path: Path) -> None:
    """`paceline backup /dev/stdout | gzip`: the copy goes through the pipe, which stays a
    pipe (moving the finished copy into place replaced it with a regular file: as root,
    `backup /dev/null` replaced the machine's /dev/null), and no partial file is left."""
    live = f"sqlite:///{tmp_path / 'live.db'}"
    runner = CliRunner()
    assert runner.invoke(app, ["--db", live, "init"]).exit_code == 0
    with make_engine(live).begin() as conn:
        conn.execute(insert(Team).values(name="East", created_at=WHEN))
    pipe = PipeReader(tmp_path / "out")
    made = runner.invoke(app, ["--db", live, "backup", str(pipe.path)])
    assert made.exit_code == 0, made.output
    assert pipe.is_pipe()
    copy = tmp_path / "copy.db"
    copy.write_bytes(pipe.received())
    assert copy.read_bytes().startswith(b"SQLite format 3")
    restored = f"sqlite:///{tmp_path / 'restored.db'}"
    back = runner.invoke(app, ["--db", restored, "restore", str(copy)])
    assert back.exit_code == 0 and "team 1," in back.output, back.output
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")]
