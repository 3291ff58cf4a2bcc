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
from paceline.services.reps import add_rep
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


def test_a_rep_on_her_first_day_is_listed_and_one_not_started_is_not(
    engine: Engine, settings: Settings
) -> None:
    """As of Wednesday Nov 18: Ana logged 2 calls on the 17th; Zoe starts that very day and
    has logged nothing yet (she was left out: the roster stopped the day before); Uma starts
    on Monday the 23rd, not yet working."""
    upgrade(engine)
    ana = add_rep(engine, settings, "Ana", "sdr", team="East")
    add_rep(engine, settings, "Zoe", "sdr", team="East", start_date=AS_OF)
    add_rep(engine, settings, "Uma", "sdr", team="East", start_date=dt.date(2026, 11, 23))
    with engine.begin() as conn:
        conn.execute(insert(Activity), [activity_row(ana, TUESDAY) for _ in range(2)])
    summary = activity_summary(engine, settings, "week", AS_OF)
    assert [(r.rep, r.activities) for r in summary.reps] == [("Ana", 2), ("Zoe", 0)]
