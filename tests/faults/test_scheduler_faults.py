"""A scheduler killed mid-run (SIGKILL) and restarted sends the rest and nothing twice; a
restart before the dead run's lease has passed leaves it alone.

The SMTP server holds the run's second message (Ben's digest) until the scheduler process is
killed, then refuses it (451), so the kill falls at a known point: Ana's digest accepted and
marked sent, Ben's claimed and not delivered. SQLite and PostgreSQL (a database of the
test's own, which the processes open by its URL).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from paceline.scheduling import run_due
from paceline.store.engine import make_engine
from schedule_org import Inbox, build_org, config_text, settings_for, smtp_server

pytestmark = pytest.mark.faults
# The newest run of the job: Monday 13:00 UTC's (its first sight recorded Friday's, skipped).
LATEST_RUN = text(
    "SELECT status, attempts FROM job_run WHERE job = 'morning' ORDER BY scheduled_for DESC LIMIT 1"
)
SRC = Path(__file__).resolve().parents[2] / "src"
JOBS = """
[[jobs]]
name = "morning"
kind = "rep_digest"
at = "08:00"
team = "East"
"""


def _scheduler(url: str, config: Path, now: str, *more: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PACELINE_TODAY": now, "PYTHONPATH": str(SRC)}
    return subprocess.Popen(
        [sys.executable, "-m", "paceline.cli", "--db", url, "--config", str(config),
         "scheduler", "--poll", "1", *more],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


# How long a scheduler process may take: a guard against one that hangs, not an estimate of
# how long it takes. Each process starts Python and Paceline and reads the database (on
# PostgreSQL, through a server the machine shares): under a load of 25 on two cores
# (2026-12-07) the three took 41-52, 38-46 and 60-73 s, against a deadline of 120 s then.
PATIENCE = 900


def _wait(condition: Callable[[], bool], process: subprocess.Popen[str]) -> None:
    """Until `condition()`; fails at once, with its output, if `process` ends first."""
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"the scheduler ended ({process.returncode}): {output}")
        assert time.monotonic() < deadline, "the scheduler hung"
        time.sleep(0.05)


def _addresses(inbox: Inbox) -> list[str]:
    return sorted(rcpt for _h, rcpt, _m in inbox.received)


@pytest.mark.slow
def test_a_scheduler_killed_mid_run_and_restarted_sends_the_rest_once(
    database_url: str, tmp_path: Path
) -> None:
    with smtp_server() as (inbox, port):
        settings = settings_for(port, JOBS)
        engine = make_engine(database_url)
        build_org(engine, settings, with_preferences=False)
        run_due(engine, settings, dt.datetime(2026, 12, 7))  # first sight: nothing due
        config = tmp_path / "paceline.toml"
        config.write_text(config_text(port, JOBS), encoding="utf-8")

        inbox.hold = 2  # Ben's digest: held, then refused once the process is dead
        first = _scheduler(database_url, config, "2026-12-07T13:00:00+00:00")
        try:
            _wait(inbox.holding.is_set, first)
            assert _addresses(inbox) == ["ana@example.com"]
            first.send_signal(signal.SIGKILL)
            first.wait(30)
        finally:
            if first.poll() is None:
                first.kill()
        inbox.release.set()
        with engine.connect() as conn:
            status, attempts = conn.execute(LATEST_RUN).one()
        assert (status, attempts) == ("running", 1)

        # Five minutes on, the dead run's 15-minute lease still holds: nothing is taken over.
        early = _scheduler(database_url, config, "2026-12-07T13:05:00+00:00", "--once")
        assert early.wait(PATIENCE) == 0, early.stdout.read() if early.stdout else ""
        assert _addresses(inbox) == ["ana@example.com"]

        # Twenty minutes on, the run is taken over: Ben's digest goes, Ana's not again.
        later = _scheduler(database_url, config, "2026-12-07T13:20:00+00:00", "--once")
        output = later.communicate(timeout=PATIENCE)[0]
        assert later.returncode == 0, output
        assert _addresses(inbox) == ["ana@example.com", "ben@example.com"]
        subjects = [str(m["Subject"]) for _h, _r, m in inbox.received]
        assert subjects == ["Your day: Ana, Mon 07 Dec 2026", "Your day: Ben, Mon 07 Dec 2026"]
        with engine.connect() as conn:
            status, attempts = conn.execute(LATEST_RUN).one()
        assert (status, attempts) == ("done", 2)

        # And again later the same day: nothing more.
        run_due(engine, settings, dt.datetime(2026, 12, 7, 18))
        assert len(inbox.received) == 2
        engine.dispose()
