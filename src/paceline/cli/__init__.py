"""The `paceline` command line: a thin face over ingest and analytics.

Commands print Rich tables for people and, with --json, the same result objects as JSON for
scripts. Errors a user can fix (bad input, bad configuration, a database not set up) print
one clear message and exit with status 1; they never show a traceback.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import functools
import gc
import inspect
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar, cast

import typer
import typer.main
import typer.models
from typer.core import TyperCommand, TyperGroup

from paceline import __version__, clock, terminal
from paceline.cli.dates import (
    DAY_METAVAR,
    MOMENT_METAVAR,
    day_or_none,
    leading_date_problem,
    parse_day,
    parse_moment,
)
from paceline.collector import fewer_collections
from paceline.errors import Forbidden, NotFound, UserInputError, did_you_mean
from paceline.terminal import err as err  # re-exported: the command modules print here
from paceline.terminal import escape, line, new_table
from paceline.terminal import out as out

if TYPE_CHECKING:  # the libraries behind a command load when it runs, not on every start
    from sqlalchemy import Engine
    from typer import _click  # the Click that Typer bundles: the types of its groups

    from paceline.analytics.activity_summary import ActivitySummary
    from paceline.config import Settings
    from paceline.ingest.accounting import RejectedReason
    from paceline.ingest.entity_names import Entity
    from paceline.ingest.importer import ImportResult
    from paceline.store.loads import Completed

REP_ENV_VAR = "PACELINE_REP"  # whom `log` logs for without --rep


class RootGroup(TyperGroup):
    """The `paceline` command group. A usage error (an unknown option, a bad or missing option
    value) exits with status 1, like every other error a user can fix, as the README
    promises, instead of Click's 2; a script can still tell success (0) from failure.

    Made by `root_group(app)` (what `paceline` runs), a built-in command becomes a click
    command only when it is run: Typer reads each parameter's annotation and help for that,
    and doing so for all 57 commands on every start was about a tenth of `paceline log`.
    Listing the commands (`paceline --help`) shows each one's name and help from its
    declaration without building its parameters. (`typer.main.get_command(app)`, which the
    tests' runner uses, still builds every command up front; both give the same commands.)

    The command modules (`COMMAND_MODULES`) are imported the same way: running a command
    imports the modules that declare it, listing the commands imports them all, and `log`,
    declared here, imports none (they were 31 M instructions, 1.7% of `log`).

    Installed plugins' commands are added when first needed: to list the commands (`--help`)
    or to run a name that is not a built-in command. Running a built-in command (`log`) never
    loads the plugins for that, which would import every built-in import source and alert
    channel on each start; a plugin cannot replace a built-in command."""

    _plugin_commands_added = False
    _listing = False  # printing this group's help: a command's name and help are enough
    _deferred: Mapping[str, Deferred] = MappingProxyType({})  # built-ins, in declared order
    _typer_app: typer.Typer | None = None  # whose declarations _deferred holds

    def defer(self, typer_app: typer.Typer) -> None:
        self._typer_app = typer_app
        self._deferred = MappingProxyType(declared_commands(typer_app))

    def _load(self, name: str | None) -> None:
        """Import the command modules that declare `name` (None: all of them), and take in
        the commands and sub-apps they declared."""
        app = self._typer_app
        if app is None:
            return
        before = len(app.registered_commands) + len(app.registered_groups)
        load_commands(name)
        if len(app.registered_commands) + len(app.registered_groups) != before:
            self.defer(app)

    def _add_plugin_commands(self) -> None:
        if self._plugin_commands_added:
            return
        self._plugin_commands_added = True
        from paceline import plugins

        scratch = typer.Typer()
        plugins.add_commands(scratch)
        if scratch.registered_commands or scratch.registered_groups:
            for name, command in typer.main.get_group(scratch).commands.items():
                self.commands.setdefault(name, command)

    def _built_in(self, name: str) -> _click.Command | None:
        found = self.commands.get(name)
        if found is None:
            self._load(name)
        if found is None and name in self._deferred:
            if self._listing:
                return self._deferred[name].summary()
            found = self.commands[name] = self._deferred[name].build()
        return found

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        found = self._built_in(cmd_name)
        if found is None:  # a plugin's command, or a typo: Typer suggests from self.commands
            self._load(None)
            for name in self._deferred:
                self._built_in(name)
            self._add_plugin_commands()
            found = super().get_command(ctx, cmd_name)
        return found

    def list_commands(self, ctx: _click.Context) -> list[str]:
        self._load(None)
        self._add_plugin_commands()
        return [*self._deferred, *(name for name in self.commands if name not in self._deferred)]

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, **kwargs)
        except SystemExit as exc:
            if exc.code == 2:  # Click's UsageError and its kin (BadParameter, NoSuchOption...)
                raise SystemExit(1) from None
            raise


@dataclass(frozen=True)
class Deferred:
    """A built-in command (or sub-app) of the Typer app, made into its click command on
    demand: `build()` the real one (as Typer does), `summary()` one with the same name and
    help but no parameters, for a list of the commands."""

    info: typer.models.CommandInfo | typer.models.TyperInfo
    name: str
    typer_app: typer.Typer

    def build(self) -> _click.Command:
        app = self.typer_app
        if isinstance(self.info, typer.models.CommandInfo):
            return typer.main.get_command_from_info(
                self.info,
                pretty_exceptions_short=app.pretty_exceptions_short,
                rich_markup_mode=app.rich_markup_mode,
            )
        return typer.main.get_group_from_info(
            self.info,
            pretty_exceptions_short=app.pretty_exceptions_short,
            rich_markup_mode=app.rich_markup_mode,
            suggest_commands=app.suggest_commands,
        )

    def summary(self) -> _click.Command:
        info = self.info
        if isinstance(info, typer.models.CommandInfo):  # its help as get_command_from_info reads it
            doc = inspect.cleandoc(info.help) if info.help is not None else None
            doc = doc if doc is not None else inspect.getdoc(info.callback)
            cls: type[_click.Command] = TyperCommand
        else:
            info = typer.main.solve_typer_info_defaults(info)
            doc, cls = info.help, TyperGroup
        return cls(  # type: ignore[call-arg]  # Typer's classes take the rich_help_panel too
            name=self.name,
            help=doc,
            short_help=info.short_help,
            hidden=info.hidden,
            deprecated=info.deprecated,
            rich_help_panel=info.rich_help_panel,
        )


def root_group(typer_app: typer.Typer) -> RootGroup:
    """`typer_app` as its click group, with each built-in command built on first use."""
    shell = copy.copy(typer_app)  # the same options and help, without the commands
    shell.registered_commands = []
    shell.registered_groups = []
    group = typer.main.get_command(shell)
    assert isinstance(group, RootGroup)
    group.defer(typer_app)
    return group


def declared_commands(typer_app: typer.Typer) -> dict[str, Deferred]:
    """The commands and sub-apps declared on `typer_app` so far, by name, in declared order
    (commands, then sub-apps, as Typer lists them)."""
    deferred: dict[str, Deferred] = {}
    for info in typer_app.registered_commands:
        assert info.callback is not None
        name = info.name or typer.main.get_command_name(info.callback.__name__)
        deferred[name] = Deferred(info, name, typer_app)
    for group_info in typer_app.registered_groups:
        group_name = typer.main.solve_typer_info_defaults(group_info).name
        assert group_name, "every sub-app of paceline is added with a name"
        deferred[group_name] = Deferred(group_info, group_name, typer_app)
    return deferred


# The modules of `paceline.cli` that declare commands on `app` (or add them to a sub-app), in
# the order they are imported to list them all, with the names of the commands and sub-apps
# each declares or adds to. `paceline NAME` imports the modules naming NAME, and no other;
# tests/cli/test_cli_startup.py holds this map to what the modules declare.
COMMAND_MODULES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "alert_commands": ("alerts",),
        "audit_commands": ("audit",),
        "backup_commands": ("backup", "restore"),
        "diagnose_commands": ("diagnose",),
        "forecast_commands": ("forecast",),
        "funnel_commands": ("funnel",),
        "import_commands": ("import",),
        "pipeline_commands": ("stalled", "flow"),
        "plan_commands": ("plan", "target"),
        "plugin_commands": ("plugins",),
        "quality_commands": ("equation", "quality", "when"),
        "report_commands": ("report",),
        "salesforce_commands": ("import",),
        "schedule_commands": ("notify", "scheduler", "jobs", "user"),
        "sync_commands": ("sync",),
        "tipping_commands": ("tipping",),
        "track_commands": ("scorecard", "leaderboard"),
        "web_commands": ("serve", "user", "token", "kiosk"),
    }
)


def load_commands(name: str | None = None) -> None:
    """Import the command modules that declare or add to the command `name`, or with None
    all of them: what `app` must hold to list or build every command (the tests load them
    all; so does `paceline --help`)."""
    for module, names in COMMAND_MODULES.items():
        if name is None or name in names:  # the import statement's path, which `python -X
            __import__(f"{__name__}.{module}")  # importtime` reports (import_module's is not)


app = typer.Typer(
    cls=RootGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Paceline: are we doing enough of the right sales activities to hit the number?",
)
import_app = typer.Typer(
    no_args_is_help=True, help="Load CSV files (generic or mapped) or any import source's input."
)
rep_app = typer.Typer(no_args_is_help=True, help="Manage reps.")
app.add_typer(import_app, name="import")
app.add_typer(rep_app, name="rep")

F = TypeVar("F", bound=Callable[..., Any])
JSON_OPTION = typer.Option(False, "--json", "-j", help="Print the result as JSON.")


class NotReady(RuntimeError):
    """The database is missing or at an older schema."""


# The errors a user can fix, by the module that defines them. A module that was never
# imported cannot have raised its error, so recognising one costs no import at start-up.
USER_ERRORS: tuple[tuple[str, str], ...] = (
    ("paceline.config", "ConfigError"),
    ("paceline.ingest.csvfile", "ImportFileError"),
    ("paceline.ingest.mapping", "MappingError"),
    # Not the input's fault, but said in one line: the import stopped, import again.
    ("paceline.ingest.pipeline", "PipelineError"),
    ("paceline.store.engine", "DatabaseUrlError"),
)


def _loaded_class(module: str, name: str) -> type[BaseException] | None:
    """The class `module.name` if that module has been imported, else None."""
    loaded = sys.modules.get(module)
    found = getattr(loaded, name, None) if loaded is not None else None
    return found if isinstance(found, type) and issubclass(found, BaseException) else None


def is_user_error(exc: BaseException) -> bool:
    """Whether `exc` is one of the errors a user can fix (bad input, configuration, URL)."""
    if isinstance(exc, UserInputError | NotReady | NotFound | Forbidden):  # InputError too
        return True
    for module, name in USER_ERRORS:
        cls = _loaded_class(module, name)
        if cls is not None and isinstance(exc, cls):
            return True
    return False


@dataclass
class Context:
    """Global options, with settings and engine made on first use."""

    db: str | None = None
    config: Path | None = None
    _settings: Settings | None = None
    _engines: dict[str, Engine] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from paceline.config import load_settings

            self._settings = load_settings(self.config)
        return self._settings

    @property
    def url(self) -> str:
        from paceline.config import resolve_database_url

        return resolve_database_url(self.settings, self.db)

    def engine(self, migrate: bool = False, *, checked: bool = True) -> Engine:
        """The database's engine; unless `checked=False` (a restore into an empty database),
        one that is missing or behind is refused with what to run."""
        from paceline.store.engine import make_engine
        from paceline.store.maintenance import has_schema
        from paceline.store.migrate import is_up_to_date, upgrade

        if self.url not in self._engines:
            self._engines[self.url] = make_engine(self.url, **self.settings.database.pool())
        engine = self._engines[self.url]
        if not checked:
            return engine
        if migrate:
            upgrade(engine)
        elif is_up_to_date(engine):  # one cheap query; only a database behind asks why
            return engine
        elif not has_schema(engine):
            raise NotReady(f"no Paceline database at {_shown(self.url)}: run `paceline init`")
        else:
            raise NotReady(f"the database at {_shown(self.url)} needs `paceline init` to upgrade")
        return engine

    def close(self) -> None:
        """Close the engines' pooled connections (a SQLite file's last connection also folds
        its write-ahead log back in): `main` leaves nothing to the exit's collection."""
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()

    def reader(self) -> Engine:
        """The engine analyses read from: the read replica (`[database] read_url`,
        $PACELINE_READ_DB) when one is set, else the database; the aggregates' refresh
        still runs on the database (`store.engine.read_engine`)."""
        from paceline.store.engine import read_engine

        primary = self.engine()
        key = f"read:{self.url}"
        if key not in self._engines:
            self._engines[key] = read_engine(self.settings, primary)
        return self._engines[key]


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _ctx(ctx: typer.Context) -> Context:
    obj = ctx.find_root().obj
    assert isinstance(obj, Context)
    return obj


def handles_errors(fn: F) -> F:
    """Turn the errors a user can fix into one red line and exit status 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if is_user_error(exc):  # escaped: "[cli]" or a name in brackets is not markup
                err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
                raise typer.Exit(1) from None
            operational = _loaded_class("sqlalchemy.exc", "OperationalError")
            if operational is not None and isinstance(exc, operational):
                orig = getattr(exc, "orig", exc)
                err.print(f"[bold red]database error:[/] {orig}", highlight=False)
                raise typer.Exit(1) from None
            if isinstance(exc, OSError):  # a file that cannot be read or written: say which, why
                where = f"{exc.filename}: " if exc.filename else ""
                err.print(f"[bold red]error:[/] {where}{exc.strerror or exc}", highlight=False)
                raise typer.Exit(1) from None
            raise

    return cast(F, wrapper)


def _version(value: bool) -> None:
    if value:
        out.print(f"paceline {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    db: str | None = typer.Option(
        None,
        "--db",
        help="Database URL (sqlite:///file.db or postgresql://...); "
        "default: $PACELINE_DB, then paceline.toml.",
    ),
    config: Path | None = typer.Option(
        None,
        "--config",
        help="Configuration file; default: $PACELINE_CONFIG, then ./paceline.toml.",
    ),
    today: str | None = typer.Option(
        None,
        "--today",
        envvar=clock.ENV_VAR,
        help="Run as of this date (YYYY-MM-DD) or instant (ISO date and time): what 'today' "
        "and 'now' mean for every command, e.g. to look at the organisation as it stood then.",
    ),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True),
) -> None:
    try:
        # The setting holds for this command only: a process running several (a test's
        # CliRunner, a plugin's scripted calls) gets its own clock back when it ends.
        ctx.with_resource(clock.frozen(today) if today is not None else contextlib.nullcontext())
    except clock.ClockError as exc:
        problem = leading_date_problem(today or "")  # "2026-02-30: February 2026 has 28 days"
        said = f"{problem} (a day is YYYY-MM-DD)" if problem else str(exc)
        raise typer.BadParameter(said, param_hint="--today") from None
    ctx.obj = Context(db=db, config=config)
    ctx.call_on_close(ctx.obj.close)
    ctx.call_on_close(_warn_of_plugin_failures)


def _warn_of_plugin_failures() -> None:
    """A broken plugin is set aside, never fatal: say so when the command is done, if this run
    loaded the plugins (a command that needs none, such as `log`, does not load them)."""
    loaded = sys.modules.get("paceline.plugins")  # never imported: no plugin was loaded
    for failed in loaded.failures(load=False) if loaded is not None else []:
        err.print(
            f"[yellow]warning:[/] plugin {failed.plugin!r} set aside ({failed.stage}): "
            f"{escape(failed.error)}",
            highlight=False,
        )


# --- init -----------------------------------------------------------------------------------


@app.command()
@handles_errors
def init(
    ctx: typer.Context,
    force: bool = typer.Option(False, "--force", help="Overwrite an existing paceline.toml."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Write a commented paceline.toml with the defaults and create the database."""
    from paceline.config import CONFIG_FILE_NAME, default_config_text
    from paceline.serialize import dumps
    from paceline.store.loads import complete_interrupted_loads

    c = _ctx(ctx)
    target = c.config or Path(CONFIG_FILE_NAME)
    wrote = force or not target.exists()
    if wrote:
        text = default_config_text()
        if c.db:
            text = text.replace('url = "sqlite:///paceline.db"', f"url = {json.dumps(c.db)}", 1)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, "utf-8")
    c.config = target
    completed = complete_interrupted_loads(c.engine(migrate=True))
    if as_json:
        out.print_json(
            dumps(
                {
                    "config": target,
                    "config_written": wrote,
                    "database": _shown(c.url),
                    "indexes_built": completed.indexes,
                    "references_validated": completed.references,
                }
            )
        )
        return
    out.print(
        f"wrote {target}" if wrote else f"{target} exists; keeping it (use --force to overwrite)"
    )
    say_completed(completed)
    out.print(f"database ready at {_shown(c.url)}")


def complete_interrupted_load_at_start(engine: Engine, command: str) -> None:
    """Before a long-running process (`serve`, `scheduler`) starts its work: build the
    indexes and validate the references a killed bulk load left out, and say so. Without
    it the schema stays without them until the next import or `paceline init`: every answer
    right, but each read scanning the whole activity table. A load still running is left to
    build them itself (`store.loads`)."""
    from paceline.store.loads import complete_interrupted_loads

    say_completed(complete_interrupted_loads(engine), f"{command}: ")


def say_completed(completed: Completed, prefix: str = "") -> None:
    """What completing a killed load did, one line per kind of repair (none when whole)."""
    from paceline.describe import completed_lines

    for said in completed_lines(completed):
        out.print(f"{prefix}{said}")


# --- demo -----------------------------------------------------------------------------------


@app.command()
@handles_errors
def demo(
    ctx: typer.Context,
    seed: int = typer.Option(7, help="Random seed; the same seed builds the same organisation."),
    reps: int = typer.Option(30, min=12, max=2000, help="Number of reps."),
    months: int = typer.Option(15, min=3, max=60, help="Months of history up to today."),
    today: dt.datetime | None = typer.Option(
        None, parser=parse_day, metavar=DAY_METAVAR, help="Pretend today is this date."
    ),
    truth: Path | None = typer.Option(None, help="Where to write the planted ground truth (JSON)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Build a realistic demo organisation (replacing an earlier demo) and show this week."""
    from paceline.analytics.activity_summary import activity_summary
    from paceline.calendar import BusinessCalendar
    from paceline.demo import build_demo, create_demo_users
    from paceline.errors import InputError
    from paceline.serialize import dumps
    from paceline.store.maintenance import clear_all, data_sources, table_counts

    c = _ctx(ctx)
    engine = c.engine(migrate=True)
    counts = table_counts(engine)
    if counts["rep"] or counts["activity"]:
        foreign = data_sources(engine) - {"demo"}
        if foreign:
            raise InputError(
                "db",
                f"the database holds non-demo data (sources: {', '.join(sorted(foreign))}); "
                "point --db at another database for the demo",
            )
        clear_all(engine)
    truth_path = truth or _truth_path_for(c.url)
    day = today.date() if today else None
    # Built on the clock's day, the demo stops at the clock's now: no activity in the future.
    on_the_clock = day is None or day == BusinessCalendar(c.settings.calendar).today()
    now = clock.now() if on_the_clock else None
    with out.status("building the demo organisation..."):
        summary = build_demo(
            engine,
            c.settings,
            seed=seed,
            reps=reps,
            months=months,
            today=day,
            now=now,
            truth_path=truth_path,
        )
    from paceline.analytics.alerts import alerts
    from paceline.console_channel import print_alerts

    truth_data = json.loads(truth_path.read_text("utf-8")) if truth_path.is_file() else None
    logins = create_demo_users(engine, truth_data)
    week = activity_summary(engine, c.settings, "week", as_of=summary.last_day)
    report = alerts(engine, c.settings, summary.last_day)
    if as_json:
        out.print_json(dumps({"demo": summary, "week": week, "alerts": report, "logins": logins}))
        return
    out.print(
        f"[bold]Demo organisation[/] in {_shown(c.url)}: {summary.reps} reps in "
        f"{len(summary.teams)} teams ({', '.join(summary.teams)}), "
        f"{summary.first_day} .. {summary.last_day}"
    )
    out.print(
        f"{summary.activities:,} activities; {summary.deals:,} deals "
        f"({summary.deals_won:,} won, {summary.deals_lost:,} lost, {summary.deals_open:,} open)"
    )
    if summary.truth_path:
        out.print(f"planted ground truth: {summary.truth_path}")
    out.print(f"targets: {summary.targets:,} monthly targets (each rep's own recent run rate)")
    _print_activity_summary(week)
    print_alerts(report)
    out.print("\n[bold]Web logins[/] (after `paceline serve`):")
    for login in logins:
        out.print(f"  {login.username} / {login.password}  ({login.role}: {login.who})")
    import shlex

    db = f"--db {c.url} " if c.db else ""
    out.print(
        "\n[bold]Try:[/]\n"
        f"  paceline {db}scorecard --team East\n"
        f"  paceline {db}scorecard --rep {shlex.quote(report.reps[0] if report.reps else 'NAME')}"
        "\n"
        f"  paceline {db}leaderboard conversations --period week\n"
        f"  paceline {db}plan --revenue 70000000 --deal-size 35000 --from-history"
        " --rate meetings_set:meetings_held=0.8\n"
        f"  paceline {db}diagnose --team West\n"
        f"  paceline {db}tipping meetings_held\n"
        f"  paceline {db}forecast --period quarter"
    )


def _truth_path_for(url: str) -> Path:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        db_path = Path(parsed.database or "")
        return db_path.with_name(db_path.stem + ".truth.json")
    return Path("paceline-demo.truth.json")


# --- summary / reps -------------------------------------------------------------------------


@app.command()
@handles_errors
def summary(
    ctx: typer.Context,
    period: str = typer.Option("week", "--period", "-p", help="day, week, month, quarter or year."),
    as_of: dt.datetime | None = typer.Option(
        None, "--as-of", parser=parse_day, metavar=DAY_METAVAR
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Activities per rep in the period to date: selling vs non-selling, asks, time."""
    from paceline.analytics.activity_summary import activity_summary
    from paceline.calendar import PeriodKind
    from paceline.errors import InputError
    from paceline.serialize import dumps

    periods = ("day", "week", "month", "quarter", "year")
    if period not in periods:
        hint = did_you_mean(period, periods)
        raise InputError("--period", f"must be {', '.join(periods)}, not {period!r}{hint}")
    c = _ctx(ctx)
    kind = cast(PeriodKind, period)
    result = activity_summary(c.reader(), c.settings, kind, as_of.date() if as_of else None)
    if as_json:
        out.print_json(dumps(result))
    else:
        _print_activity_summary(result)


def _print_activity_summary(result: ActivitySummary) -> None:
    title = (
        f"{result.period.kind.capitalize()} {result.period.label} to {result.as_of} "
        f"(business day {result.business_days_elapsed} of {result.business_days_total})"
    )
    unknown = bool(result.asks_not_recorded)  # a column only when some Ask is not recorded
    table = new_table(title=title, title_justify="left")
    for name in ("rep", "team", "role"):
        table.add_column(name)
    counted = ("activities", "selling", "non-selling", *(["ask not recorded"] if unknown else []))
    for name in (*counted, "with ask", "engaged", "selling time"):
        table.add_column(name, justify="right")
    for r in result.reps:
        share = r.selling_share_of_time
        table.add_row(
            r.rep,
            r.team or "",
            r.role,
            f"{r.activities:,}",
            f"{r.selling:,}",
            f"{r.non_selling:,}",
            *([f"{r.ask_not_recorded:,}"] if unknown else []),
            f"{r.with_ask:,}",
            f"{r.engaged:,}",
            _selling_time(r.activities, share),
        )
    table.add_section()
    table.add_row(
        "all reps",
        "",
        "",
        f"{result.total_activities:,}",
        f"{result.total_selling:,}",
        f"{result.total_non_selling:,}",
        *([f"{result.total_ask_not_recorded:,}"] if unknown else []),
    )
    out.print(table)
    if not result.reps:
        out.print("no activities in this period yet")
    if unknown:
        out.print(
            f"ask not recorded: nobody records an Ask on {', '.join(result.asks_not_recorded)},"
            " so whether those were selling is not known (in neither selling nor non-selling,"
            " nor in the selling time)"
        )
    if result.without_duration:
        out.print(
            f"selling time: share of the minutes logged; {result.without_duration:,} activities"
            " have no duration (not recorded) and are in neither side"
        )


def _selling_time(activities: int, share: float | None) -> str:
    """The selling share of time, or "not recorded" when a rep's activities have no minute."""
    if share is not None:
        return f"{share:.0%}"
    return "not recorded" if activities else ""


@rep_app.command("list")
@handles_errors
def rep_list(
    ctx: typer.Context,
    team: str | None = typer.Option(None, "--team", "-t", help="Only this team."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List reps with their team, role and manager."""
    from paceline.analytics.roster import list_reps
    from paceline.serialize import dumps

    reps = list_reps(_ctx(ctx).engine(), team)
    if as_json:
        out.print_json(dumps(reps))
        return
    table = new_table("rep", "role", "team", "manager", "start date", "last day")
    for r in reps:
        table.add_row(
            r.name,
            r.role,
            r.team or "",
            r.manager or "",
            str(r.start_date or ""),
            str(r.end_date or ""),
        )
    out.print(table)


@rep_app.command("add")
@handles_errors
def rep_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help='Full name, e.g. "Ana Ruiz".'),
    role: str = typer.Option("ae", help="Role from the configuration (sdr, ae, field, ...)."),
    team: str | None = typer.Option(None, "--team", "-t", help="Team name (created if new)."),
    manager: str | None = typer.Option(None, help="Manager's name (an existing rep)."),
    start: dt.datetime | None = typer.Option(
        None, parser=parse_day, metavar=DAY_METAVAR, help="Start date."
    ),
    email: str | None = typer.Option(None),
    confirm_new_name: bool = typer.Option(
        False,
        "--confirm-new-name",
        help="Add the rep although the name looks like an existing rep's (refused as a "
        "likely typo otherwise).",
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Add a rep."""
    from paceline.serialize import dumps
    from paceline.services.reps import add_rep

    c = _ctx(ctx)
    rep_id = add_rep(
        c.engine(),
        c.settings,
        name,
        role,
        team,
        manager,
        start.date() if start else None,
        email,
        near_check=not confirm_new_name,
    )
    if as_json:
        out.print_json(dumps({"id": rep_id, "name": name, "role": role, "team": team}))
        return
    out.print(f"added rep {name} (id {rep_id})")


@rep_app.command("edit")
@handles_errors
def rep_edit(
    ctx: typer.Context,
    rep: str = typer.Argument(..., help="The rep's current name."),
    new_name: str | None = typer.Option(None, "--name", help="A new name."),
    role: str | None = typer.Option(None, help="A role from the configuration."),
    team: str | None = typer.Option(
        None, "--team", "-t", help="Move to this team (an existing one)."
    ),
    manager: str | None = typer.Option(None, help="Manager's name (an existing rep)."),
    start: dt.datetime | None = typer.Option(
        None, parser=parse_day, metavar=DAY_METAVAR, help="Start date."
    ),
    end: str | None = typer.Option(
        None,
        metavar=f"{DAY_METAVAR}|none",
        help="The rep's last day (they left); none clears it (they rejoined).",
    ),
    email: str | None = typer.Option(None),
    as_json: bool = JSON_OPTION,
) -> None:
    """Rename a rep, move them to another team, or change their role, manager, email, start
    date or last day; options left out keep their value."""
    from paceline.errors import InputError
    from paceline.serialize import dumps
    from paceline.services.reps import edit_rep

    c = _ctx(ctx)
    given = {
        "name": new_name,
        "role": role,
        "team": team,
        "manager": manager,
        "start_date": start.date() if start else None,
        "email": email,
    }
    changes: dict[str, Any] = {f: v for f, v in given.items() if v is not None}
    if end is not None:  # None here is "left out"; `--end none` clears the last day
        changes["end_date"] = day_or_none("--end", end)
    if not changes:
        raise InputError("rep edit", "nothing to change (give --name, --role, --team, ...)")
    found = edit_rep(c.engine(), c.settings, rep, changes)
    if as_json:
        out.print_json(dumps(found))
        return
    team_text = f", team {found.team}" if found.team else ""
    out.print(f"rep {found.name} (id {found.id}): {found.role}{team_text}")


# --- log ------------------------------------------------------------------------------------


# Its work is mostly the modules it imports (SQLAlchemy, the configuration, the tables), whose
# objects live until the process ends: the collector scanned them at every 700 allocations
# (`fewer_collections`: 30 M instructions, 1.8% of `log`).
@app.command()
@handles_errors
@fewer_collections()
def log(
    ctx: typer.Context,
    kind: str = typer.Argument(..., help="Activity kind, e.g. call, meeting, email, proposal."),
    rep: str | None = typer.Option(
        None,
        "--rep",
        "-r",
        envvar=REP_ENV_VAR,
        show_envvar=True,
        help="Who did it (default: $PACELINE_REP, then [cli] default_rep in paceline.toml).",
    ),
    account: str | None = typer.Option(None, help="Account (created if new)."),
    ask: bool = typer.Option(False, "--ask", help="The rep put an Ask in front of the prospect."),
    outcome: str | None = typer.Option(
        None, "--outcome", "-o", help="Outcome, e.g. meeting_set, conversation."
    ),
    at: dt.datetime | None = typer.Option(
        None,
        parser=parse_moment,
        metavar=MOMENT_METAVAR,
        help="When (local business time); default now.",
    ),
    minutes: float | None = typer.Option(None, min=0, help="Duration in minutes."),
    contact: str | None = typer.Option(None, help="Contact person (created if new)."),
    notes: str | None = typer.Option(None),
    engaged: bool | None = typer.Option(
        None, "--engaged/--not-engaged", help="Client acted at our request (default: from outcome)."
    ),
    as_json: bool = JSON_OPTION,
) -> None:
    """Log one activity in one line."""
    from paceline.serialize import dumps
    from paceline.services.activities import Entry, log_activity

    c = _ctx(ctx)
    who = rep or c.settings.cli.default_rep
    if not who:
        raise UserInputError(
            "--rep: whose activity is it? Give --rep NAME, or set $PACELINE_REP or "
            "default_rep under [cli] in paceline.toml"
        )
    logged = log_activity(
        c.engine(),
        c.settings,
        Entry(
            rep=who,
            kind=kind,
            occurred_at=at,
            account=account,
            contact=contact,
            outcome=outcome,
            has_ask=ask,
            engaged=engaged,
            duration_min=minutes,
            notes=notes,
        ),
    )
    if as_json:
        out.print_json(dumps(logged))
        return
    selling = "selling" if logged.selling else "non-selling"
    line(  # plain text, without Rich: a name is data, not markup nor an :emoji: code, and
        # importing Rich's console was 5% of log (benchmarks/README.md, cli_startup)
        f"logged {logged.kind} #{logged.id} for {logged.rep} on {logged.local_date} "
        f"({selling}{', ' + logged.outcome if logged.outcome else ''})"
    )


# --- import ---------------------------------------------------------------------------------


def _import_command(entity: Entity) -> Callable[..., None]:
    @handles_errors
    def command(
        ctx: typer.Context,
        file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
        mapping: str | None = typer.Option(
            None,
            "--mapping",
            help="Mapping file (TOML), or a shipped mapping by name, e.g. salesforce:Task or "
            "hubspot:deals.",
        ),
        source: str | None = typer.Option(
            None, help="Source system name; with the row id it makes re-import safe."
        ),
        reader_name: str | None = typer.Option(
            None,
            "--from",
            help="The import source that reads FILE: csv, xlsx, salesforce, sfdx-tree, "
            "hubspot-json, pipedrive-json, close-json, or one a plugin adds (default: the "
            "mapping's reader, else by the file's extension: .xlsx/.xls/.ods -> xlsx, else csv).",
        ),
        pipelines: Path | None = typer.Option(
            None,
            exists=True,
            dir_okay=False,
            help="The CRM's pipeline definition (HubSpot deal pipelines, Pipedrive stages): "
            "names each stage and says which are won or lost.",
        ),
        owners: Path | None = typer.Option(
            None,
            exists=True,
            dir_okay=False,
            help="The CRM's owners or users list: names the owner ids of FILE.",
        ),
        sheet: str | None = typer.Option(
            None, help="A spreadsheet's sheet, by name or 1-based number (default: the first)."
        ),
        timezone: str | None = typer.Option(None, help="Zone of timestamps without an offset."),
        delimiter: str | None = typer.Option(None, help="Field delimiter (default ',')."),
        encoding: str | None = typer.Option(None, help="File encoding (default UTF-8)."),
        no_new_reps: bool = typer.Option(
            False, "--no-new-reps", help="Reject rows naming an unknown rep instead of creating it."
        ),
        allow_new_rep: list[str] = typer.Option(
            [],
            "--allow-new-rep",
            metavar="NAME",
            help="Create this new rep although the name looks like an existing rep's (a name "
            "one or two letters or an accent away is refused as a typo otherwise); repeatable.",
        ),
        errors: Path | None = typer.Option(None, help="Where to write rejected rows (CSV)."),
        batch_size: int = typer.Option(10_000, min=1, max=1_000_000),
        max_rejected: str | None = typer.Option(
            None,
            "--max-rejected",
            help="Fail (exit 1) when more rows than this are rejected: N rows or P% of the "
            "rows read. An import that rejects every row always fails.",
        ),
        owner: str | None = typer.Option(
            None,
            "--owner",
            metavar="REP",
            help="Salesforce: credit every row of a file that has no OwnerId column to this "
            "rep (an OwnerId the file has is always used).",
        ),
        unlinked_events: bool = typer.Option(
            False,
            "--unlinked-events",
            help="Salesforce: keep events linked to no contact, lead, account or deal as "
            "meetings (skipped by default: a dinner or an internal meeting is not selling).",
        ),
        as_json: bool = JSON_OPTION,
    ) -> None:
        from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

        from paceline import plugins
        from paceline.ingest.accounting import RejectLimit
        from paceline.ingest.crm.shipped import resolve_mapping
        from paceline.ingest.importer import ImportOptions, import_file
        from paceline.serialize import dumps

        c = _ctx(ctx)
        loaded = resolve_mapping(mapping) if mapping else None
        reader = plugins.import_source_for(file, reader_name or (loaded and loaded.reader) or None)
        try:
            limit = RejectLimit.parse(max_rejected) if max_rejected is not None else None
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--max-rejected") from None
        if owner is not None and not owner.strip():
            raise typer.BadParameter("a rep's name, not an empty text", param_hint="--owner")
        options = ImportOptions(
            source=source,
            timezone=timezone,
            delimiter=delimiter,
            encoding=encoding,
            allow_new_reps=not no_new_reps,
            confirmed_new_reps=frozenset(allow_new_rep),
            errors_path=errors,
            batch_size=batch_size,
            max_rejected=limit,
            pipelines=pipelines,
            owners=owners,
            sheet=sheet,
            owner=owner or "",
            unlinked_events=unlinked_events,
        )
        engine = c.engine()

        def say_owner(opened: ImportResult) -> None:  # before the first row is written
            line = _owner_line(opened)
            if line and not as_json:
                err.print(line, highlight=False, markup=False)

        if as_json:
            result = import_file(
                engine, c.settings, file, entity, loaded, options, None, reader, on_open=say_owner
            )
            out.print_json(dumps(result))
            _fail_if_failed(result)
            return
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=terminal.console(err),
            transient=True,
        ) as bar:
            task = bar.add_task(f"importing {file.name}", total=file.stat().st_size)
            result = import_file(
                engine,
                c.settings,
                file,
                entity,
                loaded,
                options,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
                reader=reader,
                on_open=say_owner,
            )
        _print_import_result(result)
        _fail_if_failed(result)

    command.__doc__ = (
        f"Import {entity} from a CSV file (generic columns or --mapping) or another source."
    )
    return command


from paceline.ingest.entity_names import ENTITIES  # noqa: E402  (the import commands, one each)

for _entity in ENTITIES:
    import_app.command(_entity)(_import_command(_entity))


@import_app.command("folder")
@handles_errors
def import_folder(
    ctx: typer.Context,
    folder: Path = typer.Argument(..., exists=True, file_okay=False),
    crm: str = typer.Option(..., help="Whose export the folder is: hubspot, pipedrive or close."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Import a CRM's export folder (its JSON files by their usual names) with the shipped
    mappings, in the order that lets links resolve: reps, accounts, deals, activities."""
    from paceline import plugins
    from paceline.ingest.crm.shipped import folder_steps, resolve_mapping
    from paceline.ingest.importer import ImportOptions, import_file
    from paceline.serialize import dumps

    c = _ctx(ctx)
    engine = c.engine()
    results = []
    for step, path in folder_steps(crm, folder):
        loaded = resolve_mapping(step.mapping)
        companions = {
            name: folder / file
            for name, file in (("pipelines", step.pipelines), ("owners", step.owners))
            if file and (folder / file).is_file()
        }
        options = ImportOptions(
            pipelines=companions.get("pipelines"), owners=companions.get("owners")
        )
        reader = plugins.import_source(loaded.reader or "csv")
        result = import_file(engine, c.settings, path, step.entity, loaded, options, None, reader)
        results.append(result)
        if not as_json:
            _print_import_result(result)
    if as_json:
        out.print_json(dumps(results))
    failed = [r for r in results if r.failure is not None]
    for result in failed:
        err.print(f"[bold red]{result.file}: import failed:[/] {result.failure}", highlight=False)
    if failed:
        raise typer.Exit(1)


@import_app.command("stages")
@handles_errors
def import_stages(
    ctx: typer.Context,
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    reader_name: str = typer.Option(
        ...,
        "--from",
        help="The import source whose pipeline definition FILE is, e.g. hubspot-json.",
    ),
) -> None:
    """Print the [[stages]] entries a CRM's pipeline definition needs, to paste into the
    configuration (stages it already has are left out); writes nothing."""
    from paceline import plugins
    from paceline.ingest.crm.jsonrows import stages_toml

    source = plugins.import_source(reader_name)
    if source.stages is None:
        readers = sorted(n for n, s in plugins.import_sources().items() if s.stages)
        raise typer.BadParameter(
            f"the import source {reader_name!r} reads no pipeline definition; "
            f"these do: {', '.join(readers)}",
            param_hint="--from",
        )
    stages = source.stages(file)
    configured = [s.name for s in _ctx(ctx).settings.stages]
    text = stages_toml(stages, configured)
    if not text:
        err.print(f"every stage of {file.name} is already configured", highlight=False)
        return
    out.print(text, highlight=False, markup=False, end="")


def _fail_if_failed(result: ImportResult) -> None:
    """Exit 1 with the reason the import recorded (every row rejected, or too many)."""
    if result.failure is not None:
        err.print(f"[bold red]import failed:[/] {result.failure}", highlight=False)
        raise typer.Exit(1)


def rejected_line(rejected: RejectedReason, rows_are: str = "row(s)") -> str:
    """'40 row(s): no rep: ... (e.g. team.ics, event ...; ...)': rows rejected for one
    reason, and where the first were when the reason does not say."""
    field_name, reason, rows, examples = rejected
    text = f"{rows:,} {rows_are}: {field_name + ': ' if field_name else ''}{reason}"
    return text + (f" (e.g. {'; '.join(examples)})" if examples else "")


def _owner_line(r: ImportResult) -> str:
    """Whom `--owner` credited, or that it was not used and why ("" when not given)."""
    name = Path(r.file).name
    if r.owner:
        return f"{name}: no OwnerId column: every row credited to {r.owner!r} (--owner)"
    if r.owner_ignored is not None:
        ignored = r.owner_ignored
        return f"--owner {ignored.rep!r} not used: {ignored.reason} ({name})"
    return ""


def note_line(note: str, count: int) -> str:
    """A counted note of an import; a warning (a note starting "warning: ") says so first,
    with its rows, as it asks the user to look."""
    if note.startswith("warning: "):
        return f"warning: {note.removeprefix('warning: ')}: {count:,} rows"
    return f"note: {note}: {count:,}"


def print_title(title: str) -> None:
    """An import summary's title, on a line of its own above its table, never wrapped: as a
    table's title Rich wrapped it to the table's width, and folded a long path at any
    character, so a user saw ".../google.i" and "cs" on two lines (a path to copy, cut)."""
    out.print(title, highlight=False, markup=False, soft_wrap=True)


def _print_import_result(r: ImportResult, owner_line: bool = True) -> None:
    """The summary of one file's import; `owner_line=False` leaves out whom `--owner`
    credited when the caller says it once for several files (a folder)."""
    print_title(f"{r.file} -> {r.entity} (read as {r.reader}, source {r.source!r})")
    table = new_table()
    names = ("read", "inserted", "updated", "unchanged", "duplicate", "skipped", "rejected")
    for name in names:
        table.add_column(name, justify="right")
    table.add_row(*(f"{getattr(r, n):,}" for n in names))
    out.print(table)
    out.print(f"{r.read:,} rows in {r.seconds:.2f} s ({r.rows_per_second:,.0f} rows/s)")
    if r.new_reps:
        shown = ", ".join(r.new_reps[:10]) + (" ..." if len(r.new_reps) > 10 else "")
        out.print(f"new reps created: {len(r.new_reps)} ({shown})")
    for name, existing in r.near_duplicates.items():
        out.print(
            f"[bold yellow]refused:[/] new rep {name!r} looks like the existing rep"
            f" {existing!r}; if it is someone else, import again with --allow-new-rep {name!r}",
            highlight=False,
        )
    if r.new_accounts or r.new_contacts:
        out.print(f"new accounts: {r.new_accounts:,}; new contacts: {r.new_contacts:,}")
    said = _owner_line(r) if owner_line else ""
    if said:
        out.print(said, highlight=False, markup=False)
    for note, count in r.notes.items():
        out.print(note_line(note, count), highlight=False, markup=False)
    for warning in r.warnings:
        out.print(f"[bold yellow]warning:[/] {warning}", highlight=False)
    if r.errors_file:
        out.print(f"[yellow]{r.rejected:,} rows rejected[/]; every one is in {r.errors_file}")
        for rejected in r.rejected_by_reason[:10]:
            out.print(
                f"  {rejected_line(rejected)}",
                highlight=False,
                markup=False,  # reasons quote "[[stages]]", which Rich would eat as a tag
            )
        for line, field_name, reason in r.first_errors[:5]:
            out.print(
                f"  line {line}: {field_name + ': ' if field_name else ''}{reason}",
                highlight=False,
                markup=False,
            )


def main() -> None:
    """`paceline`. When the command is done, what is still alive is moved out of the garbage
    collector's reach (`gc.freeze`): the interpreter's exit would otherwise run one last full
    collection to free, cycle by cycle, every module, class and function the command loaded,
    memory the process hands back whole a moment later (6% of `paceline log`'s instructions,
    a fifth of its CPU time: benchmarks/README.md, cli_startup). Nothing waits for it: the
    commands close the files they open in with-blocks, and the database connections are
    closed with the context (`Context.close`)."""
    try:
        root_group(app)()
    finally:
        gc.freeze()


if __name__ == "__main__":
    main()
