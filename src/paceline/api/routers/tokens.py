"""The caller's own personal API tokens: list, create (the secret is shown once), revoke.

Tokens are stored as SHA-256 digests only; a revoked token stops working at once (401) and
stays listed, with when it was revoked. Another user's token answers 404 (see `_common`).
Writes go through `paceline.services.users`, as the CLI's and the pages' do.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Response, status
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from paceline.api.deps import ApiCaller, State
from paceline.api.routers._common import (
    AUTH,
    Answer,
    RecordId,
    as_utc,
    clean_text,
    domain_errors,
)
from paceline.auth.accounts import list_tokens
from paceline.services import users

router = APIRouter(prefix="/tokens", tags=["tokens"], dependencies=AUTH)


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=120),
        AfterValidator(clean_text),
    ] = Field(description="What the token is for, e.g. 'dialer sync'.")


class TokenOut(BaseModel):
    id: int
    name: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class NewTokenOut(BaseModel):
    id: int
    name: str
    token: str = Field(description="The secret: shown only now; send it as 'Bearer <token>'.")


TOKENS = Answer[list[TokenOut]](list[TokenOut])


@router.get("", response_model=list[TokenOut], summary="Your API tokens")
def list_(state: State, caller: ApiCaller) -> Response:
    return TOKENS.json(
        [
            TokenOut(
                id=t.id,
                name=t.name,
                created_at=as_utc(t.created_at),
                last_used_at=as_utc(t.last_used_at),
                revoked_at=as_utc(t.revoked_at),
            )
            for t in list_tokens(state.engine, caller.username)
        ]
    )


@router.post(
    "",
    response_model=NewTokenOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create an API token",
)
def create(body: TokenIn, state: State, caller: ApiCaller) -> NewTokenOut:
    with domain_errors("body"):
        made = users.create_token(state.engine, caller, caller.username, body.name)
    return NewTokenOut(id=made.id, name=made.name, token=made.token)


@router.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke an API token")
def revoke(token_id: RecordId, state: State, caller: ApiCaller) -> Response:
    with domain_errors("path"):
        users.revoke_token(state.engine, caller, caller.username, token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
