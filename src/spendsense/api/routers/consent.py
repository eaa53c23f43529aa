"""Consent: grant or revoke, with source and time, through store.consents."""

from __future__ import annotations

from fastapi import APIRouter

from spendsense.api.deps import ConnDep, CurrentPrincipal, ensure_access
from spendsense.api.errors import error_responses
from spendsense.api.schemas import ConsentIn, ConsentOut
from spendsense.store.oversight import change_consent

router = APIRouter(tags=["consent"], responses=error_responses(401, 403, 404, 422))


@router.post("/consent", response_model=ConsentOut)
def post_consent(body: ConsentIn, conn: ConnDep, principal: CurrentPrincipal) -> ConsentOut:
    """Grant or revoke; revoking hides recommendations at once. Operator changes are audited."""
    ensure_access(principal, body.user_id)
    result = change_consent(
        conn,
        body.user_id,
        body.action,
        source="api",
        actor=principal.name if principal.is_operator else f"user:{principal.subject_id}",
        by_operator=principal.is_operator,
    )
    return ConsentOut.model_validate(result)
