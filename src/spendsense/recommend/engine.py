"""recommend(): features and persona assignments in, guarded recommendations and traces out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

import polars as pl

from spendsense.guardrails.consent import filter_consented
from spendsense.guardrails.disclosure import with_disclosure
from spendsense.guardrails.eligibility import apply_eligibility, exclusions_from
from spendsense.guardrails.tone import tone_violations_expr
from spendsense.recommend.candidates import (
    PERSONA_COLUMNS,
    match_items,
    renderable,
    score_candidates,
)
from spendsense.recommend.catalog import Catalog
from spendsense.recommend.config import RecommendConfig
from spendsense.recommend.fields import KEYS, build_view
from spendsense.recommend.rank import preselect, select_top, shortfalls
from spendsense.recommend.rationale import render
from spendsense.recommend.trace import ids, trace_json
from spendsense.recommend.triggers import user_signals

RECOMMENDATION_COLUMNS = [
    "recommendation_id", "user_id", "window_days", "as_of_date", "kind", "item_id", "title",
    "rationale", "disclosure", "rank", "rank_score", "status", "trace_id",
]  # fmt: skip
TRACE_COLUMNS = ["trace_id", "user_id", "window_days", "as_of_date", "item_id", "trace"]
EXCLUSION_SCHEMA: dict[str, pl.DataType] = {
    "user_id": pl.String(), "window_days": pl.Int32(), "item_id": pl.String(), "reason": pl.String(),
}  # fmt: skip
_ELIG_VIEW = [
    "income.avg_monthly_income", "credit.max_utilization", "credit.is_overdue",
    "savings.has_savings_account", "credit.card_count", "user.age_band",
]  # fmt: skip


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
    """Choose 3-5 education items and 1-3 eligible offers per consented user and window."""
    cfg = config or RecommendConfig()
    population = _population(assignments, users, as_of)
    view = build_view(features, population, users, as_of=as_of)
    items = catalog.frame
    lazy_view, lazy_population = view.lazy(), population.lazy()

    matched = match_items(user_signals(lazy_view, cfg.thresholds), items)
    scored = score_candidates(matched, lazy_population, items, cfg.weights)
    flagged = renderable(lazy_view, items).with_columns(pl.lit(True).alias("renderable"))
    candidates = (
        scored.join(flagged, on=[*KEYS, "item_id"], how="left")
        .with_columns(pl.col("renderable").fill_null(False))
        .collect()
        .lazy()
    )
    shown = candidates.filter(pl.col("renderable")).drop("renderable")
    offers = (
        apply_eligibility(
            shown.filter(pl.col("kind") == "offer")
            .join(items.lazy().select("item_id", "item_harmful", pl.col("^elig_.*$")), on="item_id")
            .join(lazy_view.select(*KEYS, *_ELIG_VIEW), on=KEYS, how="left")
        )
        .collect()
        .lazy()
    )
    education = shown.filter(pl.col("kind") == "education").with_columns(
        pl.lit([], pl.List(pl.String)).alias("checks_passed"),
        pl.lit([], pl.List(pl.String)).alias("checks_failed"),
    )
    columns = education.collect_schema().names()
    eligible = pl.concat([education, offers.filter(pl.col("eligible")).select(columns)])
    worth_rendering, ineligible = pl.collect_all(
        [preselect(eligible, cfg), exclusions_from(offers)]
    )

    rendered = render(worth_rendering, view, catalog.compiled).with_columns(
        tone_violations_expr("rationale").alias("tone_violations")
    )
    tone_ok = rendered.filter(pl.col("tone_violations").list.len() == 0)
    tone_failed = rendered.filter(pl.col("tone_violations").list.len() > 0).select(
        *KEYS,
        "item_id",
        pl.concat_str([pl.lit("tone: "), pl.col("tone_violations").list.join(", ")]).alias(
            "reason"
        ),
    )
    chosen = ids(select_top(tone_ok.lazy(), cfg).with_columns(pl.lit(as_of).alias("as_of_date")))
    chosen = with_disclosure(
        chosen.join(items.lazy().select("item_id", "title", "category"), on="item_id", how="left")
    ).with_columns(
        pl.lit("proposed").alias("status_rec"),
        trace_json(
            catalog_version=catalog.version,
            config_version=config_version,
            generated_at=generated_at,
        ).alias("trace"),
    )
    order = [*KEYS, "kind", "rank"]
    recommendations = (
        chosen.drop("status")
        .rename({"status_rec": "status"})
        .select(RECOMMENDATION_COLUMNS)
        .sort(order)
    )
    exclusions = (
        pl.concat([ineligible.lazy(), tone_failed.lazy()], how="vertical_relaxed")
        .select([pl.col(c).cast(t) for c, t in EXCLUSION_SCHEMA.items()])
        .sort([*KEYS, "item_id", "reason"])
    )
    stages = {
        "matched": scored,
        "renderable": shown,
        "eligible": eligible,
        "tone_ok": tone_ok.lazy(),
    }
    short = shortfalls(lazy_population, stages, chosen, cfg)
    recs, traces, excl, short_df = pl.collect_all(
        [recommendations, chosen.sort(order).select(TRACE_COLUMNS), exclusions, short]
    )
    return RecommendationResult(
        recommendations=recs, traces=traces, exclusions=excl, shortfalls=short_df
    )
