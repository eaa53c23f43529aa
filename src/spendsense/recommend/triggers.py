"""User signals that select content: which are present for a user, and how strongly (0-1).

These are recommendation triggers derived from the feature view, not new
features: each is a pair of expressions (present?, strength) over namespaced
columns, evaluated for every user at once and returned in long form.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from spendsense.recommend.config import SignalThresholds
from spendsense.recommend.fields import KEYS

Rule = Callable[[SignalThresholds], tuple[pl.Expr, pl.Expr]]


def _c(name: str) -> pl.Expr:
    return pl.col(name)


def _clip(e: pl.Expr) -> pl.Expr:
    return e.cast(pl.Float64).clip(0.0, 1.0)


SIGNALS: dict[str, tuple[str, Rule]] = {
    "utilization_watch": (
        "a card at 30% utilization or more",
        lambda t: (
            _c("credit.max_utilization") >= t.utilization_watch,
            _clip(_c("credit.max_utilization")),
        ),
    ),
    "high_utilization": (
        "a card at 50% utilization or more",
        lambda t: (
            _c("credit.max_utilization") >= t.utilization_high,
            _clip(_c("credit.max_utilization")),
        ),
    ),
    "interest_charges": (
        "interest charged on cards",
        lambda t: (
            _c("credit.interest_charges_present"),
            _clip(0.5 + _c("credit.interest_charges_monthly").fill_null(0) / 200),
        ),
    ),
    "minimum_payment_only": (
        "only the minimum paid on a card",
        lambda t: (_c("credit.minimum_payment_only"), pl.lit(0.8)),
    ),
    "overdue": ("a card payment past due", lambda t: (_c("credit.is_overdue"), pl.lit(1.0))),
    "irregular_income": (
        "pay arrives irregularly or far apart",
        lambda t: (
            (_c("income.median_pay_gap_days") > t.pay_gap_days)
            | (_c("income.pay_frequency") == "irregular"),
            _clip(
                _c("income.median_pay_gap_days").fill_null(t.pay_gap_days) / (2 * t.pay_gap_days)
            ),
        ),
    ),
    "gig_income": ("income from gig work", lambda t: (_c("income.has_gig_income"), pl.lit(0.5))),
    "low_buffer": (
        "checking covers less than a month of expenses",
        lambda t: (
            _c("income.cash_flow_buffer_months") < t.buffer_months,
            _clip(1 - _c("income.cash_flow_buffer_months") / t.buffer_months),
        ),
    ),
    "subscriptions": (
        "several recurring subscriptions",
        lambda t: (
            _c("subscriptions.recurring_merchant_count") >= t.recurring_merchants,
            _clip(_c("subscriptions.recurring_merchant_count") / 10),
        ),
    ),
    "subscription_spend": (
        "subscriptions are a noticeable share of spending",
        lambda t: (
            (_c("subscriptions.monthly_recurring_spend") >= t.recurring_spend)
            | (_c("subscriptions.subscription_share") >= t.subscription_share),
            _clip(_c("subscriptions.subscription_share") * 3),
        ),
    ),
    "savings_growth": (
        "savings growing steadily",
        lambda t: (
            (_c("savings.growth_rate") >= t.savings_growth)
            | (_c("savings.net_inflow_monthly") >= t.savings_inflow_monthly),
            _clip(0.3 + _c("savings.growth_rate").fill_null(0) * 5),
        ),
    ),
    "no_savings_account": (
        "no savings account yet",
        lambda t: (~_c("savings.has_savings_account").fill_null(False), pl.lit(0.6)),
    ),
    "low_emergency_fund": (
        "savings cover less than three months of expenses",
        lambda t: (
            _c("savings.emergency_fund_months") < t.emergency_fund_months,
            _clip(1 - _c("savings.emergency_fund_months") / t.emergency_fund_months),
        ),
    ),
    "low_balance_days": (
        "checking often under $100",
        lambda t: (
            _c("cash_flow.pct_days_below_100") >= t.pct_days_below_100,
            _clip(_c("cash_flow.pct_days_below_100")),
        ),
    ),
    "volatile_balance": (
        "checking balance swings widely",
        lambda t: (
            (_c("cash_flow.balance_volatility") > t.balance_volatility)
            | (
                _c("cash_flow.balance_std")
                > t.balance_volatility * _c("cash_flow.avg_daily_balance")
            ),
            _clip(_c("cash_flow.balance_volatility").fill_null(3.0) / 3),
        ),
    ),
    "general": (
        "always present: general financial wellness",
        lambda t: (pl.lit(True), pl.lit(0.0)),
    ),
}
"""Signal id -> (description, rule building (present, strength) from thresholds)."""


def user_signals(view: pl.LazyFrame, thresholds: SignalThresholds) -> pl.LazyFrame:
    """Long frame (user_id, window_days, signal, strength) of the signals present for each user."""
    cols = []
    for name, (_, rule) in SIGNALS.items():
        present, strength = rule(thresholds)
        cols.append(
            pl.when(present.fill_null(False))
            .then(strength.fill_null(0.0).cast(pl.Float64))
            .alias(name)
        )
    wide = view.select(*KEYS, *cols)
    return wide.unpivot(index=KEYS, variable_name="signal", value_name="strength").drop_nulls(
        "strength"
    )


def signal_strength_columns(thresholds: SignalThresholds) -> list[pl.Expr]:
    """One ``sig:<name>`` column per signal: its strength when present, null when absent."""
    cols = []
    for name, (_, rule) in SIGNALS.items():
        present, strength = rule(thresholds)
        cols.append(
            pl.when(present.fill_null(False))
            .then(strength.fill_null(0.0).cast(pl.Float64))
            .alias(f"sig:{name}")
        )
    return cols
