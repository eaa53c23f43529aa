"""Savings features: balances of savings-like accounts, net inflow, growth, emergency-fund cover.

Many exports carry a savings account's balance but none of its transactions, while the
checking account shows the transfers into it. For a user whose savings-like accounts
have no transactions of their own in the window, the checking side's savings transfers
(``SAVINGS_TRANSFERS``) stand in for that history: each is mirrored onto the user's
savings account (money out of checking is money into savings), and the balances, inflow
and growth are computed from those rows the same way. ``savings_inflow_source`` says
which history was used.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from spendsense.signals.windows import account_balances, dollars, expense_expr, in_window, per_month

# Transfers between checking and savings, as they appear on the checking side.
SAVINGS_TRANSFERS: tuple[str, ...] = ("TRANSFER_OUT_SAVINGS", "TRANSFER_IN_SAVINGS")
SOURCE_ACCOUNT = "savings_account"  # the savings accounts' own transactions
SOURCE_TRANSFERS = "checking_transfers"  # savings transfers seen on checking (no own history)


def monthly_expenses(txns: pl.LazyFrame, as_of: date, window: int) -> pl.LazyFrame:
    """Per user: avg_monthly_expenses in dollars (window expenses / (window / 30))."""
    return (
        txns.filter(in_window(as_of, window) & expense_expr())
        .group_by("user_id")
        .agg(expense_cents=pl.col("amount_cents").sum())
        .select("user_id", avg_monthly_expenses=per_month(pl.col("expense_cents"), window))
    )


def savings_history(
    savings: pl.LazyFrame, txns: pl.LazyFrame, as_of: date, window: int
) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Rows that move savings balances, and the users whose rows are checking transfers.

    Users with a savings-like account, none of whose savings accounts has a transaction in
    the window, but with a savings transfer on another depository account in it, get those
    transfers (all of them, any date) negated onto their first savings account.
    """
    cols = ("account_id", "date", "amount_cents")
    own = txns.filter(pl.col("is_savings"))
    active = own.filter(in_window(as_of, window)).select("user_id").unique()
    transfers = txns.filter(
        pl.col("is_depository")
        & ~pl.col("is_savings")
        & pl.col("pfc_detailed").is_in(SAVINGS_TRANSFERS).fill_null(False)
    )
    target = savings.group_by("user_id").agg(pl.col("account_id").min().alias("_target"))
    users = (
        transfers.filter(in_window(as_of, window))
        .select("user_id")
        .unique()
        .join(active, on="user_id", how="anti")
        .join(target, on="user_id", how="semi")
    )
    mirrored = (
        transfers.join(users, on="user_id", how="semi")
        .join(target, on="user_id")
        .select(pl.col("_target").alias("account_id"), "date", -pl.col("amount_cents"))
    )
    return pl.concat([own.select(cols), mirrored.select(cols)]), users


def savings_features(
    accounts: pl.LazyFrame,
    txns: pl.LazyFrame,
    expenses: pl.LazyFrame,
    as_of: date,
    window: int,
) -> pl.LazyFrame:
    """Per user with a savings-like account: balance now and at window start, inflow, growth."""
    savings = accounts.filter(pl.col("is_savings"))
    history, by_transfer = savings_history(savings, txns, as_of, window)
    per_user = (
        account_balances(savings, history, as_of, window)
        .group_by("user_id")
        .agg(
            pl.col("balance_cents").sum(),
            pl.col("start_cents").sum(),
            pl.col("in_window").sum(),
        )
        .join(by_transfer.with_columns(_by_transfer=pl.lit(True)), on="user_id", how="left")
    )
    return (
        per_user.join(expenses, on="user_id", how="full", coalesce=True)
        .with_columns(
            has_savings_account=pl.col("balance_cents").is_not_null(),
            savings_balance=dollars(pl.col("balance_cents").fill_null(0)),
            savings_balance_start=dollars(pl.col("start_cents").fill_null(0)),
            net_inflow=dollars(-pl.col("in_window").fill_null(0)),
            avg_monthly_expenses=pl.col("avg_monthly_expenses").fill_null(0.0),
            savings_inflow_source=pl.when(pl.col("_by_transfer").fill_null(False))
            .then(pl.lit(SOURCE_TRANSFERS))
            .when(pl.col("balance_cents").is_not_null())
            .then(pl.lit(SOURCE_ACCOUNT)),
        )
        .with_columns(
            net_inflow_monthly=per_month(-pl.col("in_window").fill_null(0), window),
            growth_rate=pl.when(pl.col("savings_balance_start") > 0)
            .then(
                (pl.col("savings_balance") - pl.col("savings_balance_start"))
                / pl.col("savings_balance_start")
            )
            .otherwise(0.0),
            emergency_fund_months=pl.when(pl.col("avg_monthly_expenses") > 0).then(
                pl.col("savings_balance") / pl.col("avg_monthly_expenses")
            ),
        )
        .drop("balance_cents", "start_cents", "in_window", "_by_transfer")
    )
