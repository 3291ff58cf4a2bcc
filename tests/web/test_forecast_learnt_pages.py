"""The forecast page and its API answer say what the curves learnt from, and how many wins
they left out because they were entered after they closed
(`factories.build_some_wins_entered_after_close`: 4 deals learnt from, 1 won; 4 late wins).
Before, the page said "Learnt from 8 deals (5 won)" and nothing about the four."""

from __future__ import annotations

import re

from sqlalchemy import Engine

from factories import build_some_wins_entered_after_close, make_site
from paceline.config import Settings

LEARNT = (
    "Learnt from 4 deals watched since 2025-07-01 (1 won); 4 wins entered after they closed "
    "have no known cycle and are not in the curves."
)


def test_the_page_and_the_api_say_what_the_curves_left_out(
    engine: Engine, settings: Settings
) -> None:
    build_some_wins_entered_after_close(engine, settings)
    site = make_site(engine, settings, {"root": ("admin", None)})
    with site.client:
        page = site.page("root", "/forecast", period="quarter", as_of="2026-06-30")
        assert page.status_code == 200, page.text
        said = re.findall(r'data-testid="learnt">(.*?)</span>', page.text, re.S)
        assert [" ".join(s.split()) for s in said] == [LEARNT]
        answer = site.api("root", "/forecast", period="quarter", as_of="2026-06-30")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        learnt = (body["history_deals"], body["history_wins"], body["wins_without_cycle"])
        assert learnt == (4, 1, 4)
