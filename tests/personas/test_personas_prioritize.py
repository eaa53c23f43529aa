"""Priority, severity within a level, persona-id tie-break, secondary, STABLE."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from spendsense.personas import PersonasConfig

Assign = Callable[..., dict[str, Any]]

P2 = {"cash_flow_buffer_months": 0.5}
P5 = {"balance_std": 600.0, "avg_daily_balance": 500.0}


def test_two_high_personas_persona_2_wins_when_further_past_its_threshold(
    assign_one: Assign,
) -> None:
    # P2: 90/45 = 2.0x; P5: 0.45/0.30 = 1.5x.
    row = assign_one(median_pay_gap_days=90.0, pct_days_below_100=0.45, **P2, **P5)
    assert (row["primary_persona_id"], row["secondary_persona_id"]) == (2, 5)
    assert row["primary_severity"] == 2.0 and row["secondary_severity"] == 0.45
    evaluations = row["trace"]["evaluations"]
    assert evaluations["persona_2"]["comparison_score"] == 2.0
    assert evaluations["persona_5"]["comparison_score"] == 1.5


def test_exact_severity_tie_goes_to_lower_persona_id(assign_one: Assign) -> None:
    # P2: 90/45 = 2.0x; P5: 0.60/0.30 = 2.0x -> tie -> persona 2.
    row = assign_one(median_pay_gap_days=90.0, pct_days_below_100=0.60, **P2, **P5)
    assert (row["primary_persona_id"], row["secondary_persona_id"]) == (2, 5)
    evaluations = row["trace"]["evaluations"]
    assert (
        evaluations["persona_2"]["comparison_score"] == evaluations["persona_5"]["comparison_score"]
    )


def test_raw_comparison_is_the_seeds_literal_sort(assign_one: Assign) -> None:
    config = PersonasConfig(severity_comparison="raw")
    # raw: P2 50/45 = 1.11 > P5 0.60, although P5 is further past its own threshold.
    row = assign_one(config, median_pay_gap_days=50.0, pct_days_below_100=0.60, **P2, **P5)
    assert (row["primary_persona_id"], row["secondary_persona_id"]) == (2, 5)
    default = assign_one(median_pay_gap_days=50.0, pct_days_below_100=0.60, **P2, **P5)
    assert (default["primary_persona_id"], default["secondary_persona_id"]) == (5, 2)


def test_critical_beats_higher_severity_at_lower_priority(assign_one: Assign) -> None:
    row = assign_one(
        max_utilization=None,
        is_overdue=True,
        median_pay_gap_days=200.0,
        recurring_merchant_count=9,
        subscription_share=0.9,
        **P2,
    )
    assert row["primary_persona_id"] == 1 and row["primary_severity"] == 0.0
    assert row["secondary_persona_id"] == 2


def test_secondary_is_next_in_order_and_third_is_dropped(assign_one: Assign) -> None:
    row = assign_one(
        max_utilization=0.9,
        recurring_merchant_count=5,
        monthly_recurring_spend=80.0,
        pct_days_below_100=0.5,
        **P5,
    )
    assert (row["primary_persona_id"], row["secondary_persona_id"]) == (1, 5)
    assert row["trace"]["evaluations"]["persona_3"]["matched"] is True


def test_only_one_match_has_no_secondary(assign_one: Assign) -> None:
    row = assign_one(growth_rate=0.05)
    assert row["primary_persona_id"] == 4
    assert row["secondary_persona_id"] is None
    assert row["trace"]["result"]["secondary_reasoning"] is None


def test_stable_when_nothing_matches_even_with_partial_criteria(assign_one: Assign) -> None:
    # Pay gap long but buffer fine; many merchants but small spend; low days but calm balance.
    row = assign_one(
        median_pay_gap_days=60.0,
        recurring_merchant_count=6,
        pct_days_below_100=0.5,
        max_utilization=0.45,
        growth_rate=0.05,
    )
    assert row["status"] == "STABLE"
    p2 = row["trace"]["evaluations"]["persona_2"]
    assert p2["criteria"]["median_pay_gap_days"]["met"] is True
    assert p2["triggered_by"] == [] and p2["severity"] is None
