"""User accounts: admins only (list, create, deactivate and activate through
`paceline.services.users`). Everyone else is refused with 403."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Response, status
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from paceline.api.deps import ApiCaller, State
from paceline.api.routers._common import (
    AUTH,
    Answer,
    Name,
    RecordId,
    clean_text,
    domain_errors,
    refuse,
)
from paceline.api.shapes import RecordOut, many, record_model
from paceline.auth.access import Principal
from paceline.auth.accounts import UserInfo, find_user, list_users
from paceline.services import users

Username = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=120),
    AfterValidator(clean_text),
]
router = APIRouter(prefix="/users", tags=["users"], dependencies=AUTH)


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Username
    password: str = Field(min_length=1, max_length=1000, description="At least 10 characters.")
    role: Literal["admin", "manager", "rep"]
    rep: Name | None = Field(None, description="The rep this user is (required for a rep).")
    team: Name | None = Field(None, description="The team a manager manages (or their rep's).")


UserOut = record_model(UserInfo, "UserOut")


def _admin(caller: Principal) -> None:
    if not caller.can_administer:
        refuse("user accounts (admins only)")


USERS = Answer[list[RecordOut]](many(UserOut))
ONE = Answer[RecordOut](UserOut)


@router.get("", response_model=many(UserOut), summary="List users (admins)")
def list_(state: State, caller: ApiCaller) -> Response:
    _admin(caller)
    return USERS.json([UserOut.of(u) for u in list_users(state.engine)])


@router.post(
    "", response_model=UserOut, status_code=status.HTTP_201_CREATED, summary="Add a user (admins)"
)
def create(body: UserIn, state: State, caller: ApiCaller) -> Response:
    with domain_errors("body"):
        made = users.add_user(
            state.engine, caller, body.username, body.password, body.role, body.rep, body.team
        )
    return ONE.json(UserOut.of(made), status.HTTP_201_CREATED)


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    active: bool = Field(
        description="false: deactivate (every session ends and every token is revoked at "
        "once; no login until activated again); true: activate again."
    )


@router.patch("/{user_id}", response_model=UserOut, summary="Deactivate or activate a user")
def patch(user_id: RecordId, body: UserPatch, state: State, caller: ApiCaller) -> Response:
    _admin(caller)
    found = find_user(state.engine, user_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"not found: user {user_id}")
    with domain_errors("body"):
        users.set_active(state.engine, caller, found.username, body.active)
    now = find_user(state.engine, user_id)
    assert now is not None
    return ONE.json(UserOut.of(now))
