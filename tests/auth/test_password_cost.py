"""The real password hasher keeps Argon2id's recommended cost, though the tests hash cheaply.

tests/conftest.py swaps in an Argon2id hasher at the lowest cost for the session
(`quick_password_hashing`), so that the fixtures making users do not each spend a fifth of a
second of CPU per hash; this pins what it stands in for.
"""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.profiles import RFC_9106_LOW_MEMORY

from paceline.auth.passwords import hash_password, verify_password


def test_the_real_hasher_is_argon2id_at_rfc_9106_cost(
    quick_password_hashing: PasswordHasher,
) -> None:
    params = quick_password_hashing._parameters
    assert params.type is Type.ID
    assert (params.time_cost, params.memory_cost, params.parallelism) == (3, 65536, 4)
    assert params == RFC_9106_LOW_MEMORY


def test_the_test_hasher_still_salts_and_refuses_a_wrong_password() -> None:
    first, second = hash_password("correct horse battery"), hash_password("correct horse battery")
    assert first.startswith("$argon2id$") and first != second
    assert verify_password(first, "correct horse battery")
    assert not verify_password(first, "correct horse batterx")
