"""Benchmark assign_personas (trace JSON included) on random features: 100k users × 2 windows."""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl

from spendsense.personas import PersonasConfig, assign_personas

RESULTS = Path(__file__).parent / "results" / "personas.json"


def random_features(
    n_users: int, windows: tuple[int, ...], seed: int = 42
) -> dict[str, pl.DataFrame]:
    """Random feature frames shaped like the signal stage's output."""
    rng = np.random.default_rng(seed)
    users = [f"u_{i:07d}" for i in range(n_users)]
    n = n_users * len(windows)
    key = {
        "user_id": users * len(windows),
        "window_days": np.repeat(np.array(windows, dtype=np.int32), n_users),
        "as_of_date": [date(2025, 11, 4)] * n,
    }
    util = rng.uniform(0, 1.2, n)
    util_null = rng.random(n) < 0.25
    return {
        "credit": pl.DataFrame(
            {
                **key,
                "max_utilization": pl.Series(util).set(pl.Series(util_null), None),
                "interest_charges_present": rng.random(n) < 0.2,
                "minimum_payment_only": rng.random(n) < 0.1,
                "is_overdue": rng.random(n) < 0.05,
            }
        ),
        "income": pl.DataFrame(
            {
                **key,
                "median_pay_gap_days": rng.choice([7.0, 14.0, 15.0, 30.0, 50.0, 60.0], n),
                "cash_flow_buffer_months": rng.uniform(0, 4, n),
            }
        ),
        "subscriptions": pl.DataFrame(
            {
                **key,
                "recurring_merchant_count": rng.integers(0, 8, n).astype(np.int32),
                "monthly_recurring_spend": rng.uniform(0, 200, n),
                "subscription_share": rng.uniform(0, 0.3, n),
            }
        ),
        "savings": pl.DataFrame(
            {
                **key,
                "growth_rate": rng.normal(0.01, 0.03, n),
                "net_inflow": rng.normal(100, 300, n),
                "net_inflow_monthly": rng.normal(100, 300, n),
            }
        ),
        "cash_flow": pl.DataFrame(
            {
                **key,
                "pct_days_below_100": rng.uniform(0, 1, n),
                "balance_std": rng.uniform(0, 3000, n),
                "avg_daily_balance": rng.normal(1500, 1500, n),
                "balance_volatility": rng.uniform(0, 2, n),
            }
        ),
    }


def main() -> None:
    """Time assign_personas a few times and write the best and median to bench/results."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    features = random_features(args.users, (30, 180))
    config = PersonasConfig()
    computed_at = datetime(2025, 11, 4, tzinfo=UTC)
    assign_personas(features, config, computed_at)  # warm-up
    times, cpu = [], []
    load_before = os.getloadavg()[0]
    for _ in range(args.repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        out = assign_personas(features, config, computed_at)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    trace_bytes = int(out["assignment_trace"].str.len_bytes().mean() or 0)
    result = {
        "users": args.users,
        "windows": [30, 180],
        "rows": out.height,
        "best_s": round(min(times), 3),
        "median_s": round(float(np.median(times)), 3),
        "runs": len(times),
        "median_cpu_s": round(float(np.median(cpu)), 3),
        "load_avg_1m_before": round(load_before, 2),
        "rows_per_s": round(out.height / min(times)),
        "mean_trace_bytes": trace_bytes,
        "status_counts": dict(out["status"].value_counts().iter_rows()),
        "polars": pl.__version__,
        "python": platform.python_version(),
        "cpus": pl.thread_pool_size(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
