"""Ranking and top-k selection per user, window and kind, with window functions.

Order within (user, window, kind): rank score (high first), then item id (the item
code follows item id order), so the result is deterministic. Items chosen by a specific rule fill up to the maximum;
``general`` items only fill up to the minimum. STABLE users get a short set.
"""

from __future__ import annotations

import polars as pl

from spendsense.recommend.candidates import ROW, RULE_IDS
from spendsense.recommend.config import RecommendConfig
from spendsense.recommend.fields import KEYS

GROUP = [ROW, "is_offer"]
STAGES = ("matched", "renderable", "eligible", "tone_ok")


def limits(cfg: RecommendConfig, stable: pl.Expr | None = None) -> tuple[pl.Expr, pl.Expr]:
    """(minimum, maximum) count expressions for the row's kind and persona status.

    ``stable`` defaults to the boolean ``stable`` column the candidate rows carry.
    """
    stable = pl.col("stable") if stable is None else stable
    education = ~pl.col("is_offer")
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


def _starts() -> pl.Expr:
    """True on the first row of each group, in a frame in group order (groups contiguous)."""
    return pl.any_horizontal([pl.col(c) != pl.col(c).shift() for c in GROUP]).fill_null(True)


def _positions(ordered: pl.LazyFrame) -> pl.LazyFrame:
    """``rank`` of each row of a frame already in group and rank order: the distance from
    its group's first row (no hashing, no sort)."""
    index = pl.int_range(pl.len(), dtype=pl.Int64)
    first = pl.when(_starts()).then(index).forward_fill()
    return ordered.with_columns((index - first + 1).cast(pl.Int32).alias("rank"))


def _any_in_group(flag: pl.Expr) -> pl.Expr:
    """``flag.any().over(GROUP)`` for a frame in group order, from running counts (no hashing):
    the group's count at its last row exceeds the count before its first."""
    ones = flag.fill_null(False).cast(pl.UInt32)
    count = ones.cum_sum()
    starts = _starts()
    before = pl.when(starts).then(count - ones).forward_fill()
    total = pl.when(starts.shift(-1).fill_null(True)).then(count).backward_fill()
    return total > before


def with_position(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Sort by user row, kind, rank score (high first) and item code; add ``rank`` (1 = best)."""
    ordered = frame.sort(
        [*GROUP, "rank_score", "item_code"], descending=[False, False, True, False]
    )
    return _positions(ordered)


def cap_primary(ranked: pl.LazyFrame, cfg: RecommendConfig) -> pl.LazyFrame:
    """Drop primary-persona items past ``primary_persona_max`` in groups with a secondary one,
    and rank again (the order is kept, so no new sort).

    Primary-persona items score highest, so they hold ranks 1..k of a ranked frame;
    capping k leaves the secondary persona at least one slot.
    """
    primary = pl.col("rule_code") == RULE_IDS.index("primary_persona")
    has_secondary = _any_in_group(pl.col("rule_code") == RULE_IDS.index("secondary_persona"))
    capped = primary & has_secondary & (pl.col("rank") > cfg.primary_persona_max)
    return _positions(ranked.filter(~capped))


def select_top(ordered: pl.LazyFrame, cfg: RecommendConfig) -> pl.LazyFrame:
    """Final choice: specific items up to the maximum, general items only up to the minimum.

    ``ordered`` is a subset of a :func:`with_position` frame, still in its order.
    """
    minimum, maximum = limits(cfg)
    ranked = cap_primary(_positions(ordered), cfg)
    general = pl.col("rule_code") == RULE_IDS.index("general")
    keep = (pl.col("rank") <= minimum) | ((pl.col("rank") <= maximum) & ~general)
    return ranked.filter(keep)


def shortfalls(short: pl.LazyFrame) -> pl.LazyFrame:
    """Groups with fewer items than the minimum, with the count at each stage as the reason.

    ``short`` holds the groups below their minimum with ``n_selected``, ``minimum``
    and ``n_<stage>`` for each of :data:`STAGES` (missing counts are zero).
    """
    counts = [pl.col(f"n_{name}") for name in STAGES]
    names = short.collect_schema().names()
    short = short.with_columns(
        [
            (c.fill_null(0) if f"n_{n}" in names else pl.lit(0, pl.Int32)).alias(f"n_{n}")
            for c, n in zip(counts, STAGES, strict=True)
        ]
    )
    parts: list[pl.Expr] = [pl.lit("fewer than the minimum: ")]
    for i, name in enumerate(STAGES):
        parts += [
            pl.lit(", " if i else ""),
            pl.col(f"n_{name}").cast(pl.String),
            pl.lit(f" {name}"),
        ]
    return short.select(
        *KEYS,
        "kind",
        pl.col("n_selected").cast(pl.Int32).alias("selected"),
        pl.col("minimum").cast(pl.Int32),
        pl.concat_str(parts).alias("reason"),
    ).sort([*KEYS, "kind"])
