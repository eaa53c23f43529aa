"""Feature tables: the columns each signal family writes (contract with personas and recommend).

One row per (user_id, window_days, as_of_date); money in dollars (Float64).
Documented column by column in docs/schema.md.
"""

from __future__ import annotations

import polars as pl

KEY: dict[str, pl.DataType] = {
    "user_id": pl.String(),
    "window_days": pl.Int32(),
    "as_of_date": pl.Date(),
}

SUBSCRIPTIONS: dict[str, pl.DataType] = {
    **KEY,
    "recurring_merchant_count": pl.Int32(),  # subscription streams active in the window
    "monthly_recurring_spend": pl.Float64(),  # dollars/month, cadence-normalised
    "subscription_spend": pl.Float64(),  # dollars charged by those streams inside the window
    "total_spend": pl.Float64(),  # all debit spend inside the window (no transfers/loan/card payments)
    "subscription_share": pl.Float64(),  # subscription_spend / total_spend, 0 when no spend
}

SAVINGS: dict[str, pl.DataType] = {
    **KEY,
    "has_savings_account": pl.Boolean(),
    "savings_balance": pl.Float64(),  # at as-of
    "savings_balance_start": pl.Float64(),  # at window start (reconstructed backwards)
    "net_inflow": pl.Float64(),  # money into savings-like accounts minus money out, over the window
    "net_inflow_monthly": pl.Float64(),  # net_inflow / (window_days / 30)
    "growth_rate": pl.Float64(),  # (balance - start) / start; 0 when start <= 0
    "avg_monthly_expenses": pl.Float64(),
    "emergency_fund_months": pl.Float64(),  # savings_balance / avg_monthly_expenses
    # savings_account | checking_transfers (no own history: transfers seen on checking) | null
    "savings_inflow_source": pl.String(),
}

CREDIT: dict[str, pl.DataType] = {
    **KEY,
    "card_count": pl.Int32(),
    "max_utilization": pl.Float64(),  # null when the user has no (personal) cards
    "total_card_balance": pl.Float64(),
    "total_card_limit": pl.Float64(),
    "utilization_flag_30": pl.Boolean(),
    "utilization_flag_50": pl.Boolean(),
    "utilization_flag_80": pl.Boolean(),
    "minimum_payment_only": pl.Boolean(),
    "interest_charges_present": pl.Boolean(),
    "interest_charges_monthly": pl.Float64(),  # dollars/month of interest charged
    "is_overdue": pl.Boolean(),
}

CREDIT_CARDS: dict[str, pl.DataType] = {  # per card, for rationales ("Visa ending in 4523")
    **KEY,
    "account_id": pl.String(),
    "card_name": pl.String(),
    "mask": pl.String(),
    "balance": pl.Float64(),
    "limit": pl.Float64(),
    "utilization": pl.Float64(),
    "minimum_payment": pl.Float64(),
    "interest_charges_monthly": pl.Float64(),
    "is_overdue": pl.Boolean(),
}

INCOME: dict[str, pl.DataType] = {
    **KEY,
    "income_total": pl.Float64(),  # all income inflows in the window
    "avg_monthly_income": pl.Float64(),
    "payroll_deposit_count": pl.Int32(),
    "pay_frequency": pl.String(),  # weekly | biweekly | semi_monthly | monthly | irregular | none
    "median_pay_gap_days": pl.Float64(),  # null when fewer than 2 deposits
    "pay_gap_cv": pl.Float64(),  # std/mean of gaps: pay variability
    "has_gig_income": pl.Boolean(),
    "cash_flow_buffer_months": pl.Float64(),  # checking balance / avg monthly expenses
}

CASH_FLOW: dict[str, pl.DataType] = {
    **KEY,
    "days_observed": pl.Int32(),
    "avg_daily_balance": pl.Float64(),
    "min_daily_balance": pl.Float64(),
    "pct_days_below_100": pl.Float64(),
    "balance_std": pl.Float64(),  # population std of daily checking balances (dollars)
    "balance_volatility": pl.Float64(),  # std/mean of daily checking balances; null when mean <= 0
}

RECURRING_STREAMS: dict[str, pl.DataType] = {
    **KEY,
    "stream_id": pl.String(),
    "direction": pl.String(),  # outflow | inflow
    "merchant_name": pl.String(),
    "category": pl.String(),  # PFC v2 primary
    "frequency": pl.String(),  # WEEKLY | BIWEEKLY | SEMI_MONTHLY | MONTHLY | QUARTERLY | ANNUALLY
    "average_amount": pl.Float64(),
    "last_amount": pl.Float64(),
    "first_date": pl.Date(),
    "last_date": pl.Date(),
    "predicted_next_date": pl.Date(),
    "status": pl.String(),  # MATURE | EARLY_DETECTION | TOMBSTONED
    "transaction_count": pl.Int32(),
    "monthly_amount": pl.Float64(),  # average_amount normalised to a month
    "is_subscription": pl.Boolean(),
}

FEATURE_TABLES: dict[str, dict[str, pl.DataType]] = {
    "subscriptions": SUBSCRIPTIONS,
    "savings": SAVINGS,
    "credit": CREDIT,
    "credit_cards": CREDIT_CARDS,
    "income": INCOME,
    "cash_flow": CASH_FLOW,
    "recurring_streams": RECURRING_STREAMS,
}

ROW_KEYS: dict[str, tuple[str, ...]] = {
    "credit_cards": ("account_id",),
    "recurring_streams": ("stream_id",),
}
"""Tables with several rows per key: what tells those rows apart."""
FEATURE_KEYS: dict[str, tuple[str, ...]] = {
    name: (*KEY, *ROW_KEYS.get(name, ())) for name in FEATURE_TABLES
}
"""Each feature table's key (and sort order): KEY, then ROW_KEYS."""
