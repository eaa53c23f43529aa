"""Latency runs the per-user path on a copy of the data dir, never on the original."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from spendsense.config import Settings
from spendsense.eval import latency
from spendsense.store.db import connect


def test_percentiles_and_target_failure() -> None:
    timings = pl.DataFrame(
        {"user_id": [f"u{i}" for i in range(20)], "seconds": [float(i) for i in range(20)],
         "error": [None] * 20},
        schema={"user_id": pl.String, "seconds": pl.Float64, "error": pl.String},
    )  # fmt: skip
    runs = pl.DataFrame(
        {"started_at": ["2025-07-01T00:00:00+00:00"], "finished_at": ["2025-07-01T00:00:04+00:00"],
         "users": [100]}
    )  # fmt: skip
    got = {m.name: m for m in latency.latency_metrics(timings, runs)}
    assert got["per_user_p50"].value == pytest.approx(9.5)
    assert got["per_user_p95"].value == pytest.approx(18.05)
    assert got["per_user_p95"].passed is False  # 18 s > 5 s target
    assert got["batch_users_per_second"].value == 25.0


def test_time_users_uses_a_copy(
    populated: tuple[Settings, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, _ = populated
    seen: list[Path] = []

    def fake(copy: Settings, user_id: str, as_of: date | None = None) -> None:
        seen.append(copy.data_dir)
        conn = connect(copy.db_path)
        conn.execute("DELETE FROM persona_assignments WHERE user_id = ?", (user_id,))
        if user_id == "u2":
            raise RuntimeError("boom")

    monkeypatch.setattr(latency, "recompute_user", fake)
    timings = latency.time_users(settings, ["u1", "u2"], None)
    assert seen and all(p != settings.data_dir for p in seen)
    assert timings["error"].to_list() == [None, "RuntimeError: boom"]
    rows = connect(settings.db_path).execute("SELECT COUNT(*) FROM persona_assignments").fetchone()
    assert rows[0] == 6  # the original is untouched


def test_sample_is_seeded() -> None:
    ids = [f"u{i}" for i in range(100)]
    assert latency.sample_users(ids, 5) == latency.sample_users(ids, 5)
    assert latency.sample_users(ids[:3], 5) == ids[:3]
