"""Consent: grant or revoke through the one consent service (server time, audited)."""

from __future__ import annotations

from fastapi import APIRouter

from spendsense.api.deps import CurrentPrincipal, SettingsDep, ensure_access
from spendsense.api.errors import error_responses
from spendsense.api.schemas import ConsentIn, ConsentOut
from spendsense.services import change_consent

router = APIRouter(tags=["consent"], responses=error_responses(401, 403, 404, 422))


@router.post("/consent", response_model=ConsentOut)
def post_consent(body: ConsentIn, settings: SettingsDep, principal: CurrentPrincipal) -> ConsentOut:
    """Grant or revoke. The server records when and through which channel; every change is
    audited; revoking removes everything derived from the user's data before it answers,
    granting computes the user at once."""
    ensure_access(principal, body.user_id)
    actor = principal.name if principal.is_operator else f"user:{principal.subject_id}"
    result = change_consent(settings, body.user_id, body.action, source="api", actor=actor)
    return ConsentOut.model_validate(result)
