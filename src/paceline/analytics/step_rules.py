"""When a conversion between two funnel steps is a measured rate, and when it is not.

One rule for every analysis that divides one funnel step by the step before (the funnel and
everything quoting it, the plan's rates measured from history), so a CRM that does not record
a step never shows up as "0% conversion", the biggest gap or a plan's rate:

- A step is **not recorded** when nobody in the organisation has it, ever, up to the end of
  the window read: the CRM does not record its kind or outcome (a Zoho export has no call
  results, so no conversations). Its conversion is not 0% but unknown, and so is the
  conversion from it to the next step.
- A later step **outnumbering** the step before is a measured rate (above 100%) only at a
  hand-over between roles (`hand_overs`: AEs hold meetings SDRs did not set). Anywhere else
  the later step happened without the earlier one being recorded (deals won with no proposal
  logged), so the ratio is not a conversion; and the earlier step is shown to be
  under-recorded, so the conversion *into* it is not measurable either.
- A rep's steps past their role's hand-over are **handed over**: an SDR's meetings are held
  by the AEs, who are credited with them, so the SDR's "0 meetings held, 0.0%" is not the
  SDR's conversion but another role's step.
- A step whose records **start late** (`recording_start`: a source that began recording it
  mid-history, calls imported from February) is measured from its first record: what it is
  divided into (the forecast's opportunities, the equation's wins) is counted from that day
  on too, never a whole period's over part of it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import pairwise
from typing import Literal

from sqlalchemy import Connection, case, func, literal, select

from paceline.analytics import aggregates
from paceline.analytics.hours import CALLS_METRIC
from paceline.analytics.late_entry import entered_before
from paceline.analytics.metric_sql import (
    activity_filter,
    deal_credit_column,
    deal_date_column,
    deal_filter,
    is_additive_activity_metric,
    needs_contact,
)
from paceline.analytics.metrics import metric_totals
from paceline.calendar import local_midnight_utc
from paceline.config import ACTIVITY_FILTERS, MetricSettings, Settings
from paceline.store.models import Activity, Contact, Deal, KindDay, MetricDay

StepNote = Literal[
    "not_recorded", "after_unrecorded", "exceeds_previous", "under_recorded", "handed_over"
]
"""Why a step's conversion is not a measured rate:
- not_recorded: the step itself is not recorded in the organisation's data;
- after_unrecorded: the step before it is not recorded;
- exceeds_previous: more of this step than of the step before, not at a hand-over;
- under_recorded: the next step outnumbers this one (not at a hand-over), so this step is not
  all recorded and the conversion into it understates it;
- handed_over: a rep's step past their role's hand-over (`handed_over_steps`), another
  role's."""

_BEGINNING = dt.date(1900, 1, 1)
STRAY_SHARE = 0.05  # records ahead of a month's silence, at most this share of all: strays
SILENCE_DAYS = 28
LATE_START_DAYS = 7  # a first record within a week of the history's start is no late start


def step_owners(settings: Settings, steps: Sequence[str]) -> dict[str, frozenset[str]]:
    """Each funnel step owned by some role → the roles owning it; a step no role owns is left
    out (every rep carries it)."""
    owners: dict[str, set[str]] = {}
    for role in settings.roles:
        for step in settings.role_funnel(role.name):
            owners.setdefault(step, set()).add(role.name)
    return {s: frozenset(owners[s]) for s in steps if s in owners}


def hand_overs(settings: Settings, steps: Sequence[str]) -> frozenset[tuple[str, str]]:
    """Consecutive steps owned by roles with none in common (the configuration's roles): the
    only places where a later step may outnumber the one before (AEs book meetings too)."""
    owners = step_owners(settings, steps)
    return frozenset(
        (upper, lower)
        for upper, lower in pairwise(steps)
        if upper in owners and lower in owners and not owners[upper] & owners[lower]
    )


def handed_over_steps(
    settings: Settings,
    steps: Sequence[str],
    role: str,
    boundaries: frozenset[tuple[str, str]] | None = None,
) -> frozenset[str]:
    """The steps a rep of `role` hands over: from the first hand-over whose upper step the
    role owns and whose lower step it does not, every later step it does not own.
    `boundaries`: `hand_overs(settings, steps)` when the caller has it already.

    A role owning no step, or not in the configuration, hands nothing over: its reps carry
    the whole funnel (a field rep who sets, holds and closes)."""
    if role not in settings.role_names:
        return frozenset()
    mine = set(settings.role_funnel(role))
    if boundaries is None:
        boundaries = hand_overs(settings, steps)
    for i, (upper, lower) in enumerate(pairwise(steps), start=1):
        if (upper, lower) in boundaries and upper in mine and lower not in mine:
            return frozenset(s for s in steps[i:] if s not in mine)
    return frozenset()


def recorded_steps(
    conn: Connection,
    settings: Settings,
    steps: Sequence[str],
    seen: Mapping[str, float],
    end: dt.date,
) -> frozenset[str]:
    """The steps the organisation's data records: those with a count in `seen` (already read
    for someone), else with any count by any rep on a local day before `end`.

    Only steps nobody in `seen` has are read again, over all reps and all history: a funnel
    whose steps all happened reads nothing more."""
    recorded = {s for s in steps if seen.get(s, 0.0) > 0}
    missing = [s for s in steps if s not in recorded]
    rolled = [s for s in missing if is_additive_activity_metric(settings.metric(s))]
    recorded.update(s for s in rolled if _any_day_counted(conn, s, end))
    deals = [settings.metric(s) for s in missing if settings.metric(s).source == "deals"]
    recorded.update(_deals_recorded(conn, settings, deals, end))
    others = [s for s in missing if s not in rolled and s not in {m.name for m in deals}]
    if others:
        totals = metric_totals(conn, settings, others, _BEGINNING, end)
        for values in totals.values.values():
            recorded.update(s for s in others if values.get(s, 0.0) > 0)
    return frozenset(recorded)


def wins_recorded(conn: Connection, settings: Settings, end: dt.date, seen: float = 0.0) -> bool:
    """Whether the organisation's data records a won deal at all before the local day `end`:
    the scorecard's rule for its deals-won metric (`recorded_steps`), so the flow and the
    forecast say "not recorded" where the scorecard does, never "won 0" beside it (the
    Pipedrive and Close samples, no deal won). `seen`: wins already counted (then nothing
    is read). With no deals-won count configured, the won deals themselves are read
    (`WON_DEALS`: closed won, entered by then): the forecast's refusal of a 0% learnt from
    losses alone must not hang on a scorecard metric (until 2026-12-07 such a configuration
    answered True, wins recorded, whatever the data held)."""
    if seen > 0:
        return True
    won = [
        m.name
        for m in settings.metrics
        if m.source == "deals" and m.status == "won" and m.aggregate == "count"
    ]
    if not won:
        return _any_deal_counted(conn, settings, WON_DEALS, end)
    return bool(recorded_steps(conn, settings, won[:1], {}, end))


# The won deals, by close date and owner: what `wins_recorded` reads when no deals-won count
# is configured (the default configuration's `deals_won`).
WON_DEALS = MetricSettings(
    name="deals_won", aggregate="count", source="deals", date="closed_at", status="won"
)


# What the definitions of two activity metrics must share to count the same activities.
_FILTER_FIELDS = {"aggregate", "source", "field", *ACTIVITY_FILTERS}


def connected_calls(settings: Settings) -> MetricSettings:
    """The calls (the `calls` metric's filters) with a connected outcome: what a connect rate
    read per hour (`timing`, `hour_day`'s `conversations`) divides by the calls."""
    calls = settings.metric(CALLS_METRIC)
    return calls.model_copy(update={"name": "connected_calls", "connected": True})


def connects_recorded(
    conn: Connection,
    settings: Settings,
    numerator: MetricSettings,
    end: dt.date,
    seen: float = 0.0,
) -> bool:
    """Whether the organisation's data records a connect rate's `numerator` at all: some
    activity it counts, by anyone, on a local day before `end` (the rule of
    `recorded_steps`). `seen`: the numerator already counted for someone (then nothing is
    read). The one rule for "connect rate unknown, not 0%" (a Zoho export has no call
    results): busy vs productive passes the `conversations` metric it divides, when to sell
    `connected_calls`; each asks about what it divides, so a configuration whose
    conversations are not the connected calls no longer reads one of them wrong.

    Cheap either way: a configured rolled-up metric with the numerator's definition is
    probed on `metric_day`'s primary key (when the analyses read the aggregates, which keeps
    it current), anything else as the first matching activity."""
    if seen > 0:
        return True
    rolled = _rolled_up_as(settings, numerator) if aggregates.reading() else None
    if rolled is not None:
        return _any_day_counted(conn, rolled, end)
    query = select(Activity.id).where(
        activity_filter(settings, numerator), Activity.local_date < end
    )
    if needs_contact(numerator):
        query = query.outerjoin(Contact, Contact.id == Activity.contact_id)
    return conn.execute(query.limit(1)).first() is not None


def _rolled_up_as(settings: Settings, metric: MetricSettings) -> str | None:
    """The name of a configured metric the rollup keeps (`metric_day`) that counts exactly
    the activities `metric` does, or None."""
    wanted = metric.model_dump(include=_FILTER_FIELDS)
    for candidate in settings.metrics:
        if is_additive_activity_metric(candidate) and (
            candidate.model_dump(include=_FILTER_FIELDS) == wanted
        ):
            return candidate.name
    return None


def _any_day_counted(conn: Connection, metric: str, end: dt.date) -> bool:
    """Whether anyone has any of a rolled-up metric on a local day before `end`: the first
    such `metric_day` row, found on its primary key (metric, day), where summing the whole
    history for every rep read every row. Why: a leaderboard asks whenever nobody on it has
    any yet (a day board in the morning), and the answer is almost always yes."""
    query = (
        select(MetricDay.metric)
        .where(MetricDay.metric == metric, MetricDay.local_date < end, MetricDay.value > 0)
        .limit(1)
    )
    return conn.execute(query).first() is not None


def _deals_recorded(
    conn: Connection, settings: Settings, metrics: list[MetricSettings], end: dt.date
) -> set[str]:
    """Those of the deal `metrics` anyone has before `end`. Metrics on the same deals (date,
    status, credit: deals won and revenue) share their probes: a sum's first deal with an
    amount is a deal counted too, so it is asked first, and a count's absence answers the
    sum as well: one statement for both in either common case."""
    found: set[str] = set()
    by_deals: dict[tuple[str | None, str | None, str], list[MetricSettings]] = {}
    for metric in metrics:
        by_deals.setdefault((metric.date, metric.status, metric.credit), []).append(metric)
    for same in by_deals.values():
        sums = [m for m in same if m.aggregate == "sum"]
        counts = [m for m in same if m.aggregate != "sum"]
        if sums and _any_deal_counted(conn, settings, sums[0], end):
            found.update(m.name for m in same)
        elif counts and _any_deal_counted(conn, settings, counts[0], end):
            found.update(m.name for m in counts)
    return found


def _any_deal_counted(
    conn: Connection, settings: Settings, metric: MetricSettings, end: dt.date
) -> bool:
    """Whether any rep has any of a deal metric dated before the local day `end`: its first
    deal (a sum: with an amount above 0, as `metric_totals` would sum to more than 0). Why
    not `metric_totals` over all history: a rep's scorecard asks whenever the rep has none
    this period (an SDR with no opportunity sourced yet), and summing every deal ever
    sourced per rep took 5 ms of a 1 ms card on the demo.

    Only deals entered in the CRM before `end` count (the as-of rule, `late_entry`): a win
    closed before it but logged after it was not known then, so wins all entered later (the
    Salesforce sample loaded on 2024-01-22, read as of 2023-11-30) are "not recorded", as the
    flow and the forecast read them, not a measured 0."""
    dated = deal_date_column(metric)
    before = local_midnight_utc(settings.calendar.zone, end)
    query = (
        select(literal(1))
        .select_from(Deal)
        .where(
            deal_credit_column(metric).is_not(None),
            dated < before,
            entered_before(before),
            deal_filter(metric, settings.calendar.zone),
        )
    )
    if metric.aggregate == "sum":
        query = query.where(Deal.amount > 0)
    return conn.execute(query.limit(1)).first() is not None


RecordedField = Literal["engaged", "asks"]


def engagement_recorded_kinds(
    conn: Connection, attempted: Iterable[str], seen: Iterable[str], end: dt.date
) -> frozenset[str]:
    """The attempted kinds whose engagement the organisation's data records: some activity of
    the kind, by anyone, on a local day before `end` has an engaged outcome (the rule of
    `recorded_steps`, per kind). `seen`: kinds already known to have an engaged activity
    (the counts read for the compared reps); only the others are probed, once each.

    Why: an export without call results (Zoho's) has no engaged call at all, and counting
    its calls as unengaged attempts reads 0% where the truth is unknown. Every analysis that
    rates engagement (busy vs productive, when to sell) asks this one function."""
    return recorded_kinds(conn, attempted, seen, end, "engaged")


def recorded_kinds(
    conn: Connection,
    attempted: Iterable[str],
    seen: Iterable[str],
    end: dt.date,
    what: RecordedField,
) -> frozenset[str]:
    """The attempted kinds for which anyone has recorded `what` (an engaged outcome, an Ask)
    on some activity on a local day before `end`; `seen` answers first. The one rule for
    "not recorded, not 0%" per kind: engagement, and the Ask (Zoho's events carry none)."""
    wanted = set(attempted)
    recorded = wanted & set(seen)
    recorded.update(k for k in sorted(wanted - recorded) if _any_recorded(conn, k, end, what))
    return frozenset(recorded)


def kind_counts(
    conn: Connection, start: dt.date, end: dt.date, rep_ids: list[int]
) -> list[tuple[int, str, int, int, int]]:
    """(rep_id, kind, activities, asks, engaged) over [start, end): from `kind_day` when the
    analyses read the aggregates, else from the activities."""
    if not rep_ids:
        return []
    if aggregates.reading():
        return aggregates.kind_counts(conn, start, end, rep_ids)
    query = (
        select(
            Activity.rep_id,
            Activity.kind,
            func.count(),
            func.sum(case((Activity.has_ask.is_(True), 1), else_=0)),
            func.sum(case((Activity.engaged.is_(True), 1), else_=0)),
        )
        .where(
            Activity.rep_id.in_(rep_ids),
            Activity.local_date >= start,
            Activity.local_date < end,
        )
        .group_by(Activity.rep_id, Activity.kind)
    )
    return [
        (int(r), str(k), int(n or 0), int(a or 0), int(e or 0))
        for r, k, n, a, e in conn.execute(query)
    ]


def asks_unrecorded_kinds(
    conn: Connection,
    settings: Settings,
    rows: Iterable[tuple[int, str, int, int, int]],
    end: dt.date,
) -> frozenset[str]:
    """The selling kinds among `kind_counts` rows on which nobody records an Ask before `end`
    (`recorded_kinds`): the one rule for "Ask not recorded" wherever prospects are counted
    (the flow, the equation). Whether such an activity put an Ask in front of anyone is
    unknown, so it is neither selling nor not selling: Zoho's events carry no Ask, and a team
    selling only in meetings read "0 prospects in". Empty when selling needs no Ask."""
    if not settings.selling.require_ask:
        return frozenset()
    listed = list(rows)
    attempted = {kind for _, kind, _, _, _ in listed if kind in settings.selling_kinds}
    seen = {kind for _, kind, _, asks, _ in listed if asks}
    return frozenset(attempted - recorded_kinds(conn, attempted, seen, end, "asks"))


def _any_recorded(conn: Connection, kind: str, end: dt.date, what: RecordedField) -> bool:
    """Whether anyone has an activity of `kind` with `what` on a local day before `end` (the
    first such row; `kind_day` when the analyses read the aggregates)."""
    if aggregates.reading():
        counted = KindDay.engaged if what == "engaged" else KindDay.asks
        query = select(KindDay.kind).where(
            KindDay.kind == kind, KindDay.local_date < end, counted > 0
        )
    else:
        flag = Activity.engaged if what == "engaged" else Activity.has_ask
        query = select(Activity.kind).where(
            Activity.kind == kind, Activity.local_date < end, flag.is_(True)
        )
    return conn.execute(query.limit(1)).first() is not None


def conversion_notes(
    steps: Sequence[str],
    counts: Mapping[str, float],
    recorded: frozenset[str],
    handed_over: frozenset[tuple[str, str]],
    counted: frozenset[str] | None = None,
    handed: frozenset[str] = frozenset(),
) -> list[StepNote | None]:
    """Per step (the first included, always None unless not recorded): why its conversion
    from the step before is not a measured rate, or None when it is.

    `counted`: the steps that count events (`aggregate = "count"`; None: all of them). Only
    between two of those can a later step outnumbering the earlier one be a fault: revenue per
    proposal, or calls per account reached, are ratios above one by nature. `handed`: the
    steps the subject hands over to another role (`handed_over_steps`)."""
    counted = frozenset(steps) if counted is None else counted

    def _outnumbers(upper: str, lower: str) -> bool:
        return (
            upper in counted
            and lower in counted
            and (upper, lower) not in handed_over
            and counts.get(lower, 0.0) > counts.get(upper, 0.0)
        )

    notes: list[StepNote | None] = []
    for i, step in enumerate(steps):
        if step in handed:
            notes.append("handed_over")
        elif step not in recorded:
            notes.append("not_recorded")
        elif i == 0:
            notes.append(None)
        elif steps[i - 1] not in recorded:
            notes.append("after_unrecorded")
        elif _outnumbers(steps[i - 1], step):
            notes.append("exceeds_previous")
        elif (
            i + 1 < len(steps)
            and steps[i + 1] in recorded
            and steps[i + 1] not in handed
            and _outnumbers(step, steps[i + 1])
        ):
            notes.append("under_recorded")
        else:
            notes.append(None)
    return notes


def counted_steps(settings: Settings, steps: Sequence[str]) -> frozenset[str]:
    """The steps that count events (`aggregate = "count"`), for `conversion_notes`."""
    return frozenset(s for s in steps if settings.metric(s).aggregate == "count")


def recording_start(days: Mapping[dt.date, float], history_start: dt.date) -> dt.date | None:
    """The first day a step is recorded, when that is more than a week after the start of the
    history read (weekends and holidays there are no late start); None otherwise (a first
    record before the history's start included, or no records).

    `days`: the step's count per local day, days with none left out. The forecast's driver
    and the revenue equation's selling activities are measured from this day on, with the
    opportunities or the wins counted from it too: a period's wins over the part of it whose
    activity was recorded inflates the rate per activity.

    Stray records ahead of the real start (a handful logged by hand months before an
    integration began) do not make it: records followed by `SILENCE_DAYS` or more without
    any are strays when they are under `STRAY_SHARE` of all, and the start is the first
    record after the silence. Starting later is safe for a rate: what is divided into it
    before the start is left out with the records; it only reads less history."""
    if not days:
        return None
    ordered = sorted(days)
    total, before = sum(days.values()), 0.0
    start = ordered[0]
    for earlier, later in pairwise(ordered):
        before += days[earlier]
        if before >= STRAY_SHARE * total:
            break
        if (later - earlier).days >= SILENCE_DAYS:
            start = later
    return start if (start - history_start).days > LATE_START_DAYS else None


LatestRecord = Callable[[dt.date, dt.date], dt.date | None]
"""The last day with a record in (after, through], or None: a look-up on an index of days."""


def may_start_late(latest: LatestRecord, history_start: dt.date, end: dt.date) -> bool:
    """Whether `recording_start` of the days before `end` could be a day: False only when it
    is None, found with a few look-ups of the last record in a span (`latest`) instead of
    every day's count. Why: the revenue equation asks on every diagnosis, and reading a
    year's day sums of 1,000 reps took some 100 ms where these take well under one.

    The start is late only when nothing is recorded by a week into the history, or when the
    last record by then (`p`) is followed, before `end`, by a silence of `SILENCE_DAYS` or
    more: the start only ever moves to the record after such a silence. Walking from `p`,
    each look-up jumps to the last record within `SILENCE_DAYS - 1` days, which never passes
    over the left edge of a silence; a span with none, and a record after it, is one. Whether
    the records before it are strays is `recording_start`'s to say."""
    last = end - dt.timedelta(days=1)
    day = latest(_BEGINNING, min(history_start + dt.timedelta(days=LATE_START_DAYS), last))
    if day is None:
        return True
    reach = dt.timedelta(days=SILENCE_DAYS - 1)
    while (following := latest(day, min(day + reach, last))) is not None:
        day = following
    return latest(day + reach, last) is not None


def metric_recording_start(
    conn: Connection, metric: str, history_start: dt.date, end: dt.date
) -> dt.date | None:
    """`recording_start` of a metric the rollup keeps (`metric_day`), from everyone's day
    sums before `end` over all history: one day for the whole organisation, since a CRM
    that began recording mid-history has no record for anyone, while one rep's quiet weeks
    are real. A step recorded before the history is read from its start, however quiet its
    first week. The day sums are read only when `may_start_late` says the start could be
    late; otherwise a few look-ups on the primary key (metric, day) answer."""

    def latest(after: dt.date, through: dt.date) -> dt.date | None:
        query = (
            select(MetricDay.local_date)
            .where(
                MetricDay.metric == metric,
                MetricDay.local_date > after,
                MetricDay.local_date <= through,
                MetricDay.value > 0,
            )
            .order_by(MetricDay.local_date.desc())
            .limit(1)
        )
        day: dt.date | None = conn.execute(query).scalar()
        return day

    if not may_start_late(latest, history_start, end):
        return None
    query = (
        select(MetricDay.local_date, func.sum(MetricDay.value))
        .where(MetricDay.metric == metric, MetricDay.local_date < end)
        .group_by(MetricDay.local_date)
    )
    days = {day: float(value) for day, value in conn.execute(query) if value}
    return recording_start(days, history_start)
