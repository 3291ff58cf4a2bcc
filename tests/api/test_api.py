"""The JSON API under /api/v1, on SQLite and PostgreSQL: every endpoint, validation errors,
pagination, bulk results and token revocation.

The data is the small tracking team (`factories.build_tracking_team`) (East: Ana, Ben, Cy and
their manager Max; West: Dee), with users root (admin), max (manager of East), ana and dee
(reps).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from httpx import Response
from sqlalchemy import Engine, event, func, select
from typer.testing import CliRunner

from factories import (
    AS_OF,
    PASSWORD,
    Api,
    add_late_starter,
    add_leaver,
    make_api,
    recorded_statements,
)
from paceline.cli import app as cli_app
from paceline.config import Settings
from paceline.services.reps import add_rep
from paceline.store.models import Activity, Deal, DealStageHistory


@pytest.fixture
def api(engine: Engine, settings: Settings) -> Iterator[Api]:
    made = make_api(engine, settings)
    with made.client:
        yield made


def fields(response: Response) -> list[tuple[Any, ...]]:
    """The `loc` of each 422 error, as tuples."""
    assert response.status_code == 422, response.text
    return [tuple(e["loc"]) for e in response.json()["detail"]]


def not_found(response: Response) -> list[tuple[Any, ...]]:
    """The `loc` of each 404 error (a rep or team named in a query that does not exist)."""
    assert response.status_code == 404, response.text
    return [tuple(e["loc"]) for e in response.json()["detail"]]


# --- activities ------------------------------------------------------------------------------


def test_activity_lifecycle(api: Api) -> None:
    # A local time (New York) in the evening is that day's call, stored in UTC.
    made = api.post(
        "ana",
        "/activities",
        {
            "kind": "Call",
            "occurred_at": "2026-11-18T19:30:00",
            "outcome": "meeting_set",
            "has_ask": True,
            "duration_min": 12,
            "account": "Acme",
            "contact": "Jo Doe",
            "notes": "asked for a demo",
        },
    )
    assert made.status_code == 201, made.text
    a = made.json()
    assert (a["rep"], a["team"], a["kind"], a["source"]) == ("Ana", "East", "call", "api")
    assert a["occurred_at"] == "2026-11-19T00:30:00Z"
    assert a["local_date"] == "2026-11-18"
    assert a["engaged"] is True  # follows from the outcome
    assert a["selling"] is True
    assert (a["account"], a["contact"], a["duration_min"]) == ("Acme", "Jo Doe", 12.0)
    path = f"/activities/{a['id']}"
    assert api.get("ana", path).json() == a

    # Moving the time across local midnight moves the day it counts on.
    moved = api.patch("ana", path, {"occurred_at": "2026-11-20T01:15:00-05:00"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["local_date"] == "2026-11-20"
    assert moved.json()["occurred_at"] == "2026-11-20T06:15:00Z"
    # An offset elsewhere still counts on the business-local day.
    tokyo = api.patch("ana", path, {"occurred_at": "2026-11-21T09:00:00+09:00"}).json()
    assert tokyo["local_date"] == "2026-11-20"
    # A new outcome re-derives `engaged` unless it is given; other fields stay.
    changed = api.patch("ana", path, {"outcome": "no_answer"}).json()
    assert (changed["outcome"], changed["engaged"], changed["account"]) == (
        "no_answer",
        False,
        "Acme",
    )
    explicit = api.patch("ana", path, {"outcome": "conversation", "engaged": True}).json()
    assert explicit["engaged"] is True
    cleared = api.patch("ana", path, {"notes": None, "account": None, "duration_min": None})
    assert cleared.status_code == 200
    assert (cleared.json()["notes"], cleared.json()["account"]) == (None, None)
    assert cleared.json()["contact"] == "Jo Doe"

    assert api.delete("ana", path).status_code == 204
    assert api.get("ana", path).status_code == 404
    assert api.delete("ana", path).status_code == 404


def test_writes_reach_the_scorecard(api: Api) -> None:
    """The rollup follows API writes: log, correct and delete show in the scorecard."""

    def conversations() -> float:
        card = api.get("ana", "/scorecard", params={"as_of": "2026-11-18"}).json()
        return next(
            line["pace"]["actual"] for line in card["lines"] if line["metric"] == "conversations"
        )

    before = conversations()
    body = {"kind": "call", "occurred_at": "2026-11-18T10:00:00", "outcome": "conversation"}
    made = api.post("ana", "/activities", {**body, "has_ask": True}).json()
    assert conversations() == before + 1
    api.patch("ana", f"/activities/{made['id']}", {"occurred_at": "2026-10-18T10:00:00"})
    assert conversations() == before
    api.patch("ana", f"/activities/{made['id']}", {"occurred_at": "2026-11-17T10:00:00"})
    assert conversations() == before + 1
    api.delete("ana", f"/activities/{made['id']}")
    assert conversations() == before


def test_activity_list_filters_and_pages(api: Api) -> None:
    everything = api.get("root", "/activities", params={"limit": 500}).json()
    with api.engine.connect() as conn:
        stored = conn.scalar(select(func.count()).select_from(Activity))
    assert everything["total"] == stored == len(everything["items"])
    moments = [(i["occurred_at"], i["id"]) for i in everything["items"]]
    assert moments == sorted(moments, reverse=True)  # newest first

    # Pages of 7 cover every activity once, in the same order.
    seen: list[int] = []
    for offset in range(0, everything["total"], 7):
        page = api.get("root", "/activities", params={"limit": 7, "offset": offset}).json()
        assert (page["limit"], page["offset"], page["total"]) == (7, offset, stored)
        seen += [i["id"] for i in page["items"]]
    assert seen == [i["id"] for i in everything["items"]]
    past = api.get("root", "/activities", params={"offset": 10_000}).json()
    assert (past["items"], past["total"]) == ([], stored)

    def ids(**params: Any) -> list[int]:
        page = api.get("root", "/activities", params={"limit": 500, **params}).json()
        assert page["total"] == len(page["items"])
        return [i["id"] for i in page["items"]]

    dee = ids(rep="dee")
    assert len(dee) == 34 and dee == ids(team="West")
    assert len(ids(rep="Ana", kind="call")) == 27
    assert len(ids(rep="Ana", **{"from": "2026-11-04", "to": "2026-11-04"})) == 9
    assert len(ids(rep="Ana", **{"from": "2026-11-01"})) == 22
    assert len(ids(rep="Ana", to="2026-10-31")) == 5
    assert ids(kind="internal_meeting") == api.activity_ids("Max")
    for bad, field in [
        ({"limit": 501}, "limit"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
        ({"from": "2026-13-01"}, "from"),
        ({"to": "0001-01-01"}, "to"),
        ({"kind": "telepathy"}, "kind"),
    ]:
        assert ("query", field) in fields(api.get("root", "/activities", params=bad)), bad
    for unknown, field in [({"rep": "Zed"}, "rep"), ({"team": "North"}, "team")]:
        assert not_found(api.get("root", "/activities", params=unknown)) == [("query", field)]


def test_bulk_stores_the_valid_items_and_answers_each(api: Api) -> None:
    items: list[Any] = [
        {"rep": "Ana", "kind": "call", "occurred_at": "2026-11-18T09:00:00"},
        {"rep": "Ana", "kind": "telepathy"},
        {"rep": "Zed", "kind": "call"},
        {"rep": "Dee", "kind": "call"},  # not max's team
        {"rep": "Ben", "kind": "email", "has_ask": "perhaps"},
        {"rep": "Ben", "kind": "email", "duration_min": -5},
        {"rep": "Ben", "kind": "email", "colour": "blue"},
        {"rep": "Ben", "kind": "email", "external_id": "crm-1"},
        {"rep": "Ben", "kind": "email", "external_id": "crm-1"},  # the same again
        {"kind": "meeting", "occurred_at": "2026-11-19"},
    ]
    response = api.post("max", "/activities/bulk", {"items": items})
    assert response.status_code == 200, response.text
    result = response.json()
    answers = result["results"]
    assert [r["index"] for r in answers] == list(range(len(items)))
    assert [r["ok"] for r in answers] == [
        True,
        False,
        False,
        False,
        False,
        False,
        False,
        True,
        True,
        True,
    ]
    assert [r["status"] for r in answers] == [201, 422, 422, 403, 422, 422, 422, 201, 200, 201]
    assert answers[1]["errors"][0]["loc"] == ["kind"]
    assert "unknown kind 'telepathy'" in answers[1]["errors"][0]["msg"]
    assert answers[2]["errors"][0]["loc"] == ["rep"]
    assert answers[3]["errors"][0]["loc"] == ["rep"]
    assert answers[4]["errors"][0]["loc"] == ["has_ask"]
    assert answers[5]["errors"][0]["loc"] == ["duration_min"]
    assert answers[6]["errors"][0]["loc"] == ["colour"]
    assert answers[8]["id"] == answers[7]["id"] and answers[8]["duplicate"] is True
    assert (result["created"], result["duplicates"], result["failed"]) == (3, 1, 6)
    stored = {r["id"] for r in answers if r["ok"]}
    for activity_id in stored:
        assert api.get("max", f"/activities/{activity_id}").status_code == 200
    # Max logs as himself when no rep is named.
    assert api.get("max", f"/activities/{answers[9]['id']}").json()["rep"] == "Max"

    # A retry of the whole batch doubles nothing that carries an external id.
    again = api.post("max", "/activities/bulk", {"items": items[7:9]}).json()
    assert (again["created"], again["duplicates"]) == (0, 2)
    # The request itself must be a list of 1 to 1,000 objects.
    for bad in ({"items": []}, {"items": [{"kind": "call"}] * 1001}, {"items": "call"}, [1]):
        assert fields(api.post("max", "/activities/bulk", bad))


def test_single_post_with_external_id_is_idempotent(api: Api) -> None:
    body = {"kind": "call", "external_id": "dialer-77"}
    first = api.post("ana", "/activities", body)
    second = api.post("ana", "/activities", body)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["external_id"] == "dialer-77"
    # Someone who may not see that activity is not told about it, nor can they take its id.
    taken = api.post("dee", "/activities", body)
    assert taken.status_code == 409 and "Ana" not in taken.text
    bulk = api.post("dee", "/activities/bulk", {"items": [body, {"kind": "call"}]}).json()
    assert [(r["status"], r["id"] is None) for r in bulk["results"]] == [(409, True), (201, False)]
    deal = {"name": "d", "amount": 1, "stage": "prospect", "external_id": "crm-9"}
    assert api.post("ana", "/deals", deal).status_code == 201
    assert api.post("ana", "/deals", deal).status_code == 200
    assert api.post("dee", "/deals", deal).status_code == 409


ACTIVITY_ERRORS: list[tuple[dict[str, Any], str]] = [
    ({"kind": "telepathy"}, "kind"),
    ({"kind": 3}, "kind"),
    ({}, "kind"),
    ({"kind": ""}, "kind"),
    ({"kind": "call", "outcome": "maybe"}, "outcome"),
    ({"kind": "call", "rep": "Zed"}, "rep"),
    ({"kind": "call", "occurred_at": "yesterday"}, "occurred_at"),
    ({"kind": "call", "occurred_at": "2026-02-30T10:00:00"}, "occurred_at"),
    ({"kind": "call", "occurred_at": "9999-12-31T23:00:00-05:00"}, "occurred_at"),
    ({"kind": "call", "duration_min": -1}, "duration_min"),
    ({"kind": "call", "duration_min": "long"}, "duration_min"),
    ({"kind": "call", "has_ask": "perhaps"}, "has_ask"),
    ({"kind": "call", "deal_id": 999}, "deal_id"),
    ({"kind": "call", "deal_id": 0}, "deal_id"),
    ({"kind": "call", "notes": "nul \x00 byte"}, "notes"),
    ({"kind": "call", "account": "x" * 201}, "account"),
    ({"kind": "call", "colour": "blue"}, "colour"),
]


def test_activity_validation_errors_name_the_field(api: Api) -> None:
    for body, field in ACTIVITY_ERRORS:
        response = api.post("ana", "/activities", body)
        assert ("body", field) in fields(response), (body, response.text)
        assert all(e["msg"] for e in response.json()["detail"])
    with api.engine.connect() as conn:
        assert (
            conn.scalar(select(func.count()).select_from(Activity).where(Activity.source == "api"))
            == 0
        )


def test_contradictory_activities_are_422_with_the_field_named(api: Api) -> None:
    """The rule imports and `log` share: an outcome must fit the kind, a duration must be
    plausible; an outcome that implies an Ask records the Ask."""
    body = {"kind": "call", "occurred_at": "2026-11-18T10:00:00"}
    assert fields(
        api.post("ana", "/activities", {**body, "kind": "admin", "outcome": "meeting_set"})
    ) == [("body", "outcome")]
    assert fields(api.post("ana", "/activities", {**body, "duration_min": 100_000})) == [
        ("body", "duration_min")
    ]
    made = api.post("ana", "/activities", {**body, "outcome": "meeting_set"})
    assert made.status_code == 201, made.text
    assert (made.json()["has_ask"], made.json()["engaged"]) == (True, True)


def test_malformed_requests_are_422(api: Api) -> None:
    broken = api.call(
        "ana",
        "POST",
        "/activities",
        content=b'{"kind": "call",',
        headers={"Content-Type": "application/json"},
    )
    assert broken.status_code == 422
    assert broken.json()["detail"][0]["type"] == "json_invalid"
    assert fields(api.post("ana", "/activities", ["call"])) == [("body",)]
    assert fields(
        api.patch("ana", f"/activities/{api.activity_ids('Ana')[0]}", {"kind": None})
    ) == [("body", "kind")]
    assert fields(api.get("ana", "/activities/abc")) == [("path", "activity_id")]
    # an id no row can have is not found, like any other missing id (tests/test_hardening_small)
    assert api.get("ana", f"/activities/{2**70}").status_code == 404


# --- deals -----------------------------------------------------------------------------------


def test_deal_lifecycle(api: Api) -> None:
    made = api.post(
        "max",
        "/deals",
        {
            "rep": "Cy",
            "name": "Acme renewal",
            "amount": "22700.50",
            "stage": "Proposal",
            "created_at": "2026-11-02T09:00:00",
            "account": "Acme",
            "sourced_by": "Ana",
            "expected_close": "2026-12-15",
        },
    )
    assert made.status_code == 201, made.text
    d = made.json()
    assert (d["rep"], d["stage"], d["status"], d["amount"]) == ("Cy", "proposal", "open", 22700.5)
    assert (d["sourced_by"], d["account"], d["closed_at"]) == ("Ana", "Acme", None)
    assert d["created_at"] == "2026-11-02T14:00:00Z"
    path = f"/deals/{d['id']}"

    amount = api.patch("max", path, {"amount": 25000}).json()
    assert (amount["amount"], amount["stage"]) == (25000.0, "proposal")
    won = api.patch("max", path, {"stage": "closed_won"}).json()
    assert (won["status"], won["closed_at"] is not None) == ("won", True)
    reopened = api.patch("max", path, {"stage": "negotiation"}).json()
    assert (reopened["status"], reopened["closed_at"]) == ("open", None)
    lost = api.patch(
        "max", path, {"stage": "closed_lost", "closed_at": "2026-11-20T10:00:00"}
    ).json()
    assert (lost["status"], lost["closed_at"]) == ("lost", "2026-11-20T15:00:00Z")
    with api.engine.connect() as conn:
        history = conn.execute(
            select(DealStageHistory.stage, DealStageHistory.status)
            .where(DealStageHistory.deal_id == d["id"])
            .order_by(DealStageHistory.id)
        ).all()
    assert [tuple(h) for h in history] == [
        ("proposal", "open"),
        ("closed_won", "won"),
        ("negotiation", "open"),
        ("closed_lost", "lost"),
    ]
    assert fields(api.patch("max", path, {"closed_at": "2026-10-01T10:00:00"})) == [
        ("body", "closed_at")
    ]

    # An activity linked to the deal outlives it, unlinked.
    call = api.post("max", "/activities", {"rep": "Cy", "kind": "call", "deal_id": d["id"]}).json()
    assert call["deal_id"] == d["id"]
    assert api.delete("max", path).status_code == 204
    assert api.get("max", path).status_code == 404
    assert api.get("max", f"/activities/{call['id']}").json()["deal_id"] is None
    with api.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Deal)) == 0


def test_deal_list_and_validation(api: Api) -> None:
    for n, (rep, stage, day) in enumerate(
        [
            ("Ana", "prospect", "2026-10-05"),
            ("Cy", "closed_won", "2026-11-03"),
            ("Dee", "proposal", "2026-11-10"),
        ]
    ):
        body: dict[str, Any] = {
            "rep": rep,
            "name": f"deal {n}",
            "amount": 1000 * (n + 1),
            "stage": stage,
        }
        body["created_at"] = f"{day}T10:00:00"
        if stage == "closed_won":
            body["closed_at"] = f"{day}T12:00:00"
        assert api.post("root", "/deals", body).status_code == 201

    def names(user: str = "root", **params: Any) -> list[str]:
        return [d["name"] for d in api.get(user, "/deals", params=params).json()["items"]]

    assert names() == ["deal 2", "deal 1", "deal 0"]
    assert names(status="won") == ["deal 1"]
    assert names(team="East") == ["deal 1", "deal 0"]
    assert names(rep="Dee") == ["deal 2"]
    assert names(stage="Prospect") == ["deal 0"]
    assert names(**{"from": "2026-11-03", "to": "2026-11-09"}) == ["deal 1"]
    assert names(limit=1, offset=1) == ["deal 1"]
    assert names("max") == ["deal 1", "deal 0"]
    assert names("dee") == ["deal 2"]
    for body, field in [
        ({"name": "x", "amount": 5, "stage": "closed_won", "rep": "Ana"}, "closed_at"),
        ({"name": "x", "amount": -5, "stage": "prospect", "rep": "Ana"}, "amount"),
        ({"name": "x", "amount": "1.234", "stage": "prospect", "rep": "Ana"}, "amount"),
        ({"name": "x", "amount": "lots", "stage": "prospect", "rep": "Ana"}, "amount"),
        ({"name": "x", "amount": 5, "stage": "prospect", "status": "pending"}, "status"),
        ({"name": "", "amount": 5, "stage": "prospect", "rep": "Ana"}, "name"),
        ({"amount": 5, "stage": "prospect", "rep": "Ana"}, "name"),
        (
            {"name": "x", "amount": 5, "stage": "prospect", "rep": "Ana", "sourced_by": "Zed"},
            "sourced_by",
        ),
        ({"name": "x", "amount": 5, "stage": "prospect"}, "rep"),  # root is no rep
    ]:
        assert ("body", field) in fields(api.post("root", "/deals", body)), body


# --- reps, teams, targets --------------------------------------------------------------------


def test_reps_and_teams(api: Api) -> None:
    everyone = api.get("root", "/reps").json()
    assert [r["name"] for r in everyone] == ["Ana", "Ben", "Cy", "Dee", "Max"]
    assert [r["name"] for r in api.get("root", "/reps", params={"team": "west"}).json()] == ["Dee"]
    assert [r["name"] for r in api.get("max", "/reps", params={"role": "sdr"}).json()] == [
        "Ana",
        "Ben",
    ]
    ana = api.get("root", f"/reps/{api.reps['Ana']}").json()
    assert (ana["name"], ana["role"], ana["team"], ana["capacity"]) == ("Ana", "sdr", "East", 1.0)
    assert api.get("root", "/reps/999").status_code == 404
    # East's reps as its team page counts them: Ana, Ben and Cy (Max manages: no key metrics)
    assert api.get("root", "/teams").json() == [
        {"id": 1, "name": "East", "reps": 3},
        {"id": 2, "name": "West", "reps": 1},
    ]
    assert api.get("dee", "/teams").json() == [{"id": 2, "name": "West", "reps": 1}]


def test_targets(api: Api) -> None:
    put = api.call(
        "max",
        "PUT",
        "/targets",
        json={
            "rep": "Ben",
            "metric": "conversations",
            "period": "week",
            "date": "2026-11-18",
            "value": 40,
        },
    )
    assert put.status_code == 200, put.text
    assert put.json()["period"]["start"] == "2026-11-16" and put.json()["value"] == 40.0
    stored = api.get("max", "/targets", params={"rep": "Ben"}).json()
    assert {(e["metric"], e["period"]["kind"], e["value"]) for e in stored["entries"]} == {
        ("conversations", "month", 19.0),
        ("conversations", "week", 40.0),
    }
    in_force = api.get("root", "/targets", params={"period": "month", "date": "2026-11-18"}).json()
    assert in_force["period"]["start"] == "2026-11-01"
    assert {e["rep"] for e in in_force["entries"]} == {"Ana", "Ben", "Cy"}
    for body, field in [
        ({"rep": "Ben", "metric": "connect_rate", "value": 1}, "metric"),
        ({"rep": "Ben", "metric": "nonsense", "value": 1}, "metric"),
        ({"rep": "Ben", "metric": "calls", "value": -1}, "value"),
        ({"rep": "Ben", "metric": "calls", "value": 1, "period": "day"}, "period"),
        ({"rep": "Zed", "metric": "calls", "value": 1}, "rep"),
    ]:
        assert ("body", field) in fields(api.call("root", "PUT", "/targets", json=body)), body


# --- analyses: the CLI's result objects ------------------------------------------------------


@pytest.mark.parametrize("path", ["/flow", "/funnel", "/equation", "/diagnosis/team"])
def test_a_diagnosis_period_is_the_exact_word(api: Api, path: str) -> None:
    """`period=Quarter` read as the quarter on the diagnoses alone (the scorecard's and the
    forecast's periods refused it, naming the words): now the same 422 naming `period`."""
    reply = api.get("root", path, params={"period": "Quarter", "as_of": "2026-11-18"})
    assert fields(reply) == [("query", "period")]
    assert reply.json()["detail"][0]["msg"].startswith(
        "'Quarter' is not a period; did you mean 'quarter'? Use week, month, quarter, year"
    )
    assert api.get("root", path, params={"period": "quarter"}).status_code == 200
    assert fields(api.get("root", path, params={"period": "90D"})) == [("query", "period")]


def test_analyses_answer_what_the_cli_prints(sqlite_engine: Engine, settings: Settings) -> None:
    api = make_api(sqlite_engine, settings)
    url = sqlite_engine.url.render_as_string(hide_password=False)
    runner = CliRunner()

    def cli(*args: str) -> Any:
        result = runner.invoke(cli_app, ["--db", url, *args, "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    day = AS_OF.isoformat()
    pairs = [
        (
            api.get("max", "/scorecard", params={"rep": "Ana", "as_of": day}),
            cli("scorecard", "--rep", "Ana", "--as-of", day),
        ),
        (
            api.get("max", "/scorecard/team", params={"period": "week", "as_of": day}),
            cli("scorecard", "--team", "East", "--period", "week", "--as-of", day),
        ),
        (
            api.get("root", "/scorecard/team", params={"as_of": day}),
            cli("scorecard", "--all", "--as-of", day),
        ),
        (
            api.get("ana", "/leaderboard", params={"metric": "conversations", "as_of": day}),
            cli("leaderboard", "conversations", "--team", "East", "--as-of", day),
        ),
        (
            api.get(
                "root",
                "/leaderboard",
                params={"metric": "connect_rate", "period": "quarter", "as_of": day},
            ),
            cli("leaderboard", "connect_rate", "--period", "quarter", "--as-of", day),
        ),
        (api.get("root", "/alerts", params={"as_of": day}), cli("alerts", "--as-of", day)),
        (
            api.get("max", "/alerts", params={"as_of": day}),
            cli("alerts", "--team", "East", "--as-of", day),
        ),
        (api.get("root", "/targets"), cli("target", "list")),
        (
            api.post(
                "root",
                "/plan",
                {
                    "revenue": 2_000_000,
                    "deal_size": 25_000,
                    "year": 2026,
                    "rates": _plan_rates(settings),
                },
            ),
            cli(
                "plan",
                "--revenue",
                "2M",
                "--deal-size",
                "25k",
                "--year",
                "2026",
                *_plan_rate_options(settings),
            ),
        ),
    ]
    for response, expected in pairs:
        assert response.status_code == 200, response.text
        assert response.json() == expected
    # A rep's alerts are only their own.
    mine = api.get("ana", "/alerts", params={"as_of": day}).json()
    assert {a["rep"] for a in mine["alerts"]} == {"Ana"}


def _plan_rates(settings: Settings) -> list[dict[str, Any]]:
    steps = list(settings.funnel.steps)
    return [{"upper": u, "lower": lo, "rate": 0.5} for u, lo in itertools.pairwise(steps)]


def _plan_rate_options(settings: Settings) -> list[str]:
    return [f"--rate={r['upper']}:{r['lower']}=0.5" for r in _plan_rates(settings)]


def test_plan_save_and_errors(api: Api, settings: Settings) -> None:
    rates = _plan_rates(settings)
    saved = api.post(
        "max",
        "/plan",
        {"revenue": 1_000_000, "deal_size": 20_000, "year": 2026, "rates": rates, "save": True},
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["saved"]["reps"] == 3  # East's quota carriers: Ana, Ben, Cy
    listed = api.get("max", "/targets", params={"period": "year", "date": "2026-06-01"}).json()
    assert {e["rep"] for e in listed["entries"] if e["origin"] == "plan"} == {"Ana", "Ben", "Cy"}
    headcount = api.post(
        "ana", "/plan", {"revenue": 1e6, "deal_size": 2e4, "headcount": 4, "rates": rates}
    )
    assert headcount.status_code == 200 and headcount.json()["plan"]["headcount"] == 4
    history = api.post(
        "root",
        "/plan",
        {"revenue": 1e6, "deal_size": 2e4, "from_history": True, "as_of": "2026-11-18"},
    )
    # Nobody in this organisation has a proposal: not a measured 0, a step not recorded.
    assert history.status_code == 422 and "proposals are not recorded" in history.text
    for body, field in [
        ({"revenue": -1, "deal_size": 1}, "revenue"),
        ({"revenue": 1e6, "deal_size": 0}, "deal_size"),
        (
            {
                "revenue": 1e6,
                "deal_size": 1e4,
                "rates": [{"upper": "calls", "lower": "x", "rate": 1e-9}],
            },
            "rates",
        ),
        ({"revenue": 1e6, "deal_size": 1e4, "headcount": 0}, "headcount"),
        ({"revenue": 1e6, "deal_size": 1e4, "year": 1800}, "year"),
        ({"revenue": 1e6, "deal_size": 1e4, "headcount": 2, "save": True}, "save"),
    ]:
        response = api.post("root", "/plan", body)
        assert any(loc[:2] == ("body", field) for loc in fields(response)), (body, response.text)
    missing_rate = api.post("root", "/plan", {"revenue": 1e6, "deal_size": 1e4, "headcount": 2})
    assert fields(missing_rate)[0][0] == "body"
    assert "missing" in missing_rate.text


def test_analysis_query_errors_name_the_parameter(api: Api) -> None:
    for path, params, field in [
        ("/scorecard", {"period": "fortnight"}, "period"),
        ("/scorecard", {"as_of": "2026-02-30"}, "as_of"),
        ("/scorecard", {"as_of": "9999-12-31"}, "as_of"),
        ("/leaderboard", {}, "metric"),
        ("/leaderboard", {"metric": "nonsense"}, "metric"),
        ("/leaderboard", {"metric": "calls", "role": "ceo"}, "role"),
        ("/alerts", {"as_of": "0001-01-01"}, "as_of"),
    ]:
        response = api.get("root", path, params=params)
        assert ("query", field) in fields(response), (path, params, response.text)
    assert fields(api.get("root", "/scorecard")) == [("query", "rep")]  # root is no rep
    for path, params, field in [
        ("/scorecard", {"rep": "Zed"}, "rep"),
        ("/scorecard/team", {"team": "North"}, "team"),
    ]:  # a name that does not exist: 404, as on the pages
        assert not_found(api.get("root", path, params=params)) == [("query", field)], path


# --- tokens and users ------------------------------------------------------------------------


def test_token_revocation(api: Api) -> None:
    made = api.post("ana", "/tokens", {"name": "dialer sync"})
    assert made.status_code == 201
    token = made.json()["token"]
    assert token.startswith("pl_")
    bearer = {"Authorization": f"Bearer {token}"}
    assert api.get(None, "/activities", headers=bearer).status_code == 200
    listed = api.get("ana", "/tokens").json()
    assert [t["name"] for t in listed] == ["tests", "dialer sync"]
    assert all(t["revoked_at"] is None for t in listed)

    assert api.delete("ana", f"/tokens/{made.json()['id']}").status_code == 204
    refused = api.get(None, "/activities", headers=bearer)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == "Bearer"
    assert api.delete("ana", f"/tokens/{made.json()['id']}").status_code == 404
    assert api.get("ana", "/tokens").json()[1]["revoked_at"] is not None
    # Someone else's token cannot be revoked (nor seen).
    dee_token = api.get("dee", "/tokens").json()[0]["id"]
    assert api.delete("ana", f"/tokens/{dee_token}").status_code == 404
    assert api.get("dee", "/tokens").status_code == 200
    assert fields(api.post("ana", "/tokens", {"name": " "})) == [("body", "name")]
    for header in ("Bearer nonsense", "Bearer pl_forged", "Basic abc"):
        assert api.get(None, "/reps", headers={"Authorization": header}).status_code == 401


def test_users(api: Api) -> None:
    made = api.post(
        "root", "/users", {"username": "ben", "password": PASSWORD, "role": "rep", "rep": "Ben"}
    )
    assert made.status_code == 201, made.text
    assert made.json() == {
        "id": made.json()["id"],
        "username": "ben",
        "role": "rep",
        "rep": "Ben",
        "team": "East",
        "active": True,
    }
    assert "ben" in [u["username"] for u in api.get("root", "/users").json()]
    for body, field in [
        ({"username": "BEN", "password": PASSWORD, "role": "admin"}, "username"),
        ({"username": "Ébène", "password": PASSWORD, "role": "admin"}, None),
        ({"username": "cy", "password": "short", "role": "rep", "rep": "Cy"}, "password"),
        ({"username": "cy", "password": PASSWORD, "role": "rep"}, "rep"),
        ({"username": "cy", "password": PASSWORD, "role": "owner"}, "role"),
        ({"username": "cy", "password": PASSWORD, "role": "manager", "team": "North"}, "team"),
    ]:
        response = api.post("root", "/users", body)
        if field is None:
            assert response.status_code == 201
            # The same name again is refused (a 422, not a server error).
            assert fields(api.post("root", "/users", body)) == [("body", "username")]
        else:
            assert ("body", field) in fields(response), (body, response.text)


# --- hand-overs to a worker thread -------------------------------------------------------------


def test_reads_hand_over_to_a_worker_thread_once(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """A read that answers a response model writes its JSON in the endpoint's worker thread
    (`_common.Answer`): FastAPI's own check of a plain endpoint's return value is one more
    hand-over to a thread, each costing more CPU than a small list's JSON. The token check
    (a dependency) is the other hand-over, counted apart by FastAPI."""
    import fastapi.routing

    handed: list[str] = []
    original = fastapi.routing.run_in_threadpool

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        handed.append(getattr(func, "__name__", repr(func)))
        return await original(func, *args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "run_in_threadpool", counted)
    activity = api.activity_ids("Ana")[0]
    body = {"rep": "Cy", "name": "Acme", "amount": "10", "stage": "Proposal"}
    deal = api.post("root", "/deals", body | {"created_at": "2026-11-02T09:00:00"}).json()
    for path in [
        "/teams",
        "/reps",
        f"/reps/{api.reps['Ana']}",
        "/tokens",
        "/users",
        "/activities",
        f"/activities/{activity}",
        "/deals",
        f"/deals/{deal['id']}",
    ]:
        handed.clear()
        answer = api.get("root", path)
        assert answer.status_code == 200, (path, answer.text)
        assert answer.headers["content-type"] == "application/json", path
        assert len(handed) == 1, (path, handed)  # the endpoint, nothing after it


def test_a_request_solves_three_dependencies(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """FastAPI solves a request's dependencies one by one, each with a cache key and a pass
    over its parameters: `/teams` has the bearer scheme (for the published schema), the
    application's state and the caller, whose check reads the token itself
    (`callers.api_caller`). It was an async check on top of `optional_caller` and `State`
    again: five dependencies where three do the same checks in the same order."""
    import fastapi.dependencies.utils as solving

    solved: list[str] = []
    original = solving.solve_dependencies

    async def counted(**kwargs: Any) -> Any:
        call = kwargs["dependant"].call
        solved.append(getattr(call, "__name__", type(call).__name__))
        return await original(**kwargs)

    monkeypatch.setattr(solving, "solve_dependencies", counted)
    assert api.get("root", "/teams").status_code == 200
    assert solved == ["HTTPBearer", "_app_state", "api_caller"]  # the endpoint's, in order


def test_bad_credentials_answer_401_before_bad_input(api: Api) -> None:
    """Authentication comes first: a request with a bad token (or none) and a bad parameter
    or body answers 401, as FastAPI orders a dependency's error before validation errors,
    so the API's rules are not told to whoever has no credentials."""
    bad_query = {"as_of": "2026-02-30"}
    assert api.get("root", "/scorecard", params=bad_query).status_code == 422  # a real 422
    for headers in ({}, {"Authorization": "Bearer pl_not-a-token"}):
        answer = api.get(None, "/scorecard", params=bad_query, headers=headers)
        assert answer.status_code == 401, answer.text
        assert answer.headers["WWW-Authenticate"] == "Bearer"
        answer = api.post(None, "/activities", {"kind": 7}, headers=headers)
        assert answer.status_code == 401, answer.text


def test_answer_writes_what_fastapi_writes() -> None:
    """`Answer(Model).json(value)` sends the bytes, status and content type FastAPI sends for
    the same value returned plainly under `response_model=Model`."""
    import datetime as dt

    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from pydantic import BaseModel, Field

    from paceline.api.routers._common import Answer

    class Item(BaseModel):
        id: int
        name: str
        amount: float | None
        at: dt.datetime | None
        kind: str = Field(alias="type")

    items = [
        Item(id=1, name='Zoë "quoted" </script>', amount=3.0, at=None, type="call"),
        Item(
            id=2,
            name="Ana",
            amount=1e-07,
            at=dt.datetime(2026, 11, 18, 9, 5, tzinfo=dt.UTC),
            type="x",
        ),
        Item(id=3, name="", amount=None, at=dt.datetime(2026, 1, 1), type="y"),
    ]
    app = FastAPI()
    answer = Answer[list[Item]](list[Item])

    @app.get("/plain", response_model=list[Item])
    def plain() -> list[Item]:
        return items

    @app.get("/answered", response_model=list[Item])
    def answered() -> Any:
        return answer.json(items)

    @app.get("/created", response_model=Item, status_code=201)
    def created() -> Any:
        return Answer[Item](Item).json(items[1], status_code=201)

    with TestClient(app) as client:
        expected, got = client.get("/plain"), client.get("/answered")
        assert got.content == expected.content
        assert (got.status_code, got.headers["content-type"]) == (
            expected.status_code,
            expected.headers["content-type"],
        )
        assert got.json()[0]["type"] == "call"  # by alias, as FastAPI writes it
        assert client.get("/created").status_code == 201


# --- what a request reads ----------------------------------------------------------------------


def _reads(api: Api, user: str, path: str, params: dict[str, str]) -> tuple[int, list[str]]:
    """(pooled check-outs, statements) of one request, the rollup current beforehand."""
    api.get(user, path, params=params)  # any refresh the request would start happens here
    checkouts: list[object] = []

    def checked_out(*args: object) -> None:
        checkouts.append(args[0])

    event.listen(api.engine.pool, "checkout", checked_out)
    try:
        with recorded_statements(api.engine) as statements:
            answer = api.get(user, path, params=params)
    finally:
        event.remove(api.engine.pool, "checkout", checked_out)
    assert answer.status_code == 200, answer.text
    return len(checkouts), statements


def test_a_scorecard_reads_the_roster_once_beside_the_card(api: Api) -> None:
    """One API scorecard: the token on one pooled connection; on a second, every rep once
    (the access check, and the card's rep taken from the same rows), the rollup's state,
    Ana's metric totals, the deals of her role's deal metrics, her targets, whether anyone
    ever sourced a deal (she has none this month: "not recorded" or behind), and, as she is
    behind, the history her chance is judged by (her daily counts, her first recorded day, and
    the first day anyone recorded the metric, which the spread is measured from), and where
    her team's records begin (`metrics.records_begin`, one statement: a team recorded only
    from part-way into the period is paced from then; 10 statements before 2026-12-07).
    Before, the access check read the roster on a connection of its own and the card read
    Ana's row again by id: three check-outs and a statement more (benchmarks/README.md)."""
    for user, params in [
        ("root", {"rep": "Ana", "as_of": "2026-11-18"}),  # an admin names the rep
        ("ana", {"as_of": "2026-11-18"}),  # a rep's own card: their rep found in the roster
    ]:
        checkouts, statements = _reads(api, user, "/scorecard", params)
        assert checkouts == 2, (user, statements)
        assert len(statements) == 11, (user, statements)
        assert sum(s.startswith("SELECT rep.id, rep.name") for s in statements) == 1, statements


def test_a_leavers_card_ends_on_her_last_day(api: Api, settings: Settings) -> None:
    """Lea left on Wednesday Nov 11 (`factories.add_leaver`): the card the access check picks
    her by carries her last day, and is paced over her 8 business days, 32 conversations of
    76 x 8/19 = 32 expected (not 52 over the month's 13 to the 18th)."""
    add_leaver(api.engine, settings)
    card = api.get("root", "/scorecard", params={"rep": "Lea", "as_of": AS_OF.isoformat()})
    assert card.status_code == 200, card.text
    body = card.json()
    assert (body["business_days_total"], body["business_days_elapsed"]) == (8, 8)
    assert (body["end_date"], body["left"]) == ("2026-11-11", True)
    conversations = next(ln for ln in body["lines"] if ln["metric"] == "conversations")
    assert conversations["pace"]["expected_to_date"] == pytest.approx(32)


def test_a_teams_head_count_is_who_is_there(api: Api, settings: Settings, today: dt.date) -> None:
    """East: Ana, Ben and Cy; Lea left on Nov 11, Zoe started on Nov 23, Uma starts a week
    after today; Max manages (no key metrics). Today East has 4 reps (Ana, Ben, Cy, Zoe; the
    count was every rep row of the team: 7), West 1 (Dee). As of Nov 18 the team's
    scorecard counts 3 there and names Lea and Zoe (Uma starts after November: not on its
    cards)."""
    add_leaver(api.engine, settings)
    add_late_starter(api.engine, settings)
    add_rep(api.engine, settings, "Uma", "sdr", team="East", start_date=today + dt.timedelta(7))
    teams = api.get("root", "/teams")
    assert teams.status_code == 200, teams.text
    assert {t["name"]: t["reps"] for t in teams.json()} == {"East": 4, "West": 1}
    assert [t["reps"] for t in api.get("max", "/teams").json()] == [4]
    cards = api.get("root", "/scorecard/team", params={"team": "East", "as_of": AS_OF.isoformat()})
    assert cards.status_code == 200, cards.text
    body = cards.json()
    assert body["headcount"] == 3
    assert body["leavers"] == [{"rep": "Lea", "day": "2026-11-11"}]
    assert body["starting"] == [{"rep": "Zoe", "day": "2026-11-23"}]
