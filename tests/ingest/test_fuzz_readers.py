"""Fuzz every reader: raw Plaid responses, sync, liabilities, sandbox configs, CSV/Parquet, mappings.

Each input is a valid document with hostile values mixed in: ingest never crashes (at worst the
whole file is InputUnreadable with a one-line reason), every reject names a position and a
reason, and the valid records beside the hostile ones are still loaded.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_helpers import account, ingest_paths, txn

from spendsense.errors import InputUnreadable

REPO = Path(__file__).resolve().parents[2]
FUZZ = settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
hostile = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["9999-12-31", "<script>x</script>", "NaN", "-inf", "", "\x00", "1e309"])
    | st.lists(st.integers(), max_size=2)
    | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
)
TXN_FIELDS = ["amount", "date", "account_id", "transaction_id", "pending", "payment_channel",
              "iso_currency_code", "merchant_name", "personal_finance_category", "authorized_date"]  # fmt: skip
ACCOUNT_FIELDS = ["type", "subtype", "balances", "mask", "holder_category", "account_id"]
hostile_txn = st.dictionaries(st.sampled_from(TXN_FIELDS), hostile, min_size=1, max_size=3)
hostile_account = st.dictionaries(st.sampled_from(ACCOUNT_FIELDS), hostile, min_size=1, max_size=2)


def _run(name: str, content: bytes | str, **kw: Any) -> Any:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / name
        if isinstance(content, str):
            path.write_text(content)
        else:
            path.write_bytes(content)
        try:
            batch = ingest_paths([path], **kw)
        except InputUnreadable as exc:
            assert exc.message and "\n" not in exc.message
            return None
    for r in batch.rejects:
        assert r.position and r.reason, r
    return batch


def _good_ids(batch: Any) -> set[str]:
    return set(batch.frames["transactions"]["transaction_id"].to_list()) if batch else set()


GOOD = [txn(f"good{i}", amount=i + 1.5) for i in range(2)]


@pytest.mark.slow
@FUZZ
@given(st.lists(hostile_txn, max_size=3), st.sampled_from(["get", "sync"]))
def test_plaid_transactions_responses(changes: list[dict[str, Any]], kind: str) -> None:
    bad = [{**txn(f"bad{i}"), **c} for i, c in enumerate(changes)]
    if kind == "get":
        doc: dict[str, Any] = {"accounts": [account()], "transactions": [*GOOD, *bad]}
    else:
        doc = {"accounts": [account()], "added": [*GOOD, *bad], "modified": [], "removed": [],
               "next_cursor": "c"}  # fmt: skip
    batch = _run("u1.response.json", json.dumps(doc))
    assert {"good0", "good1"} <= _good_ids(batch)


@pytest.mark.slow
@FUZZ
@given(hostile_account, st.lists(hostile, max_size=3), hostile)
def test_plaid_accounts_and_sync_removed(
    change: dict[str, Any], removed: list[Any], cursor: Any
) -> None:
    doc = {"accounts": [account("a1"), {**account("a2"), **change}], "added": [], "modified": [],
           "removed": removed, "next_cursor": cursor}  # fmt: skip
    batch = _run("u1.sync.json", json.dumps(doc))
    assert batch is not None
    assert "a1" in batch.frames["accounts"]["account_id"].to_list()


@pytest.mark.slow
@FUZZ
@given(st.dictionaries(st.sampled_from(["aprs", "last_payment_amount", "is_overdue",
       "minimum_payment_amount", "last_statement_balance", "account_id"]), hostile, max_size=3),
       st.sampled_from(["credit", "mortgage", "student"]), hostile)  # fmt: skip
def test_plaid_liabilities(change: dict[str, Any], kind: str, other: Any) -> None:
    card = account("c1", type="credit", subtype="credit card")
    good = {"account_id": "c1", "aprs": [{"apr_type": "purchase_apr", "apr_percentage": 24.9}],
            "is_overdue": False, "last_payment_amount": 50, "minimum_payment_amount": 25}  # fmt: skip
    liab: dict[str, Any] = {"credit": [good], "mortgage": [], "student": []}
    liab[kind] = [*liab[kind], {**good, **change}] if kind == "credit" else other
    batch = _run("u1.liabilities.json", json.dumps({"accounts": [card], "liabilities": liab}))
    assert batch is not None and batch.frames["liabilities_credit"].height >= 1


@pytest.mark.slow
@FUZZ
@given(st.dictionaries(st.sampled_from(["type", "subtype", "starting_balance", "numbers", "meta",
       "currency", "holder_category"]), hostile, max_size=3),
       st.dictionaries(st.sampled_from(["date_posted", "date_transacted", "amount", "description",
       "currency"]), hostile, max_size=3))  # fmt: skip
def test_sandbox_configs(account_change: dict[str, Any], txn_change: dict[str, Any]) -> None:
    good_txn = {"date_transacted": "2024-03-01", "date_posted": "2024-03-01", "amount": 12.5,
                "description": "Starbucks", "currency": "USD"}  # fmt: skip
    good = {"type": "depository", "subtype": "checking", "starting_balance": 100,
            "meta": {"name": "Checking"}, "numbers": {"account": "9876543210987", "ach_routing": "011000015"},
            "transactions": [good_txn]}  # fmt: skip
    bad = {**good, **account_change, "transactions": [good_txn, {**good_txn, **txn_change}]}
    doc = {"override_accounts": [good, bad]}
    batch = _run("sbx.json", json.dumps(doc, default=str))
    assert batch is not None and batch.frames["transactions"].height >= 1
    dump = "".join(f.write_csv() for f in batch.frames.values()) + repr(batch.rejects)
    assert "9876543210987" not in dump and "011000015" not in dump


CSV_HEADER = "transaction_id,account_id,user_id,date,amount,iso_currency_code,merchant_name"
cell = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=10) | st.sampled_from(
    ["NaN", "inf", "9999-12-31", "1e400", '"', "<b>x</b>", ""]
)


@pytest.mark.slow
@FUZZ
@given(st.lists(st.lists(cell, min_size=7, max_size=7), max_size=4),
       st.sampled_from(["utf-8", "utf-16", "utf-8-sig", "cp1252"]))  # fmt: skip
def test_csv_tables(rows: list[list[str]], encoding: str) -> None:
    lines = [CSV_HEADER, "good0,a1,u1,2024-03-01,4.50,USD,Cafe"]
    for row in rows:
        lines.append(",".join('"' + c.replace('"', '""') + '"' for c in row))
    text = "\n".join(lines) + "\n"
    try:
        content = text.encode(encoding)
    except UnicodeEncodeError:
        content = text.encode("utf-8")
    batch = _run("transactions.csv", content, known_account_ids={"a1"}, known_user_ids={"u1"})
    assert "good0" in _good_ids(batch)


@pytest.mark.slow
@FUZZ
@given(st.lists(st.tuples(st.text(max_size=6), st.floats() | st.none(), st.text(max_size=12)),
                max_size=5))  # fmt: skip
def test_parquet_tables(rows: list[tuple[str, float | None, str]]) -> None:
    ids = ["good0", *[f"x{i}{r[0]}" for i, r in enumerate(rows)]]
    frame = pl.DataFrame(
        {
            "transaction_id": ids,
            "account_id": ["a1"] * len(ids),
            "user_id": ["u1"] * len(ids),
            "date": ["2024-03-01"] * len(ids),
            "amount": [4.5, *[r[1] for r in rows]],
            "iso_currency_code": ["USD"] * len(ids),
            "merchant_name": ["Cafe", *[r[2] for r in rows]],
        }
    )
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "transactions.parquet"
        frame.write_parquet(path)
        batch = ingest_paths([path], known_account_ids={"a1"}, known_user_ids={"u1"})
    assert "good0" in _good_ids(batch)


@pytest.mark.slow
@FUZZ
@given(st.lists(hostile_txn, max_size=3))
def test_mapped_exports(changes: list[dict[str, Any]]) -> None:
    """The sainathyai mapping over a small export with hostile transactions mixed in."""
    path = REPO / "mappings" / "sainathyai.yaml"
    acct = {**account("a1"), "customer_id": "c1"}
    good = [{**t, "customer_id": "c1"} for t in GOOD]
    bad = [{**txn(f"bad{i}"), "customer_id": "c1", **c} for i, c in enumerate(changes)]
    doc = {"accounts": [acct], "transactions": [*good, *bad], "liabilities": []}
    batch = _run("export.json", json.dumps(doc), mapping=path)
    assert batch is not None


@pytest.mark.slow
@FUZZ
@given(st.binary(max_size=200), st.sampled_from([".json", ".csv", ".parquet"]))
def test_arbitrary_bytes(content: bytes, suffix: str) -> None:
    _run("u1.data" + suffix, content, known_account_ids={"a1"}, known_user_ids={"u1"})


@pytest.mark.slow
@FUZZ
@given(st.text(max_size=300))
def test_arbitrary_mapping_files(text: str) -> None:
    """A broken mapping file is a clear user error, never a crash."""
    from spendsense.errors import SpendSenseError

    with tempfile.TemporaryDirectory() as d:
        mapping = Path(d) / "m.yaml"
        mapping.write_text(text)
        data = Path(d) / "u1.x.json"
        data.write_text(json.dumps({"accounts": [account()]}))
        try:
            ingest_paths([data], mapping=mapping)
        except SpendSenseError as exc:
            assert exc.message and "\n" not in exc.message.strip()
