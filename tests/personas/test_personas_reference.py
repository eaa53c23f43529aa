"""The whole-table implementation agrees with a per-user reference of the seed's algorithm."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from typing import Any

import polars as pl

from spendsense.personas import PersonasConfig, assign_personas
from spendsense.personas.metadata import PERSONA_METADATA, PRIORITY_RANK

T = PersonasConfig().thresholds


def _reference(f: dict[str, Any], comparison: str) -> tuple[int | None, int | None]:
    """The seed's assign_personas for one user, written the slow, obvious way."""
    util = f["max_utilization"]
    matched: list[tuple[int, float, float]] = []  # (id, severity, at-threshold severity)
    if (
        (util is not None and util >= T.persona_1.utilization_threshold)
        or f["interest_charges_present"]
        or f["minimum_payment_only"]
        or f["is_overdue"]
    ):
        matched.append((1, util or 0.0, T.persona_1.utilization_threshold))
    gap, buf = f["median_pay_gap_days"], f["cash_flow_buffer_months"]
    if gap is not None and buf is not None and gap > 45 and buf < 1.0:
        matched.append((2, gap / 45.0, 1.0))
    if f["recurring_merchant_count"] >= 3 and (
        f["monthly_recurring_spend"] >= 50.0 or f["subscription_share"] >= 0.10
    ):
        matched.append((3, f["subscription_share"], 0.10))
    if (f["growth_rate"] >= 0.02 or f["net_inflow_monthly"] >= 200.0) and (
        util is None or util < 0.30
    ):
        matched.append((4, f["growth_rate"], 0.02))
    if f["pct_days_below_100"] >= 0.30 and f["balance_std"] > f["avg_daily_balance"]:
        matched.append((5, f["pct_days_below_100"], 0.30))

    def key(m: tuple[int, float, float]) -> tuple[int, float, int]:
        score = m[1] / m[2] if comparison == "threshold_ratio" else m[1]
        return (PRIORITY_RANK[PERSONA_METADATA[m[0]]["priority"]], -round(score, 9), m[0])

    matched.sort(key=key)
    ids = [m[0] for m in matched] + [None, None]
    return ids[0], ids[1]


def _random_rows(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        rows.append(
            {
                "user_id": f"u{i:04d}",
                "max_utilization": None if rng.random() < 0.3 else rng.choice([0.1, 0.3, 0.5, 0.7]),
                "interest_charges_present": rng.random() < 0.15,
                "minimum_payment_only": rng.random() < 0.1,
                "is_overdue": rng.random() < 0.05,
                "median_pay_gap_days": rng.choice([None, 14.0, 45.0, 60.0, 90.0]),
                "cash_flow_buffer_months": rng.choice([0.5, 1.0, 2.0]),
                "recurring_merchant_count": rng.randint(0, 6),
                "monthly_recurring_spend": rng.choice([20.0, 50.0, 80.0]),
                "subscription_share": rng.choice([0.05, 0.10, 0.20]),
                "growth_rate": rng.choice([0.0, 0.02, 0.04]),
                "net_inflow_monthly": rng.choice([0.0, 200.0, 400.0]),
                "pct_days_below_100": rng.choice([0.1, 0.3, 0.45, 0.6, 0.9]),
                "balance_std": rng.choice([100.0, 500.0, 900.0]),
                "avg_daily_balance": rng.choice([-50.0, 500.0, 2000.0]),
            }
        )
    return rows


def _frames(rows: list[dict[str, Any]]) -> dict[str, pl.DataFrame]:
    frame = pl.DataFrame(rows, infer_schema_length=None).with_columns(
        window_days=pl.lit(30), as_of_date=pl.lit(date(2025, 11, 4))
    )  # plain Int64 window_days: the stage casts to the schema
    key = ["user_id", "window_days", "as_of_date"]
    return {
        "credit": frame.select(
            *key,
            "max_utilization",
            "interest_charges_present",
            "minimum_payment_only",
            "is_overdue",
        ),
        "income": frame.select(*key, "median_pay_gap_days", "cash_flow_buffer_months"),
        "subscriptions": frame.select(
            *key, "recurring_merchant_count", "monthly_recurring_spend", "subscription_share"
        ),
        "savings": frame.select(*key, "growth_rate", "net_inflow_monthly"),
        "cash_flow": frame.select(*key, "pct_days_below_100", "balance_std", "avg_daily_balance"),
    }


def test_matches_reference_on_random_users() -> None:
    rows = _random_rows(600, seed=3)
    for comparison in ("threshold_ratio", "raw"):
        config = PersonasConfig(severity_comparison=comparison)  # type: ignore[arg-type]
        out = assign_personas(_frames(rows), config, datetime(2025, 11, 4, tzinfo=UTC))
        got = list(zip(out["primary_persona_id"], out["secondary_persona_id"], strict=True))
        want = [_reference(r, comparison) for r in rows]
        assert got == want, comparison
        assert set(out["status"]) == {"ASSIGNED", "STABLE"}
