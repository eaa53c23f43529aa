"""A user's profile (signals and personas), recommendations, decision traces and feedback."""

from __future__ import annotations

from fastapi import APIRouter, Path

from spendsense.api.deps import ConnDep, CurrentPrincipal, SettingsDep, ensure_access
from spendsense.api.errors import error_responses
from spendsense.api.schemas import (
    ID_PATTERN,
    FeedbackIn,
    FeedbackOut,
    ProfileOut,
    RecommendationsOut,
    TraceOut,
)
from spendsense.api.service import build_profile, require_consent, user_recommendations
from spendsense.store.oversight import record_feedback
from spendsense.store.reads import get_trace

router = APIRouter(tags=["insights"], responses=error_responses(401, 403, 404))
UserId = Path(pattern=ID_PATTERN, description="The user's id.")
INVALID = error_responses(422)


@router.get("/profile/{user_id}", response_model=ProfileOut, responses=INVALID)
def get_profile(conn: ConnDep, principal: CurrentPrincipal, user_id: str = UserId) -> ProfileOut:
    """Signals from the feature tables and personas for every window at the latest as-of."""
    ensure_access(principal, user_id)
    return build_profile(conn, user_id)


@router.get("/recommendations/{user_id}", response_model=RecommendationsOut, responses=INVALID)
async def get_recommendations(
    conn: ConnDep, principal: CurrentPrincipal, settings: SettingsDep, user_id: str = UserId
) -> RecommendationsOut:
    """Items with rationale, disclosure, trace id and delivery state, and ``page``: the one
    merged list with content, insights and votes that the customer's page shows.

    A customer gets only what the delivery policy delivers (see docs/api.md); an operator
    gets every item with its ``delivery`` state.

    Async on purpose: a few indexed reads (WAL readers never wait on writers) cost less than
    the hop to a worker thread, and this is the hottest route.
    """
    ensure_access(principal, user_id)
    return user_recommendations(conn, settings, principal, user_id, settings.delivery_policy)


@router.get("/traces/{trace_id}", response_model=TraceOut, responses=INVALID)
def get_decision_trace(trace_id: str, conn: ConnDep, principal: CurrentPrincipal) -> TraceOut:
    """One decision trace: why an item was (or was not) recommended."""
    trace = get_trace(conn, trace_id)
    ensure_access(principal, trace["user_id"], kind="trace", ident=trace_id)
    require_consent(conn, trace["user_id"])
    return TraceOut.model_validate(trace)


@router.post("/feedback", response_model=FeedbackOut, status_code=201, responses=INVALID)
def post_feedback(body: FeedbackIn, conn: ConnDep, principal: CurrentPrincipal) -> FeedbackOut:
    """Helpful or not, with optional text; a customer rates only their own items."""
    row = record_feedback(
        conn,
        body.recommendation_id,
        helpful=body.helpful,
        text=body.text,
        user_id=None if principal.is_operator else principal.subject_id,
    )
    return FeedbackOut.model_validate(row)
