"""compute_features: every signal family for every consented user and window, whole-table."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import polars as pl

from spendsense.signals.cash_flow import cash_flow_features, checking_balance
from spendsense.signals.config import SignalsConfig
from spendsense.signals.credit import card_features, credit_features
from spendsense.signals.income import income_features
from spendsense.signals.recurring import charges, restrict, streams_from_charges
from spendsense.signals.savings import monthly_expenses, savings_features
from spendsense.signals.schema import FEATURE_KEYS, FEATURE_TABLES
from spendsense.signals.subscriptions import subscription_features
from spendsense.signals.windows import Scope, build_scope, grid, lookback_days, scope_chunks

# Value for a user the family found nothing for (absent = null).
DEFAULTS: dict[str, dict[str, object]] = {
    "subscriptions": {
        "recurring_merchant_count": 0,
        "monthly_recurring_spend": 0.0,
        "subscription_spend": 0.0,
        "total_spend": 0.0,
        "subscription_share": 0.0,
    },
    "savings": {
        "has_savings_account": False,
        "savings_balance": 0.0,
        "savings_balance_start": 0.0,
        "net_inflow": 0.0,
        "net_inflow_monthly": 0.0,
        "growth_rate": 0.0,
        "avg_monthly_expenses": 0.0,
    },
    "credit": {
        "card_count": 0,
        "total_card_balance": 0.0,
        "total_card_limit": 0.0,
        "utilization_flag_30": False,
        "utilization_flag_50": False,
        "utilization_flag_80": False,
        "minimum_payment_only": False,
        "interest_charges_present": False,
        "interest_charges_monthly": 0.0,
        "is_overdue": False,
    },
    "income": {
        "income_total": 0.0,
        "avg_monthly_income": 0.0,
        "payroll_deposit_count": 0,
        "pay_frequency": "none",
        "has_gig_income": False,
    },
    "cash_flow": {"days_observed": 0},
}


def _conform(table: str, frame: pl.LazyFrame) -> pl.LazyFrame:
    """Fill defaults, cast to the table's schema, keep its column order."""
    schema = FEATURE_TABLES[table]
    defaults = DEFAULTS.get(table, {})
    names = frame.collect_schema().names()
    cols = []
    for name, dtype in schema.items():
        expr = pl.col(name) if name in names else pl.lit(None)
        if name in defaults:
            expr = expr.fill_null(pl.lit(defaults[name]))
        cols.append(expr.cast(dtype).alias(name))
    return frame.select(cols)


def _per_user(keys: pl.LazyFrame, table: str, family: pl.LazyFrame) -> pl.LazyFrame:
    """Every consented user's key row joined with the family's values."""
    family = family.with_columns(pl.col("user_id").cast(pl.String))
    return _conform(table, keys.join(family, on="user_id", how="left"))


def _window_tables(
    scope: Scope,
    as_of: date,
    window: int,
    config: SignalsConfig,
    candidates: tuple[pl.DataFrame, pl.DataFrame],
    max_lookback: int,
    checking_df: pl.DataFrame,
) -> dict[str, pl.LazyFrame]:
    """The seven feature tables for one window, lazily."""
    txns = scope.transactions.lazy()
    accounts = scope.accounts.lazy()
    keys = grid(scope.users, [window], as_of)
    lookback = lookback_days(window, config)
    base, longest = candidates
    ch_df = longest if lookback >= max_lookback else restrict(longest, as_of, lookback)
    streams = streams_from_charges(base, ch_df, as_of, config).collect().lazy()
    ch = ch_df.lazy()
    expenses = monthly_expenses(txns, as_of, window)
    checking = checking_df.lazy()
    cards = card_features(accounts, scope.liabilities.lazy(), txns, as_of, window, config)
    income = income_features(txns, streams, ch, as_of, window, lookback, config).join(
        checking.join(expenses, on="user_id", how="left").select(
            "user_id",
            cash_flow_buffer_months=pl.when(pl.col("avg_monthly_expenses") > 0).then(
                pl.col("checking_cents") / 100.0 / pl.col("avg_monthly_expenses")
            ),
        ),
        on="user_id",
        how="full",
        coalesce=True,
    )
    return {
        "subscriptions": _per_user(
            keys, "subscriptions", subscription_features(txns, streams, ch, as_of, window)
        ),
        "savings": _per_user(
            keys, "savings", savings_features(accounts, txns, expenses, as_of, window)
        ),
        "credit": _per_user(keys, "credit", credit_features(cards, config)),
        "credit_cards": _conform(
            "credit_cards",
            keys.join(cards.with_columns(pl.col("user_id").cast(pl.String)), on="user_id"),
        ),
        "income": _per_user(keys, "income", income),
        "cash_flow": _per_user(
            keys, "cash_flow", cash_flow_features(checking, txns, as_of, window)
        ),
        "recurring_streams": _conform(
            "recurring_streams",
            keys.join(streams.with_columns(pl.col("user_id").cast(pl.String)), on="user_id"),
        ),
    }


def compute_features_from_scope(
    scope: Scope, as_of: date, config: SignalsConfig
) -> dict[str, pl.DataFrame]:
    """All feature tables from an already-built scope (one user chunk)."""
    parts: dict[str, list[pl.LazyFrame]] = {name: [] for name in FEATURE_TABLES}
    longest = max(lookback_days(w, config) for w in config.windows)
    candidates = charges(scope.transactions, as_of, longest)
    # The checking balance at as-of is the same for every window.
    checking = checking_balance(scope.accounts.lazy(), scope.transactions.lazy(), as_of).collect()
    for window in config.windows:
        for name, frame in _window_tables(
            scope, as_of, window, config, candidates, longest, checking
        ).items():
            parts[name].append(frame)
    names = list(FEATURE_TABLES)
    lazies = [pl.concat(parts[name]).sort(FEATURE_KEYS[name]) for name in names]
    return dict(zip(names, pl.collect_all(lazies), strict=True))


def compute_features(
    ledger: Mapping[str, pl.DataFrame | pl.LazyFrame],
    as_of: date,
    config: SignalsConfig,
    chunk_users: int | None = None,
) -> dict[str, pl.DataFrame]:
    """Feature tables (keys of FEATURE_TABLES) for every consented user and window, sorted by key.

    With ``chunk_users`` (``Settings.chunk_users``), users are processed in chunks of that
    many through the same pure function; a run hands it one chunk already and passes none.
    """
    scope = build_scope(ledger, as_of, config)
    chunks = [scope] if chunk_users is None else scope_chunks(scope, chunk_users)
    if len(chunks) == 1:
        return compute_features_from_scope(scope, as_of, config)
    del scope
    parts = [compute_features_from_scope(chunk, as_of, config) for chunk in chunks]
    return {
        name: pl.concat([part[name] for part in parts]).sort(FEATURE_KEYS[name])
        for name in FEATURE_TABLES
    }
