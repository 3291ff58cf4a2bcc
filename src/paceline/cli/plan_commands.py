"""CLI commands: plan."""

from __future__ import annotations
