"""Exact money: integer cents in the ledger, dollars out in features (text -> cents: ``ingest.parse.money``)."""

from __future__ import annotations

import polars as pl


def cents_to_dollars(expr: pl.Expr) -> pl.Expr:
    """Integer cents -> float dollars (feature outputs only, never the ledger).

    Divides as a decimal: Polars rewrites ``x / 100.0`` as ``x * 0.01``, which gives
    -1829.6100000000001 for -182961 and differs between one row and many.
    """
    return (expr.cast(pl.Decimal(38, 2)) / 100).cast(pl.Float64)
