"""Candidate generation: every catalog item scored against every user row, in wide form.

A candidate is a (user, window, item) where the item answers at least one of
the user's present signals (``general`` is present for everyone). The rule that
chose it is, in order: the item is made for the user's primary persona, for the
secondary persona, it answers a specific signal, or it is general content.
STABLE users get only items marked ``general`` (rule ``stable_general``).

The catalog is small (tens of items) and the population large, so each item is
one set of column expressions over the whole user frame (one row per user and
window, with a ``sig:<name>`` strength column per signal, null when absent).
Only the per-item scores are stacked into long form; matched-signal lists are
built later, for the chosen rows only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from spendsense.guardrails.eligibility import eligibility_checks
from spendsense.recommend.config import RuleWeights
from spendsense.recommend.rationale import parse_template, shows_zero

PERSONA_COLUMNS = [
    "status",
    "primary_persona_id",
    "primary_persona_name",
    "primary_severity",
    "secondary_persona_id",
    "secondary_persona_name",
    "secondary_severity",
]

RULES: dict[str, str] = {
    "primary_persona": "made for the user's primary persona and answers a present signal",
    "secondary_persona": "made for the user's secondary persona and answers a present signal",
    "signal": "answers one of the user's present signals",
    "general": "general content used to reach the minimum number of items",
    "stable_general": "general set for a user with no persona (STABLE)",
}
RULE_IDS = list(RULES)
"""Rule id by code (the long candidate frame carries the code, a UInt8)."""

ROW = "_row"
"""Row index of the user frame: the only key the long frames carry until the end."""

_ELIG_TYPES: dict[str, pl.DataType] = {
    "elig_min_monthly_income": pl.Float64(), "elig_max_utilization": pl.Float64(),
    "elig_no_overdue": pl.Boolean(), "elig_exclude_savings_account": pl.Boolean(),
    "elig_exclude_credit_card": pl.Boolean(), "elig_min_age": pl.Int32(),
    "item_harmful": pl.Boolean(),
}  # fmt: skip
CHECK_IDS = [name for name, _, _ in eligibility_checks()]


def signal_column(name: str) -> str:
    """The wide column holding a signal's strength (null when the signal is absent)."""
    return f"sig:{name}"


@dataclass(frozen=True)
class ItemPlan:
    """What the scoring needs to know about one catalog item."""

    code: int
    item_id: str
    kind: str
    signals: tuple[str, ...]
    personas: tuple[int, ...]
    fields: tuple[str, ...]
    numbers: tuple[tuple[str, str], ...]
    weight: float
    general: bool
    eligibility: dict[str, Any]


def item_plans(items: pl.DataFrame) -> list[ItemPlan]:
    """One plan per catalog item; ``code`` follows item id order so it breaks ties like the id."""
    cols = ["item_id", "kind", "signals", "personas", "fields", "weight", "general", "template"]
    cols += ["zero_ok"] if "zero_ok" in items.columns else []
    elig = [c for c in _ELIG_TYPES if c in items.columns]
    ordered = items.sort("item_id")
    plans = []
    for code, row in enumerate(ordered.select(*cols, *elig).to_dicts()):
        plans.append(
            ItemPlan(
                code=code,
                item_id=row["item_id"],
                kind=row["kind"],
                signals=tuple(row["signals"]),
                personas=tuple(row["personas"] or ()),
                fields=tuple(dict.fromkeys(row["fields"])),
                numbers=tuple(
                    (h.field, h.fmt)
                    for h in parse_template(row["template"])[1]
                    if h.fmt != "text" and h.field not in set(row.get("zero_ok") or ())
                ),
                weight=float(row["weight"]),
                general=bool(row["general"]),
                eligibility={c: row[c] for c in elig},
            )
        )
    return plans


def _rule_and_score(plan: ItemPlan, weights: RuleWeights) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(matched-signal count, rule code or null, rank score) expressions for one item.

    The rule reads the count from column ``n:<code>`` and the score reads both from
    ``n:<code>`` and ``r:<code>``, so each stays a small expression.
    """
    specific = [pl.col(signal_column(s)) for s in plan.signals if s != "general"]
    n_col, r_col = pl.col(f"n:{plan.code}"), pl.col(f"r:{plan.code}")
    if specific:
        max_strength = pl.max_horizontal(specific).fill_null(0.0)
        n_specific = pl.sum_horizontal([c.is_not_null() for c in specific]).cast(pl.Int32)
    else:
        max_strength, n_specific = pl.lit(0.0), pl.lit(0, pl.Int32)
    matched = pl.lit(True) if "general" in plan.signals else n_col > 0
    stable = pl.col("status") == "STABLE"
    personas = list(plan.personas)
    for_primary = pl.col("primary_persona_id").is_in(personas).fill_null(False)
    for_secondary = pl.col("secondary_persona_id").is_in(personas).fill_null(False)
    code = RULE_IDS.index
    base_by_rule = {
        "primary_persona": weights.primary_persona,
        "secondary_persona": weights.secondary_persona,
        "signal": weights.signal,
        "general": weights.general,
        "stable_general": weights.stable_general,
    }
    chain: Any = pl.when(~matched | ~_renderable(plan)).then(pl.lit(None, pl.UInt8))
    if plan.general:
        chain = chain.when(stable).then(pl.lit(code("stable_general"), pl.UInt8))
    rule = (
        chain.when(stable)
        .then(pl.lit(None, pl.UInt8))
        .when(for_primary)
        .then(pl.lit(code("primary_persona"), pl.UInt8))
        .when(for_secondary)
        .then(pl.lit(code("secondary_persona"), pl.UInt8))
        .when(n_col > 0)
        .then(pl.lit(code("signal"), pl.UInt8))
        .otherwise(pl.lit(code("general"), pl.UInt8))
    )
    # A when/then chain: replace_strict builds a lookup table on every call (slow per user).
    base_chain: Any = pl
    for rule_id, weight in base_by_rule.items():
        base_chain = base_chain.when(r_col == code(rule_id)).then(pl.lit(float(weight)))
    base = base_chain.otherwise(pl.lit(None, pl.Float64))
    extra = (n_col - 1).clip(lower_bound=0).cast(pl.Float64)
    score = (
        base + weights.strength * max_strength + weights.extra_signal * extra + plan.weight
    ).round(4)
    return n_specific, rule, score


def _renderable(plan: ItemPlan) -> pl.Expr:
    """Every cited field present, and no cited number that would read as zero ($0, 0.0 months)
    unless the item marks that field ``zero_ok`` (the zero is its point)."""
    present = [pl.col(f).is_not_null() for f in plan.fields]
    nonzero = [~shows_zero(f, fmt) for f, fmt in plan.numbers]
    return pl.all_horizontal([*present, *nonzero])


def _checks(plan: ItemPlan) -> list[tuple[str, pl.Expr, pl.Expr]]:
    """The shared eligibility checks with this offer's requirements as literals."""
    return eligibility_checks({c: pl.lit(v, _ELIG_TYPES[c]) for c, v in plan.eligibility.items()})


@dataclass(frozen=True)
class Candidates:
    """Long candidate rows (eligible and renderable) and one row per failed offer check."""

    rows: pl.LazyFrame
    exclusions: pl.LazyFrame


def _scored(wide: pl.LazyFrame, plans: list[ItemPlan], weights: RuleWeights) -> pl.LazyFrame:
    """Add per item: ``n:<code>`` (specific signals matched), ``r:<code>`` (rule code, null
    when the item is not a candidate or cannot be rendered), ``s:<code>`` (rank score) and,
    for offers, ``e:<code>`` (passes every eligibility check)."""
    exprs = [_rule_and_score(p, weights) for p in plans]
    return (
        wide.with_columns(
            [n.alias(f"n:{p.code}") for p, (n, _, _) in zip(plans, exprs, strict=True)]
        )
        .with_columns([r.alias(f"r:{p.code}") for p, (_, r, _) in zip(plans, exprs, strict=True)])
        .with_columns(
            [s.alias(f"s:{p.code}") for p, (_, _, s) in zip(plans, exprs, strict=True)]
            + [
                pl.all_horizontal([ok for _, ok, _ in _checks(p)]).alias(f"e:{p.code}")
                for p in plans
                if p.kind == "offer"
            ]
        )
    )


def build_candidates(wide: pl.LazyFrame, plans: list[ItemPlan], weights: RuleWeights) -> Candidates:
    """Score every item for every row and keep (row, item) pairs that may be shown.

    Per row, one list holds the items that may be shown (a struct per item) and one
    the failed offer checks; exploding those lists gives the long frames. ``rows``
    has ``_row``, ``item_code``, ``is_offer``, ``stable``, ``rule_code`` and
    ``rank_score``; ``exclusions`` has ``_row``, ``item_code`` and ``reason`` for
    offers that matched and could be rendered but failed an eligibility check.
    """
    shown, failed = [], []
    for plan in plans:
        rule = pl.col(f"r:{plan.code}")
        code = pl.lit(plan.code, pl.UInt16).alias("item_code")
        entry = pl.struct(
            code,
            pl.lit(plan.kind == "offer").alias("is_offer"),
            rule.alias("rule_code"),
            pl.col(f"s:{plan.code}").alias("rank_score"),
        )
        candidate = rule.is_not_null()
        if plan.kind == "offer":
            failed += [
                pl.when(candidate & ~ok).then(pl.struct(code, why.cast(pl.String).alias("reason")))
                for _, ok, why in _checks(plan)
            ]
            candidate = candidate & pl.col(f"e:{plan.code}")
        shown.append(pl.when(candidate).then(entry))
    no_reason = pl.struct(pl.lit(0, pl.UInt16).alias("item_code"), pl.lit("").alias("reason"))
    frame = _scored(wide, plans, weights).select(
        ROW,
        (pl.col("status") == "STABLE").alias("stable"),
        pl.concat_list(shown or [pl.lit(None, pl.Struct({}))]).list.drop_nulls().alias("_shown"),
        # A placeholder keeps concat_list non-empty for a catalog without offers.
        pl.concat_list(failed or [pl.when(pl.lit(False)).then(no_reason)])
        .list.drop_nulls()
        .alias("_failed"),
    )
    rows = (
        frame.select(ROW, "stable", "_shown")
        .explode("_shown")
        .drop_nulls("_shown")
        .unnest("_shown")
    )
    exclusions = (
        frame.select(ROW, "_failed").explode("_failed").drop_nulls("_failed").unnest("_failed")
    )
    return Candidates(rows=rows, exclusions=exclusions)


def stage_counts(wide: pl.LazyFrame, plans: list[ItemPlan], weights: RuleWeights) -> pl.LazyFrame:
    """Per row and kind: how many items matched, could be rendered, and were eligible.

    Used only for groups that end below their minimum (the shortfall reason).
    """
    scored = _scored(wide, plans, weights)
    counts = []
    for kind in ("education", "offer"):
        matched, renderable, eligible = [], [], []
        for plan in (p for p in plans if p.kind == kind):
            stable = pl.col("status") == "STABLE"
            has = pl.lit(True) if "general" in plan.signals else pl.col(f"n:{plan.code}") > 0
            matched.append(has & (~stable | pl.lit(plan.general)))
            ok = pl.col(f"r:{plan.code}").is_not_null()
            renderable.append(ok)
            eligible.append(ok & pl.col(f"e:{plan.code}") if kind == "offer" else ok)
        total = [
            (pl.sum_horizontal(e) if e else pl.lit(0)).cast(pl.Int32).alias(f"n_{name}")
            for name, e in (
                ("matched", matched),
                ("renderable", renderable),
                ("eligible", eligible),
            )
        ]
        counts.append(scored.select(ROW, pl.lit(kind).alias("kind"), *total))
    return pl.concat(counts)


def matched_signal_exprs(plan: ItemPlan) -> tuple[pl.Expr, pl.Expr]:
    """(matched signal ids, their strengths) for one item: strongest first, then by name.

    An item answers at most a handful of signals, so each signal's position is the
    number of present signals ahead of it (elementwise, no per-row list sorting).
    """
    strength = {s: pl.col(signal_column(s)) for s in plan.signals}
    position = {}
    for s in plan.signals:
        ahead = [
            (strength[o] > strength[s]) | ((strength[o] == strength[s]) & pl.lit(o < s))
            for o in plan.signals
            if o != s
        ]
        count = pl.sum_horizontal([a.fill_null(False) for a in ahead]) if ahead else pl.lit(0)
        position[s] = pl.when(strength[s].is_not_null()).then(count)
    names, values = [], []
    for slot in range(len(plan.signals)):
        name: Any = pl
        value: Any = pl
        for s in plan.signals:
            name = name.when(position[s] == slot).then(pl.lit(s))
            value = value.when(position[s] == slot).then(strength[s])
        names.append(name.otherwise(pl.lit(None, pl.String)))
        values.append(value.otherwise(pl.lit(None, pl.Float64)))
    return (
        pl.concat_list(names).list.drop_nulls(),
        pl.concat_list(values).list.drop_nulls(),
    )
