"""Operator oversight: the review queue, approve / override / flag / unflag, the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from spendsense.api.actions import act, act_many
from spendsense.api.deps import (
    MAX_OFFSET,
    Blank,
    ConnDep,
    CurrentOperator,
    Days,
    SettingsDep,
    Text64,
    Text100,
    Text128,
)
from spendsense.api.errors import ErrorDetail, error_responses
from spendsense.api.schemas import (
    ActionIn,
    AuditOut,
    BulkIn,
    BulkOut,
    BulkResult,
    DeliveryState,
    FlagIn,
    Kind,
    OperatorStateOut,
    OverrideIn,
    RecommendationOut,
    ReviewOut,
    ReviewStatus,
    TokenRevokedOut,
    TokenRevokeIn,
)
from spendsense.api.service import audit_page, persona_filter, recommendation_out, review_item
from spendsense.store.auth import revoke_token, set_operator_disabled
from spendsense.store.oversight import review_queue

router = APIRouter(prefix="/operator", tags=["operator"], responses=error_responses(401, 403, 422))
ACTION_ERRORS = error_responses(404, 409)
PERSONA_HELP = "Primary persona name (e.g. 'High Utilization') or STABLE; empty means any."


@router.get("/review", response_model=ReviewOut)
def get_review(
    conn: ConnDep,
    operator: CurrentOperator,
    settings: SettingsDep,
    status: Annotated[
        ReviewStatus | None, Blank, Query(description="Review status; default proposed + flagged.")
    ] = None,
    persona: Annotated[Text100 | None, Blank, Query(description=PERSONA_HELP)] = None,
    window: Annotated[
        Days | None, Blank, Query(description="Window in days; empty means any.")
    ] = None,
    kind: Annotated[Kind | None, Blank, Query(description="education or offer.")] = None,
    delivery: Annotated[
        DeliveryState | None,
        Blank,
        Query(description="Under the delivery policy: delivered, awaiting_review or withheld."),
    ] = None,
    limit: int = Query(default=100, ge=1, le=1000, description="Page size."),
    offset: int = Query(default=0, ge=0, le=MAX_OFFSET, description="Items to skip."),
) -> ReviewOut:
    """The approval queue, what matters first: partner offers, then persona severity, then newest.

    Proposed and flagged by default; filter by status, persona, window, kind and delivery state.
    """
    rows, total = review_queue(
        conn, status=status, persona=persona_filter(persona), window=window, kind=kind,
        delivery=delivery, policy=settings.delivery_policy, limit=limit, offset=offset,
    )  # fmt: skip
    return ReviewOut(total=total, items=[review_item(r, settings.delivery_policy) for r in rows])


@router.post(
    "/recommendations/{recommendation_id}/approve",
    response_model=RecommendationOut,
    responses=ACTION_ERRORS,
)
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


@router.post(
    "/recommendations/{recommendation_id}/override",
    response_model=RecommendationOut,
    responses=ACTION_ERRORS,
)
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


@router.post(
    "/recommendations/{recommendation_id}/flag",
    response_model=RecommendationOut,
    responses=ACTION_ERRORS,
)
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


@router.post(
    "/recommendations/{recommendation_id}/unflag",
    response_model=RecommendationOut,
    responses=ACTION_ERRORS,
)
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


@router.post("/recommendations/bulk", response_model=BulkOut)
def bulk(body: BulkIn, conn: ConnDep, operator: CurrentOperator, settings: SettingsDep) -> BulkOut:
    """Approve or flag up to 200 items: each passes the same checks as a single action and gets
    its own audit entry and trace record; a refused or stale item does not stop the others."""
    outcomes = act_many(
        conn, settings, body.action, [(i.recommendation_id, i.version) for i in body.items],
        actor=operator.name, reason=body.reason,
    )  # fmt: skip
    results = [
        BulkResult(recommendation_id=rid, ok=True, status=rec.status, version=rec.version)
        if rec is not None
        else BulkResult(
            recommendation_id=rid,
            ok=False,
            error=ErrorDetail(code=err.code, message=err.message, field=err.field)
            if err is not None
            else None,
        )
        for rid, rec, err in outcomes
    ]
    done = sum(r.ok for r in results)
    return BulkOut(done=done, refused=len(results) - done, results=results)


@router.post("/tokens/revoke", response_model=TokenRevokedOut, responses=error_responses(404))
def revoke_one_token(
    body: TokenRevokeIn, conn: ConnDep, operator: CurrentOperator
) -> TokenRevokedOut:
    """Revoke one operator or customer token (and the sessions opened with it); audited."""
    return TokenRevokedOut(token_id=revoke_token(conn, body.token, actor=operator.name))


@router.post(
    "/operators/{username}/disable", response_model=OperatorStateOut,
    responses=error_responses(404),
)  # fmt: skip
def disable_operator(
    conn: ConnDep,
    operator: CurrentOperator,
    username: str = Path(max_length=64, description="The operator's user name."),
) -> OperatorStateOut:
    """Disable an operator: sessions end and API tokens are revoked at once; audited."""
    operator_id = set_operator_disabled(conn, username, True, actor=operator.name)
    return OperatorStateOut(username=username, operator_id=operator_id, disabled=True)


@router.post(
    "/operators/{username}/enable", response_model=OperatorStateOut,
    responses=error_responses(404),
)  # fmt: skip
def enable_operator(
    conn: ConnDep,
    operator: CurrentOperator,
    username: str = Path(max_length=64, description="The operator's user name."),
) -> OperatorStateOut:
    """Re-enable an operator (they sign in again; revoked tokens stay revoked); audited."""
    operator_id = set_operator_disabled(conn, username, False, actor=operator.name)
    return OperatorStateOut(username=username, operator_id=operator_id, disabled=False)


@router.get("/audit", response_model=AuditOut)
def get_audit(
    conn: ConnDep,
    operator: CurrentOperator,
    action: Annotated[
        Text64 | None,
        Blank,
        Query(description="Part of the action, e.g. 'flag' or 'consent.'."),
    ] = None,
    actor: Annotated[Text64 | None, Blank, Query(description="Who acted.")] = None,
    target_id: Annotated[Text128 | None, Blank, Query(description="The target's id.")] = None,
    limit: int = Query(default=100, ge=1, le=1000, description="Page size."),
    offset: int = Query(default=0, ge=0, le=MAX_OFFSET, description="Entries to skip."),
) -> AuditOut:
    """Audit-log entries, newest first, with the hash chain's verification result."""
    return audit_page(
        conn, action=action, actor=actor, target_id=target_id, limit=limit, offset=offset
    )
