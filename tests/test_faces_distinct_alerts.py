"""An alert on a distinct count says the same "since when" on every face: the CLI's JSON,
the console channel's table (the alerts' default channel, registered as any channel is), the
JSON API and the team page, all reading `analytics.alerts`. Team East of
`factories.build_same_account_called` under `factories.paced_on_accounts_called`, as of
Friday 2026-11-20: Ana behind on accounts called since Wednesday Nov 4 (4 of 30 expected),
Ben at zero since Friday Oct 30 (0 of 30); before 2026-12-07, Nov 1 and no date."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine
from typer.testing import CliRunner

from factories import (
    accounts_called_config,
    build_same_account_called,
    make_site,
    paced_on_accounts_called,
    page_text,
)
from paceline.cli import app
from paceline.config import Settings

DAY = "2026-11-20"
EXPECTED = {
    ("Ana", "behind_pace", "2026-11-04"),
    ("Ben", "zero_key_metric", "2026-10-30"),
}


def cli(engine: Engine, config: Path, *args: str) -> str:
    url = engine.url.render_as_string(hide_password=False)
    command = ["--db", url, "--config", str(config), "alerts", "--team", "East", "--as-of", DAY]
    result = CliRunner().invoke(app, [*command, *args])
    assert result.exit_code == 0, result.output
    return result.output


def dated(alerts: list[dict[str, str]]) -> set[tuple[str, str, str]]:
    return {(a["rep"], a["rule"], a["since"]) for a in alerts if a["metric"] == "accounts_called"}


def test_every_face_dates_a_distinct_count_alert_alike(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    paced = paced_on_accounts_called(settings)
    build_same_account_called(engine, paced)
    config = accounts_called_config(tmp_path, paced)
    assert dated(json.loads(cli(engine, config, "--json"))["alerts"]) == EXPECTED
    table = [line for line in cli(engine, config).splitlines() if "Accounts called" in line]
    assert len(table) == 2
    assert "2026-11-04" in next(line for line in table if "Ana" in line)
    assert "2026-10-30" in next(line for line in table if "Ben" in line)
    site = make_site(engine, paced, {"root": ("admin", None)})
    with site.client:
        answer = site.api("root", "/alerts", team="East", as_of=DAY)
        assert answer.status_code == 200, answer.text
        assert dated(answer.json()["alerts"]) == EXPECTED
        page = site.page("root", "/team", team="East", as_of=DAY)
        assert page.status_code == 200, page.text[:500]
    text = page_text(page.text)
    assert "Accounts called 87% behind pace: 4 of 30 expected (since 2026-11-04)" in text
    assert "Accounts called at zero, 30 expected by now (none since 2026-10-30)" in text
