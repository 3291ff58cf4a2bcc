"""Property-based fuzzing of the API's OpenAPI description: no request makes a 5xx.

Schemathesis generates requests from the published schema for every /api/v1 operation (valid
ones, and invalid ones that break the schema on purpose) and sends them, as an admin, to the
application on a SQLite database holding the small tracking team
(`factories.build_tracking_team`). Any response of 500 or above fails. Bounded per operation so
the whole run stays under a minute.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from factories import API_OPERATIONS, build_tracking_team
from paceline.auth.accounts import add_user, create_token
from paceline.config import Settings
from paceline.server import create_app
from paceline.store.engine import make_engine

PASSWORD = "correct horse battery"
EXAMPLES = 40
MOMENTS = ["2026-11-18T10:00:00", "2026-11-02T09:30:00-05:00", "2026-11-30T23:59:59"]
DAYS = ["2026-11-18", "2026-10-01"]


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> dict[str, Any]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'paceline.db'}")
    build_tracking_team(engine, settings)
    add_user(engine, "root", PASSWORD, "admin")
    add_user(engine, "ana", PASSWORD, "rep", rep="Ana")
    # Spare tokens first, so the generated small ids revoke those rather than the one in use.
    for n in range(30):
        create_token(engine, "root", f"spare {n}")
    token = create_token(engine, "root", "fuzzing")
    return {"app": create_app(settings, engine), "token": token.token, "token_id": token.id}


@pytest.fixture(scope="module")
def api_schema(fuzz_target: dict[str, Any]) -> Any:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", fuzz_target["app"])
    schema.config.generation.update(with_security_parameters=False)  # our token, always
    return schema


def known_names(settings: Settings) -> dict[str, list[str]]:
    """Names the configuration and the seeded team know: random text rarely hits one, so a
    share of the cases use them and get past the look-ups into the code behind."""
    return {
        "rep": ["Ana", "Ben", "Cy", "Dee", "Max", "ana  ", "Zed"],
        "sourced_by": ["Ana", "Dee"],
        "team": ["East", "West", "east", "North"],
        "kind": sorted(settings.kind_names),
        "outcome": sorted(settings.outcome_names),
        "metric": [m.name for m in settings.metrics],
        "stage": [s.name for s in settings.stages],
        "role": sorted(settings.role_names),
        "upper": list(settings.funnel.steps),
        "period": ["90d", "week", "quarter", "3660d", "1d", "0d", "fortnight"],
        "lower": list(settings.funnel.steps),
        **{key: MOMENTS for key in ("occurred_at", "created_at", "closed_at", "stage_changed_at")},
        **{key: DAYS for key in ("as_of", "date", "from", "to", "expected_close")},
        "deal_id": [None],
        "year": [2026],
        "revenue": [1e6],
        "deal_size": [2e4],
    }


def plausible(value: Any, names: dict[str, list[str]], data: st.DataObject, share: float) -> Any:
    """The value with known keys (at any depth) set, each with probability `share`, to names
    that exist."""
    if isinstance(value, dict):
        return {
            key: (
                data.draw(st.sampled_from(names[key]))
                if key in names and data.draw(st.floats(0, 1)) < share
                else plausible(item, names, data, share)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [plausible(item, names, data, share) for item in value]
    return value


def test_every_operation_is_fuzzed(api_schema: Any) -> None:
    published = {
        (op.ok().method.upper(), op.ok().path)
        for op in api_schema.get_all_operations()
        if op.ok().path.startswith("/api/v1/")
    }
    assert published == set(API_OPERATIONS)


@pytest.mark.parametrize(("method", "path"), API_OPERATIONS)
def test_no_server_errors(
    method: str, path: str, api_schema: Any, fuzz_target: dict[str, Any], settings: Settings
) -> None:
    operation = api_schema[path][method]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )
    headers = {"Authorization": f"Bearer {fuzz_target['token']}"}
    names = known_names(settings)

    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=True,
    )
    @given(case=cases, data=st.data())
    def fuzz(case: Any, data: st.DataObject) -> None:
        share = data.draw(st.sampled_from([0.0, 0.5, 1.0]))  # as generated, mixed, all known
        if isinstance(case.query, dict):
            case.query = plausible(case.query, names, data, share)
        if isinstance(case.body, dict | list):
            case.body = plausible(case.body, names, data, share)
        if case.path_parameters and case.path_parameters.get("token_id") == fuzz_target["token_id"]:
            case.path_parameters["token_id"] = 1  # keep the fuzzing token alive
        case.call_and_validate(headers=headers, checks=[not_a_server_error])

    fuzz()


def test_schema_describes_the_token(fuzz_target: dict[str, Any]) -> None:
    spec = TestClient(fuzz_target["app"]).get("/api/v1/openapi.json").json()
    assert spec["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    assert spec["paths"]["/api/v1/activities"]["get"]["security"] == [{"token": []}]
