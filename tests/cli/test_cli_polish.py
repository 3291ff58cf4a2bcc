"""The command line's first hour: short flags, a default rep for `log`, "did you mean" for
misspelt names, dates that say why they are wrong, and exit status 1 for every user error.

Every expectation is written by hand from the calendar, the shipped configuration's names
and the README's promise (status 1 for an error the user can fix).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from factories import initialised_workdir
from paceline import cli as cli_module
from paceline.cli import app
from paceline.cli.dates import date_problem

runner = CliRunner()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for var in ("PACELINE_DB", "PACELINE_CONFIG", "PACELINE_REP"):
        monkeypatch.delenv(var, raising=False)
    for console in (cli_module.out, cli_module.err):  # no wrapping: assert on whole lines
        monkeypatch.setattr(console, "width", 250)
    return tmp_path


def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.output


TEAM_COMMANDS = (
    ("init",),
    ("rep", "add", "Ana Ruiz", "--role", "sdr", "--team", "East"),
    ("rep", "add", "Ben Okafor", "--role", "ae", "--team", "East"),
)


@pytest.fixture
def team(workdir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialised database with two reps in team East: `paceline init` and two `rep add`,
    run once per test run and copied (`factories.initialised_workdir`)."""
    return initialised_workdir(tmp_path_factory, workdir, "cli-polish-team", TEAM_COMMANDS)


# --- dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("2026-02-30", "2026-02-30: February 2026 has 28 days"),
        ("2028-02-30", "2028-02-30: February 2028 has 29 days"),  # a leap year
        ("2026-04-31", "2026-04-31: April 2026 has 30 days"),
        ("2026-12-00", "2026-12-00: December 2026 has 31 days"),
        ("2026-13-01", "2026-13-01: there is no month 13"),
        ("2026-00-10", "2026-00-10: there is no month 0"),
        ("0000-01-01", "0000-01-01: there is no year 0"),
        ("07/12/2026", "07/12/2026: not a date; write it as YYYY-MM-DD, e.g. 2026-12-07"),
        ("2026-02-28", None),
        ("2028-02-29", None),
        ("2026-12-31", None),
    ],
)
def test_what_is_wrong_with_a_date(text: str, problem: str | None) -> None:
    assert date_problem(text) == problem


def test_a_day_that_does_not_exist_is_refused_with_the_reason(workdir: Path) -> None:
    code, output = cli("summary", "--as-of", "2026-02-30")
    assert code == 1
    assert "2026-02-30: February 2026 has 28 days" in output
    assert "does not match the format" not in output
    code, output = cli("scorecard", "--all", "--as-of", "2026-13-01")
    assert code == 1 and "2026-13-01: there is no month 13" in output
    code, output = cli("target", "list", "--date", "2026-06-31")
    assert code == 1 and "2026-06-31: June 2026 has 30 days" in output


def test_the_global_today_option_says_why_too(workdir: Path) -> None:
    code, output = cli("--today", "2026-02-29", "summary")
    assert code == 1 and "2026-02-29: February 2026 has 28 days" in output
    code, output = cli("--today", "2026-09-31T10:00", "summary")
    assert code == 1 and "2026-09-31T10:00: September 2026 has 30 days" in output
    code, output = cli("--today", "soon", "summary")  # not a date at all: the general rule
    assert code == 1 and "must be YYYY-MM-DD or an" in output


def test_log_at_names_the_wrong_part_of_a_date_and_time(team: Path) -> None:
    code, output = cli("log", "call", "-r", "Ana Ruiz", "--at", "2026-12-01 25:00")
    assert code == 1 and "2026-12-01 25:00: there is no hour 25" in output
    code, output = cli("log", "call", "-r", "Ana Ruiz", "--at", "2026-12-01 10:75")
    assert code == 1 and "there is no minute 75" in output
    code, output = cli("log", "call", "-r", "Ana Ruiz", "--at", "2026-11-31 10:00")
    assert code == 1 and "2026-11-31: November 2026 has 30 days" in output
    code, output = cli("log", "call", "-r", "Ana Ruiz", "--at", "2026-12-01T09:30", "-j")
    assert code == 0, output
    assert json.loads(output)["local_date"] == "2026-12-01"


# --- exit codes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["--no-such-option"],  # an unknown global option
        ["scorecard", "--bogus"],  # an unknown option of a command
        ["scorecard", "--period"],  # an option without its value
        ["log"],  # a missing argument
        ["demo", "--reps", "5"],  # below the option's minimum (12)
        ["forecast", "--runs", "many"],  # not a number
        ["no-such-command"],
        ["rep"],  # a group without its subcommand: the help, as a usage error
    ],
)
def test_usage_errors_exit_with_status_1_not_2(workdir: Path, args: list[str]) -> None:
    code, _ = cli(*args)
    assert code == 1


def test_help_and_version_still_exit_with_0(workdir: Path) -> None:
    assert cli("--help")[0] == 0
    assert cli("log", "--help")[0] == 0
    code, output = cli("--version")
    assert code == 0 and output.startswith("paceline ")


# --- short flags ------------------------------------------------------------------------------


def test_short_flags_mean_the_long_options(team: Path) -> None:
    code, output = cli("log", "call", "-r", "Ana Ruiz", "-o", "conversation", "-j")
    assert code == 0, output
    logged = json.loads(output)
    assert (logged["rep"], logged["kind"], logged["outcome"]) == (
        "Ana Ruiz",
        "call",
        "conversation",
    )
    code, output = cli("rep", "list", "-t", "East", "-j")
    assert code == 0, output
    assert sorted(r["name"] for r in json.loads(output)) == ["Ana Ruiz", "Ben Okafor"]
    code, output = cli("scorecard", "-r", "Ben Okafor", "-p", "week", "-j")
    assert code == 0, output
    card = json.loads(output)
    assert (card["rep"], card["period"]["kind"]) == ("Ben Okafor", "week")
    code, output = cli("summary", "-p", "day", "-j")
    assert code == 0, output
    assert json.loads(output)["period"]["kind"] == "day"


def test_every_short_flag_means_one_option_everywhere() -> None:
    """-r is always --rep, -t always --team, -p always --period, -j always --json."""
    import typer.main

    meaning = {"-r": "--rep", "-t": "--team", "-p": "--period", "-j": "--json", "-o": "--outcome"}
    seen: dict[str, set[str]] = {}

    def walk(command: object) -> None:
        for param in getattr(command, "params", []):
            opts = list(param.opts)
            for short in (o for o in opts if len(o) == 2 and o.startswith("-")):
                seen.setdefault(short, set()).update(o for o in opts if o.startswith("--"))
        for sub in (getattr(command, "commands", None) or {}).values():
            walk(sub)

    walk(typer.main.get_command(app))
    assert {short: {long} for short, long in meaning.items()} == {
        short: longs for short, longs in seen.items() if short in meaning
    }
    unplanned = set(seen) - set(meaning)
    assert not unplanned, (
        f"short flags {sorted(unplanned)}: add them to the short flags table of docs/cli.md "
        "and to `meaning` here, one meaning per letter"
    )


# --- the default rep of log -------------------------------------------------------------------


def test_log_without_a_rep_says_how_to_give_one(team: Path) -> None:
    code, output = cli("log", "call")
    assert code == 1
    assert "--rep" in output and "PACELINE_REP" in output and "[cli]" in output


def test_log_takes_the_rep_from_the_environment(team: Path) -> None:
    code, output = cli("log", "call", "-j", env={"PACELINE_REP": "Ben Okafor"})
    assert code == 0, output
    assert json.loads(output)["rep"] == "Ben Okafor"
    code, output = cli("log", "call", "-r", "Ana Ruiz", "-j", env={"PACELINE_REP": "Ben Okafor"})
    assert code == 0 and json.loads(output)["rep"] == "Ana Ruiz"  # --rep wins


def test_log_prints_a_name_as_written_not_as_rich_markup(team: Path) -> None:
    """The confirmation line is plain text: a name in square brackets is data, which Rich
    would have read as a style tag and dropped ("Ana [b]Ruiz" printed as "Ana Ruiz")."""
    code, output = cli("rep", "add", "Cy [b]Lane", "--role", "ae")
    assert code == 0, output
    code, output = cli("log", "call", "--rep", "Cy [b]Lane", "--at", "2026-12-07")
    assert code == 0, output
    assert "for Cy [b]Lane on 2026-12-07" in output


def test_log_prints_a_name_as_written_not_as_an_emoji_code(team: Path) -> None:
    """Nor is a name an emoji code: Rich printed "Di :phone: Sato" with a telephone sign."""
    code, output = cli("rep", "add", "Di :phone: Sato", "--role", "ae")
    assert code == 0, output
    code, output = cli("log", "call", "--rep", "Di :phone: Sato", "--at", "2026-12-07")
    assert code == 0, output
    assert "for Di :phone: Sato on 2026-12-07" in output


def test_log_takes_the_rep_from_the_configuration(team: Path) -> None:
    config = team / "paceline.toml"
    text = config.read_text("utf-8")
    assert '# default_rep = "Ana Ruiz"' in text  # the shipped file shows how
    config.write_text(text.replace('# default_rep = "Ana Ruiz"', 'default_rep = "Ben Okafor"'))
    code, output = cli("log", "email", "-j")
    assert code == 0, output
    assert json.loads(output)["rep"] == "Ben Okafor"
    code, output = cli("log", "email", "-j", env={"PACELINE_REP": "Ana Ruiz"})
    assert code == 0 and json.loads(output)["rep"] == "Ana Ruiz"  # the environment wins


# --- did you mean -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["log", "cal", "-r", "Ana Ruiz"], "unknown kind 'cal'; did you mean 'call'?"),
        (["log", "emial", "-r", "Ana Ruiz"], "unknown kind 'emial'; did you mean 'email'?"),
        (
            ["log", "call", "-r", "Ana Ruiz", "-o", "conversaton"],
            "unknown outcome 'conversaton'; did you mean 'conversation'?",
        ),
        (["log", "call", "-r", "Ana Ruis"], "no rep named 'Ana Ruis'; did you mean 'Ana Ruiz'?"),
        (
            ["leaderboard", "proposls"],
            "metric: unknown metric 'proposls'; did you mean 'proposals'?",
        ),
        (
            ["target", "set", "5", "-r", "Ana Ruiz", "--metric", "cals"],
            "metric: unknown metric 'cals'; did you mean 'calls'?",
        ),
        (["scorecard", "--all", "-p", "mnth"], "not 'mnth'; did you mean 'month'?"),
        (["summary", "-p", "wek"], "not 'wek'; did you mean 'week'?"),
        (["target", "list", "-p", "quartr"], "not 'quartr'; did you mean 'quarter'?"),
        (["forecast", "-p", "yaer"], "'yaer' cannot be forecast; did you mean 'year'?"),
        (["diagnose", "-p", "mnth"], "'mnth' is not a period; did you mean 'month'?"),
    ],
)
def test_a_misspelt_name_gets_a_suggestion(team: Path, args: list[str], said: str) -> None:
    code, output = cli(*args)
    assert code == 1
    assert said in output


def test_a_name_nothing_resembles_gets_the_list_instead(team: Path) -> None:
    code, output = cli("log", "zzzz", "-r", "Ana Ruiz")
    assert code == 1
    assert "unknown kind 'zzzz' (known: admin, call," in output
    assert "did you mean" not in output
    code, output = cli("forecast", "-p", "week")
    assert code == 1 and "'week' cannot be forecast; use month, quarter, year" in output
