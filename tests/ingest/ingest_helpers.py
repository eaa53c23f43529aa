"""Small builders for ingest tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from spendsense.ingest import ingest_chunks
from spendsense.ledger.batch import LedgerBatch


def account(account_id: str = "a1", **over: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "account_id": account_id,
        "type": "depository",
        "subtype": "checking",
        "mask": "0001",
        "balances": {"current": 100.5, "available": 90, "limit": None, "iso_currency_code": "USD"},
    }
    rec.update(over)
    return rec


def txn(transaction_id: str = "t1", account_id: str = "a1", **over: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "transaction_id": transaction_id,
        "account_id": account_id,
        "date": "2024-03-01",
        "amount": 12.34,
        "iso_currency_code": "USD",
        "name": "Coffee",
        "payment_channel": "in store",
        "pending": False,
        "personal_finance_category": {
            "primary": "FOOD_AND_DRINK",
            "detailed": "FOOD_AND_DRINK_COFFEE",
        },
    }
    rec.update(over)
    return rec


def bundle(user_id: str = "u1", consent: str = "granted", **over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "user": {"user_id": user_id, "name": "Ann", "consent": consent, "age_band": "25-34"},
        "accounts": [account()],
        "transactions": [txn()],
        "liabilities": {"credit": [], "mortgage": [], "student": []},
    }
    doc.update(over)
    return doc


def write(path: Path, doc: object) -> Path:
    path.write_text(json.dumps(doc))
    return path


def ingest_paths(paths: list[Path], **options: Any) -> LedgerBatch:
    """Every chunk ``ingest_chunks`` yields for ``paths``, joined into one batch (for asserting)."""
    batch = LedgerBatch()
    for part in ingest_chunks(paths, **options):
        batch.extend(part)
    return batch
