"""Thresholds and tolerances for the signal families (documented defaults)."""

from __future__ import annotations

from typing import Final

from pydantic import Field

from spendsense.config_section import Section

LOW_BALANCE_CENTS: Final = 10_000
"""A day whose end-of-day checking balance is below this ($100) is a low day. It is part of
the definition of ``cash_flow.pct_days_below_100`` (the data contract names the level), so it
is a constant, not a setting; every text that names the level is built from it."""

DEFAULT_CADENCE_BANDS: dict[str, tuple[int, int]] = {
    "WEEKLY": (6, 8),
    "BIWEEKLY": (12, 17),
    "MONTHLY": (26, 35),
    "QUARTERLY": (85, 100),
    "ANNUALLY": (330, 400),
}


class SignalsConfig(Section):
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
    annual_min_occurrences: int = Field(
        default=2, description="Charges needed for an annual stream to be MATURE."
    )
    amount_tolerance: float = Field(
        default=0.10,
        description="Max relative deviation of a charge from the stream's median amount.",
    )
    cadence_bands: dict[str, tuple[int, int]] = Field(
        default=DEFAULT_CADENCE_BANDS,
        description="Inclusive day ranges of the median gap for each cadence.",
    )
    gap_jitter_days: int = Field(
        default=2,
        description="Extra days an individual gap may stray outside its cadence band (weekend shifts).",
    )
    max_missed_payments: int = Field(
        default=1,
        description="Gaps of about twice the cadence (one missed charge) tolerated per stream.",
    )
    both_tolerances_min_charges: int = Field(
        default=5,
        description="Charges a stream needs to use both a missed charge and a price step; "
        "with fewer, three fuel or grocery visits at gaps of 29 and 17 days would read as "
        "a biweekly stream with a missed charge and a price change.",
    )
    semi_monthly_day_spread: int = Field(
        default=4,
        description="Max spread (days) of the day of month in each of the two semi-monthly clusters.",
    )
    pay_gap_cv_irregular: float = Field(
        default=0.35, description="Pay-gap std/mean above which income is irregular."
    )
    minimum_payment_slack_cents: int = Field(
        default=100,
        description="A last payment within this many cents of the minimum counts as minimum-only.",
    )
    utilization_flags: list[float] = Field(
        default=[0.30, 0.50, 0.80],
        description="Utilization flag levels for utilization_flag_30/_50/_80, in that order.",
    )
    savings_subtypes: list[str] = Field(
        default=["savings", "money market", "cash management", "hsa", "cd"],
        description="Depository subtypes counted as savings-like accounts.",
    )
