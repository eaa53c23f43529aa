"""Pending twins and duplicates across users and chunks, into an empty ledger and a stored one."""

from __future__ import annotations

import json
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


def _ledger(data: Path) -> dict[str, pl.DataFrame]:
    conn = connect(data / "spendsense.db")
    return {t: read_table(conn, t) for t in TABLES}


DUPLICATE = "duplicate {} '{}' (first occurrence kept)"


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


def _across_chunks(folder: Path) -> Path:
    """One file a chunk (``chunk_files=1``): u1's bundle (t1, pending p1, card c1 and its
    liability); u1's sync page repeating t1 and posting p1's twin t5; u1's liabilities
    response repeating c1's; u2's bundle reusing t1 and naming p1 as its own twin."""
    folder.mkdir()
    credit = {"account_id": "c1", "aprs": [], "is_overdue": False, "last_payment_amount": 5}
    accounts = [account("a1"), account("c1", type="credit", subtype="credit card")]
    u1 = bundle(
        "u1",
        accounts=accounts,
        transactions=[txn("t1"), txn("p1", pending=True)],
        liabilities={"credit": [credit]},
    )
    write(folder / "u1.json", u1)
    posted = txn("t5", pending=False, pending_transaction_id="p1")
    write(folder / "u1.later.json", {"added": [txn("t1", amount=99.0), posted]})
    write(folder / "u1.liab.json", {"liabilities": {"credit": [dict(credit, is_overdue=True)]}})
    theirs = [txn("t1", "a2"), txn("t6", "a2", pending=False, pending_transaction_id="p1")]
    write(folder / "u2.json", bundle("u2", accounts=[account("a2")], transactions=theirs))
    return folder


def _quarantined(path: Path | None) -> list[tuple[str, str, str, str]]:
    assert path is not None
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return sorted((Path(r["file"]).name, r["position"], r["table"], r["reason"]) for r in rows)


@pytest.mark.slow
def test_chunks_and_paths_agree_on_ledger_copies_and_rejects_and_reruns_change_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One chunk or one file a chunk, into an empty ledger (rows as staged, copies from the
    frames) or through the upsert path (copies read back): the same ledger, the same
    Parquet copies row for row, the same rejects with file and position; a rerun of the
    same input changes no row."""
    raw = _across_chunks(tmp_path / "raw")
    results = []
    for fresh in (True, False):
        if not fresh:  # the upsert path, as for a ledger that already holds rows
            monkeypatch.setattr(ledger, "is_empty", lambda conn: False)
        for chunk_files in (None, 1):
            settings = Settings(data_dir=tmp_path / f"data-{fresh}-{chunk_files}")
            report = ingest_into_store(settings, [raw], chunk_files=chunk_files)
            stored, copies = _ledger(settings.data_dir), _copies(settings.data_dir)
            for table in TABLES:
                assert copies[table].equals(stored[table]), (fresh, chunk_files, table)
            results.append((stored, _quarantined(report.quarantine)))
            ingest_into_store(settings, [raw], chunk_files=chunk_files)  # a rerun
            again = _ledger(settings.data_dir)
            for table in TABLES:
                assert again[table].equals(stored[table]), ("rerun", fresh, chunk_files, table)
                assert _copies(settings.data_dir)[table].equals(stored[table])
    stored, rejects = results[0]
    assert sorted(stored["transactions"]["transaction_id"].to_list()) == ["t1", "t5", "t6"]
    assert stored["liabilities_credit"]["is_overdue"].to_list() == [False]  # the first kept
    assert rejects == [
        ("u1.later.json", "added[0]", "transactions", DUPLICATE.format("transaction_id", "t1")),
        ("u1.liab.json", "liabilities.credit[0]", "liabilities_credit",
         DUPLICATE.format("account_id", "c1")),
        ("u2.json", "transactions[0]", "transactions", DUPLICATE.format("transaction_id", "t1")),
    ]  # fmt: skip
    for other in results[1:]:
        assert other[1] == rejects
        for table in TABLES:
            assert other[0][table].equals(stored[table]), table


@pytest.mark.parametrize("fresh", [True, False], ids=["empty ledger", "upsert path"])
def test_only_a_pending_row_is_replaced_by_its_twin(
    tmp_path: Path, fresh: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A posted row naming a posted row (itself, or another) as its pending twin deletes
    nothing: the twin rule replaces a pending transaction, as the signals' rule reads it."""
    exports: list[Path] = []
    real = ledger.export_parquet
    monkeypatch.setattr(ledger, "export_parquet", lambda c, d: exports.append(d) or real(c, d))
    if not fresh:
        monkeypatch.setattr(ledger, "is_empty", lambda conn: False)
    raw = tmp_path / "raw"
    raw.mkdir()
    rows = [
        txn("t7", pending=False, pending_transaction_id="t7"),
        txn("t8", pending=False, pending_transaction_id="t9"),
        txn("t9", pending=False),
    ]
    write(raw / "u1.json", bundle("u1", accounts=[account("a1")], transactions=rows))
    data = tmp_path / "data"
    ingest_into_store(Settings(data_dir=data), [raw])
    ids = read_table(connect(data / "spendsense.db"), "transactions")["transaction_id"]
    assert ids.to_list() == ["t7", "t8", "t9"]
    assert _copies(data)["transactions"]["transaction_id"].to_list() == ["t7", "t8", "t9"]
    assert (exports == []) == fresh  # into an empty ledger the copies come from the frames
