"""Accuracy against the generator's ground truth: recurring streams and persona-archetype agreement."""

from __future__ import annotations

from typing import Final

import polars as pl

from spendsense.eval.result import Metric, metric, share
from spendsense.synth.catalog import ARCHETYPE_PERSONA

PRECISION_TARGET: Final = 0.97  # issue 3
RECALL_TARGET: Final = 0.97  # issue 3
AGREEMENT_TARGET: Final = 0.80
ACCURACY_WINDOW: Final = 180
STREAM_KEY: Final = ["user_id", "merchant_key", "cadence"]


def merchant_key(col: str) -> pl.Expr:
    """Lower-case merchant name with everything but letters and digits removed."""
    return pl.col(col).cast(pl.String).str.to_lowercase().str.replace_all(r"[^a-z0-9]", "")


def _cadence(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.String).str.to_uppercase().str.replace_all(r"[^A-Z]", "_")


def truth_outflows(truth: pl.DataFrame) -> pl.DataFrame:
    """Ground-truth outflow streams on personal (non-business) accounts, one row per key."""
    business = pl.col("business").fill_null(False) if "business" in truth.columns else pl.lit(False)
    # A stream with fewer charges in the history than detection needs (3; 2 for annual)
    # cannot be observed by any detector: it is reported, not counted against recall.
    needed = pl.when(_cadence("cadence") == "ANNUALLY").then(2).otherwise(3)
    observable = pl.col("n_charges") >= needed if "n_charges" in truth.columns else pl.lit(True)
    return (
        truth.filter((pl.col("direction").str.to_lowercase() == "outflow") & ~business & observable)
        .select(
            pl.col("user_id").cast(pl.String),
            merchant_key("merchant_name").alias("merchant_key"),
            _cadence("cadence").alias("cadence"),
        )
        .unique()
    )


def detected_outflows(streams: pl.DataFrame, window: int = ACCURACY_WINDOW) -> pl.DataFrame:
    """Detected outflow streams at ``window`` that the stage claims (MATURE or TOMBSTONED), one row per key.

    EARLY_DETECTION streams are candidates, not claims (Plaid's meaning): the signals
    do not count them either, so they are left out of precision.
    """
    return (
        streams.filter(
            (pl.col("window_days").cast(pl.Int64) == window)
            & (pl.col("direction") == "outflow")
            & (pl.col("status") != "EARLY_DETECTION")
        )
        .select(
            pl.col("user_id").cast(pl.String),
            merchant_key("merchant_name").alias("merchant_key"),
            _cadence("frequency").alias("cadence"),
        )
        .unique()
    )


def stream_accuracy(
    streams: pl.DataFrame, truth: pl.DataFrame | None, users: pl.DataFrame
) -> tuple[list[Metric], pl.DataFrame]:
    """Precision and recall of outflow streams for the given (consented) users at 180 days."""
    if truth is None:
        note = "no ground truth: raw/ground_truth/recurring_streams.parquet missing"
        return [
            metric("accuracy", "recurring_precision", None, target=PRECISION_TARGET, op=">=", unit="%", note=note),
            metric("accuracy", "recurring_recall", None, target=RECALL_TARGET, op=">=", unit="%", note=note),
        ], pl.DataFrame()  # fmt: skip
    ids = users.select(pl.col("user_id").cast(pl.String))
    truth_s = truth_outflows(truth).join(ids, on="user_id", how="semi")
    found = detected_outflows(streams).join(ids, on="user_id", how="semi")
    tp = found.join(truth_s, on=STREAM_KEY, how="semi").height
    merchant_only = found.join(truth_s, on=["user_id", "merchant_key"], how="semi").height
    by_cadence = (
        truth_s.with_columns(source=pl.lit("truth"))
        .vstack(found.with_columns(source=pl.lit("detected")))
        .group_by("cadence", "source")
        .agg(n=pl.len())
        .pivot(on="source", index="cadence", values="n")
        .fill_null(0)
        .sort("cadence")
    )
    tp_by = found.join(truth_s, on=STREAM_KEY, how="semi").group_by("cadence").agg(matched=pl.len())
    by_cadence = by_cadence.join(tp_by, on="cadence", how="left").fill_null(0)
    note = f"{ACCURACY_WINDOW}-day window; match on user + normalised merchant + cadence"
    out = [
        metric("accuracy", "recurring_precision", share(tp, found.height),
               target=PRECISION_TARGET, op=">=", unit="%", n=found.height, note=note),
        metric("accuracy", "recurring_recall", share(tp, truth_s.height),
               target=RECALL_TARGET, op=">=", unit="%", n=truth_s.height, note=note),
        metric("accuracy", "recurring_precision_merchant_only", share(merchant_only, found.height),
               unit="%", n=found.height, note="cadence ignored"),
    ]  # fmt: skip
    return out, by_cadence


def archetype_map() -> pl.DataFrame:
    """Archetype slug -> expected persona id (null: expects STABLE)."""
    return pl.DataFrame(
        {
            "archetype_slug": list(ARCHETYPE_PERSONA),
            "expected_persona_id": list(ARCHETYPE_PERSONA.values()),
        },
        schema={"archetype_slug": pl.String, "expected_persona_id": pl.Int64},
    ).with_columns(known=pl.lit(True))


def archetype_agreement(
    assignments: pl.DataFrame,
    truth_users: pl.DataFrame | None,
    consented: pl.DataFrame,
    windows: list[int],
) -> tuple[list[Metric], pl.DataFrame]:
    """Confusion of primary persona vs the single archetype of each user, and agreement per window."""
    if truth_users is None or "archetypes" not in truth_users.columns:
        note = "no ground truth: raw/ground_truth/users.parquet missing"
        return [metric("relevance", f"archetype_agreement_{w}d", None, target=AGREEMENT_TARGET,
                       op=">=", unit="%", note=note) for w in windows], pl.DataFrame()  # fmt: skip
    single = truth_users.filter(pl.col("archetypes").list.len() == 1).select(
        pl.col("user_id").cast(pl.String),
        pl.col("archetypes").list.first().alias("archetype"),
    )
    slug = pl.col("archetype").str.to_lowercase().str.replace_all(r"[^a-z0-9]+", "_")
    single = single.with_columns(archetype_slug=slug).join(
        archetype_map(), on="archetype_slug", how="left"
    )
    grid = single.join(
        consented.select(pl.col("user_id").cast(pl.String)), on="user_id", how="semi"
    )
    grid = grid.join(
        pl.DataFrame({"window_days": windows}, schema={"window_days": pl.Int64}), how="cross"
    )
    joined = grid.join(
        assignments.select(
            "user_id",
            pl.col("window_days").cast(pl.Int64),
            "primary_persona_id",
            "status",
            pl.coalesce("primary_persona_name", pl.col("status")).alias("persona"),
        ),
        on=["user_id", "window_days"],
        how="left",
    ).with_columns(
        pl.col("persona").fill_null("no assignment"),
        agree=pl.when(pl.col("known").is_null())
        .then(pl.lit(False))
        .when(pl.col("expected_persona_id").is_null())
        .then(pl.col("status") == "STABLE")
        .otherwise(pl.col("primary_persona_id") == pl.col("expected_persona_id"))
        .fill_null(False),
    )
    confusion = (
        joined.group_by("window_days", "archetype", "persona").agg(users=pl.len())
        .sort("window_days", "archetype", "persona")
    )  # fmt: skip
    out = []
    for w in windows:
        part = joined.filter(pl.col("window_days") == w)
        out.append(metric(
            "relevance", f"archetype_agreement_{w}d", share(int(part["agree"].sum()), part.height),
            target=AGREEMENT_TARGET if w == max(windows) else None,
            op=">=" if w == max(windows) else "info", unit="%", n=part.height,
            note="consented single-archetype users; 'stable' expects STABLE; no assignment disagrees",
        ))  # fmt: skip
    return out, confusion
