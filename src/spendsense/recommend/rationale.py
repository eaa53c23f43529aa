"""Rationale templates compiled into Polars string expressions, and their independent check.

A template is plain text with placeholders ``{field:format}``; ``field`` is a
name from :data:`spendsense.recommend.fields.FIELD_TYPES` and ``format`` one of
:data:`FORMATS`. Rendering is one ``concat_str`` per template over the whole
frame (null when any cited field is null, so the item cannot be shown without
its numbers). Verification goes the other way: it turns the template into a
regex, reads every number back out of the rendered text and compares it with
the feature value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

import polars as pl

FORMATS: dict[str, str] = {
    "money": "dollars: $3,400 when whole, $87.12 otherwise",
    "money0": "dollars rounded to the whole dollar: $3,400",
    "pct": "a ratio shown as a whole percent: 0.68 -> 68%",
    "int": "a number rounded to a whole number: 3",
    "num1": "a number with one decimal: 1.5",
    "text": "text as is: Visa, 4523",
}
_NOUNS = {"card": "cards", "subscription": "subscriptions"}
FORMATS.update(
    {
        f"count_{noun}": f"a whole count with its noun: 1 {noun}, 2 {plural}"
        for noun, plural in _NOUNS.items()
    }
)

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*)(?::([a-z0-9_]+))?\}")
_ROUND: Final = "half_away_from_zero"

# What each format looks like in rendered text (regex), for verification.
_TOKEN = {
    "money": r"-?\$[0-9,]+(?:\.[0-9]{2})?",
    "money0": r"-?\$[0-9,]+",
    "pct": r"-?[0-9,]+%",
    "int": r"-?[0-9,]+",
    "num1": r"-?[0-9,]+\.[0-9]",
    "text": r".+?",
}
_TOKEN.update({f"count_{n}": rf"-?[0-9,]+ (?:{p}|{n})" for n, p in _NOUNS.items()})
# Largest allowed |shown - feature| in the shown unit, per format.
_TOLERANCE = {"money": 0.005, "money0": 0.5, "pct": 0.5, "int": 0.5, "num1": 0.05}
_TOLERANCE.update({f"count_{n}": 0.5 for n in _NOUNS})


@dataclass(frozen=True)
class Placeholder:
    """One ``{field:format}`` in a template."""

    field: str
    fmt: str


def parse_template(template: str) -> tuple[list[str], list[Placeholder]]:
    """Split a template into literal parts (one more than placeholders) and placeholders."""
    literals: list[str] = []
    holders: list[Placeholder] = []
    pos = 0
    for match in _PLACEHOLDER.finditer(template):
        literals.append(template[pos : match.start()])
        holders.append(Placeholder(match.group(1), match.group(2) or "text"))
        pos = match.end()
    literals.append(template[pos:])
    return literals, holders


def template_problems(template: str, known_fields: set[str]) -> list[str]:
    """What is wrong with a template: unknown fields or formats, stray braces, no numbers cited."""
    literals, holders = parse_template(template)
    problems = [f"unknown field '{h.field}'" for h in holders if h.field not in known_fields]
    problems += [f"unknown format '{h.fmt}' for {h.field}" for h in holders if h.fmt not in FORMATS]
    if any("{" in lit or "}" in lit for lit in literals):
        problems.append("unbalanced or malformed placeholder braces")
    if not any(h.fmt != "text" for h in holders):
        problems.append("cites no number from the user's data")
    if "because" not in template.lower():
        problems.append("does not say 'because'")
    return problems


def _group_thousands(whole: pl.Expr) -> pl.Expr:
    """A non-negative Int64 expression as text with thousands separators (1234567 -> 1,234,567)."""
    reversed_digits = whole.cast(pl.String).str.reverse()
    grouped = reversed_digits.str.replace_all(r"([0-9]{3})", "${1},").str.strip_suffix(",")
    return grouped.str.reverse()


def money_expr(value: pl.Expr, *, whole_dollars: bool = False) -> pl.Expr:
    """Dollars as text: ``$3,400``, ``$87.12``, ``-$40`` (cents only when not whole)."""
    cents = (value.abs() * 100).round(0, mode=_ROUND).cast(pl.Int64)
    if whole_dollars:
        cents = (value.abs()).round(0, mode=_ROUND).cast(pl.Int64) * 100
    dollars, rest = cents // 100, cents % 100
    tail = (
        pl.when(rest == 0)
        .then(pl.lit(""))
        .otherwise(pl.concat_str([pl.lit("."), rest.cast(pl.String).str.zfill(2)]))
    )
    sign = pl.when((value < 0) & (cents > 0)).then(pl.lit("-")).otherwise(pl.lit(""))
    text = pl.concat_str([sign, pl.lit("$"), _group_thousands(dollars), tail])
    return pl.when(value.is_null()).then(pl.lit(None, pl.String)).otherwise(text)


def format_expr(field: str, fmt: str) -> pl.Expr:
    """The Polars expression rendering one feature column in one format."""
    col = pl.col(field)
    if fmt == "money":
        return money_expr(col)
    if fmt == "money0":
        return money_expr(col, whole_dollars=True)
    if fmt == "pct":
        return pl.concat_str(
            [(col * 100).round(0, mode=_ROUND).cast(pl.Int64).cast(pl.String), pl.lit("%")]
        )
    if fmt == "int":
        whole = col.round(0, mode=_ROUND).cast(pl.Int64)
        return (
            pl.when(whole < 0)
            .then(pl.concat_str([pl.lit("-"), _group_thousands(-whole)]))
            .otherwise(_group_thousands(whole))
        )
    if fmt == "num1":
        return col.cast(pl.Float64).round(1, mode=_ROUND).cast(pl.String)
    if fmt.startswith("count_") and fmt[6:] in _NOUNS:
        noun = fmt[6:]
        whole = col.round(0, mode=_ROUND).cast(pl.Int64)
        word = pl.when(whole.abs() == 1).then(pl.lit(noun)).otherwise(pl.lit(_NOUNS[noun]))
        return pl.concat_str([format_expr(field, "int"), pl.lit(" "), word])
    if fmt == "text":
        return col.cast(pl.String)
    raise ValueError(f"unknown format '{fmt}'")


def compile_template(template: str) -> pl.Expr:
    """One ``concat_str`` expression for a template (null when any cited field is null)."""
    literals, holders = parse_template(template)
    parts: list[pl.Expr] = []
    for literal, holder in zip(literals, [*holders, None], strict=True):
        if literal:
            parts.append(pl.lit(literal))
        if holder is not None:
            parts.append(format_expr(holder.field, holder.fmt))
    return pl.concat_str(parts) if parts else pl.lit("")


def _escape(text: str) -> str:
    """Escape regex metacharacters in a way both Python ``re`` and Rust ``regex`` accept."""
    return re.sub(r"([\\.+*?()|\[\]{}^$#&~-])", r"\\\1", text)


def template_regex(template: str) -> str:
    """An anchored regex matching any rendering of ``template``; group ``gN`` is placeholder N."""
    literals, holders = parse_template(template)
    out = ["^"]
    for i, literal in enumerate(literals):
        out.append(_escape(literal))
        if i < len(holders):
            out.append(f"(?<g{i}>{_TOKEN[holders[i].fmt]})")
    out.append("$")
    return "".join(out)


def parse_shown(token: pl.Expr, fmt: str) -> pl.Expr:
    """The number a rendered token stands for, in the feature's own unit (pct back to a ratio x100)."""
    cleaned = token.str.replace_all(r"[^0-9.\-]", "")
    return cleaned.cast(pl.Float64, strict=False)


def shows_zero(field: str, fmt: str) -> pl.Expr:
    """True where the field would render as zero (``$0``, ``0.0``, ``0%``) in this format."""
    if fmt == "text":
        return pl.lit(False)
    number = pl.col(field).cast(pl.Float64).abs() * (100 if fmt == "pct" else 1)
    return number < _TOLERANCE[fmt]


def shown_matches(token: pl.Expr, value: pl.Expr, fmt: str) -> pl.Expr:
    """True where the rendered token agrees with the feature value within the format's rounding."""
    if fmt == "text":
        return token == value.cast(pl.String)
    number = value.cast(pl.Float64) * (100 if fmt == "pct" else 1)
    return (parse_shown(token, fmt) - number).abs() <= _TOLERANCE[fmt] + 1e-6


def compiled_templates(items: pl.DataFrame) -> dict[str, tuple[list[str], pl.Expr, pl.Expr]]:
    """Per item: cited fields, the rationale expression and the cited-values JSON expression."""
    out: dict[str, tuple[list[str], pl.Expr, pl.Expr]] = {}
    for item_id, template, fields in items.select("item_id", "template", "fields").rows():
        cited = list(dict.fromkeys(fields))
        values = pl.struct([pl.col(f) for f in cited]).struct.json_encode()
        out[item_id] = (cited, compile_template(template), values)
    return out


SMALL_FRAME_ROWS = 2000
"""Below this many rows one when/then chain renders every item (the on-demand path)."""


def render(
    frame: pl.DataFrame,
    wide: pl.DataFrame,
    compiled: dict[str, tuple[list[str], pl.Expr, pl.Expr]],
) -> pl.DataFrame:
    """Add ``rationale`` and ``signal_values`` (JSON of the cited fields) to every candidate row.

    ``frame`` carries ``_row`` (the row of ``wide`` holding the user's fields) and
    ``item_id``. Large frames are grouped by catalog item (not by user): each item's
    expressions run once over all of that item's rows. Small frames (one user on
    demand) pick each row's template with a when/then chain instead. Both paths
    evaluate the same compiled expressions.
    """
    names = ("rationale", "signal_values")
    present = frame["item_id"].unique().sort().to_list()
    if not present:
        return frame.with_columns([pl.lit(None, pl.String).alias(n) for n in names])

    def gathered(part: pl.DataFrame, items: list[str]) -> tuple[pl.DataFrame, list[str]]:
        cited = list(dict.fromkeys(f for item in items for f in compiled[item][0]))
        return part.hstack(wide.select(cited)[part["_row"]]), cited

    if frame.height < SMALL_FRAME_ROWS:
        joined, cited = gathered(frame, present)
        chains: list[Any] = [pl, pl]
        for item in present:
            is_item = pl.col("item_id") == item
            chains = [
                c.when(is_item).then(e) for c, e in zip(chains, compiled[item][1:], strict=True)
            ]
        return joined.with_columns(
            [c.otherwise(None).alias(n) for c, n in zip(chains, names, strict=True)]
        ).drop(cited)
    parts = []
    for key, part in frame.partition_by("item_id", as_dict=True, maintain_order=True).items():
        item = str(key[0])
        joined, cited = gathered(part, [item])
        exprs = compiled[item][1:]
        parts.append(
            joined.with_columns([e.alias(n) for e, n in zip(exprs, names, strict=True)]).drop(cited)
        )
    return pl.concat(parts, how="vertical")
