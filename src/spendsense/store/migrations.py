"""Schema migrations, applied in order; ``PRAGMA user_version`` is the index of the last one.

Never edit a released migration: append a new one.
"""

from __future__ import annotations

LEDGER = """
CREATE TABLE users (
    user_id TEXT PRIMARY KEY,
    name TEXT,
    consent_status TEXT NOT NULL DEFAULT 'none' CHECK (consent_status IN ('granted','revoked','none')),
    age_band TEXT, gender TEXT, income_tier TEXT, region TEXT,
    source TEXT
);
CREATE TABLE accounts (
    account_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(user_id),
    name TEXT, official_name TEXT,
    type TEXT NOT NULL, subtype TEXT, holder_category TEXT, mask TEXT,
    current_cents INTEGER, available_cents INTEGER, limit_cents INTEGER,
    iso_currency_code TEXT, balance_date TEXT
);
CREATE INDEX idx_accounts_user ON accounts(user_id);
CREATE TABLE transactions (
    transaction_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(account_id),
    user_id TEXT NOT NULL REFERENCES users(user_id),
    date TEXT NOT NULL, authorized_date TEXT,
    amount_cents INTEGER NOT NULL,
    iso_currency_code TEXT, name TEXT, merchant_name TEXT, payment_channel TEXT,
    pending INTEGER NOT NULL DEFAULT 0, pending_transaction_id TEXT,
    pfc_primary TEXT, pfc_detailed TEXT, pfc_confidence TEXT
);
CREATE INDEX idx_transactions_user_date ON transactions(user_id, date);
CREATE INDEX idx_transactions_account ON transactions(account_id);
CREATE TABLE liabilities_credit (
    account_id TEXT PRIMARY KEY REFERENCES accounts(account_id),
    user_id TEXT NOT NULL REFERENCES users(user_id),
    purchase_apr_pct REAL, is_overdue INTEGER,
    last_payment_amount_cents INTEGER, last_payment_date TEXT,
    last_statement_balance_cents INTEGER, last_statement_issue_date TEXT,
    minimum_payment_amount_cents INTEGER, next_payment_due_date TEXT,
    interest_charge_cents INTEGER
);
CREATE TABLE liabilities_mortgage (
    account_id TEXT PRIMARY KEY REFERENCES accounts(account_id),
    user_id TEXT NOT NULL REFERENCES users(user_id),
    interest_rate_pct REAL, interest_rate_type TEXT,
    next_monthly_payment_cents INTEGER, next_payment_due_date TEXT,
    past_due_amount_cents INTEGER
);
CREATE TABLE liabilities_student (
    account_id TEXT PRIMARY KEY REFERENCES accounts(account_id),
    user_id TEXT NOT NULL REFERENCES users(user_id),
    interest_rate_pct REAL, is_overdue INTEGER,
    minimum_payment_amount_cents INTEGER, next_payment_due_date TEXT,
    loan_status TEXT
);
CREATE TABLE consents (
    user_id TEXT NOT NULL REFERENCES users(user_id),
    status TEXT NOT NULL CHECK (status IN ('granted','revoked')),
    changed_at TEXT NOT NULL,
    source TEXT NOT NULL,
    actor TEXT,
    PRIMARY KEY (user_id, changed_at, status)
);
CREATE TABLE sync_cursors (
    user_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    next_cursor TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (user_id, item_id)
);
CREATE TABLE ingest_runs (
    run_id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    files INTEGER, loaded INTEGER, rejected INTEGER
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)
"""

MIGRATIONS: list[str] = [LEDGER]
