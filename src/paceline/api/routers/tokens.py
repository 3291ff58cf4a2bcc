"""The caller's own personal API tokens: list, create (the secret is shown once), revoke.

Tokens are stored as SHA-256 digests only; a revoked token stops working at once (401) and
stays listed, with when it was revoked. Another user's token answers 404 (see `_common`).
Writes go through `paceline.services.users`, as the CLI's and the pages' do.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response, status
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from paceline.api.deps import ApiCaller, State
from paceline.api.routers._common import (
    AUTH,
    Answer,
    RecordId,
    clean_text,
    domain_errors,
)
from paceline.api.shapes import RecordOut, many, record_model
from paceline.auth.accounts import NewToken, TokenInfo, list_tokens
from paceline.services import users

router = APIRouter(prefix="/tokens", tags=["tokens"], dependencies=AUTH)


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=120),
        AfterValidator(clean_text),
    ] = Field(description="What the token is for, e.g. 'dialer sync'.")


TokenOut = record_model(TokenInfo, "TokenOut")
NewTokenOut = record_model(
    NewToken,
    "NewTokenOut",
    describe={"token": "The secret: shown only now; send it as 'Bearer <token>'."},
)
TOKENS = Answer[list[RecordOut]](many(TokenOut))
MADE = Answer[RecordOut](NewTokenOut)


@router.get("", response_model=many(TokenOut), summary="Your API tokens")
def list_(state: State, caller: ApiCaller) -> Response:
    return TOKENS.json([TokenOut.of(t) for t in list_tokens(state.engine, caller.username)])


@router.post(
    "",
    response_model=NewTokenOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create an API token",
)
def create(body: TokenIn, state: State, caller: ApiCaller) -> Response:
    with domain_errors("body"):
        made = users.create_token(state.engine, caller, caller.username, body.name)
    return MADE.json(NewTokenOut.of(made), status.HTTP_201_CREATED)


@router.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke an API token")
def revoke(token_id: RecordId, state: State, caller: ApiCaller) -> Response:
    with domain_errors("path"):
        users.revoke_token(state.engine, caller, caller.username, token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
