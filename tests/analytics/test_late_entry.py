"""Deals whose dates do not say when they were in the pipeline, read by one rule
(`late_entry`) in the pipeline flow and the forecast.

A deal entered in the CRM a day or more after it closed (a migration, a win logged late) was
never open pipeline as recorded: the flow counts it neither in nor out, the forecast not as
created; until 2026-12-07 the flow counted it in and out at its close (a win logged four days
late was an opportunity "in" that week) while the forecast did not count it as created. A
closed deal without a close date is in no curve of the forecast, so not in its run rate
either (it was). Hand-built (`factories.build_late_entries_in_flow_weeks`,
`factories.build_migration_in_the_run_window`); business zone America/New_York.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from factories import (
    at,
    build_late_entries_in_flow_weeks,
    build_migration_in_a_month,
    build_migration_in_the_run_window,
    east_and_west,
    login,
    made_app,
    put_deal,
    quick_user,
)
from paceline.analytics.flow import CountValue, FlowReport, pipeline_flow
from paceline.analytics.forecast import forecast, prepare
from paceline.analytics.funnel import funnel
from paceline.analytics.late_entry import (
    entered_after_close,
    entered_after_close_sql,
    not_entered_after_close,
)
from paceline.analytics.leaderboard import leaderboard
from paceline.analytics.metrics import metric_totals
from paceline.analytics.pipeline_history import ForecastScope, deals_created
from paceline.analytics.report import team_report
from paceline.analytics.stalled import stalled_deals
from paceline.analytics.window import diagnosis_window
from paceline.calendar import BusinessCalendar
from paceline.cli import app as cli_app
from paceline.config import Settings
from paceline.describe import entered_late_text, history_text
from paceline.reports.render import report_html, report_text
from paceline.store.models import Deal

AS_OF = dt.date(2026, 11, 18)
NY = ZoneInfo("America/New_York")
JUNE_30 = dt.date(2026, 6, 30)


def cv(count: int, value: float) -> CountValue:
    return CountValue(count, value)


def flow_of(engine: Engine, settings: Settings, **scope: str) -> FlowReport:
    return pipeline_flow(engine, settings, diagnosis_window(settings, "14d", AS_OF), **scope)


def test_the_rule_is_a_day_or_more() -> None:
    """A close date is the business day's midnight: 4 days before the creation is a late
    entry; the creation day's midnight, 12 hours before a creation at 17:00 UTC, is not. A
    close at a time a day before the creation, to the microsecond, is."""
    assert entered_after_close(at(11, 10), at(11, 6, hour=5), NY)
    assert not entered_after_close(at(11, 16), at(11, 16, hour=5), NY)
    assert not entered_after_close(at(11, 16), None, NY)
    assert entered_after_close(at(11, 16), at(11, 15, hour=17), NY)  # exactly a day
    assert not entered_after_close(
        at(11, 16), at(11, 15, hour=17) + dt.timedelta(microseconds=1), NY
    )


def test_a_close_date_has_its_whole_day_before_the_grace() -> None:
    """A win dated Nov 10 (no time: New York's midnight, 05:00 UTC) may have closed at any
    hour that day, so its day of grace runs from the day's end: logged the next morning at
    9 am (33 hours after the midnight; late until 2026-12-08) or at 23:59:59.999999 that
    evening, it is not late; from Nov 12 00:00 local (two days after the midnight) it is.
    The same close at 5:01 am (a time) logged the next morning is late, as before."""
    dated = at(11, 10, hour=5)
    assert not entered_after_close(at(11, 11, hour=14), dated, NY)
    assert not entered_after_close(at(11, 12, hour=5) - dt.timedelta(microseconds=1), dated, NY)
    assert entered_after_close(at(11, 12, hour=5), dated, NY)
    assert entered_after_close(at(11, 11, hour=14), dated + dt.timedelta(minutes=1), NY)


def test_the_flow_counts_no_late_entry_in_or_out(engine: Engine, settings: Settings) -> None:
    """By hand, per week (count / value):
        in: W45 Won on time 1 / 20,000; W46 Open 1 / 10,000; W47 Same day 1 / 2,000
        (before: W45 3 / 30,000 with Logged late and Old win, W46 3 / 15,000 with Old loss
        and After as-of);
        won: W46 Won on time, W47 Same day (before: W45 2 / 10,000, W46 2 / 24,000);
        lost: none (before: W46 Old loss);
        entered late: W45 Logged late and Old win, 2 / 10,000; W46 Old loss, 1 / 1,000;
        After as-of was entered after the as-of day and is not read;
        open at week end: 1 / 20,000, 1 / 10,000, 1 / 10,000, each the last plus the net.
    The late wins are revenue all the same: 10,000 won in Q4 by W45's end, then Won on time
    (30,000), then Same day (32,000); After as-of, entered after the as-of day, is not
    (it read 34,000 and 36,000 before 2026-12-07)."""
    build_late_entries_in_flow_weeks(engine, settings)
    report = flow_of(engine, settings, team="East")
    assert [w.created for w in report.weeks] == [cv(1, 20_000), cv(1, 10_000), cv(1, 2_000)]
    assert [w.won for w in report.weeks] == [cv(0, 0), cv(1, 20_000), cv(1, 2_000)]
    assert report.lost == cv(0, 0)
    assert [w.entered_late for w in report.weeks] == [cv(2, 10_000), cv(1, 1_000), cv(0, 0)]
    assert [w.open_pipeline for w in report.weeks] == [
        cv(1, 20_000),
        cv(1, 10_000),
        cv(1, 10_000),
    ]
    assert [w.net for w in report.weeks] == [cv(1, 20_000), cv(0, -10_000), cv(0, 0)]
    assert [w.won_in_quarter for w in report.weeks] == [10_000, 30_000, 32_000]
    assert entered_late_text(report) == (
        "3 deals closed in these weeks (11k) were entered in the CRM a day or more after "
        "closing: never open pipeline as recorded, so neither in nor out (a win is still "
        "revenue won)."
    )


def test_the_flow_and_the_forecast_count_the_same_deals_created(
    engine: Engine, settings: Settings
) -> None:
    """Over the flow's weeks (Nov 2 05:00 UTC to Nov 19 05:00 UTC), the deals created are
    Won on time, Open and Same day: 3, in the flow as in the forecast's count (the flow read
    7, the forecast 3)."""
    build_late_entries_in_flow_weeks(engine, settings)
    report = flow_of(engine, settings)
    with engine.connect() as conn:
        counted = deals_created(
            conn,
            ForecastScope(None, None, None),
            dt.datetime(2026, 11, 2, 5),
            dt.datetime(2026, 11, 19, 5),
        )
    assert report.created.count == counted == 3


def test_the_flow_cli_says_where_the_late_entries_went(
    sqlite_engine: Engine, settings: Settings
) -> None:
    url = str(sqlite_engine.url)
    build_late_entries_in_flow_weeks(sqlite_engine, settings)
    shown = CliRunner().invoke(
        cli_app, ["--db", url, "flow", "--period", "14d", "--as-of", AS_OF.isoformat()]
    )
    assert shown.exit_code == 0, shown.output
    words = " ".join(shown.output.split())
    assert "3 deals closed in these weeks (11k) were entered in the CRM a day or more" in words


def test_the_flow_page_and_api_say_it(sqlite_engine: Engine, settings: Settings) -> None:
    """The page says the sentence under the table; the API gives each week's `entered_late`
    (W45: Logged late and Old win, 2 / 10,000)."""
    build_late_entries_in_flow_weeks(sqlite_engine, settings)
    quick_user(sqlite_engine, "root", "admin")
    asked = {"period": "14d", "as_of": AS_OF.isoformat()}
    with TestClient(made_app(settings, sqlite_engine)) as client:
        login(client, sqlite_engine, "root")
        page = client.get("/flow", params=asked)
        body = client.get("/api/v1/flow", params=asked).json()
    assert page.status_code == 200
    assert "3 deals closed in these weeks (11k) were entered in the CRM" in page.text
    assert body["weeks"][0]["entered_late"] == {"count": 2, "value": 10_000, "without_amount": 0}


def test_the_team_report_says_it(sqlite_engine: Engine, settings: Settings) -> None:
    """The team report's flow (the eight weeks to Nov 18) holds the same three late
    entries, said under its table in the text and the HTML."""
    build_late_entries_in_flow_weeks(sqlite_engine, settings)
    report = team_report(sqlite_engine, settings, "East", AS_OF)
    said = "3 deals closed in these weeks (11k) were entered in the CRM a day or more"
    assert said in " ".join(report_text(settings, report).split())
    assert said in report_html(settings, report, charts_too=False)


def test_a_closed_deal_without_a_close_date_is_not_in_the_run_rate(
    engine: Engine, settings: Settings
) -> None:
    """The run window's deals created (from 2026-04-02, 63 business days) are Won A, Lost B
    and Open C, plus "No date", won with no close date, created 2026-05-11: no curve can place
    its close (the snapshot leaves it out), so the run rate is 3 / 63 and its estimation error
    rests on 3 deals, 1/3 (before: 4 / 63 and 1/4, the rate counting a deal the curves and the
    conversion never see). It is said: 1 deal closed without a close date."""
    cy = build_migration_in_the_run_window(engine, settings)
    put_deal(engine, cy, "No date", 800, at(5, 11), status="won", stage="closed_won")
    scope = ForecastScope(None, None, None)
    calendar = BusinessCalendar(settings.calendar)
    with engine.connect() as conn:
        inputs = prepare(conn, settings, scope, JUNE_30, calendar.period("quarter", JUNE_30),
                         use_plan=True)  # fmt: skip
    assert inputs.new_deals.opportunity_run_rate == pytest.approx(3 / 63)
    assert inputs.uncertainty.creation == pytest.approx(1 / 3)
    assert inputs.closed_without_date == 1
    result = forecast(engine, settings, "quarter", JUNE_30, runs=500, seed=1)
    assert result.closed_without_date == 1
    assert history_text(result).endswith(
        "; 1 deal closed without a close date is in no curve and not counted as created."
    )


def test_a_deal_entered_after_it_closed_sets_no_stalled_norm(
    engine: Engine, settings: Settings
) -> None:
    """As of Nov 18, Ana's "Normal" stayed in proposal 20 days (Oct 1 to Oct 21, won);
    "Migrated", won on Sep 1, was entered on Nov 17 with its stages replayed that day
    (proposal 17:00, closed_won 17:05: a 5-minute stay it never had); "Open" is in proposal
    since Nov 2. The proposal norm rests on Normal's stay alone: 1 sample (it read 2, the
    replayed minutes among them, as the forecast's stage curves never did)."""
    ana = east_and_west(engine, settings)["Ana"]
    path = [("proposal", at(10, 1)), ("closed_won", at(10, 21))]
    put_deal(engine, ana, "Normal", 1_000, at(10, 1), status="won", stage="closed_won",
             closed=at(10, 21), history=path)  # fmt: skip
    replayed = [("proposal", at(11, 17)), ("closed_won", dt.datetime(2026, 11, 17, 17, 5))]
    put_deal(engine, ana, "Migrated", 2_000, at(11, 17), status="won", stage="closed_won",
             closed=at(9, 1, hour=4), history=replayed)  # fmt: skip
    put_deal(engine, ana, "Open", 500, at(11, 2), stage="proposal",
             history=[("proposal", at(11, 2))])  # fmt: skip
    report = stalled_deals(engine, settings, AS_OF, team="East")
    assert {n.stage: n.samples for n in report.stages} == {"proposal": 1}


# --- the deal metrics dated by creation (`metric_sql.deal_filter`) ---------------------------

NOVEMBER = (dt.date(2026, 11, 1), dt.date(2026, 12, 1))
LATE = {"Old win", "Old loss", "Older win", "Ben old 1", "Ben old 2", "Exactly a day"}


def test_the_sql_rule_is_the_python_rule(engine: Engine, settings: Settings) -> None:
    """On both databases, the SQL form finds the planted late entries, to the microsecond
    ("Exactly a day" is one, "Just under" is not), and agrees with `entered_after_close` on
    every deal; its complement keeps the rest, the deal without a close date included."""
    build_migration_in_a_month(engine, settings)
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                Deal.name,
                Deal.created_at,
                Deal.closed_at,
                entered_after_close_sql(NY),
                not_entered_after_close(NY),
            )
        ).all()
    assert {name for name, *_, late, _ in rows if late} == LATE
    assert {name for name, *_, kept in rows if kept} == {r[0] for r in rows} - LATE
    for name, created, closed, late, _ in rows:
        assert bool(late) == entered_after_close(created, closed, NY), name


def test_the_sql_rule_gives_a_close_date_its_day(engine: Engine, settings: Settings) -> None:
    """On both databases, as in Python (`test_a_close_date_has_its_whole_day_before_the_
    grace`): wins dated Nov 10 and logged Nov 11 9 am, or Nov 11 23:59:59.999999 local, are
    not late; logged Nov 12 00:00 local, or closed at 5:01 am and logged the next morning,
    they are. In summer (New York midnight 04:00 UTC) a win dated Jul 1 logged Jul 2 9 am is
    not late either; in March, a date before the change of offset (Mar 7, 05:00 UTC) logged
    Mar 8 at 9 pm (01:00 UTC Mar 9, after the change) is not."""
    ana = east_and_west(engine, settings)["Ana"]
    dated = at(11, 10, hour=5)
    cases = {
        "Next morning": (at(11, 11, hour=14), dated, False),
        "Next midnight less 1 us": (
            at(11, 12, hour=5) - dt.timedelta(microseconds=1),
            dated,
            False,
        ),
        "Two days": (at(11, 12, hour=5), dated, True),
        "Timed close": (at(11, 11, hour=14), dated + dt.timedelta(minutes=1), True),
        "Summer": (at(7, 2, hour=13), at(7, 1, hour=4), False),
        "Over the change": (at(3, 9, hour=1), at(3, 7, hour=5), False),
    }
    for name, (created, closed, _) in cases.items():
        put_deal(engine, ana, name, 1_000, created, status="won", stage="closed_won", closed=closed)
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                Deal.name,
                Deal.created_at,
                Deal.closed_at,
                entered_after_close_sql(NY),
                not_entered_after_close(NY),
            )
        ).all()
    for name, created, closed, late, kept in rows:
        assert bool(late) == cases[name][2] == entered_after_close(created, closed, NY), name
        assert bool(kept) != bool(late), name


def test_a_migration_is_no_opportunities_created_or_sourced(
    engine: Engine, settings: Settings
) -> None:
    """November's opportunities created, by hand (`build_migration_in_a_month`): Ana 5, Ben
    none; sourced: Sid 5 (read by creation alone: Ana 9, Ben 2, Sid 11). Deals won, dated by
    their close, still count the migrated wins closed in November (Old win, with New won and
    Same day: Ana 3); the late wins closed before are outside the month anyway."""
    ids = build_migration_in_a_month(engine, settings)
    names = ["opportunities_created", "opportunities_sourced", "deals_won"]
    with engine.connect() as conn:
        totals = metric_totals(conn, settings, names, *NOVEMBER).values
    assert totals[ids["Ana"]]["opportunities_created"] == 5
    assert totals.get(ids["Ben"], {}).get("opportunities_created", 0) == 0
    assert totals[ids["Sid"]]["opportunities_sourced"] == 5
    assert totals[ids["Ana"]]["deals_won"] == 3
    board = leaderboard(engine, settings, "opportunities_created", "month", AS_OF, role="ae")
    assert {r.rep: r.value for r in board.rows if r.value} == {"Ana": 5}


def test_a_deal_creation_step_of_the_funnel_leaves_out_a_migration(
    engine: Engine, settings: Settings
) -> None:
    """Ana's funnel from Nov 1 to the as-of day (the 18th) with the step opportunities
    created: New open, New won, Same day, Just under and No date, 5 (9 before)."""
    build_migration_in_a_month(engine, settings)
    window = diagnosis_window(settings, "month", AS_OF)
    found = funnel(engine, settings, window, rep="Ana", steps=["opportunities_created"])
    assert [s.count for s in found.steps] == [5]


def test_a_win_dated_yesterday_and_logged_this_morning_is_an_opportunity_created(
    engine: Engine, settings: Settings
) -> None:
    """Ana's win dated Nov 10 (no time), entered Nov 11 at 9 am: an opportunity created on
    Nov 11, not a migration (it read 0 until 2026-12-08); one dated Nov 9 and entered Nov 11
    at 9 am, two days on, is still left out."""
    ana = east_and_west(engine, settings)["Ana"]
    for name, closed in (("Next morning", at(11, 10, hour=5)), ("Two days on", at(11, 9, hour=5))):
        put_deal(engine, ana, name, 1_000, at(11, 11, hour=14), status="won",
                 stage="closed_won", closed=closed)  # fmt: skip
    with engine.connect() as conn:
        totals = metric_totals(conn, settings, ["opportunities_created"], *NOVEMBER).values
    assert totals[ana]["opportunities_created"] == 1
