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


# Migration 2 as it was generated from signals.schema when it shipped, frozen: a later change
# to the feature schema is a new migration, never a silent difference between old and new
# databases. tests/store/test_schema.py checks the migrated schema against the registries.
FEATURES = """
CREATE TABLE feature_subscriptions (
    "user_id" TEXT,
    "window_days" INTEGER,
    "as_of_date" TEXT,
    "recurring_merchant_count" INTEGER,
    "monthly_recurring_spend" REAL,
    "subscription_spend" REAL,
    "total_spend" REAL,
    "subscription_share" REAL,
    PRIMARY KEY (user_id, window_days, as_of_date)
);
CREATE TABLE feature_savings (
    "user_id" TEXT,
    "window_days" INTEGER,
    "as_of_date" TEXT,
    "has_savings_account" INTEGER,
    "savings_balance" REAL,
    "savings_balance_start" REAL,
    "net_inflow" REAL,
    "net_inflow_monthly" REAL,
    "growth_rate" REAL,
    "avg_monthly_expenses" REAL,
    "emergency_fund_months" REAL,
    PRIMARY KEY (user_id, window_days, as_of_date)
);
CREATE TABLE feature_credit (
    "user_id" TEXT,
    "window_days" INTEGER,
    "as_of_date" TEXT,
    "card_count" INTEGER,
    "max_utilization" REAL,
    "total_card_balance" REAL,
    "total_card_limit" REAL,
    "utilization_flag_30" INTEGER,
    "utilization_flag_50" INTEGER,
    "utilization_flag_80" INTEGER,
    "minimum_payment_only" INTEGER,
    "interest_charges_present" INTEGER,
    "interest_charges_monthly" REAL,
    "is_overdue" INTEGER,
    PRIMARY KEY (user_id, window_days, as_of_date)
);
CREATE TABLE feature_credit_cards (
    "user_id" TEXT,
    "window_days" INTEGER,
    "as_of_date" TEXT,
    "account_id" TEXT,
    "card_name" TEXT,
    "mask" TEXT,
    "balance" REAL,
    "limit" REAL,
    "utilization" REAL,
    "minimum_payment" REAL,
    "interest_charges_monthly" REAL,
    "is_overdue" INTEGER,
    PRIMARY KEY (user_id, window_days, as_of_date, account_id)
);
CREATE TABLE feature_income (
    "user_id" TEXT,
    "window_days" INTEGER,
    "as_of_date" TEXT,
    "income_total" REAL,
    "avg_monthly_income" REAL,
    "payroll_deposit_count" INTEGER,
    "pay_frequency" TEXT,
    "median_pay_gap_days" REAL,
    "pay_gap_cv" REAL,
    "has_gig_income" INTEGER,
    "cash_flow_buffer_months" REAL,
    PRIMARY KEY (user_id, window_days, as_of_date)
);
CREATE TABLE feature_cash_flow (
    "user_id" TEXT,
    "window_days" INTEGER,
    "as_of_date" TEXT,
    "days_observed" INTEGER,
    "avg_daily_balance" REAL,
    "min_daily_balance" REAL,
    "pct_days_below_100" REAL,
    "balance_std" REAL,
    "balance_volatility" REAL,
    PRIMARY KEY (user_id, window_days, as_of_date)
);
CREATE TABLE feature_recurring_streams (
    "user_id" TEXT,
    "window_days" INTEGER,
    "as_of_date" TEXT,
    "stream_id" TEXT,
    "direction" TEXT,
    "merchant_name" TEXT,
    "category" TEXT,
    "frequency" TEXT,
    "average_amount" REAL,
    "last_amount" REAL,
    "first_date" TEXT,
    "last_date" TEXT,
    "predicted_next_date" TEXT,
    "status" TEXT,
    "transaction_count" INTEGER,
    "monthly_amount" REAL,
    "is_subscription" INTEGER,
    PRIMARY KEY (user_id, window_days, as_of_date, stream_id)
)
"""

PERSONAS = """
CREATE TABLE persona_assignments (
    assignment_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    window_days INTEGER NOT NULL,
    as_of_date DATE NOT NULL,
    primary_persona_id INTEGER,
    primary_persona_name TEXT,
    primary_priority TEXT,
    primary_severity REAL,
    secondary_persona_id INTEGER,
    secondary_persona_name TEXT,
    secondary_priority TEXT,
    secondary_severity REAL,
    status TEXT NOT NULL,
    assignment_trace TEXT,
    computed_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (user_id) REFERENCES users(user_id),
    UNIQUE(user_id, window_days, as_of_date)
);
CREATE INDEX idx_persona_user_window ON persona_assignments(user_id, window_days);
CREATE INDEX idx_persona_primary ON persona_assignments(primary_persona_id);
CREATE TABLE pipeline_runs (
    run_id TEXT PRIMARY KEY,
    as_of_date TEXT NOT NULL,
    windows TEXT NOT NULL,
    config_version TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    users INTEGER
)
"""

RECOMMENDATIONS = """
CREATE TABLE recommendations (
    recommendation_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(user_id),
    window_days INTEGER NOT NULL,
    as_of_date DATE NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('education','offer')),
    item_id TEXT NOT NULL,
    title TEXT NOT NULL,
    rationale TEXT NOT NULL,
    disclosure TEXT NOT NULL,
    rank INTEGER NOT NULL,
    rank_score REAL,
    status TEXT NOT NULL DEFAULT 'proposed'
        CHECK (status IN ('proposed','approved','overridden','flagged','delivered')),
    trace_id TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    updated_at TEXT,
    UNIQUE (user_id, window_days, as_of_date, item_id)
);
CREATE INDEX idx_recs_user ON recommendations(user_id, window_days, as_of_date);
CREATE INDEX idx_recs_status ON recommendations(status);
CREATE TABLE decision_traces (
    trace_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    window_days INTEGER NOT NULL,
    as_of_date DATE NOT NULL,
    item_id TEXT NOT NULL,
    trace TEXT NOT NULL
);
CREATE INDEX idx_traces_user ON decision_traces(user_id, as_of_date);
CREATE TABLE eligibility_exclusions (
    user_id TEXT NOT NULL,
    window_days INTEGER NOT NULL,
    as_of_date DATE NOT NULL,
    item_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (user_id, window_days, as_of_date, item_id, reason)
)
"""

OVERSIGHT = """
CREATE TABLE operators (
    operator_id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL DEFAULT 'operator',
    created_at TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('operator','customer')),
    subject_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX idx_tokens_subject ON api_tokens(kind, subject_id);
CREATE TABLE sessions (
    session_hash TEXT PRIMARY KEY,
    operator_id TEXT NOT NULL REFERENCES operators(operator_id),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE login_attempts (
    username TEXT NOT NULL,
    at TEXT NOT NULL,
    success INTEGER NOT NULL
);
CREATE INDEX idx_login_attempts ON login_attempts(username, at);
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    before TEXT,
    after TEXT,
    reason TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TABLE feedback (
    feedback_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(user_id),
    recommendation_id TEXT NOT NULL,
    helpful INTEGER NOT NULL,
    text TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX idx_feedback_rec ON feedback(recommendation_id)
"""

OFFER_FIELDS = """
ALTER TABLE recommendations ADD COLUMN partner TEXT;
ALTER TABLE recommendations ADD COLUMN offer_terms TEXT;
ALTER TABLE recommendations ADD COLUMN offer_disclosure TEXT
"""
"""A partner offer's partner, key terms (JSON) and offer disclosure; null for education."""


SAVINGS_INFLOW_SOURCE = """
ALTER TABLE feature_savings ADD COLUMN "savings_inflow_source" TEXT
"""
"""Which history the savings figures come from (issue 17); frozen like migration 2."""

LIABILITIES_OTHER = """
CREATE TABLE liabilities_other (
    account_id TEXT PRIMARY KEY REFERENCES accounts(account_id),
    user_id TEXT NOT NULL REFERENCES users(user_id),
    kind TEXT,
    interest_rate_pct REAL,
    balance_cents INTEGER,
    minimum_payment_amount_cents INTEGER,
    last_payment_amount_cents INTEGER,
    last_payment_date TEXT,
    next_payment_due_date TEXT,
    is_overdue INTEGER
);
CREATE INDEX idx_liabilities_other_user ON liabilities_other(user_id)
"""
"""Loans beyond credit, mortgage and student (issue 17)."""

CREDENTIALS = """
ALTER TABLE api_tokens ADD COLUMN expires_at TEXT NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN revoked_at TEXT;
CREATE TABLE customer_sessions (
    session_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(user_id),
    token_hash TEXT NOT NULL REFERENCES api_tokens(token_hash),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX idx_customer_sessions_token ON customer_sessions(token_hash);
ALTER TABLE login_attempts ADD COLUMN client TEXT NOT NULL DEFAULT '';
CREATE INDEX idx_login_attempts_client ON login_attempts(client, username, at);
ALTER TABLE sessions ADD COLUMN flash TEXT
"""
"""Token expiry and revocation time (tokens from before this migration, with an empty expiry,
no longer work: issue new ones), customer browser sessions (the cookie holds a session, not
the token), sign-in attempts per client, and a one-time notice per operator session."""

# Transactions a sync removed, by owner: a retried sync finds its removals still valid, and a
# removal of an id that is not the caller's is refused the same whether it exists or not.
REMOVALS = """
CREATE TABLE removed_transactions (
    transaction_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    removed_at TEXT NOT NULL
)
"""


def _changed_users_triggers(tables: tuple[str, ...]) -> str:
    """Every insert, update and delete of a ledger table marks its user(s) in
    ``ledger_changes``. A mark is deleted and inserted again, so a marked user gets a new,
    larger ``mark``: an export that read the marks up to N and clears them after keeps a
    change made meanwhile. (Not INSERT OR REPLACE: an upsert's conflict policy would
    override the trigger's.)"""
    rows = {"insert": ("NEW",), "update": ("OLD", "NEW"), "delete": ("OLD",)}
    return "".join(
        f"CREATE TRIGGER {table}_changes_{event} AFTER {event.upper()} ON {table} BEGIN "
        + " ".join(
            f"DELETE FROM ledger_changes WHERE user_id = {row}.user_id; "
            f"INSERT INTO ledger_changes (user_id) VALUES ({row}.user_id);"
            for row in marks
        )
        + " END;\n"
        for table in tables
        for event, marks in rows.items()
    )


# The ledger's tables as they were at this migration (a test holds them to ledger.schema.TABLES)
_LEDGER_TABLES = (
    "users",
    "accounts",
    "transactions",
    "liabilities_credit",
    "liabilities_mortgage",
    "liabilities_student",
    "liabilities_other",
    "consents",
)

# Users whose ledger rows changed since the Parquet copies were last brought up to date
# (``meta.parquet_base``): an export rewrites only theirs (store/ledger.py, export_parquet).
LEDGER_CHANGES = """
CREATE TABLE ledger_changes (
    mark INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: a new mark is above every old one
    user_id TEXT NOT NULL UNIQUE
);
""" + _changed_users_triggers(_LEDGER_TABLES)

MIGRATIONS: list[str] = [
    LEDGER, FEATURES, PERSONAS, RECOMMENDATIONS, OVERSIGHT, OFFER_FIELDS,
    SAVINGS_INFLOW_SOURCE, LIABILITIES_OTHER, CREDENTIALS, REMOVALS, LEDGER_CHANGES,
]  # fmt: skip
