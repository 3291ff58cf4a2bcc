"""The activity summary with durations not recorded: activities without a duration are in
neither side of the selling share of time, and the faces say so (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import Engine, insert
from typer.testing import CliRunner

from factories import AS_OF, activity_row
from paceline.analytics.activity_summary import activity_summary
from paceline.cli import app as cli_app
from paceline.config import Settings
from paceline.services.reps import add_rep, edit_rep
from paceline.store.engine import make_engine
from paceline.store.migrate import upgrade
from paceline.store.models import Activity

TUESDAY = dt.date(2026, 11, 17)  # in the week of AS_OF (Wednesday 2026-11-18)


def build_durations_not_recorded(engine: Engine, settings: Settings) -> None:
    """Ana: 2 calls of 10 minutes with an Ask (selling), 1 admin task of 5 minutes and 3
    meetings without a duration or an Ask (Zoho's events): 20 selling of 25 logged minutes
    = 80%, 3 activities without a duration. Bo: 3 calls without a duration: no minute, no
    share. Cy, a rep who logged nothing this week: zeros."""
    upgrade(engine)
    ana = add_rep(engine, settings, "Ana", "sdr", team="East")
    bo = add_rep(engine, settings, "Bo", "sdr", team="East")
    add_rep(engine, settings, "Cy", "sdr", team="East")
    rows = [activity_row(ana, TUESDAY, minutes=10.0) for _ in range(2)]
    rows.append(activity_row(ana, TUESDAY, kind="admin", ask=False, minutes=5.0))
    rows += [
        activity_row(ana, TUESDAY, kind="meeting", outcome="held", ask=False, engaged=True)
        for _ in range(3)
    ]
    rows += [activity_row(bo, TUESDAY) for _ in range(3)]
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)


def test_activities_without_a_duration_are_counted_apart(
    engine: Engine, settings: Settings
) -> None:
    build_durations_not_recorded(engine, settings)
    result = activity_summary(engine, settings, "week", AS_OF)
    reps = {r.rep: r for r in result.reps}
    ana, bo, cy = reps["Ana"], reps["Bo"], reps["Cy"]
    assert (ana.activities, ana.selling, ana.engaged) == (6, 2, 3)
    assert (ana.logged_minutes, ana.selling_minutes) == (25.0, 20.0)
    assert ana.selling_share_of_time == pytest.approx(0.8)
    assert (ana.without_duration, bo.without_duration, cy.without_duration) == (3, 3, 0)
    assert (bo.logged_minutes, bo.selling_share_of_time) == (0.0, None)
    assert (cy.activities, cy.selling_share_of_time) == (0, None)
    assert result.without_duration == 6


def test_cli_summary_says_durations_are_not_recorded(tmp_path: Any, settings: Settings) -> None:
    url = f"sqlite:///{tmp_path / 'team.db'}"
    build_durations_not_recorded(make_engine(url), settings)
    base = ["--db", url, "summary", "--period", "week", "--as-of", "2026-11-18"]
    shown = CliRunner().invoke(cli_app, base)
    assert shown.exit_code == 0, shown.output
    rows = {line.split()[1]: line for line in shown.output.splitlines() if "│ " in line}
    assert "80%" in rows["Ana"]
    assert "not recorded" in rows["Bo"] and "not recorded" not in rows["Cy"]
    words = " ".join(shown.output.split())
    assert "6 activities have no duration (not recorded) and are in neither side" in words
    data = json.loads(CliRunner().invoke(cli_app, [*base, "--json"]).output)
    assert [r["without_duration"] for r in data["reps"]] == [3, 3, 0]


def build_asks_not_recorded(engine: Engine, settings: Settings) -> None:
    """A CRM that records Asks on calls only (connected ones), and none on meetings (Zoho's
    events). Ana, this week: 2 calls of 10 minutes with an Ask (selling), 1 unanswered call of
    5 minutes without one (non-selling: calls do record Asks), 1 admin task of 5 minutes and
    3 meetings of 60 minutes with no Ask recorded. By hand: 7 activities, 2 selling, 2
    non-selling, 3 whose selling is not known; selling time 20 of the 30 known minutes (the
    180 meeting minutes are unknown) = 2/3. Before: 5 non-selling and 20 / 210 = 9.5%."""
    upgrade(engine)
    ana = add_rep(engine, settings, "Ana", "sdr", team="East")
    rows = [activity_row(ana, TUESDAY, outcome="connected", minutes=10.0) for _ in range(2)]
    rows.append(activity_row(ana, TUESDAY, ask=False, minutes=5.0))
    rows.append(activity_row(ana, TUESDAY, kind="admin", ask=False, minutes=5.0))
    rows += [
        activity_row(
            ana, TUESDAY, kind="meeting", outcome="held", ask=False, engaged=True, minutes=60.0
        )
        for _ in range(3)
    ]
    with engine.begin() as conn:
        conn.execute(insert(Activity), rows)


def test_activities_whose_ask_nobody_records_are_neither_selling_nor_not(
    engine: Engine, settings: Settings
) -> None:
    build_asks_not_recorded(engine, settings)
    result = activity_summary(engine, settings, "week", AS_OF)
    (ana,) = result.reps
    assert (ana.activities, ana.selling, ana.non_selling, ana.ask_not_recorded) == (7, 2, 2, 3)
    assert (ana.logged_minutes, ana.selling_minutes, ana.ask_not_recorded_minutes) == (
        210.0,
        20.0,
        180.0,
    )
    assert ana.selling_share_of_time == pytest.approx(2 / 3)
    assert result.asks_not_recorded == ["meeting"]
    assert (result.total_non_selling, result.total_ask_not_recorded) == (2, 3)


def test_one_ask_recorded_on_a_meeting_before_makes_the_others_non_selling(
    engine: Engine, settings: Settings
) -> None:
    """Bo recorded an Ask on a meeting a month ago: meetings do record Asks, so Ana's three
    without one are non-selling (5 of 7), and the share is 20 / 210 minutes."""
    build_asks_not_recorded(engine, settings)
    bo = add_rep(engine, settings, "Bo", "sdr", team="East")
    with engine.begin() as conn:
        conn.execute(insert(Activity), [activity_row(bo, dt.date(2026, 10, 14), kind="meeting")])
    result = activity_summary(engine, settings, "week", AS_OF)
    ana = next(r for r in result.reps if r.rep == "Ana")
    assert (ana.selling, ana.non_selling, ana.ask_not_recorded) == (2, 5, 0)
    assert ana.selling_share_of_time == pytest.approx(20 / 210)
    assert result.asks_not_recorded == []


def test_without_require_ask_every_selling_kind_is_known(
    engine: Engine, settings: Settings
) -> None:
    """Selling that needs no Ask: every call and meeting is selling (6 of 7), 205 of 210
    minutes."""
    build_asks_not_recorded(engine, settings)
    free = settings.model_copy(
        update={"selling": settings.selling.model_copy(update={"require_ask": False})}
    )
    (ana,) = activity_summary(engine, free, "week", AS_OF).reps
    assert (ana.selling, ana.non_selling, ana.ask_not_recorded) == (6, 1, 0)
    assert ana.selling_share_of_time == pytest.approx(205 / 210)


def test_cli_summary_says_whose_ask_is_not_recorded(tmp_path: Any, settings: Settings) -> None:
    url = f"sqlite:///{tmp_path / 'team.db'}"
    build_asks_not_recorded(make_engine(url), settings)
    base = ["--db", url, "summary", "--period", "week", "--as-of", "2026-11-18"]
    shown = CliRunner().invoke(cli_app, base)
    assert shown.exit_code == 0, shown.output
    words = " ".join(shown.output.split())
    assert "ask not recorded" in words
    ana = next(line for line in shown.output.splitlines() if "│ Ana" in line)
    assert [cell.strip() for cell in ana.split("│")[4:10]] == ["7", "2", "2", "3", "2", "3"]
    assert "67%" in ana
    assert "nobody records an Ask on meeting" in words
    data = json.loads(CliRunner().invoke(cli_app, [*base, "--json"]).output)
    assert data["asks_not_recorded"] == ["meeting"]
    assert (data["reps"][0]["non_selling"], data["reps"][0]["ask_not_recorded"]) == (2, 3)


def test_a_rep_starting_on_the_as_of_day_is_listed(engine: Engine, settings: Settings) -> None:
    """Week of Monday 2026-11-16 to Wednesday AS_OF: Di starts on AS_OF and has logged nothing
    yet: listed with zeros (before: left out, the roster read up to the day before). Ed left
    on Monday 16th, in the week: listed. Flo left on Friday 13th, before it: not listed. Gus
    starts on Thursday 19th, after AS_OF: not listed."""
    upgrade(engine)
    for name, start in (
        ("Di", AS_OF),
        ("Ed", None),
        ("Flo", None),
        ("Gus", AS_OF + dt.timedelta(1)),
    ):
        add_rep(engine, settings, name, "sdr", team="East", start_date=start)
    edit_rep(engine, settings, "Ed", {"end_date": dt.date(2026, 11, 16)})
    edit_rep(engine, settings, "Flo", {"end_date": dt.date(2026, 11, 13)})
    result = activity_summary(engine, settings, "week", AS_OF)
    assert [r.rep for r in result.reps] == ["Di", "Ed"]
    assert all(r.activities == 0 and r.selling_share_of_time is None for r in result.reps)
    assert (result.business_days_elapsed, result.business_days_total) == (3, 5)
