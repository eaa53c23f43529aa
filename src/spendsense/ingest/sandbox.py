"""Plaid sandbox custom-user configs (``override_accounts``) -> staged ledger records.

Ids are deterministic (hash of user, file name, account index, position).
Account and routing numbers (``numbers``) are read only for a mask and then
dropped: they reach neither the ledger nor the quarantine.
"""

from __future__ import annotations

import hashlib
from typing import Any

import polars as pl

from spendsense.ingest.categorize import business_accounts, categorize
from spendsense.ingest.records import frame_of, text
from spendsense.ingest.staging import Staged

DEFAULT_CURRENCY = "USD"  # Plaid's sandbox default when a config names none
PAYROLL_REASON = (
    "payroll account (type 'payroll', {n} paystubs): Plaid payroll-income data is not a bank "
    "account, and paystubs are not ledger transactions; account not loaded"
)


def redact(value: object) -> object:
    """A copy of a JSON value without any ``numbers`` object (account/routing numbers)."""
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items() if k != "numbers"}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _digest(*parts: object) -> str:
    return hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()


def _mask(acct: dict[str, Any]) -> str | None:
    meta: dict[str, Any] = acct["meta"] if isinstance(acct.get("meta"), dict) else {}
    numbers: dict[str, Any] = acct["numbers"] if isinstance(acct.get("numbers"), dict) else {}
    mask = meta.get("mask")
    if mask is None and numbers.get("account") is not None:
        mask = text(numbers.get("account"))
    return None if mask is None else str(text(mask))[-4:]


def _account_row(acct: dict[str, Any], account_id: str) -> dict[str, str | None]:
    meta: dict[str, Any] = acct["meta"] if isinstance(acct.get("meta"), dict) else {}
    return {
        "account_id": account_id,
        "type": text(acct.get("type")),
        "subtype": text(acct.get("subtype")),
        "holder_category": text(acct.get("holder_category")),
        "name": text(meta.get("name")),
        "official_name": text(meta.get("official_name")),
        "mask": _mask(acct),
        "balances_current": text(acct.get("starting_balance")),
        "balances_available": text(acct.get("force_available_balance")),
        "balances_limit": text(meta.get("limit")),
        "iso_currency_code": text(acct.get("currency")) or DEFAULT_CURRENCY,
    }


def _liability(acct: dict[str, Any], account_id: str) -> tuple[str, dict[str, str | None]] | None:
    liab = acct.get("liability")
    if not isinstance(liab, dict):
        return None
    kind = str(liab.get("type") or acct.get("subtype") or "").lower()
    if kind == "credit" or acct.get("type") == "credit":
        return "liabilities_credit", {
            "account_id": account_id,
            "purchase_apr": text(liab.get("purchase_apr")),
            "last_payment_amount": text(liab.get("last_payment_amount")),
            "minimum_payment_amount": text(liab.get("minimum_payment_amount")),
            "is_overdue": text(liab.get("is_overdue")),
        }
    if kind == "student":
        status = liab.get("loan_status")
        return "liabilities_student", {
            "account_id": account_id,
            "interest_rate_percentage": text(liab.get("nominal_apr")),
            "is_overdue": text(liab.get("is_overdue")),
            "minimum_payment_amount": text(liab.get("minimum_payment_amount")),
            "loan_status_type": text(status.get("type")) if isinstance(status, dict) else None,
        }
    return None


def read_sandbox(doc: dict[str, Any], file: str, user: str) -> Staged:
    """Stage one sandbox config for ``user``; business accounts found by rule (docs/ingest.md)."""
    staged = Staged()
    accounts = doc.get("override_accounts")
    if not isinstance(accounts, list):
        staged.file_rejects.append((file, "override_accounts", "accounts", "expected a list", None))
        return staged
    meta: dict[str, str | None] = {"_file": file, "_user": user}
    acct_rows: list[dict[str, str | None]] = []
    txn_rows: list[dict[str, str | None]] = []
    liab_rows: dict[str, list[dict[str, str | None]]] = {}
    for i, acct in enumerate(accounts):
        where = f"override_accounts[{i}]"
        clean = redact(acct)
        if not isinstance(acct, dict):
            bad = {**_account_row({}, ""), "_not_object": "1"}
            acct_rows.append({**bad, **meta, "_pos": where, "_rid": _rid(staged, clean)})
            continue
        if str(acct.get("type") or "").lower() == "payroll":
            income = acct.get("income") if isinstance(acct.get("income"), dict) else {}
            stubs = income.get("paystubs") if income else None
            n = len(stubs) if isinstance(stubs, list) else 0
            staged.file_rejects.append((file, where, "accounts", PAYROLL_REASON.format(n=n), clean))
            continue
        account_id = f"sbx_{_digest(user, file, i)[:16]}"
        row = _account_row(acct, account_id)
        acct_rows.append({**row, **meta, "_pos": where, "_rid": _rid(staged, clean)})
        liab = _liability(acct, account_id)
        if liab:
            liab_rows.setdefault(liab[0], []).append(
                {**liab[1], **meta, "_pos": f"{where}.liability", "_rid": _rid(staged, clean)}
            )
        txns = acct.get("transactions")
        for j, txn in enumerate(txns if isinstance(txns, list) else []):
            t = txn if isinstance(txn, dict) else {}
            txn_rows.append(
                {
                    "transaction_id": f"sbx_{_digest(user, file, i, j)[:20]}",
                    "account_id": account_id,
                    "_acct": account_id,
                    "date": text(t.get("date_posted")),
                    "authorized_date": text(t.get("date_transacted")),
                    "amount": text(t.get("amount")),
                    "iso_currency_code": text(t.get("currency")) or row["iso_currency_code"],
                    "name": text(t.get("description")),
                    "pending": "false",
                    "_not_object": None if isinstance(txn, dict) else "1",
                    **meta,
                    "_pos": f"{where}.transactions[{j}]",
                    "_rid": _rid(staged, redact(txn)),
                }
            )
    txn_frame = frame_of(txn_rows)
    if txn_frame.height:
        amount = pl.col("amount").cast(pl.Float64, strict=False)
        txn_frame = txn_frame.with_columns(categorize(pl.col("name").fill_null(""), amount))
    acct_frame = frame_of(acct_rows)
    if acct_frame.height:
        business = business_accounts(txn_frame) if txn_frame.height else None
        if business is not None:
            acct_frame = acct_frame.join(
                business, left_on="account_id", right_on="_acct", how="left", maintain_order="left"
            )
        else:
            acct_frame = acct_frame.with_columns(pl.lit(None, pl.Boolean).alias("_business"))
        named = pl.concat_str(
            [pl.col(c).fill_null("") for c in ("name", "official_name") if c in acct_frame.columns]
            or [pl.lit("")]
        ).str.to_lowercase()
        acct_frame = acct_frame.with_columns(
            pl.coalesce(
                pl.col("holder_category"),
                pl.when(pl.col("_business").fill_null(False) | named.str.contains("business"))
                .then(pl.lit("business"))
                .otherwise(pl.lit("personal")),
            ).alias("holder_category")
        ).drop("_business")
        staged.add_frame("accounts", acct_frame)
    if txn_frame.height:
        staged.add_frame("transactions", txn_frame.drop("_acct"))
    for table, rows in liab_rows.items():
        staged.add_frame(table, frame_of(rows))
    return staged


def _rid(staged: Staged, original: object) -> str:
    staged.originals.append(original)
    return str(len(staged.originals) - 1)
