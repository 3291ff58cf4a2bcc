"""Paceline: sales activity management from your own data."""

from paceline.hookspecs import hookimpl

__all__ = ["__version__", "hookimpl"]
__version__ = "0.1.0"
