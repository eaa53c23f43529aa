"""End to end: features -> assignments -> SQLite + Parquet; multi-window; history across as-ofs."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from spendsense.personas import PersonasConfig, assign_personas
from spendsense.store.db import connect
from spendsense.store.outputs import merge_parquet
from spendsense.store.personas import (
    PARQUET_COLUMNS,
    persona_history,
    read_assignments,
    upsert_assignments,
)
from spendsense.store.tables import PERSONA_ASSIGNMENTS

Features = Callable[[list[dict[str, Any]]], dict[str, pl.DataFrame]]
LATER = date(2025, 12, 4)
HIGH_UTIL = {"max_utilization": 0.68, "interest_charges_present": True}
SAVER = {"growth_rate": 0.04, "max_utilization": 0.10}
STRESSED = {"pct_days_below_100": 0.5, "balance_std": 600.0, "avg_daily_balance": 500.0}


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    db = connect(tmp_path / "spendsense.db")
    db.executemany(
        "INSERT INTO users (user_id, consent_status) VALUES (?, 'granted')",
        [("u1",), ("u2",), ("u3",)],
    )
    return db


def _assign(make_features: Features, rows: list[dict[str, Any]], at: datetime) -> pl.DataFrame:
    return assign_personas(make_features(rows), PersonasConfig(), at)


def test_end_to_end_features_to_sqlite_and_parquet(
    make_features: Features, conn: sqlite3.Connection, tmp_path: Path
) -> None:
    rows = [
        {"user_id": "u1", **HIGH_UTIL},
        {"user_id": "u2", **SAVER},
        {"user_id": "u3"},
    ]
    out = _assign(make_features, rows, datetime(2025, 11, 4, 12, tzinfo=UTC))
    assert upsert_assignments(conn, out) == 3
    stored = read_assignments(conn)
    assert stored["primary_persona_id"].to_list() == [1, 4, None]
    assert stored["status"].to_list() == ["ASSIGNED", "ASSIGNED", "STABLE"]
    trace = json.loads(stored["assignment_trace"][0])
    assert trace["result"]["primary_persona_name"] == "High Utilization"
    assert stored.drop("assignment_trace", "computed_at", "as_of_date").equals(
        out.drop("assignment_trace", "computed_at", "as_of_date")
    )

    as_of = out["as_of_date"][0]
    path = merge_parquet(tmp_path / "features", PERSONA_ASSIGNMENTS, out, as_of=as_of)
    back = pl.read_parquet(path)
    assert tuple(back.columns) == PARQUET_COLUMNS
    assert "assignment_trace" not in back.columns
    assert back.height == 3
    out.write_parquet(tmp_path / "full.parquet")  # the whole frame, trace included
    assert pl.read_parquet(tmp_path / "full.parquet").equals(out)


def test_multi_window_gives_different_personas(make_features: Features) -> None:
    rows = [
        {"user_id": "u1", "window_days": 30, **STRESSED},
        {"user_id": "u1", "window_days": 180, **SAVER},
    ]
    out = _assign(make_features, rows, datetime(2025, 11, 4, tzinfo=UTC))
    by_window = dict(zip(out["window_days"], out["primary_persona_id"], strict=True))
    assert by_window == {30: 5, 180: 4}
    assert out["assignment_id"].n_unique() == 2


def test_rerun_same_as_of_replaces_and_new_as_of_accumulates(
    make_features: Features, conn: sqlite3.Connection
) -> None:
    first = _assign(make_features, [{"user_id": "u1", **SAVER}], datetime(2025, 11, 4, tzinfo=UTC))
    upsert_assignments(conn, first)
    rerun = _assign(
        make_features, [{"user_id": "u1", **HIGH_UTIL}], datetime(2025, 11, 5, tzinfo=UTC)
    )
    upsert_assignments(conn, rerun)
    stored = read_assignments(conn, user_id="u1")
    assert stored.height == 1 and stored["primary_persona_id"].to_list() == [1]

    later = _assign(
        make_features,
        [{"user_id": "u1", "as_of_date": LATER, **STRESSED}],
        datetime(2025, 12, 4, tzinfo=UTC),
    )
    upsert_assignments(conn, later)
    assert read_assignments(conn, user_id="u1").height == 2


def test_history_shows_transitions_per_window(
    make_features: Features, conn: sqlite3.Connection, tmp_path: Path
) -> None:
    parquet = tmp_path / "features" / "persona_assignments.parquet"
    for as_of, fields in ((date(2025, 11, 4), SAVER), (LATER, HIGH_UTIL)):
        rows = [
            {"user_id": "u1", "as_of_date": as_of, "window_days": 30, **fields},
            {"user_id": "u1", "as_of_date": as_of, "window_days": 180},
        ]
        out = _assign(make_features, rows, datetime(2025, 12, 4, tzinfo=UTC))
        upsert_assignments(conn, out)
        merge_parquet(parquet.parent, PERSONA_ASSIGNMENTS, out, as_of=as_of)
    history = persona_history(conn, "u1")
    assert history.height == 4
    w30 = history.filter(pl.col("window_days") == 30)
    assert w30["as_of_date"].to_list() == [date(2025, 11, 4), LATER]
    assert w30["transition"].to_list() == [
        "-> Savings Builder",
        "Savings Builder -> High Utilization",
    ]
    assert w30["changed"].to_list() == [None, True]
    assert w30["previous_primary_persona_id"].to_list() == [None, 4]
    w180 = history.filter(pl.col("window_days") == 180)
    assert w180["transition"].to_list() == ["-> STABLE", "STABLE -> STABLE"]
    assert w180["changed"].to_list() == [None, False]
    assert pl.read_parquet(parquet).height == 4
    assert persona_history(conn, "nobody").height == 0


def test_stage_and_repository_agree_on_columns(make_features: Features) -> None:
    from spendsense.personas import ASSIGNMENT_COLUMNS as STAGE_COLUMNS
    from spendsense.store.personas import ASSIGNMENT_COLUMNS as STORE_COLUMNS

    out = _assign(make_features, [{"user_id": "u1"}], datetime(2025, 11, 4, tzinfo=UTC))
    assert tuple(out.columns) == STAGE_COLUMNS == STORE_COLUMNS
