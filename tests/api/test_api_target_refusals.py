"""Setting targets through the API: a caller the policy refuses gets 403 with the policy's
words (`paceline.access.require_set_targets`, asked by `services.targets`), the same refusal
the pages and the command line give, and nothing is stored.

The tracking team (`factories.build_tracking_team`): East is Ana, Ben, Cy and their manager
Max; West is Dee. Users: root (admin), max (manager of East), ana and dee (reps).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from factories import Api, make_api
from paceline.config import Settings, default_settings
from paceline.store.models import Target


@pytest.fixture
def api(sqlite_engine: Engine, settings: Settings) -> Iterator[Api]:
    made = make_api(sqlite_engine, settings)
    with made.client:
        yield made


def targets(api: Api) -> int:
    with api.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(Target)) or 0)


def _rates() -> list[dict[str, Any]]:
    steps = list(default_settings().funnel.steps)
    return [{"upper": u, "lower": lo, "rate": 0.5} for u, lo in itertools.pairwise(steps)]


@pytest.mark.parametrize(
    ("user", "rep"),
    [("ana", "Ana"), ("ana", "Ben"), ("max", "Dee"), ("dee", "Dee")],
)
def test_setting_a_target_out_of_reach_is_403(api: Api, user: str, rep: str) -> None:
    before = targets(api)
    reply = api.call(user, "PUT", "/targets", json={"rep": rep, "metric": "calls", "value": 5})
    assert reply.status_code == 403, reply.text
    assert reply.json()["detail"] == f"not allowed: set targets for rep {rep!r}"
    assert targets(api) == before


def test_a_rep_named_in_any_case_is_set_and_answered_by_stored_name(api: Api) -> None:
    reply = api.call("max", "PUT", "/targets", json={"rep": "  cY ", "metric": "calls", "value": 5})
    assert reply.status_code == 200, reply.text
    assert reply.json()["rep"] == "Cy"


def test_an_unknown_rep_is_422_without_names_out_of_reach(api: Api) -> None:
    """ "Dea" is close to Dee, of West: Max (East) is not told about her."""
    reply = api.call("max", "PUT", "/targets", json={"rep": "Dea", "metric": "calls", "value": 5})
    assert reply.status_code == 422, reply.text
    detail = reply.json()["detail"]
    assert [(e["loc"], e["msg"]) for e in detail] == [(["body", "rep"], "no rep named 'Dea'")]


def test_saving_a_plan_a_rep_may_not_is_403(api: Api) -> None:
    """Ana may build her team's plan (a rep may), not save its targets: the first rep of the
    plan is named (reps by team, role, name: Cy, the AE, before the SDRs Ana and Ben)."""
    before = targets(api)
    body = {"revenue": 1e6, "deal_size": 2e4, "save": True, "rates": _rates()}
    reply = api.call("ana", "POST", "/plan", json=body)
    assert reply.status_code == 403, reply.text
    assert reply.json()["detail"] == "not allowed: set targets for rep 'Cy'"
    assert targets(api) == before
    saved = api.call("max", "POST", "/plan", json=body)
    assert saved.status_code == 200, saved.text
    assert saved.json()["saved"]["reps"] == 3  # Ana, Ben and Cy; Max has no key metrics
