"""Builders for tiny feature frames: a neutral user matches nothing; tests override fields."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
import pytest

from spendsense.personas import PersonasConfig, assign_personas
from spendsense.personas.inputs import NEEDED
from spendsense.signals.schema import FEATURE_TABLES, KEY

AS_OF = date(2025, 11, 4)
COMPUTED_AT = datetime(2025, 11, 4, 12, 0, tzinfo=UTC)

NEUTRAL: dict[str, Any] = {
    "max_utilization": 0.10,
    "interest_charges_present": False,
    "minimum_payment_only": False,
    "is_overdue": False,
    "median_pay_gap_days": 14.0,
    "cash_flow_buffer_months": 3.0,
    "recurring_merchant_count": 1,
    "monthly_recurring_spend": 10.0,
    "subscription_share": 0.02,
    "growth_rate": 0.0,
    "net_inflow": 0.0,
    "net_inflow_monthly": 0.0,
    "savings_inflow_source": "savings_account",
    "pct_days_below_100": 0.0,
    "balance_std": 100.0,
    "avg_daily_balance": 2000.0,
    "balance_volatility": 0.05,
}


def features_from_rows(rows: list[dict[str, Any]]) -> dict[str, pl.DataFrame]:
    """Flat rows (key + any feature overrides, ``missing``: families to leave out) -> families."""
    full = []
    for row in rows:
        merged = {"user_id": "u1", "window_days": 30, "as_of_date": AS_OF, **NEUTRAL, **row}
        full.append(merged)
    out = {}
    for family, cols in NEEDED.items():
        schema = {c: FEATURE_TABLES[family][c] for c in (*KEY, *cols)}
        kept = [{c: r[c] for c in schema} for r in full if family not in r.get("missing", ())]
        out[family] = pl.DataFrame(kept, schema=schema)
    return out


def run(rows: list[dict[str, Any]], config: PersonasConfig | None = None) -> pl.DataFrame:
    """assign_personas over the given rows, default config."""
    return assign_personas(features_from_rows(rows), config or PersonasConfig(), COMPUTED_AT)


def one(config: PersonasConfig | None = None, **fields: Any) -> dict[str, Any]:
    """The single assignment row for one user, with the trace parsed."""
    out = run([fields], config)
    assert out.height == 1
    row = out.to_dicts()[0]
    row["trace"] = json.loads(row["assignment_trace"])
    return row


@pytest.fixture
def assign_one() -> Callable[..., dict[str, Any]]:
    """One user's assignment (fields override the neutral user)."""
    return one


@pytest.fixture
def assign_rows() -> Callable[..., pl.DataFrame]:
    """Assignments for several flat rows."""
    return run


@pytest.fixture
def make_features() -> Callable[[list[dict[str, Any]]], dict[str, pl.DataFrame]]:
    """Feature families from flat rows."""
    return features_from_rows
