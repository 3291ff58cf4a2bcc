"""The hand-built organisation the access-policy matrices read (`tests/test_access.py`,
`tests/test_access_targets.py`, `tests/services/test_lookup.py`).

Team East has Ana and Ben (SDRs) and Max (their manager); team West has Dee. The callers are
an admin (no rep, no team), Max as manager of East and Ana as a rep.
"""

from __future__ import annotations

from sqlalchemy import Engine

from paceline.auth.access import Principal
from paceline.config import Settings
from paceline.services.reps import add_rep
from paceline.store.migrate import upgrade
from paceline.store.records import rep_refs

REPS = [("Ana", "sdr", "East"), ("Ben", "sdr", "East"), ("Max", "manager", "East")]
REPS += [("Dee", "sdr", "West")]


def build_org(engine: Engine, settings: Settings) -> dict[str, int]:
    """The four reps, by name: their ids."""
    upgrade(engine)
    return {name: add_rep(engine, settings, name, role, team=team) for name, role, team in REPS}


def callers(engine: Engine, org: dict[str, int]) -> dict[str, Principal]:
    east = rep_refs(engine)["ana"].team_id
    return {
        "admin": Principal(1, "root", "admin", None, None),
        "manager": Principal(2, "max", "manager", org["Max"], east),
        "rep": Principal(3, "ana", "rep", org["Ana"], east),
    }
