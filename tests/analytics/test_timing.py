"""When to sell: local weekday x hour cells across a daylight-saving change, on SQLite and
PostgreSQL, the volume rules for rates and best hours, and the CLI, API and page.

New York left daylight saving time on Sunday 2026-11-01 at 02:00 EDT (06:00 UTC): before,
local = UTC - 4; after, UTC - 5. So the same local hour is a different UTC hour on each side,
and 01:00-02:00 local happens twice that Sunday.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, insert, update
from typer.testing import CliRunner

from factories import (
    AS_OF,
    Site,
    activity_row,
    build_calls_to_two_contacts,
    decision_maker_calls,
    make_site,
    recorded_statements,
    variant,
)
from paceline.analytics import aggregates
from paceline.analytics.timing import (
    MIN_RATE_VOLUME,
    local_cells,
    midnight_minutes,
    split_untimed,
    when_to_sell,
)
from paceline.analytics.window import diagnosis_window
from paceline.cli import app as cli_app
from paceline.config import Settings
from paceline.errors import UserInputError
from paceline.services.reps import add_rep
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade
from paceline.store.models import Activity, Contact

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def at_utc(rep_id: int, moment: dt.datetime, local_day: dt.date, **fields: Any) -> dict[str, Any]:
    """An activity at a UTC moment (naive), counted on its New York day."""
    row = activity_row(rep_id, local_day, **fields)
    row["occurred_at"] = moment
    return row


def build_team(engine: Engine, settings: Settings) -> dict[str, int]:
    upgrade(engine)
    ana = add_rep(engine, settings, "Ana", "sdr", team="East")
    ben = add_rep(engine, settings, "Ben", "sdr", team="West")
    rows = [
        # Friday before the change: 13:10 UTC is 09:10 EDT.
        at_utc(ana, dt.datetime(2026, 10, 30, 13, 10), dt.date(2026, 10, 30)),
        # Saturday evening: 23:30 UTC is 19:30 EDT, still Saturday in New York.
        at_utc(ana, dt.datetime(2026, 10, 31, 23, 30), dt.date(2026, 10, 31), kind="email"),
        # Sunday 01:30 local, twice: 05:30 UTC (EDT) and 06:30 UTC (EST).
        at_utc(ana, dt.datetime(2026, 11, 1, 5, 30), dt.date(2026, 11, 1), kind="email"),
        at_utc(ana, dt.datetime(2026, 11, 1, 6, 30), dt.date(2026, 11, 1), kind="email"),
        # Monday after: 14:20 UTC is 09:20 EST, 13:59 UTC is 08:59 EST.
        at_utc(ana, dt.datetime(2026, 11, 2, 14, 20), dt.date(2026, 11, 2), outcome="conversation"),
        at_utc(ana, dt.datetime(2026, 11, 2, 13, 59), dt.date(2026, 11, 2)),
        # Tuesday 03:30 UTC is still Monday 22:30 in New York.
        at_utc(ana, dt.datetime(2026, 11, 3, 3, 30), dt.date(2026, 11, 2), kind="admin", ask=False),
    ]
    # Wednesday 10:00-11:00 EST (15:xx UTC): 25 calls, 5 connect, 15 with an Ask, 2 engaged.
    wed_10 = dt.datetime(2026, 11, 4, 15, 5)
    rows += [at_utc(ana, wed_10, dt.date(2026, 11, 4), ask=i < 10) for i in range(20)]
    rows += [at_utc(ana, wed_10, dt.date(2026, 11, 4), outcome="conversation") for _ in range(3)]
    rows += [
        at_utc(ana, wed_10, dt.date(2026, 11, 4), outcome="meeting_set", engaged=True)
        for _ in range(2)
    ]
    # Thursday 14:00 EST: 19 calls, all connected: too few calls for a rate.
    thu_14 = dt.datetime(2026, 11, 5, 19, 0)
    rows += [at_utc(ana, thu_14, dt.date(2026, 11, 5), outcome="conversation") for _ in range(19)]
    # Ben (another team): Thursday 11:00 EST, one call.
    rows.append(at_utc(ben, dt.datetime(2026, 11, 5, 16, 0), dt.date(2026, 11, 5)))
    # An engaged email in September, before any window read here: e-mail engagement is
    # recorded, so Ana's emails are outreach attempts whose engagement is known.
    sep = dt.datetime(2026, 9, 1, 15, 0)
    rows.append(at_utc(ben, sep, sep.date(), kind="email", outcome="replied", engaged=True))
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
    return {"Ana": ana, "Ben": ben}


@pytest.fixture
def built(engine: Engine, settings: Settings) -> Engine:
    build_team(engine, settings)
    return engine


def window(settings: Settings, spec: str = "30d", as_of: dt.date = AS_OF) -> Any:
    return diagnosis_window(settings, spec, as_of)


def test_cells_in_local_time_across_the_dst_change(built: Engine, settings: Settings) -> None:
    result = when_to_sell(built, settings, window(settings), team="East")
    cells = {(c.weekday, c.hour): c for c in result.cells}
    assert sorted(cells) == [
        (MON, 8),
        (MON, 9),
        (MON, 22),
        (WED, 10),
        (THU, 14),
        (FRI, 9),
        (SAT, 19),
        (SUN, 1),
    ]
    assert cells[(FRI, 9)].activities == 1  # 13:10 UTC in EDT
    assert cells[(MON, 9)].activities == 1  # 14:20 UTC in EST: the same local hour
    assert cells[(MON, 8)].activities == 1
    assert cells[(SUN, 1)].activities == 2  # the hour that happens twice
    assert cells[(MON, 22)].activities == 1  # a UTC Tuesday that is a local Monday
    assert cells[(MON, 9)].calls == 1 and cells[(MON, 9)].conversations == 1
    assert cells[(SAT, 19)].calls == 0 and cells[(SAT, 19)].attempts == 1
    assert result.timezone == "America/New_York"


def test_rates_need_volume(built: Engine, settings: Settings) -> None:
    result = when_to_sell(built, settings, window(settings), rep="Ana")
    wed = result.cell(WED, 10)
    assert wed is not None
    assert (wed.activities, wed.calls, wed.conversations, wed.attempts, wed.engaged) == (
        25,
        25,
        5,
        25,  # every call is an outreach attempt, the 10 without an Ask too
        2,
    )
    assert wed.connect_rate == pytest.approx(5 / 25)
    assert wed.engagement_rate == pytest.approx(2 / 25)  # per attempt (15 selling: too few)
    thu = result.cell(THU, 14)
    assert thu is not None and thu.calls == 19 == MIN_RATE_VOLUME - 1
    assert thu.connect_rate is None  # 19 of 19 connected, but 19 calls prove little
    assert thu.attempts == 19 and thu.engagement_rate is None
    assert result.best == [wed]  # the only cell with enough calls
    assert result.calls == 25 + 19 + 3 and result.conversations == 5 + 19 + 1
    assert result.working_hours == list(range(1, 23))  # every hour from 01:00 to 22:00 has 1%+


def test_local_cells_add_utc_buckets() -> None:
    """Buckets (UTC hour, activities, calls, connected, selling, engaged) become local cells."""
    zone = ZoneInfo("America/New_York")
    buckets = [
        (dt.datetime(2026, 11, 2, 15, 0), 20, 20, 8, 0, 0),  # Mon 10:00 EST: 8 of 20
        (dt.datetime(2026, 11, 3, 15, 0), 100, 100, 33, 0, 0),  # Tue 10:00 EST: 33 of 100
        (dt.datetime(2026, 11, 4, 15, 0), 19, 19, 19, 0, 0),  # Wed: too few calls
    ]
    cells = local_cells(buckets, zone)
    assert [(c.weekday, c.hour, c.calls) for c in cells] == [
        (MON, 10, 20),
        (TUE, 10, 100),
        (WED, 10, 19),
    ]
    assert cells[0].connect_rate == pytest.approx(0.4) and cells[2].connect_rate is None


def test_best_hours_weigh_volume(sqlite_engine: Engine, settings: Settings) -> None:
    """A thin cell at 40% ranks below a thick one at 33%: the 95% interval's low end decides."""
    upgrade(sqlite_engine)
    ana = add_rep(sqlite_engine, settings, "Ana", "sdr", team="East")
    mon = dt.datetime(2026, 11, 2, 15, 0)  # 10:00 EST
    tue = dt.datetime(2026, 11, 3, 15, 0)
    rows = [
        at_utc(ana, mon, dt.date(2026, 11, 2), outcome="conversation" if i < 8 else "no_answer")
        for i in range(20)
    ]
    rows += [
        at_utc(ana, tue, dt.date(2026, 11, 3), outcome="conversation" if i < 33 else "no_answer")
        for i in range(100)
    ]
    with sqlite_engine.begin() as conn:
        conn.execute(insert(Activity), rows)
    result = when_to_sell(sqlite_engine, settings, window(settings))
    assert [(c.day_name, c.hour, c.connect_rate) for c in result.best] == [
        ("Tue", 10, pytest.approx(0.33)),
        ("Mon", 10, pytest.approx(0.40)),
    ]


def test_empty_window_and_errors(built: Engine, settings: Settings) -> None:
    result = when_to_sell(built, settings, window(settings, "week", dt.date(2026, 6, 30)))
    assert result.cells == [] and result.best == [] and result.working_hours == []
    other = when_to_sell(built, settings, window(settings), team="West")
    assert [(c.weekday, c.hour, c.calls) for c in other.cells] == [(THU, 11, 1)]
    with pytest.raises(UserInputError, match=r"^rep: no selling rep named 'Zed'"):
        when_to_sell(built, settings, window(settings), rep="Zed")


def test_cli_when(tmp_path: Any, settings: Settings) -> None:
    url = f"sqlite:///{tmp_path / 'team.db'}"
    build_team(make_engine(url), settings)
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(cli_app, ["--db", url, *args])

    base = ("--period", "30d", "--as-of", "2026-11-18")
    data = json.loads(run("when", "--rep", "Ana", *base, "--json").output)
    wed = next(c for c in data["cells"] if (c["weekday"], c["hour"]) == (WED, 10))
    assert wed["connect_rate"] == pytest.approx(0.2) and wed["day_name"] == "Wed"
    assert wed["attempts"] == 25 and wed["engagement_rate"] == pytest.approx(2 / 25)
    assert data["min_volume"] == MIN_RATE_VOLUME
    shown = run("when", "--team", "East", *base)
    assert shown.exit_code == 0, shown.output
    assert "20% / 25" in shown.output and "best hours to call: Wed 10:00 20% of 25" in shown.output
    assert "(8% engaged of 25 attempts)" in shown.output
    assert "per outreach attempt" in shown.output
    bad = run("when", "--period", "0d")
    assert bad.exit_code == 1 and "trailing days must be" in bad.output


@pytest.fixture
def site(built: Engine, settings: Settings) -> Iterator[Site]:
    users = {"root": ("admin", None), "ana": ("rep", "Ana"), "ben": ("rep", "Ben")}
    made = make_site(built, settings, users)
    with made.client:
        yield made


def test_when_api_and_page(site: Site) -> None:
    params = {"period": "30d", "as_of": "2026-11-18"}
    reply = site.api("root", "/when", team="East", **params)
    assert reply.status_code == 200, reply.text
    best = reply.json()["best"][0]
    assert best["connect_rate"] == pytest.approx(0.2)
    assert (best["attempts"], best["engaged"]) == (25, 2)
    assert best["engagement_rate"] == pytest.approx(0.08)
    mine = site.api("ben", "/when", **params)
    assert mine.status_code == 200 and mine.json()["rep"] == "Ben"
    assert site.api("ben", "/when", rep="Ana", **params).status_code == 403

    page = site.page("root", "/when", **params)
    assert page.status_code == 200
    assert 'data-figure="when-figure"' in page.text and '"type": "heatmap"' in page.text
    assert "Engaged / attempts" in page.text and '8% <span class="of">of 25</span>' in page.text
    assert "outreach attempts" in page.text  # the heatmap's hover
    assert site.page("ben", "/when", rep="Ana", **params).status_code == 403
    assert site.page("ben", "/when", team="East", **params).status_code == 403


def build_ask_on_connects_only(engine: Engine, settings: Settings) -> None:
    """A CRM that records an Ask only on calls that connected: unanswered dials carry none.

    Tue 09:00 EST (14:00 UTC), the dialing hour: 200 calls, 20 connected (with an Ask), 6 of
    those engaged (a meeting set), 180 unanswered without an Ask.
    Tue 14:00 EST (19:00 UTC), a quieter hour: 40 calls, 20 connected (with an Ask), 6 engaged,
    20 unanswered without an Ask; 10 emails without an Ask; 5 admin tasks (not outreach).
    Per selling activity (Ask-qualified) both hours read 6 / 20 = 30% engaged. Per outreach
    attempt (any selling kind, Ask or not): 6 / 200 = 3% and 6 / (40 + 10) = 12%.
    """
    upgrade(engine)
    ana = add_rep(engine, settings, "Ana", "sdr", team="East")
    day = dt.date(2026, 11, 3)

    def hour_of_calls(at: dt.datetime, calls: int, connected: int, engaged: int) -> list[Any]:
        rows = [at_utc(ana, at, day, outcome="meeting_set", engaged=True) for _ in range(engaged)]
        rows += [at_utc(ana, at, day, outcome="conversation") for _ in range(connected - engaged)]
        rows += [
            at_utc(ana, at, day, outcome="no_answer", ask=False) for _ in range(calls - connected)
        ]
        return rows

    dialing, quiet = dt.datetime(2026, 11, 3, 14, 5), dt.datetime(2026, 11, 3, 19, 5)
    rows = hour_of_calls(dialing, 200, 20, 6) + hour_of_calls(quiet, 40, 20, 6)
    rows += [at_utc(ana, quiet, day, kind="email", outcome=None, ask=False) for _ in range(10)]
    rows += [at_utc(ana, quiet, day, kind="admin", outcome=None, ask=False) for _ in range(5)]
    # One engaged email in September (before the window): e-mail engagement is recorded, so
    # the emails above are attempts whose engagement is known (none engaged), not unknown.
    sep = dt.datetime(2026, 9, 1, 15, 0)
    rows.append(at_utc(ana, sep, sep.date(), kind="email", outcome="replied", engaged=True))
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)


def test_engagement_is_per_outreach_attempt(engine: Engine, settings: Settings) -> None:
    """Unanswered dials without an Ask still count in the engagement rate's denominator."""
    build_ask_on_connects_only(engine, settings)
    result = when_to_sell(engine, settings, window(settings), rep="Ana")
    dialing, quiet = result.cell(TUE, 9), result.cell(TUE, 14)
    assert dialing is not None and quiet is not None
    assert (dialing.activities, dialing.calls, dialing.attempts, dialing.engaged) == (
        200,
        200,
        200,
        6,
    )
    assert dialing.engagement_rate == pytest.approx(6 / 200)  # 3%, not 6 / 20 = 30%
    assert dialing.connect_rate == pytest.approx(20 / 200)
    assert (quiet.activities, quiet.calls, quiet.attempts, quiet.engaged) == (55, 40, 50, 6)
    assert quiet.engagement_rate == pytest.approx(6 / 50)  # 12%: emails are attempts, admin not
    assert quiet.connect_rate == pytest.approx(20 / 40)  # connect rate stays per call
    assert result.attempts == 250 and result.engaged == 12


def build_dates_without_times(engine: Engine, settings: Settings) -> None:
    """Activities a CRM exported with a date alone (a task's due date, Salesforce's
    ActivityDate), which an import stores at local midnight, beside timed calls.

    Monday 2026-11-02 (EST, UTC-5): 30 dated-only calls at 05:00 UTC (00:00 local) and one
    real call at 05:00:30 UTC (00:00:30 local, seconds set: a real time).
    Friday 2026-10-30 (EDT, UTC-4): 4 dated-only emails at 04:00 UTC (00:00 local), and one
    call at 05:00 UTC: a whole hour in UTC, but 01:00 local, a real time.
    Tuesday 2026-11-03 10:00 EST (15:00 UTC): 25 calls, 5 connected.
    """
    upgrade(engine)
    ana = add_rep(engine, settings, "Ana", "sdr", team="East")
    mon, fri, tue = dt.date(2026, 11, 2), dt.date(2026, 10, 30), dt.date(2026, 11, 3)
    rows = [at_utc(ana, dt.datetime(2026, 11, 2, 5, 0), mon) for _ in range(30)]
    rows.append(at_utc(ana, dt.datetime(2026, 11, 2, 5, 0, 30), mon))
    rows += [at_utc(ana, dt.datetime(2026, 10, 30, 4, 0), fri, kind="email") for _ in range(4)]
    rows.append(at_utc(ana, dt.datetime(2026, 10, 30, 5, 0), fri))
    rows += [
        at_utc(ana, dt.datetime(2026, 11, 3, 15, 0), tue, outcome="conversation" if i < 5 else None)
        for i in range(25)
    ]
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)


def test_a_date_without_a_time_is_in_no_hour(engine: Engine, settings: Settings) -> None:
    """A date alone is stored at local midnight; counted there, 30 due-dated tasks made
    "Mon 00:00" the busiest calling hour (and, with enough of them, a "best hour to call").
    They are counted apart, as activities with no time of day."""
    build_dates_without_times(engine, settings)
    result = when_to_sell(engine, settings, window(settings), rep="Ana")
    cells = {(c.weekday, c.hour): c.activities for c in result.cells}
    assert cells == {(MON, 0): 1, (FRI, 1): 1, (TUE, 10): 25}
    assert result.untimed == 34
    assert [(c.day_name, c.hour) for c in result.best] == [("Tue", 10)]
    assert result.working_hours == list(range(0, 11))


def test_cli_when_says_how_many_have_no_time(tmp_path: Any, settings: Settings) -> None:
    url = f"sqlite:///{tmp_path / 'team.db'}"
    build_dates_without_times(make_engine(url), settings)
    args = ["--db", url, "when", "--period", "30d", "--as-of", "2026-11-18"]
    shown = CliRunner().invoke(cli_app, args)
    assert shown.exit_code == 0, shown.output
    assert "34 activities at exactly midnight have a date but no time of day" in shown.output
    data = json.loads(CliRunner().invoke(cli_app, [*args, "--json"]).output)
    assert data["untimed"] == 34


def test_untimed_buckets_follow_the_zone_offset() -> None:
    """Local midnight is a whole UTC hour in New York, but :30 past in India (UTC+05:30)."""
    kolkata, new_york = ZoneInfo("Asia/Kolkata"), ZoneInfo("America/New_York")
    rows = [
        (dt.datetime(2026, 11, 1, 18, 0), 30, 2, 2, 0, 0, 0),  # 00:00 IST: no time
        (dt.datetime(2026, 11, 1, 18, 0), 0, 3, 3, 1, 3, 0),  # 23:30 IST: a time
        (dt.datetime(2026, 11, 1, 18, 0), None, 4, 4, 0, 4, 1),  # 23:xx IST, not whole
    ]
    buckets, untimed = split_untimed(rows, kolkata)
    assert untimed == 2
    assert buckets == [
        (dt.datetime(2026, 11, 1, 18, 0), 3, 3, 1, 3, 0),
        (dt.datetime(2026, 11, 1, 18, 0), 4, 4, 0, 4, 1),
    ]
    assert midnight_minutes(new_york, dt.date(2026, 10, 1), dt.date(2026, 12, 1)) == [0]
    assert midnight_minutes(kolkata, dt.date(2026, 10, 1), dt.date(2026, 12, 1)) == [30]


def test_when_page_and_api_say_how_many_have_no_time(engine: Engine, settings: Settings) -> None:
    build_dates_without_times(engine, settings)
    made = make_site(engine, settings, {"root": ("admin", None)})
    params = {"period": "30d", "as_of": "2026-11-18"}
    with made.client:
        assert made.api("root", "/when", rep="Ana", **params).json()["untimed"] == 34
        page = made.page("root", "/when", rep="Ana", **params)
    assert page.status_code == 200
    assert "34 activities at exactly midnight have a date but no time of day" in page.text


def test_no_hour_is_best_where_no_call_is_recorded_connected(
    engine: Engine, settings: Settings
) -> None:
    """An export without call results (the Zoho export): 30 calls at 10:00 on Monday and 25 at
    10:00 on Tuesday, none with an outcome, and no connected call anywhere before. Every
    hour's connect rate is unknown (not 0%) and no hour is best. One connected call by Bo in
    September (before the window) shows outcomes are recorded: Ana's hours read 0%."""
    upgrade(engine)
    ana = add_rep(engine, settings, "Ana", "sdr", team="East")
    bo = add_rep(engine, settings, "Bo", "sdr", team="West")
    mon, tue = dt.datetime(2026, 11, 2, 15, 0), dt.datetime(2026, 11, 3, 15, 0)  # 10:00 EST
    rows = [at_utc(ana, mon, dt.date(2026, 11, 2), outcome=None) for _ in range(30)]
    rows += [at_utc(ana, tue, dt.date(2026, 11, 3), outcome=None) for _ in range(25)]
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
    result = when_to_sell(engine, settings, window(settings), rep="Ana")
    assert (result.calls, result.conversations, result.connects_recorded) == (55, 0, False)
    assert [c.connect_rate for c in result.cells] == [None, None] and result.best == []
    sep = dt.datetime(2026, 9, 1, 15, 0)
    with engine.begin() as conn:
        conn.execute(insert(Activity), [at_utc(bo, sep, sep.date(), outcome="conversation")])
    result = when_to_sell(engine, settings, window(settings), rep="Ana")
    assert result.connects_recorded
    assert sorted((c.day_name, c.connect_rate) for c in result.best) == [
        ("Mon", 0.0),
        ("Tue", 0.0),
    ]


def test_a_window_without_connects_probes_the_rollup_not_the_activities(
    engine: Engine, settings: Settings
) -> None:
    """Ana's 20 unanswered calls on Mon Nov 2 (10:00 EST), Bo's one connected call in
    September. The window has no connected call, so the analysis asks whether anyone ever
    had one: under the default configuration `conversations` counts exactly the connected
    calls, so the answer is the first `metric_day` row (LIMIT 1). Before, the activities
    were searched for a connected call, every one of them read in an export with none."""
    upgrade(engine)
    ana = add_rep(engine, settings, "Ana", "sdr", team="East")
    bo = add_rep(engine, settings, "Bo", "sdr", team="West")
    mon, sep = dt.datetime(2026, 11, 2, 15, 0), dt.datetime(2026, 9, 1, 15, 0)
    rows = [at_utc(ana, mon, mon.date()) for _ in range(20)]
    rows.append(at_utc(bo, sep, sep.date(), outcome="conversation"))
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
    when_to_sell(engine, settings, window(settings), rep="Ana")  # the rollups, brought up
    with recorded_statements(engine) as statements:
        result = when_to_sell(engine, settings, window(settings), rep="Ana")
    assert result.connects_recorded and [c.connect_rate for c in result.cells] == [0.0]
    probes = [s for s in statements if "LIMIT" in s.upper() and "outcome IN" in s]
    assert [s for s in probes if "FROM activity" in s] == []
    assert any("FROM metric_day" in s and "LIMIT" in s.upper() for s in statements)


def build_calls_beside_meetings(engine: Engine, settings: Settings) -> dict[str, int]:
    """An export without call results beside meetings recorded as held (the Zoho export).

    Ana, Monday 2026-11-02 10:00 EST (15:00 UTC): 30 calls with no outcome, never engaged,
    and 25 meetings, 10 of them engaged. Nobody has an engaged call before the window's end.
    Engagement in that hour is 10 of the 25 meetings = 40%; read with the calls as
    unengaged attempts it was 10 / 55 = 18%, and an hour of calls alone read 0%.
    Wednesday 2026-11-04 10:00 EST: 20 calls alone (no meeting): no engagement to measure.
    """
    upgrade(engine)
    ana = add_rep(engine, settings, "Ana", "sdr", team="East")
    bo = add_rep(engine, settings, "Bo", "sdr", team="West")
    mon, wed = dt.datetime(2026, 11, 2, 15, 0), dt.datetime(2026, 11, 4, 15, 0)
    rows = [at_utc(ana, mon, mon.date(), outcome=None) for _ in range(30)]
    rows += [
        at_utc(ana, mon, mon.date(), kind="meeting", outcome=None, engaged=i < 10)
        for i in range(25)
    ]
    rows += [at_utc(ana, wed, wed.date(), outcome=None) for _ in range(20)]
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)
    return {"Ana": ana, "Bo": bo}


def add_engaged_call(engine: Engine, rep_id: int, moment: dt.datetime) -> None:
    with engine.begin() as conn:
        row = at_utc(rep_id, moment, moment.date(), outcome="meeting_set", engaged=True)
        conn.execute(insert(Activity), [row])


@pytest.mark.parametrize("raw", [False, True], ids=["aggregates", "raw"])
def test_engagement_leaves_out_kinds_whose_engagement_is_not_recorded(
    engine: Engine, settings: Settings, raw: bool
) -> None:
    reps = build_calls_beside_meetings(engine, settings)
    reads = aggregates.raw_reads() if raw else contextlib.nullcontext()
    with reads:
        result = when_to_sell(engine, settings, window(settings), rep="Ana")
        monday, wednesday = result.cell(MON, 10), result.cell(WED, 10)
        assert monday is not None and wednesday is not None
        assert (monday.activities, monday.calls, monday.attempts, monday.engaged) == (
            55,
            30,
            25,
            10,
        )
        assert monday.engagement_rate == pytest.approx(10 / 25)  # not 10 / 55
        assert (wednesday.attempts, wednesday.engagement_rate) == (0, None)  # not 0%
        assert result.engagement_not_recorded == ["call"]
        assert (result.attempts, result.engaged) == (25, 10)
        # An engaged call after the window's end does not make the window's calls measured.
        add_engaged_call(engine, reps["Bo"], dt.datetime(2026, 11, 20, 15, 0))
        later = when_to_sell(engine, settings, window(settings), rep="Ana")
        assert later.engagement_not_recorded == ["call"]
        # Bo's engaged call in September does: calls are attempts again, Ana's unengaged.
        add_engaged_call(engine, reps["Bo"], dt.datetime(2026, 9, 1, 15, 0))
        known = when_to_sell(engine, settings, window(settings), rep="Ana")
    cells = {(c.weekday, c.hour): c for c in known.cells}
    assert known.engagement_not_recorded == []
    assert (cells[(MON, 10)].attempts, cells[(MON, 10)].engagement_rate) == (55, 10 / 55)
    assert cells[(WED, 10)].engagement_rate == 0.0


def test_when_faces_say_engagement_is_not_recorded(
    engine: Engine, settings: Settings, tmp_path: Any
) -> None:
    build_calls_beside_meetings(engine, settings)
    made = make_site(engine, settings, {"root": ("admin", None)})
    params = {"period": "30d", "as_of": "2026-11-18"}
    with made.client:
        data = made.api("root", "/when", rep="Ana", **params).json()
        page = made.page("root", "/when", rep="Ana", **params)
    assert data["engagement_not_recorded"] == ["call"]
    monday = next(c for c in data["cells"] if (c["weekday"], c["hour"]) == (MON, 10))
    assert (monday["attempts"], monday["engagement_rate"]) == (25, pytest.approx(0.4))
    assert page.status_code == 200
    assert 'data-testid="when-engagement-not-recorded"' in page.text
    assert "Engagement not recorded for Phone call: no activity of that kind" in page.text
    url = f"sqlite:///{tmp_path / 'zoho.db'}"
    build_calls_beside_meetings(make_engine(url), settings)
    shown = CliRunner().invoke(
        cli_app, ["--db", url, "when", "--rep", "Ana", "--period", "30d", "--as-of", "2026-11-18"]
    )
    assert shown.exit_code == 0, shown.output
    assert "Engagement not recorded for call" in " ".join(shown.output.split())


@pytest.mark.parametrize("read", ["aggregates", "raw"])
def test_calls_filtered_on_the_contact_count_only_those_calls(
    engine: Engine, settings: Settings, read: str
) -> None:
    """Before, the contact filter's `contact` table was added to the query without a join
    (every activity once per contact): the hour read 12 activities, 6 calls, 3 connects."""
    custom = decision_maker_calls(settings)
    build_calls_to_two_contacts(engine, custom)
    reads = aggregates.raw_reads() if read == "raw" else contextlib.nullcontext()
    with reads:
        wed = when_to_sell(engine, custom, window(custom), rep="Ana").cell(WED, 10)
    assert wed is not None
    assert (wed.activities, wed.calls, wed.conversations) == (6, 3, 1)


def test_calls_follow_a_contact_who_becomes_a_decision_maker(
    engine: Engine, settings: Settings
) -> None:
    """Sam made a decision maker after the first read: his two connected calls count now
    (5 calls, 3 connects), the rep-days of his calls rebuilt in `hour_day`."""
    custom = decision_maker_calls(settings)
    ids = build_calls_to_two_contacts(engine, custom)
    when_to_sell(engine, custom, window(custom), rep="Ana")
    with engine.begin() as conn:
        conn.execute(update(Contact).where(Contact.id == ids["Sam"]).values(is_decision_maker=True))
    wed = when_to_sell(engine, custom, window(custom), rep="Ana").cell(WED, 10)
    assert wed is not None and (wed.calls, wed.conversations) == (5, 3)


def test_the_default_calls_read_hour_day_without_the_contacts(
    engine: Engine, settings: Settings
) -> None:
    """The default calls metric has no contact filter: the hours come from `hour_day`, and
    no statement reads `contact` (no join added where none is needed)."""
    build_calls_to_two_contacts(engine, settings)
    when_to_sell(engine, settings, window(settings), rep="Ana")  # the rollups, brought up
    with recorded_statements(engine) as statements:
        wed = when_to_sell(engine, settings, window(settings), rep="Ana").cell(WED, 10)
    assert wed is not None and (wed.calls, wed.conversations) == (6, 3)
    assert any("FROM hour_day" in s for s in statements)
    assert [s for s in statements if "contact" in s and "FROM activity" in s] == []


def test_calls_that_are_not_activities_are_refused(engine: Engine, settings: Settings) -> None:
    """A `calls` metric of deals has no activity filter for the hours to count: before, every
    activity of the hour counted as a call (6 calls, 3 connects here)."""
    deals = {"name": "calls", "source": "deals", "kinds": None, "date": "created_at"}
    custom = variant(settings, [deals])
    build_calls_to_two_contacts(engine, settings)
    with pytest.raises(UserInputError, match=r"metrics\.calls: .*source = 'deals'"):
        when_to_sell(engine, custom, window(custom), rep="Ana")
