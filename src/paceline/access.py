"""Who may see and change which reps, teams and records: the one policy every face asks.

The role rules themselves are `auth.access.Principal` (a bool per question); this module
resolves what a request names into something the caller may use, or raises a domain error
each face translates the same way:

- `NotFound` (404): a rep or team named in a query or path that does not exist. Names of
  reps and teams are not secret inside a company (leaderboards show them), so an unknown
  name is simply not found; the message suggests close names among those the caller sees.
  A name in a *body* is a value to store, so the API answers an unknown one with 422.
- `Forbidden` (403): a rep or team that exists but is out of the caller's reach.
- `InputError` (422): a request that cannot be answered as given (a rep's account linked to
  no rep asking for "my" records), naming the field.

Records addressed by id (an activity, a deal) are read through `scope_of`, so one out of
reach is "not found", exactly like one that does not exist: ids cannot be probed. A rep
addressed by id is the exception (`rep_by_id`): out of reach is 403 on every face.
"""

from __future__ import annotations

from sqlalchemy import Engine

from paceline.auth.access import Principal
from paceline.errors import Forbidden, InputError, NotFound, did_you_mean
from paceline.store.names import name_key
from paceline.store.records import RepRef, Scope, rep_ref, rep_refs, team_ids, team_name

Reps = dict[str, RepRef]  # every rep by name key, as `store.records.rep_refs` returns them

# The operator at the command line: whoever can run `paceline` against the database may
# write for any rep and any user, as an admin may.
OPERATOR = Principal(user_id=0, username="cli", role="admin", rep_id=None, team_id=None, face="cli")


def scope_of(principal: Principal) -> Scope:
    """The records a principal may read, and change: the rules are the same."""
    if principal.is_admin:
        return Scope(everyone=True)
    if principal.role == "manager":
        return Scope(team_id=principal.team_id) if principal.team_id is not None else Scope()
    return Scope(rep_id=principal.rep_id) if principal.rep_id is not None else Scope()


def may_see_rep(principal: Principal, rep: RepRef) -> bool:
    return principal.can_read_rep(rep.id, rep.team_id)


def may_change_rep(principal: Principal, rep: RepRef) -> bool:
    """Logging, editing, deleting and restoring the rep's activities and deals."""
    return principal.can_write_for_rep(rep.id, rep.team_id)


def may_see_team(principal: Principal, team_id: int | None) -> bool:
    """A team's pages, alerts and leaderboards (a rep: their own team's)."""
    return principal.can_read_team(team_id)


def may_see_team_diagnosis(principal: Principal, team_id: int | None) -> bool:
    """Every rep of a team diagnosed side by side: managers of the team and admins only."""
    return principal.role != "rep" and principal.can_read_team(team_id)


# --- reps ------------------------------------------------------------------------------------


def own_rep(reps: Reps, principal: Principal) -> RepRef | None:
    """The rep record the caller's account is linked to, if any."""
    return next((r for r in reps.values() if r.id == principal.rep_id), None)


def find_rep(reps: Reps, principal: Principal, name: str, field: str = "rep") -> RepRef:
    """The rep of that name (any case and spacing); unknown: NotFound, suggesting close names
    among the reps the caller sees (never names out of their reach)."""
    found = reps.get(name_key(name))
    if found is not None:
        return found
    visible = [r.name for r in reps.values() if may_see_rep(principal, r)]
    message = f"no rep named {name!r}{did_you_mean(name, visible)}"
    raise NotFound(f"rep named {name!r}", message, field)


def rep_by_id(engine: Engine, principal: Principal, rep_id: int, what: str) -> RepRef:
    """A rep addressed by id (a page or API path): unknown NotFound, out of reach Forbidden.

    Unlike an activity or a deal, a rep is not hidden behind "not found": reps' names are
    shown on leaderboards, so saying that one exists reveals nothing, and a manager following
    a link to another team's rep learns why it does not open."""
    rep = rep_ref(engine, rep_id)
    if rep is None:
        raise NotFound(f"rep {rep_id}", f"no rep with id {rep_id}", "rep_id")
    if not may_see_rep(principal, rep):
        raise Forbidden(f"see the {what} of rep {rep.name!r}")
    return rep


def readable_rep(
    reps: Reps, principal: Principal, name: str, what: str = "records", field: str = "rep"
) -> RepRef:
    """A rep named in a request whose `what` the caller may see."""
    rep = find_rep(reps, principal, name, field)
    if not may_see_rep(principal, rep):
        raise Forbidden(f"see the {what} of rep {rep.name!r}")
    return rep


def writable_rep(reps: Reps, principal: Principal, name: str | None, field: str = "rep") -> RepRef:
    """The rep a new or moved record is for: named, or (no name) the caller themself.

    The name is a value to store, so an unknown one is an InputError naming the field."""
    if name is None:
        mine = own_rep(reps, principal)
        if mine is None:
            raise InputError(field, "required (you are not a rep yourself)")
        return mine
    try:
        rep = find_rep(reps, principal, name, field)
    except NotFound as exc:
        raise InputError(field, exc.message) from None
    require_change(principal, rep)
    return rep


def require_change(principal: Principal, rep: RepRef) -> None:
    """Forbidden unless the caller may change the rep's records."""
    if not may_change_rep(principal, rep):
        raise Forbidden(f"change the records of rep {rep.name!r}")


def creditable_rep(
    reps: Reps, principal: Principal, name: str, field: str = "sourced_by"
) -> RepRef:
    """A rep credited with a record (who sourced a deal): the caller themself, a rep of the
    caller's team, or (an admin) anyone. Unknown: InputError naming the field."""
    try:
        rep = find_rep(reps, principal, name, field)
    except NotFound as exc:
        raise InputError(field, exc.message) from None
    same_team = principal.team_id is not None and rep.team_id == principal.team_id
    if not (principal.is_admin or rep.id == principal.rep_id or same_team):
        raise Forbidden(f"crediting rep {rep.name!r} (not in your team)")
    return rep


# --- targets: setting them by hand or by saving a plan ----------------------------------------


def may_set_targets(principal: Principal, rep: RepRef) -> bool:
    """Setting a rep's targets (one by hand, or a plan's): an admin anyone's, a manager their
    own team's reps'; a rep never, not even their own."""
    return principal.can_set_targets(rep.team_id)


def require_set_targets(principal: Principal, rep: RepRef) -> None:
    """Forbidden unless the caller may set the rep's targets. `services.targets` asks this
    for every target it writes, so the CLI, the API and the pages refuse alike."""
    if not may_set_targets(principal, rep):
        raise Forbidden(f"set targets for rep {rep.name!r}")


# --- the roster: adding and editing reps ------------------------------------------------------


def may_manage_roster(principal: Principal, team_id: int | None) -> bool:
    """Adding a rep to a team, or editing a rep of it: an admin any team (or none); a manager
    their own team only; a rep never."""
    if principal.is_admin:
        return True
    return (
        principal.role == "manager"
        and principal.team_id is not None
        and team_id == principal.team_id
    )


def require_roster(principal: Principal, team_id: int | None, what: str) -> None:
    """Forbidden unless the caller may add or keep reps in that team; `what` completes "not
    allowed: ..."."""
    if not may_manage_roster(principal, team_id):
        raise Forbidden(what)


# --- teams -----------------------------------------------------------------------------------


def find_team(engine: Engine, name: str, field: str = "team") -> tuple[int, str]:
    """(id, stored name) of the team of that name; unknown: NotFound with close names."""
    teams = team_ids(engine)
    found = teams.get(name_key(name))
    if found is None:
        hint = did_you_mean(name, [n for _, n in teams.values()])
        raise NotFound(f"team named {name!r}", f"no team named {name!r}{hint}", field)
    return found


def readable_team(
    engine: Engine, principal: Principal, name: str, what: str, field: str = "team"
) -> tuple[int, str]:
    """A team named in a request whose `what` (pages, alerts, leaderboard) the caller sees."""
    team_id, stored = find_team(engine, name, field)
    if not may_see_team(principal, team_id):
        raise Forbidden(f"see the {what} of team {stored!r}")
    return team_id, stored


def team_in_reach(engine: Engine, principal: Principal, team: str | None, what: str) -> str | None:
    """The team asked about, by stored name; nothing asked: the caller's own (an admin:
    None, everyone)."""
    if team is not None:
        return readable_team(engine, principal, team, what)[1]
    if principal.is_admin:
        return None
    own = team_name(engine, principal.team_id) if principal.team_id is not None else None
    if own is None:
        raise Forbidden(f"see the {what} (you are in no team)")
    return own


# --- whom a diagnosis is about ---------------------------------------------------------------


def diagnosis_subject(
    engine: Engine, principal: Principal, rep: str | None, team: str | None, what: str
) -> tuple[str | None, str | None]:
    """(rep, team) a diagnosis reads, by stored names; (None, None) is everyone.

    A rep reads only themself (nothing asked: themself); a manager a rep of their team or
    the team (nothing asked: their team); an admin anyone, any team, or everyone. Whether a
    rep and a team may be asked together is the face's question, not the policy's.
    """
    chosen = None
    if team is not None:
        team_id, chosen = find_team(engine, team)
        if not may_see_team_diagnosis(principal, team_id):
            raise Forbidden(f"see the {what} of team {chosen!r}")
    if rep is not None:
        return readable_rep(rep_refs(engine), principal, rep, what).name, chosen
    if chosen is not None or principal.is_admin:
        return None, chosen
    return _own_subject(engine, principal, what)


def _own_subject(engine: Engine, principal: Principal, what: str) -> tuple[str | None, str | None]:
    """Nothing asked: a rep means themself, a manager their team."""
    if principal.role == "rep":
        mine = own_rep(rep_refs(engine), principal)
        if mine is None:
            raise InputError("rep", "required (your account is linked to no rep)")
        return mine.name, None
    own = team_name(engine, principal.team_id) if principal.team_id is not None else None
    if own is None:
        raise Forbidden(f"see the {what} (you manage no team)")
    return None, own
