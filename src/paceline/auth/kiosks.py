"""Kiosk links: a wall screen's read-only URL to one team's TV board.

A wall screen cannot log in every 12 hours, so it gets a link of its own: `/kiosk/<token>`.
The token is 256 random bits, unguessable like an API token and, like one, stored only as its
SHA-256 digest, so the database never holds a working link. It is deliberately not a
session and not an API token (its own prefix, its own table): the session cookie and the API
refuse it, and the one page that accepts it shows the linked team's TV board and nothing
else. Revoking marks the row; the next request (the screen's next refresh) is refused.
An admin may create links for any team, a manager for their own team only.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, insert, select, update

from paceline.auth.access import Principal
from paceline.auth.accounts import digest
from paceline.errors import Forbidden, UserInputError, did_you_mean
from paceline.store.models import KioskLink, Team, utcnow
from paceline.store.names import name_key
from paceline.store.records import storable_id

KIOSK_PREFIX = "pk_"
KIOSK_PATH = "/kiosk/"


@dataclass(frozen=True)
class NewKioskLink:
    """A freshly created link: the only time its secret (and so its URL) is shown."""

    id: int
    team: str
    name: str
    token: str

    @property
    def path(self) -> str:
        return KIOSK_PATH + self.token


@dataclass(frozen=True)
class KioskInfo:
    id: int
    team: str
    name: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


def _team(conn: Connection, name: str) -> tuple[int, str]:
    rows = conn.execute(select(Team.id, Team.name)).all()
    for team_id, team_name in rows:
        if name_key(team_name) == name_key(name):
            return int(team_id), str(team_name)
    hint = did_you_mean(name, (r[1] for r in rows))
    raise UserInputError(f"team: no team named {name!r}{hint}")


def _may_manage(principal: Principal | None, team_id: int) -> bool:
    """None is the command line, run by whoever holds the database."""
    if principal is None or principal.is_admin:
        return True
    return principal.role == "manager" and principal.team_id == team_id


def create_kiosk_link(
    engine: Engine, team: str, name: str = "", principal: Principal | None = None
) -> NewKioskLink:
    """A new link to `team`'s TV board (`principal` None: the command line)."""
    label = name.strip() or "wall screen"
    if len(label) > 120:
        raise UserInputError("name: at most 120 characters")
    token = KIOSK_PREFIX + secrets.token_urlsafe(32)
    with engine.begin() as conn:
        team_id, team_name = _team(conn, team)
        if not _may_manage(principal, team_id):
            raise Forbidden(f"create a wall-screen link for team {team_name}")
        link_id = conn.execute(
            insert(KioskLink)
            .values(
                team_id=team_id,
                name=label,
                token_hash=digest(token),
                created_by=principal.user_id if principal else None,
                created_at=utcnow(),
            )
            .returning(KioskLink.id)
        ).scalar_one()
    return NewKioskLink(int(link_id), team_name, label, token)


def list_kiosk_links(engine: Engine, principal: Principal | None = None) -> list[KioskInfo]:
    """The links the asker may manage (a manager: their team's), never their secrets."""
    query = (
        select(
            KioskLink.id,
            Team.name,
            KioskLink.name,
            KioskLink.created_at,
            KioskLink.last_used_at,
            KioskLink.revoked_at,
            KioskLink.team_id,
        )
        .join(Team, Team.id == KioskLink.team_id)
        .order_by(KioskLink.id)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        KioskInfo(int(r[0]), r[1], r[2], r[3], r[4], r[5])
        for r in rows
        if _may_manage(principal, int(r[6]))
    ]


def revoke_kiosk_link(engine: Engine, link_id: int, principal: Principal | None = None) -> None:
    """Revoke a link: the screen's next refresh is refused."""
    missing = UserInputError(f"kiosk link: no active link {link_id}")
    if not storable_id(link_id):
        raise missing
    with engine.begin() as conn:
        row = conn.execute(
            select(KioskLink.team_id).where(KioskLink.id == link_id, KioskLink.revoked_at.is_(None))
        ).first()
        if row is None or not _may_manage(principal, int(row.team_id)):
            raise missing
        conn.execute(update(KioskLink).where(KioskLink.id == link_id).values(revoked_at=utcnow()))


def kiosk_team(engine: Engine, token: str) -> str | None:
    """The team a live link shows (and note when it was last used), or None."""
    if not token.startswith(KIOSK_PREFIX) or len(token) > 100:
        return None
    with engine.begin() as conn:
        row = conn.execute(
            select(KioskLink.id, KioskLink.last_used_at, Team.name)
            .join(Team, Team.id == KioskLink.team_id)
            .where(KioskLink.token_hash == digest(token), KioskLink.revoked_at.is_(None))
        ).first()
        if row is None:
            return None
        now = utcnow()
        if row.last_used_at is None or now - row.last_used_at > dt.timedelta(minutes=1):
            conn.execute(update(KioskLink).where(KioskLink.id == row.id).values(last_used_at=now))
        return str(row.name)
