"""Decision traces: one JSON document per recommendation, built as a Polars expression."""

from __future__ import annotations

import json
from datetime import date, datetime

import polars as pl

from spendsense.guardrails.check import CHECKS
from spendsense.recommend.candidates import CHECK_IDS, RULES

GATE = json.dumps({"checks": list(CHECKS), "passed": True}, separators=(",", ":"))
"""Every stored trace passed the gate (guardrails.check): failing rows are never stored."""


def ids(frame: pl.LazyFrame, as_of: date) -> pl.LazyFrame:
    """Deterministic ``recommendation_id`` and ``trace_id`` from user, window, date and item.

    Every row is at ``as_of`` (the run's date): the date is printed once, not per row
    (``strftime`` over a column cost more than the rest of the ids).
    """
    stem = pl.concat_str(
        [
            pl.col("user_id"),
            pl.col("window_days").cast(pl.String),
            pl.lit(as_of.strftime("%Y%m%d")),
            pl.col("item_id"),
        ],
        separator=":",
    )
    return frame.with_columns(
        pl.concat_str([pl.lit("rec:"), stem]).alias("recommendation_id"),
        pl.concat_str([pl.lit("trace:"), stem]).alias("trace_id"),
    )


def _fields(*exprs: pl.Expr) -> pl.Expr:
    """The JSON members of a struct without its braces (``"a":1,"b":"x"``), to splice."""
    return pl.struct(*exprs).struct.json_encode().str.slice(1).str.strip_suffix("}")


def _encoded(frame: pl.DataFrame, *exprs: pl.Expr) -> pl.Series:
    """One JSON object per row of ``frame``: the parts of a trace shared by many recommendations."""
    return frame.select(pl.struct(*exprs).struct.json_encode()).to_series()


def trace_parts(rows: pl.DataFrame, items: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
    """(personas JSON per user row, item JSON per catalog item), encoded once and gathered
    by ``_row`` / ``item_code`` instead of once per recommendation."""
    personas = _encoded(
        rows,
        pl.col("status"),
        pl.col("primary_persona_id"),
        pl.col("primary_persona_name"),
        pl.col("primary_severity"),
        pl.col("secondary_persona_id"),
        pl.col("secondary_persona_name"),
        pl.col("secondary_severity"),
    )
    item = _encoded(
        items, pl.col("item_id").alias("id"), pl.col("kind"), pl.col("title"), pl.col("category")
    )
    return personas, item


def trace_json(
    *, as_of: date, catalog_version: str, config_version: str, generated_at: datetime
) -> pl.Expr:
    """The trace document: personas, signals and values used, rule, item, checks, tone, score.

    Reads the pre-encoded ``_personas_json`` and ``_item_json`` columns (see
    :func:`trace_parts`); every row is at ``as_of`` and has passed the tone check. Members keep the order
    of one nested ``json_encode``: ids, item, rule, personas, signals, eligibility,
    tone, the guardrail gate, rank, versions, then the item's cited values.
    """
    rules = pl.DataFrame({"id": list(RULES), "description": list(RULES.values())})
    rule = pl.lit(_encoded(rules, pl.col("id"), pl.col("description")))
    constants = pl.DataFrame(
        {"offer": [CHECK_IDS], "education": [[]], "violations": [[]]},
        schema={n: pl.List(pl.String) for n in ("offer", "education", "violations")},
    )
    eligibility = {
        kind: _encoded(constants, pl.col(kind).alias("passed"), pl.col("education").alias("failed"))
        for kind in ("offer", "education")
    }
    tone = _encoded(constants, pl.lit(True).alias("passed"), pl.col("violations"))[0]
    return pl.concat_str(
        [
            pl.lit("{"),
            _fields(
                pl.col("trace_id"),
                pl.col("recommendation_id"),
                pl.col("user_id"),
                pl.col("window_days"),
                pl.lit(as_of.isoformat()).alias("as_of_date"),
            ),
            pl.lit(',"item":'),
            pl.col("_item_json"),
            pl.lit(',"rule":'),
            rule.gather(pl.col("rule_code")),
            pl.lit(',"personas":'),
            pl.col("_personas_json"),
            pl.lit(","),
            _fields(pl.col("matched_signals"), pl.col("signal_strengths")),
            pl.lit(',"eligibility":'),
            pl.when(pl.col("is_offer"))
            .then(pl.lit(eligibility["offer"][0]))
            .otherwise(pl.lit(eligibility["education"][0])),
            pl.lit(f',"tone":{tone},"guardrails":{GATE},'),
            _fields(
                pl.col("rank"),
                pl.col("rank_score"),
                pl.lit(catalog_version).alias("catalog_version"),
                pl.lit(config_version).alias("config_version"),
                pl.lit(generated_at.isoformat()).alias("generated_at"),
            ),
            pl.lit(',"signal_values":'),
            pl.col("signal_values"),
            pl.lit("}"),
        ]
    )
