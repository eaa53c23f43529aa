"""The sentence check: every sentence a customer could read, over a whole population, held to
the sentence contract (``spendsense.text.CONTRACT``).

Three sources, all rendered the way the product renders them:

- every catalog rationale template over every (user, window) of the feature view, wherever
  the engine would be able to show it (its cited values are present and showable), so a
  template is checked even where no user was given it yet;
- every insight wording, by the same rule;
- every customer's merged page (:func:`recommend.page.population_pages`) from the stored,
  delivered recommendations: rationales as stored (operator edits included), period
  labels, format labels, offer disclosures, calculator results and hints.

The page check also counts pages that repeat a title (the merge must never do so).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from spendsense.config import Settings
from spendsense.eval.load import Stored
from spendsense.eval.result import Metric, metric, share
from spendsense.guardrails.delivery import delivered_expr
from spendsense.recommend.catalog import CONTENT_DIR, Catalog, CatalogError, load_catalog
from spendsense.recommend.config import RecommendConfig
from spendsense.recommend.fields import build_view
from spendsense.recommend.insights import INSIGHTS_FILE, Insight, insight_sentences, load_insights
from spendsense.recommend.page import Page, page_sentences, population_pages
from spendsense.recommend.rationale import compile_template, parse_template
from spendsense.recommend.triggers import threshold_values
from spendsense.text import sentence_problems_expr, showable_expr

SCHEMA: dict[str, Any] = {
    "user_id": pl.String,
    "window_days": pl.Int64,
    "source": pl.String,
    "id": pl.String,
    "sentence": pl.String,
}


def template_sentences(view: pl.DataFrame, catalog: Catalog) -> pl.DataFrame:
    """Every catalog rationale rendered over every row of ``view`` where it could be shown."""
    parts = []
    for item in catalog.items:
        holders = parse_template(item.rationale)[1]
        ok = pl.all_horizontal(
            [
                pl.col(h.field).is_not_null() if h.fmt == "text" else showable_expr(h.field, h.fmt)
                for h in holders
            ]
        )
        parts.append(
            view.filter(ok.fill_null(False)).select(
                pl.col("user_id").cast(pl.String),
                pl.col("window_days").cast(pl.Int64),
                pl.lit("template").alias("source"),
                pl.lit(item.id).alias("id"),
                compile_template(item.rationale).alias("sentence"),
            )
        )
    return pl.concat(parts).drop_nulls("sentence") if parts else pl.DataFrame(schema=SCHEMA)


def _insights(view: pl.DataFrame, insights: Sequence[Insight]) -> pl.DataFrame:
    frame = insight_sentences(view, tuple(insights))
    return frame.select(
        pl.col("user_id").cast(pl.String),
        pl.col("window_days").cast(pl.Int64),
        pl.lit("insight").alias("source"),
        pl.col("insight_id").alias("id"),
        "sentence",
    )


def _pages(pages: Iterable[tuple[str, Page]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Page sentences, and one row per page: card count, repeated titles."""
    rows: list[tuple[str, str, str]] = []
    summary: list[tuple[str, int, int, int]] = []
    for user_id, page in pages:
        rows += [(user_id, where, text) for where, text in page_sentences(page)]
        titles = [c.title for c in page.cards]
        items = [c.item_id for c in page.cards]
        repeated = len(titles) - len(set(titles)) + len(items) - len(set(items))
        summary.append(
            (user_id, len(page.cards), repeated, len({c.window_days for c in page.cards}))
        )
    sentences = pl.DataFrame(
        rows, schema={"user_id": pl.String, "id": pl.String, "sentence": pl.String}, orient="row"
    ).select(
        "user_id",
        pl.lit(None, pl.Int64).alias("window_days"),
        pl.lit("page").alias("source"),
        "id",
        "sentence",
    )
    pages_frame = pl.DataFrame(
        summary,
        schema={"user_id": pl.String, "cards": pl.Int64, "repeated": pl.Int64, "periods": pl.Int64},
        orient="row",
    )
    return sentences, pages_frame


def check_sentences(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with ``problems``: the contract rules each sentence breaks."""
    return frame.with_columns(sentence_problems_expr("sentence").alias("problems"))


def population_sentences(
    view: pl.DataFrame,
    delivered: pl.DataFrame,
    assignments: pl.DataFrame,
    catalog: Catalog,
    insights: Sequence[Insight],
    *,
    config: RecommendConfig | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(every sentence checked, one row per page) for a population.

    ``view`` is :func:`recommend.fields.build_view` over every consented (user, window);
    ``delivered`` the recommendations the delivery policy delivers.
    """
    pages = population_pages(delivered, view, assignments, catalog, insights, config=config)
    page_rows, per_page = _pages(pages)
    frame = pl.concat(
        [template_sentences(view, catalog), _insights(view, insights), page_rows], how="vertical"
    )
    return check_sentences(frame), per_page


def failures_by_rule(checked: pl.DataFrame, examples: int = 3) -> pl.DataFrame:
    """Per broken rule: how many sentences, and a few examples with their source."""
    bad = checked.filter(pl.col("problems").list.len() > 0).explode("problems")
    if bad.is_empty():
        return pl.DataFrame(
            schema={"rule": pl.String, "sentences": pl.UInt32, "examples": pl.List(pl.String)}
        )
    return (
        bad.group_by(pl.col("problems").alias("rule"))
        .agg(
            pl.len().alias("sentences"),
            pl.format("{} {}: {}", "source", "id", "sentence").head(examples).alias("examples"),
        )
        .sort("sentences", descending=True)
    )


SENTENCE_TARGET = 1.0


def _content(catalog_root: Path | None) -> tuple[Catalog, tuple[Insight, ...], str | None]:
    """The catalog (the shipped one when ``catalog_root``'s does not load) and the insights."""
    root = catalog_root or CONTENT_DIR
    note = None
    try:
        catalog = load_catalog(root)
    except CatalogError as exc:
        catalog = load_catalog(CONTENT_DIR)
        note = f"sentence check used the shipped catalog: {exc}"
    insights_root = root if (root / INSIGHTS_FILE).is_file() else CONTENT_DIR
    return catalog, load_insights(insights_root), note


def sentence_metrics(
    settings: Settings, stored: Stored, catalog_root: Path | None = None
) -> tuple[list[Metric], dict[str, Any]]:
    """The sentence-contract metrics of ``spendsense report`` over the stored population."""
    catalog, insights, note = _content(catalog_root)
    consented = stored.consented.select("user_id")
    population = (
        stored.assignments.select("user_id", pl.col("window_days").cast(pl.Int32))
        .join(consented, on="user_id", how="semi")
        .unique(maintain_order=True)
    )
    view = build_view(
        stored.features,
        population,
        stored.users,
        as_of=stored.as_of or date.today(),
        thresholds=threshold_values(settings.personas.thresholds),
    )
    recs = stored.recommendations.join(consented, on="user_id", how="semi")
    delivered = recs.filter(delivered_expr(settings.delivery_policy)) if recs.height else recs
    checked, pages = population_sentences(
        view, delivered, stored.assignments, catalog, insights, config=settings.recommend
    )
    stored_rationales = check_sentences(
        recs.select(
            "user_id",
            pl.col("window_days").cast(pl.Int64),
            pl.lit("rationale").alias("source"),
            "item_id",
            pl.col("rationale").alias("sentence"),
        ).rename({"item_id": "id"})
    )
    checked = pl.concat([checked, stored_rationales], how="vertical")
    n = checked.height
    good = int((checked["problems"].list.len() == 0).sum()) if n else 0
    repeated = int((pages["repeated"] > 0).sum()) if pages.height else 0
    median_cards = (
        float(pages.select(pl.col("cards").cast(pl.Float64).median()).item())
        if pages.height
        else None
    )
    metrics = [
        metric(
            "sentences", "sentences_meeting_contract", share(good, n), target=SENTENCE_TARGET,
            op=">=", unit="%", n=n,
            note="every rationale template, insight wording, stored rationale and page sentence"
            " over every consented user and window meets the sentence contract",
        ),
        metric(
            "sentences", "pages_repeating_a_title", float(repeated) if pages.height else None,
            target=0, op="<=", unit="pages", n=pages.height,
            note="customer pages (both windows merged) showing an item or title twice",
        ),
        metric(
            "sentences", "cards_per_page_median", median_cards,
            unit="cards", n=pages.height, note="cards on the merged customer page",
        ),
    ]  # fmt: skip
    details: dict[str, Any] = {
        "failures_by_rule": failures_by_rule(checked).to_dicts(),
        "sentences_by_source": checked.group_by("source")
        .agg(pl.len().alias("n"))
        .sort("source")
        .to_dicts(),
        "cards_per_page": pages.group_by("cards")
        .agg(pl.len().alias("pages"))
        .sort("cards")
        .to_dicts(),
        "pages_mixing_periods": int((pages["periods"] > 1).sum()) if pages.height else 0,
    }
    if note:
        details["note"] = note
    return metrics, details
