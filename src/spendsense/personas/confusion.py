"""Archetype (generator ground truth) × primary persona counts, and a plain-text rendering."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import polars as pl

from spendsense.personas.metadata import PERSONA_IDS, STATUS_STABLE, persona_name

# Column order of the matrix: the five personas by id, then STABLE, then users with no row.
LABELS: Final[tuple[str, ...]] = (*(persona_name(i) for i in PERSONA_IDS), STATUS_STABLE)
NOT_ASSIGNED: Final = "not_assigned"


def confusion_matrix(
    assignments: pl.DataFrame,
    truth: pl.DataFrame,
    window_days: int,
    expected: Mapping[str, int | None] | None = None,
) -> pl.DataFrame:
    """One row per primary archetype: how many of its users got each primary persona.

    Args:
        assignments: assign_personas output (user_id, window_days, primary_persona_name, status).
        truth: ground truth with user_id and primary_archetype (archetypes list is not needed).
        window_days: which window's assignments to count.
        expected: optional archetype -> persona id (None: STABLE); adds ``expected`` and
            ``agreement`` (share of the archetype's users whose primary is the expected one).
    """
    label = pl.coalesce(pl.col("primary_persona_name"), pl.col("status"))
    chosen = assignments.filter(pl.col("window_days") == window_days).select(
        pl.col("user_id").cast(pl.String), label.alias("label")
    )
    joined = truth.select(
        pl.col("user_id").cast(pl.String), pl.col("primary_archetype").cast(pl.String)
    ).join(chosen, on="user_id", how="left")
    counts = [(pl.col("label") == name).sum().cast(pl.Int64).alias(name) for name in LABELS]
    matrix = (
        joined.group_by("primary_archetype")
        .agg(
            pl.len().cast(pl.Int64).alias("users"),
            *counts,
            pl.col("label").is_null().sum().cast(pl.Int64).alias(NOT_ASSIGNED),
        )
        .sort("primary_archetype")
    )
    if expected is None:
        return matrix
    names = {a: (persona_name(p) if p is not None else STATUS_STABLE) for a, p in expected.items()}
    lookup = pl.DataFrame(
        {"primary_archetype": list(names), "expected": list(names.values())},
        schema={"primary_archetype": pl.String, "expected": pl.String},
    )
    hits = pl.coalesce([pl.when(pl.col("expected") == n).then(pl.col(n)) for n in LABELS])
    return matrix.join(lookup, on="primary_archetype", how="left").with_columns(
        (hits.fill_null(0) / pl.col("users")).round(4).alias("agreement")
    )


def render_confusion_matrix(matrix: pl.DataFrame, title: str | None = None) -> str:
    """The matrix as a narrow plain-text table: personas as P1..P5 with a legend below."""
    short = {persona_name(i): f"P{i}" for i in PERSONA_IDS}
    narrow = matrix.rename({k: v for k, v in short.items() if k in matrix.columns})
    with pl.Config(
        tbl_formatting="ASCII_FULL_CONDENSED",
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
        tbl_rows=-1,
        tbl_cols=-1,
        tbl_width_chars=200,
        fmt_str_lengths=40,
    ):
        table = str(narrow)
    legend = ", ".join(f"{v} = {k}" for k, v in short.items())
    text = f"{table}\n{legend}"
    return f"{title}\n{text}" if title else text


# Short name used by pipeline.py.
render_confusion = render_confusion_matrix
