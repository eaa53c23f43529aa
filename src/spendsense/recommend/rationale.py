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
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from spendsense.text import FORMATS, format_expr, render_value

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*)(?::([a-z0-9_]+))?\}")


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


def template_problems(
    template: str, known_fields: set[str], *, because: bool = True, needs_number: bool = True
) -> list[str]:
    """What is wrong with a template: unknown fields or formats, stray braces, and (for a
    rationale) no number cited or no "because"."""
    literals, holders = parse_template(template)
    problems = [f"unknown field '{h.field}'" for h in holders if h.field not in known_fields]
    problems += [f"unknown format '{h.fmt}' for {h.field}" for h in holders if h.fmt not in FORMATS]
    if any("{" in lit or "}" in lit for lit in literals):
        problems.append("unbalanced or malformed placeholder braces")
    numeric = any(h.fmt in FORMATS and FORMATS[h.fmt].scale is not None for h in holders)
    if needs_number and not numeric:
        problems.append("cites no number from the user's data")
    if because and "because" not in template.lower():
        problems.append("does not say 'because'")
    return problems


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


def render_template(template: str, values: Mapping[str, Any]) -> str | None:
    """One rendering of ``template`` from a mapping of field values, in Python (a single page);
    None when a cited value is missing, like :func:`compile_template` over a frame."""
    literals, holders = parse_template(template)
    parts = [literals[0]]
    for holder, literal in zip(holders, literals[1:], strict=True):
        shown = render_value(values.get(holder.field), holder.fmt)
        if shown is None:
            return None
        parts += [shown, literal]
    return "".join(parts)


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
            out.append(f"(?<g{i}>{FORMATS[holders[i].fmt].token})")
    out.append("$")
    return "".join(out)


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
