"""Spark (local[2]) and the Parquet-ledger path give the embedded engine's outputs, row for row."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from spendsense.config import Settings
from spendsense.pipeline import run_pipeline, run_pipeline_parquet
from spendsense.services import ingest_into_store
from spendsense.store.tables import OUTPUT_TABLES
from spendsense.synth import generate_population

pytestmark = pytest.mark.spark

COMPUTED_AT = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
OUTPUTS = tuple(t.parquet for t in OUTPUT_TABLES if t.parquet)


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """1,000 generated users: generate -> ingest -> embedded run (which exports the ledger)."""
    root = tmp_path_factory.mktemp("parity")
    generate_population(1000, 11, root / "raw", fmt="parquet")
    settings = Settings(data_dir=root / "embedded", chunk_users=400)
    ingest_into_store(settings, [root / "raw" / "parquet"])
    run_pipeline(settings, computed_at=COMPUTED_AT, log=lambda _: None)
    return settings


@pytest.fixture
def assert_same_outputs(
    assert_same_rows: Callable[[pl.DataFrame, pl.DataFrame, str], None],
) -> Callable[[Path, Path], None]:
    """Every output table of two data folders holds the same rows."""

    def check(left: Path, right: Path) -> None:
        for name in OUTPUTS:
            a = pl.read_parquet(left / "features" / f"{name}.parquet")
            b = pl.read_parquet(right / "features" / f"{name}.parquet")
            assert_same_rows(a, b, name)

    return check


def test_parquet_ledger_path_matches_embedded(
    embedded: Settings, tmp_path: Path, assert_same_outputs: Callable[[Path, Path], None]
) -> None:
    other = Settings(data_dir=tmp_path, chunk_users=300)
    summary = run_pipeline_parquet(
        other, embedded.data_dir / "ledger", computed_at=COMPUTED_AT, log=lambda _: None
    )
    assert summary.users > 900
    assert {"signals", "personas", "recommendations"} <= set(summary.timings)
    assert_same_outputs(embedded.data_dir, tmp_path)


def test_spark_engine_matches_embedded(
    embedded: Settings, tmp_path: Path, assert_same_outputs: Callable[[Path, Path], None]
) -> None:
    pytest.importorskip("pyspark")
    pytest.importorskip("pandas", reason="PySpark's mapInArrow imports pandas (pyspark[sql])")
    from spendsense.spark.job import run_with_spark

    data = tmp_path / "spark"
    data.mkdir()
    shutil.copy(embedded.db_path, data / "spendsense.db")
    shutil.copytree(embedded.data_dir / "ledger", data / "ledger")
    settings = Settings(data_dir=data, chunk_users=200)  # several chunks per partition
    summary = run_with_spark(settings, master="local[2]", computed_at=COMPUTED_AT)
    assert summary.users > 900
    assert_same_outputs(embedded.data_dir, data)
    # The SQLite store got the same rows too (assignments with traces, recommendations).
    for table in ("persona_assignments", "recommendations", "feature_credit"):
        query = f"SELECT * FROM {table} ORDER BY 1, 2, 3, 4"
        with sqlite3.connect(embedded.db_path) as a, sqlite3.connect(data / "spendsense.db") as b:
            assert a.execute(query).fetchall() == b.execute(query).fetchall(), table
