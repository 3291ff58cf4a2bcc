"""The API's scorecards say "not recorded" for a metric nobody in the organisation records:
the line's status, what is missing, and the team total alike (the team of
`factories.build_unrecorded_team`: no connected call anywhere; SDRs paced on the connect
rate too, whose numerator is conversations)."""

from __future__ import annotations

from sqlalchemy import Engine

from factories import AS_OF, build_unrecorded_team, make_site, paced_on_connect_rate
from paceline.config import Settings

DAY = AS_OF.isoformat()


def test_the_api_says_not_recorded(engine: Engine, settings: Settings) -> None:
    paced = paced_on_connect_rate(settings)
    build_unrecorded_team(engine, paced)
    site = make_site(engine, paced, {"root": ("admin", None)})
    with site.client:
        answer = site.api("root", "/scorecard", rep="Ana", as_of=DAY)
        assert answer.status_code == 200, answer.text
        card = answer.json()
        lines = {line["metric"]: line for line in card["lines"]}
        assert {m: (line["pace"]["status"], line["unrecorded"]) for m, line in lines.items()} == {
            "conversations": ("not_recorded", "Conversations"),
            "meetings_set": ("behind", None),
            "opportunities_sourced": ("no_target", "Opportunities sourced (sales-accepted)"),
            "connect_rate": ("no_target", "Conversations"),
        }
        assert card["status"] == "behind"
        team = site.api("root", "/scorecard/team", team="East", as_of=DAY).json()
        assert [(c["rep"], c["status"]) for c in team["reps"]] == [
            ("Ana", "behind"),
            ("Ben", "on_pace"),
        ]
        total = {line["metric"]: line for line in team["total"]}
        assert (total["conversations"]["pace"]["status"], total["conversations"]["recorded"]) == (
            "not_recorded",
            False,
        )
        alerted = site.api("root", "/alerts", team="East", as_of=DAY).json()
        assert [(a["rep"], a["metric"]) for a in alerted["alerts"]] == [("Ana", "meetings_set")]
