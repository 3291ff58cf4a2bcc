"""Values the store gives a new row when its source names none, without SQLAlchemy.

Kept apart from `store.names` (which resolves names against the tables) so the import's
reading child, which checks rows but never touches the database, can name a new rep's role
without importing SQLAlchemy and the models: 0.3-0.8 CPU s of start-up per import
(benchmarks/README.md, import_throughput).
"""

from __future__ import annotations

from paceline.config import Settings


def default_role(settings: Settings) -> str:
    """New reps get the AE role when the configuration has one, else the first role."""
    return "ae" if "ae" in settings.role_names else settings.roles[0].name
