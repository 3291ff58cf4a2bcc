"""The scorecard and team pages say "not recorded" for a metric nobody in the organisation
records: no 0 or pace in its cells, a "Not recorded" badge, the reason once under the table,
no alert on it (the team of `factories.build_unrecorded_team`: no connected call anywhere;
Ben's meetings set are recorded, Ana's 0 of 13 is behind)."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import Engine

from factories import AS_OF, build_unrecorded_team, make_site
from paceline.config import Settings

DAY = AS_OF.isoformat()
REASON = (
    "Conversations: not recorded. Nobody in the organisation has any conversations up to"
    " 2026-11-18, so the CRM does not record them"
)


def metric_row(html: str, metric: str) -> str:
    """The scorecard table's row of one metric, tags and all."""
    found = re.search(rf'<tr data-metric="{metric}">(.*?)</tr>', html, re.S)
    assert found, metric
    return found.group(1)


def reasons(html: str) -> list[str]:
    found = re.findall(r'data-testid="not-recorded">(.*?)</p>', html, re.S)
    return [" ".join(text.split()) for text in found]


def test_pages_say_not_recorded(engine: Engine, settings: Settings) -> None:
    reps = build_unrecorded_team(engine, settings)
    site = make_site(engine, settings, {"root": ("admin", None)})
    with site.client:
        page = site.page("root", f"/reps/{reps['Ana']}", as_of=DAY)
        assert page.status_code == 200, page.text
        row = metric_row(page.text, "conversations")
        assert 'data-testid="not-recorded-cell">not recorded</span>' in row
        assert '<span class="badge status-not_recorded">Not recorded</span>' in row
        assert "Behind" not in row and "0%" not in row
        assert '<span class="badge status-behind">Behind</span>' in metric_row(
            page.text, "meetings_set"
        )
        assert [r for r in reasons(page.text) if r.startswith("Conversations")] == [
            REASON + ": a 0 here is no shortfall, and no alert is raised"
        ]
        alerts = re.findall(r'<li class="alert warn">(.*?)</li>', page.text, re.S)
        assert len(alerts) == 1 and "eetings set" in alerts[0], alerts
        team = site.page("root", "/team", team="East", as_of=DAY)
        assert team.status_code == 200, team.text
        # Conversations and sourced opportunities: Ana's cell, Ben's and the total's each;
        # each reason once.
        cells = re.findall(r'class="num cell-not_recorded"[^>]*>(.*?)</td>', team.text, re.S)
        assert len(cells) == 6 and all("not recorded" in c for c in cells)
        assert '<td class="num cell-behind" data-sort="0.0">' in team.text  # Ana's meetings set
        assert [r.split(":")[0] for r in reasons(team.text)] == [
            "Conversations",
            "Opportunities sourced (sales-accepted)",
        ]
        assert (
            reasons(team.text)[0] == REASON + ": a 0 here is no shortfall, and no alert is raised"
        )


def test_the_log_pages_week_says_not_recorded(engine: Engine, settings: Settings) -> None:
    """The log page's week card (the test clock's week, December 7th 2026: no targets, and
    still no connected call anywhere): conversations "not recorded" with the reason, not 0."""
    build_unrecorded_team(engine, settings)
    site = make_site(engine, settings, {"ana": ("rep", "Ana")})
    with site.client:
        page = site.page("ana", "/log")
        assert page.status_code == 200, page.text
        week = page.text[page.text.index('data-testid="week-scorecard"') :]
        row = metric_row(week, "conversations")
        assert 'data-testid="not-recorded-cell">not recorded</span>' in row
        assert [r.split(":")[0] for r in reasons(week)] == [
            "Conversations",
            "Opportunities sourced (sales-accepted)",
        ]
        assert 'data-testid="not-recorded-cell"' not in metric_row(week, "meetings_set")


def test_the_funnels_count_of_an_unrecorded_step_says_not_recorded(
    engine: Engine, settings: Settings
) -> None:
    """The funnel page's and the diagnosis download's count of a step nobody records (the
    conversations: no connected call anywhere) is "not recorded" and empty, as the scorecard's
    is, never 0; Ana's 39 calls of November to the 18th keep their count."""
    reps = build_unrecorded_team(engine, settings)
    site = make_site(engine, settings, {"root": ("admin", None)})
    with site.client:
        page = site.page("root", "/funnel", rep="Ana", period="month", as_of=DAY)
        assert page.status_code == 200, page.text
        cells = re.findall(r"<td[^>]*>(.*?)</td>", metric_row(page.text, "conversations"), re.S)
        texts = [re.sub(r"<[^>]+>", "", c).strip() for c in cells]
        assert texts[:2] == ["not recorded", "not recorded"], texts
        calls = re.findall(r"<td[^>]*>(.*?)</td>", metric_row(page.text, "calls"), re.S)
        assert calls[0].strip() == "39"
        # the chart's bars: the count's text, then the conversion ("0<br>not recorded" before)
        chart = re.search(r'"text": \[("[^\]]*)\]', page.text)
        assert chart and chart.group(1).startswith('"39", "not recorded", "0'), chart
        export = site.page("root", "/diagnose/export.csv", rep="Ana", as_of=DAY, table="funnel")
        assert export.status_code == 200, export.text
        steps = {r["step"]: r for r in csv.DictReader(io.StringIO(export.text.lstrip("\ufeff")))}
        assert (steps["Conversations"]["count"], steps["Conversations"]["note"]) == (
            "",
            "not_recorded",
        )
        assert float(steps["Calls"]["count"]) == 39
        assert reps
