"""Who a diagnosis is about, and whom a rep is compared with.

A rep is compared with *peers*: reps of the same role (an SDR's calls mean nothing beside an
AE's), from the rep's own team when it has at least `MIN_TEAM_PEERS` of them, otherwise from
the whole organisation, so a two-SDR team does not compare a rep with one colleague. A rep
without a team (imported without one) has no team to draw from: their peers are the whole
organisation's reps of the role, never the other teamless reps alone as if "no team" were a
team.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Collection, Sequence
from fractions import Fraction

from sqlalchemy import Connection

from paceline.analytics.metrics import MetricTotals, base_metrics, metric_totals
from paceline.analytics.scorecard import RosterRep, active_paced_reps
from paceline.analytics.shared import memo, once
from paceline.analytics.window import Window
from paceline.calendar import BusinessCalendar, Period
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
    period = Period("day", window.start, window.end)
    return once(
        ("diagnosis_reps", id(settings), window.start, window.end, team),
        lambda: active_paced_reps(conn, settings, period, team),
    )


def find_rep(reps: Sequence[RosterRep], name: str) -> RosterRep:
    """The rep called `name` (case and accents as typed do not matter), or a clear error."""
    for rep in reps:
        if name_key(rep.name) == name_key(name):
            return rep
    hint = did_you_mean(name, (r.name for r in reps))
    raise UserInputError(f"rep: no selling rep named {name!r} in this period{hint}")


def peers_of(rep: RosterRep, reps: Sequence[RosterRep]) -> list[RosterRep]:
    """Same-role reps of the rep's team, or of everyone when the team has too few (or the
    rep has no team)."""
    same_role = [r for r in reps if r.role == rep.role and r.id != rep.id]
    in_team = [r for r in same_role if r.team == rep.team] if rep.team is not None else []
    return in_team if len(in_team) >= MIN_TEAM_PEERS else same_role


def days_worked(calendar: BusinessCalendar, window: Window, rep: RosterRep) -> int:
    """The window's business days from the rep's start date through their last day (all of
    them without either): a leaver's count is read over the days they were there, as a late
    starter's is (the scorecards' window, `pacing.window`)."""
    start = max(window.start, rep.start_date or window.start)
    end = min(window.end, rep.end_date + dt.timedelta(days=1)) if rep.end_date else window.end
    return calendar.business_days(start, max(start, end))


def peer_volumes(
    calendar: BusinessCalendar,
    window: Window,
    days: int,
    peers: Sequence[RosterRep],
    value: Callable[[RosterRep], float],
) -> list[float]:
    """Each peer's `value` (a count over the window) as a count over `days` business days
    (the rep's), from the peer's own days worked: the values a volume median is taken of.

    A peer who worked the whole window and logged nothing is a true 0 and stays one; a peer
    who started or left during it is read at their rate over the days they were there (their
    8 days' 40 calls are 65 over 13 days, not 40 that pull the median down), and one with no
    business day in the window is no peer of it."""
    worked_of: dict[tuple[dt.date | None, dt.date | None], int] = {}
    found: list[float] = []
    for p in peers:
        key = (p.start_date, p.end_date)
        if key not in worked_of:
            worked_of[key] = days_worked(calendar, window, p)
        worked = worked_of[key]
        if worked:
            total = value(p)
            found.append(total if worked == days else total * days / worked)
    return found


class PeerIndex:
    """`peers_of` for many reps of one roster: the roster is grouped once by role and by
    role and team, so a 200-rep team's peers cost 200 short scans, not 200 of everyone."""

    def __init__(self, reps: Sequence[RosterRep]) -> None:
        self._by_role: dict[str, list[RosterRep]] = {}
        self._by_team: dict[tuple[str, str | None], list[RosterRep]] = {}
        for r in reps:
            self._by_role.setdefault(r.role, []).append(r)
            self._by_team.setdefault((r.role, r.team), []).append(r)
        self._ids: dict[GroupKey, frozenset[int]] = {}

    def __call__(self, rep: RosterRep) -> list[RosterRep]:
        _, members = self.group(rep)
        return [r for r in members if r.id != rep.id]

    def group(self, rep: RosterRep) -> tuple[GroupKey, list[RosterRep]]:
        """The roster group the rep's peers come from (the rep's peers: it, less the rep)."""
        in_team = self._by_team.get((rep.role, rep.team), []) if rep.team is not None else []
        others = len(in_team) - (1 if rep.id in self.ids(("team", rep.role, rep.team)) else 0)
        if rep.team is not None and others >= MIN_TEAM_PEERS:
            return ("team", rep.role, rep.team), in_team
        return ("role", rep.role, None), self._by_role.get(rep.role, [])

    def ids(self, key: GroupKey) -> frozenset[int]:
        if key not in self._ids:
            kind, role, team = key
            members = self._by_team.get((role, team), []) if kind == "team" else None
            members = self._by_role.get(role, []) if members is None else members
            self._ids[key] = frozenset(r.id for r in members)
        return self._ids[key]


GroupKey = tuple[str, str, str | None]


class PeerSums:
    """The sum of a value over a rep's peers, for many reps of one roster, in constant time.

    Each peer group's exact total (a `Fraction`) is added up once; a rep's peers' total is
    the group's less the rep's own, rounded once. That is `math.fsum` over the peers to the
    last bit (fsum rounds the exact sum once, and so does `float` of a Fraction), and, when
    every value is a whole number, the plain left-to-right sum as well (every partial sum is
    then exact). A team's coaching rules and funnels add up some 120,000 peer values that way.
    """

    def __init__(self, peers: PeerIndex, value: Callable[[int, str], float]) -> None:
        self._peers = peers
        self._value = value
        self._totals: dict[tuple[GroupKey, str], tuple[Fraction | int, bool]] = {}

    def fsum(self, rep: RosterRep, name: str) -> float:
        """`math.fsum` of `name` over the rep's peers."""
        key, members = self._peers.group(rep)
        total, whole = self._total(key, members, name)
        if rep.id in self._peers.ids(key):
            own = self._value(rep.id, name)
            total = total - (int(own) if whole else Fraction(own))
        return float(total)

    def plain_sum(self, rep: RosterRep, name: str) -> float:
        """`sum` of `name` over the rep's peers, left to right, as the built-in adds it."""
        key, members = self._peers.group(rep)
        _, whole = self._total(key, members, name)
        if not whole or len(members) < 2:  # (an empty sum is the integer 0)
            return sum(self._value(r.id, name) for r in members if r.id != rep.id)
        return self.fsum(rep, name)

    def _total(
        self, key: GroupKey, members: list[RosterRep], name: str
    ) -> tuple[Fraction | int, bool]:
        """The group's exact total, and whether it is of whole numbers summed exactly in floats
        (then an int)."""
        found = self._totals.get((key, name))
        if found is None:
            values = [self._value(r.id, name) for r in members]
            whole = all(float(v).is_integer() for v in values)
            whole = whole and math.fsum(abs(v) for v in values) < _EXACT
            total = (
                sum(int(v) for v in values)
                if whole
                else sum((Fraction(v) for v in values), Fraction(0))
            )
            found = self._totals[key, name] = (total, whole)
        return found


_EXACT = 2**53  # below this, every partial sum of whole floats is exact


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
    # A rep's peers are its group less the rep, and the rep is wanted anyway: adding each
    # distinct group once is the same set without building 200 lists of 100 peers.
    groups = {peers.group(rep)[0] for rep in scope}
    for key in groups:
        wanted.update(peers.ids(key))
    return sorted(wanted)


def compared_totals(
    conn: Connection,
    settings: Settings,
    names: Collection[str],
    window: Window,
    rep_ids: Collection[int] | None,
) -> MetricTotals:
    """`metric_totals` of `names` over the window, each metric read once per diagnosis.

    A diagnosis's coaching rules, funnels, busy-versus-productive and revenue equation read
    totals of overlapping metrics (calls, conversations, selling activities, deals won) for
    the same reps, the reps in scope and their peers (`compared_ids`). Inside
    `shared_reads()` each metric is read the first time a part asks for it and kept; the
    answer is assembled from the kept metrics, so it is what `metric_totals` returns: a
    metric's totals do not depend on the other metrics read with it, and the reps come in
    ascending order as the statement's grouping gives them.
    """
    reps = None if rep_ids is None else frozenset(rep_ids)
    kept = memo(("compared_totals", id(settings), window.start, window.end, reps))
    wanted = base_metrics(settings, names)
    missing = [m for m in wanted if m not in kept]
    if missing:
        read = metric_totals(conn, settings, missing, window.start, window.end, rep_ids)
        for m in missing:
            kept[m] = (
                {r: v[m] for r, v in read.values.items() if m in v},
                {r: u[m] for r, u in read.unknown.items() if m in u},
            )
    values: dict[int, dict[str, float]] = {}
    unknown: dict[int, dict[str, int]] = {}
    for m in wanted:
        found, left_out = kept[m]
        for r, value in found.items():
            values.setdefault(r, {})[m] = value
        for r, count in left_out.items():
            unknown.setdefault(r, {})[m] = count
    return MetricTotals(
        window.start,
        window.end,
        {r: values[r] for r in sorted(values)},
        {r: unknown[r] for r in sorted(unknown)},
    )
