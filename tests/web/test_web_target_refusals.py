"""Saving a plan's targets on the plan page: when the policy refuses
(`paceline.access.require_set_targets`, asked by `services.targets`), the page is the 403
page with the policy's words, the same refusal as the API's 403 and the command line's exit
1, and nothing is stored.

On the page itself a manager plans only for their own team, whose targets they may set, and
reps cannot open the page, so the refusal cannot be reached by a real caller today; the test
makes the policy refuse everyone but admins (as it refuses a manager for another team's rep)
and checks that the page translates the service's answer instead of asking its own question.
"""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from factories import demo_login
from paceline import access
from paceline.auth.access import Principal
from paceline.store.models import Target
from paceline.store.records import RepRef, rep_refs

FORM = {"revenue": "2M", "deal_size": "40k", "from_history": "yes"}
RATES = ["", "", "80%", "", "25%"]


def targets(db: Engine) -> int:
    with db.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(Target)) or 0)


def test_a_refused_save_is_the_403_page_and_stores_nothing(
    client: TestClient, db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def admins_only(principal: Principal, rep: RepRef) -> bool:
        return principal.is_admin

    monkeypatch.setattr(access, "may_set_targets", admins_only)
    csrf = demo_login(client, "manager")
    before = targets(db)
    reply = client.post("/plan", data={**FORM, "rate": RATES, "csrf": csrf, "action": "save"})
    assert reply.status_code == 403, reply.text[:500]
    text = html.unescape(reply.text)
    named = re.search(r"You are not allowed to set targets for rep '([^']+)'\.", text)
    assert named, text[:2000]
    assert rep_refs(db)[named.group(1).lower()].team == "East"  # one of the manager's reps
    assert targets(db) == before


def test_the_same_save_goes_through_when_the_policy_allows(client: TestClient, db: Engine) -> None:
    csrf = demo_login(client, "manager")
    before = targets(db)
    reply = client.post("/plan", data={**FORM, "rate": RATES, "csrf": csrf, "action": "save"})
    assert reply.status_code == 200, reply.text[:500]
    assert 'data-testid="plan-saved"' in reply.text
    assert targets(db) > before
