"""Persona thresholds; keys and defaults are the persona design's (seed 000)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from spendsense.config_section import Section


class Persona1Thresholds(Section):
    utilization_threshold: float = Field(
        default=0.50, description="Any card at or above this utilization."
    )


class Persona2Thresholds(Section):
    pay_gap_days_threshold: float = Field(
        default=45, description="Median pay gap strictly above this."
    )
    buffer_months_threshold: float = Field(
        default=1.0, description="Cash-flow buffer strictly below this."
    )


class Persona3Thresholds(Section):
    recurring_merchant_count_threshold: int = Field(
        default=3, description="At least this many recurring merchants."
    )
    monthly_spend_threshold: float = Field(
        default=50.0, description="Monthly recurring spend at or above (dollars)."
    )
    subscription_share_threshold: float = Field(
        default=0.10, description="Subscription share at or above."
    )


class Persona4Thresholds(Section):
    growth_rate_threshold: float = Field(
        default=0.02, description="Savings growth at or above over the window."
    )
    net_inflow_monthly_threshold: float = Field(
        default=200.0, description="Net savings inflow per month at or above."
    )
    max_utilization_threshold: float = Field(
        default=0.30, description="Every card strictly below this."
    )


class Persona5Thresholds(Section):
    pct_days_below_100_threshold: float = Field(
        default=0.30,
        description="Share of days with checking below the low-balance level ($100, fixed), at or above.",
    )
    balance_volatility_threshold: float = Field(
        default=1.0, description="std/mean of daily balance, strictly above."
    )


class PersonaThresholds(Section):
    """Every persona's levels: the one copy the persona rules and the recommendation
    triggers read (``recommend.triggers``)."""

    persona_1: Persona1Thresholds = Field(
        default=Persona1Thresholds(), description="High Utilization."
    )
    persona_2: Persona2Thresholds = Field(
        default=Persona2Thresholds(), description="Variable Income Budgeter."
    )
    persona_3: Persona3Thresholds = Field(
        default=Persona3Thresholds(), description="Subscription-Heavy."
    )
    persona_4: Persona4Thresholds = Field(
        default=Persona4Thresholds(),
        description="Savings Builder; its utilization ceiling is also the 30% guide content quotes.",
    )
    persona_5: Persona5Thresholds = Field(
        default=Persona5Thresholds(), description="Cash Flow Stressed."
    )


class PersonasConfig(Section):
    """The seed's ``personas`` block (its output paths included); any other key is an error."""

    output_db: str | None = Field(
        default=None,
        description="Accepted from the seed's block and not used: the database is "
        "DATA_DIR/spendsense.db.",
    )
    output_parquet: str | None = Field(
        default=None,
        description="Accepted from the seed's block and not used: assignments go to "
        "DATA_DIR/features/persona_assignments.parquet.",
    )
    windows: list[int] | None = Field(
        default=None, description="Windows to assign; None means the signal stage's windows."
    )
    as_of_date: str | None = Field(
        default=None, description="As-of date (YYYY-MM-DD); None means the run's as-of."
    )
    thresholds: PersonaThresholds = Field(
        default=PersonaThresholds(), description="Persona levels, by persona."
    )
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
