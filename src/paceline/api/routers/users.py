"""User accounts: admins only (list, create through `paceline.services.users`). Everyone
else is refused with 403."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, status
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from paceline.api.deps import ApiCaller, State
from paceline.api.routers._common import AUTH, Name, clean_text, domain_errors, refuse
from paceline.auth.access import Principal
from paceline.auth.accounts import UserInfo, list_users
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


class UserOut(BaseModel):
    id: int
    username: str
    role: str
    rep: str | None
    team: str | None
    active: bool


def _admin(caller: Principal) -> None:
    if not caller.can_administer:
        refuse("user accounts (admins only)")


def out(u: UserInfo) -> UserOut:
    return UserOut(
        id=u.id, username=u.username, role=u.role, rep=u.rep, team=u.team, active=u.active
    )


@router.get("", response_model=list[UserOut], summary="List users (admins)")
def list_(state: State, caller: ApiCaller) -> list[UserOut]:
    _admin(caller)
    return [out(u) for u in list_users(state.engine)]


@router.post(
    "", response_model=UserOut, status_code=status.HTTP_201_CREATED, summary="Add a user (admins)"
)
def create(body: UserIn, state: State, caller: ApiCaller) -> UserOut:
    with domain_errors("body"):
        made = users.add_user(
            state.engine, caller, body.username, body.password, body.role, body.rep, body.team
        )
    return out(made)
