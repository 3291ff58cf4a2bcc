"""Busy versus productive: is the rep's time selling, and does their selling land?

Per rep over the window: the share of logged time spent in selling activity (against the
seeds' 33% benchmark), the activity mix, connect rate (connected calls per call), ask rate
(share of outreach attempts with an Ask), engagement rate (attempts the client acted on at our
request, per attempt) and decision-maker share of conversations. An outreach attempt is any
activity of a selling-eligible kind, Ask or not: many CRMs record an Ask only on the calls
that connected, so unanswered dials are attempts but not selling activities. Two flags, named
exactly as the coaching rules read them:

- `low_selling_time`: the selling share is below the benchmark, *significantly*. Minutes are
  not counts (one long meeting is not sixty independent minutes), so no Poisson test fits.
  Instead each day the rep logged work is one observation of (selling minutes, logged
  minutes), and the share is the ratio estimator sum(selling) / sum(logged); its standard
  error comes from the day-to-day scatter of `selling - share x logged` (the survey-sampling
  linearisation, days as clusters), and a one-sided t-test with days - 1 degrees of freedom
  asks whether days like these could average the benchmark. On the demo (seed 7, as of
  2026-11-18, 90 days) the planted field rep's share is 0.19 with p about 2e-17, and every
  other rep is at 0.335 or above with p > 0.65; over the week, 14 and 30 days, month,
  quarter, 180 and 365 days no unplanted rep comes below p = 0.25, while the planted rep is
  flagged in every window of two weeks or more (in a 3-day week p = 0.06: too few days).
- `high_volume_low_engagement` (the "1,000 calls and no connects" rep), read against the
  team, not a fixed number: at least `high_volume_ratio` x the peers' median outreach
  attempts, an engagement rate at most `low_engagement_ratio` x the peers' median, and a gap
  in engagement too large for chance (the exact Poisson-rate test of `compare`, engaged per
  attempt against the peers pooled, p < significance). A peer who started or left during
  the window counts at their attempts per business day there, times the rep's days
  (`peers.peer_volumes`), not at a part-window's count. Volume and engagement are both read
  per attempt, not per selling activity: where unanswered dials carry no Ask, counting only
  selling activities would read 17,000 dials with 2% connects as *low* volume, each
  connected call as engaging as anyone's.
  Engagement is read only over the attempts of kinds whose engagement the organisation's
  data records (`engagement_recorded_kinds`): a kind nobody has ever logged with an engaged
  outcome (calls in an export without call results, such as Zoho's) has an unknown
  engagement, not 0%. Counted as unengaged, a rep who logs calls where the peers log
  meetings (each recorded as held) read as "high volume, low engagement": a difference in
  what is logged, not in how prospects respond.
The ask rate follows the same rule for Asks (`ask_recorded_kinds`): a kind on which nobody has
ever recorded an Ask (Zoho's events) is left out of it, not read as attempts without one.
So is the selling share of time, as in the activity summary: whether such an activity was
selling is not known, so its minutes are on neither side (`ask_not_recorded_minutes`).
Counted as non-selling, the meetings a calendar import brings in (a calendar records no Ask)
made a rep with 17 minutes of calls, all selling, read "7% of 4 logged hours is selling"
and "Busy, not productive" (p = 0.006), where `paceline summary` said 100%.
Ratios with nothing to divide by are None.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from scipy.stats import t as student_t
from sqlalchemy import Connection, Engine, case, func, select

from paceline.analytics import step_rules
from paceline.analytics.compare import RateComparison, compare_rates
from paceline.analytics.metrics import MetricTotals
from paceline.analytics.peers import (
    PeerIndex,
    compared_ids,
    compared_totals,
    days_worked,
    diagnosis_scope,
    peer_volumes,
)
from paceline.analytics.rollup import ensure_rollup
from paceline.analytics.scorecard import RosterRep
from paceline.analytics.window import Window
from paceline.calendar import BusinessCalendar
from paceline.config import Settings
from paceline.store.models import Activity, MetricDay

LOW_SELLING_TIME = "low_selling_time"
HIGH_VOLUME_LOW_ENGAGEMENT = "high_volume_low_engagement"
METRICS = (
    "logged_minutes",
    "selling_minutes",
    "selling_activities",
    "calls",
    "conversations",
    "dm_conversations",
)


@dataclass(frozen=True)
class ShareTest:
    """A selling share measured over days, and the evidence that it is below a benchmark."""

    selling_minutes: float
    logged_minutes: float
    days: int  # days with logged minutes
    benchmark: float
    std_error: float | None  # None: fewer than two days
    p_value: float | None  # one-sided: a share this low if the days averaged the benchmark

    @property
    def share(self) -> float | None:
        return self.selling_minutes / self.logged_minutes if self.logged_minutes > 0 else None

    def is_below(self, significance: float) -> bool:
        share = self.share
        return (
            share is not None
            and share < self.benchmark
            and self.p_value is not None
            and self.p_value < significance
        )


@dataclass(frozen=True)
class RepQuality:
    """One rep's time and activity quality beside their peers."""

    rep: str
    rep_id: int
    role: str
    team: str | None
    peers: list[str]
    logged_minutes: float
    selling_minutes: float
    selling_time: ShareTest
    activity_mix: dict[str, int]  # activities per kind, most frequent first
    calls: int
    conversations: int
    dm_conversations: int
    attempts: int  # outreach attempts: activities of a kind that can be selling, Ask or not
    asks: int  # of those, with an Ask
    selling_activities: int
    engaged: int  # attempts the client acted on at our request (an engaged outcome)
    # Attempts of the kinds whose engagement is recorded (`engagement_recorded_kinds`): what
    # the engagement rate divides by.
    engagement_attempts: int
    # Attempts of the kinds on which anyone records an Ask (`ask_recorded_kinds`): what the
    # ask rate divides by.
    ask_attempts: int
    peer_median_attempts: float | None
    peer_median_engagement_rate: float | None
    engagement_vs_peers: RateComparison | None
    flags: list[str] = field(default_factory=list)
    # The flags the data can neither raise nor clear (`_unknown_flags`): a coaching rule
    # reading one says "not measurable", never "checked: not flagged".
    flags_unknown: list[str] = field(default_factory=list)
    # False: the organisation's data records no connected call at all (a Zoho export has no
    # call results), so the connect rate is unknown, not 0%.
    connects_recorded: bool = True
    # Of the logged minutes, those of the kinds on which nobody records an Ask
    # (`QualityReport.asks_not_recorded`): neither selling nor not, so out of the share.
    ask_not_recorded_minutes: float = 0.0

    @property
    def activities(self) -> int:
        return sum(self.activity_mix.values())

    @property
    def selling_share(self) -> float | None:
        """Selling minutes over the logged minutes whose selling is known."""
        return _ratio(self.selling_minutes, self.logged_minutes - self.ask_not_recorded_minutes)

    @property
    def selling_time_not_recorded(self) -> bool:
        """True when the rep has activities but no minute logged whose selling is known
        (calls of 0 seconds, events without a duration: the Zoho export's Jasmine Frank;
        meetings from a calendar, which records no Ask), so the selling share is not
        recorded: the faces say so where a blank read as a missing number (the activity
        summary's rule, `without_duration`)."""
        return self.activities > 0 and self.logged_minutes - self.ask_not_recorded_minutes <= 0

    @property
    def connect_rate(self) -> float | None:
        """Connected calls per call; None when nothing to divide by, or when the
        organisation records no call's connection (`connects_recorded`)."""
        if not self.connects_recorded:
            return None
        return _ratio(self.conversations, self.calls)

    @property
    def ask_rate(self) -> float | None:
        """Asks per outreach attempt of a kind on which the data records Asks; None when
        there is none (not 0%)."""
        return _ratio(self.asks, self.ask_attempts)

    @property
    def engagement_rate(self) -> float | None:
        """Engaged per outreach attempt of a kind whose engagement is recorded; None when
        there is none (not 0%)."""
        return _ratio(self.engaged, self.engagement_attempts)

    @property
    def decision_maker_share(self) -> float | None:
        return _ratio(self.dm_conversations, self.conversations)

    @property
    def volume_vs_peers(self) -> float | None:
        """Outreach attempts as a multiple of the peers' median."""
        median = self.peer_median_attempts
        return self.attempts / median if median else None

    @property
    def engagement_vs_peer_median(self) -> float | None:
        rate, median = self.engagement_rate, self.peer_median_engagement_rate
        return rate / median if rate is not None and median else None


@dataclass(frozen=True)
class QualityReport:
    window: Window
    team: str | None
    rep: str | None
    selling_share_benchmark: float
    high_volume_ratio: float
    low_engagement_ratio: float
    significance: float
    reps: list[RepQuality]
    connects_recorded: bool = True  # False: no connected call in the data (`RepQuality`)
    # Selling kinds attempted in the window whose engagement nobody records (no activity of
    # the kind has an engaged outcome up to the window's end): left out of engagement.
    engagement_not_recorded: list[str] = field(default_factory=list)
    # Selling kinds attempted in the window on which nobody records an Ask (Zoho's events):
    # left out of the ask rate.
    asks_not_recorded: list[str] = field(default_factory=list)


def share_test(days: Sequence[tuple[float, float]], benchmark: float) -> ShareTest:
    """Test a selling share over days of (selling minutes, logged minutes) against a benchmark.

    The share is sum(selling) / sum(logged); with n days its variance is estimated as
    n / (n - 1) x sum((selling_d - share x logged_d)^2) / sum(logged)^2, and
    t = (share - benchmark) / standard error is read on Student's t with n - 1 degrees of
    freedom (one-sided, lower tail). Days without logged minutes carry no information.
    """
    worked = [(s, lg) for s, lg in days if lg > 0]
    selling = math.fsum(s for s, _ in worked)
    logged = math.fsum(lg for _, lg in worked)
    n = len(worked)
    if n < 2:
        return ShareTest(selling, logged, n, benchmark, None, None)
    share = selling / logged
    scatter = math.fsum((s - share * lg) ** 2 for s, lg in worked)
    error = math.sqrt(n / (n - 1) * scatter) / logged
    if error == 0:
        p = 0.0 if share < benchmark else 1.0
    else:
        p = t_cdf((share - benchmark) / error, n - 1)
    return ShareTest(selling, logged, n, benchmark, error, p)


def t_cdf(x: float, df: int) -> float:
    """`scipy.stats.t.cdf(x, df)`, the same number, without the public method's argument
    checks (they cost far more than the answer, once per rep of a team) for finite x and
    df >= 1; anything else goes through the public `cdf`."""
    if math.isfinite(x) and df >= 1:
        return float(student_t._cdf(x, df))
    return float(student_t.cdf(x, df))


def busy_vs_productive(
    engine: Engine,
    settings: Settings,
    window: Window,
    *,
    team: str | None = None,
    rep: str | None = None,
) -> QualityReport:
    """Every rep in scope (a team, one rep, or everyone), each against their peers."""
    ensure_rollup(engine, settings)
    with engine.connect() as conn:
        scope, everyone = diagnosis_scope(conn, settings, window, team, rep)
        ids = compared_ids(scope, everyone)
        totals = compared_totals(conn, settings, METRICS, window, ids)
        kinds = _kind_counts(conn, settings, window, ids)
        days = _minutes_by_day(conn, settings, window, [r.id for r in scope])
        connects = _connects_recorded(conn, settings, totals, window)
        engaging = engagement_recorded_kinds(conn, settings, kinds, window)
        asking = ask_recorded_kinds(conn, settings, kinds, window)
        attempted = {k for c in kinds.values() for k in c.mix if k in settings.selling_kinds}
        unknown = attempted - asking if settings.selling.require_ask else set()
        unknown_minutes = _minutes_of_kinds(conn, window, [r.id for r in scope], unknown)
    q = settings.diagnose.quality
    peers = PeerIndex(everyone)
    calendar = BusinessCalendar(settings.calendar)
    reps = [
        replace(
            _rep_quality(
                settings,
                r,
                peers(r),
                totals,
                kinds,
                _known_days(days.get(r.id, {}), unknown_minutes.get(r.id, {})),
                (engaging, asking),
                (calendar, window),
            ),
            connects_recorded=connects,
            ask_not_recorded_minutes=math.fsum(unknown_minutes.get(r.id, {}).values()),
        )
        for r in scope
    ]
    return QualityReport(
        window,
        team,
        rep,
        q.selling_share_benchmark,
        q.high_volume_ratio,
        q.low_engagement_ratio,
        settings.diagnose.significance,
        reps,
        connects,
        sorted(attempted - engaging),
        sorted(attempted - asking),
    )


def engagement_recorded_kinds(
    conn: Connection, settings: Settings, kinds: dict[int, _KindCounts], window: Window
) -> frozenset[str]:
    """The selling kinds attempted in the window whose engagement the organisation's data
    records (`step_rules.engagement_recorded_kinds`); the compared reps' counts answer
    first."""
    attempted = {k for c in kinds.values() for k in c.mix if k in settings.selling_kinds}
    seen = {k for c in kinds.values() for k in c.engaged_kinds}
    return step_rules.engagement_recorded_kinds(conn, attempted, seen, window.end)


def ask_recorded_kinds(
    conn: Connection, settings: Settings, kinds: dict[int, _KindCounts], window: Window
) -> frozenset[str]:
    """The selling kinds attempted in the window on which the data records Asks: some
    activity of the kind, by anyone, before the window's end carries one (the same rule,
    `step_rules.recorded_kinds`). Zoho's events carry no Ask at all, and counted as attempts
    without one they halved a rep's ask rate for logging meetings."""
    attempted = {k for c in kinds.values() for k in c.mix if k in settings.selling_kinds}
    seen = {k for c in kinds.values() for k in c.ask_kinds}
    return step_rules.recorded_kinds(conn, attempted, seen, window.end, "asks")


def _connects_recorded(
    conn: Connection, settings: Settings, totals: MetricTotals, window: Window
) -> bool:
    """Whether anyone in the organisation has a conversation (a connected call) before the
    window's end (`step_rules.connects_recorded`, the rule when to sell follows too):
    a CRM export without call results reads 0 conversations for every call, which is no
    0% connect rate. The compared reps' totals answer first; only when none of them has
    one is the whole history read."""
    seen = sum(totals.get(r, "conversations") for r in totals.values)
    numerator = settings.metric("conversations")
    return step_rules.connects_recorded(conn, settings, numerator, window.end, seen)


@dataclass
class _KindCounts:
    """Per rep: activities per kind, and outreach attempts with their asks and engagement."""

    mix: dict[str, int] = field(default_factory=dict)
    asks: int = 0
    attempts: int = 0
    engaged: int = 0
    engaged_kinds: set[str] = field(default_factory=set)  # kinds with an engaged attempt
    ask_kinds: set[str] = field(default_factory=set)  # kinds with an attempt with an Ask


def _kind_counts(
    conn: Connection, settings: Settings, window: Window, rep_ids: list[int]
) -> dict[int, _KindCounts]:
    found: dict[int, _KindCounts] = defaultdict(_KindCounts)
    if not rep_ids:
        return found
    for rep_id, kind, count, asks, engaged_count in step_rules.kind_counts(
        conn, window.start, window.end, rep_ids
    ):
        counts = found[int(rep_id)]
        counts.mix[kind] = int(count)
        if kind in settings.selling_kinds:
            counts.attempts += int(count)
            counts.asks += int(asks or 0)
            counts.engaged += int(engaged_count or 0)
            if engaged_count:
                counts.engaged_kinds.add(kind)
            if asks:
                counts.ask_kinds.add(kind)
    return found


def _minutes_by_day(
    conn: Connection, settings: Settings, window: Window, rep_ids: list[int]
) -> dict[int, dict[dt.date, tuple[float, float]]]:
    """Each rep's (selling minutes, logged minutes) per day worked, from the daily rollup.

    The two metrics of a day are put side by side in the database (a row per rep and day,
    not per metric): a team's half-year is some 30,000 rows less to fetch.
    """
    if not rep_ids:
        return {}
    selling, logged = "selling_minutes", "logged_minutes"

    def minutes(name: str) -> Any:
        return func.sum(case((MetricDay.metric == name, MetricDay.value), else_=0.0))

    query = (
        select(MetricDay.rep_id, MetricDay.local_date, minutes(selling), minutes(logged))
        .where(
            MetricDay.rep_id.in_(rep_ids),
            MetricDay.metric.in_([selling, logged]),
            MetricDay.local_date >= window.start,
            MetricDay.local_date < window.end,
        )
        .group_by(MetricDay.rep_id, MetricDay.local_date)
    )
    per_rep: dict[int, dict[dt.date, tuple[float, float]]] = defaultdict(dict)
    for rep_id, day, selling_minutes, logged_minutes in conn.execute(query):
        per_rep[int(rep_id)][day] = (float(selling_minutes), float(logged_minutes))
    return dict(per_rep)


def _minutes_of_kinds(
    conn: Connection, window: Window, rep_ids: list[int], kinds: set[str]
) -> dict[int, dict[dt.date, float]]:
    """Each rep's minutes per day in activities of `kinds` (those on which nobody records an
    Ask): summed in the database, and only asked for when there are such kinds."""
    if not rep_ids or not kinds:
        return {}
    query = (
        select(Activity.rep_id, Activity.local_date, func.sum(Activity.duration_min))
        .where(
            Activity.rep_id.in_(rep_ids),
            Activity.kind.in_(sorted(kinds)),
            Activity.local_date >= window.start,
            Activity.local_date < window.end,
            Activity.duration_min.is_not(None),
        )
        .group_by(Activity.rep_id, Activity.local_date)
    )
    per_rep: dict[int, dict[dt.date, float]] = defaultdict(dict)
    for rep_id, day, minutes in conn.execute(query):
        per_rep[int(rep_id)][day] = float(minutes or 0.0)
    return dict(per_rep)


def _known_days(
    days: dict[dt.date, tuple[float, float]], unknown: dict[dt.date, float]
) -> list[tuple[float, float]]:
    """(selling minutes, logged minutes whose selling is known) per day: the day's minutes
    of kinds without a recorded Ask taken out of the logged ones (never out of the selling
    ones: without an Ask they are not selling under `require_ask`)."""
    return [
        (selling, max(0.0, logged - unknown.get(day, 0.0)))
        for day, (selling, logged) in sorted(days.items())
    ]


def _rep_quality(
    settings: Settings,
    rep: RosterRep,
    peers: list[RosterRep],
    totals: MetricTotals,
    kinds: dict[int, _KindCounts],
    days: list[tuple[float, float]],
    recorded: tuple[frozenset[str], frozenset[str]],
    span: tuple[BusinessCalendar, Window],
) -> RepQuality:
    """`recorded`: the kinds whose engagement, and whose Asks, the organisation records;
    `span`: the window read, in its calendar (peers' attempts are read over the rep's days)."""
    q = settings.diagnose.quality
    engaging, asking = recorded
    own = kinds.get(rep.id, _KindCounts())

    def total(rep_id: int, metric: str) -> int:
        return round(totals.get(rep_id, metric))

    def measured(counts: _KindCounts) -> int:
        """Attempts of the kinds whose engagement is recorded (every engaged one is)."""
        return sum(n for kind, n in counts.mix.items() if kind in engaging)

    peer_counts = [kinds.get(p.id, _KindCounts()) for p in peers]
    calendar, window = span
    worked = days_worked(calendar, window, rep)
    peer_attempts = peer_volumes(
        calendar, window, worked, peers, lambda p: kinds.get(p.id, _KindCounts()).attempts
    )
    peer_measured = [measured(c) for c in peer_counts]
    peer_rates = [c.engaged / m for c, m in zip(peer_counts, peer_measured, strict=True) if m > 0]
    comparison = (
        compare_rates(
            measured(own), own.engaged, sum(peer_measured), sum(c.engaged for c in peer_counts)
        )
        if peers
        else None
    )
    result = RepQuality(
        rep=rep.name,
        rep_id=rep.id,
        role=rep.role,
        team=rep.team,
        peers=[p.name for p in peers],
        logged_minutes=totals.get(rep.id, "logged_minutes"),
        selling_minutes=totals.get(rep.id, "selling_minutes"),
        selling_time=share_test(days, q.selling_share_benchmark),
        activity_mix=dict(sorted(own.mix.items(), key=lambda kv: (-kv[1], kv[0]))),
        calls=total(rep.id, "calls"),
        conversations=total(rep.id, "conversations"),
        dm_conversations=total(rep.id, "dm_conversations"),
        attempts=own.attempts,
        asks=own.asks,
        selling_activities=total(rep.id, "selling_activities"),
        engaged=own.engaged,
        engagement_attempts=measured(own),
        ask_attempts=sum(n for kind, n in own.mix.items() if kind in asking),
        peer_median_attempts=_median(peer_attempts),
        peer_median_engagement_rate=_median(peer_rates),
        engagement_vs_peers=comparison,
    )
    return replace(
        result, flags=_flags(settings, result), flags_unknown=_unknown_flags(settings, result)
    )


def _flags(settings: Settings, r: RepQuality) -> list[str]:
    q = settings.diagnose.quality
    significance = settings.diagnose.significance
    flags: list[str] = []
    if r.selling_time.is_below(significance):
        flags.append(LOW_SELLING_TIME)
    volume, engagement = r.volume_vs_peers, r.engagement_vs_peer_median
    if (
        volume is not None
        and volume >= q.high_volume_ratio
        and engagement is not None
        and engagement <= q.low_engagement_ratio
        and r.engagement_vs_peers is not None
        and r.engagement_vs_peers.is_below(significance)
    ):
        flags.append(HIGH_VOLUME_LOW_ENGAGEMENT)
    return flags


def _unknown_flags(settings: Settings, r: RepQuality) -> list[str]:
    """The flags the data cannot decide either way. `low_selling_time`: fewer than two days
    with logged minutes (calls logged at 0 seconds, meetings without a duration: the Zoho
    export's Jasmine Frank logged 700 calls, all of 0 seconds). `high_volume_low_engagement`:
    the volume is not known to be under the threshold, and the engagement cannot be set
    against the peers' median (none recorded, no peers, or peers with no engagement)."""
    unknown: list[str] = []
    if r.selling_time.p_value is None:
        unknown.append(LOW_SELLING_TIME)
    volume = r.volume_vs_peers
    low_volume = volume is not None and volume < settings.diagnose.quality.high_volume_ratio
    compared = volume is not None and r.engagement_vs_peer_median is not None
    if not low_volume and not compared:
        unknown.append(HIGH_VOLUME_LOW_ENGAGEMENT)
    return unknown


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None
