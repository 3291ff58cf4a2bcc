"""User accounts, logins with a rate limit, browser sessions and personal API tokens.

Secrets never rest in the database in the clear: passwords as Argon2 hashes, session and API
tokens as SHA-256 digests of 256-bit random values (a digest is enough for a random token,
and keeps every request's check cheap). Login failures are counted per user name and per
address over a window, so guessing is slowed whichever one an attacker varies.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass, replace
from typing import cast

from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, select, update

from paceline.auth.access import ROLES, Principal, Role
from paceline.auth.passwords import (
    MIN_PASSWORD_LENGTH,
    dummy_hash,
    hash_password,
    needs_rehash,
    verify_password,
)
from paceline.errors import UserInputError
from paceline.store import audit
from paceline.store.audit import Actor
from paceline.store.engine import read_connection
from paceline.store.models import ApiToken, AppUser, LoginAttempt, Rep, Team, WebSession, utcnow
from paceline.store.names import name_key
from paceline.store.records import storable_id

SESSION_LIFETIME = dt.timedelta(hours=12)
FAILURE_WINDOW = dt.timedelta(minutes=15)
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_ADDRESS = 20
TOKEN_PREFIX = "pl_"


class LoginRefused(Exception):
    """Wrong user name or password (deliberately not saying which)."""


class TooManyAttempts(Exception):
    """Too many failed logins recently; `retry_after` seconds until the window clears.

    `user_locked`: the user name is locked (every password is refused until then, the right
    one too, which the user should be told), not only the address."""

    def __init__(self, retry_after: int, user_locked: bool = False) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after} s")
        self.retry_after = retry_after
        self.user_locked = user_locked


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    role: Role
    rep: str | None
    team: str | None
    active: bool


@dataclass(frozen=True)
class NewToken:
    """A freshly created token: the only time its secret is shown."""

    id: int
    name: str
    token: str


@dataclass(frozen=True)
class TokenInfo:
    id: int
    name: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- accounts -------------------------------------------------------------------------------


def add_user(
    engine: Engine,
    username: str,
    password: str,
    role: str,
    rep: str | None = None,
    team: str | None = None,
    actor: Actor | None = None,
) -> UserInfo:
    """Create a user; a rep user is linked to a rep, a manager to a team (or their rep's).
    A user linked to a rep has the rep's team, whatever it becomes (`principal_of`), so a
    different --team beside a --rep is refused rather than silently overridden."""
    username = username.strip()
    if not username:
        raise UserInputError("username: a user needs a name")
    if role not in ROLES:
        raise UserInputError(f"role: must be one of {', '.join(ROLES)}, not {role!r}")
    _check_password(password)
    with engine.begin() as conn:
        if conn.scalar(select(AppUser.id).where(AppUser.username_key == name_key(username))):
            raise UserInputError(f"username: {username!r} is taken")
        rep_id, rep_team = _find_rep(conn, rep) if rep else (None, None)
        team_id = _find_team(conn, team) if team else rep_team
        if rep_id is not None and team_id != rep_team:
            raise UserInputError(
                "team: a user linked to a rep has the rep's team; leave --team out"
            )
        if role == "rep" and rep_id is None:
            raise UserInputError("rep: a user with the rep role must be linked to a rep (--rep)")
        if role == "manager" and team_id is None:
            raise UserInputError("team: a manager needs a team (--team, or a --rep in one)")
        user_id = conn.execute(
            insert(AppUser)
            .values(
                username=username,
                username_key=name_key(username),
                password_hash=hash_password(password),
                role=role,
                rep_id=rep_id,
                team_id=team_id,
                active=True,
                created_at=utcnow(),
            )
            .returning(AppUser.id)
        ).scalar_one()
        audit.write_change(conn, actor, AppUser.__table__, "user", int(user_id), "create", None)
    return _user_info(engine, int(user_id))


def set_password(
    engine: Engine, username: str, password: str, actor: Actor | None = None
) -> tuple[int, int]:
    """Change a password: every open session of the user ends and every API token of theirs
    is revoked (whoever knew the old password may have made them). Returns (sessions ended,
    tokens revoked)."""
    _check_password(password)
    with engine.begin() as conn:
        user_id = _user_id(conn, username)
        conn.execute(
            update(AppUser)
            .where(AppUser.id == user_id)
            .values(password_hash=hash_password(password))
        )
        ended, revoked = _end_everything(conn, user_id, actor)
        if actor is not None:
            change = {"password": "changed", "sessions_ended": ended, "tokens_revoked": revoked}
            audit.write(conn, actor, "user", user_id, "password", None, change)
    return ended, len(revoked)


def set_active(engine: Engine, username: str, active: bool, actor: Actor | None = None) -> bool:
    """Deactivate (or activate again) a user. Deactivation ends every session and revokes
    every token at once; activating again brings none of them back. Returns whether anything
    changed."""
    with engine.begin() as conn:
        user_id = _user_id(conn, username)
        before = audit.snapshot(conn, AppUser.__table__, user_id)
        done = conn.execute(
            update(AppUser)
            .where(AppUser.id == user_id, AppUser.active.is_(not active))
            .values(active=active)
        ).rowcount
        if not active:
            _end_everything(conn, user_id, actor)
        action = "activate" if active else "deactivate"
        if done:
            audit.write_change(conn, actor, AppUser.__table__, "user", user_id, action, before)
    return bool(done)


def _end_everything(conn: Connection, user_id: int, actor: Actor | None) -> tuple[int, list[int]]:
    """End a user's sessions and revoke their live tokens: (sessions ended, tokens revoked)."""
    ended = conn.execute(delete(WebSession).where(WebSession.user_id == user_id)).rowcount
    live = conn.scalars(
        select(ApiToken.id).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
    ).all()
    revoked = _revoke(conn, [int(t) for t in live], actor)
    return int(ended or 0), revoked


def _revoke(conn: Connection, token_ids: list[int], actor: Actor | None) -> list[int]:
    """Revoke tokens and, whoever owns them, every token minted with them (their children,
    and theirs): the ids revoked, in order."""
    revoked: list[int] = []
    todo = list(token_ids)
    now = utcnow()
    while todo:
        token_id = todo.pop(0)
        before = audit.snapshot(conn, ApiToken.__table__, token_id)
        done = conn.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=now)
        ).rowcount
        if done:
            revoked.append(token_id)
            audit.write_change(conn, actor, ApiToken.__table__, "token", token_id, "revoke", before)
        children = conn.scalars(select(ApiToken.id).where(ApiToken.parent_id == token_id))
        todo.extend(int(c) for c in children if int(c) not in revoked)
    return revoked


def list_users(engine: Engine) -> list[UserInfo]:
    with engine.connect() as conn:
        ids = conn.scalars(select(AppUser.id).order_by(AppUser.username)).all()
    return [_user_info(engine, int(i)) for i in ids]


def find_user(engine: Engine, user_id: int) -> UserInfo | None:
    """A user by id, or None (an id no row can have included)."""
    if not storable_id(user_id):
        return None
    with engine.connect() as conn:
        found = conn.scalar(select(AppUser.id).where(AppUser.id == user_id))
    return None if found is None else _user_info(engine, int(found))


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserInputError(f"password: at least {MIN_PASSWORD_LENGTH} characters")


def _user_id(conn: Connection, username: str) -> int:
    found = conn.scalar(select(AppUser.id).where(AppUser.username_key == name_key(username)))
    if found is None:
        raise UserInputError(f"username: no user named {username!r}")
    return int(found)


def _find_rep(conn: Connection, name: str) -> tuple[int, int | None]:
    for rep_id, rep_name, team_id in conn.execute(select(Rep.id, Rep.name, Rep.team_id)):
        if name_key(rep_name) == name_key(name):
            return int(rep_id), team_id
    raise UserInputError(f"rep: no rep named {name!r}")


def _find_team(conn: Connection, name: str) -> int:
    for team_id, team_name in conn.execute(select(Team.id, Team.name)):
        if name_key(team_name) == name_key(name):
            return int(team_id)
    raise UserInputError(f"team: no team named {name!r}")


def _user_info(engine: Engine, user_id: int) -> UserInfo:
    query = (
        select(AppUser.id, AppUser.username, AppUser.role, Rep.name, Team.name, AppUser.active)
        .outerjoin(Rep, Rep.id == AppUser.rep_id)
        .outerjoin(Team, Team.id == AppUser.team_id)
        .where(AppUser.id == user_id)
    )
    with engine.connect() as conn:
        row = conn.execute(query).one()
    return UserInfo(int(row[0]), row[1], cast(Role, row[2]), row[3], row[4], bool(row[5]))


def principal_of(conn: Connection, user_id: int) -> Principal | None:
    """The user as the rules see them now, or None when inactive. Read at every request:
    a user linked to a rep has the rep's team as it is now (a rep moved to another team
    loses the old team at once); only a manager with no rep keeps the team stored on them."""
    row = conn.execute(_PRINCIPAL_BY_ID, {"user_id": user_id}).first()
    return None if row is None else _principal(user_id, *row)


# The columns `_principal` reads, joined from the user to their rep: every request reads them
# (with the session or token in the same statement), so they are built once.
_PRINCIPAL_COLUMNS = (
    AppUser.username,
    AppUser.role,
    AppUser.rep_id,
    AppUser.team_id,
    AppUser.active,
    Rep.team_id.label("rep_team_id"),
)
_PRINCIPAL_BY_ID = (
    select(*_PRINCIPAL_COLUMNS)
    .outerjoin(Rep, Rep.id == AppUser.rep_id)
    .where(AppUser.id == bindparam("user_id"))
)


def _principal(
    user_id: int,
    username: str,
    role: str,
    rep_id: int | None,
    team_id: int | None,
    active: bool,
    rep_team_id: int | None,
) -> Principal | None:
    if not active:
        return None
    team = rep_team_id if rep_id is not None else team_id
    return Principal(user_id, username, cast(Role, role), rep_id, team)


# --- logging in -----------------------------------------------------------------------------


def authenticate(engine: Engine, username: str, password: str, address: str) -> Principal:
    """Check a login; refuse early when the user name or address failed too often lately.

    The attempt is recorded (and committed) before the password is checked, and it may go on
    only if it is among the first `MAX_FAILURES_...` in the window: counting failures after
    the slow password check let 18-19 parallel guesses through on PostgreSQL where 5 should
    pass. A login that succeeds clears the user's record; one refused by the limit is not
    kept, so a flood of refused guesses does not extend the lock.
    """
    now = utcnow()
    key = name_key(username)[:120]
    _take_attempt(engine, key, address[:64], now)
    with engine.begin() as conn:
        row = conn.execute(
            select(AppUser.id, AppUser.password_hash, AppUser.active).where(
                AppUser.username_key == name_key(username)
            )
        ).first()
        ok = verify_password(row.password_hash if row else dummy_hash(), password)
        if row and ok and row.active:
            if needs_rehash(row.password_hash):
                conn.execute(
                    update(AppUser)
                    .where(AppUser.id == row.id)
                    .values(password_hash=hash_password(password))
                )
            conn.execute(delete(LoginAttempt).where(LoginAttempt.username == key))
            principal = principal_of(conn, int(row.id))
            assert principal is not None
            return principal
    raise LoginRefused("wrong user name or password")


def _take_attempt(engine: Engine, username: str, address: str, now: dt.datetime) -> None:
    """Record this attempt and count it with the window's others in one transaction that no
    other attempt on the same user name or address can interleave with: SQLite's write lock
    (taken by the first statement, a write), PostgreSQL's advisory locks on the name and the
    address (always in that order, so two attempts cannot deadlock). Counting after a commit
    of its own let attempts that had not yet seen each other's rows all pass. Over a limit,
    the attempt is forgotten and refused."""
    since = now - FAILURE_WINDOW
    refused: TooManyAttempts | None = None
    with engine.begin() as conn:
        conn.execute(delete(LoginAttempt).where(LoginAttempt.at < since))
        if conn.dialect.name == "postgresql":
            for key in (f"login user {username}", f"login address {address}"):
                conn.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))
        attempt = conn.execute(
            insert(LoginAttempt)
            .values(username=username, address=address, at=now)
            .returning(LoginAttempt.id)
        ).scalar_one()
        recent = select(func.count(), func.min(LoginAttempt.at)).where(LoginAttempt.at >= since)
        checks = (
            (LoginAttempt.username == username, MAX_FAILURES_PER_USER, True),
            (LoginAttempt.address == address, MAX_FAILURES_PER_ADDRESS, False),
        )
        for which, limit, per_user in checks:
            count, oldest = conn.execute(recent.where(which)).one()
            if count > limit:
                conn.execute(delete(LoginAttempt).where(LoginAttempt.id == attempt))
                retry = int((oldest + FAILURE_WINDOW - now).total_seconds()) + 1
                refused = TooManyAttempts(max(retry, 1), per_user)
                break
    if refused is not None:
        raise refused


def lift_lockout(engine: Engine, username: str, actor: Actor | None = None) -> int:
    """Forget the recent failed logins of a user (an admin's decision after a lockout);
    returns how many were forgotten. An unknown user name is an error."""
    with engine.begin() as conn:
        user_id = _user_id(conn, username)
        forgotten = int(
            conn.execute(
                delete(LoginAttempt).where(LoginAttempt.username == name_key(username)[:120])
            ).rowcount
            or 0
        )
        if actor is not None:
            audit.write(conn, actor, "user", user_id, "unlock", None, {"forgotten": forgotten})
        return forgotten


# --- browser sessions -----------------------------------------------------------------------


def start_session(engine: Engine, user_id: int) -> tuple[str, str]:
    """A new session: (cookie token, CSRF token). Only the cookie token's digest is stored."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(delete(WebSession).where(WebSession.expires_at < now))
        conn.execute(
            insert(WebSession).values(
                user_id=user_id,
                token_hash=digest(token),
                csrf_token=csrf,
                created_at=now,
                expires_at=now + SESSION_LIFETIME,
            )
        )
    return token, csrf


def session_principal(engine: Engine, token: str) -> tuple[Principal, str] | None:
    """The user and CSRF token of a live session, or None."""
    with read_connection(engine) as conn:
        row = conn.execute(
            _SESSION_PRINCIPAL, {"token_hash": digest(token), "now": utcnow()}
        ).first()
    if row is None:
        return None
    principal = _principal(*row[:-1])
    return (principal, row[-1]) if principal else None


# One statement per request: the live session, its user and the user's rep.
_SESSION_PRINCIPAL = (
    select(WebSession.user_id, *_PRINCIPAL_COLUMNS, WebSession.csrf_token)
    .join(AppUser, AppUser.id == WebSession.user_id)
    .outerjoin(Rep, Rep.id == AppUser.rep_id)
    .where(
        WebSession.token_hash == bindparam("token_hash"), WebSession.expires_at > bindparam("now")
    )
)


def end_session(engine: Engine, token: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(WebSession).where(WebSession.token_hash == digest(token)))


# --- API tokens -----------------------------------------------------------------------------


def create_token(
    engine: Engine,
    username: str,
    name: str,
    parent_id: int | None = None,
    actor: Actor | None = None,
) -> NewToken:
    """A new token; `parent_id`: the token it is minted with, whose revocation revokes it."""
    if not name.strip():
        raise UserInputError("name: a token needs a name (what it is for)")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with engine.begin() as conn:
        user_id = _user_id(conn, username)
        token_id = conn.execute(
            insert(ApiToken)
            .values(
                user_id=user_id,
                name=name.strip(),
                token_hash=digest(token),
                created_at=utcnow(),
                parent_id=parent_id,
            )
            .returning(ApiToken.id)
        ).scalar_one()
        audit.write_change(conn, actor, ApiToken.__table__, "token", int(token_id), "create", None)
    return NewToken(int(token_id), name.strip(), token)


def list_tokens(engine: Engine, username: str) -> list[TokenInfo]:
    with engine.connect() as conn:
        user_id = _user_id(conn, username)
        rows = conn.execute(
            select(
                ApiToken.id,
                ApiToken.name,
                ApiToken.created_at,
                ApiToken.last_used_at,
                ApiToken.revoked_at,
            )
            .where(ApiToken.user_id == user_id)
            .order_by(ApiToken.id)
        ).all()
    return [TokenInfo(int(r[0]), r[1], r[2], r[3], r[4]) for r in rows]


def revoke_token(
    engine: Engine, username: str, token_id: int, actor: Actor | None = None
) -> list[int]:
    """Revoke one of the user's tokens and every token minted with it (and with those); all
    stop working at once. Returns the ids revoked, this one first."""
    with engine.begin() as conn:
        user_id = _user_id(conn, username)
        if not storable_id(token_id):
            raise UserInputError(f"token: {username!r} has no active token {token_id}")
        live = conn.scalar(
            select(ApiToken.id).where(
                ApiToken.id == token_id, ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None)
            )
        )
        if live is None:
            raise UserInputError(f"token: {username!r} has no active token {token_id}")
        return _revoke(conn, [token_id], actor)


def token_principal(engine: Engine, token: str) -> Principal | None:
    """The user of a live API token (and note when it was last used), or None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    with read_connection(engine) as conn:  # the once-a-minute write commits on its own
        row = conn.execute(_TOKEN_PRINCIPAL, {"token_hash": digest(token)}).first()
        if row is None:
            return None
        now = utcnow()
        if row.last_used_at is None or now - row.last_used_at > dt.timedelta(minutes=1):
            conn.execute(_TOKEN_USED, {"token_id": row.id, "now": now})
            conn.commit()
    principal = _principal(*row[2:])
    return None if principal is None else replace(principal, token_id=int(row.id))


# One statement per request: the live token, its user and the user's rep.
_TOKEN_PRINCIPAL = (
    select(ApiToken.id, ApiToken.last_used_at, ApiToken.user_id, *_PRINCIPAL_COLUMNS)
    .join(AppUser, AppUser.id == ApiToken.user_id)
    .outerjoin(Rep, Rep.id == AppUser.rep_id)
    .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None))
)
_TOKEN_USED = (
    update(ApiToken)
    .where(ApiToken.id == bindparam("token_id"))
    .values(last_used_at=bindparam("now"))
)


def has_users(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.scalar(select(AppUser.id).limit(1)) is not None
