"""Deals as they were known at a cut-off instant, and what the history known then teaches.

A forecast is only as honest as what it reads. Everything here is read "as known at" a
cut-off instant (the end of the as-of day in the business time zone), so the forecast for a
past day and the backtest that replays past quarters see exactly what a manager saw then:
- a deal exists if it was created before the cut-off;
- it is open at the cut-off unless it closed before it (a deal won later was open then);
- its stage is the one of its latest stage-history entry before the cut-off. A deal whose
  history starts later is taken to have been in its first recorded stage since it was created
  (that is all anyone knows), unless that stage is a closed one: imports of CRM snapshots
  record only the final stage of a closed deal, so its open stage before the close is unknown
  (None) and only its age is used. A deal with no history at all is in its current stage when
  it is still open, otherwise unknown. Its amount comes from the same entry when there is one
  (None when the CRM left it empty: unknown, which is not 0);
- deals closed without a close date cannot be placed in time and are left out;
- a close the deal was reopened from (its history says won, then open again) is no close
  (`reopened`, the rule of every analysis): the deal was open from its creation to its final
  close, the one its row records, in the stage it was in before the undone close until the
  reopen. Until 2026-12-07 a cut-off between the two closes read it as open in no known stage
  (by age), and its stay in the stage before ended at the undone close;
- a deal closed at the very instant the history window starts (a close *date* on the
  window's first day, stored as that day's midnight) closed during that day, inside the
  window: it is in the history, its win among the history's wins, and the curves watch it
  for a second before its close (as a same-day close), where they dropped it as a stay of
  no length (the Zoho export as of 2021-03-31 said "learnt from 3,355 deals (1,025 won)"
  above a table of 3,354 stays and 1,024 wins). One rule: every close in the window is in
  the history and in the curves;
- a deal closed a day or more before it was created (entered in the CRM after it closed) has
  no known sales cycle: its win counts (revenue, won sizes), but no curve learns from it, so
  no duration is ever negative (and none is read as a zero-day win). When every win of the
  history is such a deal (a CRM migrated with its closed deals re-created on the migration
  day), the curves would know only the deals still open and lost: a 0% chance of a win that
  is no measurement. `unlearnable_wins` says so, and the forecast refuses rather than
  forecast nothing more won (a backtest skips such a cut-off).

History for learning is the last `history_months` of experience before the cut-off: every
deal open at some time in that window (created in it, or created earlier and still open when
it began), watched only inside it, with outcomes as known at the cut-off (a deal that closed
after the cut-off is still open there: censored). Watching older deals only from the window's
start (left truncation) matters where deals take longer than the window to close: a team that
wins deals after 400 days has no deal *created* in the last year that old, but plenty that
*were* that old during it.

What history teaches, per state (an open stage, or "open" since creation for new deals and
deals of unknown stage): for a deal that has been in the state for `d` days, the chance of
being won within the next `h` days. It is estimated on the *landmark* set, the stays still in
that state `d` days after entering it, with the Aalen-Johansen estimator: the cumulative
incidence of a win, with losing as the competing outcome, deals still open at the cut-off
censored there and deals entering the window late counted from then on. So a deal open for a
month is compared with deals that were also still in that stage after a month, not with
fresh ones, and young deals count for as long as they were watched, neither as losses nor
dropped. When the stage history is only a snapshot (`stage_history_usable`), every deal is
read by its age instead.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Connection,
    and_,
    case,
    func,
    or_,
    select,
    true,
)

from paceline.analytics.late_entry import (
    closed_without_date,
    entered_after_close,
    entered_before,
    not_entered_after_close,
    placed_in_time,
)
from paceline.analytics.money import money_sum
from paceline.analytics.reopened import standing_entries
from paceline.errors import UserInputError, did_you_mean
from paceline.store.models import Deal, DealStageHistory, Rep, Team
from paceline.store.names import name_key

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
SECONDS_PER_DAY = 86_400.0
OPEN = "open"
MIN_STAGED_SHARE = 0.5  # of closed deals with an open stage recorded, to read stages at all
# A close on the day of creation, given as a date (midnight, before the hour of creation),
# lasted less than a day: it is a stay of one second, not none (a stay of 0 days is never at
# risk, so a same-day win vanished from every curve).
SAME_DAY_CLOSE = 1.0 / SECONDS_PER_DAY


# --- whose deals ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ForecastScope:
    """Whose deals a forecast reads: one rep's, a team's (its reps now), or everyone's."""

    rep_ids: list[int] | None  # None: every deal
    team: str | None
    rep: str | None

    def owned(self, column: ColumnClause[Any] = Deal.rep_id) -> ColumnElement[bool]:
        return true() if self.rep_ids is None else column.in_(self.rep_ids)

    @property
    def label(self) -> str:
        if self.rep:
            return self.rep
        return f"team {self.team}" if self.team else "everyone"


def forecast_scope(conn: Connection, team: str | None, rep: str | None) -> ForecastScope:
    """The scope for `team` and/or `rep` by name (case and spacing as typed do not matter).

    A team means the reps in it now, whether or not they sell today: their past deals are the
    team's history. With both, the rep must be in the team. Unknown names are errors naming
    the field, with close names suggested.
    """
    rows = conn.execute(
        select(Rep.id, Rep.name, Team.name).outerjoin(Team, Team.id == Rep.team_id)
    ).all()
    team_name = None
    if team is not None:
        teams = [name for (name,) in conn.execute(select(Team.name))]
        team_name = next((t for t in teams if name_key(t) == name_key(team)), None)
        if team_name is None:
            raise UserInputError(f"team: no team named {team!r}{did_you_mean(team, teams)}")
    if rep is not None:
        found = next((r for r in rows if name_key(r[1]) == name_key(rep)), None)
        if found is None:
            hint = did_you_mean(rep, [r[1] for r in rows])
            raise UserInputError(f"rep: no rep named {rep!r}{hint}")
        if team_name is not None and found[2] != team_name:
            raise UserInputError(f"rep: {found[1]} is not in team {team_name}")
        return ForecastScope([int(found[0])], found[2], found[1])
    if team_name is not None:
        return ForecastScope([int(i) for i, _, t in rows if t == team_name], team_name, None)
    return ForecastScope(None, None, None)


# --- deals as known at the cut-off ----------------------------------------------------------


@dataclass(frozen=True)
class StageEntry:
    stage: str
    status: str  # open / won / lost
    entered_at: dt.datetime


@dataclass(frozen=True)
class KnownDeal:
    """A deal as known at the cut-off."""

    deal_id: int
    name: str
    rep_id: int
    amount: float | None  # as known at the cut-off; None when not recorded (unknown)
    created_at: dt.datetime
    expected_close: dt.date | None
    status: str  # as known at the cut-off: open unless closed before it
    closed_at: dt.datetime | None  # set only when closed before the cut-off
    entries: tuple[StageEntry, ...]  # the stage path known at the cut-off, oldest first

    @property
    def amount_known(self) -> bool:
        """Whether the CRM recorded what the deal is worth. Many leave the amount of open and
        lost deals empty, which is stored as unknown (None); a recorded 0 is a real zero."""
        return self.amount is not None

    @property
    def entered_after_close(self) -> bool:
        """Closed a day or more before it was created: entered in the CRM after it closed (a
        migration, a late entry; the import keeps it and warns). Its sales cycle is unknown,
        so no curve learns from it (its win still counts as revenue and as a won size). A
        close *date* on the creation day is midnight before a creation that day: less than a
        day, a same-day close, kept."""
        return entered_after_close(self.created_at, self.closed_at)

    @property
    def stage(self) -> str | None:
        """The open stage it is in (if open at the cut-off); None when not known."""
        if self.status != OPEN or not self.entries or self.entries[-1].status != OPEN:
            return None
        return self.entries[-1].stage

    @property
    def stage_since(self) -> dt.datetime:
        """When it entered its current stage (its creation when the stage is not known)."""
        if self.stage is None:
            return self.created_at
        return self.entries[-1].entered_at


@dataclass(frozen=True)
class Snapshot:
    """The scope's deals at a cut-off: those open then, and those open at some time in the
    history window before it (what the forecast learns from)."""

    cutoff: dt.datetime  # naive UTC
    history_start: dt.datetime  # naive UTC
    deals: list[KnownDeal]

    @property
    def open_deals(self) -> list[KnownDeal]:
        return [d for d in self.deals if d.status == OPEN]

    @property
    def history(self) -> list[KnownDeal]:
        """Every deal watched in the history window (all of the snapshot's deals)."""
        return self.deals

    @property
    def created(self) -> list[KnownDeal]:
        """The deals created in the history window, less those entered after they closed.

        Such a deal's creation date is the day it was entered (a migration, a bulk entry of
        old wins), not the day it was created, which is unknown (some time before its close,
        perhaps before the window): counted as created on its entry it inflated the
        opportunities the conversion of activity and the run rate rest on, and read as a
        closed deal without an open stage it could make a real stage history look like a
        snapshot (`stage_history_usable`). It is in no curve for the same reason
        (`creation_spells`), so the deals counted as created are the ones the curves' chance
        of a win is learnt from."""
        start = self.history_start
        return [d for d in self.deals if d.created_at >= start and not d.entered_after_close]

    @property
    def won(self) -> list[KnownDeal]:
        """The deals won in the history window."""
        start = self.history_start
        return [d for d in self.deals if d.status == "won" and (d.closed_at or start) >= start]

    @property
    def won_entered_after_close(self) -> int:
        """Of the deals won in the history window (`won`), those entered in the CRM after they
        closed: among its wins, revenue and won sizes, in none of its curves. Counted over
        `won`, not `history`: a deal closed before the window but entered in it (a migration
        re-creating last year's wins) is among the history's deals, yet no win of the window,
        and would be in no curve even if entered on time."""
        return sum(1 for d in self.won if d.entered_after_close)

    @property
    def won_with_cycle(self) -> int:
        """Of the deals won in the history window (`won`), those whose sales cycle is known:
        the wins the curves learn from."""
        return sum(1 for d in self.won if not d.entered_after_close)

    @property
    def won_amounts(self) -> list[float]:
        """Amounts of the deals won in the history window (those with an amount recorded):
        what a deal won in future is worth, and a deal without an amount is valued at."""
        return [d.amount for d in self.won if d.amount is not None]

    @property
    def lost_and_open_amounts(self) -> list[float]:
        """Amounts of the deals lost in the history window and of those open at the cut-off
        (those with an amount recorded): what the scope's deals are worth when no win of the
        history says it (a lost deal's amount is what it would have been worth won)."""
        start = self.history_start
        return [
            d.amount
            for d in self.deals
            if d.amount is not None
            and (d.status == OPEN or (d.status == "lost" and (d.closed_at or start) >= start))
        ]


def unlearnable_wins(snap: Snapshot, since: dt.date) -> str | None:
    """Why no chance of a win can be learnt from the snapshot's history (from the local day
    `since`), or None when it can: the history window has wins, but every one was entered
    after it closed (its cycle unknown). Only the window's wins (`Snapshot.won`) count: a win
    closed before the window, entered in it, would be in no curve however it was entered, so
    it is no reason to refuse (before 2026-12-07 such a win alone refused the forecast,
    saying it was won "in the history (since ...)")."""
    late = snap.won_entered_after_close
    if not late or snap.won_with_cycle:
        return None
    won = f"the {late} deals won" if late > 1 else "the deal won"
    return (
        f"{won} in the history (since {since.isoformat()}) "
        f"{'were all' if late > 1 else 'was'} entered in the CRM after closing (close date "
        "before creation), so no sales cycle is known and no chance of a win can be learnt; "
        "import the deals' real creation dates"
    )


def unmeasured_wins(snap: Snapshot, since: dt.date) -> str | None:
    """Why the open deals' chance of a win has no basis, or None when it has: there are open
    deals, but no deal of the history window (from the local day `since`) closed, won or
    lost, with its sales cycle known. The curves would then read 0% for every open deal (the
    Pipedrive and Close samples: every deal open), a figure nobody measured, where a history
    of closed deals all lost is a measured 0 of n and is kept. With no open deal at all,
    nothing needs a chance: the forecast of nothing open stays a true 0."""
    opened = len(snap.open_deals)
    start = snap.history_start
    if not opened or any(
        d.status != OPEN and (d.closed_at or start) >= start and not d.entered_after_close
        for d in snap.deals
    ):
        return None
    deals = f"the {opened} open deals" if opened > 1 else "the open deal"
    return (
        f"no deal in the history (since {since.isoformat()}) has closed, won or lost, with a "
        f"known sales cycle, so no chance of a win can be learnt for {deals}; import the "
        "closed deals, or forecast once some have closed"
    )


@dataclass(frozen=True)
class _Row:
    deal_id: int
    name: str
    rep_id: int
    amount: float | None
    stage: str
    status: str
    created_at: dt.datetime
    closed_at: dt.datetime | None
    expected_close: dt.date | None


def snapshot(
    conn: Connection, scope: ForecastScope, cutoff: dt.datetime, history_start: dt.datetime
) -> Snapshot:
    """The deals open at some time in [history_start, cutoff), as known at `cutoff`.

    Two queries: the deals, then their stage history. Entries after the cut-off are read only
    for a deal with none before it (its first stage, see the module's notes).
    """
    return SpanSnapshots(scope, [(cutoff, history_start)])(conn, cutoff, history_start)


_Entries = dict[int, list[tuple[str, str, float | None, dt.datetime]]]


class SpanSnapshots:
    """`snapshot` at each of many (cut-off, history start) pairs (a backtest's), the deals
    and their stage histories read once for them all.

    One statement reads every deal any of the snapshots wants, with a column per snapshot
    saying whether it wants it (the very condition `snapshot` filtered on, evaluated by the
    database as before); the stage history of those deals is read once, in the same order.
    A snapshot is then its deals, in id order, each as known at its cut-off: what `snapshot`
    returns. A backtest's twelve cut-offs read a year of deals twelve times over.
    """

    def __init__(
        self, scope: ForecastScope, windows: Sequence[tuple[dt.datetime, dt.datetime]]
    ) -> None:
        self._scope = scope
        self._windows = list(dict.fromkeys(windows))
        self._read: tuple[list[tuple[_Row, tuple[bool, ...]]], _Entries] | None = None
        # (deal, closed by the cut-off, stage entries known by it) -> the deal as known then
        self._known: dict[tuple[int, bool, int], KnownDeal] = {}

    def __call__(
        self, conn: Connection, cutoff: dt.datetime, history_start: dt.datetime
    ) -> Snapshot:
        at = self._windows.index((cutoff, history_start))  # (a window not declared: an error)
        rows, entries = self._rows(conn)
        deals = [self._as_known(row, entries, cutoff) for row, wants in rows if wants[at]]
        return Snapshot(cutoff, history_start, deals)

    def _as_known(self, row: _Row, entries: _Entries, cutoff: dt.datetime) -> KnownDeal:
        """`_as_known`, kept for the next cut-offs: a deal as known at a cut-off is decided
        by whether it had closed by then and how many of its stage entries (in time order)
        were made by then, and most deals of a year's history are the same at the next
        cut-off (a 10M backtest replayed 29,600 deals, its snapshots a tenth of its CPU)."""
        own = entries.get(row.deal_id, [])
        closed = row.closed_at is not None and row.closed_at < cutoff and row.status != OPEN
        key = (row.deal_id, closed, bisect_left(own, cutoff, key=_entered))
        found = self._known.get(key)
        if found is None:
            found = self._known[key] = _as_known(row, own, cutoff)
        return found

    def _wanted(self, cutoff: dt.datetime, history_start: dt.datetime) -> ColumnElement[bool]:
        placed = placed_in_time()  # (a closed deal without a close date: in no curve)
        return and_(
            Deal.created_at < cutoff,
            placed,
            or_(
                Deal.created_at >= history_start,
                Deal.status == OPEN,
                Deal.closed_at >= history_start,
            ),
            self._scope.owned(),
        )

    def _rows(self, conn: Connection) -> tuple[list[tuple[_Row, tuple[bool, ...]]], _Entries]:
        if self._read is not None:
            return self._read
        wanted = [self._wanted(cutoff, start) for cutoff, start in self._windows]
        # A condition that is NULL (a NULL close date compared) is not wanted, as in WHERE.
        flags = [case((w, 1), else_=0).label(f"w{i}") for i, w in enumerate(wanted)]
        anyone = or_(*wanted)
        query = select(
            Deal.id,
            Deal.name,
            Deal.rep_id,
            Deal.amount,
            Deal.stage,
            Deal.status,
            Deal.created_at,
            Deal.closed_at,
            Deal.expected_close,
            *flags,
        ).where(anyone)
        rows = [
            (_Row(int(i), n, int(r), _money(a), s, st, c, cl, e), tuple(f == 1 for f in wants))
            for i, n, r, a, s, st, c, cl, e, *wants in conn.execute(query.order_by(Deal.id))
        ]
        history = (
            select(
                DealStageHistory.deal_id,
                DealStageHistory.stage,
                DealStageHistory.status,
                DealStageHistory.amount,
                DealStageHistory.entered_at,
            )
            .where(DealStageHistory.deal_id.in_(select(Deal.id).where(anyone)))
            .order_by(DealStageHistory.deal_id, DealStageHistory.entered_at, DealStageHistory.id)
        )
        recorded: _Entries = defaultdict(list)
        for deal_id, stage, status, amount, entered in conn.execute(history):
            recorded[int(deal_id)].append((stage, status, _money(amount), entered))
        # A close the deal was reopened from is no close (`reopened`): read without it.
        statuses = {row.deal_id: row.status for row, _ in rows}
        entries: _Entries = {
            deal_id: standing_entries(found, statuses.get(deal_id, OPEN), _status)
            for deal_id, found in recorded.items()
        }
        self._read = (rows, entries)
        return self._read


def _entered(entry: tuple[str, str, float | None, dt.datetime]) -> dt.datetime:
    return entry[3]


def _status(entry: tuple[str, str, float | None, dt.datetime]) -> str:
    return entry[1]


def _money(value: object) -> float | None:
    """A stored amount as a float; None (unknown) stays None, never becomes 0."""
    return None if value is None else float(value)  # type: ignore[arg-type]


def _as_known(
    row: _Row, entries: list[tuple[str, str, float | None, dt.datetime]], cutoff: dt.datetime
) -> KnownDeal:
    closed = row.closed_at is not None and row.closed_at < cutoff and row.status != OPEN
    known = [e for e in entries if e[3] < cutoff]
    if known:
        path = [StageEntry(s, st, at) for s, st, _, at in known]
        amount = known[-1][2]
    elif entries:  # recorded only later: its first recorded stage, since creation
        stage, status, amount, _ = entries[0]
        path = [StageEntry(stage, status, row.created_at)] if status == OPEN else []
    else:
        amount = row.amount
        path = [StageEntry(row.stage, OPEN, row.created_at)] if row.status == OPEN else []
    if closed and (not path or path[-1].status == OPEN):
        # The close itself, when the history does not record it.
        assert row.closed_at is not None
        path.append(StageEntry(row.stage, row.status, row.closed_at))
    return KnownDeal(
        deal_id=row.deal_id,
        name=row.name,
        rep_id=row.rep_id,
        amount=amount,
        created_at=row.created_at,
        expected_close=row.expected_close,
        status=row.status if closed else OPEN,
        closed_at=row.closed_at if closed else None,
        entries=tuple(path),
    )


# --- revenue --------------------------------------------------------------------------------


def won_deals(
    conn: Connection, scope: ForecastScope, start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, float | None]]:
    """(closed_at, amount) of the scope's deals won in [start, end) and entered in the CRM
    before `end`, as the revenue metric counts them (the deal's amount, credited to its
    owner); None where it is not known. A win entered after `end` (a migration, a win logged
    late) was not known at `end`: it is in no deal of the snapshot the forecast reads then,
    nor in the flow's revenue won, so neither is it won so far (before 2026-12-07 it was: the
    Salesforce sample loaded on 2024-01-22, read as of 2023-11-30, said 4.75M "known: won in
    the period" where the flow said 0, and a backtest's cut-off knew wins in hindsight)."""
    query = select(Deal.closed_at, Deal.amount).where(
        Deal.status == "won",
        Deal.closed_at >= start,
        Deal.closed_at < end,
        Deal.created_at < end,
        scope.owned(),
    )
    return [
        (closed, _money(amount)) for closed, amount in conn.execute(query) if closed is not None
    ]


def revenue_won(
    conn: Connection,
    scope: ForecastScope,
    start: dt.datetime,
    end: dt.datetime,
    known_at: dt.datetime | None = None,
) -> tuple[float, int]:
    """Revenue won in [start, end) from the deals with an amount, and how many deals won in
    it have none (unknown: left out of the sum, never counted as 0).

    `known_at`: only the wins entered in the CRM before it (`late_entry.entered_before`), for
    a reading at a cut-off (a backtest's run rate), which must not know a win entered later;
    None for the truth read afterwards (a backtest's actual revenue), which knows them all."""
    query = select(money_sum(Deal.amount), func.count() - func.count(Deal.amount))
    query = query.where(
        Deal.status == "won", Deal.closed_at >= start, Deal.closed_at < end, scope.owned()
    )
    if known_at is not None:
        query = query.where(entered_before(known_at))
    total, unknown = conn.execute(query).one()
    return float(total or 0), int(unknown or 0)


def deals_created(
    conn: Connection, scope: ForecastScope, start: dt.datetime, end: dt.datetime
) -> int:
    """The scope's deals created in [start, end), less those entered after they closed (their
    creation is unknown: `Snapshot.created`) and the closed ones without a close date (in no
    curve either: `closed_without_date_created` counts them). One count: the rule's SQL form
    (`late_entry.not_entered_after_close`, held to the Python one by a test) leaves the late
    ones out, as the deal metrics dated by creation do."""
    query = select(func.count()).where(
        Deal.created_at >= start,
        Deal.created_at < end,
        scope.owned(),
        placed_in_time(),
        not_entered_after_close(),
    )
    return int(conn.execute(query).scalar_one())


def closed_without_date_created(
    conn: Connection, scope: ForecastScope, start: dt.datetime, end: dt.datetime
) -> int:
    """The scope's deals created in [start, end) and closed without a close date: left out
    of the deals created and of every curve (`late_entry`), and so said."""
    query = select(func.count()).where(
        Deal.created_at >= start, Deal.created_at < end, scope.owned(), closed_without_date()
    )
    return int(conn.execute(query).scalar_one())


def first_deal_created(
    conn: Connection, scope: ForecastScope, before: dt.datetime
) -> dt.datetime | None:
    """When the scope's first deal before `before` was created (None: none)."""
    query = select(func.min(Deal.created_at)).where(Deal.created_at < before, scope.owned())
    found: dt.datetime | None = conn.execute(query).scalar_one()
    return found


# --- what history teaches -------------------------------------------------------------------


@dataclass(frozen=True)
class Spells:
    """Stays in one state, as known at the cut-off, in days from entering the state, sorted
    by `end` (every curve needs that order, and a landmark subset keeps it).

    `entry`: when the stay was first watched (0, or later when the state was entered before
    the history window). `stay`: until the deal left the state (moved stage or closed) or,
    still in it, the cut-off. `end`: until the deal closed or, still open, the cut-off.
    `won` / `closed`: how it ended at `end` (neither: censored at the cut-off).
    """

    entry: FloatArray
    stay: FloatArray
    end: FloatArray
    won: BoolArray
    closed: BoolArray

    @property
    def count(self) -> int:
        return len(self.stay)

    @property
    def wins(self) -> int:
        return int(self.won.sum())

    @cached_property
    def _by_entry(self) -> tuple[FloatArray, FloatArray]:
        """Entries sorted once, with their stays: a forecast reads one curve per open deal
        from the same spells, and sorting the entries each time was a tenth of a backtest."""
        order = np.argsort(self.entry, kind="stable")
        return self.entry[order], self.stay[order]

    @cached_property
    def _steps(self) -> _Steps | None:
        """The steps of the curve from 0 days in, when every stay lasts until the close (one
        state, like the deals' lives from creation) and is watched from 0 days in or later;
        None otherwise (each landmark curve is then computed from its spells)."""
        if not self.count or not np.array_equal(self.stay, self.end) or self.entry.min() < 0:
            return None
        return _Steps.of(self._sorted_entry, self.end, self.won, self.closed)

    @cached_property
    def _sorted_entry(self) -> FloatArray:
        return np.sort(self.entry)

    def outcomes_within(self, after: float, horizon: float) -> tuple[int, int]:
        """(wins, closes) of the stays still in the state `after` days in (the landmark set
        `curve(after)` reads) that closed by `horizon` days in: the comparison set a chance
        of a win by `horizon` rests on. A forecast asks it of an open deal whose chance reads
        0, to tell a measured 0 (closes, none won) from nothing to measure (no close)."""
        if self._steps is not None:  # one state: the landmark set is the spells ending later
            first, last = np.searchsorted(self.end, [after, horizon], side="right")
            return int(self._won_by_end[last] - self._won_by_end[first]), int(
                self._closed_by_end[last] - self._closed_by_end[first]
            )
        landmark = self.stay > after if after > 0 else np.ones(self.count, dtype=np.bool_)
        kept = landmark & (self.end <= horizon) & self.closed
        return int(np.count_nonzero(kept & self.won)), int(np.count_nonzero(kept))

    @cached_property
    def _closed_by_end(self) -> FloatArray:
        """Closes among the first i spells (sorted by `end`), for i = 0 .. count."""
        return np.concatenate([[0.0], np.cumsum(self.closed, dtype=np.float64)])

    @cached_property
    def _won_by_end(self) -> FloatArray:
        """Wins among the first i spells (sorted by `end`), for i = 0 .. count."""
        return np.concatenate([[0.0], np.cumsum(self.won, dtype=np.float64)])

    def curves(self, after: FloatArray, until: FloatArray) -> list[WinCurve]:
        """`curve(after[i], until[i])` for each i: a forecast's open deals read by age, one
        landmark curve each. With one state (`_steps`) the curves are worked out together
        (`_Steps.landmarks`), the same floats; otherwise one by one."""
        if self._steps is None or not np.all(self.entry < self.end):
            return [self.curve(float(a), float(u)) for a, u in zip(after, until, strict=True)]
        return self._steps.landmarks(self._sorted_entry, after, until)

    def curve(self, after: float = 0.0, until: float = np.inf) -> WinCurve:
        """The chance of a win over time for a deal still in the state `after` days in: the
        landmark set (stays longer than `after`), each watched from `after` or its entry.

        `until`: only what the curve says up to `until` days in is asked (a forecast's open
        deal, for its period's days left); the curve may then stop there (`WinCurve.until`)."""
        if self._steps is not None:
            return self._steps.landmark(self.entry, after, until)
        keep = self.stay > after if after > 0 else np.ones(self.count, dtype=np.bool_)
        entries, stays = self._by_entry
        # max(entry, after) keeps the entries' order: the landmark set's entries, sorted.
        ordered = np.maximum(entries[stays > after] if after > 0 else entries, after)
        return win_curve(
            ordered, self.end[keep], self.won[keep], self.closed[keep], after, entry_sorted=True
        )


@dataclass(frozen=True)
class _Steps:
    """Where the curve of one-state spells (each stay lasting until its close, sorted by it)
    steps, from 0 days in: the first spell of each close time, the times, and the hazard of
    a close and the share of the at-risk won at each.

    A landmark set `after` days in is then a tail: the spells closing after `after`. At each
    of its close times t > after, the spells at risk are the same as in the whole set (those
    that closed before `after` entered before it, so before t, and left before t: they
    cancel out), and so are the closes and wins: the hazards and shares of the tail's steps
    are those of the whole set, the same floats `win_curve` computes for the landmark set.
    Only the running products and sums start afresh, as in `win_curve`. So a forecast's one
    curve per open deal costs a product and a sum over the tail, not a pass over the spells
    with a search and two group sums (a third of a 10M backtest's CPU time)."""

    first: NDArray[np.intp]
    times: FloatArray
    hazard: FloatArray
    share: FloatArray
    events: BoolArray

    @classmethod
    def of(
        cls, sorted_entry: FloatArray, end: FloatArray, won: BoolArray, closed: BoolArray
    ) -> _Steps:
        """The steps of spells sorted by `end` (at least one), whose entries, sorted, are
        `sorted_entry`: a spell is at risk at t when entry < t <= end."""
        first = np.flatnonzero(np.concatenate([[True], end[1:] != end[:-1]]))
        times = end[first]
        at_risk = (np.searchsorted(sorted_entry, times, side="left") - first).astype(np.float64)
        wins = np.add.reduceat(won.astype(np.float64), first)
        closes = np.add.reduceat(closed.astype(np.float64), first)
        return cls(
            first=first,
            times=times,
            hazard=np.divide(closes, at_risk, out=np.zeros_like(closes), where=at_risk > 0),
            share=np.divide(wins, at_risk, out=np.zeros_like(wins), where=at_risk > 0),
            events=closes > 0,
        )

    def curve(self, step: int, watched: int, until: float = np.inf) -> WinCurve:
        """The curve from the `step`-th close time on: the running products and sums start
        afresh there, the hazards and shares are the steps' own.

        Up to `until` days in: the steps after it are left out (`WinCurve.until`). The running
        product and sum are accumulated in order, so the steps kept are the same floats as
        in the whole curve: a forecast's open deal asks about the days left of its period,
        a month of a curve of years (two thirds of a 10M backtest's curve arithmetic)."""
        stop = len(self.times) if until == np.inf else _stop(self.times, until)
        survival = np.asarray(np.cumprod(1.0 - self.hazard[step:stop]), dtype=np.float64)
        before = np.concatenate([[1.0], survival[:-1]])
        incidence = np.asarray(np.cumsum(before * self.share[step:stop]), dtype=np.float64)
        events = self.events[step:stop]
        times = self.times[step:stop][events]
        return WinCurve(times, incidence[events], survival[events], watched, until)

    def landmark(self, entry: FloatArray, after: float, until: float = np.inf) -> WinCurve:
        """What `win_curve` returns for the spells still open `after` days in (`entry`: the
        spells' entries, in their order), up to `until` days in."""
        step = int(np.searchsorted(self.times, after, side="right"))
        if step == len(self.times):
            empty = np.zeros(0)
            return WinCurve(empty, empty, empty, 0)
        watched = int(np.count_nonzero(entry[self.first[step] :] <= after))
        return self.curve(step, watched, until)

    def landmarks(
        self, sorted_entry: FloatArray, after: FloatArray, until: FloatArray
    ) -> list[WinCurve]:
        """`landmark(entry, after[i], until[i])` for each i (finite `until`), at once.

        The deals watched from `after` on are those entered by then, less the spells before
        the landmark's first step: each of those closed by `after` and entered before it
        closed, so all are among the entered (`sorted_entry`: one search, not a count over
        the tail per curve). The running products and sums of all curves are taken along
        the rows of one padded table (`_running`): accumulated in order, element by element,
        as `curve` does over one slice, so each curve has the same floats."""
        step = np.searchsorted(self.times, after, side="right")
        stop = np.maximum(np.searchsorted(self.times, until, side="right"), step)
        inside = step < len(self.times)
        watched = np.searchsorted(sorted_entry, after, side="right")
        watched[inside] -= self.first[step[inside]]
        empty = np.zeros(0)
        found = [WinCurve(empty, empty, empty, 0)] * len(after)
        for rows in _row_groups(np.where(inside, stop - step, 0)):
            survival, incidence = self._running(step[rows], stop[rows])
            for k, i in enumerate(rows.tolist()):
                if not inside[i]:
                    continue
                length = int(stop[i] - step[i])
                events = self.events[step[i] : stop[i]]
                found[i] = WinCurve(
                    self.times[step[i] : stop[i]][events],
                    incidence[k, :length][events],
                    survival[k, :length][events],
                    int(watched[i]),
                    float(until[i]),
                )
        return found

    def _running(
        self, step: NDArray[np.intp], stop: NDArray[np.intp]
    ) -> tuple[FloatArray, FloatArray]:
        """(rows, longest) survival and incidence from each `step` on (to `stop`; the cells
        after it are padding), as `curve` accumulates them."""
        width = int((stop - step).max()) if step.size else 0
        at = np.minimum(step[:, None] + np.arange(width), max(len(self.times) - 1, 0))
        survival = np.cumprod(1.0 - self.hazard[at], axis=1)
        before = np.ones_like(survival)
        before[:, 1:] = survival[:, :-1]
        incidence = np.cumsum(before * self.share[at], axis=1)
        return survival, incidence


GROUP_ROWS = 64  # curves whose running products are taken together (similar lengths)


def _row_groups(lengths: NDArray[np.intp]) -> list[NDArray[np.intp]]:
    """The rows, longest first, in groups of `GROUP_ROWS`: each group's table is padded to
    its longest row only, which the others nearly reach (a deal a year old asks about
    hundreds of closes, one a week old about thousands: padded together, most cells would
    be padding)."""
    order = np.argsort(-lengths, kind="stable")
    return [order[at : at + GROUP_ROWS] for at in range(0, len(order), GROUP_ROWS)]


def _stop(times: FloatArray, until: float) -> int:
    """How many of the (sorted) `times` are at most `until`."""
    return int(np.searchsorted(times, until, side="right"))


Spell = tuple[float, float, float, bool, bool]  # entry, stay, end, won, closed


def spells(items: Sequence[Spell]) -> Spells:
    """Spells from tuples; stays never watched (closed before the window) are dropped."""
    kept = [item for item in items if item[2] > item[0]]
    if not kept:
        empty = np.zeros(0)
        none = empty.astype(np.bool_)
        return Spells(empty, empty, empty, none, none)
    entry, stay, end, won, closed = (np.array(column) for column in zip(*kept, strict=True))
    order = np.argsort(end, kind="stable")
    return Spells(
        entry[order].astype(np.float64),
        stay[order].astype(np.float64),
        end[order].astype(np.float64),
        won[order].astype(np.bool_),
        closed[order].astype(np.bool_),
    )


def _days(start: dt.datetime, end: dt.datetime) -> float:
    """Elapsed days, the curves' clock: a stay's length in time spent (a stay across a
    change to summer time is an hour shorter than its calendar days), the model's honest
    unit for a chance of a win per time in a stage. The forecast reads open deals on the same
    clock and shows their days on the local calendar (`forecast._chances`)."""
    return max((end - start).total_seconds() / SECONDS_PER_DAY, 0.0)


def creation_spells(snap: Snapshot) -> Spells:
    """Each deal watched in the history window, from its creation to its close (or the
    cut-off)."""
    items = []
    for d in snap.history:
        if d.entered_after_close:
            continue  # its cycle is unknown (closed before it was entered)
        length = _days(d.created_at, d.closed_at or snap.cutoff)
        entry = _days(d.created_at, snap.history_start)
        if d.status != OPEN:  # a close is watched: a same-day one, or one on the first day
            length = max(length, entry + SAME_DAY_CLOSE)
        items.append((entry, length, length, d.status == "won", d.status != OPEN))
    return spells(items)


def stage_spells(snap: Snapshot) -> dict[str, Spells]:
    """Each watched deal's stays in each open stage it entered, per stage."""
    items: dict[str, list[Spell]] = defaultdict(list)
    for d in snap.history:
        if d.entered_after_close:
            continue  # its stays are unknown (closed before it was entered)
        end = d.closed_at or snap.cutoff
        for i, entry in enumerate(d.entries):
            if entry.status != OPEN:
                continue
            left = d.entries[i + 1].entered_at if i + 1 < len(d.entries) else end
            closes = d.status != OPEN and left >= end  # the stay ended with the close
            if left < snap.history_start or (left == snap.history_start and not closes):
                continue  # left the stage before the window: not watched
            stay, until = _days(entry.entered_at, left), _days(entry.entered_at, end)
            watched = _days(entry.entered_at, snap.history_start)
            if closes:  # a close is watched: a same-day one, or one on the first day
                stay = until = max(until, watched + SAME_DAY_CLOSE)
            items[entry.stage].append((watched, stay, until, d.status == "won", d.status != OPEN))
    return {stage: spells(found) for stage, found in items.items()}


def stage_history_usable(snap: Snapshot) -> bool:
    """Whether the stage history is a history, not a snapshot.

    A CRM export without stage history records an open stage only for deals still open (a
    closed deal gets its final stage alone), which would make every open stage look hopeless:
    none of "its" deals was ever won. So stages are read only when at least half the deals
    closed in the window have an open stage recorded before their close; otherwise every
    deal is read by its age.
    """
    closed = [d for d in snap.created if d.status != OPEN]
    if not closed:
        return True
    staged = sum(1 for d in closed if any(e.status == OPEN for e in d.entries))
    return staged >= MIN_STAGED_SHARE * len(closed)


def pooled(groups: Sequence[Spells]) -> Spells:
    """Stays of several states as one (for stages with too few stays of their own)."""
    if not groups:
        return spells([])
    end = np.concatenate([g.end for g in groups])
    order = np.argsort(end, kind="stable")
    return Spells(
        np.concatenate([g.entry for g in groups])[order],
        np.concatenate([g.stay for g in groups])[order],
        end[order],
        np.concatenate([g.won for g in groups])[order],
        np.concatenate([g.closed for g in groups])[order],
    )


@dataclass(frozen=True)
class WinCurve:
    """The Aalen-Johansen cumulative incidence of a win, over days since entering the state.

    `times`: the days at which watched deals closed; `incidence`: the chance of having been
    won by then; `survival`: the chance of still being open just after. `size`: the deals
    watched from the start of the curve (the landmark's own evidence, which decides how far
    it is trusted beside the pooled one). `until`: the curve stops there (a forecast's open
    deal asks nothing later); it answers for days up to `until` exactly as the whole curve,
    and has no `ever` or median (they need its end).
    """

    times: FloatArray
    incidence: FloatArray
    survival: FloatArray
    size: int
    until: float = np.inf

    def won_by(self, days: FloatArray | float) -> FloatArray:
        """The chance of a win by `days` after entering the state (vectorised)."""
        at = np.searchsorted(self.times, np.asarray(days, dtype=np.float64), side="right")
        return np.asarray(self._incidence_from_zero[at], dtype=np.float64)

    @cached_property
    def _incidence_from_zero(self) -> FloatArray:
        return np.concatenate([[0.0], self.incidence])

    @cached_property
    def _times_then_never(self) -> FloatArray:
        """The win days, then inf (never won): built once, read by every run's draw."""
        return np.concatenate([self.times, [np.inf]])

    @property
    def ever(self) -> float:
        """The chance of a win within the longest stretch the history watched."""
        if self.until != np.inf:
            raise ValueError("a curve cut at `until` has no end to read")
        return float(self.incidence[-1]) if len(self.incidence) else 0.0

    def closes_won_at(self, share: float) -> WinCurve:
        """The curve if each close were won with the chance `share`, whatever its day: the
        chance of a win by a day is `share` times the chance of a close by then (1 minus the
        survival), the Aalen-Johansen incidence when every step's wins are `share` of its
        closes. What a history of closes none of which was won still teaches (when deals
        close), for a forecast that must not read its 0 wins as a certain 0 (the
        measured 0 of `rate_uncertainty`)."""
        closed = np.asarray(share * (1.0 - self.survival), dtype=np.float64)
        return WinCurve(self.times, closed, self.survival, self.size, self.until)

    def win_time(self, u: FloatArray) -> FloatArray:
        """Inverse sampling: for uniforms in (0, 1], the day of the win (inf: never won)."""
        at = np.searchsorted(self.incidence, u, side="left")
        return np.asarray(self._times_then_never[at], dtype=np.float64)

    def median_days_to_win(self) -> float | None:
        """Half of the eventual wins have happened by this many days."""
        if self.ever <= 0:
            return None
        at = int(np.searchsorted(self.incidence, self.ever / 2, side="left"))
        return float(self.times[at])


def win_curve(
    entry: FloatArray,
    end: FloatArray,
    won: BoolArray,
    closed: BoolArray,
    start: float = 0.0,
    *,
    entry_sorted: bool = False,
) -> WinCurve:
    """Aalen-Johansen with late entry, over deals sorted by `end`, from `start` days in:
    S(t) = prod(1 - closed / at risk), CIF(t) = sum S(t-) x wins / at risk, where a deal is at
    risk at t when entry < t <= end (censored deals are at risk at their censoring time: they
    were still open then, not after it)."""
    n = len(end)
    if n == 0:
        empty = np.zeros(0)
        return WinCurve(empty, empty, empty, 0)
    entries = entry if entry_sorted else np.sort(entry)  # `entry_sorted`: already in order
    steps = _Steps.of(entries, end, won, closed)
    return steps.curve(0, int(np.count_nonzero(entry <= start)))
