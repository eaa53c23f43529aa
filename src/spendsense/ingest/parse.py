"""Whole-column parsers for staged values: money, dates, booleans, rates, currencies.

Each parser returns a pair of expressions: the typed value and a reason (null
when the value is fine or absent). They work on String columns produced by
``staging`` and, for money, rates and flags, on the typed columns of files read
natively (``ingest.native``): numbers stay numbers there, and only the rare amount
that sits near half a cent is judged on its decimal text. One expression validates
every record of a table at once.
"""

from __future__ import annotations

from datetime import date

import polars as pl

MIN_DATE = date(1990, 1, 1)
MAX_DATE = date(2100, 12, 31)
MAX_ABS_CENTS = 10**15  # ten trillion dollars: certainly bad input
_PLAIN = r"^(?P<sign>[+-]?)(?P<int>\d*)(?:\.(?P<frac>\d*))?$"
_TRUE = ["true", "t", "yes", "y", "1"]
_FALSE = ["false", "f", "no", "n", "0"]
_ISO_DAY = r"^\d{4}-\d{2}-\d{2}([T ].*)?$"
# Polars writes 1e-7 where Python's repr (the text path's) writes 1e-07
_SHORT_EXPONENT = (r"e([+-])(\d)$", "e${1}0${2}")


def col(frame: pl.DataFrame, name: str) -> pl.Expr:
    """The column if the frame has it, else a null String column of that name."""
    return pl.col(name) if name in frame.columns else pl.lit(None, pl.String).alias(name)


def blank(expr: pl.Expr) -> pl.Expr:
    """True where a text value is null or only whitespace."""
    return expr.is_null() | (expr.str.strip_chars() == "")


def missing(frame: pl.DataFrame, name: str) -> pl.Expr:
    """True where the column is absent, null or (text) only whitespace."""
    if name not in frame.columns:
        return pl.lit(True)
    return blank(pl.col(name)) if frame.schema[name] == pl.String else pl.col(name).is_null()


def clean(expr: pl.Expr) -> pl.Expr:
    """Trimmed text, with empty strings as null."""
    s = expr.str.strip_chars()
    return pl.when(s == "").then(None).otherwise(s)


def money(expr: pl.Expr, label: str) -> tuple[pl.Expr, pl.Expr]:
    """Text amount -> exact integer cents (ROUND_HALF_EVEN) and a reason.

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
    not_amount = s.is_not_null() & ~plain & as_float.is_null()
    reason = (
        pl.when(s.is_null())
        .then(None)
        .when(not_amount)
        .then(say(f"{label}: not an amount: '{{}}'", not_amount, s.str.slice(0, 40)))
        .when(~plain & ~finite)
        .then(pl.lit(f"{label}: not a finite amount"))
        .when(cents.is_null() | (cents.abs() >= MAX_ABS_CENTS))
        .then(pl.lit(f"{label}: amount out of range"))
    )
    return pl.when(reason.is_null()).then(cents).otherwise(None), reason


def numeric(frame: pl.DataFrame, name: str) -> bool:
    """True when the frame holds ``name`` as numbers (read natively), not as text."""
    dtype = frame.schema.get(name)
    return dtype is not None and dtype.is_numeric()


def _near_cent(x: pl.Expr) -> pl.Expr:
    """True where ``x`` dollars is within a quarter cent of a whole cent.

    There ``round(x * 100)`` is the cent its decimal text rounds to, whatever the rounding
    rule (float error at |x| < 10^13 dollars is under 0.13 cents); elsewhere (a third
    decimal near 5) only the text decides, half to even.
    """
    cents = x * 100
    return (cents - cents.round(0)).abs() < 0.25


def _numeric_money(
    x: pl.Expr, text_cents: pl.Expr, text_reason: pl.Expr, label: str
) -> tuple[pl.Expr, pl.Expr]:
    """Cents and reason for a numeric amount column (``text_*``: its text, where not near a cent)."""
    cents = (x * 100).round(0)
    finite = x.is_finite()
    near = _near_cent(x)
    value = (
        pl.when(finite & near & (cents.abs() < MAX_ABS_CENTS))
        .then(cents.cast(pl.Int64, strict=False))
        .when(finite & ~near)
        .then(text_cents)
    )
    reason = (
        pl.when(x.is_null())
        .then(None)
        .when(~finite)
        .then(pl.lit(f"{label}: not a finite amount"))
        .when(near & (cents.abs() >= MAX_ABS_CENTS))
        .then(pl.lit(f"{label}: amount out of range"))
        .when(~near)
        .then(text_reason)
    )
    return value, reason


def with_money(
    frame: pl.DataFrame, labels: dict[str, str]
) -> tuple[pl.DataFrame, dict[str, tuple[pl.Expr, pl.Expr]]]:
    """``money`` for several columns (column -> label), computed in stages.

    Numeric columns (read natively) are turned into cents arithmetically; only values
    near half a cent take the decimal text path, so their rounding is exactly the text's.
    Returns the frame with helper columns ``_mv_<col>`` (cents) and ``_mr_<col>``
    (reason) and, per column, the (value, reason) expressions that read them; drop the
    helpers with ``drop_money``.
    """
    if not labels:
        return frame, {}
    numbers = {c for c in labels if numeric(frame, c)}
    frame = frame.with_columns(
        (
            pl.when(pl.col(c).is_finite() & ~_near_cent(pl.col(c).cast(pl.Float64)))
            .then(pl.col(c).cast(pl.Float64))
            .cast(pl.String)
            .str.replace(*_SHORT_EXPONENT)
            if c in numbers
            else clean(col(frame, c))
        ).alias(f"_ms_{c}")
        for c in labels
    )
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
    parts = {
        c: _numeric_money(pl.col(c).cast(pl.Float64), *parts[c], labels[c]) if c in numbers else p
        for c, p in parts.items()
    }
    frame = frame.with_columns(r.alias(f"_mr_{c}") for c, (_, r) in parts.items())
    frame = frame.with_columns(
        pl.when(pl.col(f"_mr_{c}").is_null()).then(v).otherwise(None).alias(f"_mv_{c}")
        for c, (v, _) in parts.items()
    )
    frame = frame.select(pl.exclude("^_m[sg]_.*$"))
    return frame, {c: (pl.col(f"_mv_{c}"), pl.col(f"_mr_{c}")) for c in labels}


def drop_money(frame: pl.DataFrame) -> pl.DataFrame:
    """Without the helper columns of ``with_money`` and ``with_days``."""
    return frame.select(pl.exclude("^_[md][vr]_.*$"))


def day(expr: pl.Expr, label: str) -> tuple[pl.Expr, pl.Expr]:
    """Text date (YYYY-MM-DD, optionally with a time) -> pl.Date, within 1990-2100.

    One self-contained expression pair; ``with_days`` computes the same in stages.
    """
    s = clean(expr)
    return _day_exprs(s, _parse_day(s), label)


def _parse_day(s: pl.Expr) -> pl.Expr:
    return (
        pl.when(s.str.contains(_ISO_DAY))
        .then(s.str.slice(0, 10))
        .otherwise(None)
        .str.to_date("%Y-%m-%d", strict=False)
    )


def _day_exprs(s: pl.Expr, parsed: pl.Expr, label: str) -> tuple[pl.Expr, pl.Expr]:
    unparsed = s.is_not_null() & parsed.is_null()
    outside = (parsed < MIN_DATE) | (parsed > MAX_DATE)
    reason = (
        pl.when(unparsed)
        .then(say(f"{label}: not a date (YYYY-MM-DD): '{{}}'", unparsed, s.str.slice(0, 40)))
        .when(outside)
        .then(say(f"{label}: date {{}} outside 1990-2100", outside, parsed.cast(pl.String)))
    )
    return pl.when(reason.is_null()).then(parsed).otherwise(None), reason


def with_days(
    frame: pl.DataFrame, labels: dict[str, str]
) -> tuple[pl.DataFrame, dict[str, tuple[pl.Expr, pl.Expr]]]:
    """``day`` for several columns (column -> label), computed in stages.

    Each value is cleaned once and parsed once (helper columns ``_ds_``, ``_dp_``), so the
    checks read columns instead of evaluating the parse again per reference; drop the
    helpers with ``drop_money``. Returns the frame and (value, reason) per column.
    """
    if not labels:
        return frame, {}
    frame = frame.with_columns(clean(col(frame, c)).alias(f"_ds_{c}") for c in labels)
    frame = frame.with_columns(_parse_day(pl.col(f"_ds_{c}")).alias(f"_dp_{c}") for c in labels)
    parts = {
        c: _day_exprs(pl.col(f"_ds_{c}"), pl.col(f"_dp_{c}"), label) for c, label in labels.items()
    }
    frame = frame.with_columns(
        expr.alias(f"_d{kind}_{c}")
        for c, (value, reason) in parts.items()
        for kind, expr in (("v", value), ("r", reason))
    ).select(pl.exclude("^_d[sp]_.*$"))
    return frame, {c: (pl.col(f"_dv_{c}"), pl.col(f"_dr_{c}")) for c in labels}


def say(template: str, where: pl.Expr, *values: pl.Expr) -> pl.Expr:
    """``pl.format(template, *values)`` built only where ``where`` holds (null elsewhere).

    A reason string is made for the failing rows alone, not for every row then dropped.
    """
    return pl.format(template, *[pl.when(where).then(v) for v in values])


def flag_of(frame: pl.DataFrame, name: str, label: str) -> tuple[pl.Expr, pl.Expr]:
    """``flag`` of a column; a Boolean column (read natively) is already the value."""
    if frame.schema.get(name) == pl.Boolean:
        return pl.col(name), pl.lit(None, pl.String)
    return flag(col(frame, name), label)


def rate_of(frame: pl.DataFrame, names: list[str], label: str) -> tuple[pl.Expr, pl.Expr]:
    """``rate`` of the first non-null of ``names``; numeric columns are checked as numbers."""
    if all(numeric(frame, n) or n not in frame.columns for n in names):
        present = [pl.col(n).cast(pl.Float64) for n in names if n in frame.columns]
        value = pl.coalesce(present) if present else pl.lit(None, pl.Float64)
        return _rate_checks(value, value.cast(pl.String), value.is_null(), label)
    return rate(pl.coalesce([col(frame, n).cast(pl.String) for n in names]), label)


def flag(expr: pl.Expr, label: str) -> tuple[pl.Expr, pl.Expr]:
    """Text boolean (true/false, yes/no, 1/0) -> pl.Boolean and a reason."""
    s = clean(expr).str.to_lowercase()
    value = pl.when(s.is_in(_TRUE)).then(True).when(s.is_in(_FALSE)).then(False).otherwise(None)
    bad = s.is_not_null() & value.is_null()
    reason = pl.when(bad).then(say(f"{label}: not a boolean: '{{}}'", bad, s.str.slice(0, 40)))
    return value, reason


def rate(expr: pl.Expr, label: str) -> tuple[pl.Expr, pl.Expr]:
    """Text percentage -> Float64 in 0-100 and a reason."""
    s = clean(expr)
    return _rate_checks(s.cast(pl.Float64, strict=False), s, s.is_null(), label)


def _rate_checks(
    value: pl.Expr, s: pl.Expr, absent: pl.Expr, label: str
) -> tuple[pl.Expr, pl.Expr]:
    nan = ~absent & (value.is_null() | ~value.is_finite())
    reason = (
        pl.when(absent)
        .then(None)
        .when(nan)
        .then(say(f"{label}: not a number: '{{}}'", nan, s.str.slice(0, 40)))
        .when((value < 0) | (value > 100))
        .then(pl.lit(f"{label}: percentage outside 0-100"))
    )
    return pl.when(reason.is_null()).then(value).otherwise(None), reason


def _currency_exprs(i: pl.Expr, u: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    not_code = i.is_not_null() & ~i.str.contains(r"^[A-Z]{3}$")
    reason = (
        pl.when(i.is_not_null() & u.is_not_null())
        .then(pl.lit("both iso_currency_code and unofficial_currency_code are set"))
        .when(i.is_null() & u.is_null())
        .then(pl.lit("no currency: iso_currency_code or unofficial_currency_code is required"))
        .when(not_code)
        .then(say("iso_currency_code '{}' is not a 3-letter code", not_code, i.str.slice(0, 20)))
    )
    return pl.coalesce(i, u), reason


def with_currency(
    frame: pl.DataFrame, iso: pl.Expr, unofficial: pl.Expr
) -> tuple[pl.DataFrame, tuple[pl.Expr, pl.Expr]]:
    """``currency`` in stages: each side cleaned once (helper columns, dropped by ``drop_money``)."""
    frame = frame.with_columns(
        clean(iso).str.to_uppercase().alias("_mv_ciso"), clean(unofficial).alias("_mv_cun")
    )
    return frame, _currency_exprs(pl.col("_mv_ciso"), pl.col("_mv_cun"))


def first_reason(*reasons: pl.Expr) -> pl.Expr:
    """The first non-null reason, in check order."""
    return pl.coalesce([r.cast(pl.String) for r in reasons]).alias("_reason")


def check(cond: pl.Expr, reason: str, *values: pl.Expr) -> pl.Expr:
    """A reason where ``cond`` holds: ``reason`` itself, or a template filled with ``values``
    (formatted for those rows only, see ``say``)."""
    if values:
        return pl.when(cond).then(say(reason, cond, *values)).otherwise(None)
    return pl.when(cond).then(pl.lit(reason)).otherwise(None)
