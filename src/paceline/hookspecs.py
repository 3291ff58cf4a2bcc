"""The extension seams: what a plugin may add to Paceline.

A plugin is a module with functions marked `@hookimpl` named like the specifications below;
a package exposes it under the `paceline` entry-point group. The built-in CSV import and the
console alert output are plugins of exactly this kind (see `paceline.plugins.DEFAULT_PLUGINS`),
so a CRM connector or a Slack channel is an addition, never a special case in the core.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import typer

    from paceline.channels import AlertChannel
    from paceline.ingest.sources import ImportSource

PROJECT = "paceline"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_import_sources() -> list[ImportSource]:  # type: ignore[empty-body]
    """Import sources this plugin provides: each reads one file layout (or API export) into
    named columns, which the import then maps, checks and writes like any CSV."""


@hookspec
def register_alert_channels() -> list[AlertChannel]:  # type: ignore[empty-body]
    """Alert channels this plugin provides: each delivers an alert report somewhere
    (the terminal, a file, e-mail, a chat)."""


@hookspec
def register_commands(cli: typer.Typer) -> None:
    """Add commands to the `paceline` command line (`cli` is its Typer app)."""


@hookspec
def register_routes() -> list[Any]:  # type: ignore[empty-body]
    """FastAPI routers to mount in the web application, at the paths they declare."""
