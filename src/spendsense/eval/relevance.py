"""Relevance: do recommended education items carry the user's persona tags in the catalog?"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import polars as pl
import yaml

from spendsense.eval.result import Metric, metric, share

FIT_TARGET: Final = 0.90
CATALOG_SCHEMA: Final[dict[str, pl.DataType]] = {
    "item_id": pl.String(), "kind": pl.String(), "personas": pl.List(pl.Int64()),
    "general": pl.Boolean(), "category": pl.String(), "elig_min_monthly_income": pl.Float64(),
    "elig_max_utilization": pl.Float64(), "elig_no_overdue": pl.Boolean(),
    "elig_exclude_savings_account": pl.Boolean(), "elig_exclude_credit_card": pl.Boolean(),
    "elig_min_age": pl.Int64(),
}  # fmt: skip


def _yaml_catalog(root: Path) -> pl.DataFrame:
    """Tags and eligibility straight from the YAML files (used when the loader is unavailable)."""
    rows = []
    for path in sorted([*root.glob("education/*.yaml"), *root.glob("offers/*.yaml")]):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        offer = path.parent.name == "offers"
        for item in data.get("items", []):
            elig = item.get("eligibility") or {}
            has = elig.get("exclude_if_has") or []
            rows.append({
                "item_id": item.get("id"), "kind": "offer" if offer else "education",
                "personas": item.get("personas") or [], "general": bool(item.get("general")),
                "category": item.get("category", "education"),
                "elig_min_monthly_income": elig.get("min_monthly_income"),
                "elig_max_utilization": elig.get("max_utilization"),
                "elig_no_overdue": bool(elig.get("no_overdue")),
                "elig_exclude_savings_account": "savings_account" in has,
                "elig_exclude_credit_card": "credit_card" in has,
                "elig_min_age": elig.get("min_age"),
            })  # fmt: skip
    return pl.DataFrame(rows, schema=CATALOG_SCHEMA)


def load_catalog_frame(root: Path | None = None) -> tuple[pl.DataFrame, str]:
    """The catalog's tags and eligibility rules, and a note saying where they came from."""
    try:
        from spendsense.recommend.catalog import CONTENT_DIR, load_catalog

        catalog = load_catalog(root or CONTENT_DIR)
        frame = catalog.frame.select(
            [pl.col(c).cast(t) for c, t in CATALOG_SCHEMA.items() if c in catalog.frame.columns]
        )
        return frame, f"catalog {catalog.version} via recommend.catalog.load_catalog"
    except ImportError:
        pass
    except Exception as exc:  # a broken catalog must not stop the report: say so instead
        fallback = root or Path(__file__).resolve().parents[3] / "content"
        return _yaml_catalog(
            fallback
        ), f"catalog loader failed ({str(exc)[:160]}); read YAML directly"
    fallback = root or Path(__file__).resolve().parents[3] / "content"
    return _yaml_catalog(fallback), "recommend.catalog missing: read content/ YAML directly"


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
