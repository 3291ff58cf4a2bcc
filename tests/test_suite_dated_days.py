"""`make test`'s dated days (`tools/dated_days.py`): each day a session of its own that reads
its own day, forked from one process that imported the libraries once, and any failing day
fails the run.

The sessions run in a planted folder of tests (not the suite: each would build organisations),
and the parent warms only pytest, so the test costs a few tenths of a CPU second.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from factories import REPO

RUNNER = REPO / "tools" / "dated_days.py"

PLANTED = """
import os
from pathlib import Path


def test_the_day_is_this_sessions_own():
    day = os.environ["PACELINE_TEST_TODAY"]
    Path(f"seen-{day}").write_text(day)
    assert day != "2026-12-31", "the planted failure"
"""


def _run(folder: Path, *days: str) -> subprocess.CompletedProcess[str]:
    """The runner on `days`, warming only pytest (the real run warms Paceline's libraries)."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import dated_days; "
        "sys.exit(dated_days.main(sys.argv[2:], warm=('pytest',)))"
    )
    logs = folder / "logs"
    logs.mkdir(exist_ok=True)
    args = [str(RUNNER.parent), str(logs), *days, "--", "-q", "-p", "no:cacheprovider"]
    return subprocess.run(
        [sys.executable, "-c", code, *args, "test_planted.py"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )


def test_each_day_runs_in_its_own_session_and_a_failing_day_fails_the_run(
    tmp_path: Path,
) -> None:
    (tmp_path / "test_planted.py").write_text(PLANTED, encoding="utf-8")
    passing = _run(tmp_path, "2026-12-01", "2026-12-05")
    assert passing.returncode == 0, passing.stderr
    for day in ("2026-12-01", "2026-12-05"):
        assert (tmp_path / f"seen-{day}").read_text() == day
        assert "1 passed" in (tmp_path / "logs" / f"{day}.log").read_text()

    failing = _run(tmp_path, "2026-11-02", "2026-12-31")
    assert failing.returncode == 1
    assert "1 failed" in (tmp_path / "logs" / "2026-12-31.log").read_text()
    assert "1 passed" in (tmp_path / "logs" / "2026-11-02.log").read_text()
