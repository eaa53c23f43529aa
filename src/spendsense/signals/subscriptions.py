"""Subscription features: recurring subscription streams, their spend and their share of spending."""

from __future__ import annotations

from datetime import date

import polars as pl

from spendsense.signals.windows import dollars, in_window, spending_expr


def total_spend(txns: pl.LazyFrame, as_of: date, window: int) -> pl.LazyFrame:
    """Per user: cents spent in spending categories inside the window (refunds not subtracted)."""
    return (
        txns.filter(
            in_window(as_of, window)
            & spending_expr()
            & (pl.col("is_depository") | pl.col("is_credit"))
        )
        .group_by("user_id")
        .agg(total_cents=pl.col("amount_cents").sum())
    )


def counted_subscription() -> pl.Expr:
    """On a recurring_streams row: counted in recurring_merchant_count for its window."""
    return (
        pl.col("is_subscription")
        & (pl.col("status") != "EARLY_DETECTION")
        & (pl.col("last_date") > pl.col("as_of_date") - pl.duration(days=pl.col("window_days")))
    )


def counted_streams(streams: pl.LazyFrame) -> pl.LazyFrame:
    """Subscription streams with enough charges (MATURE or TOMBSTONED after maturing)."""
    return streams.filter(pl.col("is_subscription") & pl.col("is_mature"))


def subscription_features(
    txns: pl.LazyFrame,
    streams: pl.LazyFrame,
    charges: pl.LazyFrame,
    as_of: date,
    window: int,
) -> pl.LazyFrame:
    """Per user: recurring_merchant_count, monthly_recurring_spend, subscription_spend/share."""
    counted = counted_streams(streams).select("sid", "user_id", "monthly_amount")
    # Only the counted streams' charges are summed (a semi-join first, not a sum per stream).
    spend = (
        charges.filter(in_window(as_of, window))
        .join(counted.select("sid"), on="sid", how="semi")
        .group_by("sid")
        .agg(spend_cents=pl.col("amount_cents").sum())
    )
    active = (
        counted.join(spend, on="sid")
        .group_by("user_id")
        .agg(
            recurring_merchant_count=pl.len(),
            monthly_cents=(pl.col("monthly_amount") * 100).round().cast(pl.Int64).sum(),
            sub_cents=pl.col("spend_cents").sum(),
        )
    )
    return (
        total_spend(txns, as_of, window)
        .join(active, on="user_id", how="full", coalesce=True)
        .with_columns(pl.col("total_cents", "sub_cents").fill_null(0))
        .select(
            "user_id",
            "recurring_merchant_count",
            monthly_recurring_spend=dollars(pl.col("monthly_cents")),
            subscription_spend=dollars(pl.col("sub_cents")),
            total_spend=dollars(pl.col("total_cents")),
            subscription_share=pl.when(pl.col("total_cents") > 0)
            .then(pl.col("sub_cents") / pl.col("total_cents"))
            .otherwise(0.0),
        )
    )
