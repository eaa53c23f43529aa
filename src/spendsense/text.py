"""One way to show every number a customer reads, and the sentence contract every shown sentence meets.

**Formats.** A placeholder ``{field:format}`` in a rationale or insight template names one of
:data:`FORMATS`. Each format turns a value into whole *shown units* (cents, percent points, tenths,
counts) and prints them; it has a Python renderer (one value, for a page) and a Polars renderer
(whole frames, for the pipeline) built from the same units, so both print the same text (a test
holds them equal over random values). Verification reads the units back out of rendered text.

**Sentence contract.** :data:`CONTRACT` lists what every sentence shown to a customer must not do:
show a zero or an empty value, get a plural wrong, print a negative amount (say "below zero"),
print money other than ``$1,234.56`` or a negative number, print a percentage with decimals, use jargon, start without a
capital or end without a full stop, or shame. :func:`sentence_problems` checks one sentence and
:func:`sentence_problems_expr` a whole column with the same regexes (Python ``re`` and Rust
``regex`` syntax alike: no look-around, no back-references).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

import polars as pl

from spendsense.guardrails.tone import shaming_regex

DISCLOSURE: Final = (
    "This is educational content, not financial advice. "
    "Consult a licensed advisor for personalized guidance."
)

OFFER_DISCLOSURE: Final = (
    "This is a partner offer from {partner}, not a SpendSense product. {partner} sets its terms"
    " and decides who is approved; read its full terms before you apply."
)
"""Shown beside :data:`DISCLOSURE` on every partner offer (``{partner}``: the catalog's name)."""

NOUNS: Final[dict[str, str]] = {
    "card": "cards",
    "subscription": "subscriptions",
    "recurring_charge": "recurring charges",
    "day": "days",
    "payment": "payments",
    "deposit": "deposits",
    "merchant": "merchants",
    "minute": "minutes",
}
"""Nouns a count can carry (``count_card``: 1 card, 2 cards); underscores print as spaces."""

FREQUENCY_WORDS: Final[dict[str, str]] = {
    "weekly": "every week",
    "biweekly": "every two weeks",
    "semi_monthly": "twice a month",
    "monthly": "once a month",
    "irregular": "on an irregular schedule",
}
"""Pay frequencies (``income.pay_frequency``) in plain words; any other value is not shown."""


# --- shown units --------------------------------------------------------------------------


def round_half_away(x: float) -> int:
    """Round to the nearest whole number, halves away from zero, exactly as Polars does on a float."""
    return int(Decimal(x).to_integral_value(rounding=ROUND_HALF_UP))


def _units_expr(e: pl.Expr, scale: int) -> pl.Expr:
    """Signed whole shown units of ``e × scale`` (Int64; null for missing, NaN or infinite)."""
    scaled = (e.cast(pl.Float64) * scale).round(0, mode="half_away_from_zero")
    return scaled.cast(pl.Int64, strict=False)


def _units_py(x: Any, scale: int) -> int | None:
    if x is None:
        return None
    scaled = float(x) * scale
    return round_half_away(scaled) if math.isfinite(scaled) and abs(scaled) < 2**63 else None


def _group_expr(whole: pl.Expr) -> pl.Expr:
    """A non-negative Int64 expression as text with thousands separators (1234567 -> 1,234,567)."""
    digits = whole.cast(pl.String).str.reverse()
    return digits.str.replace_all(r"([0-9]{3})", "${1},").str.strip_suffix(",").str.reverse()


def _minus_expr(units: pl.Expr) -> pl.Expr:
    return pl.when(units < 0).then(pl.lit("-")).otherwise(pl.lit(""))


@dataclass(frozen=True)
class Format:
    """One placeholder format: its description, scale to shown units, renderers and token regex.

    ``scale`` is None for text formats (no number). ``render_py`` and ``render_expr`` take the
    raw value and print it; both return null for a null value.
    """

    name: str
    description: str
    scale: int | None
    render_py: Callable[[Any], str | None]
    render_expr: Callable[[pl.Expr], pl.Expr]
    token: str
    parse_expr: Callable[[pl.Expr], pl.Expr] | None = None

    def units_py(self, value: Any) -> int | None:
        """Signed shown units of one value (None for text formats or a null value)."""
        return None if self.scale is None else _units_py(value, self.scale)

    def units_expr(self, e: pl.Expr) -> pl.Expr:
        """Signed shown units of a column (null for text formats)."""
        return pl.lit(None, pl.Int64) if self.scale is None else _units_expr(e, self.scale)


def _cents_text_py(cents: int) -> str:
    return f"${abs(cents) // 100:,}.{abs(cents) % 100:02d}"


def _cents_text_expr(cents: pl.Expr) -> pl.Expr:
    dollars, rest = cents.abs() // 100, cents.abs() % 100
    return pl.concat_str(
        [pl.lit("$"), _group_expr(dollars), pl.lit("."), rest.cast(pl.String).str.zfill(2)]
    )


def _money_py(x: Any) -> str | None:
    cents = _units_py(x, 100)
    return None if cents is None else ("-" if cents < 0 else "") + _cents_text_py(cents)


def _money_expr(e: pl.Expr) -> pl.Expr:
    cents = _units_expr(e, 100)
    return pl.concat_str([_minus_expr(cents), _cents_text_expr(cents)])


def _balance_py(x: Any) -> str | None:
    cents = _units_py(x, 100)
    if cents is None:
        return None
    return _cents_text_py(cents) + (" below zero" if cents < 0 else "")


def _balance_expr(e: pl.Expr) -> pl.Expr:
    cents = _units_expr(e, 100)
    below = pl.when(cents < 0).then(pl.lit(" below zero")).otherwise(pl.lit(""))
    return pl.concat_str([_cents_text_expr(cents), below])


def _pct_py(x: Any) -> str | None:
    points = _units_py(x, 100)
    return None if points is None else f"{points}%"


def _pct_expr(e: pl.Expr) -> pl.Expr:
    return pl.concat_str([_units_expr(e, 100).cast(pl.String), pl.lit("%")])


def _int_py(x: Any) -> str | None:
    whole = _units_py(x, 1)
    return None if whole is None else ("-" if whole < 0 else "") + f"{abs(whole):,}"


def _int_expr(e: pl.Expr) -> pl.Expr:
    whole = _units_expr(e, 1)
    return pl.concat_str([_minus_expr(whole), _group_expr(whole.abs())])


def _tenths_py(tenths: int, *, keep_zero: bool) -> str:
    whole, frac = f"{abs(tenths) // 10:,}", abs(tenths) % 10
    sign = "-" if tenths < 0 else ""
    return f"{sign}{whole}" if frac == 0 and not keep_zero else f"{sign}{whole}.{frac}"


def _tenths_expr(tenths: pl.Expr, *, keep_zero: bool) -> pl.Expr:
    whole, frac = _group_expr(tenths.abs() // 10), (tenths.abs() % 10).cast(pl.String)
    with_frac = pl.concat_str([_minus_expr(tenths), whole, pl.lit("."), frac])
    if keep_zero:
        return with_frac
    bare = pl.concat_str([_minus_expr(tenths), whole])
    return pl.when(tenths.abs() % 10 == 0).then(bare).otherwise(with_frac)


def _num1_py(x: Any) -> str | None:
    tenths = _units_py(x, 10)
    return None if tenths is None else _tenths_py(tenths, keep_zero=True)


def _months_py(x: Any) -> str | None:
    tenths = _units_py(x, 10)
    if tenths is None:
        return None
    return _tenths_py(tenths, keep_zero=False) + (" month" if abs(tenths) == 10 else " months")


def _months_expr(e: pl.Expr) -> pl.Expr:
    tenths = _units_expr(e, 10)
    unit = pl.when(tenths.abs() == 10).then(pl.lit(" month")).otherwise(pl.lit(" months"))
    return pl.concat_str([_tenths_expr(tenths, keep_zero=False), unit])


def _count_py(noun: str) -> Callable[[Any], str | None]:
    def render(x: Any) -> str | None:
        whole = _units_py(x, 1)
        return None if whole is None else f"{_int_py(x)} {plural(whole, noun)}"

    return render


def _count_expr(noun: str) -> Callable[[pl.Expr], pl.Expr]:
    def render(e: pl.Expr) -> pl.Expr:
        whole = _units_expr(e, 1)
        word = (
            pl.when(whole.abs() == 1)
            .then(pl.lit(noun.replace("_", " ")))
            .otherwise(pl.lit(NOUNS[noun]))
        )
        return pl.concat_str([_int_expr(e), pl.lit(" "), word])

    return render


def _text_py(x: Any) -> str | None:
    return None if x is None else str(x)


def _frequency_py(x: Any) -> str | None:
    return None if x is None else FREQUENCY_WORDS.get(str(x))


def _frequency_expr(e: pl.Expr) -> pl.Expr:
    return e.cast(pl.String).replace_strict(FREQUENCY_WORDS, default=None, return_dtype=pl.String)


def _digits(token: pl.Expr) -> pl.Expr:
    return token.str.replace_all(r"[^0-9]", "").cast(pl.Int64, strict=False)


def _signed(magnitude: pl.Expr, negative: pl.Expr) -> pl.Expr:
    return pl.when(negative).then(-magnitude).otherwise(magnitude)


def _parse_plain(token: pl.Expr) -> pl.Expr:
    """Units of ``-1,234`` / ``68%`` / ``$1,234.56`` (money: its cents)."""
    return _signed(_digits(token), token.str.starts_with("-"))


def _parse_balance(token: pl.Expr) -> pl.Expr:
    return _signed(_digits(token), token.str.ends_with("below zero"))


def _parse_tenths(token: pl.Expr) -> pl.Expr:
    number = token.str.extract(r"(-?[0-9,]+(?:\.[0-9])?)", 1)
    tenths = (
        pl.when(number.str.contains(r"\.")).then(_digits(number)).otherwise(_digits(number) * 10)
    )
    return _signed(tenths, token.str.starts_with("-"))


_MONEY_TOKEN = r"\$[0-9]{1,3}(?:,[0-9]{3})*\.[0-9]{2}"
_INT_TOKEN = r"-?[0-9]{1,3}(?:,[0-9]{3})*"
_NOUN_TOKENS = "|".join(
    sorted({re.escape(n.replace("_", " ")) for n in NOUNS} | {re.escape(p) for p in NOUNS.values()})
)

FORMATS: Final[dict[str, Format]] = {
    f.name: f
    for f in (
        Format(
            "money", "dollars and cents: $1,234.56 (-$40.00 below zero; prefer balance for those)",
            100, _money_py, _money_expr, rf"-?{_MONEY_TOKEN}", _parse_plain,
        ),
        Format(
            "balance", "an amount that may be negative: $1,234.56, or $1,208.85 below zero",
            100, _balance_py, _balance_expr, rf"{_MONEY_TOKEN}(?: below zero)?", _parse_balance,
        ),
        Format(
            "pct", "a ratio as a whole percent: 0.68 -> 68%",
            100, _pct_py, _pct_expr, r"-?[0-9]+%", _parse_plain,
        ),
        Format(
            "int", "a whole number with thousands separators: 1,234",
            1, _int_py, _int_expr, _INT_TOKEN, _parse_plain,
        ),
        Format(
            "num1", "a number with one decimal: 1.5, 2.0",
            10, _num1_py, lambda e: _tenths_expr(_units_expr(e, 10), keep_zero=True),
            rf"{_INT_TOKEN}\.[0-9]", _parse_tenths,
        ),
        Format(
            "months", "months to one decimal with the unit: 1 month, 2.5 months, 14 months",
            10, _months_py, _months_expr, rf"{_INT_TOKEN}(?:\.[0-9])? months?", _parse_tenths,
        ),
        Format(
            "frequency", "a pay frequency in words: biweekly -> every two weeks",
            None, _frequency_py, _frequency_expr, "|".join(FREQUENCY_WORDS.values()),
        ),
        Format("text", "text as is: Visa, 4523", None, _text_py, lambda e: e.cast(pl.String), r".+?"),
        *(
            Format(
                f"count_{noun}",
                f"a whole count with its noun: 1 {noun.replace('_', ' ')}, 2 {many}",
                1, _count_py(noun), _count_expr(noun), rf"{_INT_TOKEN} (?:{_NOUN_TOKENS})",
                _parse_plain,
            )
            for noun, many in NOUNS.items()
        ),
    )
}  # fmt: skip
"""Every placeholder format by name."""


def plural(count: int, noun: str) -> str:
    """``noun`` for a count of one (or minus one), its plural otherwise (``recurring_charge`` too)."""
    return noun.replace("_", " ") if abs(count) == 1 else NOUNS.get(noun, noun + "s")


def money(value: float | None) -> str | None:
    """Dollars as ``$1,234.56`` (``-$40.00`` below zero); None for a missing value."""
    return _money_py(value)


def balance(value: float | None) -> str | None:
    """An amount that may be negative, said kindly: ``$1,234.56`` or ``$1,208.85 below zero``."""
    return _balance_py(value)


def pct(value: float | None) -> str | None:
    """A 0-1 ratio as a whole percent: ``68%``."""
    return _pct_py(value)


def render_value(value: Any, fmt: str) -> str | None:
    """One value in one format (Python), or None when it is missing or has no words."""
    return FORMATS[fmt].render_py(value)


def format_expr(field: str, fmt: str) -> pl.Expr:
    """The Polars expression printing column ``field`` in format ``fmt`` (null stays null)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format '{fmt}'")
    col = pl.col(field)
    return (
        pl.when(col.is_null())
        .then(pl.lit(None, pl.String))
        .otherwise(FORMATS[fmt].render_expr(col))
    )


def showable(value: Any, fmt: str) -> bool:
    """True when ``value`` may be shown in ``fmt``: present, and for numbers above zero once
    rounded (a ``balance`` may also be below zero, said in words); never $0.00, 0% or -3%."""
    spec = FORMATS[fmt]
    if spec.scale is None:
        return spec.render_py(value) is not None
    units = spec.units_py(value)
    return units is not None and (units != 0 if fmt == "balance" else units > 0)


def showable_expr(field: str, fmt: str) -> pl.Expr:
    """Per row: :func:`showable` for column ``field`` (False where null)."""
    spec = FORMATS[fmt]
    col = pl.col(field)
    if spec.scale is None:
        return spec.render_expr(col).is_not_null()
    units = spec.units_expr(col)
    return (units != 0 if fmt == "balance" else units > 0).fill_null(False)


def shown_matches(token: pl.Expr, value: pl.Expr, fmt: str) -> pl.Expr:
    """True where a rendered token says exactly what ``value`` prints as (same shown units)."""
    spec = FORMATS[fmt]
    if spec.parse_expr is None:
        return token == spec.render_expr(value)
    return spec.parse_expr(token) == spec.units_expr(value)


# --- the sentence contract ----------------------------------------------------------------

_UNITS = r"(?:recurring |active |credit )?(?:subscription|card|month|day|charge|merchant|payment|account|deposit|week|year|minute)"
_NOT_NUM = r"(?:^|[^0-9.,$-])"


@dataclass(frozen=True)
class Rule:
    """One clause of the contract: ``pattern`` must not occur (or, with ``whole``, every match of
    ``pattern`` must be all of ``whole``)."""

    id: str
    says: str
    pattern: str
    whole: str | None = None


CONTRACT: Final[tuple[Rule, ...]] = (
    Rule("zero_value", "shows a zero ($0.00, 0%, 0 months): leave the sentence out or rephrase",
         rf"{_NOT_NUM}0(?:\.0+)?(?:[^0-9.,]|$)|\$0\.00(?:[^0-9]|$)|\$0(?:[^0-9.,]|$)"),
    Rule("empty_value", "shows a missing value (None, null, nan, a dash, an empty placeholder)",
         r"\b(?:None|null|nan|NaN|inf|undefined)\b|—|\{|\}|\$ |\$\.|\$,|\(\)"),
    Rule("spacing", "has doubled spaces, doubled punctuation or a space before punctuation",
         r"  |\s[,.;:!?]|,,|\.\.|,\."),
    Rule("plural_one", "says 1 with a plural noun (1 subscriptions)",
         rf"{_NOT_NUM}1 {_UNITS}s\b"),
    Rule("plural_many", "says a number other than 1 with a singular noun (3 subscription)",
         rf"{_NOT_NUM}(?:[02-9]|[0-9]{{2,}}|[0-9]{{1,3}}(?:,[0-9]{{3}})+|[0-9]+\.[0-9]+) {_UNITS}\b(?:[^s]|$)"),
    Rule("negative_money", "prints a negative amount: say how far below zero instead",
         r"-\s?\$|\$-"),
    Rule("negative_number", "prints a negative number (grew -3%)", r"(?:^|[^0-9A-Za-z])-[0-9]"),
    Rule("money_format", "prints money other than $1,234.56",
         r"\$[0-9][0-9,]*(?:\.[0-9]+)?", whole=r"\$[0-9]{1,3}(?:,[0-9]{3})*\.[0-9]{2}"),
    Rule("percent_format", "prints a percentage with decimals or a raw ratio as a percent",
         r"[0-9]+\.[0-9]+ ?%|[0-9] %"),
    Rule("jargon", "uses jargon or an internal name",
         r"(?i)\b(?:utili[sz]ation|volatility|std|stdev|median|persona|signals?|inflows?|outflows?"
         r"|liquidity|delinquen\w*|dti|biweekly|semi_monthly|mature|early_detection|tombstoned"
         r"|window|as_of|cadence)\b|\b[a-z]+_[a-z_]+\b"),
    Rule("capital_start", "does not start with a capital letter", r"^[^A-Z]"),
    Rule("full_stop", "does not end with a full stop, question or exclamation mark", r"[^.!?]$|^$"),
    Rule("because_twice", "says 'because' twice", r"(?i)\bbecause\b.*\bbecause\b"),
    Rule("shaming", "uses shaming or judgmental wording", shaming_regex()),
)  # fmt: skip
"""Every rule a customer-facing sentence must pass."""

_COMPILED = [
    (rule, re.compile(rule.pattern), re.compile(rule.whole) if rule.whole else None)
    for rule in CONTRACT
]


def sentence_problems(text: str) -> list[str]:
    """The ids of the contract rules ``text`` breaks (empty when it is a good sentence)."""
    out = []
    for rule, pattern, whole in _COMPILED:
        if whole is None:
            bad = pattern.search(text) is not None
        else:
            bad = any(whole.fullmatch(m.group(0)) is None for m in pattern.finditer(text))
        if bad:
            out.append(rule.id)
    return out


def sentence_problems_expr(column: str | pl.Expr) -> pl.Expr:
    """Per row, the list of contract rule ids the sentence in ``column`` breaks (empty when fine)."""
    col = pl.col(column) if isinstance(column, str) else column
    flags = []
    for rule in CONTRACT:
        if rule.whole is None:
            bad = col.str.contains(rule.pattern)
        else:
            tokens = col.str.extract_all(rule.pattern)
            bad = tokens.list.eval(~pl.element().str.contains(f"^(?:{rule.whole})$")).list.any()
        flags.append(pl.when(bad.fill_null(True)).then(pl.lit(rule.id)))
    return pl.concat_list(flags).list.drop_nulls()


def says(rule_id: str) -> str:
    """What breaking rule ``rule_id`` means, in words."""
    return next(r.says for r in CONTRACT if r.id == rule_id)
