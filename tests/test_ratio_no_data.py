"""A ratio with nothing to divide by is "no data", never 0%: analyses, CLI, API and web.

The hand-built tracking team (`factories.build_tracking_team`) (November 2026, as of Wednesday
the 18th), with the rates made key metrics: SDRs are paced on their connect rate, AEs on
meetings held per meeting set. By hand:
- Cy (AE, East) set no meeting in November: held per set is 0 / 0, no data (it read 0%);
- East's only AE is Cy, so East's pooled held per set is 0 / 0 too (it read 0%);
- East's connect rate pools Ana's 14 conversations of 22 calls and Ben's 5 of 5: 19 / 27;
- Dee (West) connected 14 of 14 calls: 100%, a real reading next to the missing one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from factories import AS_OF, api_tokens, bearer, build_tracking_team, made_app, quick_user
from paceline.analytics.leaderboard import leaderboard
from paceline.analytics.pacing import level_pace
from paceline.analytics.scorecard import rep_scorecard, team_scorecards
from paceline.api.deps import SESSION_COOKIE
from paceline.auth.accounts import start_session
from paceline.cli import app
from paceline.config import Settings, default_config_text
from paceline.store.engine import make_engine
from paceline.web.common import DASH

SDR_METRICS = 'key_metrics = ["conversations", "meetings_set", "opportunities_sourced"'
AE_METRICS = 'key_metrics = ["meetings_held", "proposals", "deals_won", "revenue"'


def rates_as_key_metrics(settings: Settings) -> Settings:
    """The default settings with connect rate (SDRs) and show rate (AEs) paced."""
    extra = {"sdr": "connect_rate", "ae": "show_rate"}
    roles = [
        r.model_copy(update={"key_metrics": [*r.key_metrics, extra[r.name]]})
        if r.name in extra
        else r
        for r in settings.roles
    ]
    return settings.model_copy(update={"roles": roles})


def rates_config_text() -> str:
    """The same change as a configuration file, for the CLI."""
    text = default_config_text()
    assert SDR_METRICS in text and AE_METRICS in text
    text = text.replace(SDR_METRICS, SDR_METRICS + ', "connect_rate"')
    return text.replace(AE_METRICS, AE_METRICS + ', "show_rate"')


@pytest.fixture
def rated(engine: Engine, settings: Settings) -> tuple[Engine, Settings]:
    build_tracking_team(engine, settings)
    return engine, rates_as_key_metrics(settings)


def test_a_rep_rate_of_nothing_is_no_data(rated: tuple[Engine, Settings]) -> None:
    engine, settings = rated
    card = rep_scorecard(engine, settings, "Cy", "month", AS_OF)
    show = {line.metric: line.pace for line in card.lines}["show_rate"]
    assert show.actual is None  # was 0.0
    assert (show.pace, show.projected, show.status) == (None, None, "no_target")
    dee = rep_scorecard(engine, settings, "Dee", "month", AS_OF)
    assert {line.metric: line.pace for line in dee.lines}["connect_rate"].actual == 1.0


def test_a_team_rate_of_nothing_is_no_data(rated: tuple[Engine, Settings]) -> None:
    engine, settings = rated
    east = team_scorecards(engine, settings, "month", AS_OF, team="East")
    total = {line.metric: line.pace for line in east.total}
    assert total["show_rate"].actual is None  # was 0.0
    assert total["connect_rate"].actual == pytest.approx(19 / 27)
    assert total["meetings_held"].actual == 0  # a count of nothing is still zero


def test_a_rate_of_nothing_against_a_target_is_too_few_to_tell(settings: Settings) -> None:
    """Not 0% of the target and behind: no reading at all."""
    measured = level_pace(None, 0.8, settings.pacing)
    assert (measured.actual, measured.pace, measured.status) == (None, None, "unclear")
    assert level_pace(0.4, 0.8, settings.pacing).status == "behind"


def test_leaderboard_value_of_nothing_is_none(rated: tuple[Engine, Settings]) -> None:
    engine, settings = rated
    board = leaderboard(engine, settings, "show_rate", "month", AS_OF, role="ae")
    assert [(r.rep, r.value, r.rank, r.numerator, r.denominator) for r in board.rows] == [
        ("Cy", None, None, 0, 0)  # the value was 0.0
    ]
    assert board.total is None  # was None already: the pooled total had its own check
    everyone = leaderboard(engine, settings, "show_rate", "month", AS_OF)
    values = {r.rep: r.value for r in everyone.rows}
    assert values == {"Ana": 0.0, "Ben": None, "Cy": None, "Dee": None}  # Ana: 0 held of 2 set
    assert everyone.total == 0.0


def _cells(output: str, label: str) -> list[str]:
    """The cells of the table row that starts with `label` (Rich draws │ between cells)."""
    line = next(ln for ln in output.splitlines() if label in ln)
    return [c.strip() for c in re.split(r"[│┃|]", line) if c.strip()]


def test_cli_prints_a_dash_and_json_null(tmp_path: Path, settings: Settings) -> None:
    url = f"sqlite:///{tmp_path / 'team.db'}"
    build_tracking_team(make_engine(url), settings)
    config = tmp_path / "paceline.toml"
    config.write_text(rates_config_text())
    runner = CliRunner()

    def run(*args: str) -> Any:
        result = runner.invoke(app, ["--db", url, "--config", str(config), *args])
        assert result.exit_code == 0, result.output
        return result.output

    shown = run("scorecard", "--rep", "Cy", "--as-of", "2026-11-18")
    assert _cells(shown, "Meetings held per meeting set")[:2] == [
        "Meetings held per meeting set",
        "-",
    ]  # was "0.0%"
    team = run("scorecard", "--team", "East", "--as-of", "2026-11-18")
    total_show = [ln for ln in team.splitlines() if "Meetings held per meeting set" in ln][-1]
    assert _cells(total_show, "Meetings held per meeting set")[1] == "-"
    data = json.loads(run("scorecard", "--team", "East", "--as-of", "2026-11-18", "--json"))
    total = {line["metric"]: line["pace"] for line in data["total"]}
    assert total["show_rate"]["actual"] is None
    assert total["connect_rate"]["actual"] == pytest.approx(19 / 27)
    board = json.loads(
        run("leaderboard", "show_rate", "--role", "ae", "--as-of", "2026-11-18", "--json")
    )
    assert [(r["rep"], r["value"]) for r in board["rows"]] == [("Cy", None)]
    assert board["total"] is None


def test_web_and_api_show_no_data(rated: tuple[Engine, Settings]) -> None:
    engine, settings = rated
    tokens = api_tokens(engine, {"boss": ("admin", None)})
    cookie, _ = start_session(engine, quick_user(engine, "viewer", "admin"))
    with TestClient(made_app(settings, engine)) as client:
        api = client.get(
            "/api/v1/scorecard/team",
            params={"team": "East", "as_of": "2026-11-18"},
            headers=bearer(tokens["boss"]),
        )
        assert api.status_code == 200, api.text
        totals = {line["metric"]: line["pace"]["actual"] for line in api.json()["total"]}
        assert totals["show_rate"] is None and totals["connect_rate"] == pytest.approx(19 / 27)
        client.cookies.set(SESSION_COOKIE, cookie)
        page = client.get("/team", params={"team": "East", "as_of": "2026-11-18"})
        assert page.status_code == 200, page.text
        footer = page.text.split("<tfoot>")[1]
        assert ">70%</span>" in footer  # 19 / 27 pooled connect rate
        assert f'<span class="big">{DASH}</span>' in footer  # pooled held per set: no data
        assert '<span class="big">0%</span>' not in page.text  # was Cy's and East's 0%
        board = client.get(
            "/leaderboard",
            params={"metric": "show_rate", "period": "month", "role": "ae", "as_of": "2026-11-18"},
        )
        assert board.status_code == 200, board.text
        assert "0%" not in board.text.split("board-table")[1]  # was Cy's 0% bar label
