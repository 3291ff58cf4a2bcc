"""Coaching hints: the configured rule table turns a rep's diagnosis into advice.

The seeds' point is that the fix depends on *where* the funnel breaks: a rep whose proposals
are on target but rarely close needs proposal coaching, not more activity; a rep who makes
the calls but books no meetings needs help with targeting. So a rule fires only when

- its finding holds: the rep turns `from` into `to` worse than their peers *and* a gap that
  large is unlikely by chance (`diagnose.significance`), or a busy-versus-productive flag is
  raised. A flag the rep's data can neither raise nor clear (no logged minutes to read a
  selling share from: the Zoho export's 0-second calls) is "flag_unknown", never "checked:
  not flagged".

A rule that names a volume (`volume_ok`) also checks it: is the rep behind on it by more than
the alerts' `behind_pace.by_more_than` (25%) against the target over the window, or against
the peers' median without a target? Both are read over the business days the rep worked: a
rep who started or left during the window is set against the target prorated to those days (as
the scorecards prorate it) and against each peer's count per business day worked times those
days, not against a whole window's count. A short volume does not hide a weak conversion: a close
rate of 7% against 28% is a skill problem however many proposals go out (a rate per proposal
does not fall because there are fewer proposals). The hint fires and says both
(`volume.ok` false): the conversion to coach, and the volume that is short as well.

Every rule is reported, fired or not, with the reason, so a manager can see that "no hint"
means "checked and fine" or "too few to tell", never "not looked at".
"""

from __future__ import annotations

import datetime as dt
import functools
import statistics
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Connection

from paceline.analytics.compare import RateComparison, compare_rates
from paceline.analytics.metrics import MetricTotals, base_value
from paceline.analytics.peers import days_worked, peer_volumes
from paceline.analytics.scorecard import RosterRep
from paceline.analytics.step_rules import conversion_notes, counted_steps, hand_overs
from paceline.analytics.targets import period_targets
from paceline.analytics.window import Window
from paceline.calendar import BusinessCalendar, Period
from paceline.config import CoachingRule, Settings

RuleStatus = Literal[
    "hint",
    "not_weak",
    "too_few",
    "no_flag",
    "flag_unknown",
    "no_data",
    "not_measurable",
    "not_for_role",
]


@dataclass(frozen=True)
class VolumeCheck:
    """Whether the rep does enough of `metric` for a conversion problem to be about skill."""

    metric: str
    actual: float
    # The target over the rep's days of the window, or the peers' median over those days.
    reference: float | None
    basis: Literal["target", "peers", "none"]
    ok: bool
    # The business days of the window the rep worked, when fewer than the window's (a rep
    # who started or left during it); None: the whole window.
    days: int | None = None
    # The rep's last day when they left within the window (the brief says so: "worked",
    # not "since the rep started"); None: still there after it.
    left: dt.date | None = None


@dataclass(frozen=True)
class RuleCheck:
    """One rule of the table applied to the rep: fired (`hint`) or why not."""

    rule: str
    label: str
    status: RuleStatus
    advice: str
    step: list[str] | None = None
    comparison: RateComparison | None = None
    flag: str | None = None
    volume: VolumeCheck | None = None

    @property
    def fired(self) -> bool:
        return self.status == "hint"

    @property
    def volume_short(self) -> bool:
        """The rule's volume is short as well (said beside the hint, never instead of it)."""
        return self.volume is not None and not self.volume.ok


@dataclass(frozen=True)
class Coaching:
    rep: str
    role: str
    team: str | None
    window: Window
    peers: int  # how many reps the comparisons pool
    checks: list[RuleCheck]

    @property
    def hints(self) -> list[RuleCheck]:
        """The fired rules, strongest evidence first (smallest p-value; flags first)."""
        return sorted((c for c in self.checks if c.fired), key=_strength)


def _strength(check: RuleCheck) -> float:
    if check.comparison is None or check.comparison.p_value is None:
        return -1.0
    return check.comparison.p_value


def coaching_metrics(settings: Settings) -> list[str]:
    """Every metric the rule table reads, so callers fetch all totals in one pass."""
    names: list[str] = []
    for rule in settings.coaching:
        for name in [*(rule.weak_step or []), *([rule.volume_ok] if rule.volume_ok else [])]:
            if name not in names:
                names.append(name)
    return names


def coach(
    conn: Connection,
    settings: Settings,
    window: Window,
    rep: RosterRep,
    peers: Sequence[RosterRep],
    totals: MetricTotals,
    flags: Collection[str],
    peer_total: Callable[[str], float] | None = None,
    recorded: frozenset[str] | None = None,
    unknown_flags: Collection[str] = (),
) -> Coaching:
    """Apply the rule table to one rep, given totals for the rep and peers and their flags.

    `totals` must cover `coaching_metrics(settings)` for the rep and every peer;
    `peer_total(metric)`, when given, is `base_value` of the peers (a team's diagnosis sums
    each peer group once, see `PeerSums`). `recorded`: the rules' metrics the organisation's
    data records (`step_rules.recorded_steps`; None: all): a rule whose step is not a
    measured rate on either side (`step_rules.conversion_notes`) is "not_measurable".
    `unknown_flags`: the flags the rep's data can neither raise nor clear
    (`RepQuality.flags_unknown`): their rules are "flag_unknown", not "no_flag" (checked and
    fine).
    """
    if peer_total is None:
        peer_ids = [p.id for p in peers]

        def peer_total(name: str) -> float:
            return base_value(totals, peer_ids, name)

    # Targets only matter to a rule that fires and checks volume: read them then, once.
    targets = functools.cache(lambda: _window_targets(conn, settings, window, rep))
    checks = [
        _check(
            settings,
            rule,
            rep,
            peers,
            totals,
            (flags, unknown_flags),
            targets,
            peer_total,
            recorded,
            window,
        )
        for rule in settings.coaching
    ]
    return Coaching(rep.name, rep.role, rep.team, window, len(peers), checks)


def _check(
    settings: Settings,
    rule: CoachingRule,
    rep: RosterRep,
    peers: Sequence[RosterRep],
    totals: MetricTotals,
    flags: tuple[Collection[str], Collection[str]],
    targets: Callable[[], dict[str, float]],
    peer_total: Callable[[str], float],
    recorded: frozenset[str] | None,
    window: Window,
) -> RuleCheck:
    # Each verdict is built once (not `replace`d step by step: a team's diagnosis checks
    # some 1,200 rules, and `dataclasses.replace` costs several times the constructor).
    label = rule.label or rule.name
    if rule.roles is not None and rep.role not in rule.roles:
        return RuleCheck(rule.name, label, "not_for_role", rule.advice)
    if rule.flag is not None:
        raised, unknown = flags
        status: RuleStatus = (
            "hint" if rule.flag in raised else "flag_unknown" if rule.flag in unknown else "no_flag"
        )
        return RuleCheck(rule.name, label, status, rule.advice, flag=rule.flag)
    source, outcome = rule.weak_step or ["", ""]
    comparison = compare_rates(
        totals.get(rep.id, source),
        totals.get(rep.id, outcome),
        peer_total(source),
        peer_total(outcome),
    )

    def found(status: RuleStatus, volume: VolumeCheck | None = None) -> RuleCheck:
        return RuleCheck(
            rule.name, label, status, rule.advice, [source, outcome], comparison, volume=volume
        )

    if not _measurable(settings, source, outcome, comparison, recorded):
        return found("not_measurable")
    if comparison.p_value is None:
        return found("no_data")
    min_gap = settings.diagnose.min_gap
    if not comparison.is_below(settings.diagnose.significance, min_gap):
        far_below = (comparison.relative or 0.0) <= 1.0 - min_gap
        return found("too_few" if far_below else "not_weak")
    if rule.volume_ok is None:
        return found("hint")
    if recorded is not None and rule.volume_ok not in recorded:
        volume = _unrecorded_volume(settings, window, rule.volume_ok, rep, totals)
        return found("hint", volume)
    volume = _volume(settings, window, rule.volume_ok, rep, peers, totals, targets())
    return found("hint", volume)


def _measurable(
    settings: Settings,
    source: str,
    outcome: str,
    comparison: RateComparison,
    recorded: frozenset[str] | None,
) -> bool:
    """Whether the rule's step is a measured rate for the rep and for the peers: both steps
    recorded, and the later not outnumbering the earlier but at a hand-over (`step_rules`)."""
    pair = [source, outcome]
    known = frozenset(pair) if recorded is None else recorded
    handed, counted = hand_overs(settings, pair), counted_steps(settings, pair)
    sides = (
        (comparison.rep_from, comparison.rep_to),
        (comparison.peer_from, comparison.peer_to),
    )
    return all(
        conversion_notes(pair, {source: before, outcome: after}, known, handed, counted)[1] is None
        for before, after in sides
    )


def _unrecorded_volume(
    settings: Settings, window: Window, metric: str, rep: RosterRep, totals: MetricTotals
) -> VolumeCheck:
    """A volume nobody in the organisation records: no reference (the peers' 0s, or a
    target, would say nothing of the rep, whose own figure is 0 too), never short."""
    calendar = BusinessCalendar(settings.calendar)
    days = days_worked(calendar, window, rep)
    shown = days if days < calendar.business_days(window.start, window.end) else None
    left = rep.end_date if rep.end_date and rep.end_date < window.as_of else None
    return VolumeCheck(metric, totals.get(rep.id, metric), None, "none", True, shown, left)


def _volume(
    settings: Settings,
    window: Window,
    metric: str,
    rep: RosterRep,
    peers: Sequence[RosterRep],
    totals: MetricTotals,
    targets: dict[str, float],
) -> VolumeCheck:
    """The rep's volume against the target, else the peers' median, over the rep's days."""
    actual = totals.get(rep.id, metric)
    floor = 1.0 - settings.alerts.behind_pace.by_more_than
    calendar = BusinessCalendar(settings.calendar)
    whole = calendar.business_days(window.start, window.end)
    days = days_worked(calendar, window, rep)
    shown = days if days < whole else None
    left = rep.end_date if rep.end_date and rep.end_date < window.as_of else None
    target = targets.get(metric)
    if target:
        reference = target if shown is None else target * days / whole
        ok = actual >= floor * reference
        return VolumeCheck(metric, actual, reference, "target", ok, shown, left)
    counts = peer_volumes(calendar, window, days, peers, lambda p: totals.get(p.id, metric))
    if not counts:
        return VolumeCheck(metric, actual, None, "none", actual > 0, shown, left)
    median = statistics.median(counts)
    return VolumeCheck(metric, actual, median, "peers", actual >= floor * median, shown, left)


def _window_targets(
    conn: Connection, settings: Settings, window: Window, rep: RosterRep
) -> dict[str, float]:
    """The rep's targets for the window's days, summed from stored targets by business days.

    The window is passed as a quarter-kind period so that stored months (and weeks) covering
    it are added up, each by its business-day share; without full cover there is no target.
    """
    volumes = [r.volume_ok for r in settings.coaching if r.volume_ok]
    if not volumes:
        return {}
    calendar = BusinessCalendar(settings.calendar)
    span = Period("quarter", window.start, window.end)
    found = period_targets(conn, calendar, span, volumes, [rep.id])
    return {metric: value for (_, metric), value in found.items()}
