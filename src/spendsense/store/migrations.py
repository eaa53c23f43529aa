"""Schema migrations, applied in order; ``PRAGMA user_version`` is the index of the last one.

Never edit a released migration: append a new one.
"""

from __future__ import annotations

from collections.abc import Callable

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


# Feature columns added after migration 2, each by the migration that adds it (table, column):
# migration 2 leaves them out, so a new database and a migrated one end up alike.
FEATURE_COLUMNS_ADDED: dict[int, tuple[tuple[str, str], ...]] = {
    7: (("savings", "savings_inflow_source"),),
}


def _sql_type(dtype: object) -> str:
    """SQLite type of a feature column's Polars dtype."""
    import polars as pl

    if dtype == pl.Int32 or dtype == pl.Int64 or dtype == pl.Boolean:
        return "INTEGER"
    if dtype == pl.Float64:
        return "REAL"
    return "TEXT"


def _feature_tables() -> str:
    """DDL for the feature tables, derived from ``signals.schema`` at the time of migration 2.

    Built only when the migration runs: importing Polars here would slow every CLI command.
    """
    from spendsense.signals.schema import FEATURE_TABLES

    later = {pair for pairs in FEATURE_COLUMNS_ADDED.values() for pair in pairs}
    extra_keys = {"credit_cards": ("account_id",), "recurring_streams": ("stream_id",)}
    statements = []
    for table, schema in FEATURE_TABLES.items():
        cols = [
            f'"{name}" {_sql_type(dtype)}'
            for name, dtype in schema.items()
            if (table, name) not in later
        ]
        pk = ", ".join(("user_id", "window_days", "as_of_date", *extra_keys.get(table, ())))
        statements.append(f"CREATE TABLE feature_{table} ({', '.join(cols)}, PRIMARY KEY ({pk}))")
    return ";\n".join(statements)


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


def _added_feature_columns(version: int) -> Callable[[], str]:
    """``ALTER TABLE feature_<t> ADD COLUMN`` for the feature columns of one later migration."""

    def sql() -> str:
        from spendsense.signals.schema import FEATURE_TABLES

        return ";\n".join(
            f'ALTER TABLE feature_{table} ADD COLUMN "{name}" '
            + _sql_type(FEATURE_TABLES[table][name])
            for table, name in FEATURE_COLUMNS_ADDED[version]
        )

    return sql


# A migration is its SQL, or a function that builds it when it runs.
MIGRATIONS: list[str | Callable[[], str]] = [
    LEDGER, _feature_tables, PERSONAS, RECOMMENDATIONS, OVERSIGHT, OFFER_FIELDS,
    _added_feature_columns(7),  # savings_inflow_source (issue 17)
    LIABILITIES_OTHER,  # loans beyond credit, mortgage and student (issue 17)
]  # fmt: skip
