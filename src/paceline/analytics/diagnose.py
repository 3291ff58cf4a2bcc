"""A rep's diagnosis: what a manager reads before a one-on-one.

Pacing says *that* a rep is behind; this puts beside it *why*: where the funnel leaks
(against same-role peers, with small samples called small), which factor of the revenue
equation holds the rep back, whether the rep is busy rather than productive, which deals have
gone quiet, and the coaching the configured rule table draws from all of that.

Nothing here is computed twice: each part is the result of its own analysis (`funnel`,
`equation`, `quality`, `stalled`, `coaching`, `scorecard`), so the diagnosis page and the
individual pages can never disagree. A team's diagnosis runs the team-wide analyses once and
the per-rep funnel for each rep; the findings are the few lines worth saying first. A rep's
brief is judged among the rep's role-mates alone (its month pacing and alerts pace that role
only), so a rep of another role can never change it.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Engine

from paceline.analytics.alerts import Alert, alerts
from paceline.analytics.coaching import Coaching, coach, coaching_metrics
from paceline.analytics.equation import RepEquation, revenue_equation
from paceline.analytics.funnel import Funnel, FunnelStep, funnel, rep_funnels
from paceline.analytics.peers import (
    PeerIndex,
    PeerSums,
    compared_ids,
    compared_totals,
    diagnosis_reps,
    find_rep,
    peers_of,
)
from paceline.analytics.quality import RepQuality, busy_vs_productive
from paceline.analytics.rollup import ensure_rollup
from paceline.analytics.scorecard import RosterRep, Scorecard, TeamScorecard, team_scorecards
from paceline.analytics.shared import shared_reads
from paceline.analytics.stalled import RepStalled, stalled_deals
from paceline.analytics.step_rules import recorded_steps
from paceline.analytics.window import Window
from paceline.config import Settings

FindingKind = Literal[
    "alert",
    "weak_step",
    "too_few",
    "holding_back",
    "zero_factor",
    "missing_data",
    "flag",
    "stalled",
]


@dataclass(frozen=True)
class Finding:
    """One thing worth saying first, with the numbers behind it (the faces word it)."""

    kind: FindingKind
    subject: str  # an alert rule, a step "from->to", an equation factor, a flag, missing data
    value: float | None = None  # the rep's figure
    reference: float | None = None  # the peers' (or the benchmark's) figure
    p_value: float | None = None
    count: int | None = None  # deals, or the sample behind a "too few"
    metric: str | None = None  # the metric an alert is about


@dataclass(frozen=True)
class RepDiagnosis:
    rep: str
    rep_id: int
    role: str
    team: str | None
    window: Window
    scorecard: Scorecard | None  # this month's pacing (None: no key metrics to pace)
    alerts: list[Alert]  # this alert period's alerts about the rep
    funnel: Funnel
    equation: RepEquation | None
    quality: RepQuality | None
    stalled: RepStalled | None
    coaching: Coaching
    findings: list[Finding]


@dataclass(frozen=True)
class TeamDiagnosis:
    window: Window
    team: str | None
    reps: list[RepDiagnosis]


def diagnose_rep(engine: Engine, settings: Settings, window: Window, rep: str) -> RepDiagnosis:
    """One rep's whole diagnosis (an unknown rep is a clear error)."""
    return _diagnose(engine, settings, window, team=None, rep=rep).reps[0]


def diagnose_team(
    engine: Engine, settings: Settings, window: Window, team: str | None = None
) -> TeamDiagnosis:
    """Every selling rep of a team (or everyone), each against their peers."""
    return _diagnose(engine, settings, window, team=team, rep=None)


def rep_coaching(engine: Engine, settings: Settings, window: Window, rep: str) -> Coaching:
    """Only the coaching table's verdicts for one rep (its flags need the quality analysis)."""
    ensure_rollup(engine, settings)
    with engine.connect() as conn:
        everyone = diagnosis_reps(conn, settings, window)
    who = find_rep(everyone, rep)
    qualities = busy_vs_productive(engine, settings, window, rep=who.name).reps
    return _coaching(engine, settings, window, [who], everyone, {q.rep_id: q for q in qualities})[
        who.id
    ]


def _diagnose(
    engine: Engine, settings: Settings, window: Window, team: str | None, rep: str | None
) -> TeamDiagnosis:
    """The parts share their reads of the roster and the kind counts (`shared_reads`)."""
    with shared_reads():
        return _diagnose_once(engine, settings, window, team, rep)


def _diagnose_once(
    engine: Engine, settings: Settings, window: Window, team: str | None, rep: str | None
) -> TeamDiagnosis:
    ensure_rollup(engine, settings)
    with engine.connect() as conn:
        everyone = diagnosis_reps(conn, settings, window)
        in_team = diagnosis_reps(conn, settings, window, team) if team else everyone
    scope = [find_rep(everyone, rep)] if rep is not None else in_team
    equations = revenue_equation(engine, settings, window, team=team, rep=rep).reps
    qualities = busy_vs_productive(engine, settings, window, team=team, rep=rep).reps
    # A rep who left before the as-of day has no deals left to chase (and is no selling rep
    # on that day, which `stalled_deals` reads): their brief has none, never an error.
    gone = rep is not None and _left_before(scope[0], window.as_of)
    stalled = [] if gone else _stalled(engine, settings, window.as_of, team, rep, scope)
    # The month's cards of everyone the reps are judged among; their totals are not shown.
    # One rep's brief: the rep's role-mates alone (no other role can change it).
    role = scope[0].role if rep is not None else None
    month = team_scorecards(
        engine, settings, "month", window.as_of, team, with_totals=False, role=role
    )
    cards = {c.rep_id: c for c in month.reps}
    alerts_of = _alerts(engine, settings, window.as_of, team, role, month, {r.id for r in scope})
    quality_of = {q.rep_id: q for q in qualities}
    # One rep's coaching reads the totals of the rep and the rep's peers alone.
    compared = everyone if rep is None else [scope[0], *peers_of(scope[0], everyone)]
    coaching = _coaching(engine, settings, window, scope, compared, quality_of)
    funnels = (
        {r.id: funnel(engine, settings, window, rep=r.name) for r in scope}
        if rep is not None  # one rep's brief: with the median days between steps
        else rep_funnels(engine, settings, window, scope, everyone)
    )
    equation_of = {e.rep_id: e for e in equations}
    stalled_of = {s.rep_id: s for s in stalled}
    reps = [
        _rep_diagnosis(
            settings,
            r,
            window,
            cards.get(r.id),
            alerts_of.get(r.name, []),
            funnels[r.id],
            equation_of.get(r.id),
            quality_of.get(r.id),
            stalled_of.get(r.id),
            coaching[r.id],
        )
        for r in scope
    ]
    return TeamDiagnosis(window, team, reps)


def _left_before(rep: RosterRep, day: dt.date) -> bool:
    """Whether the rep's last day is before `day`."""
    return rep.end_date is not None and rep.end_date < day


def _alerts(
    engine: Engine,
    settings: Settings,
    as_of: dt.date,
    team: str | None,
    role: str | None,
    month: TeamScorecard,
    scope: set[int],
) -> dict[str, list[Alert]]:
    """The alert rules' verdicts about the reps in scope, judged among the team's reps (of
    `role`, for a brief), reusing the month's scorecards when alerts read a month."""
    reuse = month if settings.alerts.period == "month" else None
    found: dict[str, list[Alert]] = defaultdict(list)
    for alert in alerts(engine, settings, as_of, team, reuse, only=scope, role=role).alerts:
        found[alert.rep].append(alert)
    return found


def _coaching(
    engine: Engine,
    settings: Settings,
    window: Window,
    scope: Sequence[RosterRep],
    everyone: Sequence[RosterRep],
    quality_of: dict[int, RepQuality],
) -> dict[int, Coaching]:
    """The rule table for each rep; one pass over the totals every rule reads.

    Only the reps in scope and their peers are read (a rule reads nothing else), the same
    reps as the funnels', whose read of the same steps it then shares (`compared_totals`).
    """
    with engine.connect() as conn:
        ids = compared_ids(scope, everyone)
        totals = compared_totals(conn, settings, coaching_metrics(settings), window, ids)
        names = coaching_metrics(settings)
        seen = {n: float(any(v.get(n, 0.0) > 0 for v in totals.values.values())) for n in names}
        recorded = recorded_steps(conn, settings, names, seen, window.end)
        peers = PeerIndex(everyone)
        sums = PeerSums(peers, totals.get)
        return {
            r.id: coach(
                conn,
                settings,
                window,
                r,
                peers(r),
                totals,
                quality_of[r.id].flags if r.id in quality_of else [],
                functools.partial(sums.fsum, r),
                recorded,
                quality_of[r.id].flags_unknown if r.id in quality_of else (),
            )
            for r in scope
        }


def _rep_diagnosis(
    settings: Settings,
    rep: RosterRep,
    window: Window,
    card: Scorecard | None,
    rep_alerts: list[Alert],
    steps: Funnel,
    equation: RepEquation | None,
    quality: RepQuality | None,
    stalled: RepStalled | None,
    coaching: Coaching,
) -> RepDiagnosis:
    findings = [
        *(
            Finding("alert", a.rule, a.actual, a.expected, a.chance, metric=a.metric)
            for a in rep_alerts
        ),
        *_funnel_findings(steps),
        *_equation_findings(equation),
        *(Finding("flag", flag) for flag in (quality.flags if quality else [])),
        *_stalled_findings(stalled),
    ]
    return RepDiagnosis(
        rep.name,
        rep.id,
        rep.role,
        rep.team,
        window,
        card,
        rep_alerts,
        steps,
        equation,
        quality,
        stalled,
        coaching,
        findings,
    )


def _funnel_findings(steps: Funnel) -> list[Finding]:
    """Weak steps; else a big-looking gap on too small a sample, said to be small."""
    found = [_step_finding("weak_step", step) for step in steps.weak_steps]
    weakest = steps.weakest
    if not found and weakest is not None and weakest.verdict == "too_few":
        found.append(_step_finding("too_few", weakest))
    return found


def _step_finding(kind: FindingKind, step: FunnelStep) -> Finding:
    comparison = step.comparison
    return Finding(
        kind,
        f"{step.previous}->{step.metric}",
        step.conversion,
        step.peer_conversion,
        comparison.p_value if comparison else None,
        count=round(comparison.rep_from) if comparison else None,
    )


def _equation_findings(equation: RepEquation | None) -> list[Finding]:
    """What the revenue equation says; without activities, that they are missing, with the
    revenue (value) and wins (count) the deals still show; for missing amounts, how many of
    the wins have none (reference)."""
    if equation is not None and equation.missing == "amounts":
        unknown = float(equation.wins_without_amount)
        return [Finding("missing_data", "amounts", equation.revenue, unknown, count=equation.wins)]
    if equation is not None and equation.too_few_accounts_named:
        # Some selling activities name an account, too few to count the prospects by.
        unnamed = float(equation.selling_without_account)
        return [Finding("missing_data", "accounts", equation.revenue, unnamed, count=equation.wins)]
    if equation is not None and equation.missing is not None:
        return [Finding("missing_data", equation.missing, equation.revenue, count=equation.wins)]
    if equation is None or not equation.applicable:
        return []
    if equation.zero_factor is not None:
        return [Finding("zero_factor", equation.zero_factor, 0.0)]
    if equation.holding_back is None or equation.gap is None or equation.gap >= 0:
        return []
    factor = next(f for f in equation.factors if f.name == equation.holding_back)
    return [Finding("holding_back", factor.name, factor.value, factor.reference)]


def _stalled(
    engine: Engine,
    settings: Settings,
    as_of: dt.date,
    team: str | None,
    rep: str | None,
    scope: Sequence[RosterRep],
) -> list[RepStalled]:
    """Each rep's stalled deals judged against the bars of the rep's own team, as the rep's
    brief and the team's page judge them. A diagnosis of everyone asks team by team: the
    whole organisation's stays make other bars (Ana's deal 23.5 days in qualification is
    stalled against East's 9.2 days, not against everyone's 100), and until 2026-12-07 her
    brief and the organisation's diagnosis disagreed about it. A rep without a team is
    judged as their brief judges them, against everyone."""
    if team is not None or rep is not None:
        return stalled_deals(engine, settings, as_of, team=team, rep=rep).by_rep
    teams = sorted({r.team for r in scope if r.team})
    found = [s for t in teams for s in stalled_deals(engine, settings, as_of, team=t).by_rep]
    teamless = {r.id for r in scope if not r.team}
    if teamless:
        everyone = stalled_deals(engine, settings, as_of).by_rep
        found += [s for s in everyone if s.rep_id in teamless]
    return found


def _stalled_findings(stalled: RepStalled | None) -> list[Finding]:
    if stalled is None or stalled.count == 0:
        return []
    return [Finding("stalled", "deals", stalled.value, stalled.open_value, count=stalled.count)]
