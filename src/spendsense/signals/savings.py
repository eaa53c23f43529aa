"""Savings features: balances of savings-like accounts, net inflow, growth, emergency-fund cover."""

from __future__ import annotations

from datetime import date

import polars as pl

from spendsense.signals.windows import account_balances, dollars, expense_expr, in_window, per_month


def monthly_expenses(txns: pl.LazyFrame, as_of: date, window: int) -> pl.LazyFrame:
    """Per user: avg_monthly_expenses in dollars (window expenses / (window / 30))."""
    return (
        txns.filter(in_window(as_of, window) & expense_expr())
        .group_by("user_id")
        .agg(expense_cents=pl.col("amount_cents").sum())
        .select("user_id", avg_monthly_expenses=per_month(pl.col("expense_cents"), window))
    )


def savings_features(
    accounts: pl.LazyFrame,
    txns: pl.LazyFrame,
    expenses: pl.LazyFrame,
    as_of: date,
    window: int,
) -> pl.LazyFrame:
    """Per user with a savings-like account: balance now and at window start, inflow, growth."""
    savings = accounts.filter(pl.col("is_savings"))
    per_user = (
        account_balances(savings, txns.filter(pl.col("is_savings")), as_of, window)
        .group_by("user_id")
        .agg(
            pl.col("balance_cents").sum(),
            pl.col("start_cents").sum(),
            pl.col("in_window").sum(),
        )
    )
    return (
        per_user.join(expenses, on="user_id", how="full", coalesce=True)
        .with_columns(
            has_savings_account=pl.col("balance_cents").is_not_null(),
            savings_balance=dollars(pl.col("balance_cents").fill_null(0)),
            savings_balance_start=dollars(pl.col("start_cents").fill_null(0)),
            net_inflow=dollars(-pl.col("in_window").fill_null(0)),
            avg_monthly_expenses=pl.col("avg_monthly_expenses").fill_null(0.0),
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
        .drop("balance_cents", "start_cents", "in_window")
    )
