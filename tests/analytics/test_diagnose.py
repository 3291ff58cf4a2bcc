"""`paceline diagnose`: the planted truths of the demo found, and every face agreeing.

The demo (seed 7, today 2026-11-18) plants one broken step in four reps; over the last year
the diagnosis must name each one's weak spot and give the coaching meant for it. The hand-
built coaching team (`factories.build_coaching_team`) checks the assembly on both databases.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from factories import AS_OF, Org, build_coaching_team, demo_login
from paceline.analytics.diagnose import RepDiagnosis, diagnose_rep, diagnose_team, rep_coaching
from paceline.analytics.funnel import funnel
from paceline.analytics.window import diagnosis_window
from paceline.cli import app
from paceline.config import Settings
from paceline.errors import UserInputError
from paceline.serialize import to_jsonable

TODAY = dt.date(2026, 11, 18)


@pytest.fixture(scope="module")
def year(demo_org: tuple[Engine, dict[str, Any]], settings: Settings) -> dict[str, RepDiagnosis]:
    engine, _ = demo_org
    window = diagnosis_window(settings, "365d", TODAY)
    return {d.rep: d for d in diagnose_team(engine, settings, window).reps}


def _kinds(d: RepDiagnosis) -> set[tuple[str, str]]:
    return {(f.kind, f.subject) for f in d.findings}


def _hints(d: RepDiagnosis) -> list[str]:
    return [h.rule for h in d.coaching.hints]


def test_weak_calls_to_meetings_rep_gets_targeting_coaching(
    year: dict[str, RepDiagnosis], demo_org: tuple[Engine, dict[str, Any]]
) -> None:
    d = year[demo_org[1]["planted"]["weak_call_to_meeting"]]
    assert ("weak_step", "conversations->meetings_set") in _kinds(d)
    assert "targeting" in _hints(d)
    targeting = next(h for h in d.coaching.hints if h.rule == "targeting")
    assert targeting.volume is not None and targeting.volume.ok  # calls are not the problem


def test_weak_proposals_to_wins_rep_gets_proposal_coaching(
    year: dict[str, RepDiagnosis], demo_org: tuple[Engine, dict[str, Any]]
) -> None:
    d = year[demo_org[1]["planted"]["weak_proposal_to_win"]]
    assert ("weak_step", "proposals->deals_won") in _kinds(d)
    assert ("holding_back", "wins_per_activity") in _kinds(d)
    assert _hints(d) == ["proposal_coaching"]


def test_high_volume_low_engagement_rep_is_told_quality_over_volume(
    year: dict[str, RepDiagnosis], demo_org: tuple[Engine, dict[str, Any]]
) -> None:
    d = year[demo_org[1]["planted"]["high_volume_low_engagement"]]
    assert ("flag", "high_volume_low_engagement") in _kinds(d)
    assert "activity_quality" in _hints(d)
    assert "list_quality" in _hints(d)  # 1.2% connect: the calls do not reach anyone


def test_low_selling_time_rep_gets_time_management(
    year: dict[str, RepDiagnosis], demo_org: tuple[Engine, dict[str, Any]]
) -> None:
    d = year[demo_org[1]["planted"]["low_selling_time"]]
    assert ("flag", "low_selling_time") in _kinds(d)
    assert "time_management" in _hints(d)


def test_flags_and_their_coaching_go_to_the_planted_reps_only(
    year: dict[str, RepDiagnosis], demo_org: tuple[Engine, dict[str, Any]]
) -> None:
    planted = demo_org[1]["planted"]
    flagged = {(d.rep, f.subject) for d in year.values() for f in d.findings if f.kind == "flag"}
    assert flagged == {
        (planted["high_volume_low_engagement"], "high_volume_low_engagement"),
        (planted["low_selling_time"], "low_selling_time"),
    }
    coached = {
        d.rep for d in year.values() if {"time_management", "activity_quality"} & set(_hints(d))
    }
    assert coached == {planted["high_volume_low_engagement"], planted["low_selling_time"]}


def test_reps_behind_this_month_carry_their_alert(
    year: dict[str, RepDiagnosis], demo_org: tuple[Engine, dict[str, Any]]
) -> None:
    alerted = {d.rep for d in year.values() if any(f.kind == "alert" for f in d.findings)}
    assert alerted == set(demo_org[1]["planted"]["behind_this_month"])


def test_one_rep_equals_that_rep_in_the_team_diagnosis(
    year: dict[str, RepDiagnosis], demo_org: tuple[Engine, dict[str, Any]], settings: Settings
) -> None:
    engine, truth = demo_org
    name = truth["planted"]["weak_proposal_to_win"]
    window = diagnosis_window(settings, "365d", TODAY)
    one = diagnose_rep(engine, settings, window, name)
    alone, in_team = to_jsonable(one), to_jsonable(year[name])
    # One rep's brief adds the median days between steps; a team's skips them (cost).
    assert any(step["median_days"] is not None for step in alone["funnel"]["steps"])
    assert all(step["median_days"] is None for step in in_team["funnel"]["steps"])
    for brief in (alone, in_team):
        steps = [*brief["funnel"]["steps"], *brief["funnel"]["weak_steps"]]
        steps += [brief["funnel"]["weakest"]] if brief["funnel"]["weakest"] else []
        for step in steps:
            for key in ("median_days", "median_accounts", "peer_median_days"):
                step.pop(key)
            step.pop("peer_median_accounts")
    assert alone == in_team
    assert to_jsonable(rep_coaching(engine, settings, window, name)) == to_jsonable(one.coaching)
    without_timing = funnel(engine, settings, window, rep=name, timing=False)
    assert to_jsonable(without_timing) == to_jsonable(year[name].funnel)


def test_cli_brief_and_json(
    demo_org: tuple[Engine, dict[str, Any]], settings: Settings, year: dict[str, RepDiagnosis]
) -> None:
    engine, truth = demo_org
    name = truth["planted"]["weak_proposal_to_win"]
    base = ["--db", str(engine.url), "diagnose", "--period", "365d", "--as-of", "2026-11-18"]
    runner = CliRunner()
    shown = runner.invoke(app, [*base, "--rep", name])
    assert shown.exit_code == 0, shown.output
    assert "Proposal coaching" in shown.output
    assert "Weak step proposals sent → deals won" in shown.output
    as_json = runner.invoke(app, [*base, "--rep", name, "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output) == to_jsonable(
        diagnose_rep(engine, settings, diagnosis_window(settings, "365d", TODAY), name)
    )
    team = runner.invoke(app, [*base, "--team", "Field"])
    assert team.exit_code == 0, team.output
    assert "Time management" in team.output
    for bad, message in (
        (["--rep", "Nobody Here"], "no selling rep named 'Nobody Here'"),
        (["--team", "Nowhere"], "no team named 'Nowhere'"),
        (["--rep", name, "--team", "Field"], "not both"),
        (["--period", "fortnight"], "period"),
    ):
        refused = runner.invoke(app, [*base, *bad])
        assert refused.exit_code == 1
        assert message in refused.output


# --- the hand-built team on both databases ---------------------------------------------------


def test_hand_built_team_diagnosis(engine: Engine, settings: Settings) -> None:
    build_coaching_team(engine, settings)
    window = diagnosis_window(settings, "month", AS_OF)
    team = diagnose_team(engine, settings, window, "East")
    assert [d.rep for d in team.reps] == ["Ana", "Ben", "Cy", "Dee", "Eve"]
    ana = next(d for d in team.reps if d.rep == "Ana")
    assert ("weak_step", "conversations->meetings_set") in _kinds(ana)
    assert _hints(ana) == ["targeting"]
    assert ana.equation is not None and not ana.equation.applicable  # SDRs close no deals
    assert ana.stalled is None or ana.stalled.count == 0  # no deals at all
    # Everyone's last call was on Friday the 13th: three business days without selling.
    assert all(("alert", "no_selling") in _kinds(d) for d in team.reps)
    cy = next(d for d in team.reps if d.rep == "Cy")
    assert _kinds(cy) == {("alert", "no_selling")} and _hints(cy) == []
    with pytest.raises(UserInputError, match="no selling rep named"):
        diagnose_rep(engine, settings, window, "Zed")


# --- API and pages (the small web demo of test_web) ------------------------------------------


def test_api_diagnosis_follows_the_role_rules(client: TestClient, org: Org) -> None:
    demo_login(client, "rep")
    own = client.get("/api/v1/diagnosis")
    assert own.status_code == 200, own.text
    assert own.json()["rep"] == org.east_rep
    assert client.get("/api/v1/diagnosis", params={"rep": org.west_rep}).status_code == 403
    assert client.get("/api/v1/diagnosis/team").status_code == 403
    assert client.get("/api/v1/coaching").json()["rep"] == org.east_rep
    bad = client.get("/api/v1/diagnosis", params={"period": "fortnight"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "period"]
    demo_login(client, "manager")
    team = client.get("/api/v1/diagnosis/team")
    assert team.status_code == 200
    assert team.json()["team"] == "East"
    assert client.get("/api/v1/diagnosis/team", params={"team": "West"}).status_code == 403
    assert client.get("/api/v1/diagnosis").status_code == 422  # a manager names the rep
    demo_login(client, "admin")
    assert client.get("/api/v1/diagnosis", params={"rep": org.west_rep}).status_code == 200


def test_diagnose_pages(client: TestClient, org: Org) -> None:
    demo_login(client, "rep")
    own = client.get("/diagnose")
    assert own.status_code == 200
    assert f"Diagnosis: {org.east_rep}" in own.text
    assert 'data-testid="findings"' in own.text or "Nothing stands out" in own.text
    assert client.get("/diagnose", params={"rep": org.west_rep}).status_code == 403
    assert client.get("/diagnose", params={"rep": "Nobody"}).status_code == 404
    demo_login(client, "manager")
    team = client.get("/diagnose")
    assert team.status_code == 200
    assert 'data-testid="team-diagnosis"' in team.text
    assert org.east_rep in team.text and org.west_rep not in team.text
    assert client.get("/diagnose", params={"period": "fortnight"}).status_code == 422
