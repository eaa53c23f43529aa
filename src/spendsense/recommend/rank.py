"""Ranking and top-k selection per user, window and kind, with window functions.

Order within (user, window, kind): rank score (high first), then item id, so the
result is deterministic. Items chosen by a specific rule fill up to the maximum;
``general`` items only fill up to the minimum. STABLE users get a short set.
"""

from __future__ import annotations

import polars as pl

from spendsense.recommend.config import RecommendConfig
from spendsense.recommend.fields import KEYS

GROUP = [*KEYS, "kind"]


def limits(cfg: RecommendConfig) -> tuple[pl.Expr, pl.Expr]:
    """(minimum, maximum) count expressions for the row's kind and persona status."""
    stable = pl.col("status") == "STABLE"
    education = pl.col("kind") == "education"
    maximum = (
        pl.when(stable & education)
        .then(cfg.stable_education)
        .when(stable)
        .then(cfg.stable_offers)
        .when(education)
        .then(cfg.education_max)
        .otherwise(cfg.offer_max)
    )
    minimum = (
        pl.when(stable)
        .then(maximum)
        .when(education)
        .then(cfg.education_min)
        .otherwise(cfg.offer_min)
    )
    return minimum, maximum


def with_position(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Add ``rank`` (1 = best) within each user, window and kind."""
    ordered = frame.sort(
        [*GROUP, "rank_score", "item_id"], descending=[False, False, False, True, False]
    )
    return ordered.with_columns(
        (pl.int_range(pl.len()).over(GROUP) + 1).cast(pl.Int32).alias("rank")
    )


def preselect(frame: pl.LazyFrame, cfg: RecommendConfig) -> pl.LazyFrame:
    """Keep the best ``maximum + render_buffer`` candidates per group (the ones worth rendering)."""
    _, maximum = limits(cfg)
    return with_position(frame).filter(pl.col("rank") <= maximum + cfg.render_buffer)


def select_top(frame: pl.LazyFrame, cfg: RecommendConfig) -> pl.LazyFrame:
    """Final choice: specific items up to the maximum, general items only up to the minimum."""
    minimum, maximum = limits(cfg)
    ranked = with_position(frame)
    keep = (pl.col("rank") <= minimum) | (
        (pl.col("rank") <= maximum) & (pl.col("rule") != "general")
    )
    return ranked.filter(keep)


def shortfalls(
    population: pl.LazyFrame,
    stages: dict[str, pl.LazyFrame],
    selected: pl.LazyFrame,
    cfg: RecommendConfig,
) -> pl.LazyFrame:
    """Groups with fewer items than the minimum, with the count at each stage as the reason.

    ``stages`` maps a stage name (matched, renderable, eligible, tone_ok) to its
    candidate frame; the reason quotes how many candidates survived each one.
    """
    kinds = pl.DataFrame({"kind": ["education", "offer"]})
    counts = population.select(*KEYS, "status").join(kinds.lazy(), how="cross")
    for name, frame in [*stages.items(), ("selected", selected)]:
        n = frame.group_by(GROUP).agg(pl.len().cast(pl.Int32).alias(f"n_{name}"))
        counts = counts.join(n, on=GROUP, how="left").with_columns(pl.col(f"n_{name}").fill_null(0))
    minimum, _ = limits(cfg)
    parts: list[pl.Expr] = [pl.lit("fewer than the minimum: ")]
    for i, name in enumerate(stages):
        parts += [
            pl.lit(", " if i else ""),
            pl.col(f"n_{name}").cast(pl.String),
            pl.lit(f" {name}"),
        ]
    reason = pl.concat_str(parts)
    return (
        counts.with_columns(minimum.alias("minimum"))
        .filter(pl.col("n_selected") < pl.col("minimum"))
        .select(
            *KEYS, "kind", pl.col("n_selected").alias("selected"), "minimum", reason.alias("reason")
        )
        .sort(GROUP)
    )
