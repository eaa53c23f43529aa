"""The columnar JSON reader gives exactly what the per-file path gives: rows, rejects, records."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from ingest_helpers import account, bundle, ingest_paths, txn, write

import spendsense.ingest.native as N
import spendsense.ingest.parse as P
from spendsense.ingest import tables as T
from spendsense.ingest.records import flatten
from spendsense.ingest.staging import Staged
from spendsense.ledger.batch import LedgerBatch
from spendsense.synth import generate_population

HOSTILE = Path(__file__).parents[1] / "data" / "hostile"


def _same(folder: Path, **kwargs: Any) -> LedgerBatch:
    """Ingest ``folder`` both ways; assert every table and every reject agree; the native batch."""
    native = ingest_paths([folder], **kwargs)
    python = ingest_paths([folder], native=False, **kwargs)
    for table, frame in python.frames.items():
        key = list(frame.columns[:1])
        assert native.frames[table].sort(key).equals(frame.sort(key)), table
    assert sorted(map(repr, native.rejects)) == sorted(map(repr, python.rejects))
    return native


def _read_natively(folder: Path) -> tuple[int, int]:
    """(files read natively, files sent to the per-file path)."""
    files = sorted(folder.rglob("*.json"))
    docs = [
        N.Document(p, i, None, lambda: "2026-01-01T00:00:00+00:00") for i, p in enumerate(files)
    ]
    result = N.read_native(docs)
    return len(files) - len(result.fallback), len(result.fallback)


def test_generated_bundles_read_natively_match_the_per_file_path(tmp_path: Path) -> None:
    generate_population(40, 11, tmp_path / "raw", fmt="plaid-json")
    bundles = tmp_path / "raw" / "bundles"
    assert _read_natively(bundles) == (40, 0)  # every generated file takes the columnar reader
    batch = _same(bundles)
    assert batch.rejects == []
    assert batch.frames["transactions"].height > 1000


def test_hostile_files_agree_with_the_per_file_path(tmp_path: Path) -> None:
    folder = tmp_path / "hostile"
    shutil.copytree(HOSTILE, folder)
    for path in folder.iterdir():
        if path.suffix != ".json":
            path.unlink()
    _same(folder, user_id="u_host")


# Values the reader sees typed, each in a file of its own beside good files
ODD_AMOUNTS = [
    0.005, 0.015, 0.025, 1.005, 2.675, 12.345, 1e-7, 123456789.125, -0.5, -12.345,
    935.0000000000001, 9999999999999.99, 1e13, 1e15, 1e16, 12, -7, 0,
]  # fmt: skip


def test_amounts_near_half_a_cent_round_as_their_text(tmp_path: Path) -> None:
    txns = [txn(f"t{i}", amount=a) for i, a in enumerate(ODD_AMOUNTS)]
    write(tmp_path / "u1.json", bundle("u1", transactions=txns))
    batch = _same(tmp_path)
    cents = dict(batch.frames["transactions"].select("transaction_id", "amount_cents").rows())
    assert cents["t0"] == 0 and cents["t1"] == 2 and cents["t2"] == 2  # half to even
    assert cents["t5"] == 1234 and cents["t9"] == -1234
    assert {r.position for r in batch.rejects} == {f"transactions[{i}]" for i in (12, 13, 14)}


def test_a_file_of_other_types_is_judged_on_its_own(tmp_path: Path) -> None:
    write(tmp_path / "u1.json", bundle("u1", transactions=[txn("t1", amount=3.5)]))
    odd = [
        ("u2", {"amount": "12.30"}),  # text amount
        ("u3", {"pending": "yes"}),  # text flag
        ("u4", {"pending": 1}),
        ("u5", {"name": 7}),  # a number as text
        ("u6", {"amount": True}),
    ]
    for user, over in odd:
        write(
            tmp_path / f"{user}.json",
            bundle(
                user,
                accounts=[account(f"a_{user}")],
                transactions=[txn(f"t_{user}", f"a_{user}", **over)],
            ),
        )
    (tmp_path / "u7.json").write_text(json.dumps(bundle("u7", accounts=[account("a7")]), indent=2))
    (tmp_path / "u8.json").write_text('{"user": {"user_id": "u8", "name": "caf\xe9"}}', "cp1252")
    write(tmp_path / "u9.json", {"user_id": "u9", "accounts": [account("a9")]})
    write(tmp_path / "u10.json", {"note": "nothing we know"})
    write(tmp_path / "u11.json", {"override_accounts": []})
    read, fallback = _read_natively(tmp_path)
    assert (read, fallback) == (3, 8)  # u1, the pretty-printed u7 and the response u9
    batch = _same(tmp_path)
    amounts = dict(batch.frames["transactions"].select("transaction_id", "amount_cents").rows())
    assert amounts["t1"] == 350 and amounts["t_u2"] == 1230


def test_duplicates_keep_the_first_in_file_order_across_both_paths(tmp_path: Path) -> None:
    # u1 (native), u2 (per-file: a text amount), u3 (native) all carry t1: u1's is kept
    write(tmp_path / "u1.json", bundle("u1", transactions=[txn("t1")]))
    write(
        tmp_path / "u2.json",
        bundle("u2", accounts=[account("a2")], transactions=[txn("t1", "a2", amount="1.00")]),
    )
    write(
        tmp_path / "u3.json", bundle("u3", accounts=[account("a3")], transactions=[txn("t1", "a3")])
    )
    batch = _same(tmp_path)
    assert batch.frames["transactions"]["user_id"].to_list() == ["u1"]
    assert sorted(r.file.rsplit("/", 1)[-1] for r in batch.rejects) == ["u2.json", "u3.json"]


def test_sync_responses_read_natively(tmp_path: Path) -> None:
    write(tmp_path / "u1.json", bundle("u1", transactions=[txn("t1"), txn("t2")]))
    sync = {
        "added": [txn("t3")],
        "modified": [txn("t1", amount=9.99)],
        "removed": [{"transaction_id": "t2"}],
        "next_cursor": "c-1",
        "item": {"item_id": "item-9"},
    }
    write(tmp_path / "u1.sync.json", sync)
    write(tmp_path / "u1.z.sync.json", {"added": [txn("t4")], "next_cursor": "c-2"})  # no removals
    assert _read_natively(tmp_path) == (3, 0)
    batch = _same(tmp_path)
    assert batch.removed_transaction_ids == [("u1", "t2")]
    assert batch.cursors == [("u1", "item-9", "c-1"), ("u1", "default", "c-2")]
    assert "t4" in batch.frames["transactions"]["transaction_id"].to_list()


def test_the_reader_schema_covers_every_column_the_normalisers_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every staged column a table function reads is one the columnar reader fills."""
    read: dict[str, set[str]] = {}
    table = [""]
    real = P.col

    def spy(frame: pl.DataFrame, name: str) -> pl.Expr:
        read.setdefault(table[0], set()).add(name)
        return real(frame, name)

    monkeypatch.setattr(P, "col", spy)
    for name, fn in T.NORMALISERS.items():
        table[0] = name
        fn(Staged().table(name))
    staged = {
        "users": _names(N.DOC_SCHEMA.field("user").type),
        "accounts": _names(N.DOC_SCHEMA.field("accounts").type.value_type),
        "transactions": _names(N.DOC_SCHEMA.field("transactions").type.value_type),
    }
    liabilities = N.DOC_SCHEMA.field("liabilities").type
    for kind in ("credit", "mortgage", "student"):
        staged[f"liabilities_{kind}"] = _names(liabilities.field(kind).type.value_type)
    staged["liabilities_credit"] |= {
        f"aprs_{k}_{v}" for k in N._APR_KINDS for v in ("percentage", "interest_charge_amount")
    }
    # liabilities_other comes only from mappings and table files, never a bundle or response
    for name, columns in read.items():
        if name == "liabilities_other":
            continue
        wanted = {c for c in columns if not c.startswith("_")}
        missing = wanted - staged[name]
        assert not missing, (name, missing)


def _names(struct: Any, prefix: str = "") -> set[str]:
    """The flattened names (``balances_current``) of an Arrow struct's fields."""
    out: set[str] = set()
    for field in struct:
        if hasattr(field.type, "num_fields") and field.type.num_fields and field.name != "aprs":
            out |= _names(field.type, f"{prefix}{field.name}_")
        out.add(f"{prefix}{field.name}")
    return out


def test_flatten_names_are_the_reader_names() -> None:
    record = txn()
    assert set(flatten(record)) <= _names(N.DOC_SCHEMA.field("transactions").type.value_type)
