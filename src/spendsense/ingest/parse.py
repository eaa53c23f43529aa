"""Whole-column parsers for staged text: money, dates, booleans, rates, currencies.

Each parser returns a pair of expressions: the typed value and a reason (null
when the value is fine or absent). They work on String columns produced by
``staging``, so one expression validates every record of a table at once.
"""

from __future__ import annotations

from datetime import date

import polars as pl

MIN_DATE = date(1990, 1, 1)
MAX_DATE = date(2100, 12, 31)
MAX_ABS_CENTS = 10**15  # the same bound as ledger.money.to_cents
_PLAIN = r"^(?P<sign>[+-]?)(?P<int>\d*)(?:\.(?P<frac>\d*))?$"
_TRUE = ["true", "t", "yes", "y", "1"]
_FALSE = ["false", "f", "no", "n", "0"]
_ISO_DAY = r"^\d{4}-\d{2}-\d{2}([T ].*)?$"


def col(frame: pl.DataFrame, name: str) -> pl.Expr:
    """The column if the frame has it, else a null String column of that name."""
    return pl.col(name) if name in frame.columns else pl.lit(None, pl.String).alias(name)


def blank(expr: pl.Expr) -> pl.Expr:
    """True where a text value is null or only whitespace."""
    return expr.is_null() | (expr.str.strip_chars() == "")


def clean(expr: pl.Expr) -> pl.Expr:
    """Trimmed text, with empty strings as null."""
    s = expr.str.strip_chars()
    return pl.when(s == "").then(None).otherwise(s)


def money(expr: pl.Expr, label: str) -> tuple[pl.Expr, pl.Expr]:
    """Text amount -> exact integer cents (ROUND_HALF_EVEN, like ``to_cents``) and a reason.

    One self-contained expression pair; for big frames ``with_money`` computes the same
    in stages (the regex runs once per value instead of once per reference).
    """
    return _money_exprs(*_money_parts(expr), label)


def _money_parts(expr: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr, pl.Expr]:
    s = clean(expr)
    g = s.str.extract_groups(_PLAIN)
    return s, g.struct.field("sign"), g.struct.field("int"), g.struct.field("frac")


def _money_exprs(
    s: pl.Expr, sign: pl.Expr, whole: pl.Expr, frac: pl.Expr, label: str
) -> tuple[pl.Expr, pl.Expr]:
    frac = frac.fill_null("")
    plain = sign.is_not_null() & ((whole.str.len_chars() > 0) | (frac.str.len_chars() > 0))
    whole_digits = whole.str.strip_chars_start("0")
    too_long = whole_digits.str.len_chars() > 13
    whole_val = pl.when(too_long).then(None).otherwise(whole_digits).cast(pl.Int64, strict=False)
    base = whole_val.fill_null(0) * 100 + (frac + "00").str.slice(0, 2).cast(pl.Int64)
    first = frac.str.slice(2, 1)
    tail_nonzero = frac.str.slice(3).str.contains("[1-9]")
    up = (first > "5") | ((first == "5") & (tail_nonzero | (base % 2 == 1)))
    plain_cents = (base + up.cast(pl.Int64)) * pl.when(sign == "-").then(-1).otherwise(1)
    as_float = s.cast(pl.Float64, strict=False)
    float_cents = (as_float * 100).round(0)
    finite = as_float.is_finite()
    cents = (
        pl.when(plain & ~too_long)
        .then(plain_cents)
        .when(~plain & finite & (float_cents.abs() < MAX_ABS_CENTS))
        .then(float_cents.cast(pl.Int64, strict=False))
        .otherwise(None)
    )
    reason = (
        pl.when(s.is_null())
        .then(None)
        .when(~plain & as_float.is_null())
        .then(pl.format(f"{label}: not an amount: '{{}}'", s.str.slice(0, 40)))
        .when(~plain & ~finite)
        .then(pl.lit(f"{label}: not a finite amount"))
        .when(cents.is_null() | (cents.abs() >= MAX_ABS_CENTS))
        .then(pl.lit(f"{label}: amount out of range"))
    )
    return pl.when(reason.is_null()).then(cents).otherwise(None), reason


def with_money(
    frame: pl.DataFrame, labels: dict[str, str]
) -> tuple[pl.DataFrame, dict[str, tuple[pl.Expr, pl.Expr]]]:
    """``money`` for several columns (column -> label), computed in stages.

    Returns the frame with helper columns ``_mv_<col>`` (cents) and ``_mr_<col>``
    (reason) and, per column, the (value, reason) expressions that read them; drop the
    helpers with ``drop_money``.
    """
    if not labels:
        return frame, {}
    frame = frame.with_columns(clean(col(frame, c)).alias(f"_ms_{c}") for c in labels)
    frame = frame.with_columns(
        pl.col(f"_ms_{c}")
        .str.extract_groups(_PLAIN)
        .struct.rename_fields([f"_mg_{c}_sign", f"_mg_{c}_int", f"_mg_{c}_frac"])
        .alias(f"_mg_{c}")
        for c in labels
    ).unnest([f"_mg_{c}" for c in labels])
    parts = {
        c: _money_exprs(
            pl.col(f"_ms_{c}"),
            pl.col(f"_mg_{c}_sign"),
            pl.col(f"_mg_{c}_int"),
            pl.col(f"_mg_{c}_frac"),
            label,
        )
        for c, label in labels.items()
    }
    frame = frame.with_columns(r.alias(f"_mr_{c}") for c, (_, r) in parts.items())
    frame = frame.with_columns(
        pl.when(pl.col(f"_mr_{c}").is_null()).then(v).otherwise(None).alias(f"_mv_{c}")
        for c, (v, _) in parts.items()
    )
    frame = frame.select(pl.exclude("^_m[sg]_.*$"))
    return frame, {c: (pl.col(f"_mv_{c}"), pl.col(f"_mr_{c}")) for c in labels}


def drop_money(frame: pl.DataFrame) -> pl.DataFrame:
    """Without the helper columns of ``with_money``."""
    return frame.select(pl.exclude("^_m[vr]_.*$"))


def day(expr: pl.Expr, label: str) -> tuple[pl.Expr, pl.Expr]:
    """Text date (YYYY-MM-DD, optionally with a time) -> pl.Date, within 1990-2100."""
    s = clean(expr)
    parsed = (
        pl.when(s.str.contains(_ISO_DAY))
        .then(s.str.slice(0, 10))
        .otherwise(None)
        .str.to_date("%Y-%m-%d", strict=False)
    )
    reason = (
        pl.when(s.is_null())
        .then(None)
        .when(parsed.is_null())
        .then(pl.format(f"{label}: not a date (YYYY-MM-DD): '{{}}'", s.str.slice(0, 40)))
        .when((parsed < MIN_DATE) | (parsed > MAX_DATE))
        .then(pl.format(f"{label}: date {{}} outside 1990-2100", parsed.cast(pl.String)))
    )
    return pl.when(reason.is_null()).then(parsed).otherwise(None), reason


def flag(expr: pl.Expr, label: str) -> tuple[pl.Expr, pl.Expr]:
    """Text boolean (true/false, yes/no, 1/0) -> pl.Boolean and a reason."""
    s = clean(expr).str.to_lowercase()
    value = pl.when(s.is_in(_TRUE)).then(True).when(s.is_in(_FALSE)).then(False).otherwise(None)
    reason = (
        pl.when(s.is_not_null() & value.is_null())
        .then(pl.format(f"{label}: not a boolean: '{{}}'", s.str.slice(0, 40)))
        .otherwise(None)
    )
    return value, reason


def rate(expr: pl.Expr, label: str) -> tuple[pl.Expr, pl.Expr]:
    """Text percentage -> Float64 in 0-100 and a reason."""
    s = clean(expr)
    value = s.cast(pl.Float64, strict=False)
    reason = (
        pl.when(s.is_null())
        .then(None)
        .when(value.is_null() | ~value.is_finite())
        .then(pl.format(f"{label}: not a number: '{{}}'", s.str.slice(0, 40)))
        .when((value < 0) | (value > 100))
        .then(pl.lit(f"{label}: percentage outside 0-100"))
    )
    return pl.when(reason.is_null()).then(value).otherwise(None), reason


def currency(iso: pl.Expr, unofficial: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Exactly one of iso/unofficial; ISO is a 3-letter code. Returns (code, reason)."""
    i, u = clean(iso).str.to_uppercase(), clean(unofficial)
    reason = (
        pl.when(i.is_not_null() & u.is_not_null())
        .then(pl.lit("both iso_currency_code and unofficial_currency_code are set"))
        .when(i.is_null() & u.is_null())
        .then(pl.lit("no currency: iso_currency_code or unofficial_currency_code is required"))
        .when(i.is_not_null() & ~i.str.contains(r"^[A-Z]{3}$"))
        .then(pl.format("iso_currency_code '{}' is not a 3-letter code", i.str.slice(0, 20)))
    )
    return pl.coalesce(i, u), reason


def first_reason(*reasons: pl.Expr) -> pl.Expr:
    """The first non-null reason, in check order."""
    return pl.coalesce([r.cast(pl.String) for r in reasons]).alias("_reason")


def check(cond: pl.Expr, reason: str | pl.Expr) -> pl.Expr:
    """A reason where ``cond`` holds."""
    value = pl.lit(reason) if isinstance(reason, str) else reason
    return pl.when(cond).then(value).otherwise(None)
