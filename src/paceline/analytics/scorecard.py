"""Scorecards: each key metric of a rep's role against target, paced in business days.

One function serves one rep, a team, or everyone: it reads the roster, the targets and the
metric totals for the period in three queries, whatever the number of reps, so a thousand
scorecards cost about what one does. The arithmetic lives in `pacing`.

A metric nobody in the organisation has recorded up to the card's end (a ratio: its
numerator) is **not recorded** (`step_rules.recorded_steps`, the funnel's and the
leaderboard's rule): a CRM export with no call results has no conversations, and its reps'
0 of them is not "behind". Such a line's status is "not_recorded" (unless it has no target),
it is left out of the pooled behind-pace test and the alerts, and never sets the card's
status. Asked beyond the period's totals only for a metric nobody on the cards has.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal, get_args

from sqlalchemy import Connection, Engine, Select, bindparam, or_, select

from paceline.analytics.accrual import NO_ACCRUALS, Accrual, Accruals, accrual_curves
from paceline.analytics.dispersion import (
    POISSON,
    POOLED,
    Dispersions,
    HistoryRep,
    suspects_dispersions,
)
from paceline.analytics.frozen import builder
from paceline.analytics.metrics import (
    AverageOf,
    MetricTotals,
    base_metrics,
    known_average_of,
    metric_totals,
    metric_value,
    ratio_parts,
    records_begin,
    rep_value,
)
from paceline.analytics.money import cents, sums_amounts
from paceline.analytics.pacing import (
    STATUS_ORDER,
    Pace,
    Status,
    Window,
    level_pace,
    pace,
    pooled_shortfall_chance,
    recorded_from,
    window,
    windows_by_start,
)
from paceline.analytics.pacing import status as pace_status
from paceline.analytics.rollup import ensure_rollup, rollup_is_current
from paceline.analytics.step_rules import recorded_steps
from paceline.analytics.targets import period_targets
from paceline.calendar import BusinessCalendar, Period, PeriodKind
from paceline.collector import fewer_collections
from paceline.config import MetricSettings, Settings, Unit, derive
from paceline.errors import UserInputError, did_you_mean
from paceline.store.engine import primary_of, read_connection
from paceline.store.models import Rep, Team
from paceline.store.names import name_key
from paceline.store.records import RepRef, rep_refs

# The periods a scorecard reads: the one definition the API's parameter type, the pages and
# the downloads take (`paceline.params`), the tuple spelled from the type.
ScorecardPeriod = Literal["week", "month", "quarter", "year"]
SCORECARD_PERIODS: tuple[PeriodKind, ...] = get_args(ScorecardPeriod)
IN_LIST_LIMIT = 200


@dataclass(frozen=True, slots=True)
class RosterRep:
    id: int
    name: str
    role: str
    team: str | None
    start_date: dt.date | None
    end_date: dt.date | None = None  # a leaver's last day: paced and alerted up to it


@dataclass(frozen=True, slots=True)
class MetricLine:
    metric: str
    label: str
    is_ratio: bool
    pace: Pace
    unit: Unit = "count"  # how faces print the figures (a ratio may be money per deal)
    # Variance / mean of the rep's daily count before the period; the chance behind "behind"
    # is judged with it (see analytics/dispersion). None: not read, Poisson (the rep is not
    # short enough for a wider spread to change anything).
    dispersion: float | None = None
    # Deals a sum of amounts behind this line (the metric, or a ratio's part) left out for
    # want of an amount: the figure is the known amounts only, and faces say how many.
    amounts_unknown: int = 0
    # The label of what nobody in the organisation has recorded up to the card's end (the
    # metric's, or a ratio's numerator's: "Conversations" for a connect rate); None: recorded.
    unrecorded: str | None = None
    # A distinct count's accrual curve, which set its expected-to-date (`accrual`): the
    # rep's own past periods', their role's, or "even" when there is no history (faces say
    # so). None: not a distinct count (a count, a sum, a ratio or a team total).
    accrual: Accrual | None = None
    # An average over the deals with an amount (revenue per win: "win",
    # `metrics.known_average_of`) and, when it left deals out, the deals it rests on (its
    # denominator): faces say "per win with an amount: 2 of 4", not a sum's words
    average_of: AverageOf | None = None
    known: float | None = None

    @property
    def recorded(self) -> bool:
        """Whether the organisation records the metric (false: `unrecorded` names what not)."""
        return self.unrecorded is None


@dataclass(frozen=True, slots=True)
class Scorecard:
    rep: str
    rep_id: int
    team: str | None
    role: str
    period: Period
    as_of: dt.date
    business_days_total: int
    business_days_elapsed: int
    business_days_remaining: int
    measured_from: dt.date  # the period start, or the rep's start date or `recorded_from`
    start_date: dt.date | None  # the rep's start date, if known (idle days count from it)
    lines: list[MetricLine]
    dispersion: float | None = None  # of the pooled key counts the behind-pace test reads
    # The rep's last day when they left (faces say "left <date>"): the card's business days
    # end there, and a rep who left before the as-of day is never alerted on.
    end_date: dt.date | None = None
    # The first day anything is recorded for the rep's team when the team's records begin
    # inside the period (`pacing.recorded_from`): the card is measured from it
    # (`measured_from`), and the faces say "recorded from <day>" rather than show the days
    # before as a shortfall.
    recorded_from: dt.date | None = None

    @property
    def left(self) -> bool:
        """Whether the rep's last day is before the card's as-of day (gone: not alerted)."""
        return self.end_date is not None and self.end_date < self.as_of

    @property
    def status(self) -> Status:
        """The worst status of any metric with a target."""
        statuses = [line.pace.status for line in self.lines] or ["no_target"]
        return min(statuses, key=STATUS_ORDER.__getitem__)


# Positional constructors at half the cost of the classes' own (`frozen.builder`): a page
# builds a thousand cards of three to five lines.
_new_line = builder(MetricLine)
_new_card = builder(Scorecard)


@dataclass(frozen=True, slots=True)
class RepDay:
    """A rep of a team's cards and the day that sets them apart: their last, or their first."""

    rep: str
    day: dt.date


@dataclass(frozen=True)
class TeamScorecard:
    """The cards of everyone who worked during the period, and the totals of those cards.

    The totals are the period's (a rep who left adds the work and the pro rata target of the
    days they were there; a rep who starts later, theirs from their start), while "how many
    reps" is asked of the as-of day: `headcount` leaves out who is gone (`leavers`) and who
    has not started yet (`starting`), and the faces name those beside it, so the head count
    and the cards behind the totals always add up."""

    team: str | None  # None: everyone
    period: Period
    as_of: dt.date
    business_days_total: int
    business_days_elapsed: int
    reps: list[Scorecard]
    total: list[MetricLine]
    # The same totals over each role's reps alone (a metric two roles share, like proposals,
    # is added up per role here, across both in `total`).
    role_totals: dict[str, list[MetricLine]] = field(default_factory=dict)

    @property
    def headcount(self) -> int:
        """The reps on the cards who are there on the as-of day (not `leavers`, not
        `starting`)."""
        return len(self.reps) - len(self.leavers) - len(self.starting)

    @property
    def leavers(self) -> list[RepDay]:
        """The reps on the cards whose last day was before the as-of day, by that day."""
        gone = [RepDay(c.rep, c.end_date) for c in self.reps if c.left and c.end_date]
        return sorted(gone, key=lambda d: (d.day, d.rep))

    @property
    def starting(self) -> list[RepDay]:
        """The reps on the cards who start after the as-of day, by their first day."""
        later = [
            RepDay(c.rep, c.start_date)
            for c in self.reps
            if c.start_date is not None and c.start_date > self.as_of
        ]
        return sorted(later, key=lambda d: (d.day, d.rep))


# The API's access check: given every rep by name key (as `store.records.rep_refs` reads
# them), the rep whose card the caller may read, or an error raised.
RepPick = Callable[[dict[str, RepRef]], RepRef]


def rep_scorecard(
    engine: Engine,
    settings: Settings,
    rep: str | int | RepPick,
    period_kind: PeriodKind,
    as_of: dt.date,
) -> Scorecard:
    """One rep's scorecard, by name (unknown: an error suggesting close names), by id, or
    picked by an access check from every rep (`RepPick`).

    Picked for a caller that must check who may see whom first (the API): the check reads
    every rep, on the card's own connection when the card reads the primary, and the card
    takes the rep's row from that same read, before anything else is read. A check-out and a
    statement fewer per request than reading the roster for the check and then the rep's row
    again by id (which a read replica still does: who may see whom is read on the primary)."""
    with read_connection(engine) as conn:  # one connection for the roster and the numbers
        chosen = _picked(engine, conn, rep) if callable(rep) else rep
        if rollup_is_current(engine, conn, settings):  # what nearly every request finds
            return _rep_scorecard(conn, settings, chosen, period_kind, as_of)
    ensure_rollup(engine, settings)
    with read_connection(engine) as conn:
        return _rep_scorecard(conn, settings, chosen, period_kind, as_of)


def _picked(engine: Engine, conn: Connection, pick: RepPick) -> RosterRep:
    """The rep `pick` chooses among every rep, read on `conn` unless it is a replica's."""
    primary = primary_of(engine)
    if primary is not engine:  # who may see whom is read where it is written
        return _roster_of(conn, pick(rep_refs(primary)).id)[0]
    rows = conn.execute(_ACCESS_ROSTER).all()
    refs = {
        name_key(name): RepRef(int(id_), name, team_id, team)
        for id_, name, team_id, team, _, _, _ in rows
    }
    chosen = pick(refs)
    role, start_date, end_date = next((r[4], r[5], r[6]) for r in rows if r[0] == chosen.id)
    return RosterRep(chosen.id, chosen.name, role, chosen.team, start_date, end_date)


def _rep_scorecard(
    conn: Connection,
    settings: Settings,
    rep: str | int | RosterRep,
    period_kind: PeriodKind,
    as_of: dt.date,
) -> Scorecard:
    matches = _roster_of(conn, rep)
    return _read_scorecards(conn, settings, matches, period_kind, as_of)[0][0]


def _roster_of(conn: Connection, rep: str | int | RosterRep) -> list[RosterRep]:
    """The rep of that name or id, as the roster has them (never empty)."""
    if isinstance(rep, RosterRep):  # read already
        return [rep]
    if isinstance(rep, int):
        found = [RosterRep(*row) for row in conn.execute(_ROSTER_ONE, {"rep_id": rep})]
        if not found:
            raise UserInputError(f"rep: no rep with id {rep}")
        return found
    roster = _roster(conn)
    wanted = name_key(rep)
    matches = [r for r in roster if name_key(r.name) == wanted]
    if not matches:
        hint = did_you_mean(rep, (r.name for r in roster))
        raise UserInputError(f"rep: no rep named {rep!r}{hint}")
    return matches


@fewer_collections()  # a thousand cards' objects: the collector was 5% of a page
def team_scorecards(
    engine: Engine,
    settings: Settings,
    period_kind: PeriodKind = "month",
    as_of: dt.date | None = None,
    team: str | None = None,
    *,
    with_totals: bool = True,
    role: str | None = None,
) -> TeamScorecard:
    """Every paced rep's scorecard (of a team, or everyone) and the team total per metric
    (`with_totals=False` leaves the totals empty, for a caller that reads only the cards).

    `role`: that role's reps alone, scored among themselves (a rep's brief): the clustering
    of a rep's role-mates is read beside theirs, never another role's."""
    calendar = BusinessCalendar(settings.calendar)
    as_of = as_of or calendar.today()
    period = _period(calendar, period_kind, as_of)
    with engine.connect() as conn:
        reps = active_paced_reps(conn, settings, period, team)
    if role is not None:
        reps = [r for r in reps if r.role == role]
    cards, totals = _scorecards(engine, settings, reps, period_kind, as_of)
    whole = window(calendar, period, as_of)
    return TeamScorecard(
        team=team,
        period=period,
        as_of=as_of,
        business_days_total=whole.total,
        business_days_elapsed=whole.elapsed,
        reps=sorted(cards, key=lambda c: (STATUS_ORDER[c.status], c.rep)),
        total=_team_total(settings, cards, whole, totals) if with_totals else [],
        role_totals={
            role: _team_total(settings, [c for c in cards if c.role == role], whole, totals)
            for role in dict.fromkeys(c.role for c in cards)
        }
        if with_totals
        else {},
    )


def active_paced_reps(
    conn: Connection, settings: Settings, period: Period, team: str | None = None
) -> list[RosterRep]:
    """Reps working during the period whose role has key metrics (managers have none)."""
    paced_roles = {r.name for r in settings.roles if r.key_metrics}
    if team is not None:
        teams = [name for (name,) in conn.execute(select(Team.name))]
        if not any(name_key(t) == name_key(team) for t in teams):
            hint = did_you_mean(team, teams)
            raise UserInputError(f"team: no team named {team!r}{hint}")
    bound = {"roles": sorted(paced_roles), "start": period.start, "end": period.end}
    reps = [RosterRep(*row) for row in conn.execute(_PACED, bound).all()]
    if team is not None:
        reps = [r for r in reps if r.team and name_key(r.team) == name_key(team)]
    return reps


def _roster_query() -> Select[int, str, str, str | None, dt.date | None, dt.date | None]:
    return (
        select(Rep.id, Rep.name, Rep.role, Team.name, Rep.start_date, Rep.end_date)
        .outerjoin(Team, Team.id == Rep.team_id)
        .order_by(Rep.name)
    )


_ROSTER = _roster_query()  # read at every scorecard request: built once
# The reps working during a period (`start`, `end`) in the paced `roles`: built once too.
_PACED = (
    _roster_query()
    .where(Rep.role.in_(bindparam("roles", expanding=True)))
    .where(or_(Rep.start_date.is_(None), Rep.start_date < bindparam("end")))
    .where(or_(Rep.end_date.is_(None), Rep.end_date >= bindparam("start")))
)
_ROSTER_ONE = _roster_query().where(Rep.id == bindparam("rep_id"))
# Every rep as the access check reads them (`store.records.rep_refs`: the same rows), with
# what a card needs of its rep besides (role, start, end).
_ACCESS_ROSTER = select(
    Rep.id, Rep.name, Rep.team_id, Team.name, Rep.role, Rep.start_date, Rep.end_date
).outerjoin(Team, Team.id == Rep.team_id)


def _roster(conn: Connection) -> list[RosterRep]:
    return [RosterRep(*row) for row in conn.execute(_ROSTER).all()]


def _period(calendar: BusinessCalendar, kind: PeriodKind, as_of: dt.date) -> Period:
    if kind not in SCORECARD_PERIODS:
        raise UserInputError(f"period: use one of {', '.join(SCORECARD_PERIODS)}")
    return calendar.period(kind, as_of)


def _scorecards(
    engine: Engine,
    settings: Settings,
    reps: list[RosterRep],
    period_kind: PeriodKind,
    as_of: dt.date,
) -> tuple[list[Scorecard], MetricTotals]:
    """The reps' scorecards, and the totals behind them (team totals pool ratios from them)."""
    ensure_rollup(engine, settings)
    with read_connection(engine) as conn:
        return _read_scorecards(conn, settings, reps, period_kind, as_of)


def _read_scorecards(
    conn: Connection,
    settings: Settings,
    reps: list[RosterRep],
    period_kind: PeriodKind,
    as_of: dt.date,
) -> tuple[list[Scorecard], MetricTotals]:
    """`_scorecards` on an open connection, the rollup brought up to date before."""
    calendar = BusinessCalendar(settings.calendar)
    period = _period(calendar, period_kind, as_of)
    key_metrics = {r.name: r.key_metrics for r in settings.roles}
    wanted = sorted({m for r in reps for m in key_metrics.get(r.role, [])})
    end = min(as_of + dt.timedelta(days=1), period.end)
    # A long IN list costs more than reading everyone's rows and ignoring the others.
    rep_ids = [r.id for r in reps] if len(reps) <= IN_LIST_LIMIT else None
    totals = metric_totals(conn, settings, wanted, period.start, end, rep_ids, as_of=as_of)
    targets = period_targets(conn, calendar, period, wanted, rep_ids)
    missing = unrecorded_metrics(conn, settings, wanted, totals, end)

    window_of = windows_by_start(calendar, period, as_of)
    facts = {name: _line_facts(settings, name, missing.get(name)) for name in wanted}
    begins = records_begin_days(conn, calendar, reps, period, as_of)
    accruals = accrual_curves(conn, settings, calendar, reps, period, wanted, key_metrics)

    def cards_for(group: list[RosterRep], spread: Dispersions) -> list[Scorecard]:
        metrics = key_metrics
        read = (totals, targets, spread, accruals)
        return [
            _scorecard(
                settings,
                window_of(begins.get(r.id) or r.start_date, r.end_date),
                r,
                metrics.get(r.role, []),
                read,
                facts,
                begins.get(r.id),
            )
            for r in group
        ]

    cards = cards_for(reps, POISSON)
    suspects = {c.rep_id for c in cards if needs_dispersion(settings, c.lines)}
    if suspects:
        history = [HistoryRep(r.id, r.role, r.start_date) for r in reps]
        spread = suspects_dispersions(conn, settings, calendar, history, suspects, period.start)
        again = {c.rep_id: c for c in cards_for([r for r in reps if r.id in suspects], spread)}
        cards = [again.get(c.rep_id, c) for c in cards]
    return cards, totals


def records_begin_days(
    conn: Connection,
    calendar: BusinessCalendar,
    reps: list[RosterRep],
    period: Period,
    as_of: dt.date,
) -> dict[int, dt.date]:
    """The reps whose team's records begin inside the period → that day
    (`pacing.recorded_from`): what scorecards and the leaderboard pace them from."""
    begins = records_begin(conn, calendar, {r.team for r in reps})
    found = {
        r.id: recorded_from(calendar, period, as_of, r.start_date, begins.get(r.team)) for r in reps
    }
    return {rep_id: day for rep_id, day in found.items() if day is not None}


def unrecorded_metrics(
    conn: Connection, settings: Settings, names: list[str], totals: MetricTotals, end: dt.date
) -> dict[str, str]:
    """Each of `names` nobody in the organisation has recorded on a local day before `end`
    (a ratio: its numerator) → the label of what is missing.

    `totals` (the cards' own read) answer for every metric someone on the cards has: then no
    statement is run. Only the others are asked of the whole organisation's history, one probe
    per metric (`recorded_steps`), never per rep."""
    probes = {name: _probe(settings, name) for name in names}
    reps = list(totals.values.values())
    seen = {
        probe.name: 1.0
        for probe in probes.values()
        if any(values.get(probe.name, 0.0) > 0 for values in reps)
    }
    wanted = sorted({probe.name for probe in probes.values()})
    if len(seen) == len(wanted):  # the common case: everything counted by someone here
        return {}
    recorded = recorded_steps(conn, settings, wanted, seen, end)
    return {
        name: probe.label or probe.name
        for name, probe in probes.items()
        if probe.name not in recorded
    }


def _probe(settings: Settings, name: str) -> MetricSettings:
    """The metric whose records say whether `name` is recorded: itself, or a ratio's numerator
    (the denominator missing is "nothing to divide by" already)."""
    probe = settings.metric(name)
    while probe.aggregate == "ratio" and probe.numerator:
        probe = settings.metric(probe.numerator)
    return probe


def _scorecard(
    settings: Settings,
    w: Window,
    rep: RosterRep,
    metrics: list[str],
    read: tuple[MetricTotals, dict[tuple[int, str], float], Dispersions, Accruals],
    facts: dict[str, _LineFacts] | None = None,
    recorded_since: dt.date | None = None,
) -> Scorecard:
    """One rep's card over `w`, the rep's window of the period (from their start date, or
    the day their team's records begin, `recorded_since`, to their last day).

    `facts`: each metric's `_line_facts`, looked up once per request rather than per line."""
    totals, targets, spread, accruals = read
    facts = facts or {}
    rep_id = rep.id
    lines: list[MetricLine] = []
    for name in metrics:
        f = facts.get(name) or _line_facts(settings, name)
        unknown = amounts_unknown(settings, totals, [rep_id], name) if totals.unknown else 0
        lines.append(
            _line(
                settings,
                w,
                name,
                rep_value(settings, totals, rep_id, name, is_ratio=f.is_ratio),
                targets.get((rep_id, name)),
                spread.of(rep_id, name),
                unknown,
                f,
                accruals.of(rep_id, name, w.total) if accruals is not NO_ACCRUALS else None,
                _known(settings, totals, [rep_id], name, f.average_of) if unknown else None,
            )
        )
    pooled = spread.of(rep_id, POOLED)
    lines = _behind_together(settings, lines, pooled)
    return _new_card(
        rep.name,
        rep_id,
        rep.team,
        rep.role,
        w.period,
        w.as_of,
        w.total,
        w.elapsed,
        w.remaining,
        w.start,
        rep.start_date,
        lines,
        pooled,
        rep.end_date,
        recorded_since,
    )


@dataclass(frozen=True, slots=True)
class _LineFacts:
    """What a line needs to know of its metric besides the numbers: the same for every rep,
    so looked up once per configuration, not once per rep and line (a thousand cards)."""

    label: str
    is_ratio: bool
    is_sum: bool
    higher_is_better: bool
    max_chance: float | None
    unit: Unit
    unrecorded: str | None = None  # `MetricLine.unrecorded`: read per request, not configured
    average_of: AverageOf | None = None  # `MetricLine.average_of`


def _line_facts(settings: Settings, name: str, unrecorded: str | None = None) -> _LineFacts:
    def build() -> _LineFacts:
        metric = settings.metric(name)
        return _LineFacts(
            label=metric.label or name,
            is_ratio=metric.aggregate == "ratio",
            is_sum=metric.aggregate == "sum",
            higher_is_better=metric.higher_is_better,
            max_chance=_max_chance(settings, name),
            unit=settings.metric_unit(name),
            average_of=known_average_of(settings, name),
        )

    facts = derive(settings, ("scorecard.line", name), build)
    return replace(facts, unrecorded=unrecorded) if unrecorded else facts


def _line(
    settings: Settings,
    w: Window,
    name: str,
    actual: float | None,
    target: float | None,
    dispersion: float | None = None,
    unknown: int = 0,
    facts: _LineFacts | None = None,
    accrual: Accrual | None = None,
    known: float | None = None,
) -> MetricLine:
    """A metric's line; `actual` is None only for a ratio with nothing to divide by;
    `accrual`: a distinct count's curve (`accrual.accrual_curves`), which paces it; `known`
    the deals an average over the deals with an amount rests on (`_known`)."""
    f = facts or _line_facts(settings, name)
    thresholds = settings.pacing
    measured = (
        level_pace(actual, target, thresholds, f.higher_is_better)
        if f.is_ratio or actual is None
        else pace(
            w,
            actual,
            target,
            thresholds,
            f.higher_is_better,
            f.max_chance,
            dispersion or 1.0,
            accrual.shares if accrual else (),
        )
    )
    if f.is_sum and measured.status == "behind":
        measured = replace(measured, status="unclear")  # no count model: see _behind_together
    if f.unrecorded:
        measured = unrecorded_pace(measured)
    return _new_line(
        name, f.label, f.is_ratio, measured, f.unit, dispersion, unknown, f.unrecorded,
        accrual, f.average_of, known,
    )  # fmt: skip


def _known(
    settings: Settings,
    totals: MetricTotals,
    rep_ids: list[int],
    name: str,
    average_of: AverageOf | None,
) -> float | None:
    """The deals an average over the deals with an amount rests on (its denominator, the
    deals with an amount); None for any other metric. Read only for a line that left deals
    out: the only one whose faces say it."""
    return ratio_parts(settings, totals, rep_ids, name)[1] if average_of else None


def unrecorded_pace(measured: Pace) -> Pace:
    """A metric nobody records, paced: "not_recorded" whatever its figures say (0 of a target
    is not behind when nobody can have any), except with no target, which asks for nothing."""
    if measured.status == "no_target":
        return measured
    return replace(measured, status="not_recorded")


def amounts_unknown(settings: Settings, totals: MetricTotals, rep_ids: list[int], name: str) -> int:
    """Deals left out of the sums of amounts behind a metric (a ratio: behind its parts)."""
    if not totals.unknown:  # every deal read had its amount: nothing to look up
        return 0
    return sum(totals.amounts_unknown(rep_ids, m) for m in base_metrics(settings, [name]))


def _max_chance(settings: Settings, name: str) -> float | None:
    """The alerts' chance bar for counts; sums and ratios have no count model to test."""
    return settings.alerts.behind_pace.max_chance if is_counted(settings, name) else None


def is_counted(settings: Settings, name: str) -> bool:
    """Whether a count model judges the metric's shortfalls: a count of activities or deals,
    or a distinct count of the things they touch (accounts called). Sums and ratios have
    none. The one rule the scorecard's lines, a trailing stretch's lines and the alerts'
    zero check read a metric by: the zero check read a distinct count as having no model,
    so 0 of 1.3 accounts expected was always alerted while the scorecard said too few to
    tell (before 2026-12-07)."""
    return name in _kinds(settings).counted


@dataclass(frozen=True)
class _Kinds:
    """Which metrics are counts (a count model judges them) and which of those the
    behind-pace test pools: looked up per configuration, not per rep and line."""

    counted: frozenset[str]
    pooled: frozenset[str]


def _kinds(settings: Settings) -> _Kinds:
    def build() -> _Kinds:
        metrics = settings.metrics
        return _Kinds(
            counted=frozenset(
                m.name for m in metrics if m.aggregate in ("count", "distinct_count")
            ),
            pooled=frozenset(
                m.name
                for m in metrics
                if m.aggregate == "count" and m.source in settings.alerts.sources
            ),
        )

    return derive(settings, "scorecard.kinds", build)


def pooled_lines(settings: Settings, lines: list[MetricLine]) -> list[MetricLine]:
    """The lines the behind-pace test pools: counts from the alerted sources, with a target,
    that the organisation records (nobody's 0 of an unrecorded metric is no shortfall)."""
    pooled = _kinds(settings).pooled
    return [
        line
        for line in lines
        if line.metric in pooled and line.pace.expected_to_date and line.unrecorded is None
    ]


def _behind_together(
    settings: Settings, lines: list[MetricLine], dispersion: float | None = None
) -> list[MetricLine]:
    """Short metrics of a rep whose pooled counts pass the alerts' test are behind, not unclear.

    The same judgement as the behind-pace alert, so a rep alerted as behind is never shown as
    "too few to tell" on every metric. A short sum (revenue) is behind only this way: a sum of
    a few lumpy deals has no count model to test by itself (0 of $13k expected on business
    day 4 is most likely just no deal closed yet)."""
    rule = settings.alerts.behind_pace
    chance = pooled_shortfall_chance(
        [line.pace for line in pooled_lines(settings, lines)], rule.by_more_than, dispersion or 1.0
    )
    if chance is None or chance >= rule.max_chance:
        return lines
    return [
        replace(line, pace=replace(line.pace, status="behind"))
        if line.pace.status == "unclear"
        else line
        for line in lines
    ]


def needs_dispersion(settings: Settings, lines: list[MetricLine]) -> bool:
    """Whether the rep's clustering could change a verdict on these lines (judged as Poisson):
    a count called behind, a count at zero that the zero alert would flag, or pooled counts
    behind together.
    A wider spread only makes a shortfall likelier, so nothing else can change."""
    kinds = _kinds(settings)
    counted_names = kinds.counted
    counted = [line for line in lines if line.metric in counted_names and line.recorded]
    if any(line.pace.status == "behind" for line in counted):
        return True
    zero_bar = settings.alerts.zero_key_metric.max_chance  # Poisson P(0) is e^-expected
    if any(
        line.pace.actual == 0 and math.exp(-(line.pace.expected_to_date or 0.0)) < zero_bar
        for line in counted
    ):
        return True
    rule = settings.alerts.behind_pace
    pooled_names = kinds.pooled  # `pooled_lines`, the kinds looked up once
    pooled = [
        line.pace for line in counted if line.metric in pooled_names and line.pace.expected_to_date
    ]
    chance = pooled_shortfall_chance(pooled, rule.by_more_than)
    return chance is not None and chance < rule.max_chance


def _team_total(
    settings: Settings, cards: list[Scorecard], whole: Window, totals: MetricTotals
) -> list[MetricLine]:
    """Per metric: reps' actuals, targets and expectations added up; the team paced as one.

    A ratio is pooled (the team's summed numerator over its summed denominator), never the
    sum or mean of the reps' ratios; it has no team target to pace against.
    """
    lines: list[MetricLine] = []
    # One pass over the cards, metric by metric in order of first appearance (not one pass
    # per metric: a thousand cards of five lines each, for every total of the page).
    by_metric: dict[str, list[MetricLine]] = {}
    reps_of: dict[str, list[int]] = {}
    for card in cards:
        for line in card.lines:
            by_metric.setdefault(line.metric, []).append(line)
        for name in dict.fromkeys(line.metric for line in card.lines):
            reps_of.setdefault(name, []).append(card.rep_id)
    for name, rep_lines in by_metric.items():
        parts = [line.pace for line in rep_lines]
        metric = settings.metric(name)
        ids = reps_of[name]
        unknown = amounts_unknown(settings, totals, ids, name)
        if metric.aggregate == "ratio":
            pooled = level_pace(metric_value(settings, totals, ids, name), None, settings.pacing)
            average_of = rep_lines[0].average_of
            known = _known(settings, totals, ids, name, average_of) if unknown else None
            line = _total_line(settings, name, pooled, unknown, rep_lines[0].unrecorded)
            lines.append(replace(line, average_of=average_of, known=known))
            continue
        actual = sum([p.accumulated() for p in parts])  # lists: no generator per sum
        if sums_amounts(metric):  # money: the reps' floats added up, read to the cent
            actual = cents(actual)
        with_target = [p for p in parts if p.target is not None]
        target = sum([p.target or 0.0 for p in with_target]) if with_target else None
        expected = sum([p.expected_to_date or 0.0 for p in with_target]) if with_target else None
        projected = sum([p.projected or 0.0 for p in parts]) if whole.elapsed else None
        needed = (
            max((target or 0.0) - actual, 0.0) / whole.remaining
            if target is not None and whole.remaining
            else None
        )
        state: Status = (
            "no_target"
            if expected is None
            else pace_status(
                actual,
                expected,
                settings.pacing,
                metric.higher_is_better,
                _max_chance(settings, name),
                _team_dispersion(rep_lines),
            )
        )
        total_pace = Pace(
            actual=actual,
            target=target,
            expected_to_date=expected,
            pace=actual / expected if expected else None,
            projected=projected,
            needed_per_day=needed,
            status=state,
        )
        lines.append(_total_line(settings, name, total_pace, unknown, rep_lines[0].unrecorded))
    return lines


def _team_dispersion(lines: list[MetricLine]) -> float:
    """A team total's dispersion: its variance (the reps' dispersion x expected, added up, the
    reps being independent) over its mean."""
    expected = sum([line.pace.expected_to_date or 0.0 for line in lines])
    spread = sum([(line.dispersion or 1.0) * (line.pace.expected_to_date or 0.0) for line in lines])
    return spread / expected if expected else 1.0


def _total_line(
    settings: Settings, name: str, total: Pace, unknown: int = 0, unrecorded: str | None = None
) -> MetricLine:
    """A team total's line; a metric nobody records is not recorded in the total too."""
    metric = settings.metric(name)
    is_ratio = metric.aggregate == "ratio"
    unit = settings.metric_unit(name)
    if unrecorded:
        total = unrecorded_pace(total)
    return MetricLine(
        name,
        metric.label or name,
        is_ratio,
        total,
        unit,
        amounts_unknown=unknown,
        unrecorded=unrecorded,
    )
