"""Paceline: sales activity management from your own data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from paceline.hookspecs import hookimpl

__all__ = ["__version__", "hookimpl"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """`paceline.hookimpl`, the marker plugins import, loaded (with pluggy) on first use: a
    command that needs no plugin does not pay for it."""
    if name == "hookimpl":
        from paceline.hookspecs import hookimpl

        return hookimpl
    raise AttributeError(f"module 'paceline' has no attribute {name!r}")
