"""Outputs written as Arrow (ADBC, scratch file, INSERT ... SELECT) store exactly what the
row-by-row path stores: the same rows, the same SQLite storage classes, reruns included."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

import spendsense.store.outputs as O
from spendsense.config import Settings
from spendsense.pipeline import run_pipeline
from spendsense.services import ingest_into_store
from spendsense.store.tables import OUTPUT_TABLES
from spendsense.synth import generate_population

AT = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bulk")
    generate_population(60, 3, root / "raw", fmt="plaid-json")
    data = root / "data"
    ingest_into_store(Settings(data_dir=data), [root / "raw" / "bundles"])
    return data


def _stored(data: Path) -> dict[str, list[tuple[object, ...]]]:
    conn = sqlite3.connect(data / "spendsense.db")
    out = {}
    for table in OUTPUT_TABLES:
        if table.name == "pipeline_runs":
            continue
        cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table.name})")]
        typed = ", ".join(f'"{c}", typeof("{c}")' for c in cols if c != "updated_at")
        out[table.name] = sorted(conn.execute(f"SELECT {typed} FROM {table.name}"), key=repr)
    return out


def _run(ingested: Path, tmp: Path, bulk_rows: int, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp / f"rows-{bulk_rows}"
    shutil.copytree(ingested, data)
    monkeypatch.setattr(O, "BULK_ROWS", bulk_rows)
    for _ in range(2):  # the rerun replaces what the first run stored
        run_pipeline(Settings(data_dir=data), log=lambda _: None, computed_at=AT)
    return data


def test_arrow_and_row_paths_store_the_same(
    ingested: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staged: list[str] = []
    real = O.bulk_sources

    def spy(conn, frames):  # type: ignore[no-untyped-def]
        staged.extend(t.name for t, f in frames.items() if f.height >= O.BULK_ROWS)
        return real(conn, frames)

    monkeypatch.setattr("spendsense.store.writer.bulk_sources", spy)
    rows = _stored(_run(ingested, tmp_path, 10**12, monkeypatch))
    assert staged == []
    arrow = _stored(_run(ingested, tmp_path, 1, monkeypatch))
    assert {"recommendations", "decision_traces", "persona_assignments"} <= set(staged)
    for table, stored in rows.items():
        assert stored, table
        assert arrow[table] == stored, table


def test_a_user_no_longer_granted_inside_the_transaction_is_dropped_from_the_staged_rows(
    ingested: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The re-check inside the write transaction reaches the rows staged as Arrow before it."""
    import spendsense.store.writer as W

    data = tmp_path / "late"
    shutil.copytree(ingested, data)
    monkeypatch.setattr(O, "BULK_ROWS", 1)
    real = W.granted_among
    calls: list[str] = []

    def late_revocation(conn, user_ids):  # type: ignore[no-untyped-def]
        granted = real(conn, user_ids)
        calls.append("check")
        if len(calls) == 2:  # the check inside the transaction, after staging
            return granted - {min(granted)}
        return granted

    monkeypatch.setattr(W, "granted_among", late_revocation)
    run_pipeline(Settings(data_dir=data), log=lambda _: None, computed_at=AT)
    assert len(calls) == 2
    conn = sqlite3.connect(data / "spendsense.db")
    first = conn.execute(
        "SELECT MIN(user_id) FROM users WHERE consent_status = 'granted'"
    ).fetchone()[0]
    for table in OUTPUT_TABLES:
        if table.name == "pipeline_runs":
            continue
        count = conn.execute(
            f"SELECT COUNT(*) FROM {table.name} WHERE user_id = ?", (first,)
        ).fetchone()[0]
        others = conn.execute(f"SELECT COUNT(*) FROM {table.name}").fetchone()[0]
        assert count == 0, table.name
        assert others > 0, table.name
