"""Who a diagnosis is about, and whom a rep is compared with.

A rep is compared with *peers*: reps of the same role (an SDR's calls mean nothing beside an
AE's), from the rep's own team when it has at least `MIN_TEAM_PEERS` of them, otherwise from
the whole organisation, so a two-SDR team does not compare a rep with one colleague.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from paceline.analytics.scorecard import RosterRep, active_paced_reps
from paceline.analytics.window import Window
from paceline.calendar import Period
from paceline.config import Settings
from paceline.errors import UserInputError, did_you_mean
from paceline.store.names import name_key

MIN_TEAM_PEERS = 3


def diagnosis_reps(
    conn: Connection, settings: Settings, window: Window, team: str | None = None
) -> list[RosterRep]:
    """Selling reps (roles with key metrics) who worked during the window, of a team or all.

    An unknown team is an error suggesting close names.
    """
    return active_paced_reps(conn, settings, Period("day", window.start, window.end), team)


def find_rep(reps: Sequence[RosterRep], name: str) -> RosterRep:
    """The rep called `name` (case and accents as typed do not matter), or a clear error."""
    for rep in reps:
        if name_key(rep.name) == name_key(name):
            return rep
    hint = did_you_mean(name, (r.name for r in reps))
    raise UserInputError(f"rep: no selling rep named {name!r} in this period{hint}")


def peers_of(rep: RosterRep, reps: Sequence[RosterRep]) -> list[RosterRep]:
    """Same-role reps of the rep's team, or of everyone when the team has too few."""
    same_role = [r for r in reps if r.role == rep.role and r.id != rep.id]
    in_team = [r for r in same_role if r.team == rep.team]
    return in_team if len(in_team) >= MIN_TEAM_PEERS else same_role


class PeerIndex:
    """`peers_of` for many reps of one roster: the roster is grouped once by role and by
    role and team, so a 200-rep team's peers cost 200 short scans, not 200 of everyone."""

    def __init__(self, reps: Sequence[RosterRep]) -> None:
        self._by_role: dict[str, list[RosterRep]] = {}
        self._by_team: dict[tuple[str, str | None], list[RosterRep]] = {}
        for r in reps:
            self._by_role.setdefault(r.role, []).append(r)
            self._by_team.setdefault((r.role, r.team), []).append(r)

    def __call__(self, rep: RosterRep) -> list[RosterRep]:
        in_team = [r for r in self._by_team.get((rep.role, rep.team), []) if r.id != rep.id]
        if len(in_team) >= MIN_TEAM_PEERS:
            return in_team
        return [r for r in self._by_role.get(rep.role, []) if r.id != rep.id]


def diagnosis_scope(
    conn: Connection,
    settings: Settings,
    window: Window,
    team: str | None,
    rep: str | None,
) -> tuple[list[RosterRep], list[RosterRep]]:
    """(reps reported on, every selling rep of the window to draw peers from).

    A rep is looked up among the team's reps when a team is given too; unknown names are
    errors naming the field.
    """
    everyone = diagnosis_reps(conn, settings, window)
    candidates = diagnosis_reps(conn, settings, window, team) if team is not None else everyone
    if rep is not None:
        return [find_rep(candidates, rep)], everyone
    return candidates, everyone


def compared_ids(scope: Sequence[RosterRep], everyone: Sequence[RosterRep]) -> list[int]:
    """The reps in scope and all their peers: the only ones whose activity must be read.

    A team's diagnosis then reads the team (its roles have enough peers inside it), not the
    whole organisation: on the 10M benchmark, a fifth of the rows.
    """
    wanted = {r.id for r in scope}
    peers = PeerIndex(everyone)
    for rep in scope:
        wanted.update(p.id for p in peers(rep))
    return sorted(wanted)
