"""The command line, end to end: init, rep add, log, import, summary, errors and --json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect
from typer.testing import CliRunner

from factories import ACTIVITY_SECONDARY_INDEXES, kill_a_load
from paceline import cli as cli_module
from paceline.cli import app
from paceline.store.engine import make_engine

runner = CliRunner()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for var in ("PACELINE_DB", "PACELINE_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    for console in (cli_module.out, cli_module.err):  # no wrapping: assert on whole lines
        monkeypatch.setattr(console, "width", 250)
    return tmp_path


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_init_writes_config_and_database(workdir: Path) -> None:
    code, output = cli("--db", "sqlite:///team.db", "init")
    assert code == 0, output
    text = (workdir / "paceline.toml").read_text()
    assert 'url = "sqlite:///team.db"' in text and "# Paceline configuration" in text
    assert (workdir / "team.db").exists()
    code, output = cli("init")  # reads the url from paceline.toml now; keeps the file
    assert code == 0 and "keeping it" in output


def test_commands_before_init_say_what_to_do(workdir: Path) -> None:
    code, output = cli("log", "call", "--rep", "Ana Ruiz")
    assert code == 1
    assert "run `paceline init`" in output


def test_log_and_summary(workdir: Path) -> None:
    assert cli("init")[0] == 0
    assert cli("rep", "add", "Ana Ruiz", "--role", "ae", "--team", "East")[0] == 0
    code, output = cli(
        "log",
        "call",
        "--rep",
        "Ana Ruiz",
        "--account",
        "Acme",
        "--ask",
        "--outcome",
        "meeting_set",
        "--at",
        "2026-11-20 10:30",
        "--minutes",
        "6",
        "--json",
    )
    assert code == 0, output
    logged = json.loads(output)
    assert (logged["kind"], logged["selling"], logged["engaged"]) == ("call", True, True)
    assert logged["local_date"] == "2026-11-20"
    assert (
        cli("log", "admin", "--rep", "ana ruiz", "--at", "2026-11-20 12:00", "--minutes", "30")[0]
        == 0
    )
    code, output = cli("summary", "--as-of", "2026-11-20", "--json")
    assert code == 0, output
    summary = json.loads(output)
    (ana,) = summary["reps"]
    assert (ana["rep"], ana["activities"], ana["selling"], ana["non_selling"]) == (
        "Ana Ruiz",
        2,
        1,
        1,
    )
    assert (ana["logged_minutes"], ana["selling_minutes"]) == (36.0, 6.0)
    code, output = cli("summary", "--as-of", "2026-11-20")
    assert code == 0 and "Ana Ruiz" in output and "17%" in output  # 6 of 36 minutes


def test_log_refuses_bad_input(workdir: Path) -> None:
    cli("init")
    cli("rep", "add", "Ana Ruiz")
    code, output = cli("log", "call", "--rep", "Ana Ruis")
    assert code == 1 and "did you mean 'Ana Ruiz'" in output
    code, output = cli("log", "webinar", "--rep", "Ana Ruiz")
    assert code == 1 and "unknown kind 'webinar'" in output
    code, output = cli("log", "call", "--rep", "Ana Ruiz", "--outcome", "sold_everything")
    assert code == 1 and "unknown outcome" in output
    code, output = cli("log", "call", "--rep", "Ana Ruiz", "--minutes", "-5")
    assert code != 0 and "greater than or equal to 0" in output
    code, output = cli("rep", "add", "Ana Ruiz")
    assert code == 1 and "already exists" in output
    code, output = cli("rep", "list", "--json")
    assert [r["name"] for r in json.loads(output)] == ["Ana Ruiz"]


def test_import_prints_accounting_and_errors(workdir: Path) -> None:
    cli("init")
    data = workdir / "acts.csv"
    data.write_text(
        "rep,kind,occurred_at,has_ask\n"
        "Ana Ruiz,call,2026-11-20T10:00:00,yes\n"
        "Ana Ruiz,call,yesterday,yes\n"
    )
    code, output = cli("import", "activities", str(data))
    assert code == 0, output
    assert "1 rows rejected" in output and "line 3: occurred_at" in output
    assert (workdir / "acts.errors.csv").exists()
    code, output = cli("import", "activities", str(data), "--json")
    result = json.loads(output)
    assert (result["read"], result["unchanged"], result["rejected"]) == (2, 1, 1)
    code, output = cli("import", "deals", str(data))
    assert code == 1 and "missing required column" in output
    code, output = cli("import", "activities", str(workdir / "nope.csv"))
    assert code == 1 and "Invalid value for 'file'" in output  # a usage error: 1, not 2


def test_an_import_summary_shows_a_long_path_whole_on_a_narrow_terminal(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a 40-column terminal a summary's title, a path of 80 characters and more, is one
    line, whole: as the table's title Rich wrapped it to the table's width and folded the
    path at any character (".../acts.c" then "sv -> ..."), for a file and for a folder."""
    cli("init")
    for console in (cli_module.out, cli_module.err):
        monkeypatch.setattr(console, "width", 40)
    deep = Path("exports", "east-region-team", "november-2026", "salesforce-data-loader")
    (workdir / deep).mkdir(parents=True)
    data = deep / "activities-for-the-whole-month.csv"
    (workdir / data).write_text("rep,kind,occurred_at\nAna Ruiz,call,2026-11-20T10:00:00\n")
    code, output = cli("import", "activities", str(data))
    assert code == 0, output
    assert f"{data} -> activities (read as csv, source 'csv')" in output.splitlines(), output
    (workdir / deep / "User.csv").write_text("Id,FirstName,LastName\n0055g0000000001AAA,Ana,Ruiz\n")
    data.unlink()
    code, output = cli("import", "salesforce", str(deep))
    assert code == 0, output
    assert f"{deep} -> Paceline (Salesforce)" in output.splitlines(), output


def test_bad_configuration_is_reported(workdir: Path) -> None:
    (workdir / "paceline.toml").write_text('[calendar]\ntimezone = "Nowhere/Special"\n')
    code, output = cli("summary")
    assert code == 1 and "calendar.timezone" in output


def test_installed_entry_point_runs() -> None:
    completed = subprocess.run(
        [str(Path(sys.executable).with_name("paceline")), "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0 and completed.stdout.startswith("paceline ")


def _indexes(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return {str(index["name"]) for index in inspect(engine).get_indexes("activity")}
    finally:
        engine.dispose()


def test_init_builds_the_indexes_a_killed_load_left_out(workdir: Path) -> None:
    url = "sqlite:///team.db"
    assert cli("--db", url, "init")[0] == 0
    kill_a_load(url, pid=2**22 + 12345)  # no such process: the load is gone
    assert not _indexes(url) & ACTIVITY_SECONDARY_INDEXES
    code, output = cli("init", "--json")
    assert code == 0, output
    answer = json.loads(output)
    assert answer["indexes_built"] == sorted(ACTIVITY_SECONDARY_INDEXES)
    assert answer["references_validated"] == []  # SQLite has nothing to validate
    assert _indexes(url) >= ACTIVITY_SECONDARY_INDEXES
    code, output = cli("init")  # whole now: nothing more to say
    assert code == 0 and "interrupted import" not in output


def test_init_leaves_the_indexes_to_a_load_still_running(workdir: Path) -> None:
    url = "sqlite:///team.db"
    assert cli("--db", url, "init")[0] == 0
    kill_a_load(url, pid=os.getpid())  # alive: a load still under way
    code, output = cli("init")
    assert code == 0 and "interrupted import" not in output
    assert not _indexes(url) & ACTIVITY_SECONDARY_INDEXES
