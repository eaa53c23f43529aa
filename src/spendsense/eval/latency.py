"""Latency: the real per-user code path timed on a copy of the data, and batch throughput."""

from __future__ import annotations

import random
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from typing import Final

import polars as pl

from spendsense.config import Settings
from spendsense.eval.result import Metric, metric
from spendsense.pipeline import recompute_user
from spendsense.store.copy import copy_data_dir

P95_TARGET_S: Final = 5.0
SAMPLE_SEED: Final = 42


def sample_users(user_ids: list[str], k: int, seed: int = SAMPLE_SEED) -> list[str]:
    """A seeded sample of ``k`` users (all of them when there are fewer)."""
    ordered = sorted(user_ids)
    return ordered if len(ordered) <= k else sorted(random.Random(seed).sample(ordered, k))


def time_users(settings: Settings, user_ids: list[str], as_of: date | None) -> pl.DataFrame:
    """Seconds per user for ``pipeline.recompute_user`` on a temporary copy of the data dir."""
    rows: list[tuple[str, float | None, str | None]] = []
    with tempfile.TemporaryDirectory(prefix="spendsense-latency-") as tmp:
        copy = settings.model_copy(update={"data_dir": copy_data_dir(settings.data_dir, Path(tmp))})
        for user_id in user_ids:  # one call per user is the thing being measured
            start = time.perf_counter()
            try:
                recompute_user(copy, user_id, as_of)
                rows.append((user_id, time.perf_counter() - start, None))
            except Exception as exc:  # a failing user is reported, not hidden
                rows.append((user_id, None, f"{type(exc).__name__}: {exc}"))
    return pl.DataFrame(
        rows, schema={"user_id": pl.String, "seconds": pl.Float64, "error": pl.String}, orient="row"
    )


def batch_throughput(runs: pl.DataFrame) -> tuple[float | None, int, float | None]:
    """(users per second, users, seconds) of the newest pipeline run with timings."""
    if runs.height == 0 or "finished_at" not in runs.columns:
        return None, 0, None
    timed = runs.filter(pl.col("finished_at").is_not_null() & (pl.col("users").cast(pl.Int64) > 0))
    if timed.height == 0:
        return None, 0, None
    last = timed.sort("finished_at").tail(1).to_dicts()[0]
    seconds = (
        datetime.fromisoformat(str(last["finished_at"]))
        - datetime.fromisoformat(str(last["started_at"]))
    ).total_seconds()
    users = int(last["users"])
    return (users / seconds if seconds > 0 else None), users, seconds


def latency_metrics(timings: pl.DataFrame, runs: pl.DataFrame) -> list[Metric]:
    """p50 and p95 per-user seconds (target p95 < 5 s), failures, and batch users/s."""
    ok = timings.filter(pl.col("seconds").is_not_null())["seconds"]
    n = timings.height
    p50 = ok.quantile(0.5, "linear") if ok.len() else None
    p95 = ok.quantile(0.95, "linear") if ok.len() else None
    rate, users, seconds = batch_throughput(runs)
    note = "pipeline.recompute_user on a copy of the data dir"
    return [
        metric("latency", "per_user_p50", p50, unit="s", n=ok.len(), note=note),
        metric("latency", "per_user_p95", p95, target=P95_TARGET_S, op="<=", unit="s", n=ok.len(), note=note),
        metric("latency", "per_user_failures", float(n - ok.len()) if n else None, target=0, op="==", n=n),
        metric("latency", "batch_users_per_second", rate, n=users,
               note=f"newest pipeline_runs row: {users} users in {seconds:.1f} s" if seconds else "no timed pipeline run"),
    ]  # fmt: skip
