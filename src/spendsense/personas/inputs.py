"""Join the signal families into one wide frame per (user_id, window_days, as_of_date)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import polars as pl

from spendsense.signals.schema import FEATURE_TABLES, KEY

KEY_COLS: Final[list[str]] = list(KEY)

# The feature columns the persona rules read, per family (names fixed by signals.schema).
NEEDED: Final[dict[str, tuple[str, ...]]] = {
    "credit": ("max_utilization", "interest_charges_present", "minimum_payment_only", "is_overdue"),
    "income": ("median_pay_gap_days", "cash_flow_buffer_months"),
    "subscriptions": ("recurring_merchant_count", "monthly_recurring_spend", "subscription_share"),
    "savings": ("growth_rate", "net_inflow", "net_inflow_monthly", "savings_inflow_source"),
    "cash_flow": ("pct_days_below_100", "balance_std", "avg_daily_balance", "balance_volatility"),
}
FAMILIES: Final[tuple[str, ...]] = tuple(NEEDED)

# A missing family reads as null for these (null has a meaning in the rules) ...
NULL_WHEN_MISSING: Final[frozenset[str]] = frozenset(
    {
        "max_utilization",  # null = no cards: persona 4 passes its credit test
        "median_pay_gap_days",  # null = fewer than 2 deposits: persona 2 cannot match
        "cash_flow_buffer_months",
        "balance_std",
        "avg_daily_balance",
        "balance_volatility",
        "net_inflow_monthly",  # derived from net_inflow when absent, then 0
        "savings_inflow_source",  # which history the savings figures come from (text)
    }
)
# ... and as 0 / False for everything else.


def present_col(family: str) -> str:
    """Name of the flag column saying the family had a row for this key."""
    return f"has_{family}"


def _family_frame(features: Mapping[str, pl.DataFrame], family: str) -> pl.DataFrame:
    """The family's key + needed columns, typed as the schema says; empty when absent."""
    schema = FEATURE_TABLES[family]
    cols = [*KEY_COLS, *NEEDED[family]]
    frame = features.get(family)
    if frame is None:
        return pl.DataFrame(schema={c: schema[c] for c in cols})
    exprs = []
    for c in cols:
        if c in frame.columns:
            exprs.append(pl.col(c).cast(schema[c]))
        else:
            exprs.append(pl.lit(None, dtype=schema[c]).alias(c))
    return frame.select(exprs).unique(subset=KEY_COLS, keep="last", maintain_order=True)


def join_features(features: Mapping[str, pl.DataFrame]) -> pl.LazyFrame:
    """One row per key seen in any family; ``has_<family>`` flags; missing values filled.

    Keys come from the union of all families, so a user with only some families present
    still gets an assignment (and the trace lists what was missing).
    """
    frames = {f: _family_frame(features, f) for f in FAMILIES}
    keys = pl.concat([f.select(KEY_COLS) for f in frames.values()], how="vertical").unique().lazy()
    wide = keys
    for family, frame in frames.items():
        wide = wide.join(
            frame.lazy().with_columns(pl.lit(True).alias(present_col(family))),
            on=KEY_COLS,
            how="left",
        )
    fills = [pl.col(present_col(f)).fill_null(False) for f in FAMILIES]
    for family in FAMILIES:
        for c in NEEDED[family]:
            if c in NULL_WHEN_MISSING:
                continue
            zero = False if FEATURE_TABLES[family][c] == pl.Boolean else 0
            fills.append(pl.col(c).fill_null(zero))
    window_months = pl.col("window_days").cast(pl.Float64) / 30.0
    return (
        wide.with_columns(fills)
        .with_columns(
            pl.coalesce(pl.col("net_inflow_monthly"), pl.col("net_inflow") / window_months)
            .fill_nan(0.0)
            .fill_null(0.0)
            .alias("net_inflow_monthly")
        )
        .sort(KEY_COLS)
    )


def missing_families() -> pl.Expr:
    """List of the families with no row for this key, for the trace."""
    return (
        pl.concat_list(
            [
                pl.when(~pl.col(present_col(f))).then(pl.lit(f)).otherwise(pl.lit(None, pl.String))
                for f in FAMILIES
            ]
        )
        .list.drop_nulls()
        .alias("missing_features")
    )
