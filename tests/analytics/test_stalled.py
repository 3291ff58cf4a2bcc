"""Stalled deals, by hand, on SQLite and PostgreSQL; then the demo, the CLI, the API, the page.

Settings: the defaults with `min_stage_samples = 5` (so five stays make a trusted percentile).
Calendar: New York; Thanksgiving (Thu Nov 26) and the day after (Fri Nov 27) are holidays.
As of Wednesday 2026-12-02; its end is 2026-12-03 05:00 UTC. Times are 17:00 UTC (noon in
New York) unless said otherwise.

Teams: East = Ana, Ben, Cy (AEs; Cy owns no deal) and Max (manager); West = Dee (AE).

Finished stays in `qualification`, the basis of the percentile:
- East: five deals of Ben, lost after 2, 4, 6, 8 and 10 days there. The 90th percentile
  (NumPy's default, linear interpolation: position 0.9 x (5 - 1) = 3.6 between the sorted
  stays 8 and 10) is 8 + 0.6 x 2 = 9.2 days.
- West: five deals of Dee, won after 100 days there. Everyone's ten stays give position
  0.9 x 9 = 8.1 between 100 and 100: 100 days.
Stays that end after the as-of day (deals D and G below) are not finished: 5 East samples.

Open deals at the as-of day:
  A  Ana  50,000  prospect Nov 2 -> qualification Nov 9; selling call on the deal Nov 20.
     Idle: Nov 23, 24, 25, 30, Dec 1, 2 = 6 business days (Thanksgiving and a weekend
     skipped). 23.5 days in qualification: > 9.2 (East) but < 100 (everyone).
  B  Ana  20,000  created Nov 12, qualification Nov 25 (7.5 days). Last selling: Ana's call
     on the account (no deal named) Nov 16; later Ben's selling call on the account, Ana's
     call without an Ask and her admin "ask" do not count. Idle: Nov 17-20 (4), 23-25 (3),
     Nov 30-Dec 2 (3) = 10: stalled (10 or more).
  C  Ben  0       created Nov 10, no stage history, no activity at all: prospect for 22.5
     days (prospect has 3 stays, of A, B and D: no percentile). Idle from creation:
     3 + 5 + 3 + 3 = 14.
  D  Ben  10,000  prospect Nov 3 -> qualification Nov 6 -> proposal Dec 10 (future: the
     deal row already says proposal). Selling call Nov 13 and another Dec 5 (future).
     Idle: 5 + 3 + 3 = 11; 26.5 days in qualification.
  E  Dee  5,000   created Nov 30, nothing else: idle 2.
  G  Ana  7,000   qualification Nov 30, won Dec 10 (future): open at the as-of day; selling
     call on Dec 1: idle 1.
Closed before the as-of day (not open): F (Ana, won Nov 20) and the ten stay deals.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, Select, and_, func, or_, select, update
from typer.testing import CliRunner

from factories import (
    account,
    at,
    east_and_west,
    login,
    made_app,
    put_activity,
    put_deal,
    quick_user,
)
from paceline.analytics.diagnose import diagnose_rep, diagnose_team
from paceline.analytics.metric_sql import selling_condition
from paceline.analytics.stalled import StalledReport, stalled_deals
from paceline.analytics.window import diagnosis_window
from paceline.auth.accounts import create_token
from paceline.cli import app as cli_app
from paceline.cli import out as cli_out
from paceline.config import Settings, default_config_text, parse_settings
from paceline.errors import UserInputError
from paceline.serialize import to_jsonable
from paceline.store.models import Activity, Deal, Rep

AS_OF = dt.date(2026, 12, 2)
CONFIG = default_config_text().replace("min_stage_samples = 10", "min_stage_samples = 5")
SETTINGS = parse_settings(CONFIG)
EAST_BAR = 9.2
EVERYONE_BAR = 100.0


# --- building data (used by test_flow too) ---------------------------------------------------


@dataclass(frozen=True)
class World:
    engine: Engine
    reps: dict[str, int]
    deals: dict[str, int]


def build(engine: Engine) -> World:
    reps = east_and_west(engine, SETTINGS)
    ana, ben, dee = reps["Ana"], reps["Ben"], reps["Dee"]
    for n, days in enumerate((2, 4, 6, 8, 10)):
        start = at(9, 1 + n)
        put_deal(engine, ben, f"East stay {days}", 1000, at(8, 20), status="lost", closed=start
             + dt.timedelta(days=days), history=[("qualification", start),
             ("closed_lost", start + dt.timedelta(days=days))])  # fmt: skip
        put_deal(engine, dee, f"West stay {n}", 1000, at(6, 1), status="won", closed=at(9, 9),
             history=[("qualification", at(6, 1)), ("closed_won", at(9, 9))])  # fmt: skip
    acme, beta, gamma, delta = (account(engine, n) for n in ("Acme", "Beta", "Gamma", "Delta"))
    ids = {
        "A": put_deal(engine, ana, "Acme renewal", 50_000, at(11, 2), account_id=acme,
                  history=[("prospect", at(11, 2)), ("qualification", at(11, 9))]),
        "B": put_deal(engine, ana, "Beta platform", 20_000, at(11, 12), account_id=beta,
                  history=[("prospect", at(11, 12)), ("qualification", at(11, 25))]),
        "C": put_deal(engine, ben, "Gamma pilot", 0, at(11, 10), account_id=gamma),
        "D": put_deal(engine, ben, "Delta upgrade", 10_000, at(11, 3), account_id=delta,
                  history=[("prospect", at(11, 3)), ("qualification", at(11, 6)),
                           ("proposal", at(12, 10))]),
        "E": put_deal(engine, dee, "Echo", 5_000, at(11, 30)),
        "F": put_deal(engine, ana, "Foxtrot", 9_000, at(10, 1), status="won", closed=at(11, 20),
                  history=[("negotiation", at(11, 1)), ("closed_won", at(11, 20))]),
        "G": put_deal(engine, ana, "Golf", 7_000, at(11, 20), status="won", closed=at(12, 10),
                  history=[("qualification", at(11, 30)), ("closed_won", at(12, 10))]),
    }  # fmt: skip
    put_activity(engine, ana, at(11, 20), deal_id=ids["A"], account_id=acme)
    put_activity(engine, ana, at(11, 16), account_id=beta)
    put_activity(engine, ben, at(11, 30), account_id=beta)  # not the owner
    put_activity(engine, ana, at(11, 30), deal_id=ids["B"], account_id=beta, ask=False)
    put_activity(engine, ana, at(12, 1), deal_id=ids["B"], account_id=beta, kind="admin")
    put_activity(engine, ben, at(11, 13), deal_id=ids["D"], account_id=delta)
    put_activity(engine, ben, at(12, 5), deal_id=ids["D"], account_id=delta)  # after the as-of day
    put_activity(engine, ana, at(12, 1), deal_id=ids["G"])
    return World(engine, reps, ids)


@pytest.fixture
def world(engine: Engine) -> World:
    return build(engine)


# --- by hand ---------------------------------------------------------------------------------


def _deals(report: StalledReport) -> dict[str, Any]:
    return {d.name: d for d in report.deals}


def test_team_by_hand(world: World) -> None:
    report = stalled_deals(world.engine, SETTINGS, AS_OF, team="east")
    assert report.team == "East"
    assert (report.open_deals, report.open_value) == (5, 87_000)  # A, B, C, D, G
    assert [d.name for d in report.deals] == [
        "Acme renewal",
        "Beta platform",
        "Delta upgrade",
        "Gamma pilot",
    ]
    found = _deals(report)
    a, b, c, d = (
        found[n] for n in ("Acme renewal", "Beta platform", "Gamma pilot", "Delta upgrade")
    )
    assert a.reasons == ["long_in_stage"]
    assert a.stage == "qualification" and a.stage_since == dt.date(2026, 11, 9)
    assert a.days_in_stage == pytest.approx(23.5)
    assert a.stage_percentile_days == pytest.approx(EAST_BAR)
    assert (a.last_selling_day, a.idle_business_days) == (dt.date(2026, 11, 20), 6)
    assert b.reasons == ["no_selling_activity"]
    assert (b.last_selling_day, b.idle_business_days) == (dt.date(2026, 11, 16), 10)
    assert b.days_in_stage == pytest.approx(7.5)
    assert c.reasons == ["no_selling_activity"]
    assert (c.last_selling_day, c.idle_business_days, c.amount) == (None, 14, 0)
    assert (c.stage, c.stage_percentile_days) == ("prospect", None)
    assert c.days_in_stage == pytest.approx(22.5)
    assert d.reasons == ["no_selling_activity", "long_in_stage"]
    assert (d.last_selling_day, d.idle_business_days) == (dt.date(2026, 11, 13), 11)
    assert d.stage == "qualification" and d.days_in_stage == pytest.approx(26.5)
    assert (a.rep, a.team, a.account) == ("Ana", "East", "Acme")
    assert [(r.rep, r.count, r.value, r.open_deals, r.open_value) for r in report.by_rep] == [
        ("Ana", 2, 70_000, 3, 77_000),
        ("Ben", 2, 10_000, 2, 10_000),
    ]
    assert [d.name for d in report.by_rep[1].deals] == ["Delta upgrade", "Gamma pilot"]
    assert (report.count, report.value) == (4, 80_000)
    stages = {n.stage: n for n in report.stages}
    assert (stages["qualification"].samples, stages["qualification"].days) == (5, EAST_BAR)
    assert (stages["prospect"].samples, stages["prospect"].days) == (3, None)  # A, B, D


def test_everyone_reads_every_deal_for_the_percentile(world: World) -> None:
    report = stalled_deals(world.engine, SETTINGS, AS_OF)
    assert (report.team, report.rep) == (None, None)
    assert (report.open_deals, report.open_value) == (6, 92_000)
    assert {n.stage: (n.samples, n.days) for n in report.stages}["qualification"] == (
        10,
        pytest.approx(EVERYONE_BAR),
    )
    found = _deals(report)
    assert list(found) == ["Beta platform", "Delta upgrade", "Gamma pilot"]  # A: 23.5 < 100
    assert found["Delta upgrade"].reasons == ["no_selling_activity"]
    dee = next(r for r in report.by_rep if r.rep == "Dee")
    assert (dee.count, dee.value, dee.open_deals, dee.open_value) == (0, 0, 1, 5_000)
    assert "Cy" not in {r.rep for r in report.by_rep}  # owns nothing


def test_a_rep_is_judged_against_their_team(world: World) -> None:
    report = stalled_deals(world.engine, SETTINGS, AS_OF, rep="ana")
    assert (report.rep, report.team) == ("Ana", "East")
    assert [d.name for d in report.deals] == ["Acme renewal", "Beta platform"]
    assert [(r.rep, r.count, r.open_deals) for r in report.by_rep] == [("Ana", 2, 3)]


def test_a_rep_with_no_deals(world: World) -> None:
    report = stalled_deals(world.engine, SETTINGS, AS_OF, rep="Cy")
    assert (report.open_deals, report.open_value, report.deals) == (0, 0, [])
    assert [(r.rep, r.count, r.value, r.open_deals) for r in report.by_rep] == [("Cy", 0, 0, 0)]


def test_later_data_is_ignored(world: World) -> None:
    """Earlier as-of days see the world as it was; the future never leaks in."""
    before = stalled_deals(world.engine, SETTINGS, dt.date(2026, 11, 20), team="East")
    found = {d.name: d for d in before.deals}
    # Nov 20 (ends Nov 21 05:00 UTC): F closes that day; G exists (created 12:00 New York)
    # and its history starts only on Nov 30: in its first known stage since creation.
    # A was touched that day (idle 0) but has been in qualification 11.5 days > 9.2; D 14.5
    # days (idle Nov 16-20 = 5); B is still a prospect (idle 4); C idle Nov 11-13, 16-20 = 8.
    assert before.open_deals == 5
    assert {n: d.reasons for n, d in found.items()} == {
        "Acme renewal": ["long_in_stage"],
        "Delta upgrade": ["long_in_stage"],
    }
    assert found["Acme renewal"].idle_business_days == 0
    assert found["Delta upgrade"].idle_business_days == 5
    assert found["Delta upgrade"].days_in_stage == pytest.approx(14.5)
    # Finished by then: A's and D's prospect stays (not B's), the five East ones, F's.
    stays = {n.stage: n.samples for n in before.stages}
    assert stays == {"prospect": 2, "qualification": 5, "negotiation": 1}
    golf = stalled_deals(world.engine, SETTINGS, dt.date(2026, 11, 20), rep="Ana")
    assert golf.by_rep[0].open_deals == 3  # A, B, G
    # After everything: D moved to proposal and G closed; the Dec 5 call touched D.
    after = stalled_deals(world.engine, SETTINGS, dt.date(2026, 12, 11), team="East")
    d = next(x for x in after.by_rep if x.rep == "Ben")
    assert d.open_deals == 2
    assert after.open_deals == 4  # A, B, C, D (G won on Dec 10)
    assert {n.stage: n.samples for n in after.stages}["qualification"] == 7  # + D's and G's


def test_an_open_deal_whose_only_known_stage_is_closed_has_no_stage_then(
    engine: Engine,
) -> None:
    """A CRM that keeps only a deal's final stage (the Zoho export): Dee's deal was created
    on Oct 1 and won on Dec 10, and its one stage-history row is closed_won on Dec 10. On
    Nov 20 it was open (stalled: no selling since creation), in a stage nobody knows: not
    "closed won". Its days count from creation (17:00 UTC is 13:00 in New York in October,
    EDT: 50 days and 11 hours to the end of Nov 20, as the local clock reads them; as hours
    over 24 it read 50.5, the hour daylight saving time gave back counted as a day's part),
    and no stage's norm applies to it."""
    dee = east_and_west(engine, SETTINGS)["Dee"]
    created, won = at(10, 1), at(12, 10)
    put_deal(engine, dee, "Final stage only", 9_000, created, status="won",
             stage="closed_won", closed=won, history=[("closed_won", won)])  # fmt: skip
    report = stalled_deals(engine, SETTINGS, dt.date(2026, 11, 20), rep="Dee")
    assert report.open_deals == 1
    [deal] = report.deals
    assert (deal.name, deal.stage, deal.reasons) == (
        "Final stage only",
        None,
        ["no_selling_activity"],
    )
    assert (deal.stage_since, deal.days_in_stage) == (
        dt.date(2026, 10, 1),
        pytest.approx(50 + 11 / 24),
    )
    assert deal.stage_percentile_days is None
    assert [n.stage for n in report.stages] == []
    # After it was won it is no open deal at all.
    assert stalled_deals(engine, SETTINGS, dt.date(2026, 12, 11), rep="Dee").open_deals == 0


def test_a_team_reads_the_deals_of_its_manager_and_of_a_rep_who_left(world: World) -> None:
    """A team's pipeline is every deal its people own, not only its selling reps': Max
    (East's manager) owns Hotel, 3,000, created Nov 16, no activity: idle Nov 17-20 (4),
    23-25 (3), Nov 30-Dec 2 (3) = 10 business days. Cy left East on Nov 20 and his India
    deal (created Nov 2, amount not recorded) was never reassigned: idle Nov 3-6 (4), 9-13 (5),
    16-20 (5), 23-25 (3), Nov 30-Dec 2 (3) = 20. Both are stalled East deals (the team's five
    others: 87,000 open), listed under their owners; neither was before (East read 5 open
    deals, as if neither existed, where everyone's report had them)."""
    max_, cy = world.reps["Max"], world.reps["Cy"]
    put_deal(world.engine, max_, "Hotel", 3_000, at(11, 16))
    put_deal(world.engine, cy, "India", None, at(11, 2))
    with world.engine.begin() as conn:
        conn.execute(update(Rep).where(Rep.id == cy).values(end_date=dt.date(2026, 11, 20)))
    report = stalled_deals(world.engine, SETTINGS, AS_OF, team="East")
    assert (report.open_deals, report.open_value, report.open_without_amount) == (7, 90_000, 1)
    assert [d.name for d in report.deals] == [
        "Acme renewal",
        "Beta platform",
        "Delta upgrade",
        "Hotel",
        "Gamma pilot",
        "India",
    ]
    found = _deals(report)
    assert (found["Hotel"].rep, found["Hotel"].idle_business_days) == ("Max", 10)
    assert (found["India"].rep, found["India"].idle_business_days) == ("Cy", 20)
    assert [(r.rep, r.count, r.value, r.without_amount) for r in report.by_rep] == [
        ("Ana", 2, 70_000, 0),
        ("Ben", 2, 10_000, 0),
        ("Max", 1, 3_000, 0),
        ("Cy", 1, 0, 1),
    ]
    west = stalled_deals(world.engine, SETTINGS, AS_OF, team="West")
    everyone = stalled_deals(world.engine, SETTINGS, AS_OF)
    assert (west.open_deals, everyone.open_deals) == (1, 8)  # E; East's 7 and E


def test_a_deal_lost_then_reopened_was_open_while_it_was_lost(engine: Engine) -> None:
    """Dee's deal: qualification Oct 1, lost Nov 5, reopened into qualification Nov 23 (the
    row says open, no close date: only today is known). The loss was undone (`reopened`, the
    rule of the flow and the forecast too): on Friday Nov 20 it was open, in qualification
    since Oct 1, and stalled (no selling ever). Earlier on 2026-12-07 it was left out as lost
    that day while the flow counted it open (before that: open, "stage not recorded"). On
    Dec 2 it is open, in qualification since Nov 23 17:00 UTC: 9.5 days to
    Dec 3 05:00 UTC."""
    dee = east_and_west(engine, SETTINGS)["Dee"]
    put_deal(engine, dee, "Reopened", 4_000, at(10, 1), stage="qualification",
             history=[("qualification", at(10, 1)), ("closed_lost", at(11, 5)),
                      ("qualification", at(11, 23))])  # fmt: skip
    lost = stalled_deals(engine, SETTINGS, dt.date(2026, 11, 20), team="West")
    assert (lost.open_deals, lost.open_value) == (1, 4_000)
    [then] = lost.deals
    assert (then.stage, then.stage_since) == ("qualification", dt.date(2026, 10, 1))
    again = stalled_deals(engine, SETTINGS, AS_OF, team="West")
    assert again.open_deals == 1
    [deal] = again.deals
    assert (deal.stage, deal.stage_since) == ("qualification", dt.date(2026, 11, 23))
    assert deal.days_in_stage == pytest.approx(9.5)


def test_empty_scope_and_empty_database(engine: Engine) -> None:
    east_and_west(engine, SETTINGS)
    report = stalled_deals(engine, SETTINGS, AS_OF)
    assert (report.open_deals, report.deals, report.by_rep, report.stages) == (0, [], [], [])
    assert (report.count, report.value) == (0, 0)
    west = stalled_deals(engine, SETTINGS, AS_OF, team="West")
    assert (west.team, west.deals, west.by_rep) == ("West", [], [])


def test_unknown_names_are_clear_errors(world: World) -> None:
    with pytest.raises(UserInputError, match=r"^team: no team named 'Eats'; did you mean 'East'"):
        stalled_deals(world.engine, SETTINGS, AS_OF, team="Eats")
    with pytest.raises(UserInputError, match=r"^rep: no selling rep named 'Anna'"):
        stalled_deals(world.engine, SETTINGS, AS_OF, rep="Anna")
    with pytest.raises(UserInputError, match=r"^rep: "):  # Dee is not in East
        stalled_deals(world.engine, SETTINGS, AS_OF, rep="Dee", team="East")


def test_default_threshold_needs_ten_stays(world: World, settings: Settings) -> None:
    """With the shipped minimum of 10 stays, East's five do not make a percentile."""
    report = stalled_deals(world.engine, settings, AS_OF, team="East")
    assert {n.stage: n.days for n in report.stages}["qualification"] is None
    assert [d.name for d in report.deals] == ["Beta platform", "Delta upgrade", "Gamma pilot"]
    assert all(d.reasons == ["no_selling_activity"] for d in report.deals)


# --- the demo --------------------------------------------------------------------------------


def _last_selling_query(
    settings: Settings, today: dt.date, deal_id: int, rep_id: int, account_id: int
) -> Select[Any]:
    return select(func.max(Activity.local_date)).where(
        selling_condition(settings),
        Activity.local_date <= today,
        or_(
            Activity.deal_id == deal_id,
            and_(Activity.account_id == account_id, Activity.rep_id == rep_id),
        ),
    )


def test_demo_stalled_deals(demo_org: tuple[Engine, dict[str, Any]], settings: Settings) -> None:
    engine, truth = demo_org
    today = dt.date.fromisoformat(truth["today"])
    report = stalled_deals(engine, settings, today)
    assert report.deals, "the demo has stalled deals"
    rules = settings.diagnose.stalled
    bars = {n.stage: n.days for n in report.stages}
    for d in report.deals:
        assert d.reasons
        if "no_selling_activity" in d.reasons:
            assert d.idle_business_days >= rules.business_days
        if "long_in_stage" in d.reasons:
            assert d.days_in_stage > (bars[d.stage] or float("inf"))
    with engine.connect() as conn:
        open_now = conn.execute(
            select(func.count(), func.sum(Deal.amount)).where(Deal.status == "open")
        ).one()
        # Spot-check last selling days against a direct (slow, OR-joined) query.
        for d in report.deals[:5]:
            rep_id, account_id = conn.execute(
                select(Deal.rep_id, Deal.account_id).where(Deal.id == d.deal_id)
            ).one()
            day = conn.scalar(_last_selling_query(settings, today, d.deal_id, rep_id, account_id))
            expected = None if day is None else dt.date.fromisoformat(str(day))
            assert d.last_selling_day == expected
    assert (report.open_deals, report.open_value) == (open_now[0], float(open_now[1]))
    # The closer planted behind this month also moves deals less: the most stalled value.
    assert report.by_rep[0].rep in truth["planted"]["behind_this_month"]


# --- faces -----------------------------------------------------------------------------------


@pytest.fixture
def faces(sqlite_engine: Engine) -> Iterator[tuple[World, TestClient, dict[str, str]]]:
    world = build(sqlite_engine)
    quick_user(sqlite_engine, "root", "admin")
    quick_user(sqlite_engine, "max", "manager", rep="Max")
    quick_user(sqlite_engine, "ana", "rep", rep="Ana")
    tokens = {u: create_token(sqlite_engine, u, "tests").token for u in ("root", "max", "ana")}
    with TestClient(made_app(SETTINGS, sqlite_engine)) as client:
        yield world, client, tokens


def _api(client: TestClient, token: str, path: str, **params: str) -> Any:
    return client.get(f"/api/v1{path}", params=params, headers={"Authorization": f"Bearer {token}"})


def test_cli_json_matches_the_api(
    faces: tuple[World, TestClient, dict[str, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world, client, tokens = faces
    monkeypatch.setattr(cli_out, "width", 400)  # one line per table row, for matching
    config = tmp_path / "paceline.toml"
    config.write_text(CONFIG, encoding="utf-8")
    url = world.engine.url.render_as_string(hide_password=False)
    base = ["--db", url, "--config", str(config), "stalled", "--as-of", AS_OF.isoformat()]
    runner = CliRunner()
    printed = runner.invoke(cli_app, [*base, "--json", "--team", "East"])
    assert printed.exit_code == 0, printed.output
    answer = _api(client, tokens["max"], "/stalled", as_of=AS_OF.isoformat())
    assert answer.status_code == 200
    assert answer.json() == json.loads(printed.output)
    assert answer.json()["count"] == 4
    table = runner.invoke(cli_app, [*base, "--team", "East"])
    assert table.exit_code == 0, table.output
    text = table.output
    assert "no selling activity for 14 business days (none since created 2026-11-10)" in text
    assert "no selling activity for 10 business days" in text
    assert "23.5 days in qualification (usual: at most 9.2)" in text
    bad = runner.invoke(cli_app, [*base, "--team", "Nowhere"])
    assert bad.exit_code == 1 and "team: no team named 'Nowhere'" in bad.output


def test_api_scopes(faces: tuple[World, TestClient, dict[str, str]]) -> None:
    _, client, tokens = faces
    day = AS_OF.isoformat()
    mine = _api(client, tokens["ana"], "/stalled", as_of=day).json()
    assert (mine["rep"], [d["rep"] for d in mine["deals"]]) == ("Ana", ["Ana", "Ana"])
    assert _api(client, tokens["ana"], "/stalled", rep="Ana", as_of=day).status_code == 200
    assert _api(client, tokens["ana"], "/stalled", rep="Ben").status_code == 403
    assert _api(client, tokens["ana"], "/stalled", team="East").status_code == 403
    assert _api(client, tokens["max"], "/stalled", team="West").status_code == 403
    assert _api(client, tokens["max"], "/stalled", rep="Dee").status_code == 403
    ben = _api(client, tokens["max"], "/stalled", rep="Ben", as_of=day).json()
    assert [d["name"] for d in ben["deals"]] == ["Delta upgrade", "Gamma pilot"]
    everyone = _api(client, tokens["root"], "/stalled", as_of=day).json()
    assert (everyone["team"], everyone["open_deals"]) == (None, 6)
    unknown = _api(client, tokens["root"], "/stalled", rep="Zed")
    assert unknown.status_code == 404  # a name that does not exist: not found, as on the page
    assert unknown.json()["detail"][0]["loc"] == ["query", "rep"]
    bad_day = _api(client, tokens["root"], "/stalled", as_of="2026-13-01")
    assert bad_day.status_code == 422


def test_page(faces: tuple[World, TestClient, dict[str, str]]) -> None:
    world, client, _ = faces
    login(client, world.engine, "max")
    page = client.get("/stalled", params={"as_of": AS_OF.isoformat()})
    assert page.status_code == 200
    assert "Team East" in page.text
    assert page.text.count('data-testid="stalled-deals"') == 2  # Ana's and Ben's tables
    assert re.search(r"No selling activity for <strong>14</strong> business days", page.text)
    assert client.get("/stalled", params={"team": "West"}).status_code == 403
    assert client.get("/stalled", params={"rep": "Nobody"}).status_code == 404
    login(client, world.engine, "ana")
    own = client.get("/stalled", params={"as_of": AS_OF.isoformat()})
    assert own.status_code == 200 and "Gamma pilot" not in own.text and "Acme renewal" in own.text
    assert client.get("/stalled", params={"rep": "Ben"}).status_code == 403
    client.cookies.clear()
    assert client.get("/stalled", follow_redirects=False).status_code in (302, 303, 307)


def test_days_in_stage_are_local_days_across_daylight_saving(engine: Engine) -> None:
    """Midnight to midnight in New York is whole days, whatever the season.

    By hand: "Spring" entered prospect at midnight on 8 March 2020, EST (05:00 UTC); at the
    end of 17 March 2021 (EDT, 04:00 UTC on the 18th) it is 365 + 10 = 375 days in it (it
    read 374.96). Five of Dee's deals stayed in qualification from midnight on 1 February
    2021 (EST) to midnight on 31 March (EDT): 28 + 30 = 58 days each (57.96 as hours over 24),
    so the bar is 58 days. "Summer" entered qualification at midnight on 1 June 2021 (EDT):
    at the end of 28 July, 30 + 28 = 58 days, not more than the bar, so it is not long in its
    stage (it was: 58 > 57.96).
    """
    reps = east_and_west(engine, SETTINGS)
    winter, spring = dt.datetime(2021, 2, 1, 5), dt.datetime(2021, 3, 31, 4)
    for n in range(5):
        put_deal(engine, reps["Dee"], f"Stay {n}", 1000, winter, status="lost", closed=spring,
                 history=[("qualification", winter), ("closed_lost", spring)])  # fmt: skip
    put_deal(engine, reps["Ana"], "Spring", 1000, dt.datetime(2020, 3, 8, 5),
             history=[("prospect", dt.datetime(2020, 3, 8, 5))])  # fmt: skip
    summer = dt.datetime(2021, 6, 1, 4)
    put_deal(engine, reps["Ana"], "Summer", 1000, summer, history=[("qualification", summer)])
    early = _deals(stalled_deals(engine, SETTINGS, dt.date(2021, 3, 17)))
    assert early["Spring"].days_in_stage == 375.0  # was 374.958
    later = stalled_deals(engine, SETTINGS, dt.date(2021, 7, 28))
    assert {n.stage: n.days for n in later.stages}["qualification"] == 58.0  # was 57.958
    judged = _deals(later)
    assert "Summer" not in judged or "long_in_stage" not in judged["Summer"].reasons


def test_a_diagnosis_of_everyone_judges_each_rep_against_their_team(world: World) -> None:
    """Ana's "Acme renewal", 23.5 days in qualification, is stalled against East's bar (9.2
    days) and not against everyone's (100). Her brief and East's page call it stalled; the
    diagnosis of the whole organisation read everyone's bar and left it out (1 stalled deal
    of 20,000 where her brief says 2 of 70,000). Dee, West's only rep, keeps West's bar."""
    window = diagnosis_window(SETTINGS, "90d", AS_OF)
    everyone = {d.rep: d.stalled for d in diagnose_team(world.engine, SETTINGS, window).reps}
    alone = diagnose_rep(world.engine, SETTINGS, window, "Ana").stalled
    ana = everyone["Ana"]
    assert ana is not None and alone is not None
    assert [d.name for d in ana.deals] == ["Acme renewal", "Beta platform"]
    assert (ana.count, ana.value) == (2, 70_000)
    assert to_jsonable(ana) == to_jsonable(alone)
    dee = everyone["Dee"]
    assert dee is not None and (dee.count, dee.open_deals) == (0, 1)
