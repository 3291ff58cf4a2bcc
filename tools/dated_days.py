"""Run the tests marked `dated` as of several days: `make test`'s second look at the clock.

    python tools/dated_days.py LOG_FOLDER DAY [DAY ...] -- PYTEST_ARGS ...

Each day is its own pytest session in a process of its own (the day is read when
`tests/conftest.py` is imported, and the clock is frozen for the whole session), writing its
output to LOG_FOLDER/DAY.log. The processes are forked from this one once it has imported
the libraries every session imports (SQLAlchemy, FastAPI, SciPy, Paceline's server...): a few
CPU seconds a process that four separate `pytest` commands each paid again. Nothing of the
tests (conftest, factories, test files) is imported before the fork, so each day's session
reads its own day. The exit status is the first failing day's, or 0.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import NoReturn

# What `tests/conftest.py` and the dated test files import, directly or through Paceline; all
# of it is independent of the test day.
WARM = (
    "pytest",
    "sqlalchemy",
    "psycopg",
    "argon2",
    "hypothesis",
    "typer.testing",
    "fastapi.testclient",
    "paceline.server",
    "paceline.demo",
    "paceline.cli",
)


def _run_day(day: str, log: Path, pytest_args: list[str]) -> NoReturn:
    """In a forked child: this day's session, its output to `log`; never returns."""
    code = 3
    try:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
        os.environ["PACELINE_TEST_TODAY"] = day
        import pytest

        code = int(pytest.main(pytest_args))
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


# The pytest plugins among those libraries (hypothesis's, anyio's) were imported before pytest
# could mark them for assertion rewriting, which it says once per plugin and session: their own
# asserts, not the tests', are left as they are.
QUIET = [
    "-W",
    "ignore:Module already imported so cannot be rewritten:pytest.PytestAssertRewriteWarning",
]


def main(argv: list[str], warm: tuple[str, ...] = WARM) -> int:
    split = argv.index("--")
    folder, days, pytest_args = Path(argv[0]), argv[1:split], [*QUIET, *argv[split + 1 :]]
    for name in warm:
        importlib.import_module(name)
    children: dict[int, str] = {}
    for day in days:
        pid = os.fork()
        if pid == 0:
            _run_day(day, folder / f"{day}.log", pytest_args)
        children[pid] = day
    failed: dict[str, int] = {}
    while children:
        pid, status = os.wait()
        day = children.pop(pid)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            failed[day] = code
    return next(iter(failed.values()), 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
