"""Cash-flow features: daily checking balances, low-balance days and volatility, without a day grid.

The end-of-day balance is a step function that only changes on days with checking
transactions, so each such day starts a segment whose balance holds until the next
one; statistics over the W days are duration-weighted sums over those segments.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from spendsense.signals.config import LOW_BALANCE_CENTS
from spendsense.signals.windows import (
    account_balances,
    dollars,
    in_window,
    ratio,
)

_USER = 1 << 32  # a user code's place in the (user, day) key: above any day count


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
    # Days are counted back from as_of ("back": 0 is as_of) and users by their categorical
    # code, so one integer key sorts each user's transaction days together, newest first: a
    # one-column group-by and sort instead of two-column ones (and no text compare).
    code = pl.col("user_id").to_physical().cast(pl.UInt64)
    back = (pl.lit(as_of) - pl.col("date")).dt.total_days().cast(pl.UInt64)
    key = pl.col("key")
    daily = (
        txns.filter(pl.col("is_checking") & in_window(as_of, window))
        .group_by(key=code * _USER + back)
        .agg(net=pl.col("amount_cents").sum())
        .sort("key")
        .select(code=key // _USER, back=(key % _USER).cast(pl.Int64), net="net")
    )
    users = balance.select("user_id", "checking_cents", code=code)
    later_row = (pl.col("code") == pl.col("code").shift(1)).fill_null(False)
    # The nets of a user's later days: a running total over all rows, less its value where
    # the user's rows begin.
    before = pl.col("net").cum_sum() - pl.col("net")
    user_start = pl.when(~later_row).then(before).forward_fill()
    # Balance from a transaction day until the next (back -1 is the day after as_of): the
    # balance at as_of plus the later days' nets.
    seg = daily.join(users, on="code", how="inner", maintain_order="left").select(
        "code",
        bal=pl.col("checking_cents") + before - user_start,
        days=pl.col("back") - pl.when(later_row).then(pl.col("back").shift(1)).otherwise(-1),
    )
    segments = pl.concat(
        [
            seg,
            # Before the first transaction day (back = window - 1 is the window's first day):
            # the balance with every window net added back.
            users.join(
                daily.group_by("code").agg(total=pl.col("net").sum(), first=pl.col("back").max()),
                on="code",
                how="left",
            ).select(
                "code",
                bal=pl.col("checking_cents") + pl.col("total").fill_null(0),
                days=window - 1 - pl.col("first").fill_null(-1),
            ),
        ]
    ).filter(pl.col("days") > 0)
    low = LOW_BALANCE_CENTS
    # Exact integer sums (cents, cents^2 in Int128) so the result never depends on row order.
    s1 = (pl.col("bal") * pl.col("days")).sum()
    s2 = (pl.col("bal").cast(pl.Int128) ** 2 * pl.col("days")).sum()
    stats = (
        segments.group_by("code")
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
        .join(users.select("code", "user_id"), on="code")
        .drop("code", "s1", "s2", "min_cents", "low_days")
    )
    return stats.with_columns(
        balance_volatility=pl.when(pl.col("avg_daily_balance") > 0).then(
            pl.col("balance_std") / pl.col("avg_daily_balance")
        )
    )
