"""The people: reps with their team, role and manager."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, select

from paceline.store.models import Rep, Team


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
        .order_by(Team.name, Rep.role, Rep.name)
    )
    if team:
        query = query.where(Team.name == team)
    with engine.connect() as conn:
        return [RepInfo(*row) for row in conn.execute(query)]
