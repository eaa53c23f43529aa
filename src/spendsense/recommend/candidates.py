"""Candidate generation: the user view and signals joined with the catalog, scored by rule.

A candidate is a (user, window, item) where the item answers at least one of
the user's present signals (``general`` is present for everyone). The rule that
chose it is, in order: the item is made for the user's primary persona, for the
secondary persona, it answers a specific signal, or it is general content.
STABLE users get only items marked ``general`` (rule ``stable_general``).
"""

from __future__ import annotations

import polars as pl

from spendsense.recommend.config import RuleWeights
from spendsense.recommend.fields import KEYS

PERSONA_COLUMNS = [
    "status",
    "primary_persona_id",
    "primary_persona_name",
    "primary_severity",
    "secondary_persona_id",
    "secondary_persona_name",
    "secondary_severity",
]

RULES: dict[str, str] = {
    "primary_persona": "made for the user's primary persona and answers a present signal",
    "secondary_persona": "made for the user's secondary persona and answers a present signal",
    "signal": "answers one of the user's present signals",
    "general": "general content used to reach the minimum number of items",
    "stable_general": "general set for a user with no persona (STABLE)",
}


def match_items(signals: pl.LazyFrame, items: pl.DataFrame) -> pl.LazyFrame:
    """(user, window, item) pairs where the item answers a present signal, with matched signals."""
    item_signals = (
        items.lazy().select("item_id", pl.col("signals").alias("signal")).explode("signal")
    )
    # Sort once, then aggregate in order: sorting inside group_by().agg() sorts per group.
    matched = signals.join(item_signals, on="signal", how="inner").sort(
        [*KEYS, "item_id", "strength", "signal"], descending=[False, False, False, True, False]
    )
    specific = pl.col("signal") != "general"
    return matched.group_by([*KEYS, "item_id"], maintain_order=True).agg(
        pl.col("signal").alias("matched_signals"),
        pl.col("strength").alias("signal_strengths"),
        pl.col("strength").filter(specific).max().fill_null(0.0).alias("max_strength"),
        specific.sum().cast(pl.Int32).alias("n_specific"),
    )


def score_candidates(
    matched: pl.LazyFrame, personas: pl.LazyFrame, items: pl.DataFrame, weights: RuleWeights
) -> pl.LazyFrame:
    """Attach the choosing rule and a rank score to every matched (user, window, item)."""
    frame = matched.join(personas.select(*KEYS, *PERSONA_COLUMNS), on=KEYS, how="inner").join(
        items.lazy().select("item_id", "kind", "personas", "weight", "general"),
        on="item_id",
        how="inner",
    )
    stable = pl.col("status") == "STABLE"
    for_primary = pl.col("personas").list.contains(pl.col("primary_persona_id")).fill_null(False)
    for_secondary = (
        pl.col("personas").list.contains(pl.col("secondary_persona_id")).fill_null(False)
    )
    rule = (
        pl.when(stable & pl.col("general"))
        .then(pl.lit("stable_general"))
        .when(stable)
        .then(pl.lit(None, pl.String))
        .when(for_primary)
        .then(pl.lit("primary_persona"))
        .when(for_secondary)
        .then(pl.lit("secondary_persona"))
        .when(pl.col("n_specific") > 0)
        .then(pl.lit("signal"))
        .otherwise(pl.lit("general"))
    )
    base = pl.col("rule").replace_strict(
        {
            "primary_persona": weights.primary_persona,
            "secondary_persona": weights.secondary_persona,
            "signal": weights.signal,
            "stable_general": weights.stable_general,
            "general": weights.general,
        },
        return_dtype=pl.Float64,
    )
    extra = (pl.col("n_specific") - 1).clip(lower_bound=0).cast(pl.Float64)
    score = (
        base
        + weights.strength * pl.col("max_strength")
        + weights.extra_signal * extra
        + pl.col("weight")
    ).round(4)
    return (
        frame.with_columns(rule.alias("rule"))
        .drop_nulls("rule")
        .with_columns(score.alias("rank_score"))
        .drop("personas", "weight", "general")
    )


def renderable(view: pl.LazyFrame, items: pl.DataFrame) -> pl.LazyFrame:
    """(user, window, item) pairs where every field the item's rationale cites is present."""
    fields_by_item = dict(zip(items["item_id"].to_list(), items["fields"].to_list(), strict=True))
    flags = [
        pl.all_horizontal([pl.col(f).is_not_null() for f in fields]).alias(item_id)
        for item_id, fields in fields_by_item.items()
    ]
    wide = view.select(*KEYS, *flags)
    return (
        wide.unpivot(index=KEYS, variable_name="item_id", value_name="ok")
        .filter(pl.col("ok"))
        .drop("ok")
    )
