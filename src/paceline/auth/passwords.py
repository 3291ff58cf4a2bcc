"""Password hashing with Argon2id (argon2-cffi's defaults follow RFC 9106's recommendations)."""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher()
MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _HASHER.check_needs_rehash(stored_hash)


@functools.cache
def dummy_hash() -> str:
    """A valid hash of a random password: verifying against it when the user does not exist
    costs the same time as a real check, so response times do not reveal which user names
    exist. Made on first use, not at import: hashing costs a fraction of a second of CPU that
    every command and test importing this module would otherwise pay."""
    return _HASHER.hash("paceline-no-such-user-placeholder")
