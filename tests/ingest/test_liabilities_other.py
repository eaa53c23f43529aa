"""Loans beyond credit, mortgage and student are stored in liabilities_other, not rejected."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from ingest_helpers import account, ingest_paths, write

from spendsense.store.db import connect
from spendsense.store.ledger import apply_batch, export_parquet, read_table


def _mapping(tmp_path: Path) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(
        "user: {key: user_id}\n"
        "lists: {accounts: accounts, liabilities: liabilities}\n"
        "rename: {liabilities_other: {rate: interest_rate_percentage}}\n"
    )
    return path


def test_flat_liabilities_route_auto_and_personal_loans(tmp_path: Path) -> None:
    doc = {
        "user_id": "u1",
        "accounts": [
            account("chk"),
            account("car", type="loan", subtype="auto"),
            account("pl", type="loan", subtype="consumer"),
        ],
        "liabilities": [
            {"account_id": "car", "rate": 4.75, "last_statement_balance": 18500,
             "minimum_payment_amount": 425, "next_payment_due_date": "2025-11-05",
             "is_overdue": False},
            {"account_id": "pl", "rate": 11.5, "outstanding_principal_balance": 3000.5,
             "next_monthly_payment": 150},
            {"account_id": "chk", "rate": 1},
        ],
    }  # fmt: skip
    b = ingest_paths([write(tmp_path / "x.json", doc)], mapping=_mapping(tmp_path))
    other = b.frames["liabilities_other"].sort("account_id")
    assert other.select(
        "account_id", "kind", "interest_rate_pct", "balance_cents", "minimum_payment_amount_cents"
    ).rows() == [("car", "auto", 4.75, 1850000, 42500), ("pl", "consumer", 11.5, 300050, 15000)]
    assert other["is_overdue"].to_list() == [False, None]
    assert [(r.position, r.reason) for r in b.rejects] == [
        (
            "liabilities[2]",
            "liability for a 'depository' account: only credit and loan accounts carry liabilities",
        )
    ]
    conn = connect(tmp_path / "s.db")
    apply_batch(conn, b)
    stored = read_table(conn, "liabilities_other").sort("account_id")
    assert stored.equals(other.select(stored.columns))
    export_parquet(conn, tmp_path)
    assert pl.read_parquet(tmp_path / "ledger" / "liabilities_other.parquet").height == 2


def test_a_liabilities_other_table_file_loads_directly(tmp_path: Path) -> None:
    (tmp_path / "accounts.csv").write_text(
        "account_id,user_id,type,subtype,iso_currency_code\ncar,u1,loan,auto,USD\n"
    )
    (tmp_path / "liabilities_other.csv").write_text(
        "account_id,kind,interest_rate_percentage,last_statement_balance\ncar,auto,5.1,9000\n"
    )
    b = ingest_paths([tmp_path])
    assert b.rejects == []
    row = b.frames["liabilities_other"].row(0, named=True)
    assert (row["user_id"], row["kind"], row["balance_cents"]) == ("u1", "auto", 900000)
