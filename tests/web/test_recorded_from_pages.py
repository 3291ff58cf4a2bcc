"""The scorecard and team pages, and the JSON API, say when a team's records begin part-way
into the period (`factories.build_north_recorded_from_mid_month`: North recorded from
Tuesday Nov 10; as of the 18th Sam is on business day 7 of 13, paced from then)."""

from __future__ import annotations

import re

from sqlalchemy import Engine

from factories import AS_OF, build_north_recorded_from_mid_month, make_site
from paceline.config import Settings

DAY = AS_OF.isoformat()
SAID = (
    "recorded from 2026-11-10: nothing is recorded for team North before it, so the target "
    "and expectations are pro rata from then"
)


def test_pages_and_the_api_say_north_is_recorded_from_the_10th(
    engine: Engine, settings: Settings
) -> None:
    reps = build_north_recorded_from_mid_month(engine, settings)
    site = make_site(engine, settings, {"root": ("admin", None)})
    with site.client:
        page = site.page("root", f"/reps/{reps['Sam']}", as_of=DAY)
        assert page.status_code == 200, page.text
        text = " ".join(page.text.split())
        assert "business day <strong>7</strong> of 13 (6 left)" in text
        assert f'<span data-testid="recorded-from">{SAID}</span>' in text
        team = site.page("root", "/team", team="North", as_of=DAY)
        assert team.status_code == 200, team.text
        said = re.findall(r'data-testid="recorded-from"[^>]*>(.*?)<', team.text)
        assert said == ["recorded from 2026-11-10"] * 2  # Sam and Kim; Lee joined on the 12th
        ben = site.page("root", f"/reps/{reps['Ben']}", as_of=DAY)
        assert 'data-testid="recorded-from"' not in ben.text
        card = site.client.get(
            "/api/v1/scorecard",
            params={"rep": "Sam", "period": "month", "as_of": DAY},
            headers={"Authorization": f"Bearer {site.tokens['root']}"},
        )
        assert card.status_code == 200, card.text
        body = card.json()
        assert (body["recorded_from"], body["measured_from"]) == ("2026-11-10", "2026-11-10")
        conversations = {line["metric"]: line["pace"] for line in body["lines"]}["conversations"]
        assert conversations["expected_to_date"] == 28
