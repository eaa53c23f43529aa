"""The last rework's rules: no cited zero or negative number, count formats, primary-persona cap."""

from __future__ import annotations

from typing import Any

import polars as pl
import yaml
from recommend_builders import AS_OF, GENERATED, HIGH_UTIL, assignments_for, features_for, users_for

from spendsense.personas.config import PersonaThresholds
from spendsense.recommend.catalog import Catalog, parse_catalog
from spendsense.recommend.config import RecommendConfig
from spendsense.recommend.engine import RecommendationResult, recommend
from spendsense.recommend.rationale import compile_template, template_regex

SPEND = "subscriptions.monthly_recurring_spend"


def _item(item_id: str, rationale: str, fields: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "id": item_id, "title": f"Item {item_id}", "summary": "A short plain summary.",
        "body": "A body long enough to pass the catalog check.", "format": "article",
        "reading_time_minutes": 2, "signals": ["general"], "fields": fields,
        "rationale": rationale, **extra,
    }  # fmt: skip


def _run(
    catalog: Catalog,
    users: dict[str, dict[str, Any]],
    personas: dict[str, tuple[int | None, int | None]],
    config: RecommendConfig | None = None,
) -> RecommendationResult:
    return recommend(features_for(users), assignments_for(personas), users_for(list(users)),
                     catalog, as_of=AS_OF, generated_at=GENERATED, config_version="t",
                     config=config)  # fmt: skip


def _rules(result: RecommendationResult, user: str, kind: str) -> list[str]:
    traces = result.traces.filter(pl.col("user_id") == user).with_columns(
        pl.col("trace").str.json_path_match("$.item.kind").alias("kind"),
        pl.col("trace").str.json_path_match("$.rule.id").alias("rule"),
        pl.col("trace").str.json_path_match("$.rank").cast(pl.Int32).alias("rank"),
    )
    return traces.filter(pl.col("kind") == kind).sort("rank")["rule"].to_list()


def test_an_item_citing_a_zero_or_negative_number_is_not_chosen() -> None:
    spend = f"{{{SPEND}:money}}"
    growth = "{savings.growth_rate:pct}"
    items = [
        _item("edu_spend", f"We suggested this because you spend {spend} a month.", [SPEND]),
        _item(
            "edu_growth",
            f"We suggested this because your savings grew {growth}.",
            ["savings.growth_rate"],
        ),
        _item(
            "edu_months",
            "We suggested this because savings cover {savings.emergency_fund_months:months}.",
            ["savings.emergency_fund_months"],
        ),
        _item(
            "edu_balance",
            "We suggested this because your balance averaged {cash_flow.avg_daily_balance:balance}.",
            ["cash_flow.avg_daily_balance"],
        ),
    ]
    catalog = parse_catalog({"education/a.yaml": yaml.safe_dump({"items": items})})
    users = {
        "zero": {"subscriptions": {"monthly_recurring_spend": 0.004},  # shows as "$0.00"
                 "savings": {"emergency_fund_months": 0.04, "growth_rate": -0.03},  # "0 months"
                 "cash_flow": {"avg_daily_balance": -1208.85}},  # said as "below zero"
        "some": {"subscriptions": {"monthly_recurring_spend": 12.5},
                 "savings": {"emergency_fund_months": 0.06, "growth_rate": 0.02},  # "0.1 months"
                 "cash_flow": {"avg_daily_balance": 0.001}},  # "$0.00": not shown
    }  # fmt: skip
    result = _run(catalog, users, {"zero": (3, None), "some": (3, None)})
    chosen = result.recommendations.group_by("user_id").agg(pl.col("item_id").sort())
    by_user = dict(zip(chosen["user_id"], chosen["item_id"].to_list(), strict=True))
    assert by_user["zero"] == ["edu_balance"]
    assert by_user["some"] == ["edu_growth", "edu_months", "edu_spend"]
    recs = result.recommendations
    texts = dict(zip(recs["item_id"], recs["rationale"], strict=True))
    assert texts["edu_balance"] == (
        "We suggested this because your balance averaged $1,208.85 below zero."
    )
    # The group is short: the other items matched but could not be rendered.
    short = result.shortfalls.filter(pl.col("user_id") == "zero")
    assert short["reason"][0].startswith("fewer than the minimum: 4 matched, 1 renderable")


def test_count_formats_use_the_plural_except_for_one() -> None:
    frame = pl.DataFrame({"c.n": [0.0, 1.0, 1.4, 2.0, 12.0, -1.0, None]})
    cards = frame.select(compile_template("{c.n:count_card}")).to_series().to_list()
    assert cards == ["0 cards", "1 card", "1 card", "2 cards", "12 cards", "-1 card", None]
    subs = frame.select(compile_template("{c.n:count_subscription}")).to_series().to_list()
    assert subs[:4] == ["0 subscriptions", "1 subscription", "1 subscription", "2 subscriptions"]
    pattern = template_regex("You have {c.n:count_card}.")
    texts = pl.Series(["You have 1 card.", "You have 3 cards.", "You have cards."])
    assert texts.str.contains(pattern).to_list() == [True, True, False]


def test_count_format_in_a_shipped_rationale(catalog: Catalog) -> None:
    one = {**HIGH_UTIL, "credit": {**HIGH_UTIL["credit"], "card_count": 1}}
    two = {**HIGH_UTIL, "credit": {**HIGH_UTIL["credit"], "card_count": 2}}
    result = _run(catalog, {"one": one, "two": two}, {"one": (1, None), "two": (1, None)})
    recs = result.recommendations.filter(pl.col("item_id") == "edu_debt_paydown_plan")
    texts = dict(zip(recs["user_id"], recs["rationale"], strict=True))
    assert "you have 1 card with" in texts["one"]
    assert "you have 2 cards with" in texts["two"]


def test_primary_persona_items_are_capped_when_a_secondary_has_candidates(
    catalog: Catalog,
) -> None:
    users = {"with_secondary": HIGH_UTIL, "primary_only": HIGH_UTIL}
    personas = {"with_secondary": (1, 3), "primary_only": (1, None)}
    result = _run(catalog, users, personas)
    capped = _rules(result, "with_secondary", "education")
    assert capped.count("primary_persona") == RecommendConfig().primary_persona_max == 4
    assert capped[4] == "secondary_persona"
    # Without a secondary persona every slot may go to the primary one.
    assert _rules(result, "primary_only", "education") == ["primary_persona"] * 5
    tighter = _run(catalog, users, personas, RecommendConfig(primary_persona_max=2))
    assert _rules(tighter, "with_secondary", "education")[:3] == [
        "primary_persona",
        "primary_persona",
        "secondary_persona",
    ]
    assert _rules(tighter, "primary_only", "education") == ["primary_persona"] * 5


def test_the_plan_is_built_once_per_catalog_and_config(catalog: Catalog) -> None:
    rules = PersonaThresholds()
    assert catalog.plan(RecommendConfig(), rules) is catalog.plan(RecommendConfig(), rules)
    other = RecommendConfig(primary_persona_max=2)
    assert catalog.plan(other, rules) is not catalog.plan(RecommendConfig(), rules)
