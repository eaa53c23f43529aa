"""Operator oversight: the review queue, approve / override / flag / unflag, the audit log."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Path, Query

from spendsense.api.actions import act
from spendsense.api.deps import ConnDep, CurrentOperator, SettingsDep
from spendsense.api.schemas import (
    ActionIn,
    AuditOut,
    FlagIn,
    OperatorStateOut,
    OverrideIn,
    RecommendationOut,
    ReviewOut,
    TokenRevokedOut,
    TokenRevokeIn,
)
from spendsense.api.service import audit_page, recommendation_out, review_item
from spendsense.store.auth import revoke_token, set_operator_disabled
from spendsense.store.oversight import review_queue

router = APIRouter(prefix="/operator", tags=["operator"])
Status = Literal["proposed", "approved", "overridden", "flagged", "delivered"]


@router.get("/review", response_model=ReviewOut)
def get_review(
    conn: ConnDep,
    operator: CurrentOperator,
    settings: SettingsDep,
    status: Status | None = None,
    persona: str | None = Query(default=None, max_length=100),
    window: int | None = Query(default=None, ge=1, le=3650),
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0),
) -> ReviewOut:
    """The approval queue (proposed and flagged by default), filterable by status, persona, window."""
    rows, total = review_queue(
        conn, status=status, persona=persona, window=window, limit=limit, offset=offset
    )
    return ReviewOut(total=total, items=[review_item(r, settings.delivery_policy) for r in rows])


@router.post("/recommendations/{recommendation_id}/approve", response_model=RecommendationOut)
def approve(
    recommendation_id: str,
    body: ActionIn,
    conn: ConnDep,
    operator: CurrentOperator,
    settings: SettingsDep,
) -> RecommendationOut:
    """Approve the item as it stands (after the same guardrail check; 422 if it fails)."""
    rec = act(
        conn, settings, recommendation_id, "approve", version=body.version, actor=operator.name,
        reason=body.reason,
    )  # fmt: skip
    return recommendation_out(rec, settings.delivery_policy)


@router.post("/recommendations/{recommendation_id}/override", response_model=RecommendationOut)
def override(
    recommendation_id: str,
    body: OverrideIn,
    conn: ConnDep,
    operator: CurrentOperator,
    settings: SettingsDep,
) -> RecommendationOut:
    """Replace the item or edit its title/rationale; a reason is required.

    The result must pass the guardrail check the pipeline runs (catalog, tone, eligibility,
    disclosure): otherwise 422 ``guardrails_failed`` with the reasons, and nothing changes.
    A new item brings its catalog title, rationale (filled with the user's numbers), kind,
    partner, terms and disclosures unless title or rationale are given.
    """
    rec = act(
        conn, settings, recommendation_id, "override", version=body.version, actor=operator.name,
        reason=body.reason, title=body.title, rationale=body.rationale, item_id=body.item_id,
    )  # fmt: skip
    return recommendation_out(rec, settings.delivery_policy)


@router.post("/recommendations/{recommendation_id}/flag", response_model=RecommendationOut)
def flag(
    recommendation_id: str,
    body: FlagIn,
    conn: ConnDep,
    operator: CurrentOperator,
    settings: SettingsDep,
) -> RecommendationOut:
    """Flag the item: customers stop seeing it at once."""
    rec = act(
        conn, settings, recommendation_id, "flag", version=body.version, actor=operator.name,
        reason=body.reason,
    )  # fmt: skip
    return recommendation_out(rec, settings.delivery_policy)


@router.post("/recommendations/{recommendation_id}/unflag", response_model=RecommendationOut)
def unflag(
    recommendation_id: str,
    body: ActionIn,
    conn: ConnDep,
    operator: CurrentOperator,
    settings: SettingsDep,
) -> RecommendationOut:
    """Clear a flag: the item goes back to proposed."""
    rec = act(
        conn, settings, recommendation_id, "unflag", version=body.version, actor=operator.name,
        reason=body.reason,
    )  # fmt: skip
    return recommendation_out(rec, settings.delivery_policy)


@router.post("/tokens/revoke", response_model=TokenRevokedOut)
def revoke_one_token(
    body: TokenRevokeIn, conn: ConnDep, operator: CurrentOperator
) -> TokenRevokedOut:
    """Revoke one operator or customer token (and the sessions opened with it); audited."""
    return TokenRevokedOut(token_id=revoke_token(conn, body.token, actor=operator.name))


@router.post("/operators/{username}/disable", response_model=OperatorStateOut)
def disable_operator(
    conn: ConnDep, operator: CurrentOperator, username: str = Path(max_length=64)
) -> OperatorStateOut:
    """Disable an operator: sessions end and API tokens are revoked at once; audited."""
    operator_id = set_operator_disabled(conn, username, True, actor=operator.name)
    return OperatorStateOut(username=username, operator_id=operator_id, disabled=True)


@router.post("/operators/{username}/enable", response_model=OperatorStateOut)
def enable_operator(
    conn: ConnDep, operator: CurrentOperator, username: str = Path(max_length=64)
) -> OperatorStateOut:
    """Re-enable an operator (they sign in again; revoked tokens stay revoked); audited."""
    operator_id = set_operator_disabled(conn, username, False, actor=operator.name)
    return OperatorStateOut(username=username, operator_id=operator_id, disabled=False)


@router.get("/audit", response_model=AuditOut)
def get_audit(
    conn: ConnDep,
    operator: CurrentOperator,
    action: str | None = Query(default=None, max_length=64),
    actor: str | None = Query(default=None, max_length=64),
    target_id: str | None = Query(default=None, max_length=128),
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0),
) -> AuditOut:
    """Audit-log entries, newest first, with the hash chain's verification result."""
    return audit_page(
        conn, action=action, actor=actor, target_id=target_id, limit=limit, offset=offset
    )
