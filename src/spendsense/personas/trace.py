"""The assignment trace: one JSON document per row, built as a struct and encoded by Polars."""

from __future__ import annotations

import polars as pl

from spendsense.personas.evaluators import Criterion, PersonaRule
from spendsense.personas.inputs import missing_families
from spendsense.personas.metadata import PERSONA_METADATA, STATUS_STABLE
from spendsense.personas.prioritize import score_col
from spendsense.personas.reasoning import join_phrases, sentence

STABLE_REASONING = "Matched no persona's criteria: no intervention needed. Status: STABLE."


def _criterion(rule: PersonaRule, c: Criterion) -> pl.Expr:
    """{"value", "threshold", "op", "met", ...extras} for one criterion."""
    fields = [
        c.value.alias("value"),
        pl.lit(c.threshold).alias("threshold"),
        pl.lit(c.op).alias("op"),
        pl.col(rule.met_col(c.name)).alias("met"),
        *(expr.alias(name) for name, expr in c.extra.items()),
    ]
    return pl.struct(fields).alias(c.name)


def _triggered_by(rule: PersonaRule) -> pl.Expr:
    """Names of the criteria met, listed only when the persona matched.

    The met flags form a bitmask that indexes a small table of every possible name list:
    a gather is far cheaper than building and compacting a list per row.
    """
    names = [c.name for c in rule.criteria]
    table = pl.Series(
        [[n for bit, n in enumerate(names) if mask >> bit & 1] for mask in range(2 ** len(names))],
        dtype=pl.List(pl.String),
    )
    mask = pl.sum_horizontal(
        [pl.col(rule.met_col(n)).cast(pl.UInt32) * (1 << bit) for bit, n in enumerate(names)]
    )
    mask = pl.when(pl.col(rule.matched_col)).then(mask).otherwise(0)
    return pl.lit(table).gather(mask).alias("triggered_by")


def _evaluation(rule: PersonaRule) -> pl.Expr:
    """One persona's block of the trace, whether it matched or not."""
    matched = pl.col(rule.matched_col)
    meta = PERSONA_METADATA[rule.persona_id]
    return pl.struct(
        pl.lit(meta["name"]).alias("persona_name"),
        matched.alias("matched"),
        pl.lit(rule.rule).alias("rule"),
        pl.struct([_criterion(rule, c) for c in rule.criteria]).alias("criteria"),
        _triggered_by(rule),
        pl.when(matched).then(pl.col(rule.severity_col)).alias("severity"),
        pl.when(matched).then(pl.col(score_col(rule))).alias("comparison_score"),
        pl.lit(meta["priority"]).alias("priority"),
    ).alias(f"persona_{rule.persona_id}")


def persona_reasoning(rule: PersonaRule) -> pl.Expr:
    """'Matched on ... Severity: x. Priority: P.' for one persona (meaningful where it matched)."""
    phrases = join_phrases(
        [c.phrase for c in rule.criteria], [pl.col(rule.met_col(c.name)) for c in rule.criteria]
    )
    priority = PERSONA_METADATA[rule.persona_id]["priority"]
    return sentence(phrases, pl.col(rule.severity_col), priority)


def reasoning_col(rule: PersonaRule) -> str:
    """Column holding a persona's reasoning sentence."""
    return f"p{rule.persona_id}__reasoning"


def persona_reasoning_columns(rules: list[PersonaRule]) -> list[pl.Expr]:
    """Each persona's sentence, computed once (primary and secondary both pick from them)."""
    return [persona_reasoning(r).alias(reasoning_col(r)) for r in rules]


def reasoning_columns(rules: list[PersonaRule]) -> list[pl.Expr]:
    """primary_reasoning and secondary_reasoning, chosen from the per-persona sentences."""
    sentences = {r.persona_id: pl.col(reasoning_col(r)) for r in rules}
    out = []
    for prefix in ("primary", "secondary"):
        chosen = pl.col(f"{prefix}_persona_id")
        expr = pl.coalesce([pl.when(chosen == i).then(text) for i, text in sentences.items()])
        fallback = pl.lit(STABLE_REASONING) if prefix == "primary" else pl.lit(None, pl.String)
        stable = pl.col("status") == STATUS_STABLE
        out.append(pl.when(stable).then(fallback).otherwise(expr).alias(f"{prefix}_reasoning"))
    return out


def trace_struct(rules: list[PersonaRule], severity_comparison: str) -> pl.Expr:
    """The whole trace as a struct (needs the reasoning columns); encode with json_encode."""
    result = pl.struct(
        "primary_persona_id",
        "primary_persona_name",
        "primary_reasoning",
        "secondary_persona_id",
        "secondary_persona_name",
        "secondary_reasoning",
        "status",
        pl.lit(severity_comparison).alias("severity_comparison"),
    ).alias("result")
    return pl.struct(
        "user_id",
        "window_days",
        "as_of_date",
        pl.struct([_evaluation(r) for r in rules]).alias("evaluations"),
        missing_families(),
        result,
    )


def trace_json(rules: list[PersonaRule], severity_comparison: str) -> pl.Expr:
    """The trace serialised to JSON text, vectorised."""
    return trace_struct(rules, severity_comparison).struct.json_encode().alias("assignment_trace")
