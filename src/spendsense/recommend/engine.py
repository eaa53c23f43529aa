"""recommend(): features and persona assignments in, guarded recommendations and traces out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

import polars as pl

from spendsense.guardrails.check import guardrail_check
from spendsense.guardrails.consent import filter_consented
from spendsense.guardrails.disclosure import with_disclosure
from spendsense.guardrails.eligibility import CHECK_FIELDS
from spendsense.guardrails.tone import tone_flagged_expr, tone_violations_expr
from spendsense.personas.config import PersonaThresholds
from spendsense.recommend.candidates import (
    PERSONA_COLUMNS,
    ROW,
    Plan,
    build_candidates,
    matched_signals,
    stage_counts,
    user_rows,
)
from spendsense.recommend.catalog import Catalog
from spendsense.recommend.config import RecommendConfig
from spendsense.recommend.fields import KEYS, build_view
from spendsense.recommend.rank import cap_primary, limits, select_top, shortfalls, with_position
from spendsense.recommend.rationale import render
from spendsense.recommend.trace import ids, trace_json, trace_parts
from spendsense.recommend.triggers import threshold_values

RECOMMENDATION_COLUMNS = [
    "recommendation_id", "user_id", "window_days", "as_of_date", "kind", "item_id", "title",
    "rationale", "disclosure", "rank", "rank_score", "status", "trace_id", "partner",
    "offer_terms", "offer_disclosure",
]  # fmt: skip
TRACE_COLUMNS = ["trace_id", "user_id", "window_days", "as_of_date", "item_id", "trace"]
EXCLUSION_SCHEMA: dict[str, pl.DataType] = {
    "user_id": pl.String(), "window_days": pl.Int32(), "item_id": pl.String(), "reason": pl.String(),
}  # fmt: skip


@dataclass(frozen=True)
class RecommendationResult:
    """Chosen items, one trace per item, offers or items left out and why, and short groups."""

    recommendations: pl.DataFrame
    traces: pl.DataFrame
    exclusions: pl.DataFrame
    shortfalls: pl.DataFrame


def _population(assignments: pl.DataFrame, users: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """Consented users' assignments for ``as_of``, one row per user and window."""
    frame = assignments.filter(pl.col("as_of_date") == as_of)
    cols = [
        (pl.col(c) if c in frame.columns else pl.lit(None)).alias(c)
        for c in ["user_id", "window_days", *PERSONA_COLUMNS]
    ]
    frame = filter_consented(frame.select(cols), users).with_columns(
        pl.col("user_id").cast(pl.String),
        pl.col("window_days").cast(pl.Int32),
        pl.col("primary_persona_id").cast(pl.Int32),
        pl.col("secondary_persona_id").cast(pl.Int32),
    )
    return frame.unique(KEYS, keep="first", maintain_order=True)


def recommend(
    features: Mapping[str, pl.DataFrame],
    assignments: pl.DataFrame,
    users: pl.DataFrame,
    catalog: Catalog,
    *,
    as_of: date,
    generated_at: datetime,
    config_version: str,
    config: RecommendConfig | None = None,
    personas: PersonaThresholds | None = None,
    traces: bool = True,
) -> RecommendationResult:
    """Choose 3-5 education items and 1-3 eligible offers per consented user and window.

    Stages are collected once each: the user frame (features, personas and signal
    strengths, one row per user and window), the scored candidates, the rendered
    rationales, and the final tables. Long frames carry the user frame's row index
    (``_row``) and an item code instead of string keys until the end. ``personas`` are
    the persona thresholds, which the triggers share with the persona rules. With
    ``traces`` False no decision trace is built and ``traces`` comes back empty (for runs
    that store none); every other table is the same.
    """
    cfg = config or RecommendConfig()
    rules = personas or PersonaThresholds()
    plan = catalog.plan(cfg, rules)
    population = _population(assignments, users, as_of)
    view = build_view(features, population, users, as_of=as_of, thresholds=threshold_values(rules))
    rows = user_rows(view, plan)
    found = build_candidates(rows, plan)
    _, maximum = limits(cfg)
    ranked = cap_primary(with_position(found.rows), cfg)
    # `_pos` keeps the rank order (row, kind, rank) through rendering, so no later sort.
    candidates, ineligible = pl.collect_all(
        [
            ranked.filter(pl.col("rank") <= maximum + cfg.render_buffer).with_row_index("_pos"),
            found.exclusions,
        ]
    )
    # Render the best `maximum` per group; spare candidates only where the tone check fails.
    first = candidates.filter(pl.col("rank") <= maximum)
    rendered = _render(first, rows, catalog, plan)
    failed_rows = rendered.filter(pl.col("tone_violations").list.len() > 0).select(ROW, "is_offer")
    if failed_rows.height:
        spare = candidates.filter(pl.col("rank") > maximum).join(
            failed_rows.unique(), on=[ROW, "is_offer"], how="semi"
        )
        rendered = pl.concat([rendered, _render(spare, rows, catalog, plan)])
    passes = (pl.col("tone_violations").list.len() == 0).fill_null(False)
    if rendered.select(passes.all()).item():
        tone_ok = rendered.sort("_pos")  # nothing to filter out
    else:
        tone_ok = rendered.filter(passes).sort("_pos")
    chosen = select_top(tone_ok.lazy(), cfg).collect()

    at_row, at_item = chosen[ROW], chosen["item_code"]
    traced = (
        chosen.drop("stable")
        .hstack(rows.select(*KEYS, *PERSONA_COLUMNS)[at_row])
        .hstack(plan.items.select("kind", "title", "category", "partner", "offer_terms")[at_item])
    )
    trace = pl.lit(None, pl.String)
    if traces:
        personas_json, item_json = trace_parts(rows, plan.items)
        traced = traced.with_columns(
            personas_json.gather(at_row).alias("_personas_json"),
            item_json.gather(at_item).alias("_item_json"),
        ).hstack(matched_signals(chosen, rows, plan))
        trace = trace_json(
            as_of=as_of,
            catalog_version=catalog.version,
            config_version=config_version,
            generated_at=generated_at,
        )
    traced = (
        traced.lazy()
        .with_columns(pl.lit(as_of).alias("as_of_date"))
        .pipe(ids, as_of)
        .pipe(with_disclosure)
        .with_columns(trace.alias("trace"), pl.lit("proposed").alias("status"))
        .collect()
    )
    # The gate every stored item and every operator write passes (guardrails.check).
    gate = guardrail_check(traced, catalog.frame, rows.select(*KEYS, *CHECK_FIELDS))
    stopped = traced.select(ROW, "item_code").hstack(gate).filter(~pl.col("guardrails_passed"))
    if stopped.height:
        traced = traced.filter(gate["guardrails_passed"])
    tone_failed = rendered.filter(pl.col("tone_violations").list.len() > 0).select(
        ROW,
        "item_code",
        pl.concat_str([pl.lit("tone: "), pl.col("tone_violations").list.join(", ")]).alias(
            "reason"
        ),
    )
    exclusions = (
        pl.concat(
            [
                ineligible.lazy(),
                tone_failed.lazy(),
                stopped.lazy()
                .explode("guardrail_reasons")
                .select(ROW, "item_code", pl.col("guardrail_reasons").alias("reason")),
            ]
        )
        .sort(ROW, "item_code", "reason")
        .join(rows.lazy().select(ROW, *KEYS), on=ROW, how="left", maintain_order="left")
        .join(
            plan.items.lazy().select("item_code", "item_id"),
            on="item_code",
            how="left",
            maintain_order="left",
        )
        .select([pl.col(c).cast(t) for c, t in EXCLUSION_SCHEMA.items()])
        .collect()
    )
    return RecommendationResult(
        recommendations=traced.select(RECOMMENDATION_COLUMNS),
        traces=traced.select(TRACE_COLUMNS) if traces else traced.select(TRACE_COLUMNS).clear(),
        exclusions=exclusions,
        shortfalls=_shortfalls(rows, chosen, rendered, plan, cfg),
    )


def _render(frame: pl.DataFrame, rows: pl.DataFrame, catalog: Catalog, plan: Plan) -> pl.DataFrame:
    """Rationale, cited values and tone check for the given candidate rows.

    The fragments are listed only when some rationale is flagged (or missing): otherwise every
    row's list is empty, without building one per row.
    """
    frame = frame.with_columns(plan.items["item_id"].gather(frame["item_code"]))
    out = render(frame, rows, catalog.compiled)
    flagged = out.select(tone_flagged_expr("rationale").fill_null(True).any()).item()
    if flagged:
        return out.with_columns(tone_violations_expr("rationale").alias("tone_violations"))
    return out.with_columns(pl.lit([], pl.List(pl.String)).alias("tone_violations"))


def _shortfalls(
    rows: pl.DataFrame,
    chosen: pl.DataFrame,
    rendered: pl.DataFrame,
    plan: Plan,
    cfg: RecommendConfig,
) -> pl.DataFrame:
    """Groups below their minimum, with the candidate count after each stage as the reason."""
    base = rows.select(ROW, *KEYS, "status")
    groups = pl.concat(
        [base.with_columns(pl.lit(offer).alias("is_offer")) for offer in (False, True)]
    )
    selected = chosen.group_by(ROW, "is_offer").agg(pl.len().cast(pl.Int32).alias("n_selected"))
    minimum, _ = limits(cfg, pl.col("status") == "STABLE")
    short = (
        groups.join(selected, on=[ROW, "is_offer"], how="left")
        .with_columns(pl.col("n_selected").fill_null(0), minimum.alias("minimum"))
        .filter(pl.col("n_selected") < pl.col("minimum"))
    )
    kind = pl.when(pl.col("is_offer")).then(pl.lit("offer")).otherwise(pl.lit("education"))
    if short.is_empty():
        return shortfalls(short.with_columns(kind.alias("kind")).lazy()).collect()
    in_short = pl.col(ROW).is_in(short[ROW].implode())
    short_rows = rows.filter(in_short)
    counts = stage_counts(short_rows, plan).collect()
    tone_ok = (
        rendered.filter(in_short & (pl.col("tone_violations").list.len() == 0))
        .group_by(ROW, "is_offer")
        .agg(pl.len().cast(pl.Int32).alias("n_tone_ok"))
    )
    return shortfalls(
        short.join(counts, on=[ROW, "is_offer"], how="left")
        .join(tone_ok, on=[ROW, "is_offer"], how="left")
        .with_columns(kind.alias("kind"))
        .lazy()
    ).collect()
