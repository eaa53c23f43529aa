"""Recommendation settings: how many items, rule weights and the one trigger level of its own."""

from __future__ import annotations

from pydantic import Field

from spendsense.config_section import Section


class SignalThresholds(Section):
    """Trigger levels no persona rule defines (the others are ``personas.thresholds``)."""

    emergency_fund_months: float = Field(
        default=3.0, description="Savings covering fewer months of expenses: low emergency fund."
    )


class RuleWeights(Section):
    """Base rank score by the rule that chose an item; signal strength and item weight add to it."""

    primary_persona: float = Field(default=30.0, description="Item made for the primary persona.")
    secondary_persona: float = Field(
        default=20.0, description="Item made for the secondary persona."
    )
    signal: float = Field(default=10.0, description="Item answering one of the user's signals.")
    stable_general: float = Field(default=5.0, description="General item for a STABLE user.")
    general: float = Field(default=0.0, description="General item used to reach the minimum.")
    strength: float = Field(
        default=5.0, description="Multiplier of the strongest matched signal (0-1)."
    )
    extra_signal: float = Field(default=0.5, description="Bonus per additional matched signal.")


class RecommendConfig(Section):
    """Counts per user and window, rule weights and signal thresholds."""

    education_min: int = Field(default=3, description="Fewest education items per user and window.")
    education_max: int = Field(default=5, description="Most education items per user and window.")
    offer_min: int = Field(default=1, description="Fewest partner offers per user and window.")
    offer_max: int = Field(default=3, description="Most partner offers per user and window.")
    stable_education: int = Field(default=3, description="Education items for a STABLE user.")
    stable_offers: int = Field(default=1, description="Offers for a STABLE user.")
    primary_persona_max: int = Field(
        default=4,
        description="Most items of one kind made for the primary persona when the user also "
        "has a secondary persona with candidates (leaves it at least one slot).",
    )
    render_buffer: int = Field(
        default=3,
        description="Extra candidates rendered per kind in case some fail the tone check.",
    )
    thresholds: SignalThresholds = Field(
        default=SignalThresholds(), description="Trigger levels of its own."
    )
    weights: RuleWeights = Field(default=RuleWeights(), description="Rank score weights.")
