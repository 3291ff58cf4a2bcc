"""Who the scheduled digests go to on the day they are sent (`store.schedule.members`), on
SQLite and PostgreSQL: reps and managers there that day, by `factories.build_comers_and_goers`
(sent Monday Dec 7 2026). A rep gone before it (Lea, left Friday Dec 4) or not started yet
(Zoe, starts Dec 14) is sent nothing, nor is a manager whose last day is past (Mia), though
her user is still active; the last day and the first day count as days there (Lou, Sam)."""

from __future__ import annotations

from sqlalchemy import Engine

from factories import SEND_DAY, build_comers_and_goers
from paceline.config import Settings
from paceline.store.schedule import members


def test_digests_go_to_those_there_on_the_send_day(engine: Engine, settings: Settings) -> None:
    build_comers_and_goers(engine, settings)
    found = [(m.name, m.role, m.address) for m in members(engine, SEND_DAY)]
    assert found == [
        ("Ana", "rep", "Ana@x.test"),
        ("Lou", "rep", "Lou@x.test"),
        ("Sam", "rep", "Sam@x.test"),
        ("Max", "manager", "max@x.test"),
    ]


def test_a_week_on_the_comers_are_there_and_the_goers_still_gone(
    engine: Engine, settings: Settings
) -> None:
    """On Monday Dec 14 Zoe has started; Lou's last day (the 7th) is past."""
    build_comers_and_goers(engine, settings)
    later = SEND_DAY.replace(day=14)
    assert [m.name for m in members(engine, later)] == ["Ana", "Sam", "Zoe", "Max"]
