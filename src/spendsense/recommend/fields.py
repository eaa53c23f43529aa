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
from typing import Any

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
# Levels a text may quote (from the persona thresholds, and the low-balance level).
THRESHOLD_FIELDS = (
    "threshold.utilization_guide",
    "threshold.utilization_high",
    "threshold.low_balance",
)


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


def _python_type(dtype: pl.DataType) -> type | None:
    if dtype == pl.Boolean():
        return bool
    if dtype.is_integer():
        return int
    return float if dtype.is_float() else None


_PY_TYPES = {
    table: {c: _python_type(t) for c, t in schema.items()}
    for table, schema in FEATURE_TABLES.items()
}
"""Per feature table and column, the Python type a stored value is read as (SQLite keeps
booleans as 0/1)."""


def _coerce(value: Any, kind: type | None) -> Any:
    return value if value is None or kind is None else kind(value)


def _card_key(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """:func:`top_card`'s order: utilization high first, then balance high first, then mask."""
    balance, mask = row.get("balance"), row.get("mask")
    return (-row["utilization"], balance is None, -(balance or 0.0), mask is None, mask or "")


def _stream_key(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """:func:`top_stream`'s order: monthly amount high first, then merchant name (nulls first)."""
    name = row.get("merchant_name")
    return (-row["monthly_amount"], name is not None, name or "")


def _active_stream(row: Mapping[str, Any]) -> bool:
    status = row.get("status")
    return (
        bool(row.get("is_subscription"))
        and row.get("direction") == "outflow"
        and status is not None
        and status != "TOMBSTONED"
        and row.get("monthly_amount") is not None
    )


def view_rows(
    tables: Mapping[str, list[dict[str, Any]]], thresholds: Mapping[str, float]
) -> dict[int, dict[str, Any]]:
    """:func:`build_view` for one user's stored feature rows (one as-of), in plain Python.

    The customer's page needs one user's values per request, where building frames costs
    more than the page itself; a test holds this equal to :func:`build_view`.
    ``tables`` maps a feature table name to its rows (dicts with the table's columns) and
    ``thresholds`` gives every :data:`THRESHOLD_FIELDS` value. Returns {window_days: {field:
    value}} for every window any table has.
    """
    windows = sorted({int(r["window_days"]) for rows in tables.values() for r in rows})
    levels = {n: float(thresholds[n]) for n in THRESHOLD_FIELDS}
    out: dict[int, dict[str, Any]] = {
        w: {f: None for f in FIELD_TYPES} | {"window.days": w} | levels for w in windows
    }
    for table in _ROW_TABLES:
        seen: set[int] = set()
        for row in tables.get(table, []):
            window = int(row["window_days"])
            if window in seen:
                continue  # build_view keeps the first row per (user, window)
            seen.add(window)
            for col, kind in _PY_TYPES[table].items():
                if col not in KEY:
                    out[window][f"{table}.{col}"] = _coerce(row.get(col), kind)
    picks = (
        (
            "card",
            "credit_cards",
            _CARD_FIELDS,
            lambda r: r.get("utilization") is not None,
            _card_key,
        ),
        ("stream", "recurring_streams", _STREAM_FIELDS, _active_stream, _stream_key),
    )
    for prefix, table, columns, keep, key in picks:
        for window in windows:
            rows = [r for r in tables.get(table, []) if int(r["window_days"]) == window and keep(r)]
            if rows:
                best = min(rows, key=key)
                for col in columns:
                    out[window][f"{prefix}.{col}"] = _coerce(best.get(col), _PY_TYPES[table][col])
    return out
