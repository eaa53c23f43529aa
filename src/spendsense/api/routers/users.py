"""Users: create and list them, issue a customer token, upload new Plaid data."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path, Query

from spendsense.api.deps import (
    Blank,
    ConnDep,
    CurrentOperator,
    CurrentPrincipal,
    Days,
    IsoDate,
    SettingsDep,
    Text100,
    ensure_access,
)
from spendsense.api.errors import error_responses
from spendsense.api.schemas import (
    ID_PATTERN,
    PlaidIn,
    PlaidOut,
    ReviewStatus,
    RevokedOut,
    TokenOut,
    UserCreate,
    UserOut,
    UsersOut,
)
from spendsense.api.service import list_users_page, upload_plaid
from spendsense.store.auth import (
    CUSTOMER_TOKEN_TTL,
    create_customer_token,
    revoke_customer_tokens,
)
from spendsense.store.oversight import create_user

router = APIRouter(tags=["users"], responses=error_responses(401, 403, 422))
UserId = Path(pattern=ID_PATTERN, description="The user's id.")
PlaidBody = Annotated[
    PlaidIn,
    Body(description="A user bundle ({user, accounts, transactions, liabilities}) or a raw Plaid"
         " response (/accounts/get, /transactions/get, /transactions/sync, /liabilities/get)."),
]  # fmt: skip


@router.get("/users", response_model=UsersOut)
def get_users(
    conn: ConnDep,
    operator: CurrentOperator,
    q: Annotated[Text100 | None, Blank, Query(description="Part of the id or name.")] = None,
    persona: Annotated[
        Text100 | None,
        Blank,
        Query(description="Primary persona name or STABLE (newest as-of)."),
    ] = None,
    window: Annotated[
        Days | None, Blank, Query(description="With persona: in this window only.")
    ] = None,
    consent: Annotated[
        Literal["granted", "revoked", "none"] | None, Blank, Query(description="Consent status.")
    ] = None,
    status: Annotated[
        ReviewStatus | None, Blank, Query(description="Has a recommendation in this state.")
    ] = None,
    as_of: Annotated[
        IsoDate | None,
        Blank,
        Query(
            description="Personas as of this run date (YYYY-MM-DD); default each user's newest.",
        ),
    ] = None,
    limit: int = Query(default=100, ge=1, le=1000, description="Page size."),
    offset: int = Query(default=0, ge=0, description="Users to skip."),
) -> UsersOut:
    """Users with their primary personas and review counts (operators only), by user id."""
    return list_users_page(
        conn, q=q, persona=persona, window=window, consent=consent, review_status=status,
        as_of=as_of, limit=limit, offset=offset,
    )  # fmt: skip


@router.post("/users", response_model=UserOut, status_code=201, responses=error_responses(409))
def post_user(body: UserCreate, conn: ConnDep, operator: CurrentOperator) -> UserOut:
    """Create a user (operators only); consent starts as 'none'."""
    row = create_user(conn, body.user_id, body.model_dump(), actor=operator.name)
    return UserOut.model_validate(row)


@router.post(
    "/users/{user_id}/token", response_model=TokenOut, status_code=201,
    responses=error_responses(404),
)  # fmt: skip
def post_token(conn: ConnDep, operator: CurrentOperator, user_id: str = UserId) -> TokenOut:
    """Issue a customer token for the user's own page (shown once; expires; audited)."""
    token = create_customer_token(conn, user_id, actor=operator.name)
    return TokenOut(
        user_id=user_id,
        token=token,
        me_url=f"/me?token={token}",
        expires_in_days=CUSTOMER_TOKEN_TTL.days,
    )


@router.post(
    "/users/{user_id}/token/revoke", response_model=RevokedOut, responses=error_responses(404)
)
def revoke_tokens(conn: ConnDep, operator: CurrentOperator, user_id: str = UserId) -> RevokedOut:
    """Revoke every token and session of the user: their links stop working at once (audited)."""
    count = revoke_customer_tokens(conn, user_id, actor=operator.name)
    return RevokedOut(user_id=user_id, tokens_revoked=count)


@router.post(
    "/users/{user_id}/plaid", response_model=PlaidOut, responses=error_responses(403, 404, 409)
)
def post_plaid(
    settings: SettingsDep,
    principal: CurrentPrincipal,
    body: PlaidBody,
    user_id: str = UserId,
) -> PlaidOut:
    """Add the user's new Plaid data and recompute that user at once."""
    ensure_access(principal, user_id)
    actor = principal.name if principal.is_operator else f"user:{principal.subject_id}"
    return upload_plaid(settings, user_id, body.model_dump(exclude_unset=True), actor=actor)
