"""Pydantic models at the HTTP edge: what the API accepts and returns, nothing more."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ID_PATTERN = r"^[A-Za-z0-9_.\-]{1,64}$"


class HealthOut(BaseModel):
    status: str


class UserCreate(BaseModel):
    """A new user; consent starts as 'none'."""

    user_id: str = Field(pattern=ID_PATTERN, description="Letters, digits, _ . - (1-64).")
    name: str | None = Field(default=None, max_length=200)
    age_band: str | None = Field(default=None, max_length=32)
    gender: str | None = Field(default=None, max_length=32)
    income_tier: str | None = Field(default=None, max_length=32)
    region: str | None = Field(default=None, max_length=64)


class UserOut(BaseModel):
    user_id: str
    name: str | None = None
    consent_status: str
    age_band: str | None = None
    gender: str | None = None
    income_tier: str | None = None
    region: str | None = None


class TokenOut(BaseModel):
    """A customer token, shown once: only its sha256 is stored; it expires."""

    user_id: str
    token: str
    me_url: str
    expires_in_days: int


class ConsentIn(BaseModel):
    """Grant or revoke. The server records when (its own clock) and the source ("api"):
    a client cannot backdate a change or name another source."""

    model_config = ConfigDict(extra="forbid")
    user_id: str = Field(pattern=ID_PATTERN)
    action: Literal["grant", "revoke"]


class RevokedOut(BaseModel):
    """What a revocation did."""

    user_id: str
    tokens_revoked: int


class TokenRevokeIn(BaseModel):
    """A token to revoke (operator or customer), sent in the body so it stays out of logs."""

    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=8, max_length=256)


class TokenRevokedOut(BaseModel):
    token_id: str


class OperatorStateOut(BaseModel):
    username: str
    operator_id: str
    disabled: bool


class ConsentOut(BaseModel):
    user_id: str
    status: str
    changed_at: str
    source: str
    removed_rows: int


class PersonaOut(BaseModel):
    window_days: int
    status: str
    primary_persona_id: int | None = None
    primary_persona_name: str | None = None
    primary_priority: str | None = None
    primary_severity: float | None = None
    secondary_persona_id: int | None = None
    secondary_persona_name: str | None = None
    secondary_priority: str | None = None
    secondary_severity: float | None = None
    assignment_trace: Any = None


class WindowProfile(BaseModel):
    window_days: int
    signals: dict[str, dict[str, Any]]
    persona: PersonaOut | None = None


class ProfileOut(BaseModel):
    user_id: str
    name: str | None
    consent_status: str
    as_of_date: str | None
    windows: list[WindowProfile]


class RecommendationOut(BaseModel):
    recommendation_id: str
    user_id: str
    window_days: int
    as_of_date: str
    kind: str
    item_id: str
    title: str
    rationale: str
    disclosure: str
    rank: int
    status: str
    trace_id: str
    version: int
    updated_at: str | None = None
    partner: str | None = Field(
        default=None, description="A partner offer's partner (offers only)."
    )
    offer_terms: dict[str, str] | None = Field(
        default=None, description="An offer's key terms from the catalog: rate (APR/APY), fees."
    )
    offer_disclosure: str | None = Field(
        default=None, description="The partner offer disclosure, shown beside `disclosure`."
    )
    delivery: Literal["delivered", "awaiting_review", "withheld"] = Field(
        description="Under the server's delivery policy: shown to the customer, held until an"
        " operator approves it, or withheld (flagged).",
    )


class RecommendationsOut(BaseModel):
    user_id: str
    as_of_date: str | None
    delivery_policy: str = Field(description="The policy that decides what the customer sees.")
    items: list[RecommendationOut]


class FeedbackIn(BaseModel):
    recommendation_id: str = Field(min_length=1, max_length=128)
    helpful: bool
    text: str | None = Field(default=None, max_length=2000)


class FeedbackOut(BaseModel):
    feedback_id: str
    recommendation_id: str
    helpful: bool
    created_at: str


class ReviewItem(RecommendationOut):
    user_name: str | None = None
    persona: str | None = None


class ReviewOut(BaseModel):
    total: int
    items: list[ReviewItem]


class ActionIn(BaseModel):
    """Send the version you saw: a stale version gets 409."""

    version: int = Field(ge=1)
    reason: str | None = Field(default=None, max_length=1000)


class OverrideIn(ActionIn):
    """Replace the item (item_id) or edit its text; a reason is required."""

    reason: str = Field(min_length=1, max_length=1000)
    item_id: str | None = Field(default=None, max_length=128)
    title: str | None = Field(default=None, max_length=300)
    rationale: str | None = Field(default=None, max_length=4000)


class FlagIn(ActionIn):
    reason: str = Field(min_length=1, max_length=1000)


class TraceOut(BaseModel):
    trace_id: str
    user_id: str
    window_days: int
    as_of_date: str
    item_id: str
    trace: Any


class AuditEntryOut(BaseModel):
    seq: int
    at: str
    actor: str
    action: str
    target_type: str
    target_id: str
    before: Any = None
    after: Any = None
    reason: str | None = None
    hash: str


class AuditOut(BaseModel):
    total: int
    chain_ok: bool
    problems: list[str]
    items: list[AuditEntryOut]


class PlaidOut(BaseModel):
    user_id: str
    loaded: dict[str, int]
    rejected: dict[str, int]
    quarantine: str | None
    recomputed: bool
