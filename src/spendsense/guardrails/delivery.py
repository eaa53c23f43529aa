"""The delivery policy: which recommendations a customer sees, from the item's kind and review status.

One table (:data:`POLICIES`) decides. :func:`is_delivered` is the rule; the SQL and Polars
forms are derived from the same table, so the user page, the API and the console cannot
disagree. A flagged item is never delivered, under any policy.

Policies:

- ``offers_reviewed`` (the default): education is delivered once it has passed the
  guardrails (every stored item has); a partner offer only after an operator approved or
  overrode it. A product pitch is the riskier thing to show unreviewed, and education is
  generic, guardrail-checked content.
- ``all_reviewed``: nothing reaches a customer before an operator approved or overrode it.
- ``guardrails_only``: everything that passed the guardrails is delivered unless flagged
  (operators review after the fact).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # settings read this module: Polars loads only where the expression is built
    import polars as pl

DeliveryPolicy = Literal["offers_reviewed", "all_reviewed", "guardrails_only"]
DEFAULT_POLICY: DeliveryPolicy = "offers_reviewed"
KINDS = ("education", "offer")
STATUSES = ("proposed", "approved", "overridden", "flagged", "delivered")

REVIEWED = frozenset({"approved", "overridden", "delivered"})
"""An operator approved it (an override is an approval of the operator's own edit)."""
GUARDED = REVIEWED | {"proposed"}
"""Passed the guardrails and not flagged."""

POLICIES: dict[str, dict[str, frozenset[str]]] = {
    "offers_reviewed": {"education": GUARDED, "offer": REVIEWED},
    "all_reviewed": {"education": REVIEWED, "offer": REVIEWED},
    "guardrails_only": {"education": GUARDED, "offer": GUARDED},
}
"""Per policy and kind, the review statuses a customer sees."""

DESCRIPTIONS: dict[str, str] = {
    "offers_reviewed": "education once it passes the guardrails; partner offers only after an"
    " operator approves them",
    "all_reviewed": "only items an operator has approved",
    "guardrails_only": "every item that passes the guardrails unless an operator flags it",
}

DeliveryState = Literal["delivered", "awaiting_review", "withheld"]
STATE_LABELS: dict[str, str] = {
    "delivered": "shown to the customer",
    "awaiting_review": "held until an operator approves it",
    "withheld": "withheld (flagged)",
}


def _statuses(kind: str, policy: str) -> frozenset[str]:
    try:
        by_kind = POLICIES[policy]
    except KeyError:
        raise ValueError(
            f"unknown delivery policy {policy!r}: use one of {', '.join(POLICIES)}"
        ) from None
    return by_kind.get(kind, frozenset())


def is_delivered(kind: str, status: str, policy: str) -> bool:
    """True when a customer sees an item of ``kind`` in review ``status`` under ``policy``."""
    return status in _statuses(kind, policy)


def delivery_state(kind: str, status: str, policy: str) -> DeliveryState:
    """What happens to the item: delivered, awaiting an operator's approval, or withheld."""
    if is_delivered(kind, status, policy):
        return "delivered"
    if status == "flagged":
        return "withheld"
    return "awaiting_review"


def delivered_sql(
    policy: str, *, kind: str = "kind", status: str = "status"
) -> tuple[str, list[str]]:
    """A SQL predicate (with its parameters) true exactly where :func:`is_delivered` is."""
    parts: list[str] = []
    args: list[str] = []
    for k in KINDS:
        allowed = sorted(_statuses(k, policy))
        if allowed:
            parts.append(f"({kind} = ? AND {status} IN ({','.join('?' * len(allowed))}))")
            args += [k, *allowed]
    return ("(" + " OR ".join(parts) + ")" if parts else "0"), args


def delivered_expr(policy: str, *, kind: str = "kind", status: str = "status") -> pl.Expr:
    """A Polars expression true exactly where :func:`is_delivered` is."""
    import polars as pl

    expr = pl.lit(False)
    for k in KINDS:
        expr = expr | ((pl.col(kind) == k) & pl.col(status).is_in(sorted(_statuses(k, policy))))
    return expr
