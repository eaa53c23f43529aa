"""Rationale rendering formats and the independent re-derivation of every number."""

from __future__ import annotations

import polars as pl
from recommend_builders import AS_OF, GENERATED, HIGH_UTIL, assignments_for, features_for, users_for

from spendsense.recommend.catalog import Catalog
from spendsense.recommend.engine import recommend
from spendsense.recommend.rationale import compile_template
from spendsense.recommend.verify import verify_rationales
from spendsense.text import format_expr


def test_money_and_percent_formats() -> None:
    values = [0.0, 87.12, 3400.0, 1234567.891, -40.5, None]
    out = pl.DataFrame({"v": values}).select(format_expr("v", "money")).to_series().to_list()
    assert out == ["$0.00", "$87.12", "$3,400.00", "$1,234,567.89", "-$40.50", None]
    frame = pl.DataFrame({"c.u": [0.675, 0.004], "c.n": ["Visa", "Amex"]})
    expr = compile_template("Your {c.n} is at {c.u:pct}.")
    assert frame.select(expr).to_series().to_list() == [
        "Your Visa is at 68%.",
        "Your Amex is at 0%.",
    ]


def test_example_rationale_from_the_brief_in_plain_words(catalog: Catalog) -> None:
    """The brief's example, with money as $1,234.56 and "utilization" said plainly
    (docs/decisions.md: the sentence contract)."""
    features = features_for({"u1": HIGH_UTIL})
    result = recommend(features, assignments_for({"u1": (1, 3)}), users_for(["u1"]), catalog,
                       as_of=AS_OF, generated_at=GENERATED, config_version="t")  # fmt: skip
    texts = dict(
        zip(result.recommendations["item_id"], result.recommendations["rationale"], strict=True)
    )
    assert texts["edu_utilization_explainer"] == (
        "We suggested this because your Visa ending in 4523 is using 68% of its limit ($3,400.00 of "
        "$5,000.00). Bringing this below 30% could improve your credit score."
    )
    assert "$87.12 a month in interest" in texts["edu_interest_cost"]
    assert all("because" in t for t in texts.values())


def test_every_number_rederives_and_tampering_is_caught(catalog: Catalog) -> None:
    users = {"u1": HIGH_UTIL, "u2": {}, "u3": {"cash_flow": {"pct_days_below_100": 0.45,
             "balance_volatility": 1.4, "avg_daily_balance": 180.0, "min_daily_balance": -35.2}}}  # fmt: skip
    features = features_for(users)
    result = recommend(features, assignments_for({"u1": (1, 3), "u2": (None, None), "u3": (5, None)}),
                       users_for(list(users)), catalog, as_of=AS_OF, generated_at=GENERATED,
                       config_version="t")  # fmt: skip
    recs = result.recommendations
    assert recs.height > 10
    assert verify_rationales(recs, features, catalog) == []
    tampered = recs.with_columns(pl.col("rationale").str.replace("$3,400", "$3,500", literal=True))
    problems = verify_rationales(tampered, features, catalog)
    assert problems and all("shows $3,500" in p for p in problems)
    reworded = recs.with_columns(pl.col("rationale").str.replace("because", "since", literal=True))
    assert len(verify_rationales(reworded, features, catalog)) == recs.height
