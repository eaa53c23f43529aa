"""Readers: bundles, raw Plaid responses, CSV/Parquet, unreadable input, quarantine."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from ingest_helpers import account, bundle, ingest_paths, txn, write

from spendsense.errors import InputUnreadable
from spendsense.ingest import write_quarantine


def test_bundle_loads_all_tables_and_consent(tmp_path: Path) -> None:
    doc = bundle(
        liabilities={
            "credit": [
                {
                    "account_id": "a1",
                    "aprs": [
                        {
                            "apr_type": "purchase_apr",
                            "apr_percentage": 24.9,
                            "interest_charge_amount": 10.1,
                        },
                        {
                            "apr_type": "cash_apr",
                            "apr_percentage": 29.9,
                            "interest_charge_amount": 2,
                        },
                    ],
                    "is_overdue": False,
                    "minimum_payment_amount": 25,
                    "next_payment_due_date": "2024-04-01",
                }
            ],
            "mortgage": [],
            "student": [],
        }
    )
    b = ingest_paths([write(tmp_path / "u1.json", doc)])
    assert b.counts()["accounts"] == 1 and b.counts()["transactions"] == 1
    assert b.frames["users"]["consent_status"].to_list() == ["granted"]
    consents = b.frames["consents"]
    assert consents["status"].to_list() == ["granted"] and consents["source"].to_list() == [
        "bundle"
    ]
    t = b.frames["transactions"].row(0, named=True)
    assert (
        t["amount_cents"] == 1234
        and t["user_id"] == "u1"
        and t["pfc_detailed"] == "FOOD_AND_DRINK_COFFEE"
    )
    c = b.frames["liabilities_credit"].row(0, named=True)
    assert c["purchase_apr_pct"] == 24.9 and c["interest_charge_cents"] == 1210
    assert c["minimum_payment_amount_cents"] == 2500
    assert b.rejects == []


def test_bundle_consent_defaults_to_none_without_consent_row(tmp_path: Path) -> None:
    doc = bundle()
    del doc["user"]["consent"]
    b = ingest_paths([write(tmp_path / "u1.json", doc)])
    assert b.frames["users"]["consent_status"].to_list() == ["none"]
    assert b.frames["consents"].height == 0


def test_v1_category_is_mapped_to_v2(tmp_path: Path) -> None:
    t = txn(personal_finance_category={"primary": "INCOME", "detailed": "INCOME_WAGES"})
    b = ingest_paths([write(tmp_path / "u1.json", bundle(transactions=[t]))])
    row = b.frames["transactions"].row(0, named=True)
    assert (row["pfc_primary"], row["pfc_detailed"]) == ("INCOME", "INCOME_SALARY")


def test_accounts_get_user_from_file_name(tmp_path: Path) -> None:
    doc = {"accounts": [account()], "item": {"item_id": "i1"}, "request_id": "r"}
    b = ingest_paths([write(tmp_path / "u7.accounts.json", doc)])
    assert b.frames["accounts"]["user_id"].to_list() == ["u7"]
    assert b.frames["users"]["consent_status"].to_list() == ["none"]
    b2 = ingest_paths([write(tmp_path / "u8__accounts.json", doc)])
    assert b2.frames["accounts"]["user_id"].to_list() == ["u8"]


def test_response_without_user_is_rejected_unless_given(tmp_path: Path) -> None:
    doc = {"accounts": [account()], "transactions": [txn()], "total_transactions": 1, "item": {}}
    path = write(tmp_path / "response.json", doc)
    b = ingest_paths([path])
    assert b.counts()["transactions"] == 0 and b.rejects[0].position == "file"
    assert "no user" in b.rejects[0].reason
    b = ingest_paths([path], user_id="u9")
    assert b.counts()["transactions"] == 1 and b.frames["transactions"]["user_id"][0] == "u9"


def test_sync_added_modified_removed_cursor(tmp_path: Path) -> None:
    doc = {
        "accounts": [account()],
        "added": [txn("t1"), txn("t2", pending=True)],
        "modified": [txn("t3", pending_transaction_id="t2")],
        "removed": [{"transaction_id": "old"}, {"account_id": "a1"}],
        "next_cursor": "c42",
        "has_more": False,
    }
    b = ingest_paths([write(tmp_path / "u1.sync.json", doc)])
    assert b.frames["transactions"]["transaction_id"].to_list() == ["t1", "t2", "t3"]
    assert b.removed_transaction_ids == [("u1", "old")]
    assert b.cursors == [("u1", "default", "c42")]
    assert [r.position for r in b.rejects] == ["removed[1]"]


def test_liabilities_get(tmp_path: Path) -> None:
    doc = {
        "accounts": [
            account("m1", type="loan", subtype="mortgage"),
            account("s1", type="loan", subtype="student"),
        ],
        "liabilities": {
            "credit": None,
            "mortgage": [
                {
                    "account_id": "m1",
                    "interest_rate": {"percentage": 6.5, "type": "fixed"},
                    "next_monthly_payment": 1850,
                    "past_due_amount": 0,
                }
            ],
            "student": [
                {
                    "account_id": "s1",
                    "interest_rate_percentage": 4.2,
                    "loan_status": {"type": "repayment"},
                    "minimum_payment_amount": 150.5,
                }
            ],
        },
        "item": {"item_id": "i"},
    }
    b = ingest_paths([write(tmp_path / "u1.liab.json", doc)])
    m = b.frames["liabilities_mortgage"].row(0, named=True)
    assert (m["interest_rate_pct"], m["interest_rate_type"], m["next_monthly_payment_cents"]) == (
        6.5,
        "fixed",
        185000,
    )
    s = b.frames["liabilities_student"].row(0, named=True)
    assert (s["loan_status"], s["minimum_payment_amount_cents"]) == ("repayment", 15050)


def _flat_txns() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "transaction_id": ["t1", "t2"],
            "account_id": ["a1", "a1"],
            "user_id": ["u1", "u1"],
            "date": ["2024-01-02", "2024-01-03"],
            "amount": ["1.10", "nan"],
            "iso_currency_code": ["USD", "USD"],
            "personal_finance_category_primary": ["FOOD_AND_DRINK", None],
        }
    )


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_tables_detected_from_columns(tmp_path: Path, suffix: str) -> None:
    frame = _flat_txns()
    path = tmp_path / f"export.{suffix}"
    frame.write_csv(path) if suffix == "csv" else frame.write_parquet(path)
    b = ingest_paths([path], known_account_ids={"a1"})
    assert b.frames["transactions"]["amount_cents"].to_list() == [110]
    assert [(r.position, r.table) for r in b.rejects] == [("row 2", "transactions")]
    assert "finite" in b.rejects[0].reason


def test_csv_accounts_by_columns(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(
        "account_id,user_id,type,subtype,balances_current,iso_currency_code\na1,u1,credit,credit card,5.5,USD\n"
    )
    b = ingest_paths([path])
    assert b.frames["accounts"]["current_cents"].to_list() == [550]


def test_unreadable_single_file_raises_with_name(tmp_path: Path) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text("{nope")
    with pytest.raises(InputUnreadable, match=r"broken\.json"):
        ingest_paths([bad])
    with pytest.raises(InputUnreadable, match=r"missing\.json"):
        ingest_paths([tmp_path / "missing.json"])
    other = tmp_path / "notes.txt"
    other.write_text("hi")
    with pytest.raises(InputUnreadable, match=r"notes\.txt"):
        ingest_paths([other])


def test_one_unreadable_among_several_becomes_reject(tmp_path: Path) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text("{nope")
    good = write(tmp_path / "u1.json", bundle())
    b = ingest_paths([bad, good])
    assert b.counts()["transactions"] == 1
    assert [(r.file, r.position, r.table) for r in b.rejects] == [(str(bad), "file", "file")]


def test_folder_is_walked_recursively(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    write(tmp_path / "a" / "b" / "u1.json", bundle("u1"))
    write(
        tmp_path / "a" / "u2.json",
        bundle("u2", accounts=[account("a2")], transactions=[txn("t2", "a2")]),
    )
    (tmp_path / "a" / "README.md").write_text("ignored")
    b = ingest_paths([tmp_path])
    assert sorted(b.frames["users"]["user_id"].to_list()) == ["u1", "u2"]


def test_unrecognised_json_is_a_file_reject(tmp_path: Path) -> None:
    other = write(tmp_path / "other.json", {"hello": 1})
    good = write(tmp_path / "u1.json", bundle())
    b = ingest_paths([other, good])
    assert any("unrecognised JSON" in r.reason for r in b.rejects)


def test_write_quarantine(tmp_path: Path) -> None:
    doc = bundle(transactions=[txn(), txn("t2", amount="lots")])
    b = ingest_paths([write(tmp_path / "u1.json", doc)])
    path = write_quarantine(b.rejects, tmp_path / "data", "run1")
    assert path == tmp_path / "data" / "quarantine" / "run1.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines == [
        {
            "file": str(tmp_path / "u1.json"),
            "position": "transactions[1]",
            "table": "transactions",
            "reason": "amount: not an amount: 'lots'",
            "record": txn("t2", amount="lots"),
        }
    ]
    assert write_quarantine([], tmp_path / "data", "run2") is None
