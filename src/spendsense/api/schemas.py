"""Pydantic models at the HTTP edge: what the API accepts and returns, nothing more.

Every field carries a description, closed vocabularies are enums, and the main models carry
an example: the OpenAPI document is meant to be enough to generate a client
(``tests/api/test_openapi.py`` checks it).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from spendsense.api.errors import ErrorDetail
from spendsense.guardrails.delivery import DeliveryPolicy, DeliveryState

ID_PATTERN = r"^[A-Za-z0-9_.\-]{1,64}$"
MAX_VERSION = 2**31 - 1
"""Largest recommendation version a request may name (SQLite integers are 64-bit)."""

Kind = Literal["education", "offer"]
ReviewStatus = Literal["proposed", "approved", "overridden", "flagged", "delivered"]
ConsentStatus = Literal["granted", "revoked", "none"]
PersonaStatus = Literal["ASSIGNED", "STABLE"]
Priority = Literal["CRITICAL", "HIGH", "MEDIUM", "LOW"]
AgeBand = Literal["18-24", "25-34", "35-44", "45-54", "55-64", "65+"]
Gender = Literal["female", "male", "nonbinary"]
IncomeTier = Literal["low", "lower_middle", "middle", "upper_middle", "high"]
Region = Literal["northeast", "midwest", "south", "west"]


def _user_id() -> Any:
    return Field(pattern=ID_PATTERN, description="Letters, digits, _ . - (1-64).")


REC_EXAMPLE = {
    "recommendation_id": "rec:u_0000001:30:20261031:edu_automate_savings",
    "user_id": "u_0000001",
    "window_days": 30,
    "as_of_date": "2026-10-31",
    "kind": "education",
    "item_id": "edu_automate_savings",
    "title": "Automating your savings",
    "rationale": "Your savings balance is $0 while your usual monthly expenses are $2,008, "
    "because a small automatic transfer builds a cushion.",
    "disclosure": "This is educational content, not financial advice. Consult a licensed "
    "advisor for personalized guidance.",
    "rank": 1,
    "status": "proposed",
    "trace_id": "trace:u_0000001:30:20261031:edu_automate_savings",
    "version": 1,
    "updated_at": None,
    "delivery": "delivered",
}


def _example(example: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [example]})


class HealthOut(BaseModel):
    """The service is up."""

    status: Literal["ok"] = Field(description="Always 'ok' when the service answers.")


class UserCreate(BaseModel):
    """A new user; consent starts as 'none'. Demographics are optional, from fixed bands."""

    model_config = _example(
        {"user_id": "u_0000101", "name": "Avery Quinn", "age_band": "25-34",
         "gender": "female", "income_tier": "middle", "region": "south"}
    )  # fmt: skip
    user_id: str = _user_id()
    name: str | None = Field(default=None, max_length=200, description="Display name.")
    age_band: AgeBand | None = Field(default=None, description="Age band (for fairness checks).")
    gender: Gender | None = Field(default=None, description="Gender (for fairness checks).")
    income_tier: IncomeTier | None = Field(default=None, description="Income tier.")
    region: Region | None = Field(default=None, description="US census region.")


class UserOut(BaseModel):
    """A user as stored."""

    model_config = _example(
        {"user_id": "u_0000101", "name": "Avery Quinn", "consent_status": "none",
         "age_band": "25-34", "gender": "female", "income_tier": "middle", "region": "south"}
    )  # fmt: skip
    user_id: str = Field(description="The user's id.")
    name: str | None = Field(default=None, description="Display name.")
    consent_status: ConsentStatus = Field(description="Current consent: nothing is computed "
                                          "or shown unless 'granted'.")  # fmt: skip
    age_band: str | None = Field(default=None, description="Age band.")
    gender: str | None = Field(default=None, description="Gender.")
    income_tier: str | None = Field(default=None, description="Income tier.")
    region: str | None = Field(default=None, description="Region.")


class UserRow(BaseModel):
    """A user in the operators' list, with their newest personas and items to review."""

    model_config = _example(
        {"user_id": "u_0000001", "name": "Avery Quinn", "consent_status": "granted",
         "as_of_date": "2026-10-31", "persona_30": "Variable Income Budgeter",
         "persona_180": "Subscription-Heavy", "proposed": 4, "flagged": 0}
    )  # fmt: skip
    user_id: str = Field(description="The user's id.")
    name: str | None = Field(default=None, description="Display name.")
    consent_status: ConsentStatus = Field(description="Current consent.")
    as_of_date: str | None = Field(
        default=None, description="The as-of date the personas are from (YYYY-MM-DD)."
    )
    persona_30: str | None = Field(
        default=None, description="Primary persona (or STABLE), 30 days."
    )
    persona_180: str | None = Field(
        default=None, description="Primary persona (or STABLE), 180 days."
    )
    proposed: int = Field(description="Recommendations waiting for review (proposed).")
    flagged: int = Field(description="Recommendations flagged by an operator.")


class UsersOut(BaseModel):
    """A page of users."""

    total: int = Field(description="Users matching the filters (all pages).")
    items: list[UserRow] = Field(description="This page, by user id.")


class TokenOut(BaseModel):
    """A customer token, shown once: only its sha256 is stored."""

    user_id: str = Field(description="Whose token it is.")
    token: str = Field(description="Send as 'Authorization: Bearer <token>' (shown once).")
    me_url: str = Field(description="The user's own page, signed in by this token.")
    expires_in_days: int = Field(description="Days until the token stops working.")


class ConsentIn(BaseModel):
    """Grant or revoke. The server records when (its own clock) and the source ("api"):
    a client cannot backdate a change or name another source."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"user_id": "u_0000001", "action": "grant"}]},
    )
    user_id: str = _user_id()
    action: Literal["grant", "revoke"] = Field(description="Revoking removes derived data at once.")


class RevokedOut(BaseModel):
    """What a revocation did."""

    user_id: str = Field(description="The user whose tokens were revoked.")
    tokens_revoked: int = Field(description="How many tokens stopped working.")


class TokenRevokeIn(BaseModel):
    """A token to revoke (operator or customer), sent in the body so it stays out of logs."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"token": "tok_example_0123456789"}]}
    )
    token: str = Field(min_length=8, max_length=256, description="The token to revoke.")


class TokenRevokedOut(BaseModel):
    """The revoked token."""

    token_id: str = Field(description="The revoked token's id (never the token itself).")


class OperatorStateOut(BaseModel):
    """An operator account's state."""

    username: str = Field(description="The operator's user name.")
    operator_id: str = Field(description="The operator's id.")
    disabled: bool = Field(description="A disabled operator cannot sign in or use tokens.")


class ConsentOut(BaseModel):
    """The recorded change."""

    model_config = _example(
        {"user_id": "u_0000001", "status": "granted", "changed_at": "2026-12-03T14:02:11.000000Z",
         "source": "api", "removed_rows": 0, "recomputed": True}
    )  # fmt: skip
    user_id: str = Field(description="The user.")
    status: ConsentStatus = Field(description="Consent now.")
    changed_at: str = Field(description="When it changed (UTC, ISO 8601).")
    source: str = Field(description="Where it was changed.")
    removed_rows: int = Field(description="Derived rows removed (a revocation).")
    recomputed: bool = Field(
        default=False, description="Whether a grant recomputed the user at once."
    )


class PersonaOut(BaseModel):
    """The persona assignment of one window."""

    window_days: int = Field(description="Window length in days (30 or 180 by default).")
    status: PersonaStatus = Field(description="ASSIGNED, or STABLE when no persona matches.")
    primary_persona_id: int | None = Field(default=None, description="1-5; none when STABLE.")
    primary_persona_name: str | None = Field(default=None, description="e.g. 'High Utilization'.")
    primary_priority: Priority | None = Field(default=None, description="The persona's priority.")
    primary_severity: float | None = Field(default=None, description="How strongly it matched.")
    secondary_persona_id: int | None = Field(default=None, description="Runner-up persona id.")
    secondary_persona_name: str | None = Field(default=None, description="Runner-up persona.")
    secondary_priority: Priority | None = Field(default=None, description="Its priority.")
    secondary_severity: float | None = Field(default=None, description="Its severity.")
    assignment_trace: Any = Field(
        default=None,
        description="Every persona's criteria with value, threshold and result, and the reasoning.",
    )


class WindowProfile(BaseModel):
    """Signals and persona of one window."""

    window_days: int = Field(description="Window length in days.")
    signals: dict[str, dict[str, Any]] = Field(
        description="Signal families (subscriptions, savings, credit, income, cash_flow), each "
        "column to value; money in dollars, shares 0-1 (see docs/signal-definitions.md)."
    )
    persona: PersonaOut | None = Field(default=None, description="The window's persona, if any.")


class ProfileOut(BaseModel):
    """A user's signals and personas at the newest as-of date."""

    user_id: str = Field(description="The user.")
    name: str | None = Field(description="Display name.")
    consent_status: ConsentStatus = Field(description="Current consent.")
    as_of_date: str | None = Field(
        description="The as-of date shown (YYYY-MM-DD); none if not run."
    )
    windows: list[WindowProfile] = Field(description="One entry per window.")


class RecommendationOut(BaseModel):
    """One recommendation with its rationale, disclosure and review state."""

    model_config = _example(REC_EXAMPLE)
    recommendation_id: str = Field(description="Stable id.")
    user_id: str = Field(description="Whose it is.")
    window_days: int = Field(description="The window it was made for.")
    as_of_date: str = Field(description="The run's as-of date (YYYY-MM-DD).")
    kind: Kind = Field(description="Education content or a partner offer.")
    item_id: str = Field(description="The catalog item.")
    title: str = Field(description="Title shown to the user.")
    rationale: str = Field(description="The 'because', citing the user's own numbers.")
    disclosure: str = Field(description="The required educational-content disclosure.")
    rank: int = Field(description="Order within its window and kind (1 first).")
    status: ReviewStatus = Field(description="Operator review state.")
    trace_id: str = Field(description="Id of its decision trace (GET /traces/{trace_id}).")
    version: int = Field(description="Send it back with an operator action (stale: 409).")
    updated_at: str | None = Field(default=None, description="Last operator change (UTC).")
    partner: str | None = Field(
        default=None, description="A partner offer's partner (offers only)."
    )
    offer_terms: dict[str, str] | None = Field(
        default=None, description="An offer's key terms from the catalog: rate (APR/APY), fees."
    )
    offer_disclosure: str | None = Field(
        default=None, description="The partner offer disclosure, shown beside `disclosure`."
    )
    delivery: DeliveryState = Field(
        description="Under the server's delivery policy: shown to the customer, held until an"
        " operator approves it, or withheld (flagged).",
    )


class CalculatorFieldOut(BaseModel):
    """One input of a calculator, prefilled from the customer's numbers."""

    name: str = Field(description="Query parameter name for GET /me/calculate/{recommendation_id}.")
    label: str = Field(description="What the input asks for, in words.")
    value: float = Field(description="Prefilled from the customer's numbers (the card's period).")
    unit: Literal["$", "%", "months"] = Field(description="The unit the value is in.")
    hint: str | None = Field(default=None, description="Where the value comes from, if estimated.")


class CalculatorOut(BaseModel):
    """A working calculator on a ``format: calculator`` card."""

    kind: Literal["card_payoff", "emergency_fund", "savings_rate"] = Field(
        description="Which calculator (the catalog item's ``calculator``)."
    )
    title: str = Field(description="Its heading.")
    fields: list[CalculatorFieldOut] = Field(description="Its inputs, prefilled.")
    result: list[str] = Field(description="The result for the prefilled values, in sentences.")


class CardOut(BaseModel):
    """One idea on the customer's page: catalog content, why it was chosen, its period."""

    recommendation_id: str = Field(description="The stored recommendation shown (one window's).")
    item_id: str = Field(description="The catalog item.")
    kind: Literal["education", "offer"] = Field(description="Education or a partner offer.")
    title: str = Field(description="The title (an operator's edit included).")
    summary: str = Field(description="The catalog summary.")
    body: str = Field(description="The catalog body: the content the card opens.")
    format: str = Field(description="article, checklist, calculator, template, guide or offer.")
    format_label: str = Field(description='For example "A checklist, about 3 minutes to read."')
    reading_time_minutes: int = Field(description="Reading time from the catalog.")
    why: str = Field(description="The rationale: why it was chosen, citing the customer's numbers.")
    window_days: int = Field(description="The period its numbers come from.")
    period_label: str | None = Field(
        description='"Based on your last 30 days." on a card whose period differs from the'
        " page's (period_note), else null."
    )
    partner: str | None = Field(description="Partner offers: who offers it.")
    terms: dict[str, str] | None = Field(description="Partner offers: key terms (rate, fees).")
    offer_disclosure: str | None = Field(description="Partner offers: the offer disclosure.")
    calculator: CalculatorOut | None = Field(description="For format calculator: a working one.")
    feedback: bool | None = Field(description="The customer's current vote (true = helpful).")
    status: str = Field(description="Review status of the recommendation shown.")
    trace_id: str = Field(description="Its decision trace.")


class InsightGroupOut(BaseModel):
    """Insight sentences whose numbers come from one period."""

    window_days: int = Field(description="The period, in days.")
    period: str = Field(description='"Based on your last 180 days."')
    sentences: list[str] = Field(description="Plain sentences about the customer's own numbers.")


class PageOut(BaseModel):
    """What the customer's page (/me) shows, so an integrator can build the same page."""

    cards: list[CardOut] = Field(
        description="One merged, ranked list across windows (education, then offers); each item"
        " once, every number from one period."
    )
    insights: list[InsightGroupOut] = Field(description="Insights once, grouped by period.")
    period_note: str | None = Field(description="The period most cards use, said once.")
    disclosure: str = Field(description="The educational disclosure, once for the page.")


class RecommendationsOut(BaseModel):
    """A user's recommendations at the newest as-of date."""

    user_id: str = Field(description="The user.")
    as_of_date: str | None = Field(description="The as-of date (YYYY-MM-DD); none if not run.")
    delivery_policy: DeliveryPolicy = Field(
        description="The policy that decides what the customer sees."
    )
    items: list[RecommendationOut] = Field(description="Customers get only delivered items.")
    page: PageOut = Field(description="The customer's page: what the delivery policy delivers.")


class FeedbackIn(BaseModel):
    """Was a recommendation helpful?"""

    model_config = _example({"recommendation_id": REC_EXAMPLE["recommendation_id"],
                             "helpful": True, "text": "Clear and useful."})  # fmt: skip
    recommendation_id: str = Field(min_length=1, max_length=128, description="The item rated.")
    helpful: bool = Field(description="Helpful (true) or not (false).")
    text: str | None = Field(default=None, max_length=2000, description="Optional comment.")


class FeedbackOut(BaseModel):
    """The stored feedback."""

    feedback_id: str = Field(description="Id of the feedback.")
    recommendation_id: str = Field(description="The item rated.")
    helpful: bool = Field(description="The rating.")
    created_at: str = Field(description="When (UTC).")


class ReviewItem(RecommendationOut):
    """A recommendation in the review queue."""

    user_name: str | None = Field(default=None, description="The user's display name.")
    persona: str | None = Field(default=None, description="The user's primary persona (or STABLE).")
    severity: float | None = Field(
        default=None, description="The primary persona's severity (the queue's second key)."
    )


class ReviewOut(BaseModel):
    """A page of the review queue."""

    total: int = Field(description="Items matching the filters (all pages).")
    items: list[ReviewItem] = Field(description="This page.")


class ActionIn(BaseModel):
    """Send the version you saw: a stale version gets 409."""

    model_config = _example({"version": 1, "reason": "numbers checked"})
    version: int = Field(ge=1, le=MAX_VERSION, description="The item's version as you loaded it.")
    reason: str | None = Field(default=None, max_length=1000, description="Why (audited).")


class OverrideIn(ActionIn):
    """Replace the item (item_id) or edit its text; a reason is required."""

    model_config = _example({"version": 1, "reason": "plainer wording",
                             "title": "A clearer title"})  # fmt: skip
    reason: str = Field(min_length=1, max_length=1000, description="Why (required, audited).")
    item_id: str | None = Field(
        default=None, max_length=128, description="Replacement catalog item."
    )
    title: str | None = Field(default=None, max_length=300, description="New title.")
    rationale: str | None = Field(default=None, max_length=4000, description="New rationale.")


class FlagIn(ActionIn):
    """Flag an item: customers stop seeing it at once."""

    model_config = _example({"version": 1, "reason": "numbers look off"})
    reason: str = Field(min_length=1, max_length=1000, description="Why (required, audited).")


class TraceOut(BaseModel):
    """Why an item was (or was not) recommended."""

    trace_id: str = Field(description="The trace id.")
    user_id: str = Field(description="The user.")
    window_days: int = Field(description="The window.")
    as_of_date: str = Field(description="The run's as-of date.")
    item_id: str = Field(description="The catalog item.")
    trace: Any = Field(
        description="Item, rule, personas, matched signals and their values, eligibility, tone,"
        " rank score, catalog and config versions, time."
    )


class AuditEntryOut(BaseModel):
    """One entry of the append-only, hash-chained audit log."""

    seq: int = Field(description="Position in the log.")
    at: str = Field(description="When (UTC, ISO 8601).")
    actor: str = Field(description="Who (operator name, 'cli', or user:<id>).")
    action: str = Field(description="e.g. recommendation.flag, consent.revoke, run.delete.")
    target_type: str = Field(description="user, recommendation, run, operator ...")
    target_id: str = Field(description="The target's id.")
    before: Any = Field(default=None, description="The target before (changed fields).")
    after: Any = Field(default=None, description="The target after.")
    reason: str | None = Field(default=None, description="The reason given.")
    hash: str = Field(description="sha256 over this entry and the previous hash.")


class AuditOut(BaseModel):
    """A page of the audit log with the chain's verification."""

    total: int = Field(description="Entries matching the filters.")
    chain_ok: bool = Field(description="True when no entry was edited or removed.")
    problems: list[str] = Field(description="What fails verification, if anything.")
    items: list[AuditEntryOut] = Field(description="This page, newest first.")


class PlaidIn(BaseModel):
    """A user bundle or a raw Plaid response; unknown fields are kept and passed to ingest."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "user": {"user_id": "u_0000001", "name": "Avery Quinn", "consent": "granted"},
                    "accounts": [{"account_id": "acc_1", "type": "depository",
                                  "subtype": "checking",
                                  "balances": {"current": 1250.5, "iso_currency_code": "USD"}}],
                    "transactions": [{"transaction_id": "tx_1", "account_id": "acc_1",
                                      "amount": 12.99, "date": "2026-10-01",
                                      "iso_currency_code": "USD", "name": "Netflix",
                                      "pending": False, "payment_channel": "online"}],
                }
            ]
        },
    )  # fmt: skip
    user: dict[str, Any] | None = Field(
        default=None,
        description="A bundle's user (user_id must be the path's user): name, consent, age_band,"
        " gender, income_tier, region.",
    )
    accounts: list[dict[str, Any]] | None = Field(
        default=None, description="Plaid Account objects (/accounts/get)."
    )
    transactions: list[dict[str, Any]] | None = Field(
        default=None,
        description="Plaid Transaction objects (/transactions/get); amount positive = money out.",
    )
    liabilities: dict[str, Any] | None = Field(
        default=None, description="Plaid /liabilities/get: credit, mortgage, student."
    )
    added: list[dict[str, Any]] | None = Field(default=None, description="/transactions/sync: new.")
    modified: list[dict[str, Any]] | None = Field(
        default=None, description="/transactions/sync: changed."
    )
    removed: list[dict[str, Any]] | None = Field(
        default=None, description="/transactions/sync: removed ids."
    )
    next_cursor: str | None = Field(default=None, description="/transactions/sync cursor.")


class PlaidOut(BaseModel):
    """What the upload loaded and whether the user was recomputed."""

    model_config = _example(
        {"user_id": "u_0000001", "loaded": {"accounts": 1, "transactions": 1},
         "rejected": {}, "quarantine": None, "recomputed": True}
    )  # fmt: skip
    user_id: str = Field(description="The user.")
    loaded: dict[str, int] = Field(description="Rows loaded per ledger table.")
    rejected: dict[str, int] = Field(description="Records rejected per table (see quarantine).")
    quarantine: str | None = Field(
        description="The file listing each reject and why, relative to the data folder."
    )
    recomputed: bool = Field(description="The user's signals and recommendations were rebuilt.")


BULK_MAX = 200
"""Items one bulk action may name."""


class BulkItem(BaseModel):
    """One item of a bulk action, with the version you saw."""

    model_config = ConfigDict(extra="forbid")
    recommendation_id: str = Field(min_length=1, max_length=128, description="The item.")
    version: int = Field(ge=1, le=MAX_VERSION, description="Its version as you loaded it.")


class BulkIn(BaseModel):
    """Approve or flag many items at once; each is checked, applied and audited on its own."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"action": "approve", "items": [{"recommendation_id": "rec:u_0000001:30:"
                 "20261031:off_high_yield_savings", "version": 1}]}
            ]
        },
    )  # fmt: skip
    action: Literal["approve", "flag"] = Field(description="What to do with every item.")
    reason: str | None = Field(default=None, max_length=1000, description="Required to flag.")
    items: list[BulkItem] = Field(
        min_length=1, max_length=BULK_MAX, description=f"1 to {BULK_MAX} items."
    )


class BulkResult(BaseModel):
    """What happened to one item."""

    recommendation_id: str = Field(description="The item.")
    ok: bool = Field(description="Changed (true) or left as it was (false).")
    status: str | None = Field(default=None, description="The item's status afterwards.")
    version: int | None = Field(default=None, description="Its new version.")
    error: ErrorDetail | None = Field(default=None, description="Why it was not changed.")


class BulkOut(BaseModel):
    """One result per item, in the order sent; one audit entry per changed item."""

    done: int = Field(description="Items changed.")
    refused: int = Field(description="Items left unchanged (see each error).")
    results: list[BulkResult] = Field(description="One per item, in the order sent.")
