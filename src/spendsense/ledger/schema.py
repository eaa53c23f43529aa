"""Canonical ledger tables: one typed Polars schema per table.

Every later stage speaks these names. Plaid names are converted once, in
``spendsense.ingest``. Money is integer cents (``*_cents``, ``Int64``) with
Plaid's sign: positive = money out of the account. Dates are ``pl.Date``.
"""

from __future__ import annotations

import polars as pl

USERS: dict[str, pl.DataType] = {
    "user_id": pl.String(),
    "name": pl.String(),
    "consent_status": pl.String(),  # granted | revoked | none
    "age_band": pl.String(),  # 18-24 | 25-34 | 35-44 | 45-54 | 55-64 | 65+
    "gender": pl.String(),
    "income_tier": pl.String(),  # low | lower_middle | middle | upper_middle | high
    "region": pl.String(),  # northeast | midwest | south | west
    "source": pl.String(),  # file the record came from
}

ACCOUNTS: dict[str, pl.DataType] = {
    "account_id": pl.String(),
    "user_id": pl.String(),
    "name": pl.String(),
    "official_name": pl.String(),
    "type": pl.String(),  # Plaid account type
    "subtype": pl.String(),  # Plaid account subtype
    "holder_category": pl.String(),  # personal | business | unrecognized
    "mask": pl.String(),  # last 2-4 characters only; full numbers are never stored
    "current_cents": pl.Int64(),
    "available_cents": pl.Int64(),
    "limit_cents": pl.Int64(),
    "iso_currency_code": pl.String(),
    "balance_date": pl.Date(),  # the day ``current_cents`` was read (null: as-of date)
}

TRANSACTIONS: dict[str, pl.DataType] = {
    "transaction_id": pl.String(),
    "account_id": pl.String(),
    "user_id": pl.String(),
    "date": pl.Date(),
    "authorized_date": pl.Date(),
    "amount_cents": pl.Int64(),  # positive = money out
    "iso_currency_code": pl.String(),
    "name": pl.String(),
    "merchant_name": pl.String(),
    "payment_channel": pl.String(),  # online | in store | other
    "pending": pl.Boolean(),
    "pending_transaction_id": pl.String(),
    "pfc_primary": pl.String(),  # PFC v2 primary
    "pfc_detailed": pl.String(),  # PFC v2 detailed
    "pfc_confidence": pl.String(),
}

LIABILITIES_CREDIT: dict[str, pl.DataType] = {
    "account_id": pl.String(),
    "user_id": pl.String(),
    "purchase_apr_pct": pl.Float64(),  # a rate, not money
    "is_overdue": pl.Boolean(),
    "last_payment_amount_cents": pl.Int64(),
    "last_payment_date": pl.Date(),
    "last_statement_balance_cents": pl.Int64(),
    "last_statement_issue_date": pl.Date(),
    "minimum_payment_amount_cents": pl.Int64(),
    "next_payment_due_date": pl.Date(),
    "interest_charge_cents": pl.Int64(),  # sum of aprs[].interest_charge_amount
}

LIABILITIES_MORTGAGE: dict[str, pl.DataType] = {
    "account_id": pl.String(),
    "user_id": pl.String(),
    "interest_rate_pct": pl.Float64(),
    "interest_rate_type": pl.String(),
    "next_monthly_payment_cents": pl.Int64(),
    "next_payment_due_date": pl.Date(),
    "past_due_amount_cents": pl.Int64(),
}

LIABILITIES_STUDENT: dict[str, pl.DataType] = {
    "account_id": pl.String(),
    "user_id": pl.String(),
    "interest_rate_pct": pl.Float64(),
    "is_overdue": pl.Boolean(),
    "minimum_payment_amount_cents": pl.Int64(),
    "next_payment_due_date": pl.Date(),
    "loan_status": pl.String(),
}

# Loans the three Plaid liability tables do not cover (auto, personal/consumer, home equity,
# lines of credit, ...), kept so debt and cash-flow views can use them.
LIABILITIES_OTHER: dict[str, pl.DataType] = {
    "account_id": pl.String(),
    "user_id": pl.String(),
    "kind": pl.String(),  # the loan account's subtype: auto, consumer, home equity, ...
    "interest_rate_pct": pl.Float64(),
    "balance_cents": pl.Int64(),  # outstanding balance (statement or principal)
    "minimum_payment_amount_cents": pl.Int64(),  # next payment due
    "last_payment_amount_cents": pl.Int64(),
    "last_payment_date": pl.Date(),
    "next_payment_due_date": pl.Date(),
    "is_overdue": pl.Boolean(),
}

CONSENTS: dict[str, pl.DataType] = {
    "user_id": pl.String(),
    "status": pl.String(),  # granted | revoked
    "changed_at": pl.Datetime("us", "UTC"),
    "source": pl.String(),  # bundle | cli | api | web
    "actor": pl.String(),  # who made the change
}

TABLES: dict[str, dict[str, pl.DataType]] = {
    "users": USERS,
    "accounts": ACCOUNTS,
    "transactions": TRANSACTIONS,
    "liabilities_credit": LIABILITIES_CREDIT,
    "liabilities_mortgage": LIABILITIES_MORTGAGE,
    "liabilities_student": LIABILITIES_STUDENT,
    "liabilities_other": LIABILITIES_OTHER,
    "consents": CONSENTS,
}

PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "users": ("user_id",),
    "accounts": ("account_id",),
    "transactions": ("transaction_id",),
    "liabilities_credit": ("account_id",),
    "liabilities_mortgage": ("account_id",),
    "liabilities_student": ("account_id",),
    "liabilities_other": ("account_id",),
    "consents": ("user_id", "changed_at", "status"),
}


def empty(table: str) -> pl.DataFrame:
    """An empty frame with the table's schema."""
    return pl.DataFrame(schema=TABLES[table])


def conform(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Cast ``frame`` to the table's schema: missing columns null, extra columns dropped."""
    schema = TABLES[table]
    missing = [
        pl.lit(None, dtype).alias(name)
        for name, dtype in schema.items()
        if name not in frame.columns
    ]
    # with_columns broadcasts literals to the frame's height (0 rows stay 0 rows)
    return frame.with_columns(missing).select([pl.col(n).cast(d) for n, d in schema.items()])
