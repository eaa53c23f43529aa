"""recommend(): features and persona assignments in, guarded recommendations and traces out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

import polars as pl

from spendsense.guardrails.consent import filter_consented
from spendsense.guardrails.disclosure import with_disclosure
from spendsense.guardrails.tone import tone_violations_expr
from spendsense.recommend.candidates import (
    CHECK_IDS,
    PERSONA_COLUMNS,
    ROW,
    RULE_IDS,
    ItemPlan,
    build_candidates,
    item_plans,
    matched_signal_exprs,
    stage_counts,
)
from spendsense.recommend.catalog import Catalog
from spendsense.recommend.config import RecommendConfig
from spendsense.recommend.fields import KEYS, build_view
from spendsense.recommend.rank import cap_primary, limits, select_top, shortfalls, with_position
from spendsense.recommend.rationale import render
from spendsense.recommend.trace import ids, trace_json
from spendsense.recommend.triggers import signal_strength_columns

RECOMMENDATION_COLUMNS = [
    "recommendation_id", "user_id", "window_days", "as_of_date", "kind", "item_id", "title",
    "rationale", "disclosure", "rank", "rank_score", "status", "trace_id",
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
) -> RecommendationResult:
    """Choose 3-5 education items and 1-3 eligible offers per consented user and window.

    Stages are collected once each: the user frame (features, personas and signal
    strengths, one row per user and window), the scored candidates, the rendered
    rationales, and the final tables. Long frames carry the user frame's row index
    (``_row``) and an item code instead of string keys until the end.
    """
    cfg = config or RecommendConfig()
    population = _population(assignments, users, as_of)
    view = build_view(features, population, users, as_of=as_of)
    wide = view.with_row_index(ROW).with_columns(signal_strength_columns(cfg.thresholds))
    plans = item_plans(catalog.frame)
    by_code = pl.DataFrame(
        {
            "item_code": pl.Series([p.code for p in plans], dtype=pl.UInt16),
            "item_id": [p.item_id for p in plans],
        }
    ).join(catalog.frame.select("item_id", "kind", "title", "category"), on="item_id")

    found = build_candidates(wide.lazy(), plans, cfg.weights)
    _, maximum = limits(cfg)
    ranked = with_position(
        cap_primary(with_position(found.rows.with_columns(_kind())), cfg).drop("rank")
    )
    candidates, ineligible = pl.collect_all(
        [
            ranked.filter(pl.col("rank") <= maximum + cfg.render_buffer),
            found.exclusions,
        ]
    )
    # Render the best `maximum` per group; spare candidates only where the tone check fails.
    first = candidates.filter(pl.col("rank") <= maximum)
    rendered = _render(first, wide, catalog, plans, by_code)
    failed_rows = rendered.filter(pl.col("tone_violations").list.len() > 0).select(ROW, "kind")
    if failed_rows.height:
        spare = candidates.filter(pl.col("rank") > maximum).join(
            failed_rows.unique(), on=[ROW, "kind"], how="semi"
        )
        rendered = pl.concat([rendered, _render(spare, wide, catalog, plans, by_code)])
    tone_ok = rendered.filter(pl.col("tone_violations").list.len() == 0)
    chosen = select_top(tone_ok.lazy(), cfg).collect()

    keys = wide.select(ROW, *KEYS, *PERSONA_COLUMNS)
    chosen = (
        chosen.drop("stable")
        .join(keys, on=ROW, how="left")
        .with_columns(
            pl.lit(as_of).alias("as_of_date"),
            pl.col("rule_code").replace_strict(dict(enumerate(RULE_IDS))).alias("rule"),
            pl.when(pl.col("kind") == "offer")
            .then(pl.lit(CHECK_IDS, pl.List(pl.String)))
            .otherwise(pl.lit([], pl.List(pl.String)))
            .alias("checks_passed"),
            pl.lit([], pl.List(pl.String)).alias("checks_failed"),
        )
    )
    traced = with_disclosure(ids(chosen.lazy())).with_columns(
        pl.lit("proposed").alias("status_rec"),
        trace_json(
            catalog_version=catalog.version,
            config_version=config_version,
            generated_at=generated_at,
        ).alias("trace"),
    )
    order = [*KEYS, "kind", "rank"]
    recommendations = (
        traced.drop("status")
        .rename({"status_rec": "status"})
        .select(RECOMMENDATION_COLUMNS)
        .sort(order)
    )
    tone_failed = rendered.filter(pl.col("tone_violations").list.len() > 0).select(
        ROW,
        "item_code",
        pl.concat_str([pl.lit("tone: "), pl.col("tone_violations").list.join(", ")]).alias(
            "reason"
        ),
    )
    exclusions = (
        pl.concat([ineligible.lazy(), tone_failed.lazy()])
        .join(keys.lazy().select(ROW, *KEYS), on=ROW, how="left")
        .join(by_code.lazy().select("item_code", "item_id"), on="item_code", how="left")
        .select([pl.col(c).cast(t) for c, t in EXCLUSION_SCHEMA.items()])
        .sort([*KEYS, "item_id", "reason"])
    )
    short = _shortfalls(wide, chosen, rendered, plans, cfg)
    recs, traces, excl = pl.collect_all(
        [recommendations, traced.sort(order).select(TRACE_COLUMNS), exclusions]
    )
    return RecommendationResult(
        recommendations=recs, traces=traces, exclusions=excl, shortfalls=short
    )


def _kind() -> pl.Expr:
    return (
        pl.when(pl.col("is_offer"))
        .then(pl.lit("offer"))
        .otherwise(pl.lit("education"))
        .alias("kind")
    )


def _render(
    frame: pl.DataFrame,
    wide: pl.DataFrame,
    catalog: Catalog,
    plans: list[ItemPlan],
    by_code: pl.DataFrame,
) -> pl.DataFrame:
    """Rationale, cited values, matched signals and tone check for the given candidate rows."""
    frame = frame.join(by_code.select("item_code", "item_id"), on="item_code", how="left")
    present = set(frame["item_id"].unique().to_list())
    extra = {p.item_id: matched_signal_exprs(p) for p in plans if p.item_id in present}
    rendered = render(
        frame,
        wide,
        catalog.compiled,
        extra,
        extra_names=("matched_signals", "signal_strengths"),
    )
    return rendered.join(
        by_code.select("item_code", "title", "category"), on="item_code"
    ).with_columns(tone_violations_expr("rationale").alias("tone_violations"))


def _shortfalls(
    wide: pl.DataFrame,
    chosen: pl.DataFrame,
    rendered: pl.DataFrame,
    plans: list[ItemPlan],
    cfg: RecommendConfig,
) -> pl.DataFrame:
    """Groups below their minimum, with the candidate count after each stage as the reason."""
    kinds = pl.DataFrame({"kind": ["education", "offer"]})
    groups = wide.select(ROW, *KEYS, "status").join(kinds, how="cross")
    selected = chosen.group_by(ROW, "kind").agg(pl.len().cast(pl.Int32).alias("n_selected"))
    minimum, _ = limits(cfg, pl.col("status") == "STABLE")
    short = (
        groups.join(selected, on=[ROW, "kind"], how="left")
        .with_columns(pl.col("n_selected").fill_null(0), minimum.alias("minimum"))
        .filter(pl.col("n_selected") < pl.col("minimum"))
    )
    if short.is_empty():
        return shortfalls(short.lazy()).collect()
    rows = wide.filter(pl.col(ROW).is_in(short[ROW].implode()))
    counts = stage_counts(rows.lazy(), plans, cfg.weights).collect()
    tone_ok = (
        rendered.filter(pl.col("tone_violations").list.len() == 0)
        .group_by(ROW, "kind")
        .agg(pl.len().cast(pl.Int32).alias("n_tone_ok"))
    )
    return shortfalls(
        short.join(counts, on=[ROW, "kind"], how="left")
        .join(tone_ok, on=[ROW, "kind"], how="left")
        .lazy()
    ).collect()
