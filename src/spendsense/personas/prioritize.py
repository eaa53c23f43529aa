"""Primary and secondary persona per row: priority, then severity, then the lower persona id."""

from __future__ import annotations

from typing import Literal

import polars as pl

from spendsense.personas.evaluators import PersonaRule
from spendsense.personas.metadata import (
    PERSONA_METADATA,
    PRIORITY_RANK,
    STATUS_ASSIGNED,
    STATUS_STABLE,
)

Comparison = Literal["threshold_ratio", "raw"]


def score_col(rule: PersonaRule) -> str:
    """Column holding the score compared between personas at the same priority."""
    return f"p{rule.persona_id}__score"


def rank_col(rule: PersonaRule) -> str:
    """Column holding how many matched personas outrank this one (0 = primary)."""
    return f"p{rule.persona_id}__rank"


def comparison_score(rule: PersonaRule, comparison: Comparison, decimals: int) -> pl.Expr:
    """Severity as compared within a priority level, rounded so float noise cannot break ties.

    ``threshold_ratio`` divides by the severity a persona has exactly at its threshold, so
    persona 2 (gap/45, always > 1 when matched) and persona 5 (share of days, at most 1)
    are compared on how far each is past its own line.
    """
    severity = pl.col(rule.severity_col)
    if comparison == "threshold_ratio" and rule.severity_at_threshold > 0:
        severity = severity / rule.severity_at_threshold
    return severity.round(decimals)


def _beats(j: PersonaRule, i: PersonaRule) -> pl.Expr:
    """True where matched persona ``j`` ranks ahead of persona ``i``."""
    pj = PRIORITY_RANK[PERSONA_METADATA[j.persona_id]["priority"]]
    pi = PRIORITY_RANK[PERSONA_METADATA[i.persona_id]["priority"]]
    matched = pl.col(j.matched_col)
    if pj != pi:
        return matched if pj < pi else pl.lit(False)
    sj, si = pl.col(score_col(j)), pl.col(score_col(i))
    ahead = (sj > si) | ((sj == si) & pl.lit(j.persona_id < i.persona_id))
    return matched & ahead


def rank_personas(
    evaluated: pl.LazyFrame, rules: list[PersonaRule], comparison: Comparison, decimals: int
) -> pl.LazyFrame:
    """Add score and rank columns; the matched persona with rank 0 is primary, rank 1 secondary."""
    scored = evaluated.with_columns(
        [comparison_score(r, comparison, decimals).alias(score_col(r)) for r in rules]
    )
    ranks = [
        pl.sum_horizontal([_beats(j, i).cast(pl.Int8) for j in rules if j is not i])
        .cast(pl.Int8)
        .alias(rank_col(i))
        for i in rules
    ]
    return scored.with_columns(ranks)


def _pick(rules: list[PersonaRule], rank: int, value: dict[int, pl.Expr]) -> pl.Expr:
    """The value of the matched persona holding ``rank`` (null when there is none).

    At most one matched persona holds a given rank, so a coalesce of guarded values picks it.
    """
    return pl.coalesce(
        [
            pl.when(pl.col(r.matched_col) & (pl.col(rank_col(r)) == rank)).then(value[r.persona_id])
            for r in rules
        ]
    )


def choose(ranked: pl.LazyFrame, rules: list[PersonaRule]) -> pl.LazyFrame:
    """Add primary_* and secondary_* (id, name, priority, severity) and status."""
    out = []
    for rank, prefix in ((0, "primary"), (1, "secondary")):
        out += [
            _pick(rules, rank, {r.persona_id: pl.lit(r.persona_id, pl.Int32) for r in rules})
            .cast(pl.Int32)
            .alias(f"{prefix}_persona_id"),
            _pick(
                rules,
                rank,
                {r.persona_id: pl.lit(PERSONA_METADATA[r.persona_id]["name"]) for r in rules},
            )
            .cast(pl.String)
            .alias(f"{prefix}_persona_name"),
            _pick(
                rules,
                rank,
                {r.persona_id: pl.lit(PERSONA_METADATA[r.persona_id]["priority"]) for r in rules},
            )
            .cast(pl.String)
            .alias(f"{prefix}_priority"),
            _pick(rules, rank, {r.persona_id: pl.col(r.severity_col) for r in rules})
            .cast(pl.Float64)
            .alias(f"{prefix}_severity"),
        ]
    any_matched = pl.any_horizontal([pl.col(r.matched_col) for r in rules])
    status = (
        pl.when(any_matched).then(pl.lit(STATUS_ASSIGNED)).otherwise(pl.lit(STATUS_STABLE))
    ).alias("status")
    return ranked.with_columns([*out, status])
