"""The suite's own hygiene: every test starts in an empty working directory of its own.

The CLI reads ./paceline.toml, then $PACELINE_CONFIG: a stray file in the folder pytest was
started from (the repository root, say) would change what every CLI test sees. The autouse
fixture `isolated_cwd` (tests/conftest.py) moves each test into a new empty folder and unsets
those variables; these tests prove that it does, and that a stray file is then ignored.
"""

from __future__ import annotations

import os
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
