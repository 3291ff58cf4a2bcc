"""Every write of a rep by a person: add and edit, for every face.

The CLI (`rep add`, `rep edit`), the API (`POST` and `PATCH /reps`) and the tests call this
module; nothing else writes a single rep (imports make reps in bulk through `ingest`, and
only from names in their rows). Errors are domain errors each face translates: `InputError`
naming the field (CLI: message and exit 1; API: 422), `Forbidden` (403) and `NotFound` (404).

The rules:
- a name, unique among reps however it is cased or spaced (names are how imports, analyses
  and the access policy find a rep), at most 200 characters;
- a role of the configuration; a team and a manager that exist (a typo should not create a
  colleague or a team: both are refused with the closest names), except that the operator's
  `rep add` creates a team new to the database, as it always has;
- an email that looks like one; a rep is not their own manager;
- a last day (`end_date`, set by an edit only: a rep leaves after being added) that is a date
  on or after the rep's start date; None clears it (the rep rejoined). Analyses pace a leaver
  over the days they were there and never alert after that day.
Who may (`access.may_manage_roster`): an admin any rep; a manager the reps of their own team
(a rep they add goes to it when no team is given), and may not move one out of it; a rep
nobody. A rep by id that exists but is out of reach is Forbidden, not "not found": reps'
names are not secret (leaderboards show them), as for a rep by id on every face.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, update
from sqlalchemy.exc import IntegrityError

from paceline import access
from paceline.auth.access import Principal
from paceline.config import Settings
from paceline.errors import Forbidden, InputError, NotFound, did_you_mean
from paceline.ingest.entities import slug
from paceline.services.audit import actor_of
from paceline.store import audit, listings, records
from paceline.store.audit import Actor
from paceline.store.listings import RepRecord
from paceline.store.models import Rep
from paceline.store.names import TeamResolver, name_key, near_duplicate
from paceline.store.records import Scope

MANUAL_SOURCE = "manual"
MAX_NAME = 200
MAX_EMAIL = 320
EDITABLE = frozenset({"name", "role", "team", "manager", "start_date", "end_date", "email"})
NOT_NULL = ("name", "role")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
EVERYONE = Scope(everyone=True)


@dataclass(frozen=True)
class RepEntry:
    """One rep to add, as a person gave it (team, manager: names)."""

    name: str
    role: str
    team: str | None = None
    manager: str | None = None
    start_date: dt.date | None = None
    email: str | None = None


# --- add -------------------------------------------------------------------------------------


def create(
    engine: Engine,
    settings: Settings,
    principal: Principal,
    entry: RepEntry,
    *,
    source: str = MANUAL_SOURCE,
    new_team: bool = False,
    near_check: bool = False,
) -> RepRecord:
    """Check and store one rep. A manager's rep goes to the manager's team unless another is
    named (which is refused). `new_team`: a team unknown to the database is created rather
    than refused (the operator's `rep add`). `near_check`: refuse a name that looks like an
    existing rep's (`names.near_duplicate`), as imports do, unless the caller confirmed it."""
    _require_roster_keeper(principal)
    values = _checked(engine, settings, entry.__dict__, None)
    if near_check:
        existing = [r.name for r in records.rep_refs(engine).values()]
        other = near_duplicate(values["name"], existing)
        if other is not None:
            raise InputError(
                "name",
                f"{values['name']!r} looks like the existing rep {other!r} (a typo?); to add"
                " a new rep by that name, confirm it (API: confirm_new_name true; CLI: rep add"
                " --confirm-new-name)",
            )
    team, make_team = entry.team, None
    if team is None:
        team_id = None if principal.is_admin else principal.team_id
    else:
        try:
            team_id = _team_id(engine, team)
        except InputError:
            if not new_team:
                raise
            team_id, make_team = None, team  # made with the rep, in one transaction
    access.require_roster(principal, team_id, f"add reps to team {team!r}")
    values["team_id"] = team_id
    rep_id = _write(engine, values, actor_of(principal), source=source, new_team=make_team)
    return _stored(engine, rep_id)


def add_rep(
    engine: Engine,
    settings: Settings,
    name: str,
    role: str,
    team: str | None = None,
    manager: str | None = None,
    start_date: dt.date | None = None,
    email: str | None = None,
    near_check: bool = False,
) -> int:
    """The operator's `paceline rep add`: any team (created when new); the new rep's id.
    `near_check`: refuse a look-alike of an existing rep's name (the CLI asks it)."""
    entry = RepEntry(name, role, team, manager, start_date, email)
    return create(engine, settings, access.OPERATOR, entry, new_team=True, near_check=near_check).id


# --- edit ------------------------------------------------------------------------------------


def _existing(engine: Engine, rep_id: int) -> RepRecord:
    """The rep of that id, whoever asks: reps are not hidden behind "not found" (their names
    are on leaderboards), so one out of reach is Forbidden by the roster rule, as a rep by id
    is on every face (`access`)."""
    found = listings.get_rep(engine, EVERYONE, rep_id)
    if found is None:
        raise NotFound(f"rep {rep_id}", f"no rep with id {rep_id}", "rep_id")
    return found


def edit(
    engine: Engine, settings: Settings, principal: Principal, rep_id: int, changes: dict[str, Any]
) -> RepRecord:
    """Change the fields given (None clears an optional one); the rest keep their value."""
    current = _existing(engine, rep_id)
    access.require_roster(principal, current.team_id, f"edit rep {current.name!r}")
    unknown = set(changes) - EDITABLE
    if unknown:
        raise InputError(sorted(unknown)[0], "cannot be changed")
    for required in NOT_NULL:
        if required in changes and changes[required] is None:
            raise InputError(required, "cannot be null")
    values = _checked(engine, settings, changes, current)
    if "team" in changes:
        team = changes["team"]
        team_id = None if team is None else _team_id(engine, team)
        if team_id != current.team_id:
            access.require_roster(principal, team_id, f"move rep {current.name!r} out of your team")
        values["team_id"] = team_id
    _write(engine, values, actor_of(principal), rep_id=rep_id)
    return _stored(engine, rep_id)


def edit_rep(engine: Engine, settings: Settings, name: str, changes: dict[str, Any]) -> RepRecord:
    """The operator's `paceline rep edit NAME`: the rep by name (unknown: the closest names)."""
    reps = records.rep_refs(engine)
    found = reps.get(name_key(name))
    if found is None:
        hint = did_you_mean(name, [r.name for r in reps.values()])
        raise InputError("rep", f"no rep named {name!r}{hint}")
    return edit(engine, settings, access.OPERATOR, found.id, changes)


# --- the rules -------------------------------------------------------------------------------


def _require_roster_keeper(principal: Principal) -> None:
    if not (principal.is_admin or principal.role == "manager"):
        raise Forbidden("add or edit reps (admins and managers only)")


def _checked(
    engine: Engine, settings: Settings, given: dict[str, Any], current: RepRecord | None
) -> dict[str, Any]:
    """The columns to write for the fields given, each checked (team: by the caller)."""
    values: dict[str, Any] = {}
    if "name" in given:
        values["name"] = _name(engine, given["name"], current)
    if "role" in given:
        values["role"] = _role(settings, given["role"])
    if "manager" in given:
        values["manager_id"] = _manager_id(engine, given["manager"], current)
    if "email" in given:
        values["email"] = _email(given["email"])
    if "start_date" in given:
        values["start_date"] = _day("start_date", given["start_date"])
    if "end_date" in given:
        values["end_date"] = _day("end_date", given["end_date"])
    _check_span(given, values, current)
    return values


def _day(field: str, value: object) -> dt.date | None:
    """A date or None; a datetime or anything else is a face's bug, refused by field."""
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    raise InputError(field, f"not a date: {value!r} (write YYYY-MM-DD)")


def _check_span(given: dict[str, Any], values: dict[str, Any], current: RepRecord | None) -> None:
    """A last day before the first is refused, whichever of the two the edit changes: the
    analyses would pace the rep over a negative number of days."""
    start = values["start_date"] if "start_date" in given else getattr(current, "start_date", None)
    end = values["end_date"] if "end_date" in given else getattr(current, "end_date", None)
    if start is None or end is None or end >= start:
        return
    field = "end_date" if "end_date" in given else "start_date"
    raise InputError(field, f"the last day {end} is before the start date {start}")


def _name(engine: Engine, name: str, current: RepRecord | None) -> str:
    clean = " ".join(name.split())
    if not clean:
        raise InputError("name", "a rep needs a name")
    if len(clean) > MAX_NAME:
        raise InputError("name", f"at most {MAX_NAME} characters")
    same = records.rep_refs(engine).get(name_key(clean))
    if same is not None and (current is None or same.id != current.id):
        raise InputError("name", f"a rep named {same.name!r} already exists")
    return clean


def _role(settings: Settings, role: str) -> str:
    name = slug(role)
    if name not in settings.role_names:
        known = sorted(settings.role_names)
        hint = did_you_mean(name, known)
        raise InputError("role", f"unknown role {name!r}{hint} (known: {', '.join(known)})")
    return name


def _manager_id(engine: Engine, manager: str | None, current: RepRecord | None) -> int | None:
    if manager is None:
        return None
    reps = records.rep_refs(engine)
    found = reps.get(name_key(manager))
    if found is None:
        hint = did_you_mean(manager, [r.name for r in reps.values()])
        raise InputError("manager", f"no rep named {manager!r}{hint}")
    if current is not None and found.id == current.id:
        raise InputError("manager", "a rep cannot be their own manager")
    return found.id


def _email(email: str | None) -> str | None:
    if email is None or not email.strip():
        return None
    clean = email.strip()
    if len(clean) > MAX_EMAIL or not _EMAIL.fullmatch(clean):
        raise InputError("email", f"not an email address: {clean!r}")
    return clean


def _team_id(engine: Engine, team: str) -> int:
    """The team of that name; unknown: refused with the closest names."""
    try:
        return access.find_team(engine, team, "team")[0]
    except NotFound as exc:
        raise InputError("team", exc.message) from None


def _write(
    engine: Engine,
    values: dict[str, Any],
    actor: Actor,
    rep_id: int | None = None,
    source: str = MANUAL_SOURCE,
    new_team: str | None = None,
) -> int:
    """Insert (no id) or update one rep, with its new team if any, in one transaction; a twin
    stored meanwhile is the name's error."""
    try:
        with engine.begin() as conn:
            if new_team is not None:
                values = {**values, "team_id": TeamResolver(conn).resolve(conn, new_team)}
            if rep_id is None:
                statement = insert(Rep).values(**values, source=source).returning(Rep.id)
                made = int(conn.execute(statement).scalar_one())
                audit.write_change(conn, actor, Rep.__table__, "rep", made, "create", None)
                return made
            if values:
                before = audit.snapshot(conn, Rep.__table__, rep_id)
                conn.execute(update(Rep).where(Rep.id == rep_id).values(**values))
                audit.write_change(conn, actor, Rep.__table__, "rep", rep_id, "edit", before)
            return rep_id
    except IntegrityError:
        raise InputError("name", f"a rep named {values.get('name')!r} already exists") from None


def _stored(engine: Engine, rep_id: int) -> RepRecord:
    found = listings.get_rep(engine, EVERYONE, rep_id)
    if found is None:  # deleted between the write and this read
        raise NotFound(f"rep {rep_id}", f"no rep {rep_id}", "rep_id")
    return found
