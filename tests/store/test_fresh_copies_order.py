"""Copies written from the frames of several chunks (each chunk in key order, not the whole):
a run over them gives what a run over the read-back export (whole tables in key order) does."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from copies_check import assert_run_over_copies_matches_read_back

from spendsense.config import Settings
from spendsense.ledger.schema import PRIMARY_KEYS
from spendsense.services import ingest_into_store
from spendsense.store.ledger import LEDGER_DIR
from spendsense.synth import generate_population


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
    assert_run_over_copies_matches_read_back(data, tmp_path)
