"""The per-user feature view that rationales, signals and eligibility read.

One row per (user_id, window_days) with namespaced columns: ``credit.max_utilization``,
``card.utilization`` (the user's highest-utilization card), ``stream.merchant_name``
(their largest active subscription), ``user.age_band``, ``window.days`` and the
configured levels content talks about (``threshold.utilization_guide``). Catalog
templates cite these names, so the registry below is what the catalog is validated against.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import polars as pl

from spendsense.ledger.schema import USERS
from spendsense.signals.schema import FEATURE_TABLES, KEY

KEYS = ["user_id", "window_days"]

# Whole tables joined one row per user and window, namespaced by table name.
_ROW_TABLES = ("subscriptions", "savings", "credit", "income", "cash_flow")
# Per-card and per-stream tables reduced to one representative row.
_CARD_FIELDS = (
    "card_name",
    "mask",
    "balance",
    "limit",
    "utilization",
    "minimum_payment",
    "interest_charges_monthly",
    "is_overdue",
)
_STREAM_FIELDS = ("merchant_name", "frequency", "monthly_amount", "last_amount")
# Configured levels a text may quote (the values come from the persona thresholds).
THRESHOLD_FIELDS = ("threshold.utilization_guide", "threshold.utilization_high")


def _field_types() -> dict[str, pl.DataType]:
    types: dict[str, pl.DataType] = {"window.days": pl.Int32(), "user.age_band": pl.String()}
    for table in _ROW_TABLES:
        for col, dtype in FEATURE_TABLES[table].items():
            if col not in KEY:
                types[f"{table}.{col}"] = dtype
    for col in _CARD_FIELDS:
        types[f"card.{col}"] = FEATURE_TABLES["credit_cards"][col]
    for col in _STREAM_FIELDS:
        types[f"stream.{col}"] = FEATURE_TABLES["recurring_streams"][col]
    for name in THRESHOLD_FIELDS:
        types[name] = pl.Float64()
    return types


FIELD_TYPES: dict[str, pl.DataType] = _field_types()
"""Every field a template or rule may cite, with its type."""


def _table(features: Mapping[str, pl.DataFrame], name: str, as_of: date) -> pl.LazyFrame:
    """The feature table for ``as_of`` with its declared schema (empty when absent)."""
    schema = FEATURE_TABLES[name]
    frame = features.get(name)
    if frame is None:
        return pl.LazyFrame(schema=schema)
    cols = [
        (pl.col(c).cast(t) if c in frame.columns else pl.lit(None, t)).alias(c)
        for c, t in schema.items()
    ]
    return frame.lazy().select(cols).filter(pl.col("as_of_date") == as_of)


def _namespaced(
    frame: pl.LazyFrame, prefix: str, columns: tuple[str, ...] | None = None
) -> pl.LazyFrame:
    cols = columns or tuple(c for c in frame.collect_schema().names() if c not in KEY)
    return frame.select(
        pl.col("user_id"), pl.col("window_days"), *[pl.col(c).alias(f"{prefix}.{c}") for c in cols]
    )


def top_card(cards: pl.LazyFrame) -> pl.LazyFrame:
    """Each user's highest-utilization card (ties: larger balance, then mask)."""
    ranked = cards.filter(pl.col("utilization").is_not_null()).sort(
        ["user_id", "window_days", "utilization", "balance", "mask"],
        descending=[False, False, True, True, False],
        nulls_last=True,
    )
    first = ranked.filter(pl.int_range(pl.len()).over(KEYS) == 0)
    return _namespaced(first, "card", _CARD_FIELDS)


def top_stream(streams: pl.LazyFrame) -> pl.LazyFrame:
    """Each user's largest active subscription stream by monthly amount (ties: merchant name)."""
    active = streams.filter(
        pl.col("is_subscription").fill_null(False)
        & (pl.col("direction") == "outflow")
        & (pl.col("status") != "TOMBSTONED")
        & pl.col("monthly_amount").is_not_null()
    ).sort(
        ["user_id", "window_days", "monthly_amount", "merchant_name"],
        descending=[False, False, True, False],
    )
    first = active.filter(pl.int_range(pl.len()).over(KEYS) == 0)
    return _namespaced(first, "stream", _STREAM_FIELDS)


def build_view(
    features: Mapping[str, pl.DataFrame],
    population: pl.DataFrame,
    users: pl.DataFrame,
    *,
    as_of: date,
    thresholds: Mapping[str, float],
) -> pl.DataFrame:
    """Join every feature family onto ``population`` (user_id, window_days, ...) as namespaced columns.

    ``thresholds`` gives the value of every :data:`THRESHOLD_FIELDS` name.
    """
    view = (
        population.lazy()
        .with_columns(pl.col("user_id").cast(pl.String), pl.col("window_days").cast(pl.Int32))
        .with_columns(
            pl.col("window_days").alias("window.days"),
            *(pl.lit(float(thresholds[n]), pl.Float64).alias(n) for n in THRESHOLD_FIELDS),
        )
    )
    for name in _ROW_TABLES:
        table = _table(features, name, as_of).unique(KEYS, keep="first", maintain_order=True)
        view = view.join(_namespaced(table, name), on=KEYS, how="left")
    view = view.join(top_card(_table(features, "credit_cards", as_of)), on=KEYS, how="left")
    view = view.join(top_stream(_table(features, "recurring_streams", as_of)), on=KEYS, how="left")
    ages = (
        users.lazy()
        .select(
            pl.col("user_id").cast(pl.String),
            (pl.col("age_band") if "age_band" in users.columns else pl.lit(None, USERS["age_band"]))
            .cast(pl.String)
            .alias("user.age_band"),
        )
        .unique("user_id", keep="first", maintain_order=True)
    )
    return view.join(ages, on="user_id", how="left").collect()
