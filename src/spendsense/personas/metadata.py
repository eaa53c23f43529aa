"""Persona names, priorities, focus and risk: the one place the persona table lives (seed 000)."""

from __future__ import annotations

from typing import Final, TypedDict


class PersonaInfo(TypedDict):
    """What every stage needs to know about one persona."""

    name: str
    priority: str
    focus: str
    risk: str


PERSONA_METADATA: Final[dict[int, PersonaInfo]] = {
    1: {
        "name": "High Utilization",
        "priority": "CRITICAL",
        "focus": "Reduce utilization and interest; payment planning and autopay education",
        "risk": "Debt spiral, credit damage, high interest charges",
    },
    2: {
        "name": "Variable Income Budgeter",
        "priority": "HIGH",
        "focus": "Percent-based budgets, emergency fund basics, smoothing strategies",
        "risk": "Income uncertainty plus low buffer leads to payment timing issues",
    },
    3: {
        "name": "Subscription-Heavy",
        "priority": "MEDIUM",
        "focus": "Subscription audit, cancellation/negotiation tips, bill alerts",
        "risk": "Money leak, optimization opportunity",
    },
    4: {
        "name": "Savings Builder",
        "priority": "LOW",
        "focus": "Goal setting, automation, APY optimization (HYSA/CD basics)",
        "risk": "None - positive trajectory, enrichment only",
    },
    5: {
        "name": "Cash Flow Stressed",
        "priority": "HIGH",
        "focus": (
            "Paycheck-to-paycheck budgeting, buffer building, expense smoothing, timing strategies"
        ),
        "risk": "Overdraft risk, immediate liquidity crisis",
    },
}

# Lower rank = more urgent; CRITICAL > HIGH > MEDIUM > LOW.
PRIORITY_RANK: Final[dict[str, int]] = {"CRITICAL": 0, "HIGH": 1, "MEDIUM": 2, "LOW": 3}

PERSONA_IDS: Final[tuple[int, ...]] = tuple(sorted(PERSONA_METADATA))

STATUS_ASSIGNED: Final = "ASSIGNED"
STATUS_STABLE: Final = "STABLE"
STABLE_LABEL: Final = "Unassigned/Stable"


def persona_name(persona_id: int) -> str:
    """The display name of a persona id."""
    return PERSONA_METADATA[persona_id]["name"]
