"""`make test`'s dated days (`tools/dated_days.py`): each day a session of its own that reads
its own day, forked from one process that imported the libraries once, and any failing day
fails the run.

The sessions run in a planted folder of tests (not the suite: each would build organisations),
the parent warms only pytest and no plugin is loaded, so the test costs about a CPU second.
"""

from __future__ import annotations

import os
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


def test_each_day_runs_in_its_own_session_and_a_failing_day_fails_the_run(
    tmp_path: Path,
) -> None:
    (tmp_path / "test_planted.py").write_text(PLANTED, encoding="utf-8")
    logs = tmp_path / "logs"
    logs.mkdir()
    days = ["2026-12-01", "2026-12-31", "2026-12-05"]
    # The runner warming only pytest (the real run warms Paceline's libraries).
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import dated_days; "
        "sys.exit(dated_days.main(sys.argv[2:], warm=('pytest',)))"
    )
    pytest_args = ["-q", "-p", "no:cacheprovider", "test_planted.py"]
    ran = subprocess.run(
        [sys.executable, "-c", code, str(RUNNER.parent), str(logs), *days, "--", *pytest_args],
        cwd=tmp_path,
        env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 1, ran.stderr  # the one failing day's status
    for day in ("2026-12-01", "2026-12-05"):
        assert (tmp_path / f"seen-{day}").read_text() == day
        assert "1 passed" in (logs / f"{day}.log").read_text()
    assert (tmp_path / "seen-2026-12-31").read_text() == "2026-12-31"
    assert "1 failed" in (logs / "2026-12-31.log").read_text()
