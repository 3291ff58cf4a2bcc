"""The suite's own hygiene: every test starts in an empty working directory of its own, and an
xdist worker's end is not cut short.

The CLI reads ./paceline.toml, then $PACELINE_CONFIG: a stray file in the folder pytest was
started from (the repository root, say) would change what every CLI test sees. The autouse
fixture `isolated_cwd` (tests/conftest.py) moves each test into a new empty folder and unsets
those variables; these tests prove that it does, and that a stray file is then ignored.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from factories import CWD_VARIABLES, cli_in, isolate_working_directory, write

NOT_TOML = "this = is not [TOML\n"


def test_each_test_starts_in_an_empty_folder_of_its_own(request: pytest.FixtureRequest) -> None:
    here = Path.cwd()
    assert here != request.config.invocation_params.dir
    assert here.resolve() != Path(__file__).resolve().parents[1]  # not the repository
    assert list(here.iterdir()) == []
    assert not {variable for variable in CWD_VARIABLES if variable in os.environ}


def test_a_stray_paceline_toml_where_pytest_started_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started_in = tmp_path / "checkout"
    started_in.mkdir()
    stray = write(started_in / "paceline.toml", NOT_TOML)
    monkeypatch.chdir(started_in)
    # Without the isolation the CLI reads the stray file and refuses to run.
    code, output = cli_in(tmp_path, "rep", "list")
    assert code == 1 and "paceline.toml" in output, output

    isolate_working_directory(monkeypatch, tmp_path)
    assert cli_in(tmp_path, "init")[0] == 0
    code, output = cli_in(tmp_path, "rep", "list")
    assert code == 0, output
    assert stray.read_text() == NOT_TOML


def test_a_stray_config_variable_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stray = write(tmp_path / "stray.toml", NOT_TOML)
    monkeypatch.setenv("PACELINE_CONFIG", str(stray))
    code, output = cli_in(tmp_path, "rep", "list")
    assert code == 1 and "stray.toml" in output, output

    isolate_working_directory(monkeypatch, tmp_path)
    assert cli_in(tmp_path, "init")[0] == 0
    code, output = cli_in(tmp_path, "rep", "list")
    assert code == 0, output


# A test that leaves garbage whose finalising takes longer than execnet's 5 s (a dropped
# connection to a loaded database server, here a sleep): the finaliser says whether it ran out.
PLANTED_SLOW_GARBAGE = """
import gc
import time
from pathlib import Path

OUT = Path(__file__).with_name("finalised.txt")


class SlowToFinalise:
    def __init__(self):
        self.cycle = self  # only the collector frees it

    def __del__(self):
        try:
            time.sleep(6)
            OUT.write_text("ran out")
        except KeyboardInterrupt:
            OUT.write_text("interrupted")
            raise


KEPT = []


def test_leaves_slow_garbage():
    KEPT.append(SlowToFinalise())
    gc.collect()  # it survives into the oldest generation, as a long run's garbage does
    KEPT.clear()
"""


@pytest.mark.slow
def test_a_workers_garbage_is_collected_before_it_reports_finished(tmp_path: Path) -> None:
    """execnet interrupts a worker that has not ended 5 s after the controller closed its
    gateway, which it does once the worker says it has finished; the garbage collected after
    that (pytest collects it in `pytest_unconfigure`) ran under that clock, and in full runs
    the SIGINT landed in SQLAlchemy's collector callback. This suite's conftest collects in
    `pytest_sessionfinish`, before the worker says so: the finaliser runs out."""
    tests = Path(__file__).resolve().parent
    planted = tmp_path / "test_planted.py"
    planted.write_text(PLANTED_SLOW_GARBAGE, encoding="utf-8")
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "1", "-q", "-p", "no:cacheprovider",
         "-p", "conftest", "--rootdir", str(tmp_path), str(planted)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={
            **{name: value for name, value in os.environ.items() if "XDIST" not in name},
            "PYTHONPATH": os.pathsep.join([str(tests), str(tests.parent / "src")]),
        },
        check=False,
        timeout=600,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert (tmp_path / "finalised.txt").read_text() == "ran out"
