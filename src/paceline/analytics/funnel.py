"""The funnel: each configured step's count, conversion and timing, a rep beside their peers.

A manager who knows a rep is behind needs to know *where* the rep loses prospects: plenty of
calls but no conversations is a list problem, conversations without meetings a targeting or
asking problem, proposals without wins a closing problem. So each step is compared with the
step before, for the subject (a rep, a team, or everyone) and for a comparison group (the
rep's peers; for a team, the same roles outside it), and the step where the subject falls
furthest below is named, with an exact test so that four proposals and no win is reported as
"too few to tell" rather than as a verdict.

Timing reads the prospects themselves: for every account that reached step k in the window,
the time from its first step-k event to its first step-(k+1) event at or after it. All of it
is aggregated in the database, in one query per funnel, so a team over 10M activities sends
back at most a row per hour of gap and step, never its events. The configured funnel's
activity steps are read from the maintained aggregates (`aggregates`: per prospect and step,
the first and last event per day), one seek per prospect; other steps from their events.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Literal

from sqlalchemy import (
    CTE,
    ColumnElement,
    CompoundSelect,
    Connection,
    Engine,
    Integer,
    Select,
    Subquery,
    and_,
    case,
    extract,
    func,
    literal_column,
    or_,
    select,
    union_all,
)

from paceline.analytics import aggregates
from paceline.analytics.compare import RateComparison, compare_rates
from paceline.analytics.late_entry import as_of_end, entered_before
from paceline.analytics.local_days import LocalDays
from paceline.analytics.metric_sql import (
    activity_filter,
    deal_credit_column,
    deal_date_column,
    deal_filter,
    needs_contact,
)
from paceline.analytics.metrics import MetricTotals, utc_bounds
from paceline.analytics.peers import (
    PeerIndex,
    PeerSums,
    compared_totals,
    diagnosis_reps,
    find_rep,
    peers_of,
)
from paceline.analytics.rollup import ensure_rollup
from paceline.analytics.scorecard import RosterRep
from paceline.analytics.step_rules import (
    StepNote,
    conversion_notes,
    counted_steps,
    hand_overs,
    handed_over_steps,
    recorded_steps,
)
from paceline.analytics.window import Window
from paceline.config import MetricSettings, Settings
from paceline.errors import UserInputError, did_you_mean
from paceline.store.models import Activity, Contact, Deal

Verdict = Literal["weak", "too_few", "none"]
SubjectKind = Literal["rep", "team", "everyone"]

SUBJECT = 0  # the `side` of an event: the subject's reps...
PEERS = 1  # ...or the comparison group's
_IN_LIST_LIMIT = 200  # beyond this many reps, totals are read for everyone and filtered here


@dataclass(frozen=True)
class FunnelStep:
    """One step: counts, the conversion from the step before, and the days it takes.

    `comparison` is set from the second step on when there is something to test (both sides
    had the step before, and someone reached this one); `verdict` says what it shows:
    "weak" (below the peers, significantly), "too_few" (below, but the sample cannot tell),
    "none" (not below). Timing is the median over accounts that reached both steps.

    `note` (the subject's) and `peer_note` say why a conversion is not a measured rate
    (`step_rules`): a step the organisation does not record, or one outnumbering the step
    before it where that cannot be a conversion. Such a conversion is None, is not compared,
    and is never the weakest step.
    """

    metric: str
    label: str
    previous: str | None  # the step before (None: the first step)
    count: float
    peer_count: float | None  # None: no comparison group
    conversion: float | None  # count / the previous step's count (None: nothing to divide)
    peer_conversion: float | None
    comparison: RateComparison | None
    verdict: Verdict | None  # None: not compared
    significant: bool
    median_days: float | None  # from the first previous-step event, per account
    median_accounts: int  # accounts behind `median_days`
    peer_median_days: float | None
    peer_median_accounts: int
    note: StepNote | None = None
    peer_note: StepNote | None = None

    @property
    def relative(self) -> float | None:
        """The subject's conversion as a share of the peers' (0.5 = half as good)."""
        return self.comparison.relative if self.comparison else None

    @property
    def p_value(self) -> float | None:
        return self.comparison.p_value if self.comparison else None

    @property
    def from_count(self) -> float | None:
        """The subject's count at the step before: the sample behind the conversion."""
        return self.comparison.rep_from if self.comparison else None


@dataclass(frozen=True)
class Funnel:
    """The subject's funnel over the window beside the comparison group's, pooled."""

    window: Window
    subject: str  # the rep's or team's name, or "everyone"
    subject_kind: SubjectKind
    reps: list[str]  # whose activity the subject's counts pool
    compared_with: list[str]  # whose activity the peers' counts pool (empty: no comparison)
    significance: float
    steps: list[FunnelStep]
    weakest: FunnelStep | None  # the lowest conversion relative to the peers, if any tested
    weak_steps: list[FunnelStep]  # every significantly weak step, weakest first

    def step(self, metric: str) -> FunnelStep | None:
        return next((s for s in self.steps if s.metric == metric), None)


@dataclass(frozen=True)
class _Timing:
    days: float | None
    accounts: int


_NO_TIMING = _Timing(None, 0)


@dataclass(frozen=True)
class _Groups:
    subject: str
    kind: SubjectKind
    subject_reps: list[RosterRep]
    peers: list[RosterRep]

    @property
    def subject_ids(self) -> list[int]:
        return [r.id for r in self.subject_reps]

    @property
    def peer_ids(self) -> list[int]:
        return [r.id for r in self.peers]


def funnel(
    engine: Engine,
    settings: Settings,
    window: Window,
    *,
    rep: str | None = None,
    team: str | None = None,
    steps: list[str] | None = None,
    timing: bool = True,
) -> Funnel:
    """The funnel of a rep (beside peers), a team (beside the same roles outside it) or all.

    `steps` defaults to `[funnel] steps`; each must be a count or sum metric. `timing=False`
    skips the median days (left empty), for callers that only need conversions.
    """
    if rep is not None and team is not None:
        raise UserInputError("rep: give a rep or a team, not both")
    metrics = funnel_metrics(settings, steps)
    ensure_rollup(engine, settings)
    with engine.connect() as conn:
        groups = _groups(conn, settings, window, rep, team)
        counts = _counts(conn, settings, window, metrics, groups)
        timings = (
            _timings(conn, settings, window, metrics, groups)
            if timing
            else [(_NO_TIMING, _NO_TIMING)] * (len(metrics) - 1)
        )
        recorded = _recorded(conn, settings, window, metrics, counts)
    return _assemble(settings, window, metrics, groups, counts, timings, recorded)


def rep_funnels(
    engine: Engine,
    settings: Settings,
    window: Window,
    reps: Sequence[RosterRep],
    everyone: Sequence[RosterRep],
) -> dict[int, Funnel]:
    """Many reps' funnels, each beside their peers, conversions only (no median days).

    A team's diagnosis needs every rep's weak steps; reading the totals once for all of them
    instead of once per rep turns 200 round trips into one on the 10M benchmark.
    """
    metrics = funnel_metrics(settings)
    ensure_rollup(engine, settings)
    peers = PeerIndex(everyone)
    groups = [_Groups(r.name, "rep", [r], peers(r)) for r in reps]
    wanted = sorted({i for g in groups for i in (*g.subject_ids, *g.peer_ids)})
    with engine.connect() as conn:
        totals = compared_totals(conn, settings, [m.name for m in metrics], window, wanted)
        columns = _columns(totals, metrics)
        seen = {m.name: float(any(v > 0 for v in columns[m.name].values())) for m in metrics}
        recorded = recorded_steps(conn, settings, [m.name for m in metrics], seen, window.end)
    no_timing = [(_NO_TIMING, _NO_TIMING)] * (len(metrics) - 1)
    sums = PeerSums(peers, lambda rep_id, name: columns[name].get(rep_id, 0.0))

    def pooled(rep: RosterRep) -> dict[str, tuple[float, float]]:
        """`_pooled` of the rep beside their peers, the peers' side from the group's sums."""
        return {
            m.name: (sum([columns[m.name].get(rep.id, 0.0)]), sums.plain_sum(rep, m.name))
            for m in metrics
        }

    return {
        g.subject_reps[0].id: _assemble(
            settings, window, metrics, g, pooled(g.subject_reps[0]), no_timing, recorded
        )
        for g in groups
    }


def funnel_metrics(settings: Settings, steps: Sequence[str] | None = None) -> list[MetricSettings]:
    """The steps' metric definitions, checked: known, listed once, counts or sums."""
    field = "steps" if steps is not None else "funnel.steps"
    names = list(steps) if steps is not None else list(settings.funnel.steps)
    if not names:
        raise UserInputError(f"{field}: no funnel steps (set [funnel] steps in paceline.toml)")
    known = {m.name for m in settings.metrics}
    found: list[MetricSettings] = []
    for name in names:
        if name not in known:
            hint = did_you_mean(name, sorted(known))
            raise UserInputError(f"{field}: unknown metric {name!r}{hint}")
        metric = settings.metric(name)
        if metric.aggregate == "ratio":
            raise UserInputError(
                f"{field}: {name!r} is a ratio metric; funnel steps must be counts or sums"
            )
        if any(m.name == name for m in found):
            raise UserInputError(f"{field}: {name!r} is listed twice")
        found.append(metric)
    return found


# --- who -----------------------------------------------------------------------------------


def _groups(
    conn: Connection, settings: Settings, window: Window, rep: str | None, team: str | None
) -> _Groups:
    everyone = diagnosis_reps(conn, settings, window)
    if rep is not None:
        found = find_rep(everyone, rep)
        return _Groups(found.name, "rep", [found], peers_of(found, everyone))
    if team is not None:
        members = diagnosis_reps(conn, settings, window, team)
        inside = {r.id for r in members}
        roles = {r.role for r in members}
        outside = [r for r in everyone if r.role in roles and r.id not in inside]
        name = next((r.team for r in members if r.team), team)
        return _Groups(name, "team", members, outside)
    return _Groups("everyone", "everyone", everyone, [])


# --- counts --------------------------------------------------------------------------------


def _counts(
    conn: Connection,
    settings: Settings,
    window: Window,
    metrics: list[MetricSettings],
    groups: _Groups,
) -> dict[str, tuple[float, float]]:
    """Each step's (subject, peers) total, pooled over each group's reps."""
    ids = groups.subject_ids + groups.peer_ids
    wanted = ids if len(ids) <= _IN_LIST_LIMIT else None
    names = [m.name for m in metrics]
    totals = compared_totals(conn, settings, names, window, wanted)
    return _pooled(totals, metrics, groups)


def _pooled(
    totals: MetricTotals,
    metrics: list[MetricSettings],
    groups: _Groups,
    columns: dict[str, dict[int, float]] | None = None,
) -> dict[str, tuple[float, float]]:
    """Each step's (subject, peers) total, pooled over each group's reps.

    Each step's values are looked up from one flat dictionary per step (the same numbers,
    added in the same order, as `totals.get`): a team's 200 funnels add up 120,000 of them.
    """
    columns = columns if columns is not None else _columns(totals, metrics)

    def pooled(rep_ids: list[int], name: str) -> float:
        column = columns[name]
        return sum(column.get(r, 0.0) for r in rep_ids)

    return {
        m.name: (pooled(groups.subject_ids, m.name), pooled(groups.peer_ids, m.name))
        for m in metrics
    }


def _columns(totals: MetricTotals, metrics: list[MetricSettings]) -> dict[str, dict[int, float]]:
    return {
        m.name: {rep: values.get(m.name, 0.0) for rep, values in totals.values.items()}
        for m in metrics
    }


def _recorded(
    conn: Connection,
    settings: Settings,
    window: Window,
    metrics: list[MetricSettings],
    counts: dict[str, tuple[float, float]],
) -> frozenset[str]:
    """The steps the organisation records (`step_rules.recorded_steps`), from either side's
    counts, reading the organisation's history only for a step neither side has."""
    seen = {name: subject + peers for name, (subject, peers) in counts.items()}
    return recorded_steps(conn, settings, [m.name for m in metrics], seen, window.end)


# --- timing --------------------------------------------------------------------------------


def _timings(
    conn: Connection,
    settings: Settings,
    window: Window,
    metrics: list[MetricSettings],
    groups: _Groups,
) -> list[tuple[_Timing, _Timing]]:
    """Per step from the second, (subject, peers) median days from the step before."""
    pairs = len(metrics) - 1
    if pairs < 1 or not (groups.subject_reps or groups.peers):
        return [(_NO_TIMING, _NO_TIMING)] * max(pairs, 0)
    hours: dict[tuple[int, int], list[tuple[float, int]]] = defaultdict(list)
    days = LocalDays(settings.calendar.zone, window.start, window.end)
    query = _gap_histograms(conn.dialect.name, settings, window, metrics, groups, days)
    for pair, side, bucket, accounts in conn.execute(query):
        hours[int(pair), int(side)].append((float(bucket), int(accounts)))
    return [(_median(hours[i, SUBJECT]), _median(hours[i, PEERS])) for i in range(pairs)]


def _gap_histograms(
    dialect: str,
    settings: Settings,
    window: Window,
    metrics: list[MetricSettings],
    groups: _Groups,
    days: LocalDays,
) -> CompoundSelect[Any]:
    """(pair, side, whole hours, accounts): how many accounts took each gap between steps.

    A pair of steps the aggregates hold (`aggregates.aggregated_steps`: the configured
    funnel's activity steps) is read from them, one seek per prospect. Any other pair (a deal
    step, a step passed in by the caller) reads each step's events, a CTE read once (both
    databases materialise a CTE used twice) by rep and day, so the cost follows the window's
    events, not the accounts' whole history.
    """
    held = aggregates.aggregated_steps(settings) if aggregates.reading() else {}
    sides = aggregates.Sides(groups.subject_ids, groups.peer_ids)
    steps: dict[int, CTE] = {}

    def events(i: int) -> CTE:
        if i not in steps:
            steps[i] = _step_events(settings, window, metrics[i], groups, i)
        return steps[i]

    parts: list[Select[Any]] = []
    for i, (earlier, later) in enumerate(pairwise(metrics)):
        if earlier.name in held:
            started = aggregates.first_events(i, earlier.name, window.start, window.end, sides)
        else:
            started = _started(i, events(i))
        if later.name in held:
            reached = aggregates.first_after(
                settings, i, started, later, window.start, window.end, sides, days
            )
        else:
            reached = _reached(i, started, events(i + 1), days)
        parts.append(_histogram(dialect, i, reached, days))
    return union_all(*parts)


def _step_events(
    settings: Settings, window: Window, metric: MetricSettings, groups: _Groups, index: int
) -> CTE:
    """(side, account_id, at): one step's distinct event times per account in the window."""
    events = _events(settings, window, metric, groups, f"events_{index}")
    return (
        select(events.c.side, events.c.account_id, events.c.at)
        .group_by(events.c.side, events.c.account_id, events.c.at)
        .cte(f"step_{index}")
    )


def _started(pair: int, earlier: CTE) -> Subquery:
    """(side, account_id, t0): the first event of a step per side and account, from events."""
    return (
        select(earlier.c.side, earlier.c.account_id, func.min(earlier.c.at).label("t0"))
        .group_by(earlier.c.side, earlier.c.account_id)
        .subquery(f"started_{pair}")
    )


def _reached(pair: int, started: Subquery, later: CTE, days: LocalDays) -> Subquery:
    """(side, account_id, t0, t1): the first later-step event at or after t0, from events;
    a later event with a date and no time counts from the start of its day
    (`LocalDays.at_or_after`)."""
    return (
        select(
            started.c.side,
            started.c.account_id,
            started.c.t0,
            func.min(later.c.at).label("t1"),
        )
        .join(
            later,
            and_(
                later.c.side == started.c.side,
                later.c.account_id == started.c.account_id,
                days.at_or_after(later.c.at, started.c.t0),
            ),
        )
        .group_by(started.c.side, started.c.account_id, started.c.t0)
        .subquery(f"reached_{pair}")
    )


def _histogram(dialect: str, pair: int, reached: Subquery, days: LocalDays) -> Select[Any]:
    """Accounts per whole hours of gap; when either end is a date without a time, the gap
    is in whole local days (the same day: 0), as exact as a date allows."""
    t0, t1 = reached.c.t0, reached.c.t1
    by_day = or_(days.date_only(t0), days.date_only(t1))
    hours = case(
        (by_day, (days.day(t1) - days.day(t0)) * 24),
        else_=func.round(_days_between(dialect, t0, t1) * 24),
    )
    return select(
        literal_column(str(pair), Integer).label("pair"),
        reached.c.side,
        hours.label("hours"),
        func.count().label("accounts"),
    ).group_by(reached.c.side, hours)


def _events(
    settings: Settings, window: Window, metric: MetricSettings, groups: _Groups, name: str
) -> Subquery:
    """(side, account_id, at) of the window's events of one step by either group.

    A deal step reads the deals known as of the window's last day (`late_entry`): a win
    entered after it (logged late) is not in the step's count (`metric_totals`), so it
    cannot time an account's way to the step either."""
    if metric.source == "deals":
        credit = deal_credit_column(metric)
        dated = deal_date_column(metric)
        first, after = utc_bounds(settings, window.start, window.end)
        return (
            select(
                _side(credit, groups),
                Deal.account_id.label("account_id"),
                dated.label("at"),
            )
            .where(
                credit.in_(groups.subject_ids + groups.peer_ids),
                dated >= first,
                dated < after,
                entered_before(as_of_end(settings.calendar.zone, window.as_of)),
                deal_filter(metric, settings.calendar.zone),
                Deal.account_id.is_not(None),
            )
            .subquery(name)
        )
    query = select(
        _side(Activity.rep_id, groups),
        Activity.account_id.label("account_id"),
        Activity.occurred_at.label("at"),
    ).where(
        Activity.rep_id.in_(groups.subject_ids + groups.peer_ids),
        Activity.local_date >= window.start,
        Activity.local_date < window.end,
        activity_filter(settings, metric),
        Activity.account_id.is_not(None),
    )
    if needs_contact(metric):
        query = query.outerjoin(Contact, Contact.id == Activity.contact_id)
    return query.subquery(name)


def _side(rep_column: Any, groups: _Groups) -> ColumnElement[int]:
    if not groups.peers:
        return literal_column(str(SUBJECT), Integer).label("side")
    return case((rep_column.in_(groups.subject_ids), SUBJECT), else_=PEERS).label("side")


def _days_between(dialect: str, start: Any, end: Any) -> ColumnElement[Any]:
    """Days from `start` to `end` (naive UTC timestamps), fractional, in either database."""
    if dialect == "sqlite":
        return func.julianday(end) - func.julianday(start)
    return extract("epoch", end - start) / 86400.0


def _median(histogram: list[tuple[float, int]]) -> _Timing:
    """The median of a histogram of whole hours, in days to one decimal."""
    total = sum(n for _, n in histogram)
    if total == 0:
        return _NO_TIMING
    ordered = sorted(histogram)
    middle = [_nth(ordered, (total - 1) // 2), _nth(ordered, total // 2)]
    return _Timing(round(sum(middle) / 2 / 24, 1), total)


def _nth(ordered: list[tuple[float, int]], index: int) -> float:
    seen = 0
    for value, n in ordered:
        seen += n
        if index < seen:
            return value
    raise IndexError(index)


# --- putting it together -------------------------------------------------------------------


def _assemble(
    settings: Settings,
    window: Window,
    metrics: list[MetricSettings],
    groups: _Groups,
    counts: dict[str, tuple[float, float]],
    timings: list[tuple[_Timing, _Timing]],
    recorded: frozenset[str],
) -> Funnel:
    significance = settings.diagnose.significance
    compared = bool(groups.peers)
    names = [m.name for m in metrics]
    handed_over = hand_overs(settings, names)
    counted = counted_steps(settings, names)
    # A rep's peers share the rep's role, so both sides hand the same steps over.
    handed = (
        handed_over_steps(settings, names, groups.subject_reps[0].role, handed_over)
        if groups.kind == "rep"
        else frozenset()
    )
    subject = {n: c[0] for n, c in counts.items()}
    notes = conversion_notes(names, subject, recorded, handed_over, counted, handed)
    peers = {n: c[1] for n, c in counts.items()}
    peer_notes = conversion_notes(names, peers, recorded, handed_over, counted, handed)
    built: list[FunnelStep] = []
    for i, metric in enumerate(metrics):
        previous = metrics[i - 1] if i else None
        built.append(
            _step(
                metric,
                previous,
                counts,
                timings[i - 1] if i else (_NO_TIMING, _NO_TIMING),
                compared,
                significance,
                settings.diagnose.min_gap,
                (notes[i], peer_notes[i] if compared else None),
            )
        )
    ranked = sorted(
        (s for s in built if s.relative is not None), key=lambda s: (s.relative, s.p_value)
    )
    return Funnel(
        window=window,
        subject=groups.subject,
        subject_kind=groups.kind,
        reps=[r.name for r in groups.subject_reps],
        compared_with=[r.name for r in groups.peers],
        significance=significance,
        steps=built,
        weakest=ranked[0] if ranked else None,
        weak_steps=[s for s in ranked if s.significant],
    )


def _step(
    metric: MetricSettings,
    previous: MetricSettings | None,
    counts: dict[str, tuple[float, float]],
    timing: tuple[_Timing, _Timing],
    compared: bool,
    significance: float,
    min_gap: float,
    notes: tuple[StepNote | None, StepNote | None],
) -> FunnelStep:
    count, peer_count = counts[metric.name]
    before, peer_before = counts[previous.name] if previous else (0.0, 0.0)
    note, peer_note = notes
    measured = previous is not None and note is None
    peer_measured = measured and compared and peer_note is None
    # The exact test reads both steps as counts of events; a sum (revenue per proposal) is
    # shown beside the peers' but never tested: on dollars it would count every dollar as an
    # event, and its p-value would change with the currency's unit.
    counted = previous is not None and previous.aggregate == metric.aggregate == "count"
    tested = peer_measured and counted
    comparison = compare_rates(before, count, peer_before, peer_count) if tested else None
    if comparison is not None and comparison.p_value is None:
        comparison = None  # nothing to test: no exposure on a side, or nobody converted
    verdict = _verdict(comparison, significance, min_gap)
    return FunnelStep(
        metric=metric.name,
        label=metric.label or metric.name,
        previous=previous.name if previous else None,
        count=count,
        peer_count=peer_count if compared else None,
        conversion=_ratio(count, before) if measured else None,
        peer_conversion=(
            _ratio(peer_count, peer_before) if previous and compared and peer_note is None else None
        ),
        comparison=comparison,
        verdict=verdict,
        significant=verdict == "weak",
        median_days=timing[0].days,
        median_accounts=timing[0].accounts,
        peer_median_days=timing[1].days if compared else None,
        peer_median_accounts=timing[1].accounts if compared else 0,
        note=note,
        peer_note=peer_note,
    )


def _verdict(
    comparison: RateComparison | None, significance: float, min_gap: float
) -> Verdict | None:
    """weak: far enough below and significant; too_few: far enough below, small sample."""
    if comparison is None:
        return None
    relative = comparison.relative
    if relative is None or relative > 1.0 - min_gap:
        return "none"
    return "weak" if comparison.is_below(significance, min_gap) else "too_few"


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None
