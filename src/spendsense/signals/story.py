"""The story's per-user face (seed 004): thin wrappers over the whole-table compute_features."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import polars as pl

from spendsense.signals.compute import compute_features
from spendsense.signals.config import SignalsConfig
from spendsense.signals.subscriptions import counted_subscription

STORY_USER = "user"
STORY_ACCOUNT = "account"
# Story field names -> ledger names (the story passes Plaid-like dicts with cents amounts).
STORY_ALIASES: dict[str, str] = {"amount": "amount_cents", "category": "pfc_primary"}


def _story_frame(transactions: list[dict[str, Any]] | pl.DataFrame) -> pl.DataFrame:
    """Transactions as a ledger-shaped frame for one user and one personal account."""
    frame = (
        transactions
        if isinstance(transactions, pl.DataFrame)
        else pl.DataFrame(transactions, infer_schema_length=None)
    )
    renames = {
        old: new
        for old, new in STORY_ALIASES.items()
        if old in frame.columns and new not in frame.columns
    }
    frame = frame.rename(renames)
    if frame.height == 0 or "date" not in frame.columns:
        return pl.DataFrame(schema={"date": pl.Date, "amount_cents": pl.Int64})
    if frame.schema["date"] == pl.String:
        frame = frame.with_columns(pl.col("date").str.to_date(strict=False))
    elif frame.schema["date"] != pl.Date:
        frame = frame.with_columns(pl.col("date").cast(pl.Date))
    if "transaction_id" not in frame.columns:
        frame = frame.with_columns(transaction_id=pl.format("t{}", pl.int_range(pl.len())))
    return frame.with_columns(
        user_id=pl.lit(STORY_USER),
        account_id=pl.lit(STORY_ACCOUNT),
        amount_cents=pl.col("amount_cents").round().cast(pl.Int64),
    )


def _story_ledger(frame: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """A one-user, one-account ledger around ``frame`` (consent granted, personal checking)."""
    return {
        "users": pl.DataFrame({"user_id": [STORY_USER], "consent_status": ["granted"]}),
        "accounts": pl.DataFrame(
            {
                "account_id": [STORY_ACCOUNT],
                "user_id": [STORY_USER],
                "type": ["depository"],
                "subtype": ["checking"],
                "holder_category": ["personal"],
            }
        ),
        "transactions": frame,
    }


def subscriptions_dict(
    features: Mapping[str, pl.DataFrame], user_id: str, window_days: int
) -> dict[str, Any]:
    """The story's subscription structure for one user and window, read off the feature tables."""
    key = (pl.col("user_id") == user_id) & (pl.col("window_days") == window_days)
    row = features["subscriptions"].filter(key)
    merchants = (
        features["recurring_streams"]
        .filter(key & counted_subscription())
        .sort("merchant_name")
        .select(
            name=pl.col("merchant_name"),
            frequency=pl.col("frequency").str.to_lowercase(),
            avg_amount=(pl.col("average_amount") * 100).round().cast(pl.Int64),
            count=pl.col("transaction_count").cast(pl.Int64),
        )
        .to_dicts()
    )
    if row.height == 0:
        return _empty()
    return {
        "recurring_merchants": merchants,
        "count": int(row["recurring_merchant_count"][0]),
        "monthly_recurring_spend": round(float(row["monthly_recurring_spend"][0]) * 100),
        "percentage_of_spending": float(row["subscription_share"][0]) * 100.0,
    }


def detect_subscriptions(
    transactions: list[dict[str, Any]] | pl.DataFrame,
    window_days: int,
    as_of: date | None = None,
) -> dict[str, Any]:
    """Recurring subscription merchants for one user's transactions (as_of defaults to the last date)."""
    frame = _story_frame(transactions)
    if as_of is None:
        last = frame["date"].max() if frame.height else None
        if not isinstance(last, date | datetime):
            return _empty()
        as_of = last.date() if isinstance(last, datetime) else last
    config = SignalsConfig(windows=[window_days])
    features = compute_features(_story_ledger(frame), as_of, config)
    return subscriptions_dict(features, STORY_USER, window_days)


def _empty() -> dict[str, Any]:
    """The story's empty subscription structure."""
    return {
        "recurring_merchants": [],
        "count": 0,
        "monthly_recurring_spend": 0,
        "percentage_of_spending": 0.0,
    }


@dataclass
class BehaviorSignals:
    """One user's signals for one window: the story's subscriptions dict plus the other families."""

    subscriptions: dict[str, Any] = field(default_factory=dict)
    savings: dict[str, Any] = field(default_factory=dict)
    credit: dict[str, Any] = field(default_factory=dict)
    credit_cards: list[dict[str, Any]] = field(default_factory=list)
    income: dict[str, Any] = field(default_factory=dict)
    cash_flow: dict[str, Any] = field(default_factory=dict)
    recurring_streams: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_features(
        cls, features: Mapping[str, pl.DataFrame], user_id: str, window_days: int
    ) -> BehaviorSignals:
        """Pick one user's rows out of whole-table feature output."""
        key = (pl.col("user_id") == user_id) & (pl.col("window_days") == window_days)

        def one(table: str) -> dict[str, Any]:
            rows = features[table].filter(key).to_dicts()
            return rows[0] if rows else {}

        return cls(
            subscriptions=subscriptions_dict(features, user_id, window_days),
            savings=one("savings"),
            credit=one("credit"),
            credit_cards=features["credit_cards"].filter(key).to_dicts(),
            income=one("income"),
            cash_flow=one("cash_flow"),
            recurring_streams=features["recurring_streams"].filter(key).to_dicts(),
        )


def behavior_signals(
    ledger: Mapping[str, pl.DataFrame | pl.LazyFrame],
    user_id: str,
    as_of: date,
    window_days: int,
    config: SignalsConfig | None = None,
) -> BehaviorSignals:
    """Signals for one user: the ledger narrowed to that user, through compute_features."""
    one_user: dict[str, pl.DataFrame | pl.LazyFrame] = {
        name: frame.lazy().filter(pl.col("user_id") == user_id)
        for name, frame in ledger.items()
        if "user_id" in frame.lazy().collect_schema().names()
    }
    cfg = (config or SignalsConfig()).model_copy(update={"windows": [window_days]})
    return BehaviorSignals.from_features(
        compute_features(one_user, as_of, cfg), user_id, window_days
    )
