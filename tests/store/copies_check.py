"""One check for the Parquet copies an empty-ledger load writes from its frames: a run over
them gives the same outputs, every output table, as a run over copies read back from SQLite."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from spendsense.config import Settings
from spendsense.ledger.schema import TABLES
from spendsense.pipeline import run_pipeline
from spendsense.store.db import connect
from spendsense.store.ledger import export_parquet

AT = datetime(2026, 11, 1, tzinfo=UTC)
SKIP = {*TABLES, "ingest_runs", "audit_log", "schema_version", "sqlite_sequence"}


def outputs(db: Path) -> dict[str, list[tuple[object, ...]]]:
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


def assert_run_over_copies_matches_read_back(data: Path, scratch: Path) -> None:
    """Run over ``data`` as loaded, and over a copy of it whose Parquet ledger is exported
    from SQLite again: every output table is the same (and not empty)."""
    other = scratch / "read-back"
    shutil.copytree(data, other)
    export_parquet(connect(other / "spendsense.db"), other, full=True)
    results = []
    for folder in (data, other):
        run_pipeline(Settings(data_dir=folder), log=lambda _: None, computed_at=AT)
        results.append(outputs(folder / "spendsense.db"))
    assert results[0].keys() == results[1].keys()
    assert results[0]["recommendations"] and results[0]["feature_recurring_streams"]
    for table in results[0]:
        assert results[0][table] == results[1][table], table
