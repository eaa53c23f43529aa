"""Decision traces: one JSON document per recommendation, built as a Polars expression."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from spendsense.recommend.candidates import RULES


def ids(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Deterministic ``recommendation_id`` and ``trace_id`` from user, window, date and item."""
    stem = pl.concat_str(
        [
            pl.col("user_id"),
            pl.col("window_days").cast(pl.String),
            pl.col("as_of_date").dt.strftime("%Y%m%d"),
            pl.col("item_id"),
        ],
        separator=":",
    )
    return frame.with_columns(
        pl.concat_str([pl.lit("rec:"), stem]).alias("recommendation_id"),
        pl.concat_str([pl.lit("trace:"), stem]).alias("trace_id"),
    )


def trace_json(*, catalog_version: str, config_version: str, generated_at: datetime) -> pl.Expr:
    """The trace document: personas, signals and values used, rule, item, checks, tone, score."""
    rule_description = pl.col("rule").replace_strict(RULES, return_dtype=pl.String)
    document = pl.struct(
        pl.col("trace_id"),
        pl.col("recommendation_id"),
        pl.col("user_id"),
        pl.col("window_days"),
        pl.col("as_of_date").dt.strftime("%Y-%m-%d").alias("as_of_date"),
        pl.struct(
            pl.col("item_id").alias("id"),
            pl.col("kind"),
            pl.col("title"),
            pl.col("category"),
        ).alias("item"),
        pl.struct(pl.col("rule").alias("id"), rule_description.alias("description")).alias("rule"),
        pl.struct(
            pl.col("status"),
            pl.col("primary_persona_id"),
            pl.col("primary_persona_name"),
            pl.col("primary_severity"),
            pl.col("secondary_persona_id"),
            pl.col("secondary_persona_name"),
            pl.col("secondary_severity"),
        ).alias("personas"),
        pl.col("matched_signals"),
        pl.col("signal_strengths"),
        pl.struct(
            pl.col("checks_passed").alias("passed"), pl.col("checks_failed").alias("failed")
        ).alias("eligibility"),
        pl.struct(
            (pl.col("tone_violations").list.len() == 0).alias("passed"),
            pl.col("tone_violations").alias("violations"),
        ).alias("tone"),
        pl.col("rank"),
        pl.col("rank_score"),
        pl.lit(catalog_version).alias("catalog_version"),
        pl.lit(config_version).alias("config_version"),
        pl.lit(generated_at.isoformat()).alias("generated_at"),
    ).struct.json_encode()
    # Splice the item-specific cited values (already JSON) in as "signal_values".
    return pl.concat_str(
        [
            document.str.strip_suffix("}"),
            pl.lit(',"signal_values":'),
            pl.col("signal_values"),
            pl.lit("}"),
        ]
    )
