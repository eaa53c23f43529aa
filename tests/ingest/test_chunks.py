"""Chunked ingest: a chunk at a time, with the same rows, rejects and store as all at once."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from ingest_helpers import account, bundle, ingest_paths, txn, write

import spendsense.ingest as ingest_package
import spendsense.store.ledger as ledger
from spendsense.config import Settings
from spendsense.ingest import ingest_chunks
from spendsense.ingest.validate import Seen, finish
from spendsense.services import ingest_into_store
from spendsense.store.db import connect
from spendsense.store.ledger import read_table

DUPLICATE = "duplicate transaction_id 't1' (first occurrence kept)"


def _inputs(folder: Path) -> Path:
    """u1 (a1, t1); u1's later transactions response on a1; u2 (a2) reusing t1; u3 (no accounts,
    a transaction on u2's account a2: refused, records never move between users)."""
    folder.mkdir()
    write(folder / "u1.json", bundle("u1", accounts=[account("a1")], transactions=[txn("t1")]))
    write(folder / "u1.transactions.json", {"transactions": [txn("t9", "a1")]})
    write(
        folder / "u2.json", bundle("u2", accounts=[account("a2")], transactions=[txn("t1", "a2")])
    )
    write(folder / "u3.json", bundle("u3", accounts=[], transactions=[txn("t3", "a2")]))
    return folder


def test_chunks_see_earlier_ids_and_accounts(tmp_path: Path) -> None:
    folder = _inputs(tmp_path / "raw")
    chunks = list(ingest_chunks([folder], chunk_files=1))
    assert len(chunks) == 5  # one per file, then the placeholder users
    b = ingest_paths([folder], chunk_files=1)
    tx = b.frames["transactions"].sort("transaction_id")
    # t9 names an account loaded by an earlier chunk: it loads, with its user
    assert tx.select("transaction_id", "user_id").rows() == [("t1", "u1"), ("t9", "u1")]
    [foreign] = [r for r in b.rejects if r.kind == "ownership"]
    assert (foreign.file, foreign.position) == (str(folder / "u3.json"), "transactions[0]")
    assert foreign.reason.startswith("account 'a2' belongs to another user")
    assert tx.filter(pl.col("transaction_id") == "t1")["account_id"].to_list() == ["a1"]
    [dup] = [r for r in b.rejects if r.reason.startswith("duplicate")]
    assert (dup.file, dup.position, dup.reason) == (
        str(folder / "u2.json"),
        "transactions[0]",
        DUPLICATE,
    )
    assert dup.record["account_id"] == "a2"  # type: ignore[index]


def test_one_chunk_and_many_chunks_agree(tmp_path: Path) -> None:
    folder = _inputs(tmp_path / "raw")
    whole, split = ingest_paths([folder]), ingest_paths([folder], chunk_files=1, chunk_rows=1)
    for table, frame in whole.frames.items():
        key = frame.columns[0]
        assert split.frames[table].sort(key).equals(frame.sort(key)), table
    assert sorted(map(repr, split.rejects)) == sorted(map(repr, whole.rejects))


def test_user_described_in_a_later_chunk_gets_no_placeholder(tmp_path: Path) -> None:
    write(tmp_path / "a.json", {"user_id": "u9", "accounts": [account("a9")]})  # user not described
    write(tmp_path / "b.json", bundle("u9", accounts=[], transactions=[]))
    write(tmp_path / "c.json", {"user_id": "u8", "accounts": [account("a8")]})  # never described
    users = ingest_paths([tmp_path], chunk_files=1).frames["users"]
    assert users.select("user_id", "consent_status").sort("user_id").rows() == [
        ("u8", "none"),
        ("u9", "granted"),
    ]
    assert users.filter(pl.col("user_id") == "u9")["name"].to_list() == ["Ann"]


def test_big_parquet_is_read_in_slices_with_true_row_numbers(tmp_path: Path) -> None:
    rows = 7
    pl.DataFrame(
        {
            "transaction_id": [f"t{i}" for i in range(rows)],
            "account_id": ["a1"] * rows,
            "user_id": ["u1"] * rows,
            "date": ["2024-03-01"] * rows,
            "iso_currency_code": ["USD"] * rows,
            "amount": ["1.5", "2", "x", "3", "4", "5", "6"],
        }
    ).write_parquet(tmp_path / "transactions.parquet")
    b = ingest_paths([tmp_path / "transactions.parquet"], known_account_ids={"a1"}, chunk_rows=2)
    assert b.frames["transactions"].height == rows - 1
    [bad] = b.rejects
    assert (bad.position, bad.record["transaction_id"]) == ("row 3", "t2")  # type: ignore[index]


def test_store_applies_all_chunks_once_and_idempotently(tmp_path: Path) -> None:
    folder = _inputs(tmp_path / "raw")
    settings = Settings(data_dir=tmp_path / "data")
    report = ingest_into_store(settings, [folder], chunk_files=1)
    assert report.per_table["transactions"] == (2, 2)
    assert report.quarantine is not None
    lines = [json.loads(line) for line in report.quarantine.read_text().splitlines()]
    assert [line["reason"] == DUPLICATE for line in lines].count(True) == 1
    conn = connect(settings.db_path)
    stored = read_table(conn, "transactions")
    assert stored["transaction_id"].to_list() == ["t1", "t9"]
    ingest_into_store(settings, [folder], chunk_files=1)  # again: nothing changes
    assert read_table(conn, "transactions").equals(stored)
    assert read_table(conn, "users")["user_id"].to_list() == ["u1", "u2", "u3"]
    assert not list((settings.data_dir / "quarantine").glob("*.tmp"))


def test_store_finds_duplicates_of_earlier_chunks_in_the_stage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the store, earlier chunks' transaction ids are looked up in the stage by its
    index, a chunk's own ids at a time: nothing of them accumulates in memory."""
    folder = _inputs(tmp_path / "raw")
    asked: list[tuple[str, list[str], list[str]]] = []
    real = ledger.Stage.staged_ids

    def staged_ids(self: ledger.Stage, table: str, ids: pl.Series) -> pl.Series:
        found = real(self, table, ids)
        asked.append((table, sorted(ids.to_list()), sorted(found.to_list())))
        return found

    kept: list[Seen] = []
    monkeypatch.setattr(ledger.Stage, "staged_ids", staged_ids)
    monkeypatch.setattr(ingest_package, "finish", lambda seen: kept.append(seen) or finish(seen))
    report = ingest_into_store(Settings(data_dir=tmp_path / "data"), [folder], chunk_files=1)
    assert report.per_table["transactions"] == (2, 2)
    transactions = [(ids, found) for table, ids, found in asked if table == "transactions"]
    # one lookup per chunk, of its own ids: u1 (t1), u1.transactions (t9), u2 (t1, found), u3
    assert transactions == [(["t1"], []), (["t9"], []), (["t1"], ["t1"]), (["t3"], [])]
    assert kept[0].taken["transactions"] == []  # the stage holds them, not memory


def test_stage_staged_ids_are_those_of_the_staged_table(tmp_path: Path) -> None:
    conn = connect(tmp_path / "spendsense.db")
    batch = ingest_paths([_inputs(tmp_path / "raw")])
    with ledger.staging(conn) as stage:
        assert stage.staged_ids("transactions", pl.Series(["t1"])).to_list() == []
        stage.add(batch)
        found = stage.staged_ids("transactions", pl.Series(["t9", "t2", "t1", "zz"]))
        assert sorted(found.to_list()) == ["t1", "t9"]
        assert stage.staged_ids("accounts", pl.Series(["a1", "t1"])).to_list() == ["a1"]
