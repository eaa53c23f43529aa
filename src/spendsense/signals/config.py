"""Thresholds and tolerances for the signal families (documented defaults)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SignalsConfig(BaseModel):
    """Settings for recurring detection and the signal families."""

    windows: list[int] = Field(
        default=[30, 180], description="Window lengths in days, ending at as-of."
    )
    subscription_lookback_days: int = Field(
        default=90,
        description="Minimum history the 30-day window looks back over to detect recurring streams.",
    )
    min_occurrences: int = Field(
        default=3, description="Charges needed for a stream (annual needs 2)."
    )
    amount_tolerance: float = Field(
        default=0.10,
        description="Max relative deviation of a charge from the stream's median amount.",
    )
    low_balance_threshold: float = Field(
        default=100.0, description="Dollars; a day below this counts as low."
    )
    utilization_flags: list[float] = Field(
        default=[0.30, 0.50, 0.80], description="Utilization flag levels."
    )
