"""When to sell: activity volume and what it achieves by local weekday and hour.

Calls reach people at some hours more than others; a heatmap of connect rate (connected
calls per call, and of engagement per outreach attempt) by weekday x hour shows when to put
the calling blocks. Volume and engagement are read per outreach attempt (any activity of a
selling-eligible kind, Ask or not), as busy-vs-productive reads them: many CRMs record an Ask
only on the calls that connected, and counting only selling activities would leave an hour's
unanswered dials out of its denominator, so the hours spent dialing would look as engaging as
any (20 connects in 200 dials, 6 meetings set: 6 / 20 = 30% instead of 6 / 200 = 3%).
Hours are *business-local* (the configured time zone), while activities store naive UTC
instants, and the offset between the two changes with daylight saving time. So the database
groups the activities by UTC hour (date + hour: a few thousand buckets at most, never the
rows themselves), and each bucket is turned into its local weekday and hour here, with the
offset in force on that day. Zones whose offset is not a whole number of hours (India,
+05:30) have each UTC hour counted in the local hour it starts in.
The UTC-hour counts are kept per rep and day in `hour_day` (`hours`), so the read sums those
rows rather than every activity of the window (6.6 s for a team at 10M activities).

An activity exported with a date and no time (a task's due date, Salesforce's ActivityDate,
a Pipedrive activity without a due time) is stored at local midnight, exactly. It has no
hour: counted at 00:00, a CRM's due-dated tasks made midnight the busiest (and, with enough
of them, the "best") hour to call. Such activities are counted apart (`untimed`), found by
the database as the instants that fall on a whole minute equal to local midnight's minute
past the UTC hour (0 in most zones, 30 in India), so a call at 00:00:30 keeps its hour.

Engagement is read over the attempts of the kinds whose engagement the organisation's data
records (`step_rules.engagement_recorded_kinds`, busy vs productive's rule): in an export
without call results (Zoho's) no call is ever engaged, and counted as unengaged attempts its
calls made every calling hour read near 0% (Wednesday 17:00: 4 engaged of 1,148) where the
truth is unknown. The kinds left out are named (`engagement_not_recorded`). `hour_day` adds
every kind's attempts, so those of the kinds left out are read from the activities (their
rows alone, on the rep-day-kind index) and taken off each hour: the demo's knowledge shares
and networking events are never engaged, and reading every activity again whenever some
kind is left out would have brought back the 6.6 s of a team at 10M activities.

A rate from a handful of calls is noise, so a cell's rates are withheld (None) below
`MIN_RATE_VOLUME` calls (or outreach attempts). The best hours are ranked by the lower end
of the 95% Wilson interval of their connect rate, not the rate itself: 25 connects in 130
calls (19%) is weaker evidence of a good hour than 209 in 1,348 (16%), and ranking by the
bare rate would crown whichever thin cell was luckiest.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from sqlalchemy import Connection, Engine, select

from paceline.analytics import aggregates, hours, step_rules
from paceline.analytics.hours import MinuteBucket, midnight_minutes
from paceline.analytics.peers import diagnosis_scope
from paceline.analytics.rollup import ensure_rollup
from paceline.analytics.window import Window
from paceline.config import Settings
from paceline.errors import UserInputError
from paceline.store.models import Activity

WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Fewer calls (or outreach attempts) than this in a cell: its rate is not shown.
MIN_RATE_VOLUME = 20
BEST_COUNT = 5
WILSON_Z = 1.96
# Hours with at least this share of all activity make up the working hours shown in grids.
WORKING_HOUR_SHARE = 0.01


@dataclass(frozen=True)
class WhenCell:
    """One local weekday (0 = Monday) and hour (0-23), over the whole window."""

    weekday: int
    hour: int
    activities: int
    calls: int
    conversations: int  # calls that connected
    # Outreach attempts: activities of a selling-eligible kind, Ask or not, of the kinds whose
    # engagement the data records (`WhenToSell.engagement_not_recorded` names the others).
    attempts: int
    engaged: int  # attempts the client acted on at our request (an engaged outcome)
    connects_recorded: bool = True  # False: no call in the data is marked connected

    @property
    def day_name(self) -> str:
        return WEEKDAY_NAMES[self.weekday]

    @property
    def connect_rate(self) -> float | None:
        """Connected calls per call; None below MIN_RATE_VOLUME calls, or when the data
        records no call's connection (`connects_recorded`: unknown, not 0%)."""
        if not self.connects_recorded or self.calls < MIN_RATE_VOLUME:
            return None
        return self.conversations / self.calls

    @property
    def engagement_rate(self) -> float | None:
        """Engaged per outreach attempt (of the kinds whose engagement is recorded); None
        below MIN_RATE_VOLUME such attempts, so also where no kind's engagement is recorded."""
        return self.engaged / self.attempts if self.attempts >= MIN_RATE_VOLUME else None


@dataclass(frozen=True)
class WhenToSell:
    window: Window
    team: str | None
    rep: str | None
    timezone: str
    min_volume: int
    cells: list[WhenCell]  # cells with any activity, by weekday then hour
    best: list[WhenCell]  # highest connect rate among cells with enough calls, best first
    untimed: int = 0  # activities at exactly local midnight: a date without a time, no hour
    # False: no call in the organisation's data before the window's end is marked connected
    # (an export without call results): connect rates are unknown, and no hour is best.
    connects_recorded: bool = True
    # Selling kinds the scope attempted in the window whose engagement nobody records (no
    # activity of the kind has an engaged outcome up to the window's end): their attempts are
    # left out of every cell's `attempts`, so engagement is not read as 0% for them.
    engagement_not_recorded: list[str] = field(default_factory=list)

    @property
    def working_hours(self) -> list[int]:
        """The local hours from the first to the last holding 1%+ of all activity."""
        total = sum(c.activities for c in self.cells)
        by_hour: dict[int, int] = defaultdict(int)
        for c in self.cells:
            by_hour[c.hour] += c.activities
        busy = [h for h, n in by_hour.items() if total and n >= WORKING_HOUR_SHARE * total]
        return list(range(min(busy), max(busy) + 1)) if busy else []

    @property
    def calls(self) -> int:
        return sum(c.calls for c in self.cells)

    @property
    def conversations(self) -> int:
        return sum(c.conversations for c in self.cells)

    @property
    def attempts(self) -> int:
        return sum(c.attempts for c in self.cells)

    @property
    def engaged(self) -> int:
        return sum(c.engaged for c in self.cells)

    def cell(self, weekday: int, hour: int) -> WhenCell | None:
        return next((c for c in self.cells if (c.weekday, c.hour) == (weekday, hour)), None)


def when_to_sell(
    engine: Engine,
    settings: Settings,
    window: Window,
    *,
    team: str | None = None,
    rep: str | None = None,
) -> WhenToSell:
    """Volume and rates by local weekday x hour for a team, one rep, or everyone."""
    _check_calls_metric(settings)
    if aggregates.reading():
        ensure_rollup(engine, settings)  # `hour_day` current with the activities
    with engine.connect() as conn:
        scope, _ = diagnosis_scope(conn, settings, window, team, rep)
        ids = [r.id for r in scope]
        unrecorded = _engagement_not_recorded(conn, settings, window, ids)
        rows = _utc_buckets(conn, settings, window, ids, unrecorded)
        connects = step_rules.connects_recorded(
            conn, settings, step_rules.connected_calls(settings), window.end, _connected(rows)
        )
    buckets, untimed = split_untimed(rows, settings.calendar.zone)
    cells = local_cells(buckets, settings.calendar.zone)
    if not connects:
        cells = [replace(c, connects_recorded=False) for c in cells]
    rated = [c for c in cells if c.connect_rate is not None]
    best = sorted(rated, key=lambda c: -_lower_bound(c.conversations, c.calls))[:BEST_COUNT]
    zone_name = settings.calendar.timezone
    return WhenToSell(
        window, team, rep, zone_name, MIN_RATE_VOLUME, cells, best, untimed, connects, unrecorded
    )


def _check_calls_metric(settings: Settings) -> None:
    """Refuse a `calls` metric that is not one of activities (a ratio, or of deals): its
    activity filters are all the hours can count, so it would have counted every activity
    as a call, a silently wrong connect rate."""
    calls = settings.metric(hours.CALLS_METRIC)
    if calls.source != "activities":
        what = "a ratio" if calls.source is None else f"source = {calls.source!r}"
        raise UserInputError(
            "metrics.calls: when to sell counts calls by hour, so `calls` must be a metric "
            f"of activities (source = 'activities'), not {what}"
        )


def _engagement_not_recorded(
    conn: Connection, settings: Settings, window: Window, rep_ids: list[int]
) -> list[str]:
    """The selling kinds the reps attempted in the window whose engagement the data does not
    record, sorted: busy vs productive's rule (`step_rules.engagement_recorded_kinds`), so
    the two pages agree on what is measured."""
    rows = step_rules.kind_counts(conn, window.start, window.end, rep_ids)
    attempted = {kind for _, kind, _, _, _ in rows if kind in settings.selling_kinds}
    seen = {kind for _, kind, _, _, engaged in rows if engaged and kind in attempted}
    engaging = step_rules.engagement_recorded_kinds(conn, attempted, seen, window.end)
    return sorted(attempted - engaging)


Bucket = tuple[dt.datetime, int, int, int, int, int]  # UTC hour, then the five counts


def _connected(rows: Iterable[MinuteBucket]) -> int:
    """The window's connected calls (the buckets' `conversations`)."""
    return sum(row[4] for row in rows)


def split_untimed(rows: Iterable[MinuteBucket], zone: dt.tzinfo) -> tuple[list[Bucket], int]:
    """The hour buckets of timed activities, and how many activities sit at exactly local
    midnight (a date without a time of day)."""
    buckets: list[Bucket] = []
    untimed = 0
    for hour, minute, *counts in rows:
        if minute is not None:
            local = (hour + dt.timedelta(minutes=minute)).replace(tzinfo=dt.UTC).astimezone(zone)
            if (local.hour, local.minute) == (0, 0):
                untimed += counts[0]
                continue
        buckets.append((hour, counts[0], counts[1], counts[2], counts[3], counts[4]))
    return buckets, untimed


def local_cells(buckets: Iterable[Bucket], zone: dt.tzinfo) -> list[WhenCell]:
    """Add UTC-hour buckets into local weekday x hour cells (DST-correct, per bucket)."""
    sums: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for hour, *counts in buckets:
        local = hour.replace(tzinfo=dt.UTC).astimezone(zone)
        cell = sums[(local.weekday(), local.hour)]
        for i, n in enumerate(counts):
            cell[i] += n
    return [
        WhenCell(day, hour, activities, calls, connected, attempts, engaged)
        for (day, hour), (activities, calls, connected, attempts, engaged) in sorted(sums.items())
    ]


def _lower_bound(successes: int, trials: int, z: float = WILSON_Z) -> float:
    """The lower end of the Wilson score interval for successes / trials."""
    if trials <= 0:
        return 0.0
    p = successes / trials
    centre = p + z * z / (2 * trials)
    spread = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return (centre - spread) / (1 + z * z / trials)


def _utc_buckets(
    conn: Connection,
    settings: Settings,
    window: Window,
    rep_ids: list[int],
    unrecorded: list[str],
) -> list[MinuteBucket]:
    """The window's activities by UTC hour (and midnight minute): from `hour_day`, or the
    raw activities when reading raw or the window's midnight minutes are not kept apart.
    Attempts count only the kinds whose engagement is recorded: `hour_day` keeps every
    selling kind's attempts together, so those of the `unrecorded` kinds are read from the
    activities (those kinds' rows only, found on the rep-day-kind index) and taken off."""
    if not rep_ids:
        return []
    minutes = midnight_minutes(settings.calendar.zone, window.start, window.end)
    if not (aggregates.reading() and hours.covers(settings, minutes)):
        left_out = set(unrecorded)
        return _raw_buckets(conn, settings, window, rep_ids, minutes, left_out=left_out)
    found = hours.buckets(conn, window.start, window.end, rep_ids, minutes)
    if not unrecorded:
        return found
    unmeasured = {
        (at, m): attempts
        for at, m, _, _, _, attempts, _ in _raw_buckets(
            conn, settings, window, rep_ids, minutes, only=unrecorded
        )
    }
    return [(at, m, n, c, cc, a - unmeasured.get((at, m), 0), e) for at, m, n, c, cc, a, e in found]


def _raw_buckets(
    conn: Connection,
    settings: Settings,
    window: Window,
    rep_ids: list[int],
    minutes: list[int],
    *,
    left_out: set[str] | None = None,
    only: list[str] | None = None,
) -> list[MinuteBucket]:
    """`hour_day`'s buckets read from the activities: attempts leave out the kinds in
    `left_out`; with `only`, the activities of those kinds alone."""
    hour = hours.utc_hour(conn.dialect.name)
    minute = hours.midnight_minute(conn.dialect.name, minutes)
    measured = None if not left_out else settings.selling_kinds - left_out
    query = select(hour.label("hour"), minute.label("minute"), *hours.counts(settings, measured))
    query = hours.from_activities(query, settings)
    query = query.where(
        Activity.rep_id.in_(rep_ids),
        Activity.local_date >= window.start,
        Activity.local_date < window.end,
    )
    if only is not None:
        query = query.where(Activity.kind.in_(only))
    return [
        (
            _as_datetime(at),
            None if m is None else int(m),
            int(n),
            int(c or 0),
            int(cc or 0),
            int(a or 0),
            int(e or 0),
        )
        for at, m, n, c, cc, a, e in conn.execute(query.group_by(hour, minute))
    ]


def _as_datetime(value: str | dt.datetime) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
