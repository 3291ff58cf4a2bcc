"""The weekly reports' text and HTML for a rep who left (`factories.build_leaver_team`: Lea's
last day is Wednesday November 11th 2026): as of Wednesday the 18th her one-on-one says
"left 2026-11-11" and asks nothing of next week (before: "Conversations: target 12", 76 x
3/19); her team's report says she left beside her name."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from factories import add_late_starter, build_leaver_team
from paceline.analytics.report import rep_report, team_report
from paceline.config import Settings
from paceline.reports.render import report_html, report_text

AFTER = dt.date(2026, 11, 18)


def test_the_rep_report_says_left_and_asks_nothing(
    sqlite_engine: Engine, settings: Settings
) -> None:
    build_leaver_team(sqlite_engine, settings)
    report = rep_report(sqlite_engine, settings, "Lea", AFTER)
    lines = report_text(settings, report).splitlines()
    assert "Lea (sdr, team East), left 2026-11-11" in lines
    assert lines[lines.index("Next week (2026-W48)") + 1 :] == ["  nothing: left 2026-11-11"]
    html = report_html(settings, report, charts_too=False)
    assert '<span data-testid="left">left 2026-11-11</span>' in html
    assert "Nothing: left 2026-11-11." in html
    assert "To finish the month on target" not in html


def test_the_team_report_says_who_left(sqlite_engine: Engine, settings: Settings) -> None:
    build_leaver_team(sqlite_engine, settings)
    report = team_report(sqlite_engine, settings, "East", AFTER)
    lines = report_text(settings, report).splitlines()
    assert "  Lea (sdr): On pace, left 2026-11-11" in lines
    assert "  Ana (sdr): Behind" in lines
    html = report_html(settings, report, charts_too=False)
    assert 'Lea <small data-testid="left">left 2026-11-11</small>' in html


def test_the_team_report_counts_who_is_there(sqlite_engine: Engine, settings: Settings) -> None:
    """East on the 18th: Ana, Ben and Cy are there; Lea left, Zoe starts on the 23rd (the
    report said "Team East: 5 reps")."""
    build_leaver_team(sqlite_engine, settings)
    add_late_starter(sqlite_engine, settings)
    report = team_report(sqlite_engine, settings, "East", AFTER)
    said = "3 reps (Lea left 2026-11-11; Zoe starts 2026-11-23)"
    assert f"Team East: {said}" in report_text(settings, report).splitlines()
    html = report_html(settings, report, charts_too=False)
    assert f'<span data-testid="headcount">{said}</span>' in html


BEFORE_LAST_DAY = dt.date(2026, 11, 9)  # Monday of Lea's last week; her last day: Wednesday


def test_a_last_day_still_ahead_reads_leaves(sqlite_engine: Engine, settings: Settings) -> None:
    """As of Monday the 9th Lea is still there (her last day, the 11th, is ahead): "leaves
    2026-11-11", as her scorecard says it (before: "left 2026-11-11", two days early); next
    week asks nothing of her ("nothing: leaves 2026-11-11"). On her last day she is still
    there; the day after, she left."""
    build_leaver_team(sqlite_engine, settings)
    report = rep_report(sqlite_engine, settings, "Lea", BEFORE_LAST_DAY)
    lines = report_text(settings, report).splitlines()
    assert "Lea (sdr, team East), leaves 2026-11-11" in lines
    assert lines[lines.index("Next week (2026-W47)") + 1 :] == ["  nothing: leaves 2026-11-11"]
    html = report_html(settings, report, charts_too=False)
    assert '<span data-testid="left">leaves 2026-11-11</span>' in html
    assert "Nothing: leaves 2026-11-11." in html
    on_the_day = rep_report(sqlite_engine, settings, "Lea", dt.date(2026, 11, 11))
    assert "Lea (sdr, team East), leaves 2026-11-11" in report_text(settings, on_the_day)
    after = rep_report(sqlite_engine, settings, "Lea", dt.date(2026, 11, 12))
    assert "Lea (sdr, team East), left 2026-11-11" in report_text(settings, after)


def test_the_team_report_says_leaves_before_the_last_day(
    sqlite_engine: Engine, settings: Settings
) -> None:
    build_leaver_team(sqlite_engine, settings)
    report = team_report(sqlite_engine, settings, "East", BEFORE_LAST_DAY)
    lea = [line for line in report_text(settings, report).splitlines() if "Lea (sdr)" in line]
    assert len(lea) == 1 and lea[0].endswith(", leaves 2026-11-11"), lea
    html = report_html(settings, report, charts_too=False)
    assert 'Lea <small data-testid="left">leaves 2026-11-11</small>' in html
