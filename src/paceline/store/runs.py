"""Import runs: who runs one, whether it is still alive, and cleaning up after one that died.

An import records itself in `import_run` as "running" and keeps the ids of stored records
it has matched in `import_seen` until it ends. A process killed mid-file (kill -9, a lost
machine, an out-of-memory kill) never ends it: the run said "running" forever and its
`import_seen` rows (one per matched record, hundreds of thousands on a re-import) stayed.

So each run records its host, its process id and (on Linux) that process's start time, and
beats a heartbeat with every batch. The next import looks at the runs still "running" and
marks "interrupted" those whose process is gone:

- on the same host, by the process itself: no process with that id, or one that started
  at another time (the id was reused), means it is gone, at once;
- on another host, by the heartbeat: no batch for `STALE_AFTER` means it is gone.

Their `import_seen` rows are deleted then. A run wrongly taken for dead (a process on
another host stuck for longer than `STALE_AFTER`) loses nothing: its rows are committed
batch by batch, and it records its own end ("done" or "failed") when it finishes.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update

from paceline.store.models import ImportRun, ImportSeen, utcnow

STALE_AFTER = dt.timedelta(minutes=10)
FAILURE_LENGTH = 1000  # import_run.failure's width


@dataclass(frozen=True)
class Process:
    """A process, as one host knows it: its id and, where the system says, its start."""

    host: str
    pid: int
    started: int | None

    @classmethod
    def current(cls) -> Process:
        pid = os.getpid()
        return cls(this_host(), pid, process_start(pid))


def this_host() -> str:
    """The host name, and on Linux the process-id namespace: two containers sharing a host
    name (host networking) number their processes apart, so neither may judge the other's
    process by its id; they fall back on the heartbeat."""
    try:
        namespace = " " + os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return (socket.gethostname()[: 255 - len(namespace)] + namespace).strip()


def process_start(pid: int) -> int | None:
    """When process `pid` started, in clock ticks since boot (Linux's /proc), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    try:  # the fields after the command name, which is in parentheses and may hold spaces
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (IndexError, ValueError):
        return None


def is_alive(pid: int, started: int | None) -> bool:
    """Whether process `pid` (started at `started`, when known) still runs on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        pass
    if started is None:
        return True
    now_started = process_start(pid)
    return now_started is None or now_started == started


def start_run(
    conn: Connection, entity: str, source: str, file_name: str, reader: str | None = None
) -> int:
    """Record a new import as running, by this process; returns its id. `reader` is the
    import source that reads the file (`source` is where its ids come from)."""
    me = Process.current()
    return int(
        conn.execute(
            insert(ImportRun)
            .values(
                entity=entity,
                source=source,
                reader=reader,
                file_name=file_name,
                heartbeat_at=utcnow(),
                host=me.host,
                pid=me.pid,
                pid_started=me.started,
            )
            .returning(ImportRun.id)
        ).scalar_one()
    )


def beat(conn: Connection, run_id: int, counts: dict[str, int] | None = None) -> None:
    """The run is alive (one indexed single-row update, in the caller's transaction), and
    has got this far (`counts`: rows read, inserted, ..., rejected so far), which the web
    import's progress page reads while the batch's own rows commit with them."""
    values: dict[str, object] = {"heartbeat_at": utcnow(), **(counts or {})}
    conn.execute(update(ImportRun).where(ImportRun.id == run_id).values(**values))


def finish_run(conn: Connection, run_id: int, values: dict[str, object]) -> None:
    """Record how a run ended and forget what it matched."""
    conn.execute(delete(ImportSeen).where(ImportSeen.run_id == run_id))
    conn.execute(
        update(ImportRun)
        .where(ImportRun.id == run_id)
        .values(finished_at=utcnow(), heartbeat_at=utcnow(), **values)
    )


def sweep_interrupted(conn: Connection, now: dt.datetime | None = None) -> list[int]:
    """Mark "interrupted" every running import whose process is gone and delete its
    `import_seen` rows; returns their ids. Safe to run from several imports at once."""
    now = now or utcnow()
    me = Process.current()
    runs = conn.execute(
        select(
            ImportRun.id,
            ImportRun.host,
            ImportRun.pid,
            ImportRun.pid_started,
            ImportRun.heartbeat_at,
            ImportRun.started_at,
        ).where(ImportRun.status == "running")
    ).all()
    gone: list[int] = []
    for run_id, host, pid, started, heartbeat, began in runs:
        why = _why_gone(me, host, pid, started, heartbeat or began, now)
        if why is None:
            continue
        conn.execute(
            update(ImportRun)
            .where(ImportRun.id == run_id, ImportRun.status == "running")
            .values(status="interrupted", finished_at=now, failure=why[:FAILURE_LENGTH])
        )
        conn.execute(delete(ImportSeen).where(ImportSeen.run_id == run_id))
        gone.append(run_id)
    return gone


def any_running(conn: Connection, besides: int | None = None) -> bool:
    """Whether an import (other than the run `besides`) is recorded as running; sweep the
    dead ones first to trust the answer."""
    query = select(ImportRun.id).where(ImportRun.status == "running")
    if besides is not None:
        query = query.where(ImportRun.id != besides)
    return conn.execute(query.limit(1)).first() is not None


def _why_gone(
    me: Process,
    host: str | None,
    pid: int | None,
    started: int | None,
    last_seen: dt.datetime | None,
    now: dt.datetime,
) -> str | None:
    """Why a running import's process is gone, or None while it may be alive."""
    if host == me.host and pid is not None:
        if is_alive(pid, started):
            return None
        return f"interrupted: its process ({pid} on {host}) ended without finishing the import"
    if last_seen is not None and now - last_seen > STALE_AFTER:
        where = f" on {host}" if host else ""
        return (
            f"interrupted: its process{where} gave no sign of life after "
            f"{last_seen:%Y-%m-%d %H:%M:%S} UTC"
        )
    return None


@dataclass(frozen=True)
class RunProgress:
    """An import run as recorded: its counts so far (each batch's commit updates them) or at
    its end, for the web import's progress page, whichever server process asks."""

    id: int
    entity: str
    source: str
    reader: str | None  # None: a run recorded before the reader was (migration 0021)
    file_name: str
    status: str
    failure: str | None
    read: int
    inserted: int
    updated: int
    unchanged: int
    duplicate: int
    skipped: int
    rejected: int

    @property
    def written(self) -> int:
        return self.inserted + self.updated


def run_progress(engine: Engine, run_id: int) -> RunProgress | None:
    """The run `run_id`, or None when there is none."""
    r = ImportRun
    query = select(
        r.id,
        r.entity,
        r.source,
        r.reader,
        r.file_name,
        r.status,
        r.failure,
        r.rows_read,
        r.inserted,
        r.updated,
        r.unchanged,
        r.duplicate,
        r.skipped,
        r.rejected,
    ).where(r.id == run_id)
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    values: list[Any] = list(row)
    return RunProgress(*values)
