"""Start-up guard: starting `paceline` must not load the heavy libraries.

Every command used to spend about two seconds of CPU importing SciPy, NumPy, Plotly, Jinja2,
Alembic, argon2 and the whole SQLAlchemy ORM before doing anything. These tests run Python in
a subprocess (a fresh interpreter: this process has long imported everything) and check
*which modules* were imported, never how long it took: a timed test would fail on a loaded
machine and pass on a fast one. `benchmarks/cli_startup.py` measures the time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from paceline.config import Settings
from paceline.services.reps import add_rep
from paceline.store import migrate
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade

SRC = Path(__file__).resolve().parents[2] / "src"

# Libraries no command needs before it runs (top-level package names).
NEVER_AT_START = frozenset(
    {
        "scipy",
        "numpy",
        "plotly",
        "pandas",
        "weasyprint",
        "xlsxwriter",
        "jinja2",
        "uvicorn",
        "fastapi",
        "starlette",
        "argon2",
        "alembic",
        "sqlalchemy",
    }
)
# What listing the commands may not load either: the built-in plugins (the plugin manager
# loads them all, for the plugins' commands) keep their Pydantic settings, the configuration,
# an import's mapping models and their SMTP and HTTP clients in modules loaded on use.
NEVER_FOR_HELP = NEVER_AT_START | {"pydantic"}
NEVER_FOR_HELP_MODULES = frozenset(
    {
        "paceline.config",
        "paceline.ingest.mapping",
        "paceline.channels.settings",
        "paceline.channels.email_send",
        "paceline.channels.webhook_send",
        "smtplib",
        "urllib.request",
    }
)
# What logging one activity may not load: the analyses' and the web's libraries, and Alembic
# (the schema check reads the migration files' text). SQLAlchemy it needs. Nor Rich: `log`
# prints one plain line (`terminal.line`), and the command modules make their tables and
# consoles on use (`terminal.new_table`, the lazy `out` and `err`), which `log` never does;
# Rich's console, tables and markup were 5% of `log` (benchmarks/README.md, cli_startup).
NEVER_FOR_LOG = (NEVER_AT_START - {"sqlalchemy"}) | {"rich"}
# Modules `log` loaded before its plugins were made lazy: the plugin manager (for the plugins'
# commands and its failure warning), and through it every built-in import source and alert
# channel with their SMTP and HTTP clients. A built-in command needs none of them.
NEVER_FOR_LOG_MODULES = frozenset(
    {
        "pluggy",
        "paceline.plugins",
        "paceline.hookspecs",
        "paceline.console_channel",
        "paceline.channels",
        "paceline.channels.email",
        "paceline.channels.webhooks",
        "paceline.ingest.csv_source",
        "paceline.ingest.xlsx_source",
        "paceline.ingest.crm.salesforce",
        "paceline.ingest.crm.hubspot",
        "smtplib",
        "urllib.request",
        # Loaded before the tables became plain SQLAlchemy Core (store.models): the ORM and
        # its mapper set-up, and an import's Pydantic mapping models. One row needs neither.
        "sqlalchemy.orm",
        "paceline.ingest.mapping",
        # PostgreSQL's dialect, loaded on SQLite to check the partial indexes' arguments
        # before store.models.PartialIndex.
        "sqlalchemy.dialects.postgresql",
        # Rich's table of 4,000 emoji codes, loaded to read ":name:" codes in the printed
        # line (a rep's name is data); the lists, pages and deals beside store.records.
        "rich._emoji_codes",
        "paceline.store.listings",
        "paceline.store.deal_records",
        # The import sources' module (for the entities' names, now in ingest.entity_names)
        # and reading the audit log back (in store.audit until it moved to store.audit_log).
        "paceline.ingest.sources",
        "paceline.store.audit_log",
        # The command modules and what only they import, loaded on every start until each
        # loaded with its command (`cli.COMMAND_MODULES`): `log` is declared in paceline.cli.
        "paceline.cli.track_commands",
        "paceline.cli.web_commands",
        "paceline.cli.schedule_commands",
        "paceline.cli.diagnosis_options",
        "paceline.describe",
    }
)
# The dataclasses `log` has no use for, which store.records defined until they moved to
# store.listings and store.deal_records: Python 3.11 compiles each generated method with
# `exec`, about 5 M instructions a class, 3% of `log` for these (benchmarks/README.md).
NEVER_FOR_LOG_DATACLASSES = frozenset(
    {
        "RepRecord",
        "TeamRecord",
        "RepListing",
        "TeamRef",
        "Cursor",
        "Page",
        "Paging",
        "ActivityFilter",
        "DealRecord",
        "DealFilter",
        "NewDeal",
        # defined by ingest.sources and store.audit until their moves (the audit log's
        # `Entry` by its full name below: services.activities.Entry is `log`'s own)
        "ImportSource",
        "ReadOptions",
        "EntryPage",
    }
)
NEVER_FOR_LOG_DATACLASS_PATHS = frozenset({"paceline.store.audit.Entry"})
# `paceline ARGS` run as `-m paceline.cli` runs it, that prints on leaving (stdout) every
# dataclass Paceline's loaded modules define, as "dataclasses: module.Name ...", and every
# module loaded, as "modules: ..." (-X importtime misses those loaded by importlib's functions).
RUN_CLI_LISTING_DATACLASSES = """
import atexit, dataclasses, runpy, sys

def report():
    found = sorted(
        f"{name}.{attr}"
        for name, module in list(sys.modules.items())
        if name.startswith("paceline")
        for attr, value in vars(module).items()
        if isinstance(value, type) and dataclasses.is_dataclass(value)
        and value.__module__ == name
    )
    print("dataclasses:", " ".join(found))
    print("modules:", " ".join(sorted(sys.modules)))

atexit.register(report)
sys.argv[0] = "paceline"
runpy.run_module("paceline.cli", run_name="__main__", alter_sys=True)
"""
# Paceline's own packages `log` has no use for (its module list, 2026-12-06: the CLI, the
# configuration, store, services.activities and what they import): the analyses, the other
# faces, the scheduler and the bulk import. Any module under one of them fails the test.
NEVER_FOR_LOG_PACKAGES = (
    "paceline.analytics",
    "paceline.api",
    "paceline.web",
    "paceline.reports",
    "paceline.scheduling",
    "paceline.channels",
    "paceline.ingest.crm",
    "paceline.ingest.importer",
)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["PACELINE_TODAY"] = "2026-12-07"
    return env


def imported_by(*args: str) -> set[str]:
    """Top-level names of the packages `python -X importtime ARGS` imported, from the
    importtime report on stderr (one line per module: `import time: self | total | name`)."""
    return {module.split(".")[0] for module in modules_imported_by(*args)}


def modules_imported_by(*args: str) -> set[str]:
    """Every module (full dotted name) `python -X importtime ARGS` imported."""
    return run_traced(*args)[0]


def run_traced(*args: str) -> tuple[set[str], str]:
    """(every module `python -X importtime ARGS` imported, what it printed on stdout)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *args],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    names: set[str] = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            module = line.rsplit("|", 1)[1].strip()
            if module and module != "imported package":
                names.add(module)
    assert "paceline" in names, "the importtime report was not read"  # the parser works
    return names, done.stdout


def test_importing_the_cli_loads_none_of_the_heavy_libraries() -> None:
    loaded = imported_by("-c", "import paceline.cli")
    assert loaded & (NEVER_AT_START | {"rich"}) == set()  # Rich loads when a command prints
    assert "typer" in loaded  # what it does need, so the check reads real output


def test_help_loads_none_of_the_heavy_libraries_nor_the_plugins_settings() -> None:
    loaded = modules_imported_by("-m", "paceline.cli", "--help")
    assert {module.split(".")[0] for module in loaded} & NEVER_FOR_HELP == set()
    assert loaded & NEVER_FOR_HELP_MODULES == set()
    # it did load the plugin manager, for the installed plugins' commands, but not the
    # built-in plugins (import sources and alert channels: none adds a command)
    assert {"paceline.plugins", "pluggy", "paceline.hookspecs"} <= loaded
    assert [m for m in loaded if m.startswith(HELP_NEEDS_NO_BUILT_IN_PLUGIN)] == []


# What the built-in plugins import, which `--help` loaded until it stopped loading them
# (`plugins.BUILT_IN_HOOKS`): every import source, the CRM connectors, the alert channels.
HELP_NEEDS_NO_BUILT_IN_PLUGIN = (
    "paceline.channels",
    "paceline.console_channel",
    "paceline.ingest.csvfile",
    "paceline.ingest.csv_source",
    "paceline.ingest.xlsx_source",
    "paceline.ingest.crm",
    "paceline.ingest.sync",
)


@pytest.fixture
def rep_db(sqlite_engine: Engine, settings: Settings) -> tuple[str, Engine]:
    """A migrated database (a copy: migrating is not what these tests look at) with one rep."""
    add_rep(sqlite_engine, settings, "Ana Ruiz", "sdr")
    return sqlite_engine.url.render_as_string(hide_password=False), sqlite_engine


def test_log_loads_no_analysis_web_migration_library_plugin_source_or_channel(
    rep_db: tuple[str, Engine],
) -> None:
    """One `log` in a fresh interpreter, three checks on what it imported: no analysis, web
    or migration library (top-level packages), no plugin machinery, import source or alert
    channel (full module names), and none of the record lists' and deals' dataclasses."""
    url, engine = rep_db
    loaded, printed = run_traced(
        "-c", RUN_CLI_LISTING_DATACLASSES,
        "--db", url, "log", "call", "--rep", "Ana Ruiz", "--at", "2026-12-07",
    )  # fmt: skip
    assert {module.split(".")[0] for module in loaded} & NEVER_FOR_LOG == set()
    assert loaded & NEVER_FOR_LOG_MODULES == set()
    assert [m for m in loaded if m.startswith(NEVER_FOR_LOG_PACKAGES)] == []
    (modules,) = [line for line in printed.splitlines() if line.startswith("modules: ")]
    assert "paceline.cli.dates" in modules.split()  # the list is read
    assert [m for m in modules.split() if m.startswith("paceline.cli.") and "_commands" in m] == []
    assert {"paceline.services.activities", "paceline.config"} <= loaded  # read real output
    assert "logged call #1 for Ana Ruiz" in printed
    (listed,) = [line for line in printed.splitlines() if line.startswith("dataclasses: ")]
    defined = {name.rsplit(".", 1)[1] for name in listed.split()[1:]}
    assert "paceline.store.records.NewActivity" in listed  # the report lists what log uses
    assert defined & NEVER_FOR_LOG_DATACLASSES == set()
    assert set(listed.split()[1:]) & NEVER_FOR_LOG_DATACLASS_PATHS == set()
    with engine.connect() as conn:  # and it did log the call
        assert conn.execute(text("SELECT count(*) FROM activity")).scalar_one() == 1


# `paceline ARGS` run as `-m paceline.cli` runs it, that prints when the command is done (at
# exit, before the interpreter's teardown) how many objects the garbage collector no longer sees.
RUN_CLI_COUNTING_FROZEN = """
import atexit, gc, runpy, sys

atexit.register(lambda: print("frozen:", gc.get_freeze_count()))
sys.argv[0] = "paceline"
runpy.run_module("paceline.cli", run_name="__main__", alter_sys=True)
"""


def test_log_leaves_the_exit_no_collection_and_closes_its_database(
    rep_db: tuple[str, Engine],
) -> None:
    """`main` freezes what is alive once the command is done, so the interpreter's exit does
    not collect every module and class once more (a fifth of `log`); the database's connections
    are closed before, as that collection closed them: the SQLite file is left without its
    write-ahead log (-wal, -shm), which a connection never closed would leave behind."""
    url, engine = rep_db
    engine.dispose()  # this process's connections: only the command's may open the log
    database = Path(engine.url.database or "")
    done = subprocess.run(
        [sys.executable, "-c", RUN_CLI_COUNTING_FROZEN,
         "--db", url, "log", "call", "--rep", "Ana Ruiz", "--at", "2026-12-07"],
        capture_output=True, text=True, env=_env(), timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "logged call #1 for Ana Ruiz" in done.stdout
    (frozen,) = [line for line in done.stdout.splitlines() if line.startswith("frozen: ")]
    assert int(frozen.split()[1]) > 10_000  # the modules, classes and functions: 65,000
    assert [p.name for p in database.parent.glob(database.name + "-*")] == []


def test_summary_loads_no_statistics_library(rep_db: tuple[str, Engine]) -> None:
    """`summary` imports the scorecard (for its paced reps), which imported SciPy's statistics
    for the chance of a shortfall, which `summary` never asks: most of its start-up."""
    url, _ = rep_db
    loaded = modules_imported_by("-m", "paceline.cli", "--db", url, "summary")
    assert "paceline.analytics.scorecard" in loaded  # read real output
    assert {module.split(".")[0] for module in loaded} & {"scipy", "pandas", "plotly"} == set()


def test_the_root_group_lists_every_command_and_builds_only_the_one_that_runs(
    rep_db: tuple[str, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`paceline` runs `root_group(app)`, which makes a command's click parameters only when it
    runs: its --help is Typer's own for the whole app, a typo still gets a suggestion, and
    `log` builds `log` alone."""
    import typer.testing

    from paceline.cli import app, root_group

    def invoke(*args: str) -> typer.testing.Result:
        return typer.testing.CliRunner().invoke(
            app, list(args), prog_name="paceline", env={"COLUMNS": "120"}
        )

    built_by_typer = invoke("--help")
    lazy = root_group(app)
    monkeypatch.setattr(typer.testing, "_get_command", lambda _app: lazy)
    listed = invoke("--help")
    assert listed.exit_code == 0 and listed.output == built_by_typer.output
    assert "Log one activity in one line." in listed.output  # log's docstring
    assert "Load CSV files (generic or mapped)" in listed.output  # the import sub-app's help
    assert "log" not in lazy.commands and "import" not in lazy.commands  # listed, not built
    url, engine = rep_db
    logged = invoke("--db", url, "log", "call", "--rep", "Ana Ruiz", "--at", "2026-12-07")
    assert logged.exit_code == 0 and "logged call #" in logged.output, logged.output
    assert "log" in lazy.commands
    assert not {"import", "rep", "init", "summary", "scorecard"} & set(lazy.commands)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM activity")).scalar_one() == 1
    typo = invoke("lgo")
    assert typo.exit_code == 1 and "Did you mean 'log'?" in typo.output


# In a fresh interpreter: each command `paceline NAME` runs, built by `root_group` in a forked
# child that has imported paceline.cli alone (so NAME's command modules, by COMMAND_MODULES, and
# nothing else), then every command of the app with every `*_commands` module of the package
# imported, as `typer.main.get_command` builds them. Prints one JSON object.
COMMANDS_BUILT_LAZILY_AND_IN_FULL = """
import json, os, pkgutil, sys
import importlib, typer.main
from typer.core import TyperGroup
from typer import _click
import paceline.cli as cli

def shape(command):
    if command is None:
        return None
    if isinstance(command, TyperGroup):
        return {name: shape(sub) for name, sub in sorted(command.commands.items())}
    return sorted(param.name for param in command.params)

in_cli_module = list(cli.declared_commands(cli.app))
mapped = {name for names in cli.COMMAND_MODULES.values() for name in names}
names = sorted(mapped | set(in_cli_module))
lazy = {}
for name in names:
    read, write = os.pipe()
    sys.stdout.flush()
    child = os.fork()
    if child == 0:
        os.close(read)
        group = cli.root_group(cli.app)
        found = group.get_command(_click.Context(group), name)
        os.write(write, json.dumps(shape(found)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        lazy[name] = json.loads(pipe.read())
    os.waitpid(child, 0)
on_disk = sorted(m.name for m in pkgutil.iter_modules(cli.__path__) if m.name.endswith("_commands"))
for module in on_disk:
    importlib.import_module(f"paceline.cli.{module}")
full = typer.main.get_command(cli.app)
print(json.dumps({
    "in_cli_module": in_cli_module,
    "lazy": lazy,
    "full": {name: shape(command) for name, command in full.commands.items()},
    "on_disk": on_disk,
}))
"""


def test_command_modules_map_names_every_command_its_modules_declare() -> None:
    """`cli.COMMAND_MODULES` agrees with the command modules: each names the commands it
    declares or adds to, so that `paceline NAME` builds NAME with all its options and
    sub-commands from those modules alone, and every command module is in the map (a module
    left out would be missing from `paceline --help`)."""
    from paceline.cli import COMMAND_MODULES

    done = subprocess.run(
        [sys.executable, "-c", COMMANDS_BUILT_LAZILY_AND_IN_FULL],
        capture_output=True, text=True, env=_env(), timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout)
    assert sorted(COMMAND_MODULES) == found["on_disk"]
    assert found["in_cli_module"] == ["init", "demo", "summary", "log", "import", "rep"]
    assert set(found["lazy"]) == set(found["full"])  # every command is named somewhere
    for name, full in found["full"].items():
        assert found["lazy"][name] == full, name  # built whole from its modules alone
    assert found["full"]["import"]["salesforce"] and found["full"]["user"]["prefs"]  # read


@pytest.mark.slow  # three interpreters; the loop keeps the guards above on the same commands
def test_help_still_lists_an_installed_plugins_commands_and_log_does_not_load_it(
    rep_db: tuple[str, Engine], tmp_path: Path
) -> None:
    """Plugins' commands are added when the command list is needed, not on every start."""
    site = tmp_path / "site"
    (site / "startup_plugin-0.1.dist-info").mkdir(parents=True)
    (site / "startup_plugin.py").write_text(
        "import typer\n"
        "from paceline import hookimpl\n\n"
        "@hookimpl\n"
        "def register_commands(cli: typer.Typer) -> None:\n"
        "    @cli.command('hello-startup')\n"
        "    def hello() -> None:\n"
        "        print('hello from the plugin')\n",
        "utf-8",
    )
    info = site / "startup_plugin-0.1.dist-info"
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: startup-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[paceline]\nstartup = startup_plugin\n", "utf-8")
    env = _env()
    env["PYTHONPATH"] = os.pathsep.join([str(site), env["PYTHONPATH"]])
    env.pop("PACELINE_LOAD_PLUGINS", None)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "paceline.cli", *args],
            capture_output=True, text=True, env=env, timeout=120, check=False,
        )  # fmt: skip

    listed = run("--help")
    assert listed.returncode == 0 and "hello-startup" in listed.stdout, listed.stderr[-2000:]
    ran = run("hello-startup")
    assert ran.returncode == 0 and "hello from the plugin" in ran.stdout, ran.stderr[-2000:]
    url, _ = rep_db
    logged = run("--db", url, "log", "call", "--rep", "Ana Ruiz", "--at", "2026-12-07")
    assert logged.returncode == 0, logged.stderr[-2000:]
    assert "startup_plugin" not in logged.stderr and "paceline.plugins" not in logged.stderr


def test_head_read_from_the_migration_files_is_alembics_head(tmp_path: Path) -> None:
    """`is_up_to_date` skips Alembic by reading the files; it must name the same head."""
    engine = make_engine(f"sqlite:///{tmp_path / 'head.db'}")
    assert migrate.head_from_files() == migrate.head_revision(engine)
    assert not migrate.is_up_to_date(engine)  # empty: no alembic_version table
    upgrade(engine)
    assert migrate.is_up_to_date(engine)
    with engine.begin() as conn:  # a database one revision behind
        conn.execute(text("UPDATE alembic_version SET version_num = '0003'"))
    assert not migrate.is_up_to_date(engine)
