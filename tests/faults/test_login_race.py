"""The login rate limit holds under a parallel burst, and an admin can lift a lockout.

As seen: 30 wrong passwords sent at once for one user let 18-19 reach the password check on
PostgreSQL where 5 should (each counted the failures before any was recorded).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine

from paceline.auth import accounts
from paceline.auth.accounts import (
    MAX_FAILURES_PER_USER,
    LoginRefused,
    TooManyAttempts,
    add_user,
    authenticate,
    lift_lockout,
)
from paceline.errors import UserInputError

pytestmark = pytest.mark.faults
PASSWORD = "correct-horse-battery"
BURST = 30


def _burst(engine: Engine, username: str, addresses: list[str]) -> dict[str, int]:
    """Wrong passwords sent all at once: how many were checked (refused as wrong) and how many
    the limit stopped before the check."""
    start = threading.Barrier(len(addresses))

    def guess(address: str) -> str:
        start.wait()
        try:
            authenticate(engine, username, "wrong password", address)
        except LoginRefused:
            return "checked"
        except TooManyAttempts:
            return "limited"
        return "logged in"

    with ThreadPoolExecutor(len(addresses)) as pool:
        outcomes = list(pool.map(guess, addresses))
    return {o: outcomes.count(o) for o in set(outcomes)}


def test_a_parallel_burst_gets_exactly_the_allowed_guesses(engine: Engine) -> None:
    add_user(engine, "ana", PASSWORD, "admin")
    addresses = [f"10.0.0.{i}" for i in range(BURST)]  # many addresses: the user limit counts
    assert _burst(engine, "ana", addresses) == {
        "checked": MAX_FAILURES_PER_USER,
        "limited": BURST - MAX_FAILURES_PER_USER,
    }
    with pytest.raises(TooManyAttempts) as locked:
        authenticate(engine, "ana", PASSWORD, "10.9.9.9")  # the right password, refused
    assert locked.value.user_locked


def test_one_address_gets_its_allowed_guesses_across_users(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(accounts, "MAX_FAILURES_PER_ADDRESS", 6)  # 20 checks cost seconds
    users = [f"user{i}" for i in range(BURST)]  # one guess per user: the address limit counts
    start = threading.Barrier(BURST)

    def guess(username: str) -> str:
        start.wait()
        try:
            authenticate(engine, username, "wrong password", "192.0.2.7")
        except LoginRefused:
            return "checked"
        except TooManyAttempts as exc:
            assert not exc.user_locked
            return "limited"
        return "logged in"

    with ThreadPoolExecutor(BURST) as pool:
        outcomes = list(pool.map(guess, users))
    assert outcomes.count("checked") == 6
    assert outcomes.count("limited") == BURST - 6


def test_an_admin_lifts_a_lockout(engine: Engine) -> None:
    add_user(engine, "ana", PASSWORD, "admin")
    for _ in range(MAX_FAILURES_PER_USER):
        with pytest.raises(LoginRefused):
            authenticate(engine, "ana", "wrong password", "10.0.0.1")
    for _ in range(3):  # refused guesses do not pile up behind the lock
        with pytest.raises(TooManyAttempts):
            authenticate(engine, "ana", "wrong password", "10.0.0.1")
    assert lift_lockout(engine, "ANA") == MAX_FAILURES_PER_USER
    assert authenticate(engine, "ana", PASSWORD, "10.0.0.1").username == "ana"
    with pytest.raises(UserInputError, match="no user named 'bob'"):
        lift_lockout(engine, "bob")
