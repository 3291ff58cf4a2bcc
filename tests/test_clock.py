"""The one clock: set by --today, $PACELINE_TODAY or tests, and read by everything else."""

from __future__ import annotations

import ast
import datetime as dt
import json
import os
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from paceline import clock
from paceline.calendar import BusinessCalendar
from paceline.cli import app
from paceline.config import Settings
from paceline.store.models import utcnow

SRC = Path(__file__).resolve().parents[1] / "src" / "paceline"
NEW_YORK = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
HONOLULU = ZoneInfo("Pacific/Honolulu")


def test_the_suite_runs_on_a_set_clock(today: dt.date, settings: Settings) -> None:
    assert BusinessCalendar(settings.calendar).today() == today
    assert clock.today(TOKYO) == today == clock.today(HONOLULU)


def test_a_set_date_is_that_date_in_every_zone_at_local_noon() -> None:
    with clock.frozen("2026-03-08"):  # the day New York springs forward
        for zone in (NEW_YORK, TOKYO, HONOLULU, dt.UTC):
            assert clock.today(zone) == dt.date(2026, 3, 8)
            assert clock.now(zone).replace(tzinfo=None) == dt.datetime(2026, 3, 8, 12, 0)
        # noon UTC: the stored timestamps' convention
        assert utcnow() == dt.datetime(2026, 3, 8, 12, 0)


def test_a_set_instant_is_frozen_and_read_in_each_zone() -> None:
    # 03:30 UTC on 1 December is still 30 November in New York and Honolulu
    with clock.frozen("2026-12-01T03:30"):
        assert clock.today(dt.UTC) == dt.date(2026, 12, 1)
        assert clock.today(NEW_YORK) == dt.date(2026, 11, 30)
        assert clock.today(TOKYO) == dt.date(2026, 12, 1)
        assert clock.now(NEW_YORK).hour == 22
        assert utcnow() == dt.datetime(2026, 12, 1, 3, 30)
    with clock.frozen("2026-12-01T09:00-05:00"):
        assert utcnow() == dt.datetime(2026, 12, 1, 14, 0)


def test_frozen_restores_what_was_set(today: dt.date) -> None:
    with clock.frozen(dt.date(2030, 1, 1)):
        with clock.frozen("2031-06-15"):
            assert clock.today(dt.UTC) == dt.date(2031, 6, 15)
        assert clock.today(dt.UTC) == dt.date(2030, 1, 1)
    assert clock.today(dt.UTC) == today


def test_the_environment_sets_the_clock_of_processes_started_later(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(clock, "_override", None)
    monkeypatch.setenv(clock.ENV_VAR, "2027-01-04")
    assert clock.today(NEW_YORK) == dt.date(2027, 1, 4)
    monkeypatch.setenv(clock.ENV_VAR, "4 January")
    with pytest.raises(clock.ClockError, match="YYYY-MM-DD"):
        clock.today(NEW_YORK)


def test_unset_means_the_wall_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "_override", None)
    monkeypatch.delenv(clock.ENV_VAR, raising=False)
    before = dt.datetime.now(dt.UTC)
    read = clock.now(dt.UTC)
    assert before <= read <= dt.datetime.now(dt.UTC)


def _cli(tmp_path: Path, *args: str) -> tuple[int, str]:
    """One CLI run (its --today holds for the run only)."""
    db = f"sqlite:///{tmp_path / 'clock.db'}"
    result = CliRunner().invoke(app, ["--db", db, *args])
    return result.exit_code, result.output


def test_today_option_dates_what_the_cli_logs_and_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert _cli(tmp_path, "init")[0] == 0
    assert _cli(tmp_path, "rep", "add", "Ana Ruiz", "--role", "sdr", "--team", "East")[0] == 0
    code, output = _cli(tmp_path, "--today", "2026-12-01", "log", "call", "--rep", "Ana Ruiz")
    assert code == 0, output
    code, output = _cli(tmp_path, "--today", "2026-12-01", "summary", "--period", "day", "--json")
    assert code == 0, output
    summary = json.loads(output)
    assert summary["as_of"] == "2026-12-01"
    assert summary["total_activities"] == 1
    # the same question asked as of the day before finds nothing
    code, output = _cli(tmp_path, "--today", "2026-11-30", "summary", "--period", "day", "--json")
    assert json.loads(output)["total_activities"] == 0


def test_a_bad_today_option_is_refused_by_name(tmp_path: Path) -> None:
    code, output = _cli(tmp_path, "--today", "2026-13-01", "summary")
    assert code == 1  # a usage error exits with 1, as every user error does
    assert "--today" in output and "YYYY-MM-DD" in output


def test_the_today_option_holds_for_its_command_only(tmp_path: Path, today: dt.date) -> None:
    """A process that runs several commands (a test's CliRunner, a script calling the app)
    gets its clock back when a command with --today ends; before, the next command and every
    read after it ran on the day that command was given."""
    db = f"sqlite:///{tmp_path / 'clock.db'}"
    result = CliRunner().invoke(app, ["--db", db, "--today", "2026-11-05", "init"])
    assert result.exit_code == 0, result.output
    assert clock.today(NEW_YORK) == today
    assert os.environ.get(clock.ENV_VAR) == today.isoformat()


WALL_CLOCK_READS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("date", "today"),
    ("time", "time"),
}


# A call `X.now()` is written with a dot before the attribute's name, with only blanks, line
# continuations or comments between them: a file without such a dot before one of the names
# cannot hold one of the calls, and is not parsed (parsing every file of src/ and tests/ took
# some 3 CPU s of each run; 72 of 478 files hold such a dot).
READ_NAMES = "|".join(sorted({name for _, name in WALL_CLOCK_READS}))
CALLED_NAME = re.compile(rf"\.(?:[\s\\]|#[^\n]*)*(?:{READ_NAMES})\b")


def _wall_clock_reads(path: Path, root: Path = SRC) -> list[str]:
    """Each `datetime.now()`-like call in a file: `file:line`, with `:function` in a function."""
    found: list[str] = []
    text = path.read_text("utf-8")
    if CALLED_NAME.search(text) is None:
        return found
    tree = ast.parse(text)
    for scope in _scopes(tree):
        for node in ast.walk(scope):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                owner = node.func.value
                name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
                if (name, node.func.attr) in WALL_CLOCK_READS:
                    where = f"{path.relative_to(root)}:{node.lineno}"
                    label = getattr(scope, "name", None)
                    found.append(f"{where}:{label}" if label else where)
    return sorted(set(found), key=found.index)


def _scopes(tree: ast.Module) -> list[ast.AST]:
    """The module's top-level functions one by one, then the module without them, so a read
    is reported once, with the top-level function it sits in."""
    functions = [
        node for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]
    rest = ast.Module(body=[node for node in tree.body if node not in functions], type_ignores=[])
    return [*functions, rest]


def test_only_the_clock_module_reads_the_wall_clock() -> None:
    reads = [
        read
        for path in sorted(SRC.rglob("*.py"))
        if path.name != "clock.py"
        for read in _wall_clock_reads(path)
    ]
    assert reads == [], "read the time through paceline.clock instead"


def test_no_test_reads_the_wall_clock() -> None:
    """A test that reads the calendar date gives a different verdict on a different day (the
    1st of a month, a Monday): tests take the day from the `today` fixture or `clock.frozen`.
    The one exception checks that an unset clock is the wall clock."""
    tests = Path(__file__).resolve().parent
    reads = [
        read
        for path in sorted(tests.rglob("*.py"))
        for read in _wall_clock_reads(path, tests)
        if not read.endswith(":test_unset_means_the_wall_clock")
    ]
    assert reads == [], "take the day from the `today` fixture or `clock.frozen` instead"


@pytest.mark.parametrize(
    ("source", "reads"),
    [
        ("import datetime\n\ndef f():\n    return datetime.datetime.now()\n", ["p.py:4:f"]),
        ("import datetime as dt\nx = dt.date.today()\n", ["p.py:2"]),
        ("import time\nx = time.time()\n", ["p.py:2"]),
        ("import datetime\nx = datetime.datetime.\\\n    utcnow()\n", ["p.py:2"]),
        ("import datetime\nx = (datetime.datetime.  # why\n    now)()\n", ["p.py:2"]),
        ("import datetime\nx = (datetime.datetime\n    .now())\n", ["p.py:2"]),
        ("now = 1\ntoday = now  # time.time is not called\n", []),
    ],
)
def test_the_check_finds_each_way_a_call_can_be_written(
    tmp_path: Path, source: str, reads: list[str]
) -> None:
    """The check on planted files: a call split over lines, after a continuation or around a
    comment is found as one written on one line (the files it skips unparsed hold none)."""
    planted = tmp_path / "p.py"
    planted.write_text(source, encoding="utf-8")
    assert _wall_clock_reads(planted, tmp_path) == reads
