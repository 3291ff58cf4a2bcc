"""The weekly reports' data for a rep who left (`factories.build_leaver_team`: Lea, SDR,
East, last day Wednesday November 11th 2026; 4 conversations on each of her 8 business days,
a November target of 76 conversations; November has 19 business days).

- As of Wed Nov 4 (week 2026-W45) next week is W46 (Nov 9-13): she is there Mon 9 to Wed 11,
  3 of its 5 business days. Its stored target, 76 x 5/19 = 20, is cut to 20 x 3/5 = 12. Her
  month, paced to her last day: target 76 x 8/19 = 32, done 3 days x 4 = 12, 5 business days
  left (Nov 5, 6, 9, 10, 11): (32 - 12) / 5 = 4 a day, over next week's 3 days of hers: 12.
  (Before: 20 and 20, asking for Nov 12 and 13, after she left.)
- As of Wed Nov 18 (W47) next week is W48, a week after she left: nothing is asked (before:
  76 x 3/19 = 12 conversations). As of her last day (Nov 11) next week, W47, is after it too.
- The team report as of Nov 18 says she left on the 11th and keeps her out of "who needs
  attention" and of the quiet reps (before: listed with a conversion finding).
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from factories import LEA_LAST_DAY, build_leaver_team
from paceline.analytics.report import rep_report, team_report
from paceline.config import Settings


def _conversations(engine: Engine, settings: Settings, as_of: dt.date) -> tuple[object, object]:
    report = rep_report(engine, settings, "Lea", as_of)
    line = next(t for t in report.next_targets if t.metric == "conversations")
    return line.target, line.month_needed


def test_next_week_asks_only_for_the_days_before_her_last(
    engine: Engine, settings: Settings
) -> None:
    build_leaver_team(engine, settings)
    target, needed = _conversations(engine, settings, dt.date(2026, 11, 4))
    assert target == pytest.approx(12.0)
    assert needed == pytest.approx(12.0)


@pytest.mark.parametrize("as_of", [LEA_LAST_DAY, dt.date(2026, 11, 18)])
def test_next_week_asks_nothing_of_a_rep_gone_before_it(
    engine: Engine, settings: Settings, as_of: dt.date
) -> None:
    build_leaver_team(engine, settings)
    report = rep_report(engine, settings, "Lea", as_of)
    assert [(t.target, t.month_needed) for t in report.next_targets] == [(None, None)] * len(
        report.next_targets
    )
    assert report.end_date == LEA_LAST_DAY


def test_the_team_report_names_the_leaver_and_asks_no_attention(
    engine: Engine, settings: Settings
) -> None:
    ids = build_leaver_team(engine, settings)
    report = team_report(engine, settings, "East", dt.date(2026, 11, 18))
    assert "Lea" not in [a.rep for a in report.attention]
    assert "Lea" not in report.quiet
    assert report.left == {ids["Lea"]: LEA_LAST_DAY}


def test_a_rep_still_there_is_not_marked_left(engine: Engine, settings: Settings) -> None:
    build_leaver_team(engine, settings)
    report = team_report(engine, settings, "East", dt.date(2026, 11, 4))
    assert report.left == {}  # Lea's last day is after the week of Nov 2-8
    assert not rep_report(engine, settings, "Lea", dt.date(2026, 11, 4)).left
