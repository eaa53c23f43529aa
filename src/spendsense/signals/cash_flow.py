"""Cash-flow features: daily checking balances, low-balance days and volatility, without a day grid.

The end-of-day balance is a step function that only changes on days with checking
transactions, so each such day starts a segment whose balance holds until the next
one; statistics over the W days are duration-weighted sums over those segments.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from spendsense.signals.config import LOW_BALANCE_CENTS
from spendsense.signals.windows import (
    account_balances,
    dollars,
    in_window,
    ratio,
    window_start,
)


def checking_balance(accounts: pl.LazyFrame, txns: pl.LazyFrame, as_of: date) -> pl.LazyFrame:
    """Per user with checking: summed checking balance at the end of ``as_of`` (cents)."""
    checking = accounts.filter(pl.col("is_checking"))
    return (
        account_balances(checking, txns.filter(pl.col("is_checking")), as_of, 1)
        .group_by("user_id")
        .agg(checking_cents=pl.col("balance_cents").sum())
    )


def cash_flow_features(
    balance: pl.LazyFrame,
    txns: pl.LazyFrame,
    as_of: date,
    window: int,
) -> pl.LazyFrame:
    """Per user with checking: days observed, average/min balance, low days, std, volatility."""
    first_day = window_start(as_of, window) + timedelta(days=1)
    end = as_of + timedelta(days=1)
    daily = (
        txns.filter(pl.col("is_checking") & in_window(as_of, window))
        .group_by("user_id", "date")
        .agg(net=pl.col("amount_cents").sum())
    )
    later_row = (pl.col("user_id") == pl.col("user_id").shift(1)).fill_null(False)
    # Balance from a transaction day until the next: balance at as_of plus later day nets.
    seg = (
        daily.join(balance, on="user_id", how="inner")
        .sort("user_id", "date", descending=[False, True])
        .with_columns(after=pl.col("net").cum_sum().over("user_id") - pl.col("net"))
        .with_columns(
            bal=pl.col("checking_cents") + pl.col("after"),
            until=pl.when(later_row).then(pl.col("date").shift(1)).otherwise(pl.lit(end)),
        )
    )
    segments = pl.concat(
        [
            seg.select("user_id", "bal", days=(pl.col("until") - pl.col("date")).dt.total_days()),
            # Before the first transaction day: the balance with every window net added back.
            balance.join(
                daily.group_by("user_id").agg(
                    total=pl.col("net").sum(), first=pl.col("date").min()
                ),
                on="user_id",
                how="left",
            ).select(
                "user_id",
                bal=pl.col("checking_cents") + pl.col("total").fill_null(0),
                days=(pl.col("first").fill_null(end) - pl.lit(first_day)).dt.total_days(),
            ),
        ]
    ).filter(pl.col("days") > 0)
    low = LOW_BALANCE_CENTS
    # Exact integer sums (cents, cents^2 in Int128) so the result never depends on row order.
    s1 = (pl.col("bal") * pl.col("days")).sum()
    s2 = (pl.col("bal").cast(pl.Int128) ** 2 * pl.col("days")).sum()
    stats = (
        segments.group_by("user_id")
        .agg(
            days_observed=pl.col("days").sum(),
            s1=s1,
            s2=s2,
            min_cents=pl.col("bal").min(),
            low_days=pl.col("days").filter(pl.col("bal") < low).sum(),
        )
        .with_columns(
            min_daily_balance=dollars(pl.col("min_cents")),
            avg_daily_balance=ratio(pl.col("s1"), 100 * window),
            pct_days_below_100=ratio(pl.col("low_days"), window),
            balance_std=ratio(
                window * pl.col("s2") - pl.col("s1").cast(pl.Int128) ** 2, 10_000 * window * window
            ).sqrt(),
        )
        .drop("s1", "s2", "min_cents", "low_days")
    )
    return stats.with_columns(
        balance_volatility=pl.when(pl.col("avg_daily_balance") > 0).then(
            pl.col("balance_std") / pl.col("avg_daily_balance")
        )
    )
