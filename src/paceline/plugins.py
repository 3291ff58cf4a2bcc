"""The plugin manager: built-in plugins first, then those installed as `paceline` entry points.

Faces ask this module for what plugins provide (import sources, alert channels, commands,
routes) by name, so a face never lists the built-ins itself. Setting PACELINE_LOAD_PLUGINS
to a comma-separated list of entry-point names loads only those (empty: none), for a
deployment that wants to pin what runs, or to rule out a misbehaving plugin.

A plugin that fails (its module does not import, or one of its hooks raises) is set aside
and reported (`failures()`, `paceline plugins`, a warning from the CLI), never allowed to take
every command down with it: a broken Slack channel must not stop `paceline import`.
"""

from __future__ import annotations

import importlib
import os
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import pluggy

from paceline import hookspecs
from paceline.errors import UserInputError

if TYPE_CHECKING:
    import importlib.metadata

    import typer

    from paceline.channels import AlertChannel
    from paceline.ingest.sources import ImportSource
    from paceline.ingest.sync import Connector

# Built-in features registered through the same hooks a plugin uses.
DEFAULT_PLUGINS = (
    "paceline.ingest.csv_source",
    "paceline.ingest.crm.salesforce",
    "paceline.ingest.crm.hubspot",
    "paceline.ingest.crm.pipedrive",
    "paceline.ingest.crm.close",
    "paceline.ingest.xlsx_source",
    "paceline.ingest.calendar_ics",
    "paceline.console_channel",
    "paceline.channels.email",
    "paceline.channels.webhooks",
)
LOAD_ENV_VAR = "PACELINE_LOAD_PLUGINS"
# The hooks the built-in plugins implement (tests/test_plugins.py holds this to their modules).
# None adds commands or routes, so asking for those before anything else needed the plugins
# (listing the commands: `paceline --help`) loads the installed plugins alone, not the
# built-in import sources and channels (a tenth of `--help`); see `_manager_for`.
BUILT_IN_HOOKS = frozenset({"register_import_sources", "register_alert_channels"})


class _Named(Protocol):
    @property
    def name(self) -> str: ...


N = TypeVar("N", bound=_Named)


@dataclass(frozen=True)
class PluginFailure:
    """A plugin set aside: which, when (`load` or the hook that raised) and why."""

    plugin: str
    stage: str
    error: str


@dataclass
class _Record:
    """What a manager's loading learnt: failures, and where entry-point plugins came from."""

    failures: dict[tuple[str, str], PluginFailure] = field(default_factory=dict)
    packages: dict[str, tuple[str, str]] = field(default_factory=dict)


# Kept per manager, so a manager a test swaps in never leaves its failures to the next one.
_records: weakref.WeakKeyDictionary[pluggy.PluginManager, _Record] = weakref.WeakKeyDictionary()


def _record(plugin_manager: pluggy.PluginManager) -> _Record:
    return _records.setdefault(plugin_manager, _Record())


def make_plugin_manager(built_ins: bool = True) -> pluggy.PluginManager:
    """A manager with the built-ins and the installed plugins (as the environment allows);
    with `built_ins=False`, the installed plugins only."""
    import importlib.metadata  # reading the installed packages' entry points costs a little

    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    for name in DEFAULT_PLUGINS if built_ins else ():
        manager.register(importlib.import_module(name), name=name)
    wanted = os.environ.get(LOAD_ENV_VAR)
    only = None if wanted is None else {n.strip() for n in wanted.split(",") if n.strip()}
    for entry in importlib.metadata.entry_points(group=hookspecs.PROJECT):
        if (only is None or entry.name in only) and manager.get_plugin(entry.name) is None:
            _load(manager, entry)
    return manager


def _load(manager: pluggy.PluginManager, entry: importlib.metadata.EntryPoint) -> None:
    try:
        manager.register(entry.load(), name=entry.name)
    except Exception as exc:  # any error of someone else's code: set the plugin aside
        _fail(manager, entry.name, "load", exc)
        return
    if entry.dist is not None:
        _record(manager).packages[entry.name] = (entry.dist.name, entry.dist.version)


def _fail(plugin_manager: pluggy.PluginManager, plugin: str, stage: str, exc: Exception) -> None:
    failure = PluginFailure(plugin, stage, f"{type(exc).__name__}: {exc}")
    _record(plugin_manager).failures[plugin, stage] = failure


def failures(load: bool = True) -> list[PluginFailure]:
    """The plugins set aside so far by this process's manager (loading happens on first use;
    with `load=False`, a process that has not needed its plugins has none set aside)."""
    found = {} if _installed_only is None else dict(_record(_installed_only).failures)
    if load or _manager is not None:
        found.update(_record(manager()).failures)
    return list(found.values())


def _results(hook: str, **kwargs: Any) -> Iterator[Any]:
    """Each plugin's answer to `hook`, one plugin at a time: one that raises is reported
    and skipped, the others still answer (pluggy alone would stop at the first error)."""
    plugin_manager = _manager_for(hook)
    caller = getattr(plugin_manager.hook, hook)
    for impl in reversed(caller.get_hookimpls()):  # the order pluggy calls them in
        try:
            yield impl.function(**{name: kwargs[name] for name in impl.argnames})
        except Exception as exc:  # any error of someone else's code: skip this plugin
            _fail(plugin_manager, impl.plugin_name, hook, exc)


_manager: pluggy.PluginManager | None = None
_installed_only: pluggy.PluginManager | None = None  # see _manager_for


def manager() -> pluggy.PluginManager:
    """The process's plugin manager, made on first use (tests may `use()` another)."""
    global _manager
    if _manager is None:
        _manager = make_plugin_manager()
    return _manager


def _manager_for(hook: str) -> pluggy.PluginManager:
    """The manager to ask `hook`: the process's; or, while it is not made yet, for a hook no
    built-in implements, one with the installed plugins alone (made once). The built-ins
    then load with the process's manager when a command first needs them; an installed
    plugin is registered with both, its answers to each hook given once, by one of them."""
    global _installed_only
    if _manager is not None or hook in BUILT_IN_HOOKS:
        return manager()
    if _installed_only is None:
        _installed_only = make_plugin_manager(built_ins=False)
    return _installed_only


def use(plugin_manager: pluggy.PluginManager | None) -> None:
    """Make `plugin_manager` the process's manager (None: make a fresh one on next use)."""
    global _manager, _installed_only
    _manager = plugin_manager
    _installed_only = None


def import_sources() -> dict[str, ImportSource]:
    """Every import source by name; a plugin cannot silently replace another's name."""
    return _by_name("import source", list(_results("register_import_sources")))


def alert_channels() -> dict[str, AlertChannel]:
    """Every alert channel by name; a plugin cannot silently replace another's name."""
    return _by_name("alert channel", list(_results("register_alert_channels")))


def import_source(name: str) -> ImportSource:
    """The import source called `name`, or an error listing the known ones."""
    return _named("import source", "--from", name, import_sources())


def import_source_for(path: Path, name: str | None = None) -> ImportSource:
    """The import source `name`, or without one the source that reads files ending like
    `path` (a spreadsheet for .xlsx, a calendar for .ics; for .json, the CRM source that
    recognises the file's content), or CSV for any other file (which then says which
    columns it lacks)."""
    if name is not None:
        return import_source(name)
    sources = import_sources()
    suffix = path.suffix.lower()
    claiming = [s for s in sources.values() if suffix and suffix in s.extensions]
    for source in claiming:  # several sources read .json: each says whether it is its file
        if source.sniff is None or source.sniff(path):
            return source
    return import_source("csv")


def sync_connectors() -> dict[str, Connector]:
    """Every live CRM connector by name (`paceline sync NAME`): those the import sources
    declare, so a plugin's source brings its connector along."""
    found: dict[str, Connector] = {}
    for source in import_sources().values():
        if source.sync is not None:
            if source.sync.name in found:
                raise UserInputError(f"two plugins provide the sync connector {source.sync.name!r}")
            found[source.sync.name] = source.sync
    return found


def sync_connector(name: str) -> Connector:
    """The connector called `name`, or an error listing the known ones."""
    return _named("sync connector", "SOURCE", name, sync_connectors())


def alert_channel(name: str) -> AlertChannel:
    """The alert channel called `name`, or an error listing the known ones."""
    return _named("alert channel", "--channel", name, alert_channels())


def add_commands(cli: typer.Typer) -> None:
    """Let every plugin add its commands to the command line."""
    for _ in _results("register_commands", cli=cli):
        pass


def routers() -> list[Any]:
    """Every FastAPI router the plugins provide, in registration order."""
    return [router for found in _results("register_routes") for router in found or []]


@dataclass(frozen=True)
class PluginInfo:
    """One registered plugin, for `paceline plugins`: what it adds and where it came from."""

    name: str
    package: str | None  # the distribution an entry-point plugin came from; None: built in
    version: str | None
    hooks: list[str]
    import_sources: list[str]
    alert_channels: list[str]


def installed() -> list[PluginInfo]:
    """Every registered plugin, the built-ins first, with the names it provides."""
    plugin_manager = manager()
    found = []
    for name, plugin in plugin_manager.list_name_plugin():
        hooks = sorted(caller.name for caller in plugin_manager.get_hookcallers(plugin) or [])
        package, version = _record(plugin_manager).packages.get(name, (None, None))
        found.append(
            PluginInfo(
                name=name,
                package=package,
                version=version,
                hooks=hooks,
                import_sources=_provided(plugin, hooks, "register_import_sources"),
                alert_channels=_provided(plugin, hooks, "register_alert_channels"),
            )
        )
    return found


def _provided(plugin: object, hooks: list[str], hook: str) -> list[str]:
    if hook not in hooks:
        return []
    try:
        return sorted(item.name for item in getattr(plugin, hook)() or [])
    except Exception:  # reported by `failures()` when the faces asked it
        return []


def _by_name(what: str, results: list[list[N] | None]) -> dict[str, N]:
    found: dict[str, N] = {}
    for item in (item for listed in results for item in listed or []):
        if item.name in found:
            raise UserInputError(f"two plugins provide the {what} {item.name!r}")
        found[item.name] = item
    return found


def _named(what: str, option: str, name: str, known: dict[str, N]) -> N:
    if name not in known:
        raise UserInputError(
            f"{option}: no {what} called {name!r}; known: {', '.join(sorted(known)) or 'none'}"
        )
    return known[name]
