"""The extension seams, end to end, with a tiny plugin installed by entry point.

The plugin below is written into a temporary folder as a package with a `*.dist-info`
holding `entry_points.txt` (group `paceline`), and that folder is put on sys.path, so
`importlib.metadata` finds it exactly as it finds a pip-installed plugin. It adds:
- an import source "jsonl" (one JSON object per line, keys as the generic column names; a
  rep named by e-mail, `rep_email`, is found among the reps the import hands the source);
- an alert channel "file" (one JSON line per alert, appended to the file that its own
  settings table, `[plugins.file] path`, names);
- a command `paceline hello` and a page GET /plugin/hello.

The hand-built team (November 2026, as of Wednesday the 18th): Ana (SDR) made a
conversation call with an Ask on every business day of November up to the 18th; Bo (SDR)
made his last one on Friday October 30th, so he has not sold on the 13 business days
Nov 2-6, 9-13 and 16-18, since October 31st. Nobody has
targets, so no pace rule can fire: Bo's idleness is the only alert there is.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pluggy
import pytest
import typer
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select
from typer.testing import CliRunner

from factories import migrated_sqlite_copy
from paceline import hookimpl, plugins
from paceline.auth.accounts import add_user, create_token
from paceline.calendar import BusinessCalendar
from paceline.cli import app
from paceline.config import Settings, default_config_text
from paceline.errors import UserInputError
from paceline.ingest.csv_source import open_csv_table
from paceline.ingest.importer import ImportOptions, import_file
from paceline.ingest.sources import ImportSource
from paceline.server import create_app
from paceline.services.reps import add_rep
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade
from paceline.store.models import Activity, Rep

AS_OF = dt.date(2026, 11, 18)
PLUGIN_MODULE = "paceline_example_plugin"

PLUGIN_SOURCE = '''
"""An example Paceline plugin: a JSON lines import source and a file alert channel."""

import json
from pathlib import Path

import typer
from fastapi import APIRouter

from paceline import hookimpl
from paceline.callers import ApiCaller
from paceline.channels import AlertChannel
from paceline.ingest.sources import ImportSource, RowTable


def _text(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


class JsonLines(RowTable):
    def __init__(self, path, options):
        self.records = []
        header = []
        for number, line in enumerate(path.read_text(options.encoding).splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                self.records.append((number, None, f"not JSON: {exc.msg}"))
                continue
            self.records.append((number, record, None))
            header += [key for key in record if key not in header]
        if "rep_email" in header and "rep" not in header:
            header.append("rep")
        # A record may name its rep by e-mail: the import says whose e-mail is whose
        # (`options.people`, read from the store on its first call), so no SQL here.
        self.people = options.people
        super().__init__(path.name, header)

    def rows(self):
        for number, record, problem in self.records:
            if record is None:
                yield number, [], problem
                continue
            if record.get("rep_email") and not record.get("rep"):
                reps = self.people().reps if self.people else {}
                record["rep"] = reps.get(record["rep_email"].casefold(), "")
            yield number, [_text(record.get(key)) for key in self.header], None


def _append_alerts(report, settings):
    with Path(settings.plugins["file"]["path"]).open("a", encoding="utf-8") as out:
        for alert in report.alerts:
            line = {
                "rep": alert.rep,
                "rule": alert.rule,
                "since": alert.since.isoformat() if alert.since else None,
                "business_days": alert.business_days,
            }
            out.write(json.dumps(line) + "\\n")


@hookimpl
def register_import_sources():
    return [ImportSource("jsonl", "One JSON object per line.", JsonLines)]


@hookimpl
def register_alert_channels():
    return [AlertChannel("file", "Append alerts to a file.", _append_alerts)]


@hookimpl
def register_commands(cli):
    @cli.command("hello")
    def hello(name: str = typer.Option("world", "--name")):
        """Say hello (an example plugin command)."""
        typer.echo(f"hello, {name}, from a plugin")


router = APIRouter()


@router.get("/plugin/hello")
def hello_page(caller: ApiCaller):
    return {"hello": caller.username}


@router.get("/plugin/square")
def square(caller: ApiCaller, n: int):
    return {"square": n * n}


@hookimpl
def register_routes():
    return [router]
'''


@pytest.fixture(scope="module")
def plugin_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder that looks like site-packages with the example plugin installed."""
    folder = tmp_path_factory.mktemp("site")
    (folder / f"{PLUGIN_MODULE}.py").write_text(textwrap.dedent(PLUGIN_SOURCE), "utf-8")
    info = folder / "paceline_example_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: paceline-example-plugin\nVersion: 0.1\n", "utf-8"
    )
    (info / "entry_points.txt").write_text(f"[paceline]\nexample = {PLUGIN_MODULE}\n", "utf-8")
    return folder


@pytest.fixture
def installed(
    plugin_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[pluggy.PluginManager]:
    """A fresh plugin manager that found the example plugin through its entry point, made
    the process's manager for the test; the CLI's command list is restored afterwards."""
    monkeypatch.syspath_prepend(str(plugin_folder))
    monkeypatch.delenv(plugins.LOAD_ENV_VAR, raising=False)
    manager = plugins.make_plugin_manager()
    monkeypatch.setattr(plugins, "_manager", manager)
    monkeypatch.setattr(app, "registered_commands", list(app.registered_commands))
    plugins.add_commands(app)
    yield manager


def _jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


ACTIVITY_LINES = [
    '{"external_id": "a1", "rep": "Ana", "kind": "call", "occurred_at": "2026-11-16T10:00:00",'
    ' "outcome": "conversation", "has_ask": true}',
    '{"external_id": "a2", "rep": "Ana", "kind": "email", "occurred_at": "2026-11-17T09:30:00"}',
    '{"external_id": "a3", "rep": "Bo", "kind": "call", oops',
    "",
    '{"external_id": "a4", "rep": "Bo", "kind": "call", "occurred_at": "2026-11-17",'
    ' "outcome": "meeting_set", "duration_min": 12, "notes": null}',
]


def test_the_plugin_is_found_through_its_entry_point(installed: pluggy.PluginManager) -> None:
    assert installed.get_plugin("example") is not None
    assert sorted(plugins.import_sources()) == [
        "calendar",
        "close-json",
        "csv",
        "hubspot-json",
        "jsonl",
        "pipedrive-json",
        "salesforce",
        "sfdx-tree",
        "xlsx",
    ]
    assert sorted(plugins.alert_channels()) == [
        "console",
        "email",
        "file",
        "slack",
        "teams",
        "webhook",
    ]  # the built-ins, and the plugin's
    # the built-ins are plugins like any other, registered under their module names
    assert set(plugins.DEFAULT_PLUGINS) <= {name for name, _ in installed.list_name_plugin()}


def test_built_in_hooks_names_what_the_built_in_plugins_implement() -> None:
    """`BUILT_IN_HOOKS` lets a command list skip the built-ins: it must be their real hooks."""
    manager = plugins.make_plugin_manager()
    implemented = {
        caller.name
        for name in plugins.DEFAULT_PLUGINS
        for caller in manager.get_hookcallers(manager.get_plugin(name)) or []
    }
    assert implemented == plugins.BUILT_IN_HOOKS


def test_listing_commands_first_loads_the_installed_plugins_alone(
    plugin_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before the process's manager is made, `add_commands` asks a manager of the installed
    plugins only; the built-ins come with the process's manager, on first need, and a
    failure either one met is reported once."""
    monkeypatch.syspath_prepend(str(plugin_folder))
    monkeypatch.setattr(plugins, "_manager", None)
    monkeypatch.setattr(plugins, "_installed_only", None)
    cli = typer.Typer()
    plugins.add_commands(cli)
    assert [c.name for c in cli.registered_commands] == ["hello"]
    light = plugins._installed_only
    assert light is not None and light.get_plugin("example") is not None
    assert light.get_plugin("paceline.ingest.csv_source") is None
    assert plugins._manager is None  # no built-in loaded yet
    assert {"csv", "jsonl"} <= set(plugins.import_sources())
    assert plugins._manager is not None
    assert plugins._manager.get_plugin("paceline.ingest.csv_source") is not None
    plugins.use(None)
    assert plugins._installed_only is None


def test_the_load_switch_picks_which_installed_plugins_load(
    plugin_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(plugin_folder))
    monkeypatch.setenv(plugins.LOAD_ENV_VAR, "")
    bare = plugins.make_plugin_manager()
    assert bare.get_plugin("example") is None
    assert bare.get_plugin("paceline.ingest.csv_source") is not None  # built-ins always load
    monkeypatch.setenv(plugins.LOAD_ENV_VAR, "example")
    assert plugins.make_plugin_manager().get_plugin("example") is not None


def test_a_plugin_source_imports_through_the_same_pipeline(
    installed: pluggy.PluginManager, engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Rows read by the plugin get the CSV import's checks, accounting and idempotency, on
    SQLite and PostgreSQL: the bad line is rejected by its line number, nothing else."""
    path = _jsonl(tmp_path / "activities.jsonl", ACTIVITY_LINES)
    options = ImportOptions(source="example", errors_path=tmp_path / "errors.csv")
    reader = plugins.import_source("jsonl")
    result = import_file(engine, settings, path, "activities", None, options, reader=reader)
    assert (result.read, result.inserted, result.rejected) == (4, 3, 1)
    assert result.first_errors[0][0] == 3 and "not JSON" in result.first_errors[0][2]
    with engine.connect() as conn:
        stored = conn.execute(
            select(
                Activity.external_id,
                Rep.name,
                Activity.kind,
                Activity.local_date,
                Activity.outcome,
                Activity.has_ask,
                Activity.duration_min,
            )
            .join(Rep, Rep.id == Activity.rep_id)
            .order_by(Activity.external_id)
        ).all()
    assert [tuple(row) for row in stored] == [
        ("a1", "Ana", "call", dt.date(2026, 11, 16), "conversation", True, None),
        ("a2", "Ana", "email", dt.date(2026, 11, 17), None, False, None),
        # meeting_set implies an Ask, as it does for a CSV row
        ("a4", "Bo", "call", dt.date(2026, 11, 17), "meeting_set", True, 12),
    ]
    again = import_file(engine, settings, path, "activities", None, options, reader=reader)
    assert (again.inserted, again.unchanged, again.rejected) == (0, 3, 1)


def test_a_plugin_source_is_told_whose_e_mail_is_whose(
    installed: pluggy.PluginManager, engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """The import hands a source the reps by e-mail (`ReadOptions.people`, as the calendar
    source gets them), so a plugin resolves an address without a query of its own. Before
    2026-12-07 a source had no way to them but its own SQL."""
    add_rep(engine, settings, "Ana", "sdr", email="Ana@Example.test")
    lines = [
        '{"external_id": "e1", "rep_email": "ana@example.test", "kind": "call",'
        ' "occurred_at": "2026-11-16T10:00:00"}',
        '{"external_id": "e2", "rep_email": "nobody@example.test", "kind": "call",'
        ' "occurred_at": "2026-11-16T11:00:00"}',
    ]
    path = _jsonl(tmp_path / "by-email.jsonl", lines)
    options = ImportOptions(allow_new_reps=False, errors_path=tmp_path / "errors.csv")
    reader = plugins.import_source("jsonl")
    result = import_file(engine, settings, path, "activities", None, options, reader=reader)
    assert (result.read, result.inserted, result.rejected) == (2, 1, 1)
    assert result.first_errors[0][:2] == (2, "rep")  # no rep has that address: no rep
    with engine.connect() as conn:
        stored = conn.execute(
            select(Activity.external_id, Rep.name).join(Rep, Rep.id == Activity.rep_id)
        ).all()
    assert [tuple(row) for row in stored] == [("e1", "Ana")]


def _cli(url: str, *args: str, config: Path | None = None) -> Any:
    chosen = ["--config", str(config)] if config else []
    return CliRunner().invoke(app, ["--db", url, *chosen, *args])


def test_cli_imports_with_a_plugin_source_and_names_the_known_ones(
    installed: pluggy.PluginManager, tmp_path: Path, settings: Settings
) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    upgrade(make_engine(url))
    path = _jsonl(tmp_path / "activities.jsonl", ACTIVITY_LINES)
    errors = str(tmp_path / "errors.csv")
    done = _cli(url, "import", "activities", str(path), "--from", "jsonl", "--errors", errors)
    assert done.exit_code == 0, done.output
    as_json = _cli(
        url, "import", "activities", str(path), "--from", "jsonl", "--errors", errors, "--json"
    )
    figures = json.loads(as_json.output)
    assert (figures["read"], figures["unchanged"], figures["rejected"]) == (4, 3, 1)
    unknown = _cli(url, "import", "activities", str(path), "--from", "xml")
    assert unknown.exit_code == 1
    known = (
        "calendar, close-json, csv, hubspot-json, jsonl, pipedrive-json, salesforce, "
        "sfdx-tree, xlsx"
    )
    said = " ".join(unknown.output.split())  # the console wraps long errors
    assert f"--from: no import source called 'xml'; known: {known}" in said
    # the CSV reader stays the default: the JSON file is no CSV with the generic columns
    as_csv = _cli(url, "import", "activities", str(path))
    assert as_csv.exit_code == 1 and "missing required column(s)" in as_csv.output


def _team(url: str, settings: Settings) -> None:
    engine = make_engine(url)
    upgrade(engine)
    ana = add_rep(engine, settings, "Ana", "sdr", team="East")
    bo = add_rep(engine, settings, "Bo", "sdr", team="East")
    calendar = BusinessCalendar(settings.calendar)
    days = [
        dt.date(2026, 11, d) for d in range(2, 19) if calendar.is_business_day(dt.date(2026, 11, d))
    ]
    rows = [_call(ana, day) for day in days] + [_call(bo, dt.date(2026, 10, 30))]
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
    engine.dispose()


def _call(rep_id: int, day: dt.date) -> dict[str, Any]:
    return {
        "rep_id": rep_id,
        "kind": "call",
        "occurred_at": dt.datetime.combine(day, dt.time(17, 0)),
        "local_date": day,
        "outcome": "conversation",
        "has_ask": True,
        "engaged": False,
        "source": "test",
    }


def test_alerts_go_through_a_plugin_channel(
    installed: pluggy.PluginManager, tmp_path: Path, settings: Settings
) -> None:
    """The channel gets the report and its own settings table from paceline.toml."""
    url = f"sqlite:///{tmp_path / 'team.db'}"
    _team(url, settings)
    sink = tmp_path / "alerts.jsonl"
    config = tmp_path / "paceline.toml"
    config.write_text(
        default_config_text() + f"\n[plugins.file]\npath = {json.dumps(str(sink))}\n", "utf-8"
    )
    sent = _cli(url, "alerts", "--as-of", "2026-11-18", "--channel", "file", config=config)
    assert sent.exit_code == 0, sent.output
    assert "sent 1 alert(s) for 1 rep(s) through file" in sent.output
    received = [json.loads(line) for line in sink.read_text("utf-8").splitlines()]
    assert received == [
        {"rep": "Bo", "rule": "no_selling", "since": "2026-10-31", "business_days": 13}
    ]
    printed = _cli(
        url, "alerts", "--as-of", "2026-11-18", config=config
    )  # console stays the default
    assert "no selling for 13 business days" in printed.output and "Ana" not in printed.output
    assert len(sink.read_text("utf-8").splitlines()) == 1  # the console run sent nothing
    unknown = _cli(url, "alerts", "--channel", "pager")
    assert unknown.exit_code == 1
    assert (
        "--channel: no alert channel called 'pager'; known: console, email, file" in unknown.output
    )


def test_a_plugin_adds_a_command_and_a_page_for_signed_in_callers_only(
    installed: pluggy.PluginManager,
    settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
) -> None:
    said = CliRunner().invoke(app, ["hello", "--name", "Ana"])
    assert said.exit_code == 0, said.output
    assert said.output.strip() == "hello, Ana, from a plugin"
    engine = migrated_sqlite_copy(tmp_path_factory, tmp_path)
    add_user(engine, "root", "a long enough password", "admin")
    token = create_token(engine, "root", "plugin test").token
    client = TestClient(create_app(settings, engine))
    assert client.get("/plugin/hello").status_code == 401  # a plugin page is not public
    page = client.get("/plugin/hello", headers={"Authorization": f"Bearer {token}"})
    assert page.status_code == 200 and page.json() == {"hello": "root"}


BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_a_plugin_route_answers_a_program_asking_for_json_in_json(
    installed: pluggy.PluginManager,
    settings: Settings,
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
) -> None:
    """`/plugin/square?n=three` outside /api/v1: a client asking for JSON alone got the HTML
    422 page, which it cannot read; it now gets the API's JSON naming the field. A browser
    (text/html among what it accepts) and a client naming nothing still get the page."""
    engine = migrated_sqlite_copy(tmp_path_factory, tmp_path)
    add_user(engine, "root", "a long enough password", "admin")
    auth = {"Authorization": f"Bearer {create_token(engine, 'root', 'plugin test').token}"}
    client = TestClient(create_app(settings, engine))
    assert client.get("/plugin/square", params={"n": "3"}, headers=auth).json() == {"square": 9}

    def bad(accept: str | None) -> Any:
        headers = auth if accept is None else {**auth, "Accept": accept}
        reply = client.get("/plugin/square", params={"n": "three"}, headers=headers)
        assert reply.status_code == 422
        return reply

    for program in ("application/json", "application/json; charset=utf-8"):
        reply = bad(program)
        assert reply.headers["content-type"] == "application/json"
        assert [e["loc"] for e in reply.json()["detail"]] == [["query", "n"]]
    for person in (BROWSER, "application/json, text/html", None):
        reply = bad(person)
        assert reply.headers["content-type"].startswith("text/html"), person
        assert "n: &#39;three&#39; is not allowed here" in reply.text


def test_plugins_command_lists_what_each_plugin_adds(installed: pluggy.PluginManager) -> None:
    listed = CliRunner().invoke(app, ["plugins", "--json"])
    assert listed.exit_code == 0, listed.output
    listing = json.loads(listed.output)
    assert listing["failures"] == []
    by_name = {p["name"]: p for p in listing["plugins"]}
    assert by_name["example"] == {
        "name": "example",
        "package": "paceline-example-plugin",
        "version": "0.1",
        "hooks": [
            "register_alert_channels",
            "register_commands",
            "register_import_sources",
            "register_routes",
        ],
        "import_sources": ["jsonl"],
        "alert_channels": ["file"],
    }
    assert by_name["paceline.ingest.csv_source"]["package"] is None
    assert by_name["paceline.ingest.csv_source"]["import_sources"] == ["csv"]
    assert by_name["paceline.console_channel"]["alert_channels"] == ["console"]


@pytest.mark.slow
def test_the_web_application_loads_the_built_ins_without_the_command_line() -> None:
    """The console channel prints to paceline.terminal, so serving the pages never imports
    the CLI (in a fresh interpreter: this one has imported it already)."""
    code = (
        "import sys\n"
        "from paceline import plugins\n"
        "from paceline.server import create_app\n"
        "from paceline.config import default_settings\n"
        "from paceline.store.engine import make_engine\n"
        "create_app(default_settings(), make_engine('sqlite://'))\n"
        "print(sorted(plugins.alert_channels()), 'paceline.cli' in sys.modules)\n"
    )
    env = {**os.environ, plugins.LOAD_ENV_VAR: ""}
    ran = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert ran.stdout.strip() == "['console', 'email', 'slack', 'teams', 'webhook'] False"


def test_two_plugins_cannot_claim_one_name(installed: pluggy.PluginManager) -> None:
    class Twin:
        @staticmethod
        @hookimpl
        def register_import_sources() -> list[ImportSource]:
            return [ImportSource("jsonl", "Another reader of JSON lines.", open_csv_table)]

    installed.register(Twin(), name="twin")
    with pytest.raises(UserInputError, match="two plugins provide the import source 'jsonl'"):
        plugins.import_sources()


def _broken_site(folder: Path) -> Path:
    """Two broken plugins beside the working one: one whose module raises on import, one
    whose import-source hook raises."""
    folder.mkdir()
    (folder / "paceline_broken_import.py").write_text("raise RuntimeError('boom')\n", "utf-8")
    (folder / "paceline_broken_hook.py").write_text(
        "from paceline import hookimpl\n\n"
        "@hookimpl\n"
        "def register_import_sources():\n"
        "    raise KeyError('no such setting')\n",
        "utf-8",
    )
    info = folder / "paceline_broken-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: paceline-broken\nVersion: 0.1\n", "utf-8"
    )
    (info / "entry_points.txt").write_text(
        "[paceline]\nbroken_import = paceline_broken_import\nbroken_hook = paceline_broken_hook\n",
        "utf-8",
    )
    return folder


def test_a_broken_plugin_is_set_aside_and_named_not_fatal(
    plugin_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    """Before, a plugin whose module failed to import (or whose hook raised) stopped every
    command, `paceline import` included."""
    monkeypatch.syspath_prepend(str(plugin_folder))
    monkeypatch.syspath_prepend(str(_broken_site(tmp_path / "site")))
    monkeypatch.delenv(plugins.LOAD_ENV_VAR, raising=False)
    monkeypatch.setattr(plugins, "_manager", plugins.make_plugin_manager())
    assert {"csv", "jsonl"} <= set(plugins.import_sources())  # the others still answer
    assert {(f.plugin, f.stage, f.error) for f in plugins.failures()} == {
        ("broken_import", "load", "RuntimeError: boom"),
        ("broken_hook", "register_import_sources", "KeyError: 'no such setting'"),
    }
    url = f"sqlite:///{tmp_path / 'team.db'}"
    _team(url, settings)
    ran = _cli(url, "alerts", "--as-of", "2026-11-18")
    assert ran.exit_code == 0, ran.output
    assert "plugin 'broken_import' set aside (load): RuntimeError: boom" in ran.output
    assert "no selling for 13 business days" in ran.output  # and the command did its work
    listed = CliRunner().invoke(app, ["plugins", "--json"])
    assert listed.exit_code == 0, listed.output
    assert {f["plugin"] for f in json.loads(listed.stdout)["failures"]} == {
        "broken_import",
        "broken_hook",
    }
