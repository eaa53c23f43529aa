"""The disclosure every recommendation carries, and the helper that attaches it."""

from __future__ import annotations

from typing import TypeVar

import polars as pl

F = TypeVar("F", pl.DataFrame, pl.LazyFrame)

DISCLOSURE = (
    "This is educational content, not financial advice. "
    "Consult a licensed advisor for personalized guidance."
)


def with_disclosure(frame: F) -> F:
    """Add (or overwrite) the ``disclosure`` column with the fixed disclosure text."""
    return frame.with_columns(pl.lit(DISCLOSURE).alias("disclosure"))


def missing_disclosure(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows whose ``disclosure`` is absent or differs from :data:`DISCLOSURE` (should be empty)."""
    if "disclosure" not in frame.columns:
        return frame
    return frame.filter(pl.col("disclosure").is_null() | (pl.col("disclosure") != DISCLOSURE))
