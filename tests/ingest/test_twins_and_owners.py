"""Pending twins and duplicates across users and chunks, into an empty ledger and a stored one."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from ingest_helpers import account, bundle, txn, write

import spendsense.store.ledger as ledger
from spendsense.config import Settings
from spendsense.ledger.schema import PRIMARY_KEYS, TABLES
from spendsense.services import ingest_into_store
from spendsense.store.db import connect
from spendsense.store.ledger import LEDGER_DIR, read_table


def _copies(data: Path) -> dict[str, pl.DataFrame]:
    folder = data / LEDGER_DIR
    return {t: pl.read_parquet(folder / f"{t}.parquet").sort(PRIMARY_KEYS[t]) for t in TABLES}


def _twins(folder: Path) -> Path:
    """u1 holds a pending p1; u2's posted t2 names p1 as its pending twin (u1's, not u2's)."""
    folder.mkdir()
    write(
        folder / "u1.json",
        bundle("u1", accounts=[account("a1")], transactions=[txn("p1", "a1", pending=True)]),
    )
    posted = txn("t2", "a2", pending=False, pending_transaction_id="p1")
    write(folder / "u2.json", bundle("u2", accounts=[account("a2")], transactions=[posted]))
    return folder


@pytest.mark.parametrize("chunk_files", [None, 1])
def test_a_posted_twin_never_deletes_another_users_pending(
    tmp_path: Path, chunk_files: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user's posted transaction replaces only that user's pending twin: u2's bundle must
    not take u1's transaction out of the ledger nor out of the Parquet copies written from
    the frames (an empty ledger: nothing read back)."""
    exports: list[Path] = []
    real = ledger.export_parquet
    monkeypatch.setattr(ledger, "export_parquet", lambda c, d: exports.append(d) or real(c, d))
    data = tmp_path / "data"
    ingest_into_store(Settings(data_dir=data), [_twins(tmp_path / "raw")], chunk_files=chunk_files)
    ids = read_table(connect(data / "spendsense.db"), "transactions")["transaction_id"]
    assert sorted(ids.to_list()) == ["p1", "t2"]
    assert sorted(_copies(data)["transactions"]["transaction_id"].to_list()) == ["p1", "t2"]
    assert exports == []  # the copies came from the frames and hold what the ledger holds


def test_a_posted_twin_never_deletes_another_users_stored_pending(tmp_path: Path) -> None:
    """The same into a stored ledger (the upsert path): u1's p1 is stored, then u1 and u2
    load together."""
    raw = _twins(tmp_path / "raw")
    first = tmp_path / "first"
    first.mkdir()
    (first / "u1.json").write_text((raw / "u1.json").read_text())
    settings = Settings(data_dir=tmp_path / "data")
    ingest_into_store(settings, [first])
    ingest_into_store(settings, [raw])
    ids = read_table(connect(settings.db_path), "transactions")["transaction_id"]
    assert sorted(ids.to_list()) == ["p1", "t2"]
