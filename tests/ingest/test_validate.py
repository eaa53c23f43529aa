"""Validation: every reject reason, boundaries, references and duplicates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ingest_helpers import account, bundle, ingest_paths, txn, write


def _reasons(tmp_path: Path, **over: Any) -> list[tuple[str, str, str]]:
    b = ingest_paths([write(tmp_path / "u1.json", bundle(**over))])
    return [(r.table, r.position, r.reason) for r in b.rejects]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"transaction_id": None}, "missing transaction_id"),
        ({"account_id": ""}, "missing account_id"),
        ({"date": None}, "missing date"),
        ({"date": "2024-02-30"}, "date: not a date"),
        ({"date": "1989-12-31"}, "outside 1990-2100"),
        ({"date": "2101-01-01"}, "outside 1990-2100"),
        ({"authorized_date": "soon"}, "authorized_date: not a date"),
        ({"amount": None}, "missing amount"),
        ({"amount": "NaN"}, "not a finite amount"),
        ({"amount": "Infinity"}, "not a finite amount"),
        ({"amount": 1e16}, "amount out of range"),
        ({"amount": True}, "not an amount"),
        ({"amount": [1]}, "not an amount"),
        ({"iso_currency_code": None}, "no currency"),
        ({"unofficial_currency_code": "BTC"}, "both iso_currency_code and unofficial"),
        ({"iso_currency_code": "US"}, "not a 3-letter code"),
        ({"payment_channel": "carrier pigeon"}, "payment_channel 'carrier pigeon'"),
        ({"pending": "maybe"}, "pending: not a boolean"),
        ({"account_id": "ghost"}, "account_id 'ghost' is not a known account"),
    ],
)
def test_transaction_reasons(tmp_path: Path, change: dict[str, Any], reason: str) -> None:
    bad = {**txn("t2"), **change}
    got = _reasons(tmp_path, transactions=[txn(), bad])
    assert len(got) == 1, got
    assert got[0][:2] == ("transactions", "transactions[1]")
    assert reason in got[0][2]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"type": None}, "missing type"),
        ({"type": "piggybank"}, "account type 'piggybank'"),
        ({"subtype": "mortgage"}, "subtype 'mortgage' is not valid for type 'depository'"),
        ({"holder_category": "alien"}, "holder_category 'alien'"),
        (
            {"balances": {"current": "x", "iso_currency_code": "USD"}},
            "balances.current: not an amount",
        ),
        ({"balances": {"current": 1}}, "no currency"),
    ],
)
def test_account_reasons(tmp_path: Path, change: dict[str, Any], reason: str) -> None:
    got = _reasons(tmp_path, accounts=[account(), account("a2", **change)], transactions=[])
    assert [(t, p) for t, p, _ in got] == [("accounts", "accounts[1]")]
    assert reason in got[0][2]


def test_user_reasons(tmp_path: Path) -> None:
    doc = bundle(consent="maybe")
    b = ingest_paths([write(tmp_path / "u1.json", doc)])
    assert [(r.table, r.reason) for r in b.rejects] == [
        ("users", "consent 'maybe' is not one of granted, revoked, none")
    ]
    # the user's data still loads; a placeholder user row (consent none) is made
    assert b.frames["users"]["consent_status"].to_list() == ["none"]


def test_non_object_records_are_rejected(tmp_path: Path) -> None:
    got = _reasons(tmp_path, transactions=[txn(), 42, "x"])
    assert [(p, r) for _, p, r in got] == [
        ("transactions[1]", "record is not a JSON object"),
        ("transactions[2]", "record is not a JSON object"),
    ]


def test_duplicates_keep_first(tmp_path: Path) -> None:
    b = ingest_paths(
        [write(tmp_path / "u1.json", bundle(transactions=[txn(amount=1), txn(amount=2)]))]
    )
    assert b.frames["transactions"]["amount_cents"].to_list() == [100]
    assert (
        b.rejects[0].position == "transactions[1]"
        and "duplicate transaction_id" in b.rejects[0].reason
    )


def test_duplicate_after_invalid_first_keeps_the_valid_one(tmp_path: Path) -> None:
    b = ingest_paths(
        [write(tmp_path / "u1.json", bundle(transactions=[txn(amount="x"), txn(amount=2)]))]
    )
    assert b.frames["transactions"]["amount_cents"].to_list() == [200]


def test_known_account_ids_from_the_store(tmp_path: Path) -> None:
    doc = bundle(accounts=[], transactions=[txn(account_id="stored")])
    path = write(tmp_path / "u1.json", doc)
    assert ingest_paths([path]).counts()["transactions"] == 0
    assert ingest_paths([path], known_account_ids={"stored"}).counts()["transactions"] == 1


def test_transaction_of_rejected_account_is_rejected(tmp_path: Path) -> None:
    got = _reasons(tmp_path, accounts=[account(type="bogus")])
    assert [t for t, _, _ in got] == ["accounts", "transactions"]


@pytest.mark.parametrize(
    ("amount", "cents"),
    [
        (935.0000000000001, 93500),
        (0.1, 10),
        ("12.345", 1234),
        ("12.355", 1236),
        (-5, -500),
        ("1e3", 100000),
    ],
)
def test_exact_cents(tmp_path: Path, amount: object, cents: int) -> None:
    b = ingest_paths([write(tmp_path / "u1.json", bundle(transactions=[txn(amount=amount)]))])
    assert b.frames["transactions"]["amount_cents"].to_list() == [cents]


def test_non_usd_is_kept(tmp_path: Path) -> None:
    b = ingest_paths(
        [write(tmp_path / "u1.json", bundle(transactions=[txn(iso_currency_code="eur")]))]
    )
    assert b.frames["transactions"]["iso_currency_code"].to_list() == ["EUR"]


def test_unknown_category_becomes_other(tmp_path: Path) -> None:
    t = txn(personal_finance_category={"primary": "Stuff", "detailed": "Things"})
    b = ingest_paths([write(tmp_path / "u1.json", bundle(transactions=[t]))])
    row = b.frames["transactions"].row(0, named=True)
    assert (row["pfc_primary"], row["pfc_detailed"], row["pfc_confidence"]) == (
        "OTHER",
        "OTHER_OTHER",
        "UNKNOWN",
    )


def test_mask_keeps_last_four_only(tmp_path: Path) -> None:
    b = ingest_paths([write(tmp_path / "u1.json", bundle(accounts=[account(mask="123456789")]))])
    assert b.frames["accounts"]["mask"].to_list() == ["6789"]


def test_known_users_get_no_placeholder(tmp_path: Path) -> None:
    doc = {"accounts": [account()]}
    b = ingest_paths([write(tmp_path / "u1.accounts.json", doc)], known_user_ids={"u1"})
    assert b.frames["users"].height == 0
