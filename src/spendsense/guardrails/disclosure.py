"""The disclosures: the educational one every recommendation carries, and a partner offer's own."""

from __future__ import annotations

from typing import TypeVar

import polars as pl

from spendsense.text import DISCLOSURE, OFFER_DISCLOSURE

__all__ = [
    "DISCLOSURE", "OFFER_DISCLOSURE", "missing_disclosure", "offer_disclosure",
    "offer_disclosure_expr", "with_disclosure",
]  # fmt: skip
F = TypeVar("F", pl.DataFrame, pl.LazyFrame)


def offer_disclosure(partner: str) -> str:
    """The partner offer disclosure for one partner."""
    return OFFER_DISCLOSURE.replace("{partner}", partner)


def offer_disclosure_expr(partner: str = "partner") -> pl.Expr:
    """Polars: the offer disclosure for the row's ``partner`` (null where there is no partner)."""
    pieces = OFFER_DISCLOSURE.split("{partner}")
    parts: list[pl.Expr] = [pl.lit(pieces[0])]
    for piece in pieces[1:]:
        parts += [pl.col(partner), pl.lit(piece)]
    return pl.concat_str(parts)


def with_disclosure(frame: F) -> F:
    """Add (or overwrite) ``disclosure`` (the fixed text) and, for offers, ``offer_disclosure``.

    ``offer_disclosure`` is written when the frame has a ``partner`` column (null for education).
    """
    frame = frame.with_columns(pl.lit(DISCLOSURE).alias("disclosure"))
    if "partner" in frame.collect_schema().names():
        frame = frame.with_columns(offer_disclosure_expr().alias("offer_disclosure"))
    return frame


def missing_disclosure(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows whose ``disclosure`` is absent or differs from :data:`DISCLOSURE` (should be empty)."""
    if "disclosure" not in frame.columns:
        return frame
    return frame.filter(pl.col("disclosure").is_null() | (pl.col("disclosure") != DISCLOSURE))
