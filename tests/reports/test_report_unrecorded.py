"""The weekly rep report on a CRM that records no call results (`factories.
build_unrecorded_team`, as of Wednesday November 18th 2026): conversations are "not
recorded" in its text and HTML, and next week asks for none of them; meetings set, which Ben
records, are still asked for: Ana's 19 of the month are all left, 19/6 a business day over
the 6 left, and next week holds 3 of them in November (the 26th and 27th are holidays):
9.5."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from factories import AS_OF, build_unrecorded_team
from paceline.analytics.report import rep_report
from paceline.config import Settings
from paceline.reports.render import report_html, report_text


def test_the_rep_report_says_not_recorded(sqlite_engine: Engine, settings: Settings) -> None:
    build_unrecorded_team(sqlite_engine, settings)
    report = rep_report(sqlite_engine, settings, "Ana", AS_OF)
    following = {t.metric: t for t in report.next_targets}
    assert following["conversations"].month_needed is None  # was 95: 190 / 6 a day x 3
    assert following["meetings_set"].month_needed == pytest.approx(19 / 6 * 3)
    text = report_text(settings, report)
    assert "  Conversations: not recorded" in text.splitlines()
    assert "  Meetings set: week 0 of" in text
    html = report_html(settings, report)
    assert "not recorded" in html and "Not recorded" in html
