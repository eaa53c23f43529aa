"""The persona design's eight unit tests (seed 000, Testing Strategy)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Assign = Callable[..., dict[str, Any]]


def test_persona_1_high_utilization_68_percent(assign_one: Assign) -> None:
    row = assign_one(max_utilization=0.68)
    assert row["primary_persona_id"] == 1
    assert row["primary_persona_name"] == "High Utilization"
    assert row["primary_priority"] == "CRITICAL"
    assert row["primary_severity"] == 0.68
    assert row["status"] == "ASSIGNED"


def test_persona_2_sixty_day_gap_half_month_buffer(assign_one: Assign) -> None:
    row = assign_one(median_pay_gap_days=60.0, cash_flow_buffer_months=0.5)
    assert row["primary_persona_id"] == 2
    assert row["primary_priority"] == "HIGH"
    assert row["primary_severity"] == 60.0 / 45.0


def test_persona_3_five_merchants_75_dollars(assign_one: Assign) -> None:
    row = assign_one(
        recurring_merchant_count=5, monthly_recurring_spend=75.0, subscription_share=0.12
    )
    assert row["primary_persona_id"] == 3
    assert row["primary_priority"] == "MEDIUM"
    assert row["primary_severity"] == 0.12


def test_persona_4_three_percent_growth_fifteen_percent_utilization(assign_one: Assign) -> None:
    row = assign_one(growth_rate=0.03, max_utilization=0.15)
    assert row["primary_persona_id"] == 4
    assert row["primary_priority"] == "LOW"
    assert row["primary_severity"] == 0.03


def test_persona_5_45_percent_low_days_volatility_1_2(assign_one: Assign) -> None:
    row = assign_one(
        pct_days_below_100=0.45, balance_std=600.0, avg_daily_balance=500.0, balance_volatility=1.2
    )
    assert row["primary_persona_id"] == 5
    assert row["primary_priority"] == "HIGH"
    assert row["primary_severity"] == 0.45


def test_tie_break_two_high_personas_higher_severity_wins(assign_one: Assign) -> None:
    # P2 gap 50 -> 50/45 = 1.11x its threshold; P5 at 0.60 -> 2.0x its threshold.
    row = assign_one(
        median_pay_gap_days=50.0,
        cash_flow_buffer_months=0.5,
        pct_days_below_100=0.60,
        balance_std=600.0,
        avg_daily_balance=500.0,
    )
    assert (row["primary_persona_id"], row["secondary_persona_id"]) == (5, 2)
    assert row["secondary_priority"] == "HIGH"


def test_no_credit_cards_satisfies_persona_4(assign_one: Assign) -> None:
    row = assign_one(max_utilization=None, growth_rate=0.05)
    assert row["primary_persona_id"] == 4
    crit = row["trace"]["evaluations"]["persona_4"]["criteria"]["max_utilization"]
    assert crit == {"value": None, "threshold": 0.3, "op": "<", "met": True, "no_cards": True}


def test_unmatched_user_is_stable(assign_one: Assign) -> None:
    row = assign_one()
    assert row["status"] == "STABLE"
    for prefix in ("primary", "secondary"):
        for field in ("persona_id", "persona_name", "priority", "severity"):
            assert row[f"{prefix}_{field}"] is None
    assert row["trace"]["result"]["status"] == "STABLE"
    assert not any(e["matched"] for e in row["trace"]["evaluations"].values())
