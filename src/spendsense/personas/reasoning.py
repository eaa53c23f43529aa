"""Plain-language reasoning: number formatting and sentence assembly, as Polars expressions."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from spendsense.signals.config import LOW_BALANCE_CENTS
from spendsense.text import FORMATS, money


def _strip_zero(text: pl.Expr) -> pl.Expr:
    """'68.0' -> '68'; leaves '68.5' alone."""
    return text.str.strip_suffix(".0")


def fmt_number(value: pl.Expr, decimals: int = 2) -> pl.Expr:
    """A number rounded for prose: 1.5, 32, 0.68."""
    return _strip_zero(value.round(decimals).cast(pl.String))


def fmt_pct(value: pl.Expr) -> pl.Expr:
    """A share as a percentage: 0.68 -> '68%', 0.295 -> '29.5%'."""
    return fmt_number(value * 100.0, 1) + pl.lit("%")


def fmt_money(value: pl.Expr) -> pl.Expr:
    """Dollars for prose, as every text shows them (``text.money``): 75.0 -> '$75.00'."""
    return FORMATS["money"].render_expr(value)


def lit_number(value: float, decimals: int = 2) -> str:
    """A threshold (a Python number) formatted as ``fmt_number`` would."""
    text = str(round(float(value), decimals))
    return text.removesuffix(".0")


def lit_pct(value: float) -> str:
    """A threshold share as a percentage: 0.5 -> '50%'."""
    return lit_number(float(value) * 100.0, 1) + "%"


def lit_money(value: float) -> str:
    """A threshold in dollars, as every text shows them (``text.money``): 200.0 -> '$200.00'."""
    return money(value) or "$0.00"


LOW_BALANCE = lit_money(LOW_BALANCE_CENTS / 100)
"""The low-balance level as every text names it ("$100.00")."""

_SEP = "\x1f"  # joins phrases internally; never appears in a phrase


def join_phrases(phrases: Sequence[pl.Expr], met: Sequence[pl.Expr]) -> pl.Expr:
    """'A, B and C' from the phrases whose ``met`` is true (empty string when none)."""
    joined = pl.concat_str(
        [pl.when(m).then(p) for p, m in zip(phrases, met, strict=True)],
        separator=_SEP,
        ignore_nulls=True,
    )
    return joined.str.replace(f"{_SEP}([^{_SEP}]*)$", " and $1").str.replace_all(
        _SEP, ", ", literal=True
    )


def sentence(phrases: pl.Expr, severity: pl.Expr, priority: str) -> pl.Expr:
    """'Matched on <phrases>. Severity: 0.68. Priority: CRITICAL.'"""
    return pl.concat_str(
        [
            pl.lit("Matched on "),
            phrases,
            pl.lit(". Severity: "),
            fmt_number(severity.fill_null(0.0), 2),
            pl.lit(f". Priority: {priority}."),
        ]
    )
