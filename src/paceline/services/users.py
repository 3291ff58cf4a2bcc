"""Every write of a user account and an API token, for every face.

The CLI (`user add|passwd|deactivate|activate|unlock`, `token create|revoke`), the API
(`POST /users`, `PATCH /users/{id}`, `POST /tokens`, `DELETE /tokens/{id}`), the admin pages
and the demo call this module. Each change is written to the audit log in its transaction. The
storage of credentials (Argon2 hashes, token digests) stays in `paceline.auth.accounts`,
which also keeps what is not a write by a person: logging in, sessions and reading a token;
this module adds who may, and one shape of error for every face:

- `Forbidden`: accounts are an admin's to make; a password or a token is its owner's (or an
  admin's; the command line's operator is one);
- `InputError` naming the field: a name taken (also one that differs only in non-ASCII case,
  which the database's unique key catches), a short password, an unknown rep or team;
- `NotFound`: a token that is not the user's, or no longer active (ids cannot be probed).

The lifecycle rules (each takes effect at the next request, for sessions and tokens alike):
- a token minted with a token (`POST /tokens` with `Authorization: Bearer`) is that token's
  child: revoking a token revokes its children, and theirs;
- a password change ends every session of the user and revokes every token of theirs;
- deactivation does the same and refuses every login until an admin activates the user
  again (which brings no session or token back); nobody deactivates themself;
- a user linked to a rep has the rep's team as it is at each request (`auth.accounts`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from paceline.auth import accounts
from paceline.auth.access import Principal
from paceline.auth.accounts import NewToken, UserInfo
from paceline.errors import Forbidden, InputError, NotFound, UserInputError
from paceline.services.audit import actor_of


@contextmanager
def _field_errors() -> Iterator[None]:
    """auth's "field: reason" errors as InputError naming the field."""
    try:
        yield
    except InputError:
        raise
    except UserInputError as exc:
        field, _, reason = str(exc).partition(": ")
        raise (InputError(field, reason) if reason else InputError("input", field)) from None


def _require_owner(principal: Principal, username: str, what: str) -> None:
    if not (principal.can_administer or principal.username == username):
        raise Forbidden(f"{what} of user {username!r}")


def add_user(
    engine: Engine,
    principal: Principal,
    username: str,
    password: str,
    role: str,
    rep: str | None = None,
    team: str | None = None,
) -> UserInfo:
    """Create a user who can log in (admins only); a rep user is linked to a rep, a manager
    to a team (or their rep's)."""
    if not principal.can_administer:
        raise Forbidden("user accounts (admins only)")
    try:
        with _field_errors():
            return accounts.add_user(
                engine, username, password, role, rep, team, actor_of(principal)
            )
    except IntegrityError:
        # add_user's own check compares username keys; a twin added at the same moment
        # passes it and lands on the unique key instead.
        raise InputError("username", f"{username.strip()!r} is taken") from None


def set_password(
    engine: Engine, principal: Principal, username: str, password: str
) -> tuple[int, int]:
    """Change a password (its owner, or an admin); every open session of the user ends and
    every token of theirs is revoked: (sessions ended, tokens revoked)."""
    _require_owner(principal, username, "change the password")
    with _field_errors():
        return accounts.set_password(engine, username, password, actor_of(principal))


def set_active(engine: Engine, principal: Principal, username: str, active: bool) -> bool:
    """Deactivate or activate a user (admins only); whether anything changed. Deactivation
    ends their sessions and revokes their tokens at once. An admin cannot deactivate
    themself (an admin locked out by a slip would need the command line)."""
    if not principal.can_administer:
        raise Forbidden("user accounts (admins only)")
    if not active and principal.user_id != 0 and principal.username == username:
        raise InputError("username", "you cannot deactivate yourself")
    with _field_errors():
        return accounts.set_active(engine, username, active, actor_of(principal))


def unlock(engine: Engine, principal: Principal, username: str) -> int:
    """Lift a login lockout (admins only): how many recent failed logins were forgotten."""
    if not principal.can_administer:
        raise Forbidden("user accounts (admins only)")
    with _field_errors():
        return accounts.lift_lockout(engine, username, actor_of(principal))


def create_token(engine: Engine, principal: Principal, username: str, name: str) -> NewToken:
    """A new personal API token (its owner, or an admin); its secret is shown only now. Made
    with a token, it is that token's child and is revoked with it."""
    _require_owner(principal, username, "create a token")
    with _field_errors():
        return accounts.create_token(
            engine, username, name, principal.token_id, actor_of(principal)
        )


def revoke_token(engine: Engine, principal: Principal, username: str, token_id: int) -> list[int]:
    """Revoke one of the user's active tokens and the tokens minted with it; all stop working
    at once. The ids revoked."""
    _require_owner(principal, username, "revoke a token")
    try:
        return accounts.revoke_token(engine, username, token_id, actor_of(principal))
    except UserInputError as exc:
        raise NotFound(f"active token {token_id}", str(exc), "token_id") from None
