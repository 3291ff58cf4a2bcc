"""Paceline: sales activity management from your own data."""

__version__ = "0.1.0"
