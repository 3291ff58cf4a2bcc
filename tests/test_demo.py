"""The demo organisation: valid data on both databases, deterministic, and the planted truths
visible in the raw tables with plain SQL aggregates (never the generator's own variables).

The read-only tests share module-wide builds: a small one (12 reps x 6 months, the smallest
that carries every planted truth) on SQLite and on PostgreSQL, and the full default
(30 reps x 15 months) on SQLite, whose build is also timed. At the small size the noisiest
checks (the win-rate order among three AEs, the rise above the tipping point) hold for about 19
seeds in 20; the fixed seed makes them deterministic, and the full build checks them again
with ten times the data.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import ColumnElement, Engine, and_, case, func, select

from factories import (
    DEMO_NOON,
    SMALL_DEMO,
    THREE_MONTH_DEMO,
    migrated_sqlite_copy,
    pg_copy,
    shared_demo,
    shared_pg_demo,
    sqlite_copy,
)
from paceline.calendar import BusinessCalendar
from paceline.config import Settings
from paceline.demo import (
    MIN_REPS,
    Activities,
    Closer,
    DealDraft,
    DemoSummary,
    MeetingSets,
    RepProfile,
    StagePlan,
    Timeline,
    _book_meetings,
    _build_book,
    _timeline,
    build_demo,
    recent_start,
    role_mix,
)
from paceline.store.models import Activity, Deal, DealStageHistory, Rep, Team

TODAY = dt.date(2026, 11, 18)  # a Wednesday, mid-month: a fair month-to-date
SMALL = SMALL_DEMO  # test_tracking_demo.py reads the same build
FULL = {"seed": 7, "reps": 30, "months": 15, "today": TODAY}
MEETING_KINDS = ("meeting", "discovery_meeting", "video_meeting")


@dataclass(frozen=True)
class Built:
    engine: Engine
    summary: DemoSummary
    truth: dict[str, Any]

    def rep_ids(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {name: rid for rid, name in conn.execute(select(Rep.id, Rep.name))}

    def planted_id(self, key: str) -> int:
        return self.rep_ids()[self.truth["planted"][key]]


def _sqlite_build(
    tmp_path_factory: pytest.TempPathFactory, settings: Settings, size: dict[str, Any]
) -> Iterator[Built]:
    """A private copy of the build with this size, made once per test run."""
    built = shared_demo(tmp_path_factory, settings, **size)
    engine = sqlite_copy(built.path, tmp_path_factory.mktemp("demo"))
    yield Built(engine, built.summary, built.truth)
    engine.dispose()


@pytest.fixture(scope="module")
def full_demo(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> Iterator[Built]:
    """The default organisation, 30 reps x 15 months, on SQLite."""
    yield from _sqlite_build(tmp_path_factory, settings, FULL)


@pytest.fixture(
    scope="module", params=["sqlite", "postgresql", pytest.param("full", marks=pytest.mark.slow)]
)
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, settings: Settings
) -> Iterator[Built]:
    """The builds the read-only tests of this module run against."""
    if request.param == "full":
        yield request.getfixturevalue("full_demo")
    elif request.param == "sqlite":
        yield from _sqlite_build(tmp_path_factory, settings, SMALL)
    else:
        template, summary, truth = shared_pg_demo(request, tmp_path_factory, settings, **SMALL)
        for engine in pg_copy(template):
            yield Built(engine, summary, truth)


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


def _per_rep(demo: Built, *columns: ColumnElement[Any]) -> dict[int, tuple[Any, ...]]:
    """Activity aggregates per rep: {rep_id: (column values...)}."""
    query = select(Activity.rep_id, *columns).group_by(Activity.rep_id)
    with demo.engine.connect() as conn:
        return {row[0]: tuple(row[1:]) for row in conn.execute(query)}


def _reps_of(demo: Built, *roles: str) -> dict[int, str]:
    with demo.engine.connect() as conn:
        rows = conn.execute(select(Rep.id, Rep.name).where(Rep.role.in_(roles)))
        return dict(rows.all())


# --- shape and validity ---------------------------------------------------------------------


def test_role_mix_holds_every_planted_role_at_the_minimum() -> None:
    assert role_mix(MIN_REPS) == (4, 3, 2)
    sdrs, aes, fields = role_mix(30)
    assert sdrs + aes + fields == 27 and sdrs >= 4 and aes >= 3 and fields >= 2


def test_too_few_reps_is_refused(sqlite_engine: Engine, settings: Settings) -> None:
    with pytest.raises(ValueError, match="at least 12"):
        build_demo(sqlite_engine, settings, reps=11, today=TODAY)


def test_nothing_is_dated_after_the_clock_on_the_last_day(demo: Built) -> None:
    """The small demo is built at noon in New York on its last day (`SMALL_DEMO`'s now,
    17:00 UTC), as `paceline demo` is when the clock says noon: no activity, deal, close or
    stage change after it (the demo wrote the whole day, to 22:23 UTC, so views without an
    upper time bound showed activities in the future); that morning's work is there. The
    full build, made for a whole past day, runs to its end (after 17:00 UTC)."""
    noon = DEMO_NOON if demo.summary.reps == 12 else dt.datetime(2026, 11, 19, 5)
    last_day_start = dt.datetime(2026, 11, 18, 5)  # midnight in New York
    with demo.engine.connect() as conn:
        latest = [
            conn.scalar(select(func.max(Activity.occurred_at))),
            conn.scalar(select(func.max(Activity.created_at))),
            conn.scalar(select(func.max(Deal.created_at))),
            conn.scalar(select(func.max(Deal.closed_at))),
            conn.scalar(select(func.max(Deal.updated_at))),
            conn.scalar(select(func.max(DealStageHistory.entered_at))),
        ]
        morning = conn.scalar(select(func.count()).where(Activity.occurred_at >= last_day_start))
    assert all(moment is not None and moment <= noon for moment in latest), latest
    assert morning and morning > 0  # the last day's work up to now is written
    if demo.summary.reps == 12:
        assert latest[0] > dt.datetime(2026, 11, 18, 16)  # written up to about the hour


def test_a_demo_now_on_another_day_is_refused(sqlite_engine: Engine, settings: Settings) -> None:
    with pytest.raises(ValueError, match="must fall on its last day"):
        build_demo(sqlite_engine, settings, today=TODAY, now=dt.datetime(2026, 11, 19, 17))


def test_summary_matches_the_tables(demo: Built) -> None:
    s = demo.summary
    with demo.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Activity)) == s.activities
        statuses = dict(conn.execute(select(Deal.status, func.count()).group_by(Deal.status)).all())
        assert conn.scalar(select(func.count()).select_from(Rep)) == s.reps
        teams = conn.scalars(select(Team.name).order_by(Team.name)).all()
    assert statuses == {"won": s.deals_won, "lost": s.deals_lost, "open": s.deals_open}
    assert s.deals == s.deals_won + s.deals_lost + s.deals_open
    assert sorted(s.teams) == list(teams) == ["East", "Field", "West"]
    assert s.reps in (12, 30) and s.last_day == TODAY
    assert s.first_day == (dt.date(2026, 5, 18) if s.reps == 12 else dt.date(2025, 8, 18))
    assert s.deals_won > 0 and s.deals_lost > 0 and s.deals_open > 0


# A minutes-wide window of three reps' activities, newest first: the TV board's recent wins
# as it read them before it kept the planner off the rep index itself (`rep_id + 0`).
RECENT_OF_THREE_REPS = (
    "EXPLAIN QUERY PLAN SELECT id FROM activity WHERE rep_id IN (1, 2, 3) "
    "AND occurred_at >= '2026-11-18 14:00:00' AND occurred_at <= '2026-11-18 14:30:00' "
    "ORDER BY occurred_at DESC, id DESC LIMIT 50"
)


@pytest.fixture(scope="module")
def small_sqlite_demo(
    tmp_path_factory: pytest.TempPathFactory, settings: Settings
) -> Iterator[Built]:
    """The small build on SQLite alone (PostgreSQL's statistics are autovacuum's)."""
    yield from _sqlite_build(tmp_path_factory, settings, SMALL)


def test_the_planner_has_statistics_and_reads_a_window_by_time(small_sqlite_demo: Built) -> None:
    """After the demo SQLite has its planner statistics (`store.statistics`). Without them
    it read a minutes-wide window of a few reps through the rep index: every activity of
    those reps (480,000 rows on the full demo) to keep a handful."""
    demo = small_sqlite_demo
    with demo.engine.connect() as conn:
        stats = dict(
            conn.exec_driver_sql("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'activity'").all()
        )
        plan = " ".join(row[3] for row in conn.exec_driver_sql(RECENT_OF_THREE_REPS))
    # The unique key (source, external id): every activity, all of one source, one per id.
    n = demo.summary.activities
    assert stats["sqlite_autoindex_activity_1"] == f"{n} {n} 1"
    assert "USING INDEX ix_activity_occurred_id" in plan
    assert "ix_activity_rep_day_kind" not in plan


def test_roster_has_teams_managers_and_ana_ruiz(demo: Built) -> None:
    with demo.engine.connect() as conn:
        reps = conn.execute(select(Rep.id, Rep.name, Rep.role, Rep.team_id, Rep.manager_id)).all()
    by_id = {r.id: r for r in reps}
    assert len({r.name for r in reps}) == len(reps)
    assert any(r.name == "Ana Ruiz" and r.role == "ae" for r in reps)
    managers = [r for r in reps if r.role == "manager"]
    assert len(managers) == 3 and {m.team_id for m in managers} == {r.team_id for r in reps}
    for r in reps:
        if r.role != "manager":
            manager = by_id[r.manager_id]
            assert manager.role == "manager" and manager.team_id == r.team_id
    assert {r.role for r in reps} == {"sdr", "ae", "field", "manager"}


def test_no_activity_before_a_reps_start_date(demo: Built) -> None:
    query = (
        select(func.count())
        .select_from(Activity)
        .join(Rep, Rep.id == Activity.rep_id)
        .where(Activity.local_date < Rep.start_date)
    )
    with demo.engine.connect() as conn:
        assert conn.scalar(query) == 0


def test_only_weekend_emails_fall_outside_business_days(demo: Built, settings: Settings) -> None:
    calendar = BusinessCalendar(settings.calendar)
    query = select(Activity.local_date, Activity.kind, func.count()).group_by(
        Activity.local_date, Activity.kind
    )
    with demo.engine.connect() as conn:
        rows = conn.execute(query).all()
    off = [(day, kind, n) for day, kind, n in rows if not calendar.is_business_day(day)]
    assert all(kind == "email" for _, kind, _ in off)
    assert not [day for day, _, _ in off if calendar.is_holiday(day)]
    assert sum(n for *_, n in off) < 0.002 * demo.summary.activities


def test_kinds_and_outcomes_come_from_the_configuration(demo: Built, settings: Settings) -> None:
    with demo.engine.connect() as conn:
        kinds = set(conn.scalars(select(Activity.kind).distinct()))
        outcomes = set(conn.scalars(select(Activity.outcome).distinct()))
        sources = set(conn.scalars(select(Activity.source).distinct()))
    assert kinds <= settings.kind_names and outcomes <= settings.outcome_names
    assert sources == {"demo"}
    assert {"call", "email", "proposal", "meeting", "admin", "travel"} <= kinds


def test_engaged_follows_the_configured_outcomes(demo: Built, settings: Settings) -> None:
    engaged = Activity.outcome.in_(settings.engaged_outcomes)
    query = select(func.count()).where(engaged != Activity.engaged)
    with demo.engine.connect() as conn:
        assert conn.scalar(query) == 0


def test_engagement_and_selling_need_an_ask(demo: Built, settings: Settings) -> None:
    non_selling = Activity.kind.not_in(settings.selling_kinds)
    with demo.engine.connect() as conn:
        assert conn.scalar(select(func.count()).where(non_selling, Activity.has_ask)) == 0
        unasked = select(func.count()).where(Activity.engaged, ~Activity.has_ask)
        assert conn.scalar(unasked.where(Activity.outcome != "held")) == 0


def test_local_date_is_occurred_at_in_the_business_zone(demo: Built, settings: Settings) -> None:
    calendar = BusinessCalendar(settings.calendar)
    with demo.engine.connect() as conn:
        rows = conn.execute(select(Activity.occurred_at, Activity.local_date)).all()
    wrong = [r for r in rows if calendar.local_date(r.occurred_at) != r.local_date]
    assert not wrong
    zone = settings.calendar.zone
    local_hours = [r.occurred_at.replace(tzinfo=dt.UTC).astimezone(zone).hour for r in rows[::7]]
    daytime = sum(9 <= h < 18 for h in local_hours) / len(local_hours)
    assert daytime > 0.995


def test_time_of_day_peaks_mid_morning_and_mid_afternoon(demo: Built, settings: Settings) -> None:
    zone = settings.calendar.zone
    with demo.engine.connect() as conn:
        moments = conn.scalars(select(Activity.occurred_at).where(Activity.kind == "call")).all()
    hours = np.bincount(
        [m.replace(tzinfo=dt.UTC).astimezone(zone).hour for m in moments], minlength=24
    )
    assert hours[10] > hours[12] and hours[14] > hours[12]
    assert hours[10] > 2 * hours[16] and hours[14] > hours[9]


def test_friday_is_lighter_than_midweek(demo: Built) -> None:
    with demo.engine.connect() as conn:
        per_day = conn.execute(
            select(Activity.local_date, func.count()).group_by(Activity.local_date)
        )
        by_weekday: dict[int, list[int]] = defaultdict(list)
        for day, n in per_day:
            by_weekday[day.weekday()].append(n)
    assert np.median(by_weekday[4]) < 0.9 * np.median(by_weekday[2])


def test_every_deal_has_its_stage_history(demo: Built, settings: Settings) -> None:
    order = [s.name for s in settings.stages]
    open_path = [s.name for s in settings.stages if s.status == "open"]
    with demo.engine.connect() as conn:
        deals = {d.id: d for d in conn.execute(select(Deal))}
        history: dict[int, list[Any]] = defaultdict(list)
        for h in conn.execute(
            select(DealStageHistory).order_by(DealStageHistory.deal_id, DealStageHistory.id)
        ):
            history[h.deal_id].append(h)
    assert set(history) == set(deals)
    for deal_id, deal in deals.items():
        rows = history[deal_id]
        stages = [h.stage for h in rows]
        assert stages[-1] == deal.stage and rows[-1].status == deal.status
        assert stages[0] == open_path[0] and rows[0].entered_at == deal.created_at
        assert [h.entered_at for h in rows] == sorted(h.entered_at for h in rows)
        last_open = stages[:-1] if deal.status != "open" else stages
        assert last_open == open_path[: len(last_open)]
        assert [order.index(s) for s in stages] == sorted(order.index(s) for s in stages)
        assert all(h.amount == deal.amount for h in rows)


def test_closed_deals_have_closed_at_and_open_ones_do_not(demo: Built) -> None:
    with demo.engine.connect() as conn:
        deals = conn.execute(select(Deal.status, Deal.closed_at, Deal.created_at, Deal.stage)).all()
    end = dt.datetime.combine(TODAY + dt.timedelta(days=1), dt.time(6))
    for d in deals:
        assert (d.closed_at is None) == (d.status == "open")
        if d.closed_at is not None:
            assert d.created_at < d.closed_at < end


def test_deal_amounts_sit_around_the_average(demo: Built) -> None:
    with demo.engine.connect() as conn:
        amounts = [float(a) for a in conn.scalars(select(Deal.amount))]
    assert 0.8 * 35_000 < np.mean(amounts) < 1.2 * 35_000
    assert np.percentile(amounts, 90) > 1.5 * np.percentile(amounts, 10)  # lognormal spread


def test_old_deals_are_mostly_closed_and_recent_ones_open(demo: Built) -> None:
    cutoff = dt.datetime.combine(TODAY - dt.timedelta(days=120), dt.time())
    recent = dt.datetime.combine(TODAY - dt.timedelta(days=14), dt.time())
    with demo.engine.connect() as conn:
        old = conn.execute(select(Deal.status).where(Deal.created_at < cutoff)).scalars().all()
        new = conn.execute(select(Deal.status).where(Deal.created_at > recent)).scalars().all()
    assert old.count("open") < 0.1 * len(old)
    assert new.count("open") > 0.6 * len(new)


def test_pipeline_flows_in_and_out_every_week(demo: Built) -> None:
    with demo.engine.connect() as conn:
        created = conn.scalars(select(Deal.created_at)).all()
        closed = conn.scalars(select(Deal.closed_at).where(Deal.closed_at.is_not(None))).all()
    # From the eighth Monday on: the first deals have had time to close.
    first_day = demo.summary.first_day
    start = first_day + dt.timedelta(days=7 * 8 - first_day.weekday())

    def weeks(moments: Sequence[dt.datetime | None]) -> set[int]:
        return {(m.date() - start).days // 7 for m in moments if m and m.date() >= start}

    full_weeks = set(range((TODAY - start).days // 7))
    assert len(full_weeks - weeks(created)) <= 1
    assert len(full_weeks - weeks(closed)) <= 1


def test_sdrs_source_opportunities_that_their_teams_aes_own(demo: Built) -> None:
    """The SDR key metric `opportunities_sourced` has something to count."""
    owners, sourcers = Rep.__table__.alias(), Rep.__table__.alias()
    owner, sourcer = owners.c, sourcers.c
    query = (
        select(sourcer.name, sourcer.role, sourcer.team_id, owner.role, owner.team_id)
        .select_from(Deal)
        .join(owners, owner.id == Deal.rep_id)
        .join(sourcers, sourcer.id == Deal.sourced_by_id)
    )
    with demo.engine.connect() as conn:
        rows = conn.execute(query).all()
        unsourced = conn.execute(
            select(func.count()).select_from(Deal).where(Deal.sourced_by_id.is_(None))
        ).scalar()
    assert unsourced == 0
    by_sdrs = [r for r in rows if r[1] == "sdr"]
    assert by_sdrs, "no deal was sourced by an SDR"
    assert all(r[3] == "ae" and r[2] == r[4] for r in by_sdrs)  # handed to their team's AEs
    sdrs = set(_reps_of(demo, "sdr").values())
    sourcing = {r[0] for r in by_sdrs}
    assert len(sourcing) >= len(sdrs) - 1  # every SDR but perhaps the new hire
    assert {r[0] for r in rows if r[1] != "sdr"} <= set(_reps_of(demo, "ae", "field").values())


def test_deal_activities_reference_their_deal(demo: Built) -> None:
    query = (
        select(func.count())
        .select_from(Activity)
        .join(Deal, Deal.id == Activity.deal_id)
        .where(Activity.account_id != Deal.account_id)
    )
    with demo.engine.connect() as conn:
        assert conn.scalar(query) == 0
        proposals = select(func.count()).where(Activity.kind == "proposal")
        assert conn.scalar(proposals.where(Activity.deal_id.is_(None))) == 0
        assert (conn.scalar(proposals) or 0) > 0


def test_truth_file_names_existing_reps(demo: Built) -> None:
    truth = demo.truth
    names = set(demo.rep_ids())
    planted = truth["planted"]
    for key in ("high_volume_low_engagement", "weak_proposal_to_win", "weak_call_to_meeting"):
        assert planted[key] in names
    assert set(planted["behind_this_month"]) <= names and len(planted["behind_this_month"]) == 2
    assert planted["new_hire"] in names and planted["low_selling_time"] in names
    assert set(truth["reps"]) == names
    tipping = planted["tipping_point"]
    assert tipping["metric"] == "meetings_held" and tipping["outcome"] == "opportunities_created"
    assert tipping["weekly_level"] > 0
    assert truth["today"] == TODAY.isoformat() and truth["seed"] == 7
    distinct = {
        planted[k]
        for k in (
            "high_volume_low_engagement",
            "weak_proposal_to_win",
            "weak_call_to_meeting",
            "low_selling_time",
            "new_hire",
        )
    } | set(planted["behind_this_month"])
    assert len(distinct) == 7


# --- planted truths -------------------------------------------------------------------------


def test_high_volume_rep_has_most_calls_and_least_engagement(
    demo: Built, settings: Settings
) -> None:
    call = Activity.kind == "call"
    rows = _per_rep(
        demo,
        _count_if(call),
        _count_if(and_(call, Activity.outcome.in_(settings.connected_outcomes))),
        _count_if(Activity.engaged.is_(True)),
        func.count(),
    )
    callers = {rid: r for rid, r in rows.items() if r[0] >= 100}
    suspect = demo.planted_id("high_volume_low_engagement")
    connect = {rid: r[1] / r[0] for rid, r in callers.items()}
    engaged = {rid: r[2] / r[3] for rid, r in callers.items()}
    sdr_calls = [r[0] for rid, r in rows.items() if rid in _reps_of(demo, "sdr") and rid != suspect]
    assert max(callers, key=lambda rid: callers[rid][0]) == suspect
    assert callers[suspect][0] > 2.0 * np.median(sdr_calls)
    others = [v for rid, v in connect.items() if rid != suspect]
    assert connect[suspect] < 0.3 * min(others)
    assert engaged[suspect] < 0.3 * min(v for rid, v in engaged.items() if rid != suspect)


def test_weak_proposal_rep_has_the_lowest_win_rate_among_aes(demo: Built) -> None:
    proposals = _per_rep(demo, _count_if(Activity.kind == "proposal"))
    with demo.engine.connect() as conn:
        won = dict(
            conn.execute(
                select(Deal.rep_id, func.count()).where(Deal.status == "won").group_by(Deal.rep_id)
            ).all()
        )
    aes = _reps_of(demo, "ae")
    suspect = demo.planted_id("weak_proposal_to_win")
    rate = {rid: won.get(rid, 0) / proposals[rid][0] for rid in aes}
    assert min(rate, key=lambda rid: rate[rid]) == suspect
    busiest_other = max(proposals[rid][0] for rid in aes if rid != suspect)
    assert proposals[suspect][0] >= 0.5 * busiest_other  # a normal number of proposals


def test_weak_call_to_meeting_rep_sets_few_meetings_per_conversation(
    demo: Built, settings: Settings
) -> None:
    call = Activity.kind == "call"
    rows = _per_rep(
        demo,
        _count_if(call),
        _count_if(and_(call, Activity.outcome.in_(settings.connected_outcomes))),
        _count_if(Activity.outcome == "meeting_set"),
    )
    sdrs = _reps_of(demo, "sdr")
    suspect = demo.planted_id("weak_call_to_meeting")
    volume = demo.planted_id("high_volume_low_engagement")
    per_conversation = {rid: rows[rid][2] / rows[rid][1] for rid in sdrs}
    assert min(per_conversation, key=lambda rid: per_conversation[rid]) == suspect
    others = [v for rid, v in per_conversation.items() if rid != suspect]
    assert per_conversation[suspect] < 0.5 * min(others)
    normal = [rid for rid in sdrs if rid not in (suspect, volume)]
    connect = {rid: rows[rid][1] / rows[rid][0] for rid in sdrs}
    assert min(connect[r] for r in normal) * 0.7 < connect[suspect]
    assert connect[suspect] < 1.3 * max(connect[r] for r in normal)


def test_low_selling_time_rep_has_the_lowest_selling_share(demo: Built, settings: Settings) -> None:
    selling = and_(Activity.kind.in_(settings.selling_kinds), Activity.has_ask)
    rows = _per_rep(
        demo,
        func.sum(case((selling, Activity.duration_min), else_=0.0)),
        func.sum(Activity.duration_min),
    )
    sellers = _reps_of(demo, "sdr", "ae", "field")
    share = {rid: float(rows[rid][0]) / float(rows[rid][1]) for rid in sellers}
    suspect = demo.planted_id("low_selling_time")
    assert min(share, key=lambda rid: share[rid]) == suspect
    assert 0.10 < share[suspect] < 0.20
    others = [v for rid, v in share.items() if rid != suspect]
    assert min(others) > 0.28 and max(others) < 0.50


def _activity_per_business_day(
    demo: Built, calendar: BusinessCalendar, start: dt.date, end: dt.date
) -> dict[int, float]:
    query = select(Activity.rep_id, func.count()).where(
        Activity.local_date >= start, Activity.local_date < end
    )
    with demo.engine.connect() as conn:
        counts = dict(conn.execute(query.group_by(Activity.rep_id)).all())
    days = calendar.business_days(start, end)
    return {rid: n / days for rid, n in counts.items()}


def test_two_reps_are_behind_this_month_and_nobody_else(demo: Built, settings: Settings) -> None:
    """Nov 18 is business day 13, so the alerts read the last 15 business days, from Thursday
    Oct 29: the planted reps are behind from then, against the three months before."""
    calendar = BusinessCalendar(settings.calendar)
    recent = dt.date(2026, 10, 29)
    assert recent_start(settings, TODAY) == recent
    now = _activity_per_business_day(demo, calendar, recent, TODAY + dt.timedelta(1))
    before = _activity_per_business_day(demo, calendar, dt.date(2026, 7, 29), recent)
    behind = {demo.rep_ids()[name] for name in demo.truth["planted"]["behind_this_month"]}
    new_hire = demo.planted_id("new_hire")
    for rid in _reps_of(demo, "sdr", "ae", "field"):
        if rid == new_hire:
            continue
        pace = now[rid] / before[rid]
        assert (pace < 0.6) if rid in behind else (pace > 0.8), (rid, pace)


def test_new_hire_starts_six_weeks_ago_and_ramps(demo: Built) -> None:
    rid = demo.planted_id("new_hire")
    with demo.engine.connect() as conn:
        start = conn.scalar(select(Rep.start_date).where(Rep.id == rid))
        per_day = dict(
            conn.execute(
                select(Activity.local_date, func.count())
                .where(Activity.rep_id == rid)
                .group_by(Activity.local_date)
            ).all()
        )
    assert start is not None and 35 <= (TODAY - start).days <= 49
    assert min(per_day) >= start
    first_week = [n for d, n in per_day.items() if (d - start).days < 7]
    last_week = [n for d, n in per_day.items() if (TODAY - d).days < 7]
    assert np.mean(first_week) < 0.75 * np.mean(last_week)


def _weekly_meetings_and_opportunities(demo: Built) -> list[tuple[int, int]]:
    """(meetings held, opportunities created) per closer-week, for complete weeks."""
    closers = _reps_of(demo, "ae", "field")
    held = and_(Activity.kind.in_(MEETING_KINDS), Activity.outcome == "held")
    with demo.engine.connect() as conn:
        activity = conn.execute(
            select(Activity.rep_id, Activity.local_date, _count_if(held), func.count())
            .where(Activity.rep_id.in_(closers))
            .group_by(Activity.rep_id, Activity.local_date)
        ).all()
        deals = conn.execute(select(Deal.rep_id, Deal.created_at)).all()
    first_monday = demo.summary.first_day + dt.timedelta(days=7 - demo.summary.first_day.weekday())
    last_monday = TODAY - dt.timedelta(days=TODAY.weekday())

    def week(day: dt.date) -> int | None:
        return (day - first_monday).days // 7 if first_monday <= day < last_monday else None

    meetings: dict[tuple[int, int], int] = defaultdict(int)
    worked: set[tuple[int, int]] = set()
    for rid, day, n_held, _ in activity:
        if (w := week(day)) is not None:
            meetings[rid, w] += n_held
            worked.add((rid, w))
    opportunities: dict[tuple[int, int], int] = defaultdict(int)
    for rid, created in deals:
        if (w := week(created.date())) is not None:
            opportunities[rid, w] += 1
    return [(meetings[key], opportunities[key]) for key in sorted(worked)]


def test_opportunities_flatten_above_the_tipping_point(demo: Built) -> None:
    knee = demo.truth["planted"]["tipping_point"]["weekly_level"]
    weeks = np.array(_weekly_meetings_and_opportunities(demo), dtype=float)
    h, opps = weeks[:, 0], weeks[:, 1]
    below, at, above = h <= knee - 3, (h >= knee) & (h <= knee + 2), h >= knee + 3
    assert min(below.sum(), at.sum(), above.sum()) >= 10, "reps must sit on both sides"
    slope_below = (opps[at].mean() - opps[below].mean()) / (h[at].mean() - h[below].mean())
    rise_above = opps[above].mean() - opps[at].mean()
    slope_above = rise_above / (h[above].mean() - h[at].mean())
    assert slope_below > 0.15
    # A few extra meetings above the knee buy less than one more meeting below it.
    assert rise_above < slope_below
    assert slope_above < 0.5 * slope_below
    # The same with a hinge regression over all closer-weeks.
    design = np.column_stack([np.ones_like(h), np.minimum(h, knee), np.maximum(h - knee, 0)])
    _, b_below, b_above = np.linalg.lstsq(design, opps, rcond=None)[0]
    assert b_below > 0.15 and b_above < 0.3 * b_below


# --- the planted slump, in memory: each cut made once ---------------------------------------
# A rep planted behind works the recent stretch (from Thursday Oct 29 on TODAY) at their pace.
# Their calls there already book that share of meetings, and a deal cut once stays cut: cutting
# again compounded, and the planted field rep's card read about 0.2 of expected over 40 seeds,
# not the 0.35 planted.

BEHIND = 0.35


def _behind_field_rep() -> RepProfile:
    return RepProfile(0, "Mia Field", "field", "Field", dt.date(2025, 1, 6), show_rate=0.8,
                      pace_this_month=BEHIND)  # fmt: skip


def _stretch_timeline(settings: Settings) -> Timeline:
    return _timeline(settings, dt.date(2026, 7, 1), TODAY)


def _booked_on(tl: Timeline, day: dt.date, n: int) -> MeetingSets:
    """`n` meetings booked on `day`, each sure to be held if it takes place."""
    at, none = np.full(n, tl.index(day)), np.zeros(n, dtype=np.int64)
    return MeetingSets(at, none, none, np.ones(n), none)


def _meetings_that_take_place(settings: Settings, booked: dt.date) -> int:
    tl = _stretch_timeline(settings)
    sets = _booked_on(tl, booked, 300)
    empty = _booked_on(tl, booked, 0)
    working = np.flatnonzero(tl.business)
    rng = np.random.default_rng(5)
    meetings = _book_meetings(rng, _behind_field_rep(), empty, sets, working, tl)
    return len(meetings.day)


def test_meetings_booked_in_the_stretch_are_not_cancelled_again(settings: Settings) -> None:
    """Booked on Monday Nov 2, held 2-7 working days later (by Nov 11): all 300 take place;
    the old code cancelled 65% of them too (about 105 took place)."""
    assert _meetings_that_take_place(settings, dt.date(2026, 11, 2)) == 300


def test_meetings_booked_before_the_stretch_keep_the_paces_share(settings: Settings) -> None:
    """Booked on Wednesday Oct 28, the day before the stretch, held in it: 0.35 x 300 = 105
    take place (105 or 106, by randomised rounding), not a coin flip each."""
    assert _meetings_that_take_place(settings, dt.date(2026, 10, 28)) in (105, 106)


def _deal(index: int, tl: Timeline, opened: dt.date) -> DealDraft:
    moment = dt.datetime.combine(opened, dt.time(15))
    return DealDraft(index, 0, 0, 0, f"Deal {index}", Decimal(10_000), moment, opened,
                     tl.index(opened))  # fmt: skip


def test_a_rep_behind_works_the_paces_share_of_older_deals_at_every_touch(
    settings: Settings,
) -> None:
    """Of 200 deals opened on Oct 1, 70 are worked in the stretch, each at all three of its
    touches there (Nov 3, 10 and 17); the rest wait at all three. Drawn per touch (the old
    code), a deal reached its third touch 0.35^3 of the time: 4%, not 35%."""
    tl = _stretch_timeline(settings)
    rng = np.random.default_rng(3)
    rep = _behind_field_rep()
    closer = Closer(rng, rep, tl, StagePlan.from_settings(settings), _build_book(rng, [rep]),
                    np.flatnonzero(tl.business), Activities(0), 35_000.0)  # fmt: skip
    touches = [tl.index(dt.date(2026, 11, day)) for day in (3, 10, 17)]
    older = [_deal(i, tl, dt.date(2026, 10, 1)) for i in range(200)]
    waits = [[closer.holds_back(day, deal) for day in touches] for deal in older]
    assert all(len(set(each)) == 1 for each in waits)
    assert sum(not any(each) for each in waits) == 70
    before_the_stretch = tl.index(dt.date(2026, 10, 20))
    assert not any(closer.holds_back(before_the_stretch, deal) for deal in older)
    opened_in_it = _deal(200, tl, dt.date(2026, 11, 2))
    assert not any(closer.holds_back(day, opened_in_it) for day in touches)


# --- determinism and speed (SQLite) ---------------------------------------------------------


def _fingerprint(engine: Engine) -> tuple[int, Decimal, int, str]:
    with engine.connect() as conn:
        activities = conn.scalar(select(func.count()).select_from(Activity)) or 0
        amount = conn.scalar(select(func.sum(Deal.amount))) or Decimal(0)
        minutes = conn.scalar(select(func.sum(Activity.duration_min))) or 0
        last = conn.scalar(select(func.max(Activity.occurred_at)))
    return activities, Decimal(amount), round(minutes), str(last)


def _fresh_sqlite(tmp_path_factory: pytest.TempPathFactory, folder: Path) -> Engine:
    """An empty migrated database in `folder` (a copy of the run's: migrating costs more)."""
    folder.mkdir()
    return migrated_sqlite_copy(tmp_path_factory, folder)


def test_same_seed_same_data_other_seed_other_data(
    tmp_path_factory: pytest.TempPathFactory, settings: Settings, tmp_path: Path
) -> None:
    """The three-month build this run's tests share (seed 7; test_demo_targets.py reads it)
    against two fresh ones: seed 7 again and seed 8. Built at SMALL's six months, the two
    fresh builds cost twice as much and proved nothing more."""
    size = THREE_MONTH_DEMO
    shared = sqlite_copy(shared_demo(tmp_path_factory, settings, **size).path, tmp_path)
    fresh = [_fresh_sqlite(tmp_path_factory, tmp_path / name) for name in ("again", "other")]
    engines = [shared, *fresh]
    for engine, seed in zip(engines[1:], (7, 8), strict=True):
        build_demo(engine, settings, **{**size, "seed": seed})
    first, again, other = (_fingerprint(e) for e in engines)
    assert first == again
    assert first[0] != other[0] and first[1] != other[1]
    for engine in engines:
        engine.dispose()


@pytest.mark.slow
def test_full_demo_has_the_default_size(full_demo: Built) -> None:
    """Its build time is measured by `make bench`, not asserted here (timed tests are flaky)."""
    summary = full_demo.summary
    assert summary.reps == 30 and summary.activities > 300_000
    assert summary.first_day == dt.date(2025, 8, 18)
