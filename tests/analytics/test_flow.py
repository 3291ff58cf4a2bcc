"""Pipeline flow, by hand, on SQLite and PostgreSQL; then the demo, the CLI, the API, the page.

Settings: the defaults plus a second lost stage, `disqualified`. As of Wednesday 2026-11-18,
window "14d" = Nov 5-18, so three ISO weeks: W45 (Nov 2-8), W46 (Nov 9-15) and W47 (Nov 16-18,
cut at the as-of day). New York is on standard time (UTC-5) throughout: W45 runs from
Nov 2 05:00 to Nov 9 05:00 UTC, W46 to Nov 16 05:00, W47 to Nov 19 05:00.

Deals (times UTC, 17:00 unless said):
  d1  Ana  10,000  created Oct 20, open
  d2  Ana  20,000  created Nov 3, won Nov 12
  d3  Ana   5,000  created Nov 9 03:00 UTC = Sunday Nov 8, 22:00 in New York: W45, open
  d4  Ben   8,000  created Nov 10, lost (closed_lost) Nov 17
  d5  Ben   4,000  created Oct 1, lost (disqualified) Nov 4
  d6  Ben       0  created Nov 17, open
  d7  Ana  99,999  created Nov 20 (after the as-of day)
  d8  Ana   3,000  created Nov 2, won Nov 25 (after the as-of day): open until then
  d9  Dee  50,000  created Nov 10, open (West)
  d10 Ana   6,000  created Oct 1, won Oct 15 (in the quarter, before the window)
  d11 Dee  12,000  created Sep 1, won Oct 20

East, by hand:
  week  created      won        lost: closed_lost / disqualified   net           open at end
  W45   3 / 28,000   0          0 / 1 x 4,000                       +2 / +24,000  4 / 38,000
  W46   1 / 8,000    1 / 20,000 0 / 0                               0 / -12,000   4 / 26,000
  W47   1 / 0        0          1 x 8,000 / 0                       0 / -8,000    4 / 18,000
(open: d1 d2 d3 d8 / d1 d3 d8 d4 / d1 d3 d8 d6)

Revenue targets stored for Q4 2026 (quarterly): Ana 100,000, Ben 50,000, Dee 10,000.
East won in Q4 by each week's end: 6,000 (d10), then 26,000 (d10 + d2), 26,000; coverage
38,000 / 144,000, 26,000 / 124,000, 18,000 / 124,000.

Prospects (accounts' first selling activity by the scope's reps): P1 sold to by Ana Oct 1
and again Nov 3 (not new); P2 first Nov 4 (W45); P7 first Nov 8 (W45); P5 sold to by Dee
Oct 5, first by Ana Nov 11 (new to East in W46, not to everyone); P3 first by Ben Nov 16 and
P4 called without an Ask Nov 10, first with one Nov 17 (W47); P6 first Nov 20 (later).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, func, or_, select, update
from typer.testing import CliRunner

from factories import (
    account,
    at,
    build_flow_unknown_amounts,
    build_flow_with_wins,
    build_flow_without_wins,
    east_and_west,
    login,
    made_app,
    put_activity,
    put_deal,
    quick_user,
)
from paceline.analytics.flow import CountValue, FlowReport, pipeline_flow
from paceline.analytics.report import team_report
from paceline.analytics.stalled import day_end_utc
from paceline.analytics.window import diagnosis_window
from paceline.auth.accounts import create_token
from paceline.cli import app as cli_app
from paceline.cli import out as cli_out
from paceline.config import Settings, default_config_text, parse_settings
from paceline.errors import UserInputError
from paceline.reports.render import report_html, report_text
from paceline.services.targets import TargetRow, save_targets
from paceline.store.models import Deal, Rep, Target

AS_OF = dt.date(2026, 11, 18)
Q4 = dt.date(2026, 10, 1)
CONFIG = (
    default_config_text()
    + '\n[[stages]]\nname = "disqualified"\nstatus = "lost"\nprobability = 0.0\n'
)
SETTINGS = parse_settings(CONFIG)


def build(engine: Engine) -> dict[str, int]:
    reps = east_and_west(engine, SETTINGS)
    ana, ben, dee = reps["Ana"], reps["Ben"], reps["Dee"]
    put_deal(engine, ana, "d1", 10_000, at(10, 20))
    put_deal(
        engine, ana, "d2", 20_000, at(11, 3), status="won", stage="closed_won", closed=at(11, 12)
    )
    put_deal(engine, ana, "d3", 5_000, dt.datetime(2026, 11, 9, 3))
    put_deal(
        engine, ben, "d4", 8_000, at(11, 10), status="lost", stage="closed_lost", closed=at(11, 17)
    )
    put_deal(
        engine, ben, "d5", 4_000, at(10, 1), status="lost", stage="disqualified", closed=at(11, 4)
    )
    put_deal(engine, ben, "d6", 0, at(11, 17))
    put_deal(engine, ana, "d7", 99_999, at(11, 20))
    put_deal(
        engine, ana, "d8", 3_000, at(11, 2), status="won", stage="closed_won", closed=at(11, 25)
    )
    put_deal(engine, dee, "d9", 50_000, at(11, 10))
    put_deal(
        engine, ana, "d10", 6_000, at(10, 1), status="won", stage="closed_won", closed=at(10, 15)
    )
    put_deal(
        engine, dee, "d11", 12_000, at(9, 1), status="won", stage="closed_won", closed=at(10, 20)
    )
    p = {n: account(engine, f"P{n}") for n in range(1, 8)}
    put_activity(engine, ana, at(10, 1), account_id=p[1])
    put_activity(engine, ana, at(11, 3), account_id=p[1])
    put_activity(engine, ana, at(11, 4), account_id=p[2])
    put_activity(engine, ana, at(11, 10), account_id=p[2])
    put_activity(
        engine, ana, dt.datetime(2026, 11, 9, 4), account_id=p[7], local_date=dt.date(2026, 11, 8)
    )
    put_activity(engine, dee, at(10, 5), account_id=p[5])
    put_activity(engine, ana, at(11, 11), account_id=p[5])
    put_activity(engine, ben, at(11, 16), account_id=p[3])
    put_activity(engine, ben, at(11, 10), account_id=p[4], ask=False)
    put_activity(engine, ben, at(11, 17), account_id=p[4])
    put_activity(engine, ana, at(11, 20), account_id=p[6])
    with engine.begin() as conn:
        save_targets(
            conn,
            [
                TargetRow(ana, "revenue", "quarter", Q4, 100_000),
                TargetRow(ben, "revenue", "quarter", Q4, 50_000),
                TargetRow(dee, "revenue", "quarter", Q4, 10_000),
            ],
        )
    return reps  # fmt: skip


@pytest.fixture
def team(engine: Engine) -> Engine:
    build(engine)
    return engine


def flow(engine: Engine, spec: str = "14d", as_of: dt.date = AS_OF, **scope: str) -> FlowReport:
    return pipeline_flow(engine, SETTINGS, diagnosis_window(SETTINGS, spec, as_of), **scope)


def cv(count: int, value: float) -> CountValue:
    return CountValue(count, value)


def test_east_by_hand(team: Engine) -> None:
    report = flow(team, team="east")
    assert (report.team, report.rep, report.revenue_metric) == ("East", None, "revenue")
    assert report.lost_stages == ["closed_lost", "disqualified"]
    assert [(w.label, w.start, w.end) for w in report.weeks] == [
        ("2026-W45", dt.date(2026, 11, 2), dt.date(2026, 11, 9)),
        ("2026-W46", dt.date(2026, 11, 9), dt.date(2026, 11, 16)),
        ("2026-W47", dt.date(2026, 11, 16), dt.date(2026, 11, 19)),
    ]
    w45, w46, w47 = report.weeks
    assert [w.created for w in report.weeks] == [cv(3, 28_000), cv(1, 8_000), cv(1, 0)]
    assert [w.won for w in report.weeks] == [cv(0, 0), cv(1, 20_000), cv(0, 0)]
    assert [w.lost for w in report.weeks] == [
        {"closed_lost": cv(0, 0), "disqualified": cv(1, 4_000)},
        {"closed_lost": cv(0, 0), "disqualified": cv(0, 0)},
        {"closed_lost": cv(1, 8_000), "disqualified": cv(0, 0)},
    ]
    assert [w.out for w in report.weeks] == [cv(1, 4_000), cv(1, 20_000), cv(1, 8_000)]
    assert [w.net for w in report.weeks] == [cv(2, 24_000), cv(0, -12_000), cv(0, -8_000)]
    assert [w.open_pipeline for w in report.weeks] == [
        cv(4, 38_000),
        cv(4, 26_000),
        cv(4, 18_000),
    ]
    assert [w.prospects_in for w in report.weeks] == [2, 1, 2]
    assert {w.quarter_start for w in report.weeks} == {Q4}
    assert [w.quarter_target for w in report.weeks] == [150_000] * 3
    assert [w.won_in_quarter for w in report.weeks] == [6_000, 26_000, 26_000]
    assert [w.remaining_target for w in report.weeks] == [144_000, 124_000, 124_000]
    assert w45.coverage == pytest.approx(38_000 / 144_000)
    assert w46.coverage == pytest.approx(26_000 / 124_000)
    assert w47.coverage == pytest.approx(18_000 / 124_000)
    assert (report.created, report.won, report.lost) == (
        cv(5, 36_000),
        cv(1, 20_000),
        cv(2, 12_000),
    )
    assert (report.net, report.prospects_in) == (cv(2, 4_000), 5)


def test_everyone_and_one_rep(team: Engine) -> None:
    everyone = flow(team)
    assert [w.prospects_in for w in everyone.weeks] == [2, 0, 2]  # P5 was Dee's before
    assert [w.open_pipeline for w in everyone.weeks] == [
        cv(4, 38_000),
        cv(5, 76_000),
        cv(5, 68_000),
    ]
    assert [w.quarter_target for w in everyone.weeks] == [160_000] * 3
    assert [w.won_in_quarter for w in everyone.weeks] == [18_000, 38_000, 38_000]
    assert everyone.weeks[2].coverage == pytest.approx(68_000 / 122_000)
    # Ben: a zero-value open deal, no revenue won, his own target: coverage exactly 0.
    ben = flow(team, rep="Ben")
    assert (ben.rep, ben.team) == ("Ben", "East")
    assert ben.weeks[2].open_pipeline == cv(1, 0)
    assert (ben.weeks[2].remaining_target, ben.weeks[2].coverage) == (50_000, 0.0)
    # Dee: won more than her target: nothing remains, so no coverage.
    dee = flow(team, rep="dee")
    assert (dee.weeks[2].remaining_target, dee.weeks[2].coverage) == (-2_000, None)
    # Cy: no deals, no target.
    cy = flow(team, rep="Cy")
    assert all(w.created == w.open_pipeline == cv(0, 0) for w in cy.weeks)
    assert all(w.quarter_target is None and w.coverage is None for w in cy.weeks)


def test_a_target_covering_some_reps_is_read_against_their_revenue_only(team: Engine) -> None:
    """Only Ben keeps his Q4 target (50,000). Against everyone's revenue (38,000 won, 68,000
    open in W47) it would look 76% done and covered 5.7 times; Ben has won nothing and his
    one open deal is worth 0: 50,000 left, coverage 0. What the others won and hold open is
    reported apart, as revenue without a target."""
    reps = people_ids(team)
    with team.begin() as conn:
        conn.execute(delete(Target).where(Target.rep_id.in_([reps["Ana"], reps["Dee"]])))
    for report, won_elsewhere, open_elsewhere in (
        (flow(team), 38_000, 68_000),
        (flow(team, team="East"), 26_000, 18_000),
    ):
        w47 = report.weeks[2]
        assert (w47.quarter_target, w47.target_reps) == (50_000, 1)
        assert (w47.targeted_won, w47.targeted_open) == (0, 0)
        assert (w47.remaining_target, w47.coverage) == (50_000, 0.0)
        assert (w47.untargeted_won, w47.untargeted_open) == (won_elsewhere, open_elsewhere)
    # Every owner covered: nothing is apart.
    ben = flow(team, rep="Ben").weeks[2]
    assert (ben.untargeted_won, ben.untargeted_open, ben.target_reps) == (0, 0, 1)


def test_a_team_reads_the_deals_of_its_manager_and_of_a_rep_who_left(team: Engine) -> None:
    """East's pipeline is every deal East's people own, not only its selling reps' (it was:
    the two deals below were in everyone's flow and in no team's). Added to the world above:
      Max (East's manager): "Max open" 7,000 created Nov 4 (W45); "Max won" 1,000 created
        Oct 5, won Nov 12 (W46);
      Cy left East on Oct 31, before the window: "Cy open" 2,500 created Oct 20, still open.
    East by hand (the table above plus these):
      week  created      won          open at end
      W45   4 / 35,000   0            7 / 48,500   (38,000 + 2,500 + 7,000 + 1,000)
      W46   1 / 8,000    2 / 21,000   6 / 35,500   (26,000 + 2,500 + 7,000)
      W47   1 / 0        0            6 / 27,500   (18,000 + 2,500 + 7,000)
    Only Ana and Ben have targets (150,000): Max's and Cy's deals are open value no target
    covers (10,500, then 9,500), and Max's win revenue won apart; the coverage stays Ana's and
    Ben's (38,000 / 144,000 in W45)."""
    reps = people_ids(team)
    put_deal(team, reps["Max"], "Max open", 7_000, at(11, 4))
    put_deal(
        team, reps["Max"], "Max won", 1_000, at(10, 5), status="won", stage="closed_won",
        closed=at(11, 12),
    )  # fmt: skip
    put_deal(team, reps["Cy"], "Cy open", 2_500, at(10, 20))
    with team.begin() as conn:
        conn.execute(update(Rep).where(Rep.id == reps["Cy"]).values(end_date=dt.date(2026, 10, 31)))
    report = flow(team, team="East")
    assert [w.created for w in report.weeks] == [cv(4, 35_000), cv(1, 8_000), cv(1, 0)]
    assert [w.won for w in report.weeks] == [cv(0, 0), cv(2, 21_000), cv(0, 0)]
    assert [w.open_pipeline for w in report.weeks] == [
        cv(7, 48_500),
        cv(6, 35_500),
        cv(6, 27_500),
    ]
    assert [w.won_in_quarter for w in report.weeks] == [6_000, 27_000, 27_000]
    assert [w.untargeted_open for w in report.weeks] == [10_500, 9_500, 9_500]
    assert [w.untargeted_won for w in report.weeks] == [0, 1_000, 1_000]
    assert report.weeks[0].coverage == pytest.approx(38_000 / 144_000)
    assert report.weeks[2].coverage == pytest.approx(18_000 / 124_000)


def people_ids(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {name: rep_id for rep_id, name in conn.execute(select(Rep.id, Rep.name))}


def test_quarter_boundary_and_derived_targets(engine: Engine) -> None:
    """A week is in the quarter of its last day; a quarter's target may be derived (Cy's
    from three stored monthly targets)."""
    reps = build(engine)
    with engine.begin() as conn:
        save_targets(
            conn,
            [
                TargetRow(reps["Ana"], "revenue", "quarter", dt.date(2026, 7, 1), 30_000),
                *(
                    TargetRow(reps["Cy"], "revenue", "month", dt.date(2026, m, 1), 1_000)
                    for m in (10, 11, 12)
                ),
            ],
        )
    report = flow(engine, "week", dt.date(2026, 10, 1), team="East")
    # The week of Thursday Oct 1 starts Monday Sep 28 and is cut at Oct 1: it ends in Q4.
    assert [(w.start, w.end, w.quarter_start) for w in report.weeks] == [
        (dt.date(2026, 9, 28), dt.date(2026, 10, 2), Q4)
    ]
    assert report.weeks[0].quarter_target == 100_000 + 50_000 + 3 * 1_000
    # Sunday Sep 20 to Sunday Sep 27: two weeks, both in Q3, where only Ana has a target.
    september = flow(engine, "8d", dt.date(2026, 9, 27), team="East")
    assert [w.quarter_start for w in september.weeks] == [dt.date(2026, 7, 1)] * 2
    assert [w.quarter_target for w in september.weeks] == [30_000] * 2


def test_empty_window_gives_zero_weeks(team: Engine) -> None:
    report = flow(team, "7d", dt.date(2025, 3, 5), team="East")
    assert len(report.weeks) == 2  # Thu Feb 27 - Wed Mar 5: the weeks of Feb 24 and Mar 3
    for week in report.weeks:
        assert (week.prospects_in, week.created, week.won, week.open_pipeline) == (
            0,
            cv(0, 0),
            cv(0, 0),
            cv(0, 0),
        )
        assert week.lost == {"closed_lost": cv(0, 0), "disqualified": cv(0, 0)}
        # No deal won by 2025-03-05: wins are not recorded then, so no net change either.
        assert (week.quarter_target, week.coverage, week.net) == (None, None, None)


def test_empty_database(sqlite_engine: Engine) -> None:
    east_and_west(sqlite_engine, SETTINGS)
    report = flow(sqlite_engine, "quarter")
    assert len(report.weeks) == 8  # Oct 1 - Nov 18: the weeks of Sep 28 to Nov 16
    assert report.created == report.won == cv(0, 0) and report.prospects_in == 0


def test_bad_input_names_the_field(team: Engine) -> None:
    with pytest.raises(UserInputError, match=r"^team: no team named 'Wset'; did you mean 'West'"):
        flow(team, team="Wset")
    with pytest.raises(UserInputError, match=r"^rep: no selling rep named 'Zed'"):
        flow(team, rep="Zed")
    with pytest.raises(UserInputError, match=r"^period: "):
        flow(team, "fortnight")


# --- the demo --------------------------------------------------------------------------------


def test_demo_open_pipeline(demo_org: tuple[Engine, dict[str, Any]], settings: Settings) -> None:
    engine, truth = demo_org
    today = dt.date.fromisoformat(truth["today"])
    window = diagnosis_window(settings, "90d", today)
    end = day_end_utc(settings, today)
    open_now = select(func.count(), func.sum(Deal.amount)).where(
        Deal.created_at < end, or_(Deal.status == "open", Deal.closed_at >= end)
    )
    created = select(func.count()).where(
        Deal.created_at >= day_end_utc(settings, dt.date(2026, 11, 15)), Deal.created_at < end
    )
    with engine.connect() as conn:
        count, value = conn.execute(open_now).one()
        status_open = conn.execute(
            select(func.count(), func.sum(Deal.amount)).where(Deal.status == "open")
        ).one()
        created_last_week = conn.scalar(created)
    assert (count, value) == status_open  # nothing in the demo closes after today
    report = pipeline_flow(engine, settings, window)
    last = report.weeks[-1]
    assert (last.label, last.end) == ("2026-W47", dt.date(2026, 11, 19))
    assert last.open_pipeline == cv(count, float(value))
    assert last.created.count == created_last_week  # Mon Nov 16 to Wed Nov 18
    assert report.created.count > 0 and report.won.count > 0 and report.lost.count > 0
    for before, after in zip(report.weeks, report.weeks[1:], strict=False):
        # The pipeline moves only by what flows: open(end) = open(start) + in - out.
        assert after.open_pipeline.count == before.open_pipeline.count + after.net.count
    # Coverage is read only where a target exists (the demo stores monthly targets around
    # today: the current quarter is covered by three of them, the previous one is not).
    assert last.quarter_target is not None and last.quarter_target > 0
    assert report.weeks[0].quarter_target is None and report.weeks[0].coverage is None


# --- faces -----------------------------------------------------------------------------------


@pytest.fixture
def faces(sqlite_engine: Engine) -> Iterator[tuple[Engine, TestClient, dict[str, str]]]:
    build(sqlite_engine)
    quick_user(sqlite_engine, "root", "admin")
    quick_user(sqlite_engine, "max", "manager", rep="Max")
    quick_user(sqlite_engine, "ana", "rep", rep="Ana")
    tokens = {u: create_token(sqlite_engine, u, "tests").token for u in ("root", "max", "ana")}
    with TestClient(made_app(SETTINGS, sqlite_engine)) as client:
        yield sqlite_engine, client, tokens


def _api(client: TestClient, token: str, **params: str) -> Any:
    return client.get("/api/v1/flow", params=params, headers={"Authorization": f"Bearer {token}"})


def test_cli_json_matches_the_api(
    faces: tuple[Engine, TestClient, dict[str, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine, client, tokens = faces
    monkeypatch.setattr(cli_out, "width", 400)
    config = tmp_path / "paceline.toml"
    config.write_text(CONFIG, encoding="utf-8")
    url = engine.url.render_as_string(hide_password=False)
    base = ["--db", url, "--config", str(config), "flow", "--as-of", AS_OF.isoformat()]
    runner = CliRunner()
    printed = runner.invoke(cli_app, [*base, "--period", "14d", "--team", "East", "--json"])
    assert printed.exit_code == 0, printed.output
    answer = _api(client, tokens["max"], period="14d", as_of=AS_OF.isoformat())
    assert answer.status_code == 200
    assert answer.json() == json.loads(printed.output)
    assert [w["coverage"] for w in answer.json()["weeks"]] == pytest.approx(
        [38_000 / 144_000, 26_000 / 124_000, 18_000 / 124_000]
    )
    table = runner.invoke(cli_app, [*base, "--period", "14d", "--team", "East"])
    assert table.exit_code == 0, table.output
    rows = [line for line in table.output.splitlines() if "2026-W4" in line]
    assert len(rows) == 3
    assert "2026-W47 (Nov 16 to Nov 18)" in rows[2]
    assert "3 / 28.0k" in rows[0] and "+2 / 24.0k" in rows[0] and "4 / 38.0k" in rows[0]
    assert "0.3x" in rows[0] and "0.1x" in rows[2]
    bad = runner.invoke(cli_app, [*base, "--period", "fortnight"])
    assert bad.exit_code == 1 and "period: 'fortnight' is not a period" in bad.output


def test_api_scopes(faces: tuple[Engine, TestClient, dict[str, str]]) -> None:
    _, client, tokens = faces
    day = AS_OF.isoformat()
    mine = _api(client, tokens["ana"], period="14d", as_of=day).json()
    assert (mine["rep"], mine["created"]) == (
        "Ana",
        {"count": 3, "value": 28_000, "without_amount": 0},
    )
    assert _api(client, tokens["ana"], team="East").status_code == 403
    assert _api(client, tokens["ana"], rep="Ben").status_code == 403
    assert _api(client, tokens["max"], team="West").status_code == 403
    everyone = _api(client, tokens["root"], period="14d", as_of=day).json()
    assert everyone["team"] is None and everyone["weeks"][1]["open_pipeline"]["value"] == 76_000
    bad = _api(client, tokens["root"], period="fortnight")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "period"]
    unknown = _api(client, tokens["root"], team="North")
    assert unknown.status_code == 404 and unknown.json()["detail"][0]["loc"] == ["query", "team"]


def test_page_draws_the_flow_chart(faces: tuple[Engine, TestClient, dict[str, str]]) -> None:
    engine, client, _ = faces
    login(client, engine, "max")
    page = client.get("/flow", params={"period": "14d", "as_of": AS_OF.isoformat()})
    assert page.status_code == 200
    assert 'data-figure="flow-figure"' in page.text and "Team East" in page.text
    start = page.text.index('<script type="application/json" id="flow-figure">')
    figure = json.loads(
        page.text[page.text.index(">", start) + 1 : page.text.index("</script>", start)]
    )
    bars = {t["name"]: t["y"] for t in figure["data"] if t["type"] == "bar"}
    assert bars == {
        "Opportunities in": [28_000, 8_000, 0],
        "Won": [0, -20_000, 0],
        "Closed lost": [0, 0, -8_000],
        "Disqualified": [-4_000, 0, 0],
    }
    line = next(t for t in figure["data"] if t["type"] == "scatter")
    assert (line["y"], line["yaxis"]) == ([38_000, 26_000, 18_000], "y2")
    assert [c[1] for c in line["customdata"]] == ["0.3x", "0.2x", "0.1x"]
    assert client.get("/flow", params={"team": "West"}).status_code == 403
    assert client.get("/flow", params={"period": "fortnight"}).status_code == 422
    login(client, engine, "ana")
    assert client.get("/flow", params={"rep": "Ben"}).status_code == 403
    assert client.get("/flow", params={"team": "East"}).status_code == 403
    assert client.get("/flow").status_code == 200


def test_a_deal_closed_before_it_was_created_never_comes_in_as_pipeline(engine: Engine) -> None:
    """Salesforce records entered in bulk: d1 created Nov 10 (W46), won back on Sep 1; d2
    created Nov 10, open. W46's in-flow counted both (2 / 30,000, net +2) while the open
    pipeline grew by d2 alone (1 / 10,000). d1 came in and out on Sep 1: W46 is 1 / 10,000."""
    ids = east_and_west(engine, SETTINGS)
    put_deal(
        engine,
        ids["Ana"],
        "entered late",
        20_000,
        at(11, 10),
        status="won",
        stage="closed_won",
        closed=at(9, 1),
    )
    put_deal(engine, ids["Ana"], "open", 10_000, at(11, 10))
    report = flow(engine, team="east")
    w45, w46, w47 = report.weeks
    assert w46.created == cv(1, 10_000)  # was 2 / 30,000
    assert (w46.net, w46.open_pipeline) == (cv(1, 10_000), cv(1, 10_000))
    assert w45.open_pipeline == cv(0, 0) and w47.open_pipeline == cv(1, 10_000)
    assert report.created == cv(1, 10_000) and report.won == cv(0, 0)


# --- wins nobody records ---------------------------------------------------------------------


def test_wins_nobody_records_are_not_recorded_not_zero(engine: Engine) -> None:
    """No deal won, ever, up to the as-of day: the scorecard's deals won read "not recorded",
    and so does the flow (it read "won 0"). One win on Nov 12 makes them recorded."""
    build_flow_without_wins(engine, SETTINGS)
    report = flow(engine, "14d", team="East")
    assert report.wins_recorded is False
    assert report.won == cv(0, 0) and report.lost == cv(1, 8_000)
    with engine.connect() as conn:
        ana = conn.execute(select(Rep.id).where(Rep.name == "Ana")).scalar_one()
    put_deal(engine, ana, "won", 5_000, at(11, 3), status="won", stage="closed_won",
             closed=at(11, 12))  # fmt: skip
    report = flow(engine, "14d", team="East")
    assert report.wins_recorded is True and report.won == cv(1, 5_000)


def _flow_command(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The start of a `paceline flow` command on `engine` as of AS_OF (the test's config, a
    wide terminal), with the admin "root" to sign the page in as."""
    quick_user(engine, "root", "admin")
    monkeypatch.setattr(cli_out, "width", 400)
    config = tmp_path / "paceline.toml"
    config.write_text(CONFIG, encoding="utf-8")
    url = engine.url.render_as_string(hide_password=False)
    return ["--db", url, "--config", str(config), "flow", "--as-of", AS_OF.isoformat()]


def _column(rows_html: list[str], index: int) -> list[str]:
    """The text of each table row's `index`-th cell, tags dropped and spaces collapsed."""
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[index] for row in rows_html]
    return [" ".join(re.sub(r"<[^>]+>", "", cell).split()) for cell in cells]


def test_wins_nobody_records_read_not_recorded_on_every_face(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_flow_without_wins(sqlite_engine, SETTINGS)
    base = _flow_command(sqlite_engine, tmp_path, monkeypatch)
    runner = CliRunner()
    printed = runner.invoke(cli_app, [*base, "--period", "14d", "--json"])
    assert printed.exit_code == 0 and json.loads(printed.output)["wins_recorded"] is False
    table = runner.invoke(cli_app, [*base, "--period", "14d"]).output
    rows = [line for line in table.splitlines() if "2026-W4" in line or "total" in line]
    assert len(rows) == 4 and all("not recorded" in row for row in rows), table
    with TestClient(made_app(SETTINGS, sqlite_engine)) as client:
        login(client, sqlite_engine, "root")
        page = client.get("/flow", params={"period": "14d", "as_of": AS_OF.isoformat()}).text
    assert 'data-testid="won-unrecorded">not recorded</span> won, 1 lost' in page
    assert page.count('<span class="muted">not recorded</span>') == 3


def test_net_change_is_not_measurable_while_wins_are_not_recorded(engine: Engine) -> None:
    """`build_flow_without_wins`: in W45 Ana's 10,000, in W46 Ben's 8,000, lost in W47. The
    net read +1 / 10,000, +1 / 8,000, -1 / -8,000 (+1 / 10,000 in all), subtracting a won 0
    nobody measured: it is unknown, and so is the out-flow. With Ana's 5,000 won on Nov 12
    (`build_flow_with_wins`) it is measured again, by hand: in 2 / 15,000, 1 / 8,000, 0;
    out 0, 1 / 5,000, 1 / 8,000; net +2 / 15,000, 0 / 3,000, -1 / -8,000; +1 / 10,000."""
    build_flow_without_wins(engine, SETTINGS)
    report = flow(engine, "14d", team="East")
    assert report.net is None
    assert [(w.net, w.out) for w in report.weeks] == [(None, None)] * 3
    assert report.created == cv(2, 18_000) and report.lost == cv(1, 8_000)  # still known


def test_net_change_is_measured_once_a_win_is_recorded(engine: Engine) -> None:
    build_flow_with_wins(engine, SETTINGS)
    report = flow(engine, "14d", team="East")
    assert [w.net for w in report.weeks] == [cv(2, 15_000), cv(0, 3_000), cv(-1, -8_000)]
    assert report.net == cv(1, 10_000)
    assert [w.out for w in report.weeks] == [cv(0, 0), cv(1, 5_000), cv(1, 8_000)]


NET_WHY = "Net change: not measurable. The data records no won deal"


def test_net_change_reads_not_measurable_on_every_face(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The terminal, --json, the API, the page and the team report (HTML and text) showed
    +1 / 10,000, +1 / 8,000, -1 / -8,000 beside "won: not recorded"; each now says "not
    measurable" (JSON: null) and why, once, under its table."""
    build_flow_without_wins(sqlite_engine, SETTINGS)
    base = _flow_command(sqlite_engine, tmp_path, monkeypatch)
    runner = CliRunner()
    printed = runner.invoke(cli_app, [*base, "--period", "14d", "--team", "East", "--json"])
    answer = json.loads(printed.output)
    assert answer["net"] is None
    assert [(w["net"], w["out"]) for w in answer["weeks"]] == [(None, None)] * 3
    token = create_token(sqlite_engine, "root", "tests").token
    with TestClient(made_app(SETTINGS, sqlite_engine)) as client:
        reply = _api(client, token, team="East", period="14d", as_of=AS_OF.isoformat())
        assert reply.json() == answer
        login(client, sqlite_engine, "root")
        page = client.get("/flow", params={"period": "14d", "as_of": AS_OF.isoformat(),
                                           "team": "East"}).text  # fmt: skip
    table = runner.invoke(cli_app, [*base, "--period", "14d", "--team", "East"]).output
    rows = [line for line in table.splitlines() if "2026-W4" in line or "total" in line]
    assert len(rows) == 4 and all("not measurable" in row for row in rows), table
    assert "+1 / 10.0k" not in table and NET_WHY in " ".join(table.split())

    body = page[page.index('data-testid="flow-table"') :]
    rows_html = re.findall(r"<tr>\s*<th scope=\"row\".*?</tr>", body, re.S)
    assert _column(rows_html, 5) == ["not measurable"] * 3  # prospects, in, won, 2 lost, net
    assert NET_WHY in page

    r = team_report(sqlite_engine, SETTINGS, "East", AS_OF)
    text = report_text(SETTINGS, r)
    weeks = [line for line in text.splitlines() if ": created " in line]
    assert len(weeks) > 0 and all(", net not measurable, " in line for line in weeks), text
    assert NET_WHY in text
    html = report_html(SETTINGS, r, charts_too=False)
    flow_table = html[html.index("Pipeline flow</h2>") :]
    w47_row = flow_table[flow_table.index(">2026-W47</td>") :]
    w47_cells = re.findall(r"<td[^>]*>(.*?)</td>", w47_row[: w47_row.index("</tr>")], re.S)
    assert w47_cells[2:5] == ["not recorded", "1 · 8,000", "not measurable"]  # won, lost, net
    assert NET_WHY in flow_table


# --- net change: the deals its value leaves out ------------------------------------------------

UNKNOWN_NET = "(1 without an amount, not in the sum)"


def test_net_change_counts_the_deals_without_an_amount_in_and_out(engine: Engine) -> None:
    """`build_flow_unknown_amounts` by hand (tests/factories.py): W45 in nothing, won 1 of
    unknown amount; W46 in 12,000, won 20,000 and 1 unknown; W47 in 1 unknown, lost 8,000.
    Net = in - out, its value over the known amounts: -1 / 0, -1 / -8,000, +0 / -8,000, each
    leaving out 1 deal; over the window -2 / -16,000 leaving out 3. The deals left out add up
    on both sides: the net's count of them read 0 - 1 = -1 in W45 and W46 and -1 overall."""
    build_flow_unknown_amounts(engine, SETTINGS)
    report = flow(engine, "14d", team="East")
    assert [w.net for w in report.weeks] == [
        CountValue(-1, 0, 1),
        CountValue(-1, -8_000, 1),
        CountValue(0, -8_000, 1),
    ]
    assert report.net == CountValue(-2, -16_000, 3)


def test_net_change_says_what_it_leaves_out_on_every_face(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """W47 (a deal of unknown amount in, one of 8,000 lost) read "+0 -8,000" on the terminal,
    the page and the team report, as if nothing had come in; each now says that 1 deal is not
    in the value, as the cells beside it do. The team report also shows the net's value."""
    build_flow_unknown_amounts(sqlite_engine, SETTINGS)
    base = _flow_command(sqlite_engine, tmp_path, monkeypatch)
    printed = CliRunner().invoke(cli_app, [*base, "--period", "14d", "--team", "East", "--json"])
    answer = json.loads(printed.output)
    assert [w["net"] for w in answer["weeks"]] == [
        {"count": -1, "value": 0, "without_amount": 1},
        {"count": -1, "value": -8_000, "without_amount": 1},
        {"count": 0, "value": -8_000, "without_amount": 1},
    ]
    assert answer["net"] == {"count": -2, "value": -16_000, "without_amount": 3}
    table = CliRunner().invoke(cli_app, [*base, "--period", "14d", "--team", "East"]).output
    rows = {
        line[line.index("2026-W") :][:8]: line for line in table.splitlines() if "2026-W4" in line
    }
    assert "+0 / -8,000 (1 without an amount, not in the sum)" in rows["2026-W47"], table
    assert "-1 / 0 (1 without an amount, not in the sum)" in rows["2026-W45"], table
    total = next(line for line in table.splitlines() if "total" in line)
    assert "-2 / -16.0k (3 without an amount, not in the sum)" in total, table

    with TestClient(made_app(SETTINGS, sqlite_engine)) as client:
        login(client, sqlite_engine, "root")
        page = client.get("/flow", params={"period": "14d", "as_of": AS_OF.isoformat(),
                                           "team": "East"}).text  # fmt: skip
    body = page[page.index('data-testid="flow-table"') :]
    rows_html = re.findall(r"<tr>\s*<th scope=\"row\".*?</tr>", body, re.S)
    net_cells = _column(rows_html, 5)  # prospects, in, won, closed lost, disqualified, net
    assert net_cells == [
        f"-1 0 {UNKNOWN_NET}",
        f"-1 -8,000 {UNKNOWN_NET}",
        f"+0 -8,000 {UNKNOWN_NET}",
    ]
    # Open at each week's end (the builder's table): 3 (28,000 known, "won too" unknown), 2
    # (20,000), 2 (12,000 known, "new, amount unknown"); the page said "3 28k" as if all
    # were counted.
    assert _column(rows_html, 6) == [f"3 28k {UNKNOWN_NET}", "2 20k", f"2 12k {UNKNOWN_NET}"]

    r = team_report(sqlite_engine, SETTINGS, "East", AS_OF)
    w47 = next(line for line in report_text(SETTINGS, r).splitlines() if "2026-W47:" in line)
    assert f"net +0 / -8,000 {UNKNOWN_NET}" in w47 and f"created 1 / 0 {UNKNOWN_NET}" in w47
    assert w47.endswith(f"open 2 / 12,000 {UNKNOWN_NET}"), w47  # it said "open 2 / 12,000"
    html = report_html(SETTINGS, r)
    flow_table = html[html.index("Pipeline flow</h2>") :]
    w47_row = flow_table[flow_table.index(">2026-W47</td>") :]
    w47_cells = re.findall(r"<td[^>]*>(.*?)</td>", w47_row[: w47_row.index("</tr>")], re.S)
    assert w47_cells[1:6] == [
        f"1 · 0 {UNKNOWN_NET}",
        "0 · 0",
        "1 · 8,000",
        f"+0 · -8,000 {UNKNOWN_NET}",
        f"2 · 12,000 {UNKNOWN_NET}",
    ]  # created, won, lost, net, open at the week's end
