"""A Parquet ledger folder read chunk by chunk: the same rows as ``slice_users``, text as codes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from spendsense.config import Settings
from spendsense.ledger.schema import TABLES
from spendsense.signals.windows import TXN_CATEGORICAL
from spendsense.spark.convert import convert_synth
from spendsense.stages import compute_stages, slice_users
from spendsense.store.chunked import named_tables
from spendsense.store.ledger_dir import granted_users, read_chunk, read_ledger_dir
from spendsense.synth import generate_population

CATEGORICAL = {"transactions": TXN_CATEGORICAL}


def _transactions(users: int, per_user: int) -> pl.DataFrame:
    """Rows sorted by user, with some text missing (null merchant names)."""
    n = users * per_user
    return _canonical(
        "transactions",
        pl.DataFrame(
            {
                "transaction_id": [f"tx_{i:05d}" for i in range(n)],
                "account_id": [f"acc_{i // per_user:03d}" for i in range(n)],
                "user_id": [f"u_{i // per_user:03d}" for i in range(n)],
                "date": [date(2026, 1, 1 + i % 28) for i in range(n)],
                "amount_cents": list(range(n)),
                "merchant_name": [None if i % 3 else f"Shop {i % 7}" for i in range(n)],
                "name": [f"SHOP {i % 5}" for i in range(n)],
                "pfc_primary": ["FOOD_AND_DRINK"] * n,
            }
        ),
    )


def _canonical(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` in the table's canonical columns (the others null)."""
    return frame.select(
        (pl.col(c) if c in frame.columns else pl.lit(None)).cast(t).alias(c)
        for c, t in TABLES[table].items()
    )


def _as_text(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col(pl.Categorical).cast(pl.String))


def test_read_chunk_is_slice_users_with_categorical_text(tmp_path: Path) -> None:
    folder = tmp_path / "ledger"
    (folder / "transactions").mkdir(parents=True)
    txns = _transactions(30, 10)
    # Two files of several row groups each, so runs are cut and some groups skipped.
    txns.head(150).write_parquet(folder / "transactions" / "part-0.parquet", row_group_size=20)
    txns.tail(150).write_parquet(folder / "transactions" / "part-1.parquet", row_group_size=20)
    users = pl.DataFrame({"user_id": [f"u_{i:03d}" for i in range(30)]})
    _canonical("users", users).write_parquet(folder / "users.parquet")
    ledger = read_ledger_dir(folder)
    for chunk in (["u_004", "u_005", "u_009"], ["u_013", "u_017"], ["u_029"], []):
        got = read_chunk(folder, ledger, chunk, CATEGORICAL)
        want = slice_users(ledger, chunk)
        assert set(got) == set(want)
        tx = got["transactions"].lazy().collect()
        assert list(tx.columns) == list(TABLES["transactions"])
        for column in TXN_CATEGORICAL:
            assert isinstance(tx.schema[column], pl.Categorical)
        assert tx["pfc_detailed"].null_count() == tx.height
        for table in want:
            assert_frame_equal(_as_text(got[table].lazy().collect()), want[table])


@pytest.mark.slow
def test_stages_over_read_chunk_equal_stages_over_slice_users(tmp_path: Path) -> None:
    """The whole chain gives the same tables, value for value, from either reading."""
    generate_population(40, 9, tmp_path / "raw", fmt="parquet")
    convert_synth(tmp_path / "raw", tmp_path / "ledger")
    ledger = read_ledger_dir(tmp_path / "ledger")
    chunk = granted_users(ledger)
    settings = Settings(data_dir=tmp_path / "data")
    as_of, at = date(2026, 10, 31), datetime(2026, 11, 1, tzinfo=UTC)
    outputs = [
        named_tables(compute_stages(part, as_of, settings, at, traces=False))
        for part in (
            read_chunk(tmp_path / "ledger", ledger, chunk, CATEGORICAL),
            slice_users(ledger, chunk),
        )
    ]
    assert set(outputs[0]) == set(outputs[1])
    for name, frame in outputs[0].items():
        assert_frame_equal(frame, outputs[1][name])
