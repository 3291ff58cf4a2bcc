"""Hand-entered reps. (A hand-logged activity: `paceline.services.activities`.)

Unknown reps are refused here, unlike in imports: a typo at the keyboard should not create a
new colleague.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, insert

from paceline.config import Settings
from paceline.errors import InputError as InputError  # re-exported: faces catch it here
from paceline.ingest.entities import slug
from paceline.store.models import Rep
from paceline.store.names import RepResolver, TeamResolver, default_role, existing_rep_id

MANUAL_SOURCE = "manual"


def add_rep(
    engine: Engine,
    settings: Settings,
    name: str,
    role: str,
    team: str | None = None,
    manager: str | None = None,
    start_date: dt.date | None = None,
    email: str | None = None,
) -> int:
    clean = " ".join(name.split())
    if not clean:
        raise InputError("name", "a rep needs a name")
    role = slug(role)
    if role not in settings.role_names:
        raise InputError(
            "role", f"unknown role {role!r} (known: {', '.join(sorted(settings.role_names))})"
        )
    with engine.begin() as conn:
        reps = RepResolver(conn, default_role(settings))
        if reps.known(clean) is not None:
            raise InputError("name", f"a rep named {clean!r} already exists")
        manager_id = existing_rep_id(conn, reps, manager) if manager else None
        team_id = TeamResolver(conn).resolve(conn, team) if team else None
        return int(
            conn.execute(
                insert(Rep)
                .values(
                    name=clean,
                    role=role,
                    team_id=team_id,
                    manager_id=manager_id,
                    start_date=start_date,
                    email=email,
                    source=MANUAL_SOURCE,
                )
                .returning(Rep.id)
            ).scalar_one()
        )
