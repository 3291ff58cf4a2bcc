"""Stalled deals: open deals nobody is selling to, or stuck in a stage for too long.

A deal does not die on the day it is lost; it dies weeks earlier, the day the rep stops
putting an Ask in front of the buyer. So a deal is *stalled* when either
- no selling activity (a selling-eligible kind with an Ask) has touched it for
  `diagnose.stalled.business_days` business days: activity on the deal itself, or by the
  deal's owner on the deal's account (reps often log a call against the account, not the deal);
- or it has sat in its current stage longer than the team usually does: longer than the
  `stage_percentile` quantile of the team's finished stays in that stage. A percentile from
  three stays is noise, so it is used only with `min_stage_samples` stays or more.

Everything is read as it stood at the end of the as-of day in the business time zone: a
later stage change, close or activity is ignored, so a report for a past day can be re-run
and gives the same answer. Quantiles use NumPy's default (linear interpolation between the
two nearest order statistics, Hyndman & Fan type 7).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Connection,
    DateTime,
    Engine,
    and_,
    func,
    or_,
    select,
    true,
)

from paceline.analytics import aggregates
from paceline.analytics.late_entry import entered_after_close
from paceline.analytics.metric_sql import selling_condition
from paceline.analytics.metrics import utc_bounds
from paceline.analytics.money import cents, money_total
from paceline.analytics.peers import diagnosis_reps, find_rep
from paceline.analytics.reopened import standing_history
from paceline.analytics.rollup import ensure_rollup
from paceline.analytics.scorecard import RosterRep
from paceline.analytics.window import Window, diagnosis_window
from paceline.calendar import BusinessCalendar, local_days_between
from paceline.config import Settings
from paceline.store.models import Account, Activity, Deal, Rep, Team
from paceline.store.names import name_key

Reason = Literal["no_selling_activity", "long_in_stage"]
NO_SELLING: Reason = "no_selling_activity"
LONG_IN_STAGE: Reason = "long_in_stage"


# --- whose deals ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DealScope:
    """Whose deals a pipeline analysis reads.

    `rep_ids` None means every deal (no team or rep asked for); for a team, every rep in it
    now, whatever their role and whether or not they still work (a manager's deals and the
    deals a departed rep left open are the team's pipeline, as the forecast reads them);
    `reps` are the scope's selling reps working in the window.
    `norm_teams` are the teams whose deals set "usual" (stage percentiles); None: all deals.
    """

    reps: list[RosterRep]
    rep_ids: list[int] | None
    norm_teams: list[str] | None
    team: str | None
    rep: str | None

    def owned(self, column: ColumnClause[Any] = Deal.rep_id) -> ColumnElement[bool]:
        """A condition on a rep-id column: in scope."""
        return true() if self.rep_ids is None else column.in_(self.rep_ids)


def deal_scope(
    conn: Connection,
    settings: Settings,
    window: Window,
    team: str | None = None,
    rep: str | None = None,
) -> DealScope:
    """The scope for `team` and/or `rep` (unknown names: UserInputError with a hint)."""
    reps = diagnosis_reps(conn, settings, window, team)
    if rep is not None:
        found = find_rep(reps, rep)
        norm = [found.team] if found.team else None
        return DealScope([found], [found.id], norm, found.team, found.name)
    if team is not None:
        name = _stored_team(conn, team)
        return DealScope(reps, _team_rep_ids(conn, name), [name], name, None)
    return DealScope(reps, None, None, None, None)


def _stored_team(conn: Connection, team: str) -> str:
    """The team's name as stored (the caller may have typed it in another case)."""
    names = [n for (n,) in conn.execute(select(Team.name))]
    return next((n for n in names if name_key(n) == name_key(team)), team)


def _team_rep_ids(conn: Connection, team: str) -> list[int]:
    """Every rep in the team now: its selling reps, and the others whose deals are its
    pipeline all the same (managers, reps who left without their deals being reassigned)."""
    query = select(Rep.id).join(Team, Team.id == Rep.team_id).where(Team.name == team)
    return sorted(int(i) for (i,) in conn.execute(query))


def day_end_utc(settings: Settings, day: dt.date) -> dt.datetime:
    """The end of a business-local day, as the naive UTC instant stored timestamps use."""
    return utc_bounds(settings, day, day + dt.timedelta(days=1))[1]


def open_at(moment: dt.datetime) -> ColumnElement[bool]:
    """Deals open at `moment`: created before it and not closed by then.

    A deal open now is open then (if it existed); a closed deal was open until its close. A
    closed deal with no close date cannot be placed in time and is left out.
    """
    return and_(
        Deal.created_at < moment,
        or_(Deal.status == "open", Deal.closed_at >= moment),
    )


# --- the result -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StageNorm:
    """How long the team's finished stays in one stage lasted: the bar for "too long"."""

    stage: str
    label: str
    samples: int  # finished stays before the as-of day
    days: float | None  # their `stage_percentile` quantile; None with too few samples


@dataclass(frozen=True)
class StalledDeal:
    deal_id: int
    name: str
    rep: str
    rep_id: int
    team: str | None
    account: str | None
    # None: not recorded at the as-of day. The history records only a closed stage (a Zoho
    # export keeps a deal's final stage only), and the deal was still open then.
    stage: str | None
    amount: float | None  # None: not recorded (unknown, not 0)
    created_on: dt.date  # business-local day
    stage_since: dt.date  # business-local day it entered its current stage
    days_in_stage: float  # to the end of the as-of day
    stage_percentile_days: float | None  # the team's bar for this stage, if trusted
    last_selling_day: dt.date | None  # None: no selling activity on it ever
    idle_business_days: int
    reasons: list[Reason]


@dataclass(frozen=True)
class RepStalled:
    """One rep's stalled deals, with their open pipeline for scale."""

    rep: str
    rep_id: int
    team: str | None
    open_deals: int
    open_value: float  # of the open deals with an amount
    count: int
    value: float  # of the stalled deals with an amount
    deals: list[StalledDeal] = field(default_factory=list)
    open_without_amount: int = 0  # open deals with no amount: not in open_value
    without_amount: int = 0  # stalled deals with no amount: not in value


@dataclass(frozen=True)
class StalledReport:
    as_of: dt.date
    team: str | None
    rep: str | None
    business_days: int  # the no-selling threshold
    stage_percentile: float
    min_stage_samples: int
    open_deals: int
    open_value: float  # of the open deals with an amount
    open_without_amount: int  # open deals with no amount recorded: not in open_value
    stages: list[StageNorm]
    deals: list[StalledDeal]  # largest first
    by_rep: list[RepStalled]  # owners of open deals, most stalled value first

    @property
    def count(self) -> int:
        return len(self.deals)

    @property
    def value(self) -> float:
        """The stalled deals' value, of those with an amount (see `without_amount`)."""
        return money_total(d.amount for d in self.deals)

    @property
    def without_amount(self) -> int:
        return sum(1 for d in self.deals if d.amount is None)


# --- the analysis ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _OpenDeal:
    deal_id: int
    name: str
    rep_id: int
    rep: str
    team: str | None
    account_id: int | None
    account: str | None
    amount: float | None
    stage: str
    created_at: dt.datetime


def stalled_deals(
    engine: Engine,
    settings: Settings,
    as_of: dt.date,
    *,
    team: str | None = None,
    rep: str | None = None,
) -> StalledReport:
    """Open deals (of a team, a rep or everyone) with no recent selling or long in stage."""
    rules = settings.diagnose.stalled
    calendar = BusinessCalendar(settings.calendar)
    end = day_end_utc(settings, as_of)
    if aggregates.reading():
        ensure_rollup(engine, settings)  # the last selling day per account comes from them
    with engine.connect() as conn:
        scope = deal_scope(conn, settings, diagnosis_window(settings, "1d", as_of), team, rep)
        entered = _current_stages(conn, scope, end)
        deals = _not_closed_then(settings, _open_deals(conn, scope, end), entered)
        stays = _finished_stays(conn, scope, end, calendar.zone)
        last_selling = _last_selling(conn, settings, deals, scope, as_of, end)
    placed = {d.deal_id: _placed(settings, d, entered) for d in deals}
    norms = _norms(settings, stays, {stage for stage, _ in placed.values() if stage is not None})
    judge = _Rules(as_of, end, rules.business_days, {n.stage: n.days for n in norms})
    judged = [
        _judge(calendar, d, placed[d.deal_id], last_selling.get(d.deal_id), judge) for d in deals
    ]
    # Largest first; a deal without an amount after those with one (its size is unknown).
    stalled = sorted(
        (s for s in judged if s.reasons),
        key=lambda s: (s.amount is None, -(s.amount or 0.0), s.name),
    )
    return StalledReport(
        as_of=as_of,
        team=scope.team,
        rep=scope.rep,
        business_days=rules.business_days,
        stage_percentile=rules.stage_percentile,
        min_stage_samples=rules.min_stage_samples,
        open_deals=len(deals),
        open_value=money_total(d.amount for d in deals),
        open_without_amount=sum(1 for d in deals if d.amount is None),
        stages=norms,
        deals=stalled,
        by_rep=_by_rep(scope, deals, stalled),
    )


def _open_deals(conn: Connection, scope: DealScope, end: dt.datetime) -> list[_OpenDeal]:
    query = (
        select(
            Deal.id,
            Deal.name,
            Deal.rep_id,
            Rep.name,
            Team.name,
            Deal.account_id,
            Account.name,
            Deal.amount,
            Deal.stage,
            Deal.created_at,
        )
        .join(Rep, Rep.id == Deal.rep_id)
        .outerjoin(Team, Team.id == Rep.team_id)
        .outerjoin(Account, Account.id == Deal.account_id)
        .where(open_at(end), scope.owned())
        .order_by(Deal.id)
    )
    return [
        _OpenDeal(
            int(i),
            n,
            int(r),
            rn,
            tn,
            a,
            an,
            None if amount is None else float(amount),
            stage,
            created,
        )
        for i, n, r, rn, tn, a, an, amount, stage, created in conn.execute(query)
    ]


def _not_closed_then(
    settings: Settings,
    deals: list[_OpenDeal],
    entered: dict[int, tuple[str, dt.datetime | None]],
) -> list[_OpenDeal]:
    """The deals open at the as-of day by their stage history too: a deal whose final close
    is recorded in its history before the day's end, though its row dates the close later
    (a close date typed after the stage changed), was closed that day. A close it was
    reopened from is no close (`reopened`: open from creation to final close, as the flow
    and the forecast read it; until 2026-12-07 such a deal was left out on the days between,
    where they counted it open). A closed stage recorded only after the day (the CRM keeps
    final stages) proves nothing."""
    status = settings.stage_status

    def closed_then(deal: _OpenDeal) -> bool:
        stage, since = entered.get(deal.deal_id, (deal.stage, None))
        return since is not None and status.get(stage, "open") != "open"

    return [d for d in deals if not closed_then(d)]


def _norm_deals(scope: DealScope) -> ColumnElement[bool]:
    """Deals whose stays set the norm: the scope's team(s), or everyone."""
    if scope.norm_teams is None:
        return true()
    team_reps = select(Rep.id).join(Team, Team.id == Rep.team_id)
    return Deal.rep_id.in_(team_reps.where(Team.name.in_(scope.norm_teams)))


def _current_stages(
    conn: Connection, scope: DealScope, end: dt.datetime
) -> dict[int, tuple[str, dt.datetime | None]]:
    """Each open deal's stage at `end` and when it entered it, from its stage history.

    The last entry before `end` wins. A deal whose history only starts later was, as far as
    anyone knows, in its earliest recorded stage since it was created (entered: None); a deal
    without history is in the stage its row names. A close the deal was reopened from is no
    entry (`reopened`): the deal stayed in the stage it was in before it, until the reopen.
    """
    history = standing_history(and_(open_at(end), scope.owned()))
    query = select(history.c.deal_id, history.c.stage, history.c.entered_at).order_by(
        history.c.deal_id, history.c.entered_at, history.c.id
    )
    found: dict[int, tuple[str, dt.datetime | None]] = {}
    for deal_id, stage, entered in conn.execute(query):
        if entered < end:
            found[deal_id] = (stage, entered)
        elif deal_id not in found:
            found[deal_id] = (stage, None)
    return found


def _finished_stays(
    conn: Connection, scope: DealScope, end: dt.datetime, zone: dt.tzinfo
) -> dict[str, list[float]]:
    """The norm deals' finished stays per stage, in days as the business-local clock reads
    them (as each open deal's days in stage, which they are the bar for).

    A stay finishes when the deal's next history entry begins; entries from `end` on are not
    read at all, so a later move neither finishes a stay nor counts as one. A deal entered
    after it closed (`late_entry`) has no known stays: a migration replaying its stages on the
    day it was entered records minutes where the deal took weeks, which would shorten the
    norm and call sound deals stalled (the forecast's stage curves leave it out too). A close
    the deal was reopened from is no stay and ends none (`reopened`): the stay before it
    lasts until the reopen.
    """
    history = standing_history(_norm_deals(scope))
    left = func.lead(history.c.entered_at, type_=DateTime).over(
        partition_by=history.c.deal_id, order_by=(history.c.entered_at, history.c.id)
    )
    rows = (
        select(
            history.c.stage,
            history.c.entered_at,
            left.label("left_at"),
            Deal.created_at,
            Deal.closed_at,
        )
        .join(Deal, Deal.id == history.c.deal_id)
        .where(history.c.entered_at < end)
    )
    stays: dict[str, list[float]] = defaultdict(list)
    for stage, start, stop, created, closed in conn.execute(rows):
        if stop is not None and not entered_after_close(created, closed, zone):
            stays[stage].append(local_days_between(zone, start, stop))
    return stays


def _last_selling(
    conn: Connection,
    settings: Settings,
    deals: Sequence[_OpenDeal],
    scope: DealScope,
    as_of: dt.date,
    end: dt.datetime,
) -> dict[int, dt.date]:
    """Each open deal's last selling day up to `as_of`: on the deal, or by its owner on its
    account.

    Two grouped queries, by deal and by (account, rep), each on its own index; joining an
    account-and-rep condition made SQLite walk every activity of the rep instead.
    """
    open_now = and_(open_at(end), scope.owned())
    selling = and_(selling_condition(settings), Activity.local_date <= as_of)
    on_deal = (
        select(Activity.deal_id, func.max(Activity.local_date))
        .where(Activity.deal_id.in_(select(Deal.id).where(open_now)), selling)
        .group_by(Activity.deal_id)
    )
    on_account = (
        select(Activity.account_id, Activity.rep_id, func.max(Activity.local_date))
        .where(Activity.account_id.in_(select(Deal.account_id).where(open_now)), selling)
        .group_by(Activity.account_id, Activity.rep_id)
    )
    by_deal = {i: day for i, day in conn.execute(on_deal) if i is not None}
    if aggregates.reading():
        accounts = select(Deal.account_id).where(open_now)
        by_account = aggregates.last_days(conn, aggregates.SELLING, accounts, as_of)
    else:
        by_account = {(a, r): day for a, r, day in conn.execute(on_account) if a is not None}
    last: dict[int, dt.date] = {}
    for d in deals:
        days = [by_deal.get(d.deal_id)]
        if d.account_id is not None:
            days.append(by_account.get((d.account_id, d.rep_id)))
        known = [day for day in days if day is not None]
        if known:
            last[d.deal_id] = max(known)
    return last


def _norms(settings: Settings, stays: dict[str, list[float]], current: set[str]) -> list[StageNorm]:
    """A norm for every open stage with stays or with an open deal in it, in configured
    order; its percentile only from `min_stage_samples` stays on."""
    rules = settings.diagnose.stalled
    order = {s.name: i for i, s in enumerate(settings.stages)}
    labels = {s.name: s.label or s.name for s in settings.stages}
    status = settings.stage_status
    names = {s for s in stays if status.get(s, "open") == "open"} | current
    norms = []
    for name in sorted(names, key=lambda n: (order.get(n, len(order)), n)):
        found = stays.get(name, [])
        trusted = len(found) >= rules.min_stage_samples
        days = float(np.quantile(found, rules.stage_percentile)) if trusted else None
        norms.append(StageNorm(name, labels.get(name, name), len(found), days))
    return norms


@dataclass(frozen=True)
class _Rules:
    """What one deal is judged against."""

    as_of: dt.date
    end: dt.datetime  # the end of the as-of day, UTC
    business_days: int  # idle business days that make a deal stalled
    bars: dict[str, float | None]  # per stage: the days in stage that are too long


def _placed(
    settings: Settings, deal: _OpenDeal, entered: dict[int, tuple[str, dt.datetime | None]]
) -> tuple[str | None, dt.datetime]:
    """The deal's stage at the as-of day and since when (its creation when not recorded).

    A deal open at the as-of day was in no closed stage then: when the only stage known is a
    closed one (it closed later, and the CRM keeps the final stage only), the stage it was in
    is unknown (None), not "closed won"; its days count from creation and no stage's norm
    applies."""
    stage, since = entered.get(deal.deal_id, (deal.stage, None))
    if settings.stage_status.get(stage, "open") != "open":
        return None, deal.created_at
    return stage, since or deal.created_at


def _judge(
    calendar: BusinessCalendar,
    deal: _OpenDeal,
    placed: tuple[str | None, dt.datetime],
    last_selling: dt.date | None,
    rules: _Rules,
) -> StalledDeal:
    """One open deal against both rules.

    Idle days count from the later of the last selling day and the day the deal was created
    (a deal opened yesterday after a call a month ago is not idle), through the as-of day.
    """
    stage, since = placed
    created_on = calendar.local_date(deal.created_at)
    quiet_from = max(last_selling, created_on) if last_selling else created_on
    idle = calendar.business_days(
        quiet_from + dt.timedelta(days=1), rules.as_of + dt.timedelta(days=1)
    )
    days_in_stage = local_days_between(calendar.zone, since, rules.end)
    bar = None if stage is None else rules.bars.get(stage)
    reasons: list[Reason] = []
    if idle >= rules.business_days:
        reasons.append(NO_SELLING)
    if bar is not None and days_in_stage > bar:
        reasons.append(LONG_IN_STAGE)
    return StalledDeal(
        deal_id=deal.deal_id,
        name=deal.name,
        rep=deal.rep,
        rep_id=deal.rep_id,
        team=deal.team,
        account=deal.account,
        stage=stage,
        amount=deal.amount,
        created_on=created_on,
        stage_since=calendar.local_date(since),
        days_in_stage=days_in_stage,
        stage_percentile_days=bar,
        last_selling_day=last_selling,
        idle_business_days=idle,
        reasons=reasons,
    )


def _by_rep(
    scope: DealScope, deals: Sequence[_OpenDeal], stalled: Sequence[StalledDeal]
) -> list[RepStalled]:
    """Every owner of an open deal in scope (and the one rep asked about, even with none),
    most stalled value first. SDRs who own no deals would only be noise here."""
    people: dict[int, tuple[str, str | None]] = {
        r.id: (r.name, r.team) for r in scope.reps if scope.rep is not None
    }
    for d in deals:
        people.setdefault(d.rep_id, (d.rep, d.team))
    open_count: dict[int, int] = defaultdict(int)
    open_value: dict[int, float] = defaultdict(float)
    open_unknown: dict[int, int] = defaultdict(int)
    for d in deals:
        open_count[d.rep_id] += 1
        if d.amount is None:
            open_unknown[d.rep_id] += 1
        else:
            open_value[d.rep_id] += d.amount
    mine: dict[int, list[StalledDeal]] = defaultdict(list)
    for s in stalled:
        mine[s.rep_id].append(s)
    rows = [
        RepStalled(
            rep=name,
            rep_id=rep_id,
            team=team,
            open_deals=open_count[rep_id],
            open_value=cents(open_value[rep_id]),
            count=len(mine[rep_id]),
            value=money_total(s.amount for s in mine[rep_id]),
            deals=mine[rep_id],
            open_without_amount=open_unknown[rep_id],
            without_amount=sum(1 for s in mine[rep_id] if s.amount is None),
        )
        for rep_id, (name, team) in people.items()
    ]
    return sorted(rows, key=lambda r: (-r.value, -r.count, r.rep))
