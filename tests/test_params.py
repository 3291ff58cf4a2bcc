"""`paceline.params`: one rule per query parameter, for the API, the pages and the downloads.

The rules' edges by hand (absent and blank take the default; the limits are inclusive; a day
is the API's 1900-01-01 to 2999-12-31), and the API's published parameters (its OpenAPI
description) list exactly the values the pages accept: the same definition, not a copy.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from factories import made_app
from paceline import params
from paceline.config import Settings
from paceline.errors import BadParameter, UserInputError


def test_a_choice_takes_its_default_only_when_absent_or_blank() -> None:
    assert params.RANK.parse(None, "count") == "count"
    assert params.RANK.parse("  ", "count") == "count"  # a form's empty field
    assert params.RANK.parse("target", "count") == "target"
    assert params.RANK.parse(" improved ", "count") == "improved"
    with pytest.raises(BadParameter) as bad:
        params.RANK.parse("Target", "count")  # the API's words, exactly
    assert (bad.value.field, bad.value.value) == ("by", "Target")
    assert str(bad.value) == "by: 'Target' is not allowed; use one of count, target, improved"
    assert isinstance(bad.value, UserInputError)  # the API's input_errors read it as before


def test_a_number_is_whole_and_within_its_inclusive_limits() -> None:
    runs = params.RUNS
    assert (runs.parse(None), runs.parse(""), runs.parse("100"), runs.parse("20000")) == (
        None,
        None,
        100,
        20_000,
    )
    for text in ("99", "20001", "1e3", "500.0", "many"):
        with pytest.raises(BadParameter, match="use a whole number from 100 to 20,000"):
            runs.parse(text)
    assert params.TV_REFRESH.parse("10") == 10
    with pytest.raises(BadParameter):
        params.TV_REFRESH.parse("9")


def test_a_day_is_written_yyyy_mm_dd_within_the_apis_range() -> None:
    assert params.day("as_of", "2026-11-18") == dt.date(2026, 11, 18)
    assert params.day("as_of", "1900-01-01") == dt.date(1900, 1, 1)
    assert params.day("as_of", None) is None
    for text in ("2026-11-31", "18/11/2026", "1899-12-31", "3000-01-01"):
        with pytest.raises(BadParameter, match=r"^as_of: "):
            params.day("as_of", text)


def test_the_boards_configured_words(settings: Settings) -> None:
    assert params.board_metric(settings, None) == "meetings_set"
    assert params.board_metric(settings, "proposals") == "proposals"
    assert params.board_role(settings, "") is None
    assert params.board_role(settings, "all") == "all"
    with pytest.raises(BadParameter, match="one of ae, field, manager, sdr, all"):
        params.board_role(settings, "astronaut")
    assert params.activity_kind(settings, "Discovery Meeting") == "discovery_meeting"
    with pytest.raises(BadParameter, match=r"^kind: 'telepathy'"):
        params.activity_kind(settings, "telepathy")


def test_a_delivery_channel_is_one_that_exists() -> None:
    """The delivery log's channel: one of those the face passes (built-in, a plugin's, or
    recorded in the log); free text narrowed the page to "Nothing delivered yet"."""
    known = ["email", "console", "email"]  # a channel both registered and recorded
    assert params.delivery_channel(None, known) is None
    assert params.delivery_channel(" ", known) is None
    assert params.delivery_channel("email", known) == "email"
    with pytest.raises(BadParameter) as bad:
        params.delivery_channel("Email", known)  # the word exactly, as every other one
    assert str(bad.value) == "channel: 'Email' is not allowed; use one of console, email"


def _query_schema(spec: dict[str, Any], path: str, name: str) -> dict[str, Any]:
    for parameter in spec["paths"]["/api/v1" + path]["get"]["parameters"]:
        if parameter["name"] == name:
            schema: dict[str, Any] = parameter["schema"]
            return schema.get("anyOf", [schema])[0]
    raise AssertionError(f"{path} has no {name}")


def test_the_api_publishes_the_same_rules(sqlite_engine: Engine, settings: Settings) -> None:
    spec = TestClient(made_app(settings, sqlite_engine)).get("/api/v1/openapi.json").json()
    assert _query_schema(spec, "/scorecard", "period")["enum"] == list(
        params.SCORECARD_PERIOD.allowed
    )
    assert _query_schema(spec, "/leaderboard", "period")["enum"] == list(
        params.LEADERBOARD_PERIOD.allowed
    )
    assert _query_schema(spec, "/leaderboard", "by")["enum"] == list(params.RANK.allowed)
    assert _query_schema(spec, "/forecast", "period")["enum"] == list(
        params.FORECAST_PERIOD.allowed
    )
    runs = _query_schema(spec, "/forecast", "runs")
    assert (runs["minimum"], runs["maximum"]) == (params.RUNS.low, params.RUNS.high)
    lag = _query_schema(spec, "/tipping", "lag")
    assert (lag["minimum"], lag["maximum"]) == (0, 26)
