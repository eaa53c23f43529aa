"""Exact money: decimal dollars in, integer cents in the ledger, dollars out in features."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

import polars as pl


class MoneyError(ValueError):
    """A value that cannot be an amount of money."""


def to_cents(value: object) -> int:
    """Convert a JSON/CSV amount (int, float, str) to integer cents, exactly.

    Floats are read through their shortest repr, so 935.0000000000001 -> 93500
    and 0.1 -> 10. NaN, infinities, booleans and non-numbers raise MoneyError.
    """
    if isinstance(value, bool) or value is None:
        raise MoneyError(f"not an amount: {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise MoneyError(f"not a finite amount: {value!r}")
    try:
        dec = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise MoneyError(f"not an amount: {value!r}") from exc
    if not dec.is_finite():
        raise MoneyError(f"not a finite amount: {value!r}")
    if abs(dec) >= 10**13:  # ten trillion dollars: certainly bad input
        raise MoneyError(f"amount out of range: {value!r}")
    cents = (dec * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    return int(cents)


def cents_to_dollars(expr: pl.Expr) -> pl.Expr:
    """Integer cents -> float dollars (feature outputs only, never the ledger).

    Divides as a decimal: Polars rewrites ``x / 100.0`` as ``x * 0.01``, which gives
    -1829.6100000000001 for -182961 and differs between one row and many.
    """
    return (expr.cast(pl.Decimal(38, 2)) / 100).cast(pl.Float64)


def format_dollars(cents: int) -> str:
    """Format cents as a dollar string: 340000 -> "$3,400", 8712 -> "$87.12"."""
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}${whole:,}" if frac == 0 else f"{sign}${whole:,}.{frac:02d}"
