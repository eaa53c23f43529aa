"""Bulk staging: many files at once, the same rows and rejects as one file at a time."""

from __future__ import annotations

from pathlib import Path

import pytest
from ingest_helpers import account, bundle, ingest_paths, txn, write

from spendsense.ingest.bulk import TEXT_HOOKS
from spendsense.synth import generate_population


def test_mixed_types_across_files_keep_exact_text(tmp_path: Path) -> None:
    # one file's amount is a bool, another's a list, another's an object: each is still
    # judged on its own value (from_dicts would otherwise coerce them together)
    write(tmp_path / "u1.json", bundle("u1", transactions=[txn(amount=935.0000000000001)]))
    write(
        tmp_path / "u2.json",
        bundle("u2", accounts=[account("a2")], transactions=[txn("t2", "a2", amount=True)]),
    )
    write(
        tmp_path / "u3.json",
        bundle("u3", accounts=[account("a3")], transactions=[txn("t3", "a3", amount=[1])]),
    )
    write(
        tmp_path / "u4.json",
        bundle("u4", accounts=[account("a4")], transactions=[txn("t4", "a4", amount={"x": 1})]),
    )
    b = ingest_paths([tmp_path])
    assert b.frames["transactions"]["amount_cents"].to_list() == [93500]
    reasons = {r.record["transaction_id"]: r.reason for r in b.rejects}  # type: ignore[index]
    assert set(reasons) == {"t2", "t3", "t4"}
    assert "not an amount" in reasons["t2"] and "not an amount" in reasons["t3"]
    assert reasons["t4"] == "missing amount"  # an object is flattened (amount_x), as before
    # quarantined records are the file's own values (re-read), not the staged text
    assert next(r.record for r in b.rejects if r.record["transaction_id"] == "t2")["amount"] is True  # type: ignore[index]


def test_nested_objects_are_flattened_and_lists_expanded(tmp_path: Path) -> None:
    credit = {
        "account_id": "c1",
        "aprs": [{"apr_type": "purchase_apr", "apr_percentage": 24.9}],
        "is_overdue": False,
    }
    accounts = [account(), account("c1", type="credit", subtype="credit card")]
    doc = bundle(accounts=accounts, liabilities={"credit": [credit]})
    b = ingest_paths([write(tmp_path / "u1.json", doc)])
    assert b.frames["liabilities_credit"]["purchase_apr_pct"].to_list() == [24.9]
    assert b.frames["accounts"]["current_cents"].to_list() == [10050, 10050]


def test_numbers_parse_to_their_shortest_repr() -> None:
    import json

    doc = json.loads('{"a": 1.50, "b": 7, "c": NaN, "d": 1e400}', **TEXT_HOOKS)
    assert doc == {"a": "1.5", "b": "7", "c": "nan", "d": "inf"}


def test_generated_folder_skips_ground_truth_and_reads_parquet_parts(tmp_path: Path) -> None:
    for fmt in ("plaid-json", "parquet"):
        out = tmp_path / fmt
        result = generate_population(3, 7, out, fmt=fmt)
        b = ingest_paths([out])
        assert b.rejects == [], b.rejects[:3]
        assert b.counts()["users"] == 3
        assert b.counts()["transactions"] == result.transactions
        credit = b.frames["liabilities_credit"]
        if credit.height:
            assert credit["purchase_apr_pct"].is_not_null().all()


def test_many_files_flush_in_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import spendsense.ingest as ingest

    monkeypatch.setattr(ingest, "FLUSH_EVERY", 2)
    for i in range(5):
        write(
            tmp_path / f"u{i}.json",
            bundle(f"u{i}", accounts=[account(f"a{i}")], transactions=[txn(f"t{i}", f"a{i}")]),
        )
    parts = list(ingest.ingest_chunks([tmp_path]))
    # 5 files, 2 per chunk: three chunks validated one by one (then the cross-chunk checks'
    # own batch), nothing lost or repeated.
    assert [p.frames["transactions"].height for p in parts] == [2, 2, 1, 0]
    ids = sorted(t for p in parts for t in p.frames["transactions"]["transaction_id"].to_list())
    assert ids == [f"t{i}" for i in range(5)]
