"""Relevance: do recommended education items carry the user's persona tags in the catalog?"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import polars as pl

from spendsense.eval.result import Metric, metric, share
from spendsense.guardrails.eligibility import REQUIREMENT_COLUMNS
from spendsense.recommend.catalog import CATALOG_SCHEMA, CONTENT_DIR, CatalogError, load_catalog

FIT_TARGET: Final = 0.90
CATALOG_COLUMNS: Final[tuple[str, ...]] = (
    "item_id", "kind", "personas", "general", "category", *REQUIREMENT_COLUMNS,
)  # fmt: skip
"""What the report reads of the catalog frame: tags (relevance) and requirements (audit)."""


def load_catalog_frame(root: Path | None = None) -> tuple[pl.DataFrame, str]:
    """The catalog's tags and eligibility rules (the recommender's own loader), and a note.

    A catalog that does not load must not stop the report: the frame is empty (every
    recommendation then counts as not in the catalog) and the note says why.
    """
    try:
        catalog = load_catalog(root or CONTENT_DIR)
    except CatalogError as exc:
        empty = load_catalog_schema()
        return empty, f"catalog did not load ({str(exc)[:160]}): no item counts as in the catalog"
    return catalog.frame.select(CATALOG_COLUMNS), f"catalog {catalog.version}"


def load_catalog_schema() -> pl.DataFrame:
    """An empty catalog frame with the report's columns."""
    return pl.DataFrame(schema={c: CATALOG_SCHEMA[c] for c in CATALOG_COLUMNS})


def persona_fit(
    recs: pl.DataFrame, assignments: pl.DataFrame, catalog: pl.DataFrame
) -> tuple[list[Metric], pl.DataFrame]:
    """Share of education recommendations tagged with the user's primary or secondary persona."""
    edu = recs.filter(pl.col("kind") == "education").select(
        "recommendation_id", "user_id", pl.col("window_days").cast(pl.Int64), "item_id"
    )
    joined = (
        edu.join(
            assignments.select(
                "user_id",
                pl.col("window_days").cast(pl.Int64),
                "status",
                "primary_persona_id",
                "secondary_persona_id",
            ),
            on=["user_id", "window_days"],
            how="left",
        )
        .join(catalog.select("item_id", "personas", "general"), on="item_id", how="left")
        .with_columns(
            in_catalog=pl.col("personas").is_not_null(),
            fit=(
                pl.col("personas").list.contains(pl.col("primary_persona_id").cast(pl.Int64))
                | pl.col("personas").list.contains(pl.col("secondary_persona_id").cast(pl.Int64))
            ).fill_null(False),
            general_item=pl.col("general").fill_null(False),
        )
    )
    assigned = joined.filter(pl.col("status") == "ASSIGNED")
    stable = joined.filter(pl.col("status") == "STABLE")
    orphan = joined.filter(pl.col("status").is_null())
    out = [
        metric("relevance", "education_persona_fit", share(int(assigned["fit"].sum()), assigned.height),
               target=FIT_TARGET, op=">=", unit="%", n=assigned.height,
               note="ASSIGNED users: item tagged with primary or secondary persona"),
        metric("relevance", "education_general_for_stable", share(
            int(stable["general_item"].sum()), stable.height), unit="%", n=stable.height,
               note="STABLE users: share of their education items from the general set"),
        metric("relevance", "education_items_not_in_catalog", float(
            joined.height - int(joined["in_catalog"].sum())) if joined.height else None,
            target=0, op="==", n=joined.height),
        metric("relevance", "education_without_assignment", float(orphan.height),
               n=joined.height, note="education recommendations with no persona row"),
    ]  # fmt: skip
    return out, joined
