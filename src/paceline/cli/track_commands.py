"""CLI commands: track."""

from __future__ import annotations
