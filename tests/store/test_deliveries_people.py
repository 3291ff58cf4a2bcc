"""Who may be sent alerts on a day (`store.deliveries.people`), on SQLite and PostgreSQL: the
people of `factories.build_comers_and_goers` there on the send day (Monday Dec 7 2026),
reps and managers alike; not Lea (gone Dec 4), Zoe (starts Dec 14) or Mia (a manager whose
last day was Nov 30, her user still active)."""

from __future__ import annotations

from sqlalchemy import Engine

from factories import SEND_DAY, build_comers_and_goers
from paceline.config import Settings
from paceline.store.deliveries import people


def test_alerts_go_to_those_there_on_the_day(engine: Engine, settings: Settings) -> None:
    build_comers_and_goers(engine, settings)
    found = [(p.name, p.role, p.team) for p in people(engine, SEND_DAY)]
    assert found == [
        ("Ana", "rep", None),
        ("Lou", "rep", None),
        ("Max", "rep", None),
        ("Sam", "rep", None),
        ("Max", "manager", "East"),
    ]
