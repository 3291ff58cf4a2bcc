"""The scorecard and team pages say when a rep left during the period (the team of
`factories.build_leaver_team`: Lea left on Wednesday Nov 11, her 8th business day of 19)."""

from __future__ import annotations

import re

from sqlalchemy import Engine

from factories import AS_OF, add_late_starter, build_leaver_team, make_site
from paceline.config import Settings

DAY = AS_OF.isoformat()


def test_pages_say_lea_left(engine: Engine, settings: Settings) -> None:
    reps = build_leaver_team(engine, settings)
    site = make_site(engine, settings, {"root": ("admin", None)})
    with site.client:
        page = site.page("root", f"/reps/{reps['Lea']}", as_of=DAY)
        assert page.status_code == 200, page.text
        text = " ".join(page.text.split())
        assert "business day <strong>8</strong> of 8 (0 left)" in text
        assert '<span data-testid="left">left 2026-11-11</span>' in text
        team = site.page("root", "/team", team="East", as_of=DAY)
        assert team.status_code == 200, team.text
        assert re.findall(r'data-testid="left">(.*?)<', team.text) == ["left 2026-11-11"]
        ana = site.page("root", f"/reps/{reps['Ana']}", as_of=DAY)
        assert 'data-testid="left"' not in ana.text


def test_the_team_page_counts_who_is_there_and_names_the_others(
    engine: Engine, settings: Settings
) -> None:
    """East on the 18th: Ana, Ben and Cy; Lea left on the 11th, Zoe starts on the 23rd (the
    page said "5 reps": everyone whose card is on it)."""
    build_leaver_team(engine, settings)
    add_late_starter(engine, settings)
    site = make_site(engine, settings, {"root": ("admin", None)})
    with site.client:
        team = site.page("root", "/team", team="East", as_of=DAY)
        assert team.status_code == 200, team.text
        said = re.findall(r'data-testid="headcount">(.*?)<', team.text)
        assert said == ["3 reps (Lea left 2026-11-11; Zoe starts 2026-11-23)"]


def test_before_her_last_day_the_pages_say_she_leaves(engine: Engine, settings: Settings) -> None:
    """As of Tuesday Nov 10, the day before Lea's last: "leaves 2026-11-11" (was "left")."""
    reps = build_leaver_team(engine, settings)
    site = make_site(engine, settings, {"root": ("admin", None)})
    with site.client:
        page = site.page("root", f"/reps/{reps['Lea']}", as_of="2026-11-10")
        assert '<span data-testid="left">leaves 2026-11-11</span>' in page.text
        team = site.page("root", "/team", team="East", as_of="2026-11-10")
        assert re.findall(r'data-testid="left">(.*?)<', team.text) == ["leaves 2026-11-11"]
