"""The metric engine: totals from the rollup, distinct counts, deal metrics, ratios.

Expected figures are counted by hand from the small organisation below (each activity is
numbered so a count can be checked line by line), or, for generated data, by a plain Python
evaluation of the metric definitions written in this file. Every storage test runs on SQLite
and on PostgreSQL (the `engine` fixture).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from sqlalchemy import Engine, delete, func, insert, select, text, update

from factories import migrated_sqlite_copy, recorded_statements, variant
from paceline.analytics import rollup
from paceline.analytics.aggregates import DayRange
from paceline.analytics.metrics import (
    MetricTotals,
    SpanTotals,
    daily_values,
    last_active_days,
    meets_minimum,
    metric_totals,
    metric_value,
    ratio_parts,
    rep_value,
    utc_bounds,
)
from paceline.analytics.rollup import RollupRefresh, ensure_rollup
from paceline.config import Settings
from paceline.services.activities import Entry as ActivityInput
from paceline.services.activities import log_activity
from paceline.store.bulk import insert_rows
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade
from paceline.store.models import (
    Account,
    Activity,
    Contact,
    Deal,
    MetricDay,
    MetricMonth,
    Rep,
    RollupDirty,
    RollupDirtyContact,
    RollupState,
)

NY = ZoneInfo("America/New_York")
D = dt.date

# ---------------------------------------------------------------------------------------------
# The hand-built organisation. Business time zone: America/New_York (EDT, UTC-4, until
# 2026-11-01 02:00; EST, UTC-5, after).
# ---------------------------------------------------------------------------------------------
CONTACTS = {  # name: (account, seniority, decision maker)
    "vera": ("acme", "vp", True),
    "carl": ("globex", "c_level", False),
    "mona": ("initech", "manager", True),
    "ivan": ("acme", None, False),
}

# no, rep, local time (2026), kind, outcome, ask, engaged, minutes, contact, account
ACTIVITIES: list[tuple[Any, ...]] = [
    (1, "ana", "10-29 09:00", "call", "conversation", True, False, 10.0, "vera", "acme"),
    (2, "ana", "10-29 10:00", "call", "no_answer", False, False, 2.0, None, "acme"),
    (3, "ana", "10-29 11:00", "email", "sent", True, False, 5.0, "ivan", "acme"),
    (4, "ana", "10-29 14:00", "admin", "done", False, False, 30.0, None, None),
    (5, "ben", "10-29 09:30", "call", "meeting_set", True, True, 8.0, "carl", "globex"),
    (6, "ben", "10-29 10:30", "call", "voicemail", False, False, 1.0, "mona", "initech"),
    (7, "ana", "10-30 13:00", "meeting", "held", True, True, 60.0, "vera", "acme"),
    (8, "ana", "10-30 15:00", "proposal", "sent", True, False, 20.0, "vera", "acme"),
    (9, "ben", "10-30 09:00", "call", "conversation", False, False, 6.0, "mona", "initech"),
    (10, "ben", "10-30 11:00", "video_meeting", "held", True, True, 30.0, "carl", "globex"),
    (11, "cai", "10-30 16:00", "research", None, False, False, 45.0, None, "globex"),
    # 23:30 EDT on Friday 30 October is 03:30 UTC on Saturday 31 October: counts on the 30th.
    (12, "cai", "10-30 23:30", "call", "conversation", True, False, 12.0, "ivan", "acme"),
    (13, "ana", "11-02 09:00", "call", "not_interested", True, False, 4.0, "carl", "globex"),
    (14, "ana", "11-02 10:00", "discovery_meeting", "held", False, True, 45.0, "mona", "initech"),
    (15, "ben", "11-02 09:00", "call", "meeting_set", True, True, 7.0, "vera", "acme"),
    # 23:30 EST on Monday 2 November is 04:30 UTC on the 3rd; no duration logged.
    (16, "ben", "11-02 23:30", "email", "replied", False, True, None, "carl", "globex"),
    (17, "cai", "11-02 12:00", "meeting", "no_show", True, False, 0.0, "ivan", "acme"),
    (18, "cai", "11-02 14:00", "crm_update", "done", True, False, 15.0, None, None),
    (19, "ana", "11-03 09:00", "call", "conversation", True, False, 9.0, "carl", "globex"),
    (20, "cai", "11-03 10:00", "proposal", "sent", True, False, 25.0, "mona", "initech"),
    (21, "cai", "11-03 11:00", "call", "gatekeeper", False, False, 3.0, None, "initech"),
    (22, "ben", "11-03 08:00", "call", "conversation", True, False, 5.0, "vera", "acme"),
    (23, "ana", "11-04 09:00", "call", "no_answer", False, False, 1.0, None, "initech"),
]  # fmt: skip

# name, owner, sourced by, status, created and closed (UTC, 2026), amount
DEALS: list[tuple[Any, ...]] = [
    # created Fri 30 Oct 23:30 EDT; closed Sat 31 Oct 23:59 EDT: both October
    ("d1", "ana", "ben", "won", "10-31 03:30", "11-01 03:59", "1000.00"),
    # created Sun 1 Nov 00:00 EDT exactly: November; closed Mon 2 Nov 10:00 EST
    ("d2", "ana", "ben", "won", "11-01 04:00", "11-02 15:00", "2500.50"),
    # created 15 Oct; lost Tue 3 Nov
    ("d3", "ana", None, "lost", "10-15 14:00", "11-03 15:00", "700.00"),
    # created Sat 31 Oct 23:00 EDT (already 1 Nov in UTC): October; still open
    ("d4", "cai", "ben", "open", "11-01 03:00", None, "5000.00"),
    # created 10 Nov; closed Mon 30 Nov 23:30 EST (1 Dec in UTC): November
    ("d5", "cai", "ana", "won", "11-10 15:00", "12-01 04:30", "300.00"),
    # created 30 Sep 16:00 EDT; closed Tue 1 Dec 00:00 EST exactly: December
    ("d6", "cai", None, "won", "09-30 20:00", "12-01 05:00", "4000.00"),
]  # fmt: skip

ACTIVITY_METRICS = [
    "activities",
    "selling_activities",
    "calls",
    "conversations",
    "dm_conversations",
    "vp_conversations",
    "meetings_set",
    "meetings_held",
    "face_to_face_meetings",
    "proposals",
    "selling_minutes",
    "logged_minutes",
]
DEAL_METRICS = [
    "opportunities_created",
    "opportunities_sourced",
    "deals_won",
    "deals_lost",
    "revenue",
]

EXTRA_METRICS: list[dict[str, Any]] = [
    {"name": "accounts_touched", "source": "activities", "aggregate": "distinct_count",
     "field": "account_id"},
    {"name": "selling_accounts", "source": "activities", "aggregate": "distinct_count",
     "field": "account_id", "selling": True},
    {"name": "dm_contacts", "source": "activities", "aggregate": "distinct_count",
     "field": "contact_id", "decision_maker": True},
    {"name": "other_contacts", "source": "activities", "aggregate": "distinct_count",
     "field": "contact_id", "decision_maker": False},
    {"name": "engaged_activities", "source": "activities", "aggregate": "count",
     "engaged": True},
    {"name": "calls_without_ask", "source": "activities", "aggregate": "count",
     "kinds": ["call"], "has_ask": False},
    {"name": "unconnected", "source": "activities", "aggregate": "count", "connected": False},
    {"name": "other_minutes", "source": "activities", "aggregate": "sum",
     "field": "duration_min", "selling": False},
    {"name": "non_dm_talks", "source": "activities", "aggregate": "count", "connected": True,
     "decision_maker": False},
    {"name": "senior_minutes", "source": "activities", "aggregate": "sum",
     "field": "duration_min", "seniority": ["vp", "c_level"]},
    {"name": "emails_replied", "source": "activities", "aggregate": "count",
     "kinds": ["email"], "outcomes": ["replied"]},
    {"name": "conversations_per_call", "aggregate": "ratio", "numerator": "conversations",
     "denominator": "calls", "min_denominator": 5},
    {"name": "held_per_set", "aggregate": "ratio", "numerator": "meetings_held",
     "denominator": "meetings_set", "min_denominator": 0},
]  # fmt: skip


@dataclass
class Org:
    reps: dict[str, int]
    contacts: dict[str, int]
    accounts: dict[str, int]
    activities: dict[int, int]  # number in ACTIVITIES -> activity id


def local_to_utc(day: dt.date, hour: int, minute: int) -> dt.datetime:
    moment = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=NY)
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def at(text: str) -> dt.datetime:
    """'10-30 23:30' is 2026-10-30 23:30."""
    return dt.datetime.strptime(f"2026-{text}", "%Y-%m-%d %H:%M")


def build_org(engine: Engine) -> Org:
    with engine.begin() as conn:

        def new(table: Any, **values: Any) -> int:
            return int(
                conn.execute(insert(table).values(**values).returning(table.id)).scalar_one()
            )

        reps = {
            name: new(Rep, name=name.title(), role=role, source="test")
            for name, role in (("ana", "ae"), ("ben", "sdr"), ("cai", "field"))
        }
        accounts = {name: new(Account, name=name.title()) for name in ("acme", "globex", "initech")}
        contacts = {
            name: new(
                Contact,
                account_id=accounts[account],
                name=name.title(),
                seniority=seniority,
                is_decision_maker=dm,
            )
            for name, (account, seniority, dm) in CONTACTS.items()
        }
        activities = {}
        for no, rep, local, kind, outcome, ask, engaged, minutes, contact, account in ACTIVITIES:
            moment = at(local)
            activities[no] = new(
                Activity,
                rep_id=reps[rep],
                kind=kind,
                occurred_at=local_to_utc(moment.date(), moment.hour, moment.minute),
                local_date=moment.date(),
                outcome=outcome,
                has_ask=ask,
                engaged=engaged,
                duration_min=minutes,
                contact_id=contacts[contact] if contact else None,
                account_id=accounts[account] if account else None,
                source="test",
            )
        for name, owner, sourced, status, created, closed, amount in DEALS:
            new(
                Deal,
                name=name,
                rep_id=reps[owner],
                sourced_by_id=reps[sourced] if sourced else None,
                status=status,
                stage={"won": "closed_won", "lost": "closed_lost"}.get(status, "proposal"),
                created_at=at(created),
                closed_at=at(closed) if closed else None,
                amount=Decimal(amount),
            )
    return Org(reps, contacts, accounts, activities)


def totals(
    engine: Engine,
    settings: Settings,
    names: Iterable[str],
    start: dt.date,
    end: dt.date,
    rep_ids: Iterable[int] | None = None,
) -> MetricTotals:
    with engine.connect() as conn:
        return metric_totals(
            conn, settings, list(names), start, end, None if rep_ids is None else list(rep_ids)
        )


def table(org: Org, result: MetricTotals, names: Iterable[str]) -> dict[str, dict[str, float]]:
    """{rep: {metric: value}} for the org's reps, zeros included, to compare with hand counts."""
    return {rep: {n: result.get(rep_id, n) for n in names} for rep, rep_id in org.reps.items()}


def expect(names: list[str], **by_rep: list[float]) -> dict[str, dict[str, float]]:
    return {rep: dict(zip(names, values, strict=True)) for rep, values in by_rep.items()}


def module_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A migrated database of the requested kind, kept for the module (a schema on PostgreSQL).

    Building a schema per test costs more than the tests themselves, so this module keeps two
    databases per kind: one with the organisation, only read, and one emptied between tests.
    """
    if request.param == "sqlite":
        engine = migrated_sqlite_copy(tmp_path_factory, tmp_path_factory.mktemp("db"))
        yield engine
        engine.dispose()
        return
    database_url = request.getfixturevalue("pg_database")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = make_engine(database_url, connect_args={"options": f"-csearch_path={schema}"})
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    upgrade(engine)
    yield engine
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, settings: Settings
) -> Iterator[tuple[Engine, Org]]:
    """The organisation, for the tests that only read it."""
    for engine in module_database(request, tmp_path_factory):
        built = build_org(engine)
        # Built with the extra metrics too; the default metrics' rows are the same either way.
        ensure_rollup(engine, variant(settings, EXTRA_METRICS))
        yield engine, built


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def scratch(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    yield from module_database(request, tmp_path_factory)


@pytest.fixture
def engine(scratch: Engine) -> Engine:
    """An empty database of each kind for a test that writes (emptied, not re-created)."""
    with scratch.begin() as conn:
        for model in (Activity, Deal, Contact, Account, Rep, MetricDay, RollupDirty,
                      RollupDirtyContact, RollupState):  # fmt: skip
            conn.execute(delete(model))
    return scratch


@pytest.fixture
def org(engine: Engine, settings: Settings) -> Org:
    """The organisation in an empty database, for tests that change it."""
    built = build_org(engine)
    ensure_rollup(engine, settings)
    return built


WHOLE = (D(2026, 10, 29), D(2026, 11, 5))


def test_fixture_times_are_what_the_comments_say() -> None:
    # The two late activities really are on the next day in UTC, and the deal times sit
    # where the comments put them in New York time.
    assert local_to_utc(D(2026, 10, 30), 23, 30) == dt.datetime(2026, 10, 31, 3, 30)
    assert local_to_utc(D(2026, 11, 2), 23, 30) == dt.datetime(2026, 11, 3, 4, 30)
    assert local_to_utc(D(2026, 11, 1), 0, 0) == dt.datetime(2026, 11, 1, 4, 0)
    assert local_to_utc(D(2026, 12, 1), 0, 0) == dt.datetime(2026, 12, 1, 5, 0)


def test_activity_metrics_over_the_whole_range(
    shared: tuple[Engine, Org], settings: Settings
) -> None:
    engine, org = shared
    result = totals(engine, settings, ACTIVITY_METRICS, *WHOLE)
    # activities, selling, calls, conversations, dm, vp, set, held, f2f, proposals,
    # selling minutes, logged minutes
    assert table(org, result, ACTIVITY_METRICS) == expect(
        ACTIVITY_METRICS,
        # selling: 1 3 7 8 13 19 (2, 14, 23 lack an Ask; 4 is admin); calls: 1 2 13 19 23;
        # conversations (connected calls; the meeting held 7 is not one): 1 13 19; dm: 1
        # (Vera); vp: 1 (Vera) 13 19 (Carl, c_level); held: 7 14; f2f: 7; proposals: 8.
        ana=[10, 6, 5, 3, 1, 3, 0, 2, 1, 1, 108, 186],
        # selling: 5 10 15 22 (6, 9, 16 lack an Ask); calls: 5 6 9 15 22; conversations:
        # 5 9 15 22 (not the video meeting 10); dm: 9 (Mona) 15 22 (Vera); vp: 5 (Carl) 15 22;
        # set: 5 15; held: 10; logged: 16 has no duration.
        ben=[7, 4, 5, 4, 3, 3, 2, 1, 0, 0, 50, 57],
        # selling: 12 17 20 (18 is a crm_update with an Ask: not selling); calls: 12 21;
        # conversations: 12 (Ivan: no seniority, not a DM); 17 is a no-show.
        cai=[6, 3, 2, 1, 0, 0, 0, 0, 0, 1, 37, 100],
    )
    assert set(result.values) <= set(org.reps.values())


def test_every_filter(shared: tuple[Engine, Org], settings: Settings) -> None:
    engine, org = shared
    names = ["engaged_activities", "calls_without_ask", "unconnected", "other_minutes",
             "non_dm_talks", "senior_minutes", "emails_replied"]  # fmt: skip
    result = totals(engine, variant(settings, EXTRA_METRICS), names, *WHOLE)
    assert table(org, result, names) == expect(
        names,
        # engaged: 7 14; no Ask: 2 23; unconnected: 2 3 4 8 23; not selling: 2 4 14 23
        # (2 + 30 + 45 + 1); connected, not with a DM: 13 19 (Carl); senior: 1 7 8 (Vera)
        # 13 19 (Carl) = 10 + 60 + 20 + 4 + 9.
        ana=[2, 2, 5, 78, 2, 103, 0],
        # engaged: 5 10 15 16; no Ask: 6 9; unconnected: 6; not selling: 6 9 16 (1 + 6 + 0);
        # not with a DM: 5 10 16 (Carl); senior: 5 10 16 (Carl) 15 22 (Vera); replied: 16.
        ben=[4, 2, 1, 7, 3, 50, 1],
        # no Ask: 21; unconnected: 11 (no outcome) 17 18 20 21; not selling: 11 18 21
        # (45 + 15 + 3); not with a DM: 12 (Ivan); nobody senior.
        cai=[0, 1, 5, 63, 1, 0, 0],
    )


def test_local_day_edges_and_end_exclusive(shared: tuple[Engine, Org], settings: Settings) -> None:
    engine, org = shared
    names = ["activities", "selling_activities", "calls", "conversations", "logged_minutes"]
    # Friday 30 October only (31 Oct and 1 Nov are a weekend without activity): activity 12
    # at 23:30 local counts here although it is the 31st in UTC.
    friday = totals(engine, settings, names, D(2026, 10, 30), D(2026, 11, 2))
    assert table(org, friday, names) == expect(
        names, ana=[2, 2, 0, 0, 80], ben=[2, 1, 1, 1, 36], cai=[2, 1, 1, 1, 57]
    )
    # Monday 2 November only: activity 16 (23:30 local, 3 Nov in UTC) is Ben's.
    monday = totals(engine, settings, names, D(2026, 11, 2), D(2026, 11, 3))
    assert table(org, monday, names) == expect(
        names, ana=[2, 1, 1, 1, 49], ben=[2, 1, 1, 1, 7], cai=[2, 1, 0, 0, 15]
    )
    # The end is exclusive: [29 Oct, 4 Nov) leaves out activity 23 on the 4th.
    before_23 = totals(engine, settings, ["calls"], D(2026, 10, 29), D(2026, 11, 4))
    assert before_23.get(org.reps["ana"], "calls") == 4
    only_23 = totals(engine, settings, ["calls"], D(2026, 11, 4), D(2026, 11, 5))
    assert only_23.values == {org.reps["ana"]: {"calls": 1.0}}
    # The weekend and an empty range have nothing.
    assert totals(engine, settings, names, D(2026, 10, 31), D(2026, 11, 2)).values == {}
    assert totals(engine, settings, names, D(2026, 11, 3), D(2026, 11, 3)).values == {}


def test_span_totals_add_stretches_read_once(
    shared: tuple[Engine, Org], settings: Settings
) -> None:
    engine, org = shared
    reps = sorted(org.reps.values())
    edges = [D(2026, 10, 29), D(2026, 10, 30), D(2026, 10, 31), D(2026, 11, 2), D(2026, 11, 5)]
    span = SpanTotals(settings, reps, edges)
    names = ["activities", "calls"]
    with recorded_statements(engine) as statements, engine.connect() as conn:
        whole = span(conn, settings, names, *WHOLE, reps)
        read_whole = len(statements)
        friday = span(conn, settings, names, D(2026, 10, 30), D(2026, 11, 2), reps)
        weekend = span(conn, settings, names, D(2026, 10, 31), D(2026, 11, 2), reps)
        read_inside = len(statements) - read_whole
        # Not a count (minutes add up as fractions could not): read as metric_totals.
        minutes = span(conn, settings, ["logged_minutes"], WHOLE[0], D(2026, 11, 2), reps)
        # Other reps, or a day that is no edge: read as metric_totals too.
        ana_only = span(conn, settings, names, *WHOLE, [org.reps["ana"]])
        off_edge = span(conn, settings, names, D(2026, 11, 2), D(2026, 11, 3), reps)
    assert read_whole == 4  # one per stretch between the edges
    assert read_inside == 0  # the Friday and the weekend are stretches already read
    # The same totals as the tests above count by hand.
    assert table(org, whole, names) == expect(names, ana=[10, 5], ben=[7, 5], cai=[6, 2])
    assert table(org, friday, names) == expect(names, ana=[2, 0], ben=[2, 1], cai=[2, 1])
    assert friday.values[org.reps["ana"]] == {"activities": 2.0}  # no call: no entry
    assert weekend.values == {}
    assert (friday.start, friday.end) == (D(2026, 10, 30), D(2026, 11, 2))
    assert minutes == totals(engine, settings, ["logged_minutes"], WHOLE[0], D(2026, 11, 2), reps)
    assert set(ana_only.values) == {org.reps["ana"]}
    assert table(org, off_edge, names) == expect(names, ana=[2, 1], ben=[2, 1], cai=[2, 0])


def test_distinct_counts(shared: tuple[Engine, Org], settings: Settings) -> None:
    engine, org = shared
    custom = variant(settings, EXTRA_METRICS)
    names = ["accounts_touched", "selling_accounts", "dm_contacts", "other_contacts"]
    whole = totals(engine, custom, names, *WHOLE)
    assert table(org, whole, names) == expect(
        names,
        # accounts: Acme (1 2 3 7 8), Globex (13 19), Initech (14 23); selling: Acme, Globex;
        # DM contacts: Vera, Mona; other contacts: Ivan (3), Carl (13 19).
        ana=[3, 2, 2, 2],
        # Globex (5 10 16), Initech (6 9), Acme (15 22); selling: Globex (5 10), Acme (15 22);
        # DM: Mona (6 9), Vera (15 22); other: Carl.
        ben=[3, 2, 2, 1],
        # Globex (11), Acme (12 17), Initech (20 21); selling: Acme (12 17), Initech (20);
        # DM: Mona (20); other: Ivan (12 17); 11, 18 and 21 have no contact.
        cai=[3, 2, 1, 1],
    )
    # Distinct counts do not add up across days: Ana touches Acme on both 29 and 30 Oct.
    october = totals(engine, custom, ["accounts_touched"], D(2026, 10, 29), D(2026, 11, 2))
    assert table(org, october, ["accounts_touched"]) == expect(
        ["accounts_touched"], ana=[1], ben=[2], cai=[2]
    )
    november = totals(engine, custom, ["selling_accounts"], D(2026, 11, 2), D(2026, 11, 5))
    assert table(org, november, ["selling_accounts"]) == expect(
        ["selling_accounts"], ana=[1], ben=[1], cai=[2]
    )
    only_ben = totals(engine, custom, names, *WHOLE, rep_ids=[org.reps["ben"]])
    assert only_ben.values == {org.reps["ben"]: dict(zip(names, [3.0, 2.0, 2.0, 1.0], strict=True))}


def test_statements_follow_their_configuration(
    shared: tuple[Engine, Org], settings: Settings
) -> None:
    # Statements are built once per configuration; another configuration redefining a metric
    # of the same name must read with its own definition, not the statement the first one
    # built. Selling accounts, then (without the selling filter) every account touched.
    engine, org = shared
    custom = variant(settings, EXTRA_METRICS)
    first = totals(engine, custom, ["selling_accounts"], *WHOLE)
    wider = variant(custom, [{"name": "selling_accounts", "selling": None}])
    after = totals(engine, wider, ["selling_accounts"], *WHOLE)
    again = totals(engine, custom, ["selling_accounts"], *WHOLE)
    assert table(org, first, ["selling_accounts"]) == expect(
        ["selling_accounts"], ana=[2], ben=[2], cai=[2]
    )
    assert table(org, after, ["selling_accounts"]) == expect(
        ["selling_accounts"], ana=[3], ben=[3], cai=[3]
    )
    assert again.values == first.values


def test_deal_metrics_by_month_in_business_time(
    shared: tuple[Engine, Org], settings: Settings
) -> None:
    engine, org = shared
    october = totals(engine, settings, DEAL_METRICS, D(2026, 10, 1), D(2026, 11, 1))
    # created, sourced, won, lost, revenue
    assert table(org, october, DEAL_METRICS) == expect(
        DEAL_METRICS,
        ana=[2, 0, 1, 0, 1000.0],  # created d1 d3; won d1 (closed 31 Oct 23:59 local)
        ben=[0, 2, 0, 0, 0],  # sourced d1 and d4 (d4 created 31 Oct 23:00 local)
        cai=[1, 0, 0, 0, 0],  # created d4
    )
    november = totals(engine, settings, DEAL_METRICS, D(2026, 11, 1), D(2026, 12, 1))
    assert table(org, november, DEAL_METRICS) == expect(
        DEAL_METRICS,
        ana=[1, 1, 1, 1, 2500.5],  # created d2 (1 Nov 00:00 local); sourced d5; won d2; lost d3
        ben=[0, 1, 0, 0, 0],  # sourced d2
        cai=[1, 0, 1, 0, 300.0],  # created d5; won d5 (30 Nov 23:30 local)
    )
    december = totals(engine, settings, DEAL_METRICS, D(2026, 12, 1), D(2027, 1, 1))
    assert december.values == {org.reps["cai"]: {"deals_won": 1.0, "revenue": 4000.0}}
    # One local day either side of the month boundary.
    oct31 = totals(engine, settings, DEAL_METRICS, D(2026, 10, 31), D(2026, 11, 1))
    assert table(org, oct31, DEAL_METRICS) == expect(
        DEAL_METRICS, ana=[0, 0, 1, 0, 1000.0], ben=[0, 1, 0, 0, 0], cai=[1, 0, 0, 0, 0]
    )
    nov1 = totals(engine, settings, DEAL_METRICS, D(2026, 11, 1), D(2026, 11, 2))
    assert nov1.values == {
        org.reps["ana"]: {"opportunities_created": 1.0},
        org.reps["ben"]: {"opportunities_sourced": 1.0},
    }


def test_utc_bounds_follow_daylight_saving(settings: Settings) -> None:
    # 1 Nov 2026 starts in EDT (UTC-4); 2 Nov starts in EST (UTC-5).
    assert utc_bounds(settings, D(2026, 11, 1), D(2026, 11, 2)) == (
        dt.datetime(2026, 11, 1, 4, 0),
        dt.datetime(2026, 11, 2, 5, 0),
    )


def test_rep_filter(shared: tuple[Engine, Org], settings: Settings) -> None:
    engine, org = shared
    names = [*ACTIVITY_METRICS, *DEAL_METRICS]
    everyone = totals(engine, settings, names, D(2026, 10, 1), D(2027, 1, 1))
    ana_cai = [org.reps["ana"], org.reps["cai"]]
    some = totals(engine, settings, names, D(2026, 10, 1), D(2027, 1, 1), rep_ids=ana_cai)
    assert set(some.values) == set(ana_cai)
    for rep_id in ana_cai:
        assert some.values[rep_id] == everyone.values[rep_id]
    # Ana sourced d5: sourced credit follows the filter on `sourced_by`, not on the owner.
    assert some.get(org.reps["ana"], "opportunities_sourced") == 1
    assert some.get(org.reps["ben"], "opportunities_sourced") == 0
    assert totals(engine, settings, names, *WHOLE, rep_ids=[]).values == {}
    # A team is the sum of its reps: 10 + 7 + 6 activities, 3 + 3 + 0 vp conversations.
    team = list(org.reps.values())
    whole = totals(engine, settings, ACTIVITY_METRICS, *WHOLE)
    assert metric_value(settings, whole, team, "activities") == 23
    assert metric_value(settings, whole, team, "vp_conversations") == 6


def test_rep_value_is_the_reps_total_as_a_team_of_one(settings: Settings) -> None:
    # rep_value reads a count or sum straight from the totals; it must give what
    # metric_value gives for a team of that one rep: 0 for a rep or metric not read, and
    # 0.0 (not -0.0, which math.fsum does not return) for a total of -0.0.
    totals = MetricTotals(
        D(2026, 11, 1), D(2026, 11, 19), {7: {"calls": 12.0, "logged_minutes": -0.0}}
    )
    for rep_id, name, expected in [(7, "calls", 12.0), (7, "logged_minutes", 0.0),
                                   (7, "conversations", 0.0), (8, "calls", 0.0)]:  # fmt: skip
        found = rep_value(settings, totals, rep_id, name, is_ratio=False)
        assert found == expected == metric_value(settings, totals, [rep_id], name)
        assert str(found) == str(expected)  # the sign of a zero too
    # A ratio still goes through its parts: 12 calls, no conversations read -> 0.0.
    assert rep_value(settings, totals, 7, "connect_rate", is_ratio=True) == 0.0
    assert rep_value(settings, totals, 8, "connect_rate", is_ratio=True) is None


def test_ratios_and_minimum_denominator(shared: tuple[Engine, Org], settings: Settings) -> None:
    engine, org = shared
    custom = variant(settings, EXTRA_METRICS)
    names = ["connect_rate", "conversations_per_call", "show_rate", "held_per_set", "win_rate"]
    result = totals(engine, custom, names, D(2026, 10, 1), D(2026, 12, 1))
    ana, ben, cai = org.reps["ana"], org.reps["ben"], org.reps["cai"]
    # Ratios are not stored: their parts are.
    assert "connect_rate" not in result.values[ana] and "calls" in result.values[ana]
    # connect_rate = conversations / calls, minimum 20 calls.
    assert ratio_parts(custom, result, [ana], "connect_rate") == (3.0, 5.0)
    assert metric_value(custom, result, [ana], "connect_rate") == pytest.approx(0.6)
    assert not meets_minimum(custom, result, [ana], "connect_rate")
    # The team: (3 + 4 + 1) / (5 + 5 + 2) = 8/12, still below 20 calls.
    assert metric_value(custom, result, [ana, ben, cai], "connect_rate") == pytest.approx(8 / 12)
    assert not meets_minimum(custom, result, [ana, ben, cai], "connect_rate")
    # The same ratio with a minimum of 5: Ana's 5 calls are just enough, Cai's 2 are not.
    assert meets_minimum(custom, result, [ana], "conversations_per_call")
    assert not meets_minimum(custom, result, [cai], "conversations_per_call")
    assert metric_value(custom, result, [cai], "conversations_per_call") == pytest.approx(0.5)
    # show_rate = held / set (minimum 5): Ben 1 of 2.
    assert metric_value(custom, result, [ben], "show_rate") == pytest.approx(0.5)
    assert not meets_minimum(custom, result, [ben], "show_rate")
    # No meetings set: the ratio is no data (None, not 0%) and never meets a minimum, even a
    # minimum of 0.
    assert metric_value(custom, result, [cai], "held_per_set") is None
    assert not meets_minimum(custom, result, [cai], "held_per_set")
    assert meets_minimum(custom, result, [ben], "held_per_set")
    # win_rate mixes a deal metric with a rolled-up one: Ana won d1 and d2, sent 1 proposal.
    assert ratio_parts(custom, result, [ana], "win_rate") == (2.0, 1.0)
    # A non-ratio metric always meets the minimum.
    assert meets_minimum(custom, result, [cai], "calls")


def test_last_active_days(shared: tuple[Engine, Org], settings: Settings) -> None:
    engine, org = shared
    with engine.connect() as conn:
        proposals = last_active_days(conn, "proposals", D(2026, 10, 1), D(2026, 11, 30))
        until_2nd = last_active_days(conn, "proposals", D(2026, 10, 1), D(2026, 11, 2))
        calls_4th = last_active_days(conn, "calls", D(2026, 11, 4), D(2026, 11, 4))
        only_cai = last_active_days(
            conn, "proposals", D(2026, 10, 1), D(2026, 11, 30), rep_ids=[org.reps["cai"]]
        )
    assert proposals == {org.reps["ana"]: D(2026, 10, 30), org.reps["cai"]: D(2026, 11, 3)}
    assert until_2nd == {org.reps["ana"]: D(2026, 10, 30)}
    assert calls_4th == {org.reps["ana"]: D(2026, 11, 4)}
    assert only_cai == {org.reps["cai"]: D(2026, 11, 3)}
    with engine.connect() as conn:
        daily = daily_values(conn, "calls", D(2026, 10, 29), D(2026, 11, 4), org.reps["ana"])
    assert daily == {D(2026, 10, 29): 2, D(2026, 11, 2): 1, D(2026, 11, 3): 1, D(2026, 11, 4): 1}


# ---------------------------------------------------------------------------------------------
# Rollup maintenance: every write reaches `metric_day` through the triggers.
# ---------------------------------------------------------------------------------------------
def test_first_refresh_builds_and_a_second_does_nothing(engine: Engine, settings: Settings) -> None:
    build_org(engine)
    assert ensure_rollup(engine, settings) == RollupRefresh(rebuilt=True, rep_days=0)
    assert ensure_rollup(engine, settings) == RollupRefresh(rebuilt=False, rep_days=0)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(RollupDirty)) == 0
        # Only non-zero values are stored: nobody holds a face-to-face meeting on 2 Nov.
        stored = conn.execute(
            select(MetricDay.metric).where(MetricDay.local_date == D(2026, 11, 2))
        ).scalars()
        assert "face_to_face_meetings" not in set(stored)


def test_insert_is_picked_up(engine: Engine, settings: Settings, org: Org) -> None:
    # Logged through the real entry path at 23:30 New York time on 3 Nov (4 Nov in UTC).
    logged = log_activity(
        engine,
        settings,
        ActivityInput(
            rep="Ana",
            kind="call",
            occurred_at=dt.datetime(2026, 11, 3, 23, 30),
            outcome="conversation",
            has_ask=True,
            duration_min=3.0,
        ),
    )
    assert logged.occurred_at == dt.datetime(2026, 11, 4, 4, 30)
    assert logged.local_date == D(2026, 11, 3)
    assert ensure_rollup(engine, settings) == RollupRefresh(rebuilt=False, rep_days=1)
    names = ["activities", "selling_activities", "calls", "conversations", "selling_minutes"]
    whole = totals(engine, settings, names, *WHOLE)
    assert table(org, whole, names)["ana"] == dict(zip(names, [11, 7, 6, 4, 111], strict=True))
    # It counts on the 3rd (19 and the new one), not on the 4th (only 23).
    tuesday = totals(engine, settings, ["calls"], D(2026, 11, 3), D(2026, 11, 4))
    assert tuesday.get(org.reps["ana"], "calls") == 2
    wednesday = totals(engine, settings, ["calls"], D(2026, 11, 4), D(2026, 11, 5))
    assert wednesday.get(org.reps["ana"], "calls") == 1


def test_update_of_kind_is_picked_up(engine: Engine, settings: Settings, org: Org) -> None:
    with engine.begin() as conn:  # activity 2: Ana's unanswered call becomes an email
        conn.execute(update(Activity).where(Activity.id == org.activities[2]).values(kind="email"))
    assert ensure_rollup(engine, settings) == RollupRefresh(rebuilt=False, rep_days=1)
    names = ["activities", "calls", "selling_activities"]
    result = totals(engine, settings, names, *WHOLE)
    assert table(org, result, names)["ana"] == {
        "activities": 10,
        "calls": 4,
        "selling_activities": 6,
    }


def test_update_of_rep_and_day_fixes_both_rep_days(
    engine: Engine, settings: Settings, org: Org
) -> None:
    # Activity 1 (Ana, 29 Oct: call, conversation with Vera, Ask, 10 min) becomes Cai's on 3 Nov.
    with engine.begin() as conn:
        conn.execute(
            update(Activity)
            .where(Activity.id == org.activities[1])
            .values(
                rep_id=org.reps["cai"],
                local_date=D(2026, 11, 3),
                occurred_at=local_to_utc(D(2026, 11, 3), 15, 0),
            )
        )
    assert ensure_rollup(engine, settings) == RollupRefresh(rebuilt=False, rep_days=2)
    names = ["activities", "selling_activities", "calls", "conversations", "dm_conversations",
             "vp_conversations", "selling_minutes", "logged_minutes"]  # fmt: skip
    result = totals(engine, settings, names, *WHOLE)
    assert table(org, result, names) == expect(
        names,
        ana=[9, 5, 4, 2, 0, 2, 98, 176],
        ben=[7, 4, 5, 4, 3, 3, 50, 57],
        cai=[7, 4, 3, 2, 1, 1, 47, 110],
    )
    old_day = totals(engine, settings, ["activities"], D(2026, 10, 29), D(2026, 10, 30))
    assert old_day.get(org.reps["ana"], "activities") == 3  # 2, 3, 4
    new_day = totals(engine, settings, ["activities"], D(2026, 11, 3), D(2026, 11, 4))
    assert new_day.get(org.reps["cai"], "activities") == 3  # 20, 21 and 1


def test_delete_is_picked_up(engine: Engine, settings: Settings, org: Org) -> None:
    with engine.begin() as conn:  # activity 19: Ana's call with Carl on 3 Nov
        conn.execute(delete(Activity).where(Activity.id == org.activities[19]))
    assert ensure_rollup(engine, settings) == RollupRefresh(rebuilt=False, rep_days=1)
    names = ["calls", "conversations", "vp_conversations", "selling_minutes"]
    result = totals(engine, settings, names, *WHOLE)
    assert table(org, result, names)["ana"] == dict(zip(names, [4, 2, 2, 99], strict=True))
    # Ana's 3 Nov had only activity 19: nothing is left stored for that day.
    with engine.connect() as conn:
        left = conn.scalar(
            select(func.count())
            .select_from(MetricDay)
            .where(MetricDay.rep_id == org.reps["ana"], MetricDay.local_date == D(2026, 11, 3))
        )
    assert left == 0


def test_contact_changes_are_picked_up(engine: Engine, settings: Settings, org: Org) -> None:
    names = ["vp_conversations", "dm_conversations"]
    # Carl (c_level) becomes a director: his rep-days are Ben 29 Oct (5), Ben 30 Oct (10),
    # Ana 2 Nov (13), Ben 2 Nov (16) and Ana 3 Nov (19).
    with engine.begin() as conn:
        conn.execute(
            update(Contact).where(Contact.id == org.contacts["carl"]).values(seniority="director")
        )
    assert ensure_rollup(engine, settings) == RollupRefresh(rebuilt=False, rep_days=5)
    result = totals(engine, settings, names, *WHOLE)
    # Calls only: Ana vp 1 (Vera), dm 1; Ben vp 15 22 (Vera), dm 9 15 22.
    assert table(org, result, names) == expect(names, ana=[1, 1], ben=[2, 3], cai=[0, 0])
    # Ivan becomes a decision maker: Ana 29 Oct (3), Cai 30 Oct (12), Cai 2 Nov (17).
    with engine.begin() as conn:
        conn.execute(
            update(Contact).where(Contact.id == org.contacts["ivan"]).values(is_decision_maker=True)
        )
    assert ensure_rollup(engine, settings) == RollupRefresh(rebuilt=False, rep_days=3)
    result = totals(engine, settings, names, *WHOLE)
    assert table(org, result, names) == expect(
        names,
        ana=[1, 1],  # 3 is an email with Ivan, not a conversation
        ben=[2, 3],
        cai=[0, 1],  # 12 is Cai's call with Ivan
    )
    # Changing anything else about a contact marks nothing.
    with engine.begin() as conn:
        conn.execute(
            update(Contact)
            .where(Contact.id == org.contacts["vera"])
            .values(title="VP Sales", seniority="vp")
        )
    assert ensure_rollup(engine, settings) == RollupRefresh(rebuilt=False, rep_days=0)


def test_bulk_insert_is_picked_up(engine: Engine, settings: Settings, org: Org) -> None:
    columns = ("rep_id", "kind", "occurred_at", "local_date", "duration_min", "outcome",
               "has_ask", "engaged", "source", "external_id", "created_at",
               "updated_at")  # fmt: skip
    moment = local_to_utc(D(2026, 11, 4), 10, 0)
    rows = [
        (org.reps["ben"], "call", moment, D(2026, 11, 4), 2.5, "conversation", True, False,
         "bulk", f"b{i}", moment, moment)
        for i in range(3)
    ]  # fmt: skip
    with engine.begin() as conn:
        insert_rows(conn, Activity.__table__, columns, rows)  # type: ignore[arg-type]
    assert ensure_rollup(engine, settings) == RollupRefresh(rebuilt=False, rep_days=1)
    names = ["calls", "conversations", "selling_minutes"]
    result = totals(engine, settings, names, *WHOLE)
    assert table(org, result, names)["ben"] == {
        "calls": 8,
        "conversations": 7,  # 5 9 15 22 and the three new ones
        "selling_minutes": 57.5,
    }


def test_configuration_change_rebuilds(engine: Engine, settings: Settings, org: Org) -> None:
    # Video meetings count as calls too: Ben's 10 is one more call.
    wider = variant(settings, [{"name": "calls", "kinds": ["call", "video_meeting"]}])
    assert ensure_rollup(engine, wider) == RollupRefresh(rebuilt=True, rep_days=0)
    assert ensure_rollup(engine, wider) == RollupRefresh(rebuilt=False, rep_days=0)
    result = totals(engine, wider, ["calls"], *WHOLE)
    assert table(org, result, ["calls"]) == expect(["calls"], ana=[5], ben=[6], cai=[2])
    # Without the Ask rule every selling-eligible kind is selling: Ana adds 2 and 23 (calls)
    # and 14 (discovery meeting); Ben 6, 9 (calls) and 16 (email); Cai 21 (call).
    no_ask = variant(settings, selling={"require_ask": False})
    assert ensure_rollup(engine, no_ask).rebuilt
    names = ["selling_activities", "selling_minutes"]
    result = totals(engine, no_ask, names, *WHOLE)
    assert table(org, result, names) == expect(names, ana=[9, 156], ben=[7, 57], cai=[4, 40])
    # Back to the defaults: rebuilt once more, with the original numbers.
    assert ensure_rollup(engine, settings).rebuilt
    result = totals(engine, settings, ["calls", "selling_activities"], *WHOLE)
    assert table(org, result, ["calls", "selling_activities"]) == expect(
        ["calls", "selling_activities"], ana=[5, 6], ben=[5, 4], cai=[2, 3]
    )


def test_rebuild_consumes_pending_marks(engine: Engine, settings: Settings, org: Org) -> None:
    # A change made before a configuration change is counted by the rebuild, whose marks it
    # then clears: the next refresh has nothing left to do.
    with engine.begin() as conn:
        conn.execute(update(Activity).where(Activity.id == org.activities[21]).values(has_ask=True))
    wider = variant(settings, [{"name": "calls", "kinds": ["call", "video_meeting"]}])
    assert ensure_rollup(engine, wider).rebuilt
    assert ensure_rollup(engine, wider).rep_days == 0
    result = totals(engine, wider, ["selling_activities"], *WHOLE)
    assert result.get(org.reps["cai"], "selling_activities") == 4


# `metric_month`: each metric's days summed per rep and calendar month, with the last day.
# Calls by hand: October Ana 1 2 (29th), Ben 5 6 (29th) 9 (30th), Cai 12 (30th); November
# Ana 13 (2nd) 19 (3rd) 23 (4th), Ben 15 (2nd) 22 (3rd), Cai 21 (3rd).
OCT, NOV = D(2026, 10, 1), D(2026, 11, 1)


def month_rows(engine: Engine, org: Org, metric: str) -> dict[tuple[str, dt.date], Any]:
    """{(rep, month): (value, last day)} of one metric's `metric_month` rows."""
    names = {rep_id: name for name, rep_id in org.reps.items()}
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                MetricMonth.rep_id, MetricMonth.month, MetricMonth.value, MetricMonth.last_day
            ).where(MetricMonth.metric == metric)
        ).all()
    return {(names[rep], month): (value, last) for rep, month, value, last in rows}


CALLS_BY_MONTH = {
    ("ana", OCT): (2, D(2026, 10, 29)),
    ("ben", OCT): (3, D(2026, 10, 30)),
    ("cai", OCT): (1, D(2026, 10, 30)),
    ("ana", NOV): (3, D(2026, 11, 4)),
    ("ben", NOV): (2, D(2026, 11, 3)),
    ("cai", NOV): (1, D(2026, 11, 3)),
}


def test_month_totals_are_built_with_the_rollup(engine: Engine, org: Org) -> None:
    assert month_rows(engine, org, "calls") == CALLS_BY_MONTH
    # Sums too (stored; read by month only for counts): Ana's selling minutes in November,
    # 13 (4), 19 (9); 14 is a discovery meeting without an Ask.
    assert month_rows(engine, org, "selling_minutes")["ana", NOV] == (13.0, D(2026, 11, 3))


def test_month_totals_follow_inserts_updates_and_deletes(
    engine: Engine, settings: Settings, org: Org
) -> None:
    with engine.begin() as conn:
        conn.execute(insert(Activity), [_call(org.reps["ben"], D(2026, 11, 20))])
        # Activity 1 (Ana's call on 29 Oct) becomes Cai's on 3 Nov; 12 (Cai's only October
        # call) is deleted; 23 (Ana's call on 4 Nov) becomes an email.
        conn.execute(
            update(Activity)
            .where(Activity.id == org.activities[1])
            .values(rep_id=org.reps["cai"], local_date=D(2026, 11, 3))
        )
        conn.execute(delete(Activity).where(Activity.id == org.activities[12]))
        conn.execute(update(Activity).where(Activity.id == org.activities[23]).values(kind="email"))
    ensure_rollup(engine, settings)
    assert month_rows(engine, org, "calls") == {
        ("ana", OCT): (1, D(2026, 10, 29)),
        ("ben", OCT): (3, D(2026, 10, 30)),
        ("ana", NOV): (2, D(2026, 11, 3)),
        ("ben", NOV): (3, D(2026, 11, 20)),
        ("cai", NOV): (2, D(2026, 11, 3)),
    }


def test_a_configuration_change_rebuilds_the_month_totals(
    engine: Engine, settings: Settings, org: Org
) -> None:
    wider = variant(settings, [{"name": "calls", "kinds": ["call", "video_meeting"]}])
    assert ensure_rollup(engine, wider).rebuilt
    # Ben's video meeting 10 on 30 Oct is one more call.
    assert month_rows(engine, org, "calls") == {
        **CALLS_BY_MONTH,
        ("ben", OCT): (4, D(2026, 10, 30)),
    }


def test_rebuilding_a_month_of_days_rebuilds_its_month_totals_only(
    engine: Engine, settings: Settings, org: Org
) -> None:
    with engine.begin() as conn:
        for month in (OCT, NOV):
            conn.execute(
                update(MetricMonth)
                .where(MetricMonth.metric == "calls", MetricMonth.month == month)
                .values(value=99)
            )
    rollup.rebuild_days(engine, settings, DayRange(D(2026, 11, 1), D(2026, 12, 1)))
    rows = month_rows(engine, org, "calls")
    assert {key: row for key, row in rows.items() if key[1] == NOV} == {
        key: row for key, row in CALLS_BY_MONTH.items() if key[1] == NOV
    }
    assert {value for (_, month), (value, _) in rows.items() if month == OCT} == {99}


def test_month_to_date_counts_read_the_month_row(
    engine: Engine, settings: Settings, org: Org
) -> None:
    """Month to date (1-3 Nov): Ben's month stops on the 3rd, so his count is his month row
    (planted here as 7, to show where it was read); Ana's goes on to the 4th, so hers is
    summed from her days (13 and 19). Sums are read from the days: Ben's selling minutes,
    15 (7), 22 (5)."""
    with engine.begin() as conn:
        conn.execute(
            update(MetricMonth)
            .where(
                MetricMonth.metric == "calls",
                MetricMonth.month == NOV,
                MetricMonth.rep_id == org.reps["ben"],
            )
            .values(value=7)
        )
        conn.execute(
            update(MetricMonth)
            .where(MetricMonth.metric == "selling_minutes", MetricMonth.rep_id == org.reps["ben"])
            .values(value=1000)
        )
    names = ["calls", "selling_minutes"]
    for reps in (None, list(org.reps.values())):
        result = totals(engine, settings, names, NOV, D(2026, 11, 4), reps)
        assert table(org, result, names) == expect(names, ana=[2, 13], ben=[7, 12], cai=[1, 25])
        if engine.dialect.name == "sqlite":  # in the order its rows came: by metric, then rep
            assert list(result.values) == sorted(result.values)
    # A window that does not start on the 1st, or crosses a month, reads the days: Ben's
    # 15 and 22, and 5, 6, 9, 15 and 22.
    for start, end, calls in (
        (D(2026, 11, 2), D(2026, 11, 4), 2),
        (D(2026, 10, 29), D(2026, 11, 4), 5),
    ):
        result = totals(engine, settings, ["calls"], start, end)
        assert result.get(org.reps["ben"], "calls") == calls


def _call(rep_id: int, day: dt.date) -> dict[str, Any]:
    return {"rep_id": rep_id, "kind": "call", "occurred_at": local_to_utc(day, 10, 0),
            "local_date": day, "has_ask": True, "engaged": False, "source": "test"}  # fmt: skip


@pytest.mark.parametrize("rebuild", [False, True], ids=["refresh", "rebuild"])
def test_mark_committed_during_a_refresh_is_not_lost(
    pg_engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch, rebuild: bool
) -> None:
    """A writer's mark takes its id when written, but may commit while a refresh runs.

    Writer W inserts Ana's call on 2 Nov (its mark draws id k) and is still open when writer X
    inserts her call on 3 Nov (id k + 1) and commits. A refresh starts and sees only X's mark;
    W commits while the refresh recomputes. W's call must be counted by the next refresh.
    """
    with pg_engine.begin() as conn:
        ana = conn.execute(insert(Rep).values(name="Ana", source="test").returning(Rep.id))
        ana_id = int(ana.scalar_one())
    ensure_rollup(pg_engine, settings)
    with pg_engine.connect() as writer:
        pending = writer.begin()
        writer.execute(insert(Activity).values(**_call(ana_id, D(2026, 11, 2))))
        with pg_engine.begin() as conn:
            conn.execute(insert(Activity).values(**_call(ana_id, D(2026, 11, 3))))
        original = rollup._recompute

        def recompute_then_let_writer_commit(*args: Any, **kwargs: Any) -> None:
            original(*args, **kwargs)
            if pending.is_active:
                pending.commit()

        monkeypatch.setattr(rollup, "_recompute", recompute_then_let_writer_commit)
        # A changed definition forces the rebuild path (video meetings are not involved).
        changed = variant(settings, [{"name": "calls", "kinds": ["call", "video_meeting"]}])
        assert ensure_rollup(pg_engine, changed if rebuild else settings).rebuilt is rebuild
        assert not pending.is_active
    monkeypatch.undo()
    ensure_rollup(pg_engine, changed if rebuild else settings)
    result = totals(pg_engine, settings, ["calls"], D(2026, 11, 2), D(2026, 11, 4))
    assert result.get(ana_id, "calls") == 2


# ---------------------------------------------------------------------------------------------
# Generated data: the rollup against a plain Python evaluation of the metric definitions.
# ---------------------------------------------------------------------------------------------
KINDS = ["call", "email", "meeting", "video_meeting", "discovery_meeting", "proposal",
         "admin", "research", "follow_up", "crm_update"]  # fmt: skip
OUTCOMES = [None, "no_answer", "voicemail", "conversation", "not_interested", "meeting_set",
            "held", "no_show", "replied", "sent", "done"]  # fmt: skip
SENIORITIES = [None, "vp", "c_level", "manager", "director"]
REP_IDS = [1, 2, 3, 4]
FIRST_DAY = D(2026, 10, 19)
DAYS = 28
RANGES = [
    (FIRST_DAY, FIRST_DAY + dt.timedelta(days=DAYS)),
    (D(2026, 10, 26), D(2026, 11, 2)),
    (D(2026, 11, 1), D(2026, 12, 1)),
    (D(2026, 10, 31), D(2026, 11, 1)),
    (D(2026, 11, 2), D(2026, 11, 2)),
]
ACTIVITY_COLUMNS = ("id", "rep_id", "account_id", "contact_id", "kind", "occurred_at",
                    "local_date", "duration_min", "outcome", "has_ask", "engaged", "source",
                    "external_id", "created_at", "updated_at")  # fmt: skip


@dataclass
class Dataset:
    contacts: dict[int, dict[str, Any]]
    activities: dict[int, dict[str, Any]]
    deals: list[dict[str, Any]]


def _activity(rng: np.random.Generator, activity_id: int, contacts: list[int]) -> dict[str, Any]:
    day = FIRST_DAY + dt.timedelta(days=int(rng.integers(DAYS)))
    minute = int(rng.integers(24 * 60))
    contact = None if rng.random() < 0.25 else int(rng.choice(contacts))
    return {
        "id": activity_id,
        "rep_id": int(rng.choice(REP_IDS)),
        "account_id": None if rng.random() < 0.15 else int(rng.integers(1, 6)),
        "contact_id": contact,
        "kind": str(rng.choice(KINDS)),
        "occurred_at": local_to_utc(day, minute // 60, minute % 60),
        "local_date": day,
        "duration_min": None if rng.random() < 0.1 else float(rng.integers(0, 120)) / 2,
        "outcome": OUTCOMES[int(rng.integers(len(OUTCOMES)))],
        "has_ask": bool(rng.random() < 0.5),
        "engaged": bool(rng.random() < 0.3),
    }


def generate(seed: int) -> tuple[Dataset, list[dict[str, Any]]]:
    """A dataset, and activities to bulk-insert later (ids above the first batch)."""
    rng = np.random.default_rng(seed)
    contacts = {
        cid: {
            "seniority": SENIORITIES[int(rng.integers(len(SENIORITIES)))],
            "is_decision_maker": bool(rng.random() < 0.4),
        }
        for cid in range(1, 11)
    }
    activities = {i: _activity(rng, i, list(contacts)) for i in range(1, 301)}
    later = [_activity(rng, i, list(contacts)) for i in range(301, 401)]
    deals = []
    for i in range(1, 41):
        created = dt.datetime(2026, 10, 1) + dt.timedelta(minutes=int(rng.integers(65 * 24 * 60)))
        status = str(rng.choice(["open", "won", "lost"]))
        closed = (
            None
            if status == "open"
            else created + dt.timedelta(minutes=int(rng.integers(30 * 24 * 60)))
        )
        deals.append(
            {
                "id": i,
                "rep_id": int(rng.choice(REP_IDS)),
                "sourced_by_id": None if rng.random() < 0.4 else int(rng.choice(REP_IDS)),
                "status": status,
                "created_at": created,
                "closed_at": closed,
                "amount": Decimal(int(rng.integers(1, 10_000_000))) / 100,
            }
        )
    return Dataset(contacts, activities, deals), later


def load(engine: Engine, data: Dataset) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(Rep), [{"id": r, "name": f"Rep {r}", "source": "test"} for r in REP_IDS]
        )
        conn.execute(insert(Account), [{"id": a, "name": f"Account {a}"} for a in range(1, 6)])
        conn.execute(
            insert(Contact),
            [{"id": cid, "name": f"Contact {cid}", **c} for cid, c in data.contacts.items()],
        )
        conn.execute(insert(Activity), [{**a, "source": "gen"} for a in data.activities.values()])
        conn.execute(
            insert(Deal),
            [{**d, "name": f"Deal {d['id']}", "stage": d["status"]} for d in data.deals],
        )


def mutate(engine: Engine, data: Dataset, later: list[dict[str, Any]], seed: int) -> None:
    """Updates, deletes, contact changes and a bulk insert, applied to the database and `data`."""
    rng = np.random.default_rng(seed)
    ids = sorted(data.activities)
    with engine.begin() as conn:
        for activity_id in rng.choice(ids, size=60, replace=False):
            row = data.activities[int(activity_id)]
            change: dict[str, Any] = {}
            what = int(rng.integers(4))
            if what == 0:
                change["kind"] = str(rng.choice(KINDS))
            elif what == 1:
                change["rep_id"] = int(rng.choice(REP_IDS))
            elif what == 2:
                change["local_date"] = FIRST_DAY + dt.timedelta(days=int(rng.integers(DAYS)))
            else:
                change["has_ask"] = not row["has_ask"]
                change["outcome"] = OUTCOMES[int(rng.integers(len(OUTCOMES)))]
            row.update(change)
            conn.execute(update(Activity).where(Activity.id == row["id"]).values(**change))
        gone = [int(i) for i in rng.choice(ids, size=30, replace=False)]
        for activity_id in gone:
            data.activities.pop(activity_id)
        conn.execute(delete(Activity).where(Activity.id.in_(gone)))
        # One statement changing several contacts at once, and one changing nothing.
        changed = [int(c) for c in rng.choice(list(data.contacts), size=3, replace=False)]
        for cid in changed:
            data.contacts[cid]["seniority"] = (
                "vp" if data.contacts[cid]["seniority"] != "vp" else None
            )
            data.contacts[cid]["is_decision_maker"] = not data.contacts[cid]["is_decision_maker"]
            conn.execute(update(Contact).where(Contact.id == cid).values(**data.contacts[cid]))
        rows = []
        moment = dt.datetime(2026, 11, 20)
        for a in later:
            data.activities[a["id"]] = a
            rows.append(tuple({**a, "source": "bulk", "external_id": f"x{a['id']}",
                               "created_at": moment, "updated_at": moment}[c]
                              for c in ACTIVITY_COLUMNS))  # fmt: skip
        insert_rows(conn, Activity.__table__, ACTIVITY_COLUMNS, rows)  # type: ignore[arg-type]


def python_totals(
    settings: Settings, data: Dataset, start: dt.date, end: dt.date
) -> dict[int, dict[str, float]]:
    """Every non-ratio metric per rep, evaluated row by row from the configuration's words."""
    selling_kinds = {k.name for k in settings.kinds if k.selling}
    connected = {o.name for o in settings.outcomes if o.connected}
    counts: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    distinct: dict[tuple[int, str], set[Any]] = defaultdict(set)
    for m in settings.metrics:
        if m.aggregate == "ratio":
            continue
        if m.source == "deals":
            for d in data.deals:
                rep = d["rep_id"] if m.credit == "owner" else d["sourced_by_id"]
                when = d[m.date or "created_at"]
                if rep is None or when is None:
                    continue
                local = when.replace(tzinfo=dt.UTC).astimezone(NY).date()
                if start <= local < end and m.status in (None, d["status"]):
                    counts[rep][m.name] += float(d["amount"]) if m.aggregate == "sum" else 1
            continue
        for a in data.activities.values():
            if not start <= a["local_date"] < end:
                continue
            contact = data.contacts.get(a["contact_id"]) if a["contact_id"] else None
            selling = a["kind"] in selling_kinds and (
                a["has_ask"] or not settings.selling.require_ask
            )
            is_dm = contact is not None and contact["is_decision_maker"]
            checks = [
                m.kinds is None or a["kind"] in m.kinds,
                m.outcomes is None or a["outcome"] in m.outcomes,
                m.selling is None or selling == m.selling,
                m.has_ask is None or a["has_ask"] == m.has_ask,
                m.engaged is None or a["engaged"] == m.engaged,
                m.connected is None or (a["outcome"] in connected) == m.connected,
                m.decision_maker is None or is_dm == m.decision_maker,
                m.seniority is None
                or (contact is not None and contact["seniority"] in m.seniority),
            ]
            if not all(checks):
                continue
            if m.aggregate == "count":
                counts[a["rep_id"]][m.name] += 1
            elif m.aggregate == "sum":
                counts[a["rep_id"]][m.name] += a[m.field or "duration_min"] or 0.0
            elif a[m.field or "account_id"] is not None:
                distinct[(a["rep_id"], m.name)].add(a[m.field or "account_id"])
    for (rep, name), values in distinct.items():
        counts[rep][name] = len(values)
    return nonzero({rep: dict(v) for rep, v in counts.items()})


def nonzero(values: dict[int, dict[str, float]]) -> dict[int, dict[str, float]]:
    cleaned = {rep: {n: float(v) for n, v in m.items() if v} for rep, m in values.items()}
    return {rep: m for rep, m in cleaned.items() if m}


def revenue_to_the_cent(values: dict[int, dict[str, float]]) -> dict[int, dict[str, float]]:
    return {rep: {n: round(v, 2) for n, v in m.items()} for rep, m in values.items()}


def all_totals(
    engine: Engine, settings: Settings, rep_ids: list[int] | None = None
) -> list[dict[int, dict[str, float]]]:
    names = [m.name for m in settings.metrics]
    return [
        nonzero(totals(engine, settings, names, start, end, rep_ids).values)
        for start, end in RANGES
    ]


def settings_for_generated(settings: Settings) -> Settings:
    return variant(settings, EXTRA_METRICS)


def test_rollup_matches_row_by_row_evaluation(engine: Engine, settings: Settings) -> None:
    custom = settings_for_generated(settings)
    data, later = generate(seed=20261123)
    load(engine, data)
    assert ensure_rollup(engine, custom).rebuilt

    def check(active: Settings) -> None:
        got = all_totals(engine, active)
        for (start, end), found in zip(RANGES, got, strict=True):
            assert revenue_to_the_cent(found) == revenue_to_the_cent(
                python_totals(active, data, start, end)
            ), (start, end)
        # A rep filter returns exactly those reps' numbers.
        some = all_totals(engine, active, rep_ids=[1, 3])
        assert [{r: v for r, v in g.items() if r in (1, 3)} for g in got] == some

    check(custom)
    mutate(engine, data, later, seed=7)
    refresh = ensure_rollup(engine, custom)
    assert not refresh.rebuilt and refresh.rep_days > 0
    check(custom)
    # A different definition of selling and calls: rebuilt, and still right.
    other = variant(
        custom,
        [{"name": "calls", "kinds": ["call", "follow_up"]}],
        selling={"require_ask": False},
    )
    assert ensure_rollup(engine, other).rebuilt
    check(other)


def test_sqlite_and_postgresql_agree(
    sqlite_engine: Engine, pg_engine: Engine, settings: Settings
) -> None:
    custom = settings_for_generated(settings)
    results = []
    for engine in (sqlite_engine, pg_engine):
        data, later = generate(seed=99)
        load(engine, data)
        ensure_rollup(engine, custom)
        before = all_totals(engine, custom)
        mutate(engine, data, later, seed=3)
        ensure_rollup(engine, custom)
        results.append((before, all_totals(engine, custom)))
    assert results[0] == results[1]


def test_counts_over_whole_months_read_the_month_rows(engine: Engine, settings: Settings) -> None:
    """A window from 15 Sep to 17 Nov holds one whole month (October): its counts are the
    September days, October's month row (Dee's planted as 50, to show where it was read) and
    November to date (Eve's November goes on past the window, so hers are her days). Sums
    (selling minutes) are still read from the days."""
    from factories import calls_on
    from paceline.services.reps import add_rep

    upgrade(engine)
    dee = add_rep(engine, settings, "Dee", "sdr", team="East")
    eve = add_rep(engine, settings, "Eve", "sdr", team="East")
    plan = {
        dee: {D(2026, 9, 14): 9, D(2026, 9, 20): 2, D(2026, 10, 5): 3, D(2026, 11, 3): 4},
        eve: {D(2026, 9, 15): 1, D(2026, 10, 30): 5, D(2026, 11, 17): 6, D(2026, 11, 25): 8},
    }
    with engine.begin() as conn:
        for rep, days in plan.items():
            for day, n in days.items():
                conn.execute(insert(Activity), calls_on(rep, day, n, "conversation"))
    ensure_rollup(engine, settings)
    with engine.begin() as conn:
        conn.execute(
            update(MetricMonth)
            .where(MetricMonth.metric == "calls", MetricMonth.rep_id == dee)
            .where(MetricMonth.month == D(2026, 10, 1))
            .values(value=50)
        )
    start, end = D(2026, 9, 15), D(2026, 11, 18)
    for reps in (None, [dee, eve]):
        with engine.connect() as conn:
            result = metric_totals(conn, settings, ["calls", "conversations"], start, end, reps)
        assert result.values[dee] == {"calls": 2 + 50 + 4, "conversations": 2 + 3 + 4}
        assert result.values[eve] == {"calls": 1 + 5 + 6, "conversations": 1 + 5 + 6}
        if engine.dialect.name == "sqlite":  # by metric, then rep, as the days' rows came
            assert list(result.values) == [dee, eve]
