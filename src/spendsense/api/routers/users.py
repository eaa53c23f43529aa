"""Users: create, issue a customer token, upload new Plaid data."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path

from spendsense.api.deps import (
    ConnDep,
    CurrentOperator,
    CurrentPrincipal,
    SettingsDep,
    ensure_access,
)
from spendsense.api.schemas import (
    ID_PATTERN,
    PlaidOut,
    RevokedOut,
    TokenOut,
    UserCreate,
    UserOut,
)
from spendsense.api.service import upload_plaid
from spendsense.store.auth import (
    CUSTOMER_TOKEN_TTL,
    create_customer_token,
    revoke_customer_tokens,
)
from spendsense.store.oversight import create_user

router = APIRouter(tags=["users"])
UserId = Path(pattern=ID_PATTERN)
PlaidBody = Annotated[dict[str, Any], Body(description="A user bundle or a raw Plaid response.")]


@router.post("/users", response_model=UserOut, status_code=201)
def post_user(body: UserCreate, conn: ConnDep, operator: CurrentOperator) -> UserOut:
    """Create a user (operators only); consent starts as 'none'."""
    row = create_user(conn, body.user_id, body.model_dump(), actor=operator.name)
    return UserOut.model_validate(row)


@router.post("/users/{user_id}/token", response_model=TokenOut, status_code=201)
def post_token(conn: ConnDep, operator: CurrentOperator, user_id: str = UserId) -> TokenOut:
    """Issue a customer token for the user's own page (shown once; expires; audited)."""
    token = create_customer_token(conn, user_id, actor=operator.name)
    return TokenOut(
        user_id=user_id,
        token=token,
        me_url=f"/me?token={token}",
        expires_in_days=CUSTOMER_TOKEN_TTL.days,
    )


@router.post("/users/{user_id}/token/revoke", response_model=RevokedOut)
def revoke_tokens(conn: ConnDep, operator: CurrentOperator, user_id: str = UserId) -> RevokedOut:
    """Revoke every token and session of the user: their links stop working at once (audited)."""
    count = revoke_customer_tokens(conn, user_id, actor=operator.name)
    return RevokedOut(user_id=user_id, tokens_revoked=count)


@router.post("/users/{user_id}/plaid", response_model=PlaidOut)
def post_plaid(
    settings: SettingsDep,
    principal: CurrentPrincipal,
    body: PlaidBody,
    user_id: str = UserId,
) -> PlaidOut:
    """Add the user's new Plaid data and recompute that user at once."""
    ensure_access(principal, user_id)
    return upload_plaid(settings, user_id, body)
