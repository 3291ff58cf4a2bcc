"""The rep list: a team found by name as everywhere else, an unknown one refused, and reps
without a team last on every database. Di (ae, East), Al (ae, West), Cy (ae, no team)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from paceline.analytics.roster import list_reps
from paceline.config import Settings
from paceline.errors import UserInputError
from paceline.services.reps import add_rep
from paceline.store.migrate import upgrade


def build(engine: Engine, settings: Settings) -> None:
    upgrade(engine)
    add_rep(engine, settings, "Di", "ae", team="East")
    add_rep(engine, settings, "Al", "ae", team="West")
    add_rep(engine, settings, "Cy", "ae")


def test_a_team_is_found_whatever_its_case_and_spacing(engine: Engine, settings: Settings) -> None:
    """Before: `--team east` listed nobody, silently."""
    build(engine, settings)
    for typed in ("East", "east", "  EAST "):
        assert [r.name for r in list_reps(engine, typed)] == ["Di"]


def test_an_unknown_team_is_an_error_naming_it(engine: Engine, settings: Settings) -> None:
    build(engine, settings)
    with pytest.raises(UserInputError, match="team: no team named 'Nord'"):
        list_reps(engine, "Nord")


def test_reps_without_a_team_come_last(engine: Engine, settings: Settings) -> None:
    """By team (East, West), then the rep with none (SQLite put him first, PostgreSQL last)."""
    build(engine, settings)
    assert [(r.name, r.team) for r in list_reps(engine)] == [
        ("Di", "East"),
        ("Al", "West"),
        ("Cy", None),
    ]
