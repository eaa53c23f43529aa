"""Tiny inline ledgers for the signal tests."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import polars as pl

from spendsense.ledger.schema import conform, empty

AS_OF = date(2025, 6, 30)


def day(n: int) -> date:
    """The date ``n`` days before AS_OF."""
    return AS_OF - timedelta(days=n)


class LedgerBuilder:
    """Collects rows and returns canonical ledger frames."""

    def __init__(self) -> None:
        self.users: list[dict[str, Any]] = []
        self.accounts: list[dict[str, Any]] = []
        self.txns: list[dict[str, Any]] = []
        self.liabs: list[dict[str, Any]] = []

    def user(self, user_id: str = "u1", consent: str = "granted") -> LedgerBuilder:
        self.users.append({"user_id": user_id, "consent_status": consent})
        return self

    def account(
        self,
        account_id: str,
        user_id: str = "u1",
        type_: str = "depository",
        subtype: str = "checking",
        current: int = 0,
        limit: int | None = None,
        holder: str = "personal",
        balance_date: date | None = None,
    ) -> LedgerBuilder:
        self.accounts.append(
            {
                "account_id": account_id,
                "user_id": user_id,
                "name": f"{subtype} {account_id}",
                "mask": "4523",
                "type": type_,
                "subtype": subtype,
                "holder_category": holder,
                "current_cents": current,
                "limit_cents": limit,
                "balance_date": balance_date,
            }
        )
        return self

    def tx(
        self,
        when: date,
        cents: int,
        merchant: str | None = "Netflix",
        account_id: str = "chk",
        user_id: str = "u1",
        primary: str = "ENTERTAINMENT",
        detailed: str = "ENTERTAINMENT_TV_AND_MOVIES",
        name: str | None = None,
        pending: bool = False,
        pending_id: str | None = None,
        txn_id: str | None = None,
    ) -> LedgerBuilder:
        self.txns.append(
            {
                "transaction_id": txn_id or f"t{len(self.txns)}",
                "account_id": account_id,
                "user_id": user_id,
                "date": when,
                "amount_cents": cents,
                "name": name or (merchant or "").upper(),
                "merchant_name": merchant,
                "pending": pending,
                "pending_transaction_id": pending_id,
                "pfc_primary": primary,
                "pfc_detailed": detailed,
            }
        )
        return self

    def series(self, days: list[int], cents: int | list[int], **kw: Any) -> LedgerBuilder:
        amounts = cents if isinstance(cents, list) else [cents] * len(days)
        for n, c in zip(days, amounts, strict=True):
            self.tx(day(n), c, **kw)
        return self

    def liability(self, account_id: str, user_id: str = "u1", **fields: Any) -> LedgerBuilder:
        self.liabs.append({"account_id": account_id, "user_id": user_id, **fields})
        return self

    def build(self) -> dict[str, pl.DataFrame]:
        def frame(table: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
            if not rows:
                return empty(table)
            return conform(table, pl.DataFrame(rows, infer_schema_length=None))

        return {
            "users": frame("users", self.users),
            "accounts": frame("accounts", self.accounts),
            "transactions": frame("transactions", self.txns),
            "liabilities_credit": frame("liabilities_credit", self.liabs),
        }
