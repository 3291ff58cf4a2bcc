"""The revenue equation: why a rep's revenue is what it is, one factor at a time.

Revenue is decomposed *exactly* as

    revenue = prospects x (selling activities / prospect) x (wins / selling activity)
              x (revenue / win)

where prospects are the distinct accounts the rep had selling activity with (an Ask in front
of them) in the window, selling activities all the rep's selling activities, wins the deals
the rep owns that closed won in the window, and revenue their amount. Each factor is read
against a reference: the median of that factor over the rep's comparison group (the rep and
their peers), so one giant win or one idle colleague cannot move it much. The reference
revenue is the product of the reference factors, and because logarithms turn the product
into a sum, the rep's gap `ln(revenue / reference revenue)` splits exactly into one
contribution per factor, `ln(factor / reference)`: the most negative is what holds the rep
back. A factor at zero (no prospects, no selling, no wins) makes revenue zero; there is no
logarithm of zero, so that factor is named instead of faking a number.

A rep with no activity logged at all in the window (a CRM export of deals only, or activity
kept elsewhere) has not "worked no prospects": their prospects and selling are *unknown*. The
equation says so (`missing = "activities"`), leaves the first three factors undefined, and
still reports what the deals show (wins, revenue, revenue per win); such reps are left out of
the medians of the factors they have no data for, so a deals-only team is not all "held back
by prospects". Likewise a rep whose selling activities name no account at all (a CRM that
logs calls without the company) has unknown prospects (`missing = "accounts"`), not zero.
So does one whose selling activities name an account only now and then: with 59 of 60 calls
naming none (Zoho's calls to leads), "1 prospect, 60 activities per prospect" split the
product wrongly between the two factors and could name either as what holds the rep back.
Above `MAX_UNNAMED_SHARE` of selling activities without an account the prospects are
unknown; below it the factors stand, and `selling_without_account` says how many were left
out of the prospects. A rep with no selling activity whose activities include selling kinds on
which nobody records an Ask (`step_rules.recorded_kinds`: Zoho's events carry none) has
unknown prospects too (`missing = "asks"`): whether those meetings put an Ask in front of
anyone is not known, so they are neither zero prospects nor in the medians.
A rep with won deals whose amount the CRM left empty (`missing = "amounts"`) has revenue known
only in part: revenue per win is read on the wins with an amount, and the gap is not split
(the sum of the known amounts is not the rep's revenue).

When the organisation's selling activities are recorded only from part-way through the window
(calls imported from February 14 for a quarter from January 1), dividing the whole window's
wins by them inflates wins per selling activity (the Zoho export's Q1 2021: 291 wins over
2,900 selling calls, 0.100 a call, where the calls' own span from February 14 has 179 wins,
0.062; the peers' median 0.20 against 0.118). The equation is then read from the first
selling activity recorded (`step_rules.recording_start`, the forecast's rule: a start more
than a week into the window, strays ahead of a month's silence aside), every factor alike, so
revenue is still their exact product; `measured_from` says so, and every face shows it.

A rep who started or left during the window is read over the days they were there
(`peers.days_worked`; `worked_from`, `worked_to`), and the volumes they are set against are
the peers' over the same days: the medians of prospects and of selling activities per
prospect (distinct accounts, and so repeat calls per account, grow with the days but not in
proportion: counted over the same days, no scaling is needed). Set against the peers' full
window, a rep there 8 days of 13 had fewer prospects for the days alone, and the equation
named prospects as what held them back, with a gap made of missing days. The medians of
the two ratios, wins per selling activity and revenue per win, are the group's over the
whole window as for everyone (a rate does not grow with the days, and three days of a
starter's hold too few wins to read one). A peer not there on any of the rep's days is in
none of the day-matched medians.

A peer who started or left during the window read (`peers.days_worked` short of its
business days) is left out of the medians of prospects and of selling activities per
prospect, and kept in the other two. Prospects are distinct accounts, and those do not
scale with days: a rep who worked 8 days of 13 reached fewer accounts, but not 8/13 of
them (the accounts of the first days come back), so neither the count at face value (it
pulls the median down, and the rep looks ahead on prospects) nor one scaled by days (it
invents accounts nobody reached) is the peer's full-window figure; and selling activities per
prospect shares that denominator. Wins per activity and revenue per win are ratios of the
same days, read as they stand. The rep's own factors are the rep's.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, Engine, Select, String, case, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from paceline.analytics import aggregates
from paceline.analytics.metric_sql import is_additive_activity_metric, selling_condition
from paceline.analytics.metrics import amounts_unknown
from paceline.analytics.money import money_average
from paceline.analytics.peers import (
    GroupKey,
    PeerIndex,
    compared_ids,
    compared_totals,
    days_worked,
    diagnosis_scope,
)
from paceline.analytics.rollup import ensure_rollup
from paceline.analytics.scorecard import RosterRep
from paceline.analytics.step_rules import kind_counts, metric_recording_start, recorded_kinds
from paceline.analytics.window import Window
from paceline.calendar import BusinessCalendar
from paceline.config import Settings
from paceline.store.models import Activity, ProspectDay

# Above this share of a rep's selling activities naming no account, the rep's prospects
# (distinct accounts) are unknown rather than counted from the few that name one.
MAX_UNNAMED_SHARE = 0.1

# (name, label) of each factor, in the equation's order.
FACTORS: tuple[tuple[str, str], ...] = (
    ("prospects", "Prospects"),
    ("activities_per_prospect", "Selling activities per prospect"),
    ("wins_per_activity", "Wins per selling activity"),
    ("revenue_per_win", "Revenue per win"),
)
SELLING_METRIC = "selling_activities"
WINS_METRIC = "deals_won"
REVENUE_METRIC = "revenue"

FactorValues = tuple[float | None, float | None, float | None, float | None]


@dataclass(frozen=True)
class Factor:
    """One factor of a rep's equation beside the comparison group's median."""

    name: str
    label: str
    value: float | None  # None: undefined (revenue per win without wins)
    reference: float | None  # median over the comparison group's defined values
    contribution: float | None  # ln(value / reference); None when any factor is zero

    @property
    def relative(self) -> float | None:
        """The rep's factor as a multiple of the reference (0.5 = half)."""
        if self.value is None or not self.reference:
            return None
        return self.value / self.reference


@dataclass(frozen=True)
class RepEquation:
    """One rep's revenue, its four factors, and the gap to the comparison group."""

    rep: str
    rep_id: int
    role: str
    team: str | None
    peers: list[str]  # whom the reference is the median of, besides the rep
    prospects: int
    selling_activities: int
    wins: int
    revenue: float
    factors: list[Factor]
    reference_revenue: float | None
    gap: float | None  # ln(revenue / reference revenue); None when revenue is 0 (-infinity)
    holding_back: str | None  # the factor with the most negative contribution, or at zero
    zero_factor: str | None  # the first factor at zero, in equation order
    applicable: bool  # False for roles that close no deals (everyone at zero wins)
    reason: str | None  # why not applicable, or why there is no gap
    # "activities": none logged in the window; "accounts": selling logged, but naming no
    # account (or too few do); "asks": no selling, only selling kinds on which nobody records
    # an Ask. Either way the factors that need them are unknown, not zero.
    # "amounts": some wins have no amount recorded, so revenue is known only in part.
    missing: str | None = None
    wins_without_amount: int = 0  # won deals with no amount: not in revenue
    selling_without_account: int = 0  # selling activities naming no account: no prospect
    # The first day read, when the organisation's selling activities are recorded only from
    # more than a week into the window (`step_rules.recording_start`); None: the whole window.
    measured_from: dt.date | None = None
    # The first and last day read for a rep who started or left during the window read: the
    # rep's figures and the peers' medians are of those days alone; None: the whole window.
    worked_from: dt.date | None = None
    worked_to: dt.date | None = None

    @property
    def too_few_accounts_named(self) -> bool:
        """Prospects unknown because too few selling activities name an account, though
        some do (not none at all): the faces say so in their own words."""
        return self.missing == "accounts" and self.prospects > 0

    @property
    def relative_revenue(self) -> float | None:
        """Revenue as a multiple of the reference revenue (exp of the gap)."""
        return None if self.gap is None else math.exp(self.gap)


@dataclass(frozen=True)
class EquationReport:
    window: Window  # the window asked for
    team: str | None
    rep: str | None
    reps: list[RepEquation]
    # The first day read when selling activities are recorded from later (`RepEquation`).
    measured_from: dt.date | None = None


@dataclass(frozen=True)
class Decomposition:
    """A gap and its per-factor parts, which add up to it."""

    gap: float
    contributions: tuple[float, ...]


def equation_factors(
    prospects: float, activities: float, wins: float, revenue: float
) -> FactorValues:
    """The four factors; a ratio with nothing below it is undefined (None), not zero.

    With every count positive their product is `revenue` (up to rounding).
    """
    return (
        float(prospects),
        activities / prospects if prospects > 0 else None,
        wins / activities if activities > 0 else None,
        revenue / wins if wins > 0 else None,
    )


def decompose(
    revenue: float, factors: Sequence[float], references: Sequence[float]
) -> Decomposition:
    """Split `ln(revenue / prod(references))` into `ln(factor / reference)` per factor.

    Every number must be positive and `revenue` the product of `factors`; then the
    contributions sum to the gap exactly (in exact arithmetic; to rounding in floats).
    """
    if revenue <= 0 or min(*factors, *references) <= 0:
        raise ValueError("decompose needs positive revenue, factors and references")
    gap = math.log(revenue / math.prod(references))
    parts = tuple(math.log(v / r) for v, r in zip(factors, references, strict=True))
    return Decomposition(gap, parts)


def revenue_equation(
    engine: Engine,
    settings: Settings,
    window: Window,
    *,
    team: str | None = None,
    rep: str | None = None,
) -> EquationReport:
    """Every rep in scope (a team, one rep, or everyone), each against their peers."""
    ensure_rollup(engine, settings)
    calendar = BusinessCalendar(settings.calendar)
    with engine.connect() as conn:
        scope, everyone = diagnosis_scope(conn, settings, window, team, rep)
        read = recorded_window(conn, settings, window)
        counts = _counts(conn, settings, read, compared_ids(scope, everyone))
        counts = _marked_part_window(settings, read, everyone, counts)
        measured_from = read.start if read.start != window.start else None
        peers = PeerIndex(everyone)
        groups: dict[GroupKey, _Reference] = {}

        def reference(r: RosterRep) -> _Reference | None:
            """The medians of the rep's peer group (the rep and their peers: the group)."""
            key, members = peers.group(r)
            if r.id not in peers.ids(key):
                return None
            if key not in groups:
                groups[key] = _reference([counts[m.id] for m in members])
            return groups[key]

        spans: _SpanGroups = {}
        reps = []
        for r in scope:
            worked = worked_window(calendar, read, r)
            shared = reference(r)
            if worked is None or shared is None:
                reps.append(_rep_equation(r, peers(r), counts, shared, measured_from))
            else:
                span = _span_group(conn, settings, worked, r, peers, spans)
                reps.append(_part_window_equation(r, worked, span, shared, measured_from))
    return EquationReport(window, team, rep, reps, measured_from)


def worked_window(calendar: BusinessCalendar, window: Window, rep: RosterRep) -> Window | None:
    """The days of `window` the rep was there (from their start date through their last day),
    when they are fewer business days than the window's and at least one; None otherwise
    (the whole window is read)."""
    worked = days_worked(calendar, window, rep)
    if not worked or worked >= calendar.business_days(window.start, window.end):
        return None
    start = max(window.start, rep.start_date or window.start)
    end = min(window.end, rep.end_date + dt.timedelta(days=1)) if rep.end_date else window.end
    return Window(window.spec, start, end)


@dataclass(frozen=True)
class _SpanGroup:
    """A peer group over a span of days: its members there on any of them, their counts
    (each marked when there for only some: `_marked_part_window`) and the medians."""

    members: list[RosterRep]
    counts: Counts
    medians: list[float | None]


_SpanGroups = dict[tuple[GroupKey, dt.date, dt.date], _SpanGroup]


def _span_group(
    conn: Connection,
    settings: Settings,
    worked: Window,
    rep: RosterRep,
    peers: PeerIndex,
    found: _SpanGroups,
) -> _SpanGroup:
    """The rep's group over the days `worked`, read once per group and span (reps who
    started the same day share it)."""
    key, members = peers.group(rep)
    cached = found.get((key, worked.start, worked.end))
    if cached is not None:
        return cached
    calendar = BusinessCalendar(settings.calendar)
    there = [m for m in members if days_worked(calendar, worked, m)]
    counts = _counts(conn, settings, worked, [m.id for m in there])
    counts = _marked_part_window(settings, worked, there, counts)
    medians, _ = _reference([counts[m.id] for m in there])
    group = found[key, worked.start, worked.end] = _SpanGroup(there, counts, medians)
    return group


def _part_window_equation(
    rep: RosterRep,
    worked: Window,
    span: _SpanGroup,
    whole: _Reference,
    measured_from: dt.date | None,
) -> RepEquation:
    """A rep there for part of the window, over those days, against the medians of volume
    of their group over the same days (`span`) and the group's ratios over the whole window
    (`whole`, with whether anyone in it won)."""
    medians, applicable = whole
    shared = ([*span.medians[:2], *medians[2:]], applicable)
    others = [m for m in span.members if m.id != rep.id]
    found = _rep_equation(rep, others, span.counts, shared, measured_from)
    return replace(found, worked_from=worked.start, worked_to=worked.as_of)


def _marked_part_window(
    settings: Settings, window: Window, everyone: Sequence[RosterRep], counts: Counts
) -> Counts:
    """The counts, each marked when its rep worked only part of the window's business days
    (started or left in it): their prospects are no peer's full-window figure."""
    calendar = BusinessCalendar(settings.calendar)
    whole = calendar.business_days(window.start, window.end)
    part = {r.id for r in everyone if r.id in counts and days_worked(calendar, window, r) < whole}
    return {i: replace(c, part_window=True) if i in part else c for i, c in counts.items()}


def recorded_window(conn: Connection, settings: Settings, window: Window) -> Window:
    """The part of `window` the equation reads: from the organisation's first selling activity
    recorded, when that is more than a week into the window (`recording_start`); else the
    whole window.

    Why the organisation's, not each rep's: a rep idle for the window's first weeks has a
    real zero there, while a CRM that began recording selling activity mid-window has no
    record for anyone; and one day for everyone keeps the rep and the peers like with like."""
    if not is_additive_activity_metric(settings.metric(SELLING_METRIC)):
        return window  # not in the rollup (configured as a distinct count): read it whole
    start = metric_recording_start(conn, SELLING_METRIC, window.start, window.end)
    return window if start is None else Window(window.spec, start, window.end)


# The median of each factor over a rep and their peers, and whether any of them won.
_Reference = tuple[list[float | None], bool]


def _reference(group: list[_Counts]) -> _Reference:
    values = [c.median_values for c in group]
    medians = [_median([v[i] for v in values]) for i in range(len(FACTORS))]
    return medians, any(c.wins > 0 for c in group)


@dataclass(frozen=True)
class _Counts:
    """One rep's figures over the window; `logged` counts every activity, selling or not."""

    prospects: int
    selling: int
    wins: int
    revenue: float  # of the wins with an amount
    logged: int
    wins_unknown: int = 0  # wins with no amount recorded
    unnamed: int = 0  # selling activities naming no account
    part_window: bool = False  # the rep started or left during the window
    ask_unknown: int = 0  # activities of selling kinds on which nobody records an Ask

    @property
    def missing(self) -> str | None:
        """The data the factors need and the rep's records lack, if any."""
        if not self.logged:
            return "activities"
        if not self.selling and self.ask_unknown:
            return "asks"
        if self.selling and (not self.prospects or self.unnamed > MAX_UNNAMED_SHARE * self.selling):
            return "accounts"
        return "amounts" if self.wins_unknown else None

    @property
    def values(self) -> FactorValues:
        """The factors; those that need missing data are unknown (None), not zero. Revenue
        per win is of the wins with an amount."""
        values = equation_factors(self.prospects, self.selling, self.wins, self.revenue)
        known = self.wins - self.wins_unknown
        per_win = money_average(self.revenue, known)  # of the exact total
        values = (values[0], values[1], values[2], per_win)
        if self.missing in ("activities", "asks"):
            return (None, None, None, values[3])
        if self.missing == "accounts":
            return (None, None, values[2], values[3])
        return values

    @property
    def median_values(self) -> FactorValues:
        """The factors the group's medians are taken of: a rep there for part of the window
        has no full-window prospects (distinct accounts do not scale with days), so neither
        those nor selling activities per prospect count (see the module's notes)."""
        values = self.values
        return (None, None, values[2], values[3]) if self.part_window else values


Counts = dict[int, _Counts]


def _counts(conn: Connection, settings: Settings, window: Window, rep_ids: list[int]) -> Counts:
    metrics = [SELLING_METRIC, WINS_METRIC, REVENUE_METRIC]
    totals = compared_totals(conn, settings, metrics, window, rep_ids)
    activity = _activity_counts(conn, settings, window, rep_ids)
    unknown = amounts_unknown(conn, settings, REVENUE_METRIC, window.start, window.end, rep_ids)
    ask_unknown = _ask_not_recorded(conn, settings, window, rep_ids)
    counts = {}
    for rep_id in rep_ids:
        prospects, logged, named = activity.get(rep_id, (0, 0, 0))
        selling = round(totals.get(rep_id, SELLING_METRIC))
        counts[rep_id] = _Counts(
            prospects,
            selling,
            round(totals.get(rep_id, WINS_METRIC)),
            totals.get(rep_id, REVENUE_METRIC),
            logged,
            unknown.get(rep_id, 0),
            max(selling - named, 0),
            ask_unknown=ask_unknown.get(rep_id, 0),
        )
    return counts


def _ask_not_recorded(
    conn: Connection, settings: Settings, window: Window, rep_ids: list[int]
) -> dict[int, int]:
    """Per rep: activities of the selling kinds on which nobody records an Ask before the
    window's end (`step_rules.recorded_kinds`, the rule the activity summary and busy vs
    productive follow). Their Ask is unknown, so whether they were selling is too: Zoho's
    events carry no Ask, and a rep who sold only in meetings read "no prospects worked"."""
    if not settings.selling.require_ask:
        return {}
    rows = kind_counts(conn, window.start, window.end, rep_ids)
    attempted = {kind for _, kind, _, _, _ in rows if kind in settings.selling_kinds}
    seen = {kind for _, kind, _, asks, _ in rows if asks}
    recorded = recorded_kinds(conn, attempted, seen, window.end, "asks")
    unknown: dict[int, int] = {}
    for rep_id, kind, n, _, _ in rows:
        if kind in attempted - recorded:
            unknown[rep_id] = unknown.get(rep_id, 0) + n
    return unknown


def _activity_counts(
    conn: Connection, settings: Settings, window: Window, rep_ids: list[int]
) -> dict[int, tuple[int, int, int]]:
    """Per rep: (distinct accounts with selling activity, activities logged of any kind,
    selling activities naming an account)."""
    if not rep_ids:
        return {}
    if aggregates.reading():
        found = aggregates.prospects(conn, window.start, window.end, rep_ids)
        named = _named_selling(conn, window, rep_ids)
        logged: dict[int, int] = {}
        for rep_id, _, n, _, _ in aggregates.kind_counts(conn, window.start, window.end, rep_ids):
            logged[rep_id] = logged.get(rep_id, 0) + n
        return {r: (found.get(r, 0), n, named.get(r, 0)) for r, n in logged.items()}
    selling = selling_condition(settings)
    selling_account = case((selling, Activity.account_id))
    query = (
        select(
            Activity.rep_id,
            func.count(selling_account.distinct()),
            func.count(),
            func.count(selling_account),
        )
        .where(
            Activity.rep_id.in_(rep_ids),
            Activity.local_date >= window.start,
            Activity.local_date < window.end,
        )
        .group_by(Activity.rep_id)
    )
    return {
        int(rep_id): (int(n), int(logged), int(named))
        for rep_id, n, logged, named in conn.execute(query)
    }


def _named_selling(conn: Connection, window: Window, rep_ids: list[int]) -> dict[int, int]:
    """Per rep: selling activities naming an account, from the prospect-day cells (each
    cell counts its events: a rep's selling activities on one account and day)."""
    query = named_selling_query(window, rep_ids)
    return {int(rep_id): int(n or 0) for rep_id, n in conn.execute(query)}


def named_selling_query(window: Window, rep_ids: list[int]) -> Select[int, int]:
    """The sum behind `_named_selling`, which the rep/day index covers (metric and events
    included), so it reads no table row: a 10M team's took 0.5 s through the table.

    The metric is compared outside any index (`_Unindexed`): without statistics, SQLite
    weighed the primary key's equality on the metric above the index's list of reps and
    range of days once the list was long (a brief's 96 peers), and then read every
    `@selling` cell of the whole history, 1.9M at 10M activities: 250-300 ms, against 30-40
    through the index, which still tests the metric on each entry it reads."""
    return (
        select(ProspectDay.rep_id, func.sum(ProspectDay.events))
        .where(
            _Unindexed(ProspectDay.metric) == aggregates.SELLING,
            ProspectDay.rep_id.in_(rep_ids),
            ProspectDay.local_date >= window.start,
            ProspectDay.local_date < window.end,
        )
        .group_by(ProspectDay.rep_id)
    )


class _Unindexed(FunctionElement[str]):
    """A column no index may be chosen for: `+column` on SQLite (its documented way to keep
    a term from driving the plan), the column itself elsewhere."""

    type = String()
    inherit_cache = True


@compiles(_Unindexed)
def _unindexed(element: _Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(_Unindexed, "sqlite")
def _unindexed_sqlite(element: _Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + str(compiler.process(element.clauses, **kw))


def _rep_equation(
    rep: RosterRep,
    peers: list[RosterRep],
    counts: Counts,
    shared: _Reference | None = None,
    measured_from: dt.date | None = None,
) -> RepEquation:
    """`shared`: the medians of the rep's whole peer group, when the rep is in it (the same
    numbers: a median depends only on the values, not on their order)."""
    own = counts[rep.id]
    prospects, selling, wins, revenue = own.prospects, own.selling, own.wins, own.revenue
    values = own.values
    references, applicable = shared or _reference([own, *(counts[p.id] for p in peers)])
    # Nothing logged is worth saying for any role; accounts only where revenue is the result.
    missing = own.missing if applicable or own.missing == "activities" else None
    if missing is not None:
        verdict = _missing_data(missing, wins, own.wins_unknown)
    else:
        verdict = _verdict(values, references, revenue) if applicable else _NOT_APPLICABLE
    return RepEquation(
        rep=rep.name,
        rep_id=rep.id,
        role=rep.role,
        team=rep.team,
        peers=[p.name for p in peers],
        prospects=prospects,
        selling_activities=selling,
        wins=wins,
        revenue=revenue,
        factors=_factors(values, references, verdict.contributions),
        reference_revenue=verdict.reference_revenue,
        gap=verdict.gap,
        holding_back=verdict.zero_factor or _most_negative(verdict.contributions),
        zero_factor=verdict.zero_factor,
        applicable=applicable,
        reason=verdict.reason,
        missing=missing,
        wins_without_amount=own.wins_unknown,
        selling_without_account=own.unnamed,
        measured_from=measured_from,
    )


_MISSING = {
    "activities": "no activities logged in this window: prospects and selling activity are "
    "unknown (not zero)",
    "asks": "the activities logged in this window are of selling kinds on which nobody "
    "records an Ask, or not selling: prospects and selling activity are unknown (not zero)",
    "accounts": "the selling activities logged in this window name no account (or too few "
    "do): prospects are unknown (not zero)",
}


def _missing_data(missing: str, wins: int, unknown: int = 0) -> _Verdict:
    """Say which data is missing and what the deals still show."""
    deals = "wins, revenue and revenue per win come from the deals" if wins else "no deal won"
    if missing == "amounts":
        what = (
            f"{unknown} of {wins} wins in this window have no amount recorded: revenue is "
            "the sum of the others (not counting those as zero)"
        )
        deals = "revenue per win is of the wins with an amount"
    else:
        what = _MISSING[missing]
    reason = f"{what}, so revenue cannot be split into factors; {deals}"
    return _Verdict(None, None, None, None, reason)


@dataclass(frozen=True)
class _Verdict:
    reference_revenue: float | None
    gap: float | None
    contributions: tuple[float, ...] | None
    zero_factor: str | None
    reason: str | None


_NOT_APPLICABLE = _Verdict(
    None,
    None,
    None,
    None,
    "nobody in the comparison group won a deal in this window: deals credit their owner, so "
    "revenue is not this role's result (SDRs source deals; they do not close them)",
)


def _verdict(values: FactorValues, references: list[float | None], revenue: float) -> _Verdict:
    zero = next((FACTORS[i][0] for i, v in enumerate(values) if v is None or v <= 0), None)
    refs = [r for r in references if r is not None and r > 0]
    if len(refs) < len(FACTORS):
        return _Verdict(None, None, None, zero, _no_reference_reason(references))
    reference_revenue = math.prod(refs)
    if zero is not None:
        # Revenue without logged selling (won deals, no prospects) still has a gap.
        gap = math.log(revenue / reference_revenue) if revenue > 0 else None
        reason = f"{zero} is zero: there is no logarithm of zero, so no gap to split"
        return _Verdict(reference_revenue, gap, None, zero, reason)
    parts = decompose(revenue, [v or 0.0 for v in values], refs)
    return _Verdict(reference_revenue, parts.gap, parts.contributions, None, None)


def _no_reference_reason(references: list[float | None]) -> str:
    """Why there is no reference revenue, naming the medians that are zero or unknown: it
    said "most won nothing" whatever the factor, beside peers who had all won (the Zoho
    export's April 2021: every rep won 9 to 24 deals; the median of prospects was 0)."""
    parts = [
        f"{label.lower()} is {'unknown' if ref is None else 'zero'}"
        for (_, label), ref in zip(FACTORS, references, strict=True)
        if ref is None or ref <= 0
    ]
    return (
        f"the comparison group's median of {' and of '.join(parts)} in this window, so there "
        "is no reference revenue to split a gap by: read a longer window"
    )


def _factors(
    values: FactorValues,
    references: list[float | None],
    contributions: tuple[float, ...] | None,
) -> list[Factor]:
    return [
        Factor(name, label, values[i], references[i], contributions[i] if contributions else None)
        for i, (name, label) in enumerate(FACTORS)
    ]


def _most_negative(contributions: tuple[float, ...] | None) -> str | None:
    if not contributions:
        return None
    i = min(range(len(contributions)), key=contributions.__getitem__)
    return FACTORS[i][0] if contributions[i] < 0 else None


def _median(values: Sequence[float | None]) -> float | None:
    defined = [v for v in values if v is not None]
    return float(statistics.median(defined)) if defined else None
