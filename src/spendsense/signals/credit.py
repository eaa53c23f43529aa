"""Credit features: card utilization, minimum-payment-only, interest charges, overdue."""

from __future__ import annotations

from datetime import date

import polars as pl

from spendsense.signals.config import SignalsConfig
from spendsense.signals.windows import INTEREST_CHARGE, dollars, in_window, per_month


def card_features(
    accounts: pl.LazyFrame,
    liabilities: pl.LazyFrame,
    txns: pl.LazyFrame,
    as_of: date,
    window: int,
    config: SignalsConfig,
) -> pl.LazyFrame:
    """Per personal credit card: balance, limit, utilization, minimum, interest, overdue."""
    interest = (
        txns.filter(
            pl.col("is_card")
            & in_window(as_of, window)
            & (pl.col("pfc_detailed") == INTEREST_CHARGE)
            & (pl.col("amount_cents") > 0)
        )
        .group_by("account_id")
        .agg(window_interest_cents=pl.col("amount_cents").sum())
    )
    liab = liabilities.select(
        "account_id",
        "is_overdue",
        "last_payment_amount_cents",
        "minimum_payment_amount_cents",
        "interest_charge_cents",
    )
    limit = pl.col("limit_cents")
    return (
        accounts.filter(pl.col("is_card"))
        .join(liab, on="account_id", how="left")
        .join(interest, on="account_id", how="left")
        .with_columns(pl.col("window_interest_cents").fill_null(0))
        .select(
            "user_id",
            "account_id",
            card_name=pl.coalesce("name", "official_name"),
            mask=pl.col("mask"),
            balance=dollars(pl.col("current_cents").fill_null(0)),
            limit=dollars(limit),
            utilization=pl.when(limit > 0).then(
                pl.col("current_cents").fill_null(0) / limit.cast(pl.Float64)
            ),
            minimum_payment=dollars(pl.col("minimum_payment_amount_cents")),
            interest_charges_monthly=pl.when(pl.col("window_interest_cents") > 0)
            .then(per_month(pl.col("window_interest_cents"), window))
            .otherwise(dollars(pl.col("interest_charge_cents").fill_null(0))),
            is_overdue=pl.col("is_overdue").fill_null(False),
            minimum_only=(
                pl.col("last_payment_amount_cents").is_not_null()
                & (pl.col("minimum_payment_amount_cents") > 0)
                & (
                    pl.col("last_payment_amount_cents")
                    <= pl.col("minimum_payment_amount_cents") + config.minimum_payment_slack_cents
                )
            ).fill_null(False),
            interest_present=(
                (pl.col("window_interest_cents") > 0)
                | (pl.col("interest_charge_cents").fill_null(0) > 0)
            ),
        )
    )


def credit_features(cards: pl.LazyFrame, config: SignalsConfig) -> pl.LazyFrame:
    """Per user with a personal card: the user-level credit flags from the per-card rows."""
    levels = [*config.utilization_flags, None, None, None][:3]
    flags = {
        f"utilization_flag_{name}": (
            (pl.col("max_utilization") >= level).fill_null(False)
            if level is not None
            else pl.lit(False)
        )
        for name, level in zip(("30", "50", "80"), levels, strict=True)
    }
    return (
        cards.sort("user_id", "account_id")
        .group_by("user_id", maintain_order=True)
        .agg(
            card_count=pl.len(),
            max_utilization=pl.col("utilization").max(),
            total_card_balance=dollars((pl.col("balance") * 100).round().cast(pl.Int64).sum()),
            total_card_limit=(pl.col("limit") * 100)
            .round()
            .cast(pl.Int64)
            .filter(pl.col("limit") > 0)
            .sum(),
            minimum_payment_only=pl.col("minimum_only").any(),
            interest_charges_present=pl.col("interest_present").any(),
            interest_charges_monthly=pl.col("interest_charges_monthly").sum(),
            is_overdue=pl.col("is_overdue").any(),
        )
        .with_columns(total_card_limit=dollars(pl.col("total_card_limit")), **flags)
    )
