"""Copies written from the frames of several chunks (each chunk in key order, not the whole):
a run over them gives what a run over the read-back export (whole tables in key order) does."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from spendsense.config import Settings
from spendsense.ledger.schema import PRIMARY_KEYS, TABLES
from spendsense.pipeline import run_pipeline
from spendsense.services import ingest_into_store
from spendsense.store.db import connect
from spendsense.store.ledger import LEDGER_DIR, export_parquet
from spendsense.synth import generate_population

AT = datetime(2026, 11, 1, tzinfo=UTC)
SKIP = {*TABLES, "ingest_runs", "audit_log", "schema_version", "sqlite_sequence"}


def _outputs(db: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every output table's rows, without columns that hold the time of the run."""
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        out = {}
        for table in sorted(set(tables) - SKIP):
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            kept = [c for c in cols if not c.endswith(("_at", "run_id")) and c != "id"]
            names = ", ".join(f'"{c}"' for c in kept)
            rows = conn.execute(f"SELECT {names} FROM {table}").fetchall()
            out[table] = sorted(rows, key=repr)
    return out


@pytest.mark.slow
def test_a_run_over_copies_of_many_chunks_matches_a_run_over_the_read_back(
    tmp_path: Path,
) -> None:
    generate_population(30, 5, tmp_path / "raw", fmt="plaid-json")
    bundles = tmp_path / "raw" / "bundles"
    # a later chunk adds the first user transactions whose ids sort before all others
    first = json.loads(next(bundles.rglob("u_0000001.json")).read_text())
    later = bundles / "zz"
    later.mkdir()
    added = [
        dict(t, transaction_id=f"0_late_{i}", date="2026-10-2" + str(i))
        for i, t in enumerate(first["transactions"][:5])
    ]
    (later / "u_0000001.sync.json").write_text(json.dumps({"added": added}))
    data = tmp_path / "copies"
    ingest_into_store(Settings(data_dir=data), [bundles], chunk_files=4)
    copies = pl.read_parquet(data / LEDGER_DIR / "transactions.parquet")
    key = list(PRIMARY_KEYS["transactions"])
    assert not copies.equals(copies.sort(key)), "the copy is not in key order as a whole"
    other = tmp_path / "read-back"
    shutil.copytree(data, other)
    export_parquet(connect(other / "spendsense.db"), other)
    results = []
    for folder in (data, other):
        run_pipeline(Settings(data_dir=folder), log=lambda _: None, computed_at=AT)
        results.append(_outputs(folder / "spendsense.db"))
    assert results[0].keys() == results[1].keys()
    assert results[0]["recommendations"] and results[0]["feature_recurring_streams"]
    for table in results[0]:
        assert results[0][table] == results[1][table], table
