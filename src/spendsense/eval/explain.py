"""Explainability: does a rationale cite a number that matches the user's stored features?

Numbers are pulled from the rationale text and put in a canonical key; every
numeric feature of the same user, window and as-of date is formatted the same
ways ($ with 0 or 2 decimals, whole or one-decimal percentages of ratios, plain
numbers with 0-2 decimals). A recommendation is explained when at least one of
its numbers is among its user's keys.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from spendsense.eval.result import Metric, metric, share

EXPLAIN_TARGET: Final = 1.0
NUMBER_REGEX: Final = r"\$?\d[\d,]*(?:\.\d+)?%?"
DATE_REGEX: Final = r"\d{4}-\d{2}-\d{2}"
# Columns holding ratios (0.68 = 68%): cited as percentages.
RATIO_COLUMNS: Final = frozenset(
    {
        "max_utilization", "utilization", "subscription_share", "growth_rate",
        "pct_days_below_100", "balance_volatility", "pay_gap_cv",
    }
)  # fmt: skip
# Columns that are counts, days or months, never dollars.
PLAIN_COLUMNS: Final = frozenset(
    {
        "recurring_merchant_count", "card_count", "payroll_deposit_count", "median_pay_gap_days",
        "emergency_fund_months", "cash_flow_buffer_months", "days_observed", "transaction_count",
    }
)  # fmt: skip
KEY: Final = ["user_id", "window_days"]


def rationale_tokens(recs: pl.DataFrame) -> pl.DataFrame:
    """One row per number in each rationale: recommendation_id, user_id, window_days, key."""
    exploded = (
        recs.select(
            "recommendation_id",
            "user_id",
            pl.col("window_days").cast(pl.Int64),
            pl.col("rationale")
            .fill_null("")
            .str.replace_all(DATE_REGEX, " ")
            .str.extract_all(NUMBER_REGEX)
            .alias("token"),
        )
        .explode("token")
        .drop_nulls("token")
    )
    digits = pl.col("token").str.replace_all(r"[$,%]", "")
    decimals = (
        pl.when(digits.str.contains(r"\."))
        .then(digits.str.split(".").list.get(1).str.len_chars())
        .otherwise(0)
    )
    kind = (
        pl.when(pl.col("token").str.starts_with("$"))
        .then(pl.lit("$"))
        .when(pl.col("token").str.ends_with("%"))
        .then(pl.lit("%"))
        .otherwise(pl.lit("n"))
    )
    scaled = (digits.cast(pl.Float64, strict=False) * 10.0 ** decimals.cast(pl.Float64)).round(
        0, mode="half_away_from_zero"
    )
    return exploded.select(
        "recommendation_id",
        "user_id",
        "window_days",
        "token",
        pl.concat_str(
            [kind, decimals.cast(pl.String), pl.lit(":"), scaled.cast(pl.Int64).cast(pl.String)]
        ).alias("key"),
    ).drop_nulls("key")


def _keys(values: pl.DataFrame, kind: str, factor: float, decimals: list[int]) -> pl.DataFrame:
    """Canonical keys of ``value`` × ``factor`` at each number of decimals."""
    parts = [
        values.select(
            *KEY,
            pl.concat_str(
                [
                    pl.lit(f"{kind}{d}:"),
                    (pl.col("value").abs() * factor * 10.0**d)
                    .round(0, mode="half_away_from_zero")
                    .cast(pl.Int64)
                    .cast(pl.String),
                ]
            ).alias("key"),
        )
        for d in decimals
    ]
    return pl.concat(parts)


def feature_keys(features: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Every canonical number key a rationale could cite, per (user_id, window_days)."""
    longs = []
    for frame in features.values():
        numeric = [
            c
            for c, t in frame.schema.items()
            if c not in ("window_days",) and (t.is_numeric() or c == "mask")
        ]
        if not numeric or frame.height == 0:
            continue
        longs.append(
            frame.select(
                pl.col("user_id"),
                pl.col("window_days").cast(pl.Int64),
                *[pl.col(c).cast(pl.Float64, strict=False) for c in numeric],
            ).unpivot(index=KEY, variable_name="column", value_name="value")
        )
    if not longs:
        return pl.DataFrame(
            schema={"user_id": pl.String, "window_days": pl.Int64, "key": pl.String}
        )
    values = pl.concat(longs).drop_nulls("value").filter(pl.col("value").is_finite())
    ratio = values.filter(pl.col("column").is_in(sorted(RATIO_COLUMNS)))
    plain = values.filter(
        pl.col("column").is_in(sorted(PLAIN_COLUMNS)) | (pl.col("column") == "mask")
    )
    money = values.filter(
        ~pl.col("column").is_in(sorted(RATIO_COLUMNS | PLAIN_COLUMNS))
        & (pl.col("column") != "mask")
    )
    return pl.concat(
        [
            _keys(money, "$", 1.0, [0, 2]),
            _keys(money, "n", 1.0, [0, 2]),
            _keys(ratio, "%", 100.0, [0, 1]),
            _keys(ratio, "n", 1.0, [1, 2]),
            _keys(plain, "n", 1.0, [0, 1]),
        ]
    ).unique()


def explainability(
    recs: pl.DataFrame, features: dict[str, pl.DataFrame]
) -> tuple[list[Metric], pl.DataFrame]:
    """Share of recommendations citing at least one matching number; per-recommendation detail."""
    tokens = rationale_tokens(recs)
    known = feature_keys(features).with_columns(matched=pl.lit(True))
    matched = tokens.join(known, on=[*KEY, "key"], how="left").with_columns(
        pl.col("matched").fill_null(False)
    )
    per_rec = (
        recs.select("recommendation_id", "user_id", "window_days", "kind", "rationale")
        .join(
            matched.group_by("recommendation_id").agg(
                numbers=pl.len(), matching=pl.col("matched").sum(), tokens=pl.col("token")
            ),
            on="recommendation_id",
            how="left",
        )
        .with_columns(pl.col("numbers").fill_null(0), pl.col("matching").fill_null(0))
    )
    per_rec = per_rec.with_columns(explained=pl.col("matching") > 0)
    n = per_rec.height
    explained = int(per_rec["explained"].sum()) if n else 0
    cited = int(per_rec["numbers"].sum()) if n else 0
    matching = int(per_rec["matching"].sum()) if n else 0
    out = [
        metric(
            "explainability", "rationale_cites_matching_number", share(explained, n),
            target=EXPLAIN_TARGET, op=">=", unit="%", n=n,
            note="rationale cites >= 1 number equal to a stored feature of the same user/window",
        ),
        metric("explainability", "rationale_without_numbers", share(
            int((per_rec["numbers"] == 0).sum()) if n else 0, n), unit="%", n=n),
        metric("explainability", "cited_numbers_matching", share(matching, cited), unit="%", n=cited,
               note="all numbers in rationales, including windows and dates' leftovers"),
    ]  # fmt: skip
    return out, per_rec
