"""The bulk converter maps generated Parquet parts exactly as ingest's normalisers do."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from spendsense.spark.convert import PLAID_TABLES, convert_synth, fast_part, normalise_part
from spendsense.store.ledger_dir import granted_users, read_ledger_dir
from spendsense.synth import generate_population


def test_fast_conversion_equals_ingest_normalisers(tmp_path: Path) -> None:
    generate_population(60, 3, tmp_path / "raw", fmt="parquet")
    part = tmp_path / "raw" / "parquet"
    files = {t: part / t / "part-00000.parquet" for t in PLAID_TABLES}
    fast, reference = fast_part(files), normalise_part(files)
    for table, frame in reference.items():
        assert_frame_equal(fast[table], frame, check_exact=True)
    assert reference["liabilities_credit"]["purchase_apr_pct"].null_count() == 0


def test_copies_rekey_users_and_read_back(tmp_path: Path) -> None:
    generate_population(30, 5, tmp_path / "raw", fmt="parquet")
    counts = convert_synth(tmp_path / "raw", tmp_path / "ledger", copies=3)
    ledger = read_ledger_dir(tmp_path / "ledger")
    users = ledger["users"].collect()
    assert users.height == counts["users"] == 90
    assert users["user_id"].n_unique() == 90
    tx = ledger["transactions"].collect()
    assert tx["transaction_id"].n_unique() == tx.height
    assert set(granted_users(ledger)) <= set(users["user_id"])
    assert tx.schema["amount_cents"] == pl.Int64
