"""Tiny inline feature frames for recommendation tests (imported by name: ``from recommend_builders import``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import polars as pl

from spendsense.signals.schema import FEATURE_TABLES

AS_OF = date(2025, 11, 4)
GENERATED = datetime(2025, 11, 4, 12, 0, 0)

# A healthy baseline per table; tests override fields per user.
BASE: dict[str, dict[str, Any]] = {
    "subscriptions": {"recurring_merchant_count": 1, "monthly_recurring_spend": 15.0,
                      "subscription_spend": 15.0, "total_spend": 2100.0, "subscription_share": 0.007},
    "savings": {"has_savings_account": True, "savings_balance": 6000.0, "savings_balance_start": 5990.0,
                "net_inflow": 10.0, "net_inflow_monthly": 10.0, "growth_rate": 0.0017,
                "avg_monthly_expenses": 2400.0, "emergency_fund_months": 2.5},
    "credit": {"card_count": 1, "max_utilization": 0.12, "total_card_balance": 600.0,
               "total_card_limit": 5000.0, "utilization_flag_30": False, "utilization_flag_50": False,
               "utilization_flag_80": False, "minimum_payment_only": False,
               "interest_charges_present": False, "interest_charges_monthly": 0.0, "is_overdue": False},
    "credit_cards": {"account_id": "acc", "card_name": "Visa", "mask": "4523", "balance": 600.0,
                     "limit": 5000.0, "utilization": 0.12, "minimum_payment": 25.0,
                     "interest_charges_monthly": 0.0, "is_overdue": False},
    "income": {"income_total": 4000.0, "avg_monthly_income": 4000.0, "payroll_deposit_count": 2,
               "pay_frequency": "biweekly", "median_pay_gap_days": 14.0, "pay_gap_cv": 0.05,
               "has_gig_income": False, "cash_flow_buffer_months": 1.6},
    "cash_flow": {"days_observed": 30, "avg_daily_balance": 3800.0, "min_daily_balance": 2100.0,
                  "pct_days_below_100": 0.0, "balance_std": 600.0, "balance_volatility": 0.16},
}  # fmt: skip


def features_for(
    users: dict[str, dict[str, dict[str, Any]]], window: int = 30
) -> dict[str, pl.DataFrame]:
    """Feature tables for ``{user_id: {table: overrides}}``; ``{"credit_cards": None}`` drops cards."""
    out: dict[str, pl.DataFrame] = {}
    for table, base in BASE.items():
        rows = []
        for uid, overrides in users.items():
            if table in overrides and overrides[table] is None:
                continue
            rows.append({"user_id": uid, "window_days": window, "as_of_date": AS_OF,
                         **base, **(overrides.get(table) or {})})  # fmt: skip
        out[table] = pl.DataFrame(rows, schema=FEATURE_TABLES[table])
    streams = [
        {"user_id": uid, "window_days": window, "as_of_date": AS_OF, **s}
        for uid, o in users.items()
        for s in (o.get("recurring_streams") or [])
    ]
    out["recurring_streams"] = pl.DataFrame(streams, schema=FEATURE_TABLES["recurring_streams"])
    return out


def assignments_for(
    personas: dict[str, tuple[int | None, int | None]], window: int = 30
) -> pl.DataFrame:
    """Assignment rows: ``{user_id: (primary, secondary)}``; (None, None) is STABLE."""
    names = {1: "High Utilization", 2: "Variable Income Budgeter", 3: "Subscription-Heavy",
             4: "Savings Builder", 5: "Cash Flow Stressed"}  # fmt: skip
    rows = [
        {
            "assignment_id": f"a_{uid}_{window}", "user_id": uid, "window_days": window,
            "as_of_date": AS_OF, "primary_persona_id": p, "primary_persona_name": names.get(p or 0),
            "primary_priority": None, "primary_severity": 0.5 if p else None,
            "secondary_persona_id": s, "secondary_persona_name": names.get(s or 0),
            "secondary_priority": None, "secondary_severity": 0.3 if s else None,
            "status": "ASSIGNED" if p else "STABLE", "assignment_trace": "{}",
            "computed_at": GENERATED,
        }
        for uid, (p, s) in personas.items()
    ]  # fmt: skip
    return pl.DataFrame(rows, infer_schema_length=None)


def users_for(ids: list[str], *, age: str = "25-34", consent: str = "granted") -> pl.DataFrame:
    """A users table with every user granted (unless told otherwise)."""
    return pl.DataFrame(
        {"user_id": ids, "consent_status": [consent] * len(ids), "age_band": [age] * len(ids)}
    )


HIGH_UTIL = {
    "credit": {"max_utilization": 0.68, "total_card_balance": 3400.0, "utilization_flag_30": True,
               "utilization_flag_50": True, "interest_charges_present": True,
               "interest_charges_monthly": 87.12},
    "credit_cards": {"balance": 3400.0, "limit": 5000.0, "utilization": 0.68,
                     "interest_charges_monthly": 87.12, "minimum_payment": 102.0},
    "subscriptions": {"recurring_merchant_count": 5, "monthly_recurring_spend": 75.0,
                      "subscription_share": 0.12, "subscription_spend": 75.0},
    "recurring_streams": [
        {"stream_id": "s1", "direction": "outflow", "merchant_name": "Netflix", "frequency": "MONTHLY",
         "monthly_amount": 15.49, "status": "MATURE", "is_subscription": True},
        {"stream_id": "s2", "direction": "outflow", "merchant_name": "Gym Co", "frequency": "MONTHLY",
         "monthly_amount": 39.99, "status": "MATURE", "is_subscription": True},
    ],
}  # fmt: skip
