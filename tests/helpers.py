"""Plain helpers the Insight tests (tipping point, forecast) share for their API and page faces.

Users are made with `test_funnel.quick_user` (one shared Argon2 hash, 0.2 s saved per user);
these helpers only spare each test file the loop that makes its admin, manager and rep.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Engine

from paceline.auth.accounts import create_token
from test_funnel import quick_user

# username -> (role, the rep the account is linked to)
Users = Mapping[str, tuple[str, str | None]]


def add_users(engine: Engine, users: Users) -> None:
    """Every user of `users`, linked to their rep (and through it to the rep's team)."""
    for username, (role, rep) in users.items():
        quick_user(engine, username, role, rep)


def api_tokens(engine: Engine, users: Users) -> dict[str, str]:
    """Adds `users` and returns an API token per username, for tests that call as each role."""
    add_users(engine, users)
    return {username: create_token(engine, username, "tests").token for username in users}


def bearer(token: str) -> dict[str, str]:
    """The header an API token is sent in."""
    return {"Authorization": f"Bearer {token}"}
