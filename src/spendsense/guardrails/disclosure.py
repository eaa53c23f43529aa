"""The disclosure every recommendation carries, and the helper that attaches it."""

from __future__ import annotations

from typing import TypeVar

import polars as pl

from spendsense.text import DISCLOSURE

__all__ = ["DISCLOSURE", "missing_disclosure", "with_disclosure"]
F = TypeVar("F", pl.DataFrame, pl.LazyFrame)


def with_disclosure(frame: F) -> F:
    """Add (or overwrite) the ``disclosure`` column with the fixed disclosure text."""
    return frame.with_columns(pl.lit(DISCLOSURE).alias("disclosure"))


def missing_disclosure(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows whose ``disclosure`` is absent or differs from :data:`DISCLOSURE` (should be empty)."""
    if "disclosure" not in frame.columns:
        return frame
    return frame.filter(pl.col("disclosure").is_null() | (pl.col("disclosure") != DISCLOSURE))
