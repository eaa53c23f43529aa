"""Every threshold at, just under and just over; thresholds come from configuration."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from spendsense.personas import PersonasConfig

Assign = Callable[..., dict[str, Any]]
EPS = 1e-4

# Other criteria of the persona set so that only the tested one decides.
P2 = {"median_pay_gap_days": 60.0, "cash_flow_buffer_months": 0.5}
P3 = {"recurring_merchant_count": 5, "monthly_recurring_spend": 75.0, "subscription_share": 0.12}
P4 = {"growth_rate": 0.05, "net_inflow_monthly": 0.0, "max_utilization": 0.10}
P5 = {"pct_days_below_100": 0.5, "balance_std": 600.0, "avg_daily_balance": 500.0}

# (persona, base fields, field, threshold, op); ">=": at matches, ">": at fails, "<": at fails.
CASES = [
    (1, {}, "max_utilization", 0.50, ">="),
    (2, P2, "median_pay_gap_days", 45.0, ">"),
    (2, P2, "cash_flow_buffer_months", 1.0, "<"),
    (3, P3, "recurring_merchant_count", 3, ">="),
    (3, {**P3, "subscription_share": 0.0}, "monthly_recurring_spend", 50.0, ">="),
    (3, {**P3, "monthly_recurring_spend": 0.0}, "subscription_share", 0.10, ">="),
    (4, {**P4, "net_inflow_monthly": 0.0}, "growth_rate", 0.02, ">="),
    (4, {**P4, "growth_rate": 0.0}, "net_inflow_monthly", 200.0, ">="),
    (4, P4, "max_utilization", 0.30, "<"),
    (5, P5, "pct_days_below_100", 0.30, ">="),
]


def _expected(op: str, value: float, threshold: float) -> bool:
    return {">=": value >= threshold, ">": value > threshold, "<": value < threshold}[op]


@pytest.mark.parametrize(("persona", "base", "field", "threshold", "op"), CASES)
@pytest.mark.parametrize("where", ["at", "under", "over"])
def test_threshold_boundaries(
    assign_one: Assign,
    persona: int,
    base: dict[str, Any],
    field: str,
    threshold: float,
    op: str,
    where: str,
) -> None:
    step = 1 if isinstance(threshold, int) else EPS
    value = {"at": threshold, "under": threshold - step, "over": threshold + step}[where]
    row = assign_one(**{**base, field: value})
    evaluation = row["trace"]["evaluations"][f"persona_{persona}"]
    assert evaluation["matched"] is _expected(op, value, threshold)
    criterion = evaluation["criteria"][field]
    assert criterion["threshold"] == threshold
    assert criterion["op"] == op
    assert criterion["met"] is _expected(op, value, threshold)


@pytest.mark.parametrize(("std", "matched"), [(500.0, False), (499.99, False), (500.01, True)])
def test_persona_5_std_versus_mean_boundary(assign_one: Assign, std: float, matched: bool) -> None:
    row = assign_one(pct_days_below_100=0.5, balance_std=std, avg_daily_balance=500.0)
    assert row["trace"]["evaluations"]["persona_5"]["matched"] is matched


def test_persona_5_holds_when_average_balance_is_not_positive(assign_one: Assign) -> None:
    row = assign_one(
        pct_days_below_100=0.9, balance_std=40.0, avg_daily_balance=-60.0, balance_volatility=None
    )
    assert row["primary_persona_id"] == 5
    crit = row["trace"]["evaluations"]["persona_5"]["criteria"]["balance_volatility"]
    assert crit["met"] is True and crit["value"] is None and crit["avg_daily_balance"] == -60.0


@pytest.mark.parametrize(
    "field", ["interest_charges_present", "minimum_payment_only", "is_overdue"]
)
def test_persona_1_flags_each_trigger_alone(assign_one: Assign, field: str) -> None:
    row = assign_one(max_utilization=None, **{field: True})
    assert row["primary_persona_id"] == 1
    assert row["primary_severity"] == 0.0  # max_utilization null -> severity 0


def test_thresholds_come_from_config(assign_one: Assign) -> None:
    config = PersonasConfig.model_validate(
        {"thresholds": {"persona_1": {"utilization_threshold": 0.70}}}
    )
    assert assign_one(max_utilization=0.68)["primary_persona_id"] == 1
    row = assign_one(config, max_utilization=0.68)
    assert row["status"] == "STABLE"
    crit = row["trace"]["evaluations"]["persona_1"]["criteria"]["max_utilization"]
    assert crit["threshold"] == 0.70 and crit["met"] is False


def test_seed_config_block_loads_as_is(seed_config: dict[str, Any]) -> None:
    seed_block = seed_config["personas"]
    config = PersonasConfig.model_validate(seed_block)
    assert config.windows == [30, 180]
    assert config.thresholds == PersonasConfig().thresholds
