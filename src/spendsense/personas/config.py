"""Persona thresholds; keys and defaults are the persona design's (seed 000)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Persona1Thresholds(BaseModel):
    utilization_threshold: float = Field(
        default=0.50, description="Any card at or above this utilization."
    )


class Persona2Thresholds(BaseModel):
    pay_gap_days_threshold: float = Field(
        default=45, description="Median pay gap strictly above this."
    )
    buffer_months_threshold: float = Field(
        default=1.0, description="Cash-flow buffer strictly below this."
    )


class Persona3Thresholds(BaseModel):
    recurring_merchant_count_threshold: int = Field(
        default=3, description="At least this many recurring merchants."
    )
    monthly_spend_threshold: float = Field(
        default=50.0, description="Monthly recurring spend at or above (dollars)."
    )
    subscription_share_threshold: float = Field(
        default=0.10, description="Subscription share at or above."
    )


class Persona4Thresholds(BaseModel):
    growth_rate_threshold: float = Field(
        default=0.02, description="Savings growth at or above over the window."
    )
    net_inflow_monthly_threshold: float = Field(
        default=200.0, description="Net savings inflow per month at or above."
    )
    max_utilization_threshold: float = Field(
        default=0.30, description="Every card strictly below this."
    )


class Persona5Thresholds(BaseModel):
    pct_days_below_100_threshold: float = Field(
        default=0.30, description="Share of days below $100, at or above."
    )
    balance_volatility_threshold: float = Field(
        default=1.0, description="std/mean of daily balance, strictly above."
    )


class PersonaThresholds(BaseModel):
    persona_1: Persona1Thresholds = Persona1Thresholds()
    persona_2: Persona2Thresholds = Persona2Thresholds()
    persona_3: Persona3Thresholds = Persona3Thresholds()
    persona_4: Persona4Thresholds = Persona4Thresholds()
    persona_5: Persona5Thresholds = Persona5Thresholds()


class PersonasConfig(BaseModel):
    """The seed's ``personas`` block; unknown keys (output paths) are accepted and ignored."""

    model_config = {"extra": "ignore"}
    windows: list[int] | None = Field(
        default=None, description="Windows to assign; None means the signal stage's windows."
    )
    as_of_date: str | None = Field(
        default=None, description="As-of date (YYYY-MM-DD); None means the run's as-of."
    )
    thresholds: PersonaThresholds = PersonaThresholds()
    severity_comparison: Literal["threshold_ratio", "raw"] = Field(
        default="threshold_ratio",
        description=(
            "How severities of two personas at the same priority are compared: "
            "'threshold_ratio' divides each severity by its value at the persona's threshold "
            "(gap/45 vs pct_days/0.30), 'raw' compares the seed's severities as they are. "
            "See docs/decisions.md, Personas."
        ),
    )
    tie_decimals: int = Field(
        default=9,
        description="Comparison scores are rounded to this many decimals before a tie goes to "
        "the lower persona id, so float noise never decides a tie.",
    )
