"""The people: reps with their team, role and manager.

A team is found by name as everywhere else (case and spacing as typed do not matter), and an
unknown one is an error naming it: `rep list --team east` listed nobody, silently, where
East has reps. Reps without a team come last on SQLite and PostgreSQL alike (each database
put NULLs at its own end)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, select

from paceline.errors import UserInputError, did_you_mean
from paceline.store.models import Rep, Team
from paceline.store.names import name_key


@dataclass(frozen=True)
class RepInfo:
    id: int
    name: str
    role: str
    team: str | None
    manager: str | None
    start_date: dt.date | None
    email: str | None
    end_date: dt.date | None


def list_reps(engine: Engine, team: str | None = None) -> list[RepInfo]:
    managers = Rep.__table__.alias()
    manager = managers.c
    query = (
        select(
            Rep.id,
            Rep.name,
            Rep.role,
            Team.name,
            manager.name,
            Rep.start_date,
            Rep.email,
            Rep.end_date,
        )
        .outerjoin(Team, Team.id == Rep.team_id)
        .outerjoin(managers, manager.id == Rep.manager_id)
        .order_by(Team.name.nulls_last(), Rep.role, Rep.name)
    )
    with engine.connect() as conn:
        if team:
            teams = [name for (name,) in conn.execute(select(Team.name))]
            found = next((t for t in teams if name_key(t) == name_key(team)), None)
            if found is None:
                raise UserInputError(f"team: no team named {team!r}{did_you_mean(team, teams)}")
            query = query.where(Team.name == found)
        return [RepInfo(*row) for row in conn.execute(query)]
