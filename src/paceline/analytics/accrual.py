"""Distinct accrual curves: how much of a period's distinct count a rep has by each business day.

A count of calls grows evenly through a month, so expected-to-date is target x elapsed
business days / the period's. A distinct count does not: an SDR calling the same book of
accounts meets most of them in the first days and then calls them again, so the month's
count of accounts called climbs fast and flattens near the size of the book. Paced evenly,
nobody working a book is ever behind on accounts by mid-month, and a rep who slows down
reads "ahead" for half the month (see docs/tracking.md, "Distinct counts").

So a distinct count is paced by its **accrual curve**: the share of a period's final
distinct count reached by the end of each business day, learnt from past whole periods of
the same kind (`HISTORY_PERIODS` of them, before the current one):
- the rep's own periods, when they hold enough (`MIN_PERIODS` periods, `MIN_COUNTED`
  things counted in all): a rep's book and habits are theirs;
- else their role's, every rep of the role in the organisation pooled (a new hire, a rep
  whose history is thin): one curve per role, whichever page asks;
- else (no history anywhere: a new role, a new organisation) even pacing, and the line says
  so (`Accrual.source` "even").
A period counts for a rep only when they worked all of it (started by its first day, not
gone before its last) and their team's records had begun by its first day: a part-period
climbs late, not early. Periods of different lengths are put on one scale by the share of
their business days elapsed; the periods are pooled as counts (the things reached by a
share of the period over the things of the periods), so a busy month weighs more than a
quiet one. With no curve the rule is exactly the old even one: expected-to-date is the
target x (elapsed / the window's business days).

The curve is read once per request for every rep at once (`metrics.distinct_firsts_by_period`:
one statement per distinct metric), and only for distinct counts among the key metrics.
That read is the costly part (about 1.4 us per activity of the three past periods on
SQLite: 40 of a 65 ms scorecard on the demo), and the past periods' rows change only when
activities are written, so what it returned is kept in the process under the database's
data version (`rollup.data_version`, new after every refresh that had something to do) and
read again only when the version changes or something is marked: exactly what the statement
would return, without running it (`_history`).
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from sqlalchemy import Connection, bindparam, select

from paceline.analytics.metrics import (
    distinct_firsts_by_period,
    distinct_firsts_identity,
    records_begin,
)
from paceline.analytics.rollup import data_version
from paceline.calendar import BusinessCalendar, Period
from paceline.config import MetricSettings, Settings
from paceline.store.models import Rep, Team

HISTORY_PERIODS = 3  # past whole periods a curve is learnt from
MIN_PERIODS = 2  # a rep's (or role's) whole periods with a count, at least, for a curve
MIN_COUNTED = 30  # things counted over those periods, at least, for a curve
IN_LIST_LIMIT = 200  # past it, everyone's rows are read and the others ignored
HISTORY_KEPT = 16  # history reads kept per process (the latest used), `_history`

AccrualSource = Literal["rep", "role", "even"]


@dataclass(frozen=True, slots=True)
class Accrual:
    """How a distinct count's line is paced: `source` "rep" (the rep's own past periods),
    "role" (their role's, pooled: the rep's were too few) or "even" (no history: paced
    evenly, as a count is); `periods`, the whole periods learnt from (a role's: its reps'
    periods added up); `shares`, the share of the line's target expected by the end of each
    business day of the rep's window (empty when even)."""

    source: AccrualSource
    periods: int
    shares: tuple[float, ...] = ()

    def share(self, elapsed: int, total: int) -> float:
        """The share of the window's target expected after `elapsed` of its `total`
        business days."""
        if total <= 0 or elapsed <= 0:
            return 0.0
        if not self.shares:
            return min(elapsed, total) / total
        return self.shares[min(elapsed, len(self.shares)) - 1]

    def at(self, fraction: float) -> float:
        """The share expected after `fraction` of a period's business days (0 to 1, linear
        between days): how the alerts lay a previous period's days on the curve."""
        if fraction <= 0:
            return 0.0
        if not self.shares:
            return min(fraction, 1.0)
        return _at(self.shares, min(fraction, 1.0) * len(self.shares))

    def lift(self, elapsed: int, total: int) -> float:
        """The curve over even pacing after `elapsed` business days: what an evenly paced
        expectation of those days is multiplied by (1 when even). The alerts' trailing
        stretch and "since when" expect each day at its period's even rate, times this."""
        if total <= 0 or elapsed <= 0 or not self.shares:
            return 1.0
        even = min(elapsed, total) / total
        return self.share(elapsed, total) / even


EVEN = Accrual("even", 0)


class AccrualRep(Protocol):
    """What a curve needs of a rep (`scorecard.RosterRep` has it)."""

    @property
    def id(self) -> int: ...
    @property
    def role(self) -> str: ...
    @property
    def team(self) -> str | None: ...
    @property
    def start_date(self) -> dt.date | None: ...
    @property
    def end_date(self) -> dt.date | None: ...


@dataclass(frozen=True, slots=True)
class _RosterRep:
    id: int
    role: str
    team: str | None
    start_date: dt.date | None
    end_date: dt.date | None


@dataclass
class Curve:
    """Past whole periods' running distinct counts: per period, the count by the end of
    each of its business days (the last one the period's whole count, a trailing weekend's
    included)."""

    runs: list[tuple[float, ...]] = field(default_factory=list)
    source: AccrualSource = "even"
    _made: dict[int, tuple[float, ...]] = field(default_factory=dict)

    @property
    def counted(self) -> float:
        return sum(run[-1] for run in self.runs)

    @property
    def enough(self) -> bool:
        """Whether the periods are enough to learn from (`MIN_PERIODS`, `MIN_COUNTED`)."""
        return len(self.runs) >= MIN_PERIODS and self.counted >= MIN_COUNTED

    def shares(self, total: int) -> tuple[float, ...]:
        """The pooled share reached by the end of business day j of `total`, j = 1..total:
        each period read at the same share of its own business days (linear between its
        days), the periods' counts added, over their whole counts added."""
        made = self._made.get(total)
        if made is None:
            whole = self.counted
            made = tuple(
                sum(_at(run, j / total * len(run)) for run in self.runs) / whole
                for j in range(1, total + 1)
            )
            self._made[total] = made
        return made

    def accrual(self, total: int) -> Accrual:
        """The line's accrual over a window of `total` business days (even: too little)."""
        if not self.enough or total <= 0:
            return EVEN
        return Accrual(self.source, len(self.runs), self.shares(total))


def _at(run: tuple[float, ...], day: float) -> float:
    """A running count at a (fractional) business day: linear between whole days, 0 at 0."""
    whole = min(math.floor(day), len(run))
    before = run[whole - 1] if whole > 0 else 0.0
    if whole >= len(run):
        return run[-1]
    return before + (run[whole] - before) * (day - whole)


@dataclass(frozen=True)
class Accruals:
    """Each rep's curve per distinct metric (`of`); other metrics have none (None)."""

    curves: dict[tuple[int, str], Curve] = field(default_factory=dict)

    def of(self, rep_id: int, metric: str, total: int) -> Accrual | None:
        """The accrual of the rep's line over a window of `total` business days; None for
        a metric that is not a distinct count read here."""
        curve = self.curves.get((rep_id, metric))
        return None if curve is None else curve.accrual(total)


NO_ACCRUALS = Accruals()


def past_periods(calendar: BusinessCalendar, period: Period) -> list[Period]:
    """The `HISTORY_PERIODS` whole periods of the same kind before `period`, oldest first."""
    found: list[Period] = []
    start = period.start
    for _ in range(HISTORY_PERIODS):
        previous = calendar.period(period.kind, start - dt.timedelta(days=1))
        found.append(previous)
        start = previous.start
    return found[::-1]


def accrual_curves(
    conn: Connection,
    settings: Settings,
    calendar: BusinessCalendar,
    reps: Sequence[AccrualRep],
    period: Period,
    metrics: Iterable[str],
    by_role: Mapping[str, Sequence[str]] | None = None,
) -> Accruals:
    """The accrual curve of each rep's distinct counts among `metrics` for `period`: their
    own, their role's or none (even), by the rules of the module. `by_role`: each role's
    metrics (a scorecard's key metrics), so only the reps a metric paces are read for it;
    None: every rep for every metric (a leaderboard ranks anyone on anything)."""
    names = dict.fromkeys(metrics)
    distinct = [m for m in names if settings.metric(m).aggregate == "distinct_count"]
    if not distinct or not reps or period.kind == "day":
        return NO_ACCRUALS
    past = past_periods(calendar, period)
    bounds = [p.start for p in past] + [past[-1].end]
    days = [_business_days(calendar, p) for p in past]
    begins = records_begin(conn, calendar, {r.team for r in reps})
    roster: list[AccrualRep] | None = None
    curves: dict[tuple[int, str], Curve] = {}
    for name in distinct:
        paced = [r for r in reps if by_role is None or name in by_role.get(r.role, ())]
        asked = {rep.id: rep for rep in paced}
        ids = list(asked) if len(asked) <= IN_LIST_LIMIT else None
        metric = settings.metric(name)
        firsts = _history(conn, settings, metric, bounds, ids) if paced else {}
        own = {rep.id: _curve(rep, firsts, past, days, begins.get(rep.team)) for rep in paced}
        thin = {rep.role for rep in paced if not own[rep.id].enough}
        roles: dict[str, Curve] = {}
        if thin:
            if roster is None:  # read once: every rep of the roles asked
                roster = _role_roster(conn, {r.role for r in reps})
            everyone = [r for r in roster if r.role in thin]
            missing = [r.id for r in everyone if r.id not in asked]
            if missing and ids is not None:
                few = len(missing) <= IN_LIST_LIMIT
                firsts |= _history(conn, settings, metric, bounds, missing if few else None)
            begins |= records_begin(conn, calendar, {r.team for r in everyone} - set(begins))
            roles = _role_curves(everyone, firsts, past, days, begins)
        for rep in paced:
            curve = own[rep.id]
            if not curve.enough:  # thin: the role's, if it has enough; else even, said so
                curve = roles.get(rep.role, curve)
            curves[rep.id, name] = curve
    return Accruals(curves)


Firsts = dict[tuple[int, int], dict[dt.date, float]]
_kept: OrderedDict[tuple[Hashable, ...], Firsts] = OrderedDict()
_kept_lock = threading.Lock()


def _history(
    conn: Connection,
    settings: Settings,
    metric: MetricSettings,
    bounds: list[dt.date],
    rep_ids: Sequence[int] | None,
) -> Firsts:
    """`metrics.distinct_firsts_by_period`, kept in the process under the data version
    (`rollup.data_version`) with what the statement reads (its text and configured values,
    the bounds, the reps): the same key on the same version is the same rows, so the same
    answer. Nothing is kept or reused while something is marked (the version says nothing
    then). The caller gets its own copy of the outer mapping (it adds to it)."""
    version = data_version(conn)
    if version is None:
        return distinct_firsts_by_period(conn, settings, metric, bounds, rep_ids)
    key = (
        str(conn.engine.url),
        version,
        distinct_firsts_identity(settings, metric, len(bounds), rep_ids is not None),
        tuple(bounds),
        None if rep_ids is None else tuple(sorted(rep_ids)),
    )
    with _kept_lock:
        found = _kept.get(key)
        if found is not None:
            _kept.move_to_end(key)
            return dict(found)
    found = distinct_firsts_by_period(conn, settings, metric, bounds, rep_ids)
    with _kept_lock:
        _kept[key] = found
        while len(_kept) > HISTORY_KEPT:
            _kept.popitem(last=False)
    return dict(found)


def forget_history() -> None:
    """Empty the process's kept history reads (a test reading the statement's cost)."""
    with _kept_lock:
        _kept.clear()


def pooled_curve(
    firsts: Firsts, whole: Iterable[tuple[int, int]], days: Sequence[list[dt.date]]
) -> Curve:
    """A role's curve from chosen whole periods, `whole` (rep id, period index) of
    `distinct_firsts_by_period`'s answer, `days[i]` the business days of period i: for a
    caller whose periods are not a calendar's (the demo's run-rate months)."""
    runs = [_run(firsts[key], days[key[1]]) for key in whole if key in firsts]
    return Curve([run for run in runs if run[-1] > 0], "role")


def _business_days(calendar: BusinessCalendar, period: Period) -> list[dt.date]:
    days = (period.start + dt.timedelta(days=i) for i in range((period.end - period.start).days))
    return [day for day in days if calendar.is_business_day(day)]


def _curve(
    rep: AccrualRep,
    firsts: dict[tuple[int, int], dict[dt.date, float]],
    past: list[Period],
    days: list[list[dt.date]],
    team_begins: dt.date | None,
    source: AccrualSource = "rep",
) -> Curve:
    """A rep's whole past periods with a count, as running counts by business day."""
    runs = [
        _run(firsts[rep.id, i], days[i])
        for i in range(len(past))
        if (rep.id, i) in firsts and days[i] and _whole(rep, days[i], team_begins)
    ]
    return Curve([run for run in runs if run[-1] > 0], source)


def _whole(rep: AccrualRep, days: list[dt.date], team_begins: dt.date | None) -> bool:
    """Whether the rep worked every business day of a period (`days`), their team's records
    begun by the first: a start, an end or records beginning on a weekend before or after
    changes nothing (an organisation whose records begin on a month's first Monday has the
    whole month)."""
    started = rep.start_date is None or rep.start_date <= days[0]
    stayed = rep.end_date is None or rep.end_date >= days[-1]
    recorded = team_begins is not None and team_begins <= days[0]
    return started and stayed and recorded


def _run(added: dict[dt.date, float], days: list[dt.date]) -> tuple[float, ...]:
    """The running count by the end of each business day; the last, the period's whole."""
    ordered = sorted(added.items())
    running: list[float] = []
    total, i = 0.0, 0
    for day in days:
        while i < len(ordered) and ordered[i][0] <= day:
            total += ordered[i][1]
            i += 1
        running.append(total)
    running[-1] = sum(added.values())
    return tuple(running)


def _role_curves(
    roster: list[AccrualRep],
    firsts: dict[tuple[int, int], dict[dt.date, float]],
    past: list[Period],
    days: list[list[dt.date]],
    begins: dict[str | None, dt.date],
) -> dict[str, Curve]:
    """Each role's curve: every whole period of every rep of the role, pooled."""
    roles: dict[str, Curve] = {}
    for rep in roster:
        runs = _curve(rep, firsts, past, days, begins.get(rep.team), "role").runs
        roles.setdefault(rep.role, Curve(source="role")).runs.extend(runs)
    return roles


_ROLE_ROSTER = (
    select(Rep.id, Rep.role, Team.name, Rep.start_date, Rep.end_date)
    .outerjoin(Team, Team.id == Rep.team_id)
    .where(Rep.role.in_(bindparam("roles", expanding=True)))
)


def _role_roster(conn: Connection, roles: set[str]) -> list[AccrualRep]:
    """Every rep of these roles in the organisation (a role's curve is everyone's)."""
    rows = conn.execute(_ROLE_ROSTER, {"roles": sorted(roles)}).all()
    return [_RosterRep(int(i), role, team, start, end) for i, role, team, start, end in rows]
