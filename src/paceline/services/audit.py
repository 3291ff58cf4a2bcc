"""Who a change is written as, and reading the audit log (admins only).

Every service turns its principal into an `Actor` here, so the log names the user (or
"operator" for the command line) and the face the same way whichever service writes it.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from paceline.auth.access import Principal
from paceline.errors import Forbidden, InputError
from paceline.store import audit
from paceline.store.audit import ENTITIES, Actor, Face

if TYPE_CHECKING:
    from paceline.store.audit_log import EntryPage

OPERATOR_NAME = "operator"


def actor_of(principal: Principal) -> Actor:
    """The command line's operator (user id 0) is "operator"; anyone else their user name."""
    if principal.user_id == 0:
        return Actor(OPERATOR_NAME, None, "cli")
    face: Face = "web" if principal.face == "web" else "api"
    return Actor(principal.username, principal.user_id, face)


def import_actor(run_id: int) -> Actor:
    return Actor(f"import {run_id}", None, "import")


def read(
    engine: Engine,
    principal: Principal,
    *,
    since: dt.datetime | None = None,
    user: str | None = None,
    entity: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> EntryPage:
    """The log, newest first (admins only: it shows every change to everyone's numbers)."""
    if not principal.can_administer:
        raise Forbidden("the audit log (admins only)")
    if entity is not None and entity not in ENTITIES:
        raise InputError("entity", f"must be one of {', '.join(ENTITIES)}, not {entity!r}")
    if limit < 1 or limit > audit.MAX_PAGE:
        raise InputError("limit", f"must be between 1 and {audit.MAX_PAGE}")
    if offset < 0:
        raise InputError("offset", "must be 0 or more")
    from paceline.store.audit_log import entries  # loaded to read the log, not on each write

    return entries(engine, since=since, user=user, entity=entity, limit=limit, offset=offset)
