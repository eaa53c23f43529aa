"""assign_personas: features of every user × window in, one assignment row per key out."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Final

import polars as pl

from spendsense.personas.config import PersonasConfig
from spendsense.personas.evaluators import evaluate, persona_rules
from spendsense.personas.inputs import KEY_COLS, join_features
from spendsense.personas.prioritize import choose, rank_personas
from spendsense.personas.trace import (
    persona_reasoning_columns,
    reasoning_columns,
    trace_json,
)

PERSONA_FIELDS: Final[tuple[str, ...]] = ("persona_id", "persona_name", "priority", "severity")

ASSIGNMENT_COLUMNS: Final[tuple[str, ...]] = (
    "assignment_id",
    *KEY_COLS,
    *(f"primary_{f}" for f in PERSONA_FIELDS),
    *(f"secondary_{f}" for f in PERSONA_FIELDS),
    "status",
    "assignment_trace",
    "computed_at",
)


def assignment_id() -> pl.Expr:
    """Deterministic id from the key: readable and stable across Polars versions."""
    return pl.concat_str(
        [
            pl.lit("pa"),
            pl.col("user_id"),
            pl.col("window_days").cast(pl.String),
            pl.col("as_of_date").dt.strftime("%Y-%m-%d"),
        ],
        separator=":",
    ).alias("assignment_id")


def assign_personas(
    features: Mapping[str, pl.DataFrame],
    config: PersonasConfig,
    computed_at: datetime,
    *,
    traces: bool = True,
) -> pl.DataFrame:
    """Evaluate the five personas for every (user_id, window_days, as_of_date) at once.

    Args:
        features: the signal stage's frames by family (subscriptions, savings, credit,
            income, cash_flow; others ignored). A family without a row for a key counts
            as null/0 and the trace lists it under ``missing_features``.
        config: thresholds and the within-priority severity comparison.
        computed_at: when this run happened (passed in: stages never read the clock).
        traces: build ``assignment_trace``; False leaves it null, for runs that store no
            trace (the Parquet-only outputs leave it out): its reasoning sentences and JSON
            are most of this stage's work.

    Returns:
        The persona_assignments columns, sorted by the key.
    """
    rules = persona_rules(config.thresholds)
    wide = join_features(features)
    evaluated = evaluate(wide, rules)
    ranked = rank_personas(evaluated, rules, config.severity_comparison, config.tie_decimals)
    chosen = choose(ranked, rules)
    if traces:
        chosen = chosen.with_columns(persona_reasoning_columns(rules)).with_columns(
            reasoning_columns(rules)
        )
    trace = (
        trace_json(rules, config.severity_comparison)
        if traces
        else pl.lit(None, pl.String).alias("assignment_trace")
    )
    return chosen.select(
        assignment_id(),
        *KEY_COLS,
        *(f"primary_{f}" for f in PERSONA_FIELDS),
        *(f"secondary_{f}" for f in PERSONA_FIELDS),
        "status",
        trace,
        pl.lit(computed_at).alias("computed_at"),
    ).collect()
