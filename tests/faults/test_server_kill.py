"""`paceline serve` killed with SIGKILL while API clients write: nothing acknowledged is lost.

A real server process (SQLite, then PostgreSQL) takes activities and deals from six writer
threads at once (each its own HTTP connection, each record with its own `external_id`) and
leaderboard reads that refresh the rollup; it is killed with SIGKILL mid-stream, restarted
on the same database, and then:
- the database opens cleanly (SQLite: `PRAGMA integrity_check` is "ok");
- every write answered 2xx before the kill is stored, field for field as sent;
- nothing is partial: every stored API record is one a writer sent, complete (a deal has its
  first stage-history row, an activity its account), and each account name is stored once;
- the restarted server answers the writes it holds (its API total equals the table's);
- the rollup (`metric_day`) equals counting the activities directly in SQL.
The writers only know what they were answered, as a client does: a write in flight at the
kill may or may not be stored, but if stored it is whole.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url

from factories import api_tokens, bearer, free_port, scratch_pg_databases
from paceline.analytics.rollup import ensure_rollup
from paceline.config import Settings
from paceline.services.reps import add_rep
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade
from paceline.store.models import Account, Activity, Deal, DealStageHistory, MetricDay, Rep
from paceline.store.names import name_key

pytestmark = [pytest.mark.faults, pytest.mark.slow]

REPS = ("Ana Ruiz", "Ben Ode", "Cy Park")
ACCOUNTS = tuple(f"Harbor Foods {n}" for n in range(8))
STAGES = ("prospect", "qualification", "proposal")
WRITERS = 6
ACKS_BEFORE_KILL = 150  # acknowledged writes, in all, before the kill
FIRST_DAY = dt.datetime(2026, 11, 2, 9, 0)  # business-local, before the test day


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database of each kind with three reps and an admin (by URL: the server
    is another process)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'served.db'}"
        return
    with scratch_pg_databases("kill") as (url,):
        yield url


def _prepare(url: str, settings: Settings) -> str:
    """Migrate, add the reps and an admin; the admin's API token."""
    engine = make_engine(url)
    try:
        upgrade(engine)
        for rep in REPS:
            add_rep(engine, settings, rep, "ae", team="East")
        return api_tokens(engine, {"root": ("admin", None)})["root"]
    finally:
        engine.dispose()


# --- the server ------------------------------------------------------------------------------


@dataclass
class Server:
    url: str
    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [sys.executable, "-m", "paceline.cli", "--db", self.url, "serve"]
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port)],
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: the kill reaches all of it
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/api/v1/openapi.json", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                pytest.fail(f"the server exited: {err}")
            time.sleep(0.1)
        pytest.fail("the server did not answer within 60 s")

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)
        assert self.process.returncode == -signal.SIGKILL

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(20)


# --- the clients -----------------------------------------------------------------------------


@dataclass
class Record:
    """One write as sent: its kind, body, and whether a 2xx answer came back."""

    kind: str  # "activity" or "deal"
    body: dict[str, Any]
    acknowledged: bool = False


@dataclass
class Writers:
    base: str
    token: str
    sent: dict[str, Record] = field(default_factory=dict)  # by external id
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    unexpected: list[str] = field(default_factory=list)

    def acknowledged(self) -> int:
        with self.lock:
            return sum(r.acknowledged for r in self.sent.values())

    def write(self, writer: int) -> None:
        """Activities, with a deal every fifth write, until the server goes away."""
        with httpx.Client(base_url=self.base, headers=bearer(self.token), timeout=30) as http:
            n = 0
            while not self.stop.is_set():
                ext = f"w{writer}-{n:05d}"
                record = _deal(ext, writer, n) if n % 5 == 4 else _activity(ext, writer, n)
                with self.lock:
                    self.sent[ext] = record
                path = "/api/v1/deals" if record.kind == "deal" else "/api/v1/activities"
                try:
                    answer = http.post(path, json=record.body)
                except httpx.TransportError:
                    return  # the server is gone: this write's fate is unknown to the client
                if answer.status_code in (200, 201):
                    with self.lock:
                        record.acknowledged = True
                else:
                    self.unexpected.append(f"{ext}: {answer.status_code} {answer.text[:200]}")
                    return
                n += 1

    def read(self) -> None:
        """Leaderboard reads, each of which brings the rollup up to date in the server."""
        with httpx.Client(base_url=self.base, headers=bearer(self.token), timeout=30) as http:
            while not self.stop.is_set():
                try:
                    http.get("/api/v1/leaderboard", params={"metric": "activities"})
                except httpx.TransportError:
                    return


def _spelled(name: str, n: int) -> str:
    """The same account as different clients spell it (one name key)."""
    return (name, name.lower(), "  ".join(name.upper().split()))[n % 3]


def _activity(ext: str, writer: int, n: int) -> Record:
    when = FIRST_DAY + dt.timedelta(days=(writer + n) % 20, minutes=n % 480)
    body = {
        "external_id": ext,
        "rep": REPS[(writer + n) % len(REPS)],
        "kind": "call",
        "outcome": "conversation",
        "occurred_at": when.isoformat(),
        "duration_min": float(n % 30),
        "account": _spelled(ACCOUNTS[n % len(ACCOUNTS)], writer + n),
    }
    return Record("activity", body)


def _deal(ext: str, writer: int, n: int) -> Record:
    body = {
        "external_id": ext,
        "rep": REPS[writer % len(REPS)],
        "name": f"Deal {ext}",
        "amount": f"{1000 + n}.50",
        "stage": STAGES[n % len(STAGES)],
        "created_at": (FIRST_DAY + dt.timedelta(days=n % 20)).isoformat(),
        "account": _spelled(ACCOUNTS[(n + 3) % len(ACCOUNTS)], n),
    }
    return Record("deal", body)


# --- the checks ------------------------------------------------------------------------------


def _stored(engine: Engine) -> tuple[dict[str, tuple[Any, ...]], dict[str, tuple[Any, ...]]]:
    """API-written activities and deals by external id, with the fields the writers sent."""
    with engine.connect() as conn:
        reps = dict(conn.execute(select(Rep.id, Rep.name)).all())
        accounts = dict(conn.execute(select(Account.id, Account.name)).all())
        acts = conn.execute(
            select(
                Activity.external_id,
                Activity.rep_id,
                Activity.kind,
                Activity.outcome,
                Activity.duration_min,
                Activity.account_id,
                Activity.local_date,
            ).where(Activity.source == "api")
        ).all()
        history = dict(
            conn.execute(
                select(DealStageHistory.deal_id, func.count()).group_by(DealStageHistory.deal_id)
            ).all()
        )
        deals = conn.execute(
            select(
                Deal.external_id,
                Deal.id,
                Deal.rep_id,
                Deal.name,
                Deal.amount,
                Deal.stage,
                Deal.account_id,
            ).where(Deal.source == "api")
        ).all()
    activities = {
        ext: (
            reps[rep],
            kind,
            outcome,
            duration,
            None if acc is None else name_key(accounts[acc]),
            day,
        )
        for ext, rep, kind, outcome, duration, acc, day in acts
    }
    deal_rows = {
        ext: (
            reps[rep],
            name,
            amount,
            stage,
            None if acc is None else name_key(accounts[acc]),
            history.get(deal_id, 0),
        )
        for ext, deal_id, rep, name, amount, stage, acc in deals
    }
    return activities, deal_rows


def _as_sent(record: Record) -> tuple[Any, ...]:
    b = record.body
    if record.kind == "activity":
        day = dt.datetime.fromisoformat(b["occurred_at"]).date()
        account = name_key(b["account"])
        return (b["rep"], "call", "conversation", b["duration_min"], account, day)
    # A new deal has one stage-history row: its first stage, written with it.
    return (b["rep"], b["name"], Decimal(b["amount"]), b["stage"], name_key(b["account"]), 1)


def _rollup_matches_sql(engine: Engine, settings: Settings) -> None:
    ensure_rollup(engine, settings)
    with engine.connect() as conn:
        rolled = {
            (rep, day): int(value)
            for rep, day, value in conn.execute(
                select(MetricDay.rep_id, MetricDay.local_date, MetricDay.value).where(
                    MetricDay.metric == "activities"
                )
            )
        }
        counted = {
            (rep, day): int(n)
            for rep, day, n in conn.execute(
                select(Activity.rep_id, Activity.local_date, func.count()).group_by(
                    Activity.rep_id, Activity.local_date
                )
            )
        }
    assert rolled == counted and sum(counted.values()) > 0


def test_a_server_killed_during_writes_loses_no_acknowledged_write(
    db_url: str, settings: Settings, tmp_path: Path
) -> None:
    token = _prepare(db_url, settings)
    server = Server(db_url, free_port(), tmp_path)
    server.start()
    clients = Writers(server.base, token)
    threads = [threading.Thread(target=clients.write, args=(w,)) for w in range(WRITERS)]
    threads.append(threading.Thread(target=clients.read))
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while clients.acknowledged() < ACKS_BEFORE_KILL:
            assert not clients.unexpected, clients.unexpected
            assert time.monotonic() < deadline, "the writers are stuck"
            time.sleep(0.01)
        server.kill()  # mid-stream: every writer has a request in flight or about to be
        for thread in threads:
            thread.join(30)
        clients.stop.set()
        assert not clients.unexpected, clients.unexpected

        if db_url.startswith("sqlite"):  # opens cleanly: no corruption, no lost WAL frames
            path = make_url(db_url).database
            assert path is not None
            with sqlite3.connect(path) as raw:
                assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]

        server.start()  # the same database, after the crash
        with httpx.Client(base_url=server.base, headers=bearer(token), timeout=30) as http:
            total = http.get("/api/v1/activities", params={"count": "true", "limit": 1})
            deals_total = http.get("/api/v1/deals", params={"count": "true", "limit": 1})
        assert total.status_code == 200 and deals_total.status_code == 200, total.text

        engine = make_engine(db_url)
        try:
            activities, deals = _stored(engine)
            acked = {ext: r for ext, r in clients.sent.items() if r.acknowledged}
            assert len(acked) >= ACKS_BEFORE_KILL
            for ext, record in acked.items():  # every acknowledged write, as sent
                stored = (activities if record.kind == "activity" else deals).get(ext)
                assert stored == _as_sent(record), ext
            for ext, row in [*activities.items(), *deals.items()]:  # nothing partial or foreign
                assert ext in clients.sent, ext
                assert row == _as_sent(clients.sent[ext]), ext
            lost_in_flight = len(clients.sent) - len(acked)
            assert len(activities) + len(deals) - len(acked) <= lost_in_flight
            with engine.connect() as conn:
                names = list(conn.execute(select(Account.name)).scalars())
            assert sorted(name_key(n) for n in names) == sorted(name_key(a) for a in ACCOUNTS)
            assert total.json()["total"] == len(activities)
            assert deals_total.json()["total"] == len(deals)
            _rollup_matches_sql(engine, settings)
        finally:
            engine.dispose()
    finally:
        clients.stop.set()
        server.stop()
