"""The plugin manager: built-in plugins first, then those installed as `paceline` entry points.

Faces ask this module for what plugins provide (import sources, alert channels, commands,
routes) by name, so a face never lists the built-ins itself. Setting PACELINE_LOAD_PLUGINS
to a comma-separated list of entry-point names loads only those (empty: none), for a
deployment that wants to pin what runs, or to rule out a misbehaving plugin.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import pluggy

from paceline import hookspecs
from paceline.errors import UserInputError

if TYPE_CHECKING:
    import typer

    from paceline.channels import AlertChannel
    from paceline.ingest.sources import ImportSource

# Built-in features registered through the same hooks a plugin uses.
DEFAULT_PLUGINS = (
    "paceline.ingest.csv_source",
    "paceline.ingest.xlsx_source",
    "paceline.console_channel",
)
LOAD_ENV_VAR = "PACELINE_LOAD_PLUGINS"


class _Named(Protocol):
    @property
    def name(self) -> str: ...


N = TypeVar("N", bound=_Named)


def make_plugin_manager() -> pluggy.PluginManager:
    """A manager with the built-ins and the installed plugins (as the environment allows)."""
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    for name in DEFAULT_PLUGINS:
        manager.register(importlib.import_module(name), name=name)
    wanted = os.environ.get(LOAD_ENV_VAR)
    if wanted is None:
        manager.load_setuptools_entrypoints(hookspecs.PROJECT)
    else:
        for name in filter(None, (n.strip() for n in wanted.split(","))):
            manager.load_setuptools_entrypoints(hookspecs.PROJECT, name=name)
    return manager


_manager: pluggy.PluginManager | None = None


def manager() -> pluggy.PluginManager:
    """The process's plugin manager, made on first use (tests may `use()` another)."""
    global _manager
    if _manager is None:
        _manager = make_plugin_manager()
    return _manager


def use(plugin_manager: pluggy.PluginManager | None) -> None:
    """Make `plugin_manager` the process's manager (None: make a fresh one on next use)."""
    global _manager
    _manager = plugin_manager


def import_sources() -> dict[str, ImportSource]:
    """Every import source by name; a plugin cannot silently replace another's name."""
    return _by_name("import source", manager().hook.register_import_sources())


def alert_channels() -> dict[str, AlertChannel]:
    """Every alert channel by name; a plugin cannot silently replace another's name."""
    return _by_name("alert channel", manager().hook.register_alert_channels())


def import_source(name: str) -> ImportSource:
    """The import source called `name`, or an error listing the known ones."""
    return _named("import source", "--from", name, import_sources())


def import_source_for(path: Path, name: str | None = None) -> ImportSource:
    """The import source `name`, or without one the source that reads files ending like
    `path` (a spreadsheet for .xlsx), or CSV for any other file."""
    if name is not None:
        return import_source(name)
    sources = import_sources()
    suffix = path.suffix.lower()
    if suffix == ".ics":
        raise UserInputError(
            f"{path.name} is a calendar file: import its meetings with "
            f"`paceline import calendar {path.name}`"
        )
    for source in sources.values():
        if suffix and suffix in source.extensions:
            return source
    return import_source("csv")


def alert_channel(name: str) -> AlertChannel:
    """The alert channel called `name`, or an error listing the known ones."""
    return _named("alert channel", "--channel", name, alert_channels())


def add_commands(cli: typer.Typer) -> None:
    """Let every plugin add its commands to the command line."""
    manager().hook.register_commands(cli=cli)


def routers() -> list[Any]:
    """Every FastAPI router the plugins provide, in registration order."""
    return [router for found in manager().hook.register_routes() for router in found or []]


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
    packages = {
        id(plugin): (dist.project_name, dist.version)
        for plugin, dist in plugin_manager.list_plugin_distinfo()
    }
    found = []
    for name, plugin in plugin_manager.list_name_plugin():
        hooks = sorted(caller.name for caller in plugin_manager.get_hookcallers(plugin) or [])
        package, version = packages.get(id(plugin), (None, None))
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
    return sorted(item.name for item in getattr(plugin, hook)() or [])


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
