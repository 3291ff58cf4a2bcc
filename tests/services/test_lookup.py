"""One record by id for a write (`paceline.services.lookup`): activities and deals answer
alike, through one look-up.

The access organisation (`tests/access_org.py`): East is Ana, Ben and their manager Max;
West is Dee. One activity and one deal each for Ana and Dee. By the policy, the admin reads
and changes both, Max (East) Ana's only, Ana her own only; anything out of reach is "not
found" with the same words as an id that was never stored.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from access_org import build_org, callers
from paceline.config import Settings
from paceline.errors import NotFound
from paceline.services import activities, deals
from paceline.services.activities import Entry, Writer
from paceline.services.deals import DealEntry

NOW = dt.datetime(2026, 11, 18, 17, 0)
OK = "ok"


@pytest.fixture
def org(engine: Engine, settings: Settings) -> dict[str, int]:
    return build_org(engine, settings)


@pytest.fixture
def stored(engine: Engine, settings: Settings, org: dict[str, int]) -> dict[tuple[str, str], int]:
    """(kind, rep) -> id of the stored activity or deal."""
    admin = Writer.of(engine, settings, callers(engine, org)["admin"], now=NOW)
    ids = {}
    for rep in ("Ana", "Dee"):
        made = activities.create(admin, Entry(rep=rep, kind="email", occurred_at=NOW))
        ids["activity", rep] = made.id
        deal = deals.create(admin, DealEntry(f"{rep}'s", Decimal(10), "prospect", rep=rep))
        ids["deal", rep] = deal.deal.id
    return ids


def verdict(call: object) -> object:
    try:
        call()  # type: ignore[operator]
    except NotFound as exc:
        return (exc.field, exc.message)
    return OK


def test_activities_and_deals_answer_alike(
    engine: Engine, settings: Settings, org: dict[str, int], stored: dict[tuple[str, str], int]
) -> None:
    people = callers(engine, org)
    reach = {"admin": {"Ana", "Dee"}, "manager": {"Ana"}, "rep": {"Ana"}}
    modules = {"activity": activities, "deal": deals}
    for role, principal in people.items():
        writer = Writer.of(engine, settings, principal, now=NOW)
        for (kind, rep), record_id in stored.items():
            module = modules[kind]
            expected = OK if rep in reach[role] else (f"{kind}_id", f"no {kind} {record_id}")
            assert verdict(lambda: module.readable(writer, record_id)) == expected  # noqa: B023
            assert verdict(lambda: module.changeable(writer, record_id)) == expected  # noqa: B023
        for kind, module in modules.items():  # never stored: the same answer
            missing = verdict(lambda: module.readable(writer, 999_999))  # noqa: B023
            assert missing == (f"{kind}_id", f"no {kind} 999999")
