"""Benchmark recommend(): 10k and 100k users x 2 windows in one call, and one user on demand
(p50/p95 of 200 calls on a warm catalog). Wall and CPU time, each measured twice.

Run: .venv/bin/python bench/bench_recommend.py [--users 10000,100000] [--calls 200]
Writes bench/results/recommend.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import polars as pl

from spendsense.recommend.catalog import Catalog, load_catalog
from spendsense.recommend.engine import recommend
from spendsense.recommend.verify import verify_rationales
from spendsense.signals.schema import FEATURE_TABLES

AS_OF = date(2025, 11, 4)
T = TypeVar("T")
NAMES = {1: "High Utilization", 2: "Variable Income Budgeter", 3: "Subscription-Heavy",
         4: "Savings Builder", 5: "Cash Flow Stressed"}  # fmt: skip


def synth(
    n_users: int, windows: tuple[int, ...] = (30, 180), seed: int = 7
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame, pl.DataFrame]:
    """Seeded synthetic feature tables, assignments and users (vectorised, no per-user loops)."""
    rng = np.random.default_rng(seed)
    uid = np.array([f"u_{i:07d}" for i in range(n_users)])
    n = n_users * len(windows)
    key = {
        "user_id": np.tile(uid, len(windows)),
        "window_days": np.repeat(np.array(windows, dtype=np.int32), n_users),
        "as_of_date": [AS_OF] * n,
    }
    util = np.where(rng.random(n) < 0.2, np.nan, rng.beta(2, 3, n))
    limit = rng.choice([1000.0, 2500.0, 5000.0, 10000.0], n)
    expenses = rng.uniform(800, 6000, n).round(2)
    sav_bal = np.where(rng.random(n) < 0.3, 0.0, rng.gamma(2, 3000, n)).round(2)
    sub_count = rng.poisson(3, n).astype(np.int32)
    sub_monthly = (sub_count * rng.uniform(5, 25, n)).round(2)
    spend = rng.uniform(500, 6000, n).round(2)
    t = {
        "subscriptions": {**key, "recurring_merchant_count": sub_count, "monthly_recurring_spend": sub_monthly,
                          "subscription_spend": sub_monthly, "total_spend": spend,
                          "subscription_share": (sub_monthly / spend).round(4)},
        "savings": {**key, "has_savings_account": sav_bal > 0, "savings_balance": sav_bal,
                    "savings_balance_start": (sav_bal * 0.97).round(2), "net_inflow": rng.normal(150, 200, n).round(2),
                    "net_inflow_monthly": rng.normal(150, 200, n).round(2), "growth_rate": rng.normal(0.02, 0.03, n).round(4),
                    "avg_monthly_expenses": expenses, "emergency_fund_months": (sav_bal / expenses).round(3)},
        "credit": {**key, "card_count": np.where(np.isnan(util), 0, rng.integers(1, 4, n)).astype(np.int32),
                   "max_utilization": util, "total_card_balance": np.nan_to_num(util * limit).round(2),
                   "total_card_limit": limit, "utilization_flag_30": util >= 0.3, "utilization_flag_50": util >= 0.5,
                   "utilization_flag_80": util >= 0.8, "minimum_payment_only": rng.random(n) < 0.15,
                   "interest_charges_present": rng.random(n) < 0.35,
                   "interest_charges_monthly": rng.uniform(0, 150, n).round(2), "is_overdue": rng.random(n) < 0.05},
        "credit_cards": {**key, "account_id": np.char.add(key["user_id"], "_c"), "card_name": rng.choice(["Visa", "Mastercard", "Amex"], n),
                         "mask": np.char.zfill(rng.integers(0, 10000, n).astype(str), 4), "balance": np.nan_to_num(util * limit).round(2),
                         "limit": limit, "utilization": util, "minimum_payment": rng.uniform(25, 200, n).round(2),
                         "interest_charges_monthly": rng.uniform(0, 150, n).round(2), "is_overdue": rng.random(n) < 0.05},
        "income": {**key, "income_total": rng.uniform(1000, 9000, n).round(2), "avg_monthly_income": rng.uniform(800, 9000, n).round(2),
                   "payroll_deposit_count": rng.integers(1, 13, n).astype(np.int32),
                   "pay_frequency": rng.choice(["biweekly", "monthly", "irregular", "weekly"], n),
                   "median_pay_gap_days": rng.uniform(7, 70, n).round(1), "pay_gap_cv": rng.uniform(0, 1, n).round(3),
                   "has_gig_income": rng.random(n) < 0.15, "cash_flow_buffer_months": rng.gamma(1.2, 1, n).round(3)},
        "cash_flow": {**key, "days_observed": key["window_days"], "avg_daily_balance": rng.normal(2500, 2000, n).round(2),
                      "min_daily_balance": rng.normal(200, 400, n).round(2), "pct_days_below_100": rng.beta(1, 4, n).round(3),
                      "balance_std": rng.gamma(2, 500, n).round(2), "balance_volatility": rng.gamma(2, 0.4, n).round(3)},
        "recurring_streams": {**key, "stream_id": np.char.add(key["user_id"], "_s"), "direction": ["outflow"] * n,
                              "merchant_name": rng.choice(["Netflix", "Spotify", "Gym Co", "Cloud Storage"], n),
                              "category": ["ENTERTAINMENT"] * n, "frequency": ["MONTHLY"] * n,
                              "average_amount": rng.uniform(5, 60, n).round(2), "last_amount": rng.uniform(5, 60, n).round(2),
                              "first_date": [None] * n, "last_date": [None] * n, "predicted_next_date": [None] * n,
                              "status": ["MATURE"] * n, "transaction_count": np.full(n, 6, np.int32),
                              "monthly_amount": rng.uniform(5, 60, n).round(2), "is_subscription": np.ones(n, bool)},
    }  # fmt: skip
    features = {
        name: pl.DataFrame(cols, schema=FEATURE_TABLES[name], nan_to_null=True)
        for name, cols in t.items()
    }
    primary = rng.choice([0, 1, 2, 3, 4, 5], n, p=[0.2, 0.25, 0.15, 0.15, 0.1, 0.15])
    secondary = np.where((primary > 0) & (rng.random(n) < 0.5), rng.integers(1, 6, n), 0)
    secondary = np.where(secondary == primary, 0, secondary)
    assignments = pl.DataFrame({
        "user_id": key["user_id"], "window_days": key["window_days"], "as_of_date": key["as_of_date"],
        "primary_persona_id": primary, "secondary_persona_id": secondary,
    }).with_columns(
        pl.col("primary_persona_id").replace(0, None).cast(pl.Int32),
        pl.col("secondary_persona_id").replace(0, None).cast(pl.Int32),
    ).with_columns(
        pl.col("primary_persona_id").replace_strict(NAMES, default=None).alias("primary_persona_name"),
        pl.col("secondary_persona_id").replace_strict(NAMES, default=None).alias("secondary_persona_name"),
        pl.when(pl.col("primary_persona_id").is_null()).then(pl.lit("STABLE")).otherwise(pl.lit("ASSIGNED")).alias("status"),
        pl.lit(0.5).alias("primary_severity"), pl.lit(0.3).alias("secondary_severity"),
    )  # fmt: skip
    users = pl.DataFrame({
        "user_id": uid, "consent_status": np.where(rng.random(n_users) < 0.95, "granted", "none"),
        "age_band": rng.choice(["18-24", "25-34", "35-44", "45-54", "55-64", "65+"], n_users),
    })  # fmt: skip
    return features, assignments, users


def _timed(fn: Callable[[], T]) -> tuple[T, float, float]:
    """(result, wall seconds, CPU seconds of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def batch(n_users: int, catalog: Catalog, kwargs: dict[str, Any]) -> dict[str, Any]:
    """One population of ``n_users`` x 2 windows in one call, twice (wall and CPU each time)."""
    features, assignments, users = synth(n_users)
    runs = []
    for _ in range(2):
        result, wall, cpu = _timed(
            lambda: recommend(features, assignments, users, catalog, **kwargs)
        )
        runs.append({"wall_seconds": round(wall, 2), "cpu_seconds": round(cpu, 2)})
    mismatches, verify_s, _ = _timed(
        lambda: verify_rationales(result.recommendations, features, catalog)
    )
    recs = result.recommendations
    per_group = recs.group_by("user_id", "window_days", "kind").len()
    return {
        "users": n_users,
        "user_windows_consented": int(
            recs.select(pl.struct("user_id", "window_days").n_unique()).item()
        ),
        "runs": runs,
        "recommendations": recs.height,
        "exclusions": result.exclusions.height,
        "shortfalls": result.shortfalls.height,
        "items_per_group": {
            k: per_group.filter(pl.col("kind") == k)["len"].value_counts().sort("len").rows()
            for k in ("education", "offer")
        },
        "verify_seconds": round(verify_s, 2),
        "rationale_mismatches": len(mismatches),
    }


def one_user(n_calls: int, catalog: Catalog, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The on-demand path: one user's frames per call (as the API), on a warm catalog."""
    features, assignments, users = synth(max(n_calls, 1000))
    calls = []
    for uid in users["user_id"].head(n_calls).to_list():
        f1 = {k: v.filter(pl.col("user_id") == uid) for k, v in features.items()}
        calls.append(
            (
                f1,
                assignments.filter(pl.col("user_id") == uid),
                users.filter(pl.col("user_id") == uid),
            )
        )
    recommend(*calls[0], catalog, **kwargs)  # warm: the catalog builds its plan once
    out: dict[str, Any] = {"calls": n_calls}
    for run in (1, 2):
        wall = []
        cpu = time.process_time()
        for f1, a1, u1 in calls:
            _, seconds, _ = _timed(lambda: recommend(f1, a1, u1, catalog, **kwargs))  # noqa: B023
            wall.append(seconds * 1000)
        out[f"run{run}"] = {
            "p50_ms": round(float(np.percentile(wall, 50)), 2),
            "p95_ms": round(float(np.percentile(wall, 95)), 2),
            "cpu_ms_per_call": round((time.process_time() - cpu) / n_calls * 1000, 2),
        }
    return out


def main() -> None:
    """Run both measurements and write the JSON result."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", default="10000,100000", help="Comma-separated batch sizes.")
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    catalog = load_catalog()
    kwargs: dict[str, Any] = {
        "as_of": AS_OF, "generated_at": datetime(2025, 11, 4, 12), "config_version": "bench"
    }  # fmt: skip
    out = {
        "windows": [30, 180],
        "batch_target_seconds": 20,
        "batches": [batch(int(n), catalog, kwargs) for n in args.users.split(",")],
        "one_user": one_user(args.calls, catalog, kwargs),
        "one_user_target_p95_ms": 50,
        "catalog_version": catalog.version,
        "machine": {
            "python": platform.python_version(),
            "polars": pl.__version__,
            "cpus": 2,
            "note": "shared 2-core machine with other jobs running; CPU seconds are this process's",
        },
    }
    path = Path(__file__).parent / "results" / "recommend.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
