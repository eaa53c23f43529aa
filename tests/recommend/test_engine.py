"""recommend(): counts, ordering, STABLE set, eligibility, harmful offers, traces, consent."""

from __future__ import annotations

import json
from typing import Any

import polars as pl
import pytest
from recommend_builders import AS_OF, GENERATED, HIGH_UTIL, assignments_for, features_for, users_for

from spendsense.guardrails.disclosure import DISCLOSURE
from spendsense.recommend.catalog import Catalog, parse_catalog
from spendsense.recommend.engine import RecommendationResult, recommend

SUBS = {"subscriptions": {"recurring_merchant_count": 6, "monthly_recurring_spend": 120.0,
                          "subscription_share": 0.2, "subscription_spend": 120.0}}  # fmt: skip
CASH = {"cash_flow": {"pct_days_below_100": 0.5, "balance_volatility": 1.6, "avg_daily_balance": 140.0,
                      "min_daily_balance": -20.0}, "income": {"cash_flow_buffer_months": 0.2}}  # fmt: skip
SAVER = {"savings": {"growth_rate": 0.05, "net_inflow_monthly": 400.0, "net_inflow": 400.0}}
VARIABLE = {"income": {"median_pay_gap_days": 60.0, "pay_frequency": "irregular",
                       "cash_flow_buffer_months": 0.4, "has_gig_income": True}}  # fmt: skip


def run(
    users: dict[str, dict[str, Any]],
    personas: dict[str, tuple[int | None, int | None]],
    catalog: Catalog,
    *,
    age: str = "25-34",
) -> RecommendationResult:
    return recommend(features_for(users), assignments_for(personas), users_for(list(users), age=age),
                     catalog, as_of=AS_OF, generated_at=GENERATED, config_version="test")  # fmt: skip


def _mixed() -> tuple[dict[str, dict[str, Any]], dict[str, tuple[int | None, int | None]]]:
    """Six users, one per persona and a STABLE one: their features and persona pairs."""
    users: dict[str, dict[str, Any]] = {"hu": HIGH_UTIL, "sub": SUBS, "cash": CASH, "save": SAVER,
                                        "var": VARIABLE, "stable": {}}  # fmt: skip
    personas = {"hu": (1, 3), "sub": (3, None), "cash": (5, 2), "save": (4, None), "var": (2, 5),
                "stable": (None, None)}  # fmt: skip
    return users, personas


@pytest.fixture(scope="module")
def mixed(catalog: Catalog) -> RecommendationResult:
    users, personas = _mixed()
    return run(users, personas, catalog)


def test_counts_per_user_and_window(mixed: RecommendationResult) -> None:
    counts = mixed.recommendations.group_by("user_id", "kind").len()
    assigned = counts.filter(pl.col("user_id") != "stable")
    edu = assigned.filter(pl.col("kind") == "education")["len"]
    offers = assigned.filter(pl.col("kind") == "offer")["len"]
    assert edu.len() == 5 and edu.min() >= 3 and edu.max() <= 5  # type: ignore[operator]
    assert offers.len() == 5 and offers.min() >= 1 and offers.max() <= 3  # type: ignore[operator]
    assert mixed.shortfalls.height == 0


def test_no_repeats_and_ranks(mixed: RecommendationResult) -> None:
    recs = mixed.recommendations
    assert recs.select("user_id", "window_days", "item_id").is_duplicated().sum() == 0
    assert recs["recommendation_id"].n_unique() == recs.height
    ranks = recs.group_by("user_id", "kind").agg(pl.col("rank").sort())
    assert all(r.to_list() == list(range(1, len(r) + 1)) for r in ranks["rank"])
    assert (recs["status"] == "proposed").all()
    assert (recs["disclosure"] == DISCLOSURE).all()


def test_primary_persona_items_come_first(mixed: RecommendationResult) -> None:
    traces = mixed.traces.with_columns(
        pl.col("trace").str.json_path_match("$.rule.id").alias("rule"),
        pl.col("trace").str.json_path_match("$.rank").cast(pl.Int32).alias("rank"),
        pl.col("trace").str.json_path_match("$.item.kind").alias("kind"),
    )
    order = {"primary_persona": 0, "secondary_persona": 1, "signal": 2, "general": 3}
    for (_, _), group in traces.filter(pl.col("user_id") != "stable").group_by("user_id", "kind"):
        rules = group.sort("rank")["rule"].to_list()
        assert [order[r] for r in rules] == sorted(order[r] for r in rules), rules
    hu_first = traces.filter((pl.col("user_id") == "hu") & (pl.col("rank") == 1))
    assert set(hu_first["rule"]) == {"primary_persona"}


def test_stable_user_gets_the_short_general_set(mixed: RecommendationResult) -> None:
    stable = mixed.recommendations.filter(pl.col("user_id") == "stable")
    assert stable.filter(pl.col("kind") == "education").height == 3
    assert stable.filter(pl.col("kind") == "offer").height <= 1
    rules = mixed.traces.filter(pl.col("user_id") == "stable")["trace"].str.json_path_match(
        "$.rule.id"
    )
    assert set(rules) == {"stable_general"}


def test_traces_are_complete_json(mixed: RecommendationResult) -> None:
    assert mixed.traces.height == mixed.recommendations.height
    doc = json.loads(mixed.traces.filter(pl.col("user_id") == "hu")["trace"][0])
    for key in ("personas", "matched_signals", "signal_values", "rule", "item", "eligibility", "tone",
                "rank_score", "catalog_version", "config_version", "generated_at"):  # fmt: skip
        assert key in doc, key
    assert doc["personas"]["primary_persona_id"] == 1
    assert doc["tone"]["passed"] is True


def test_offer_exclusions_for_savings_utilization_income_and_age(catalog: Catalog) -> None:
    users = {
        "has_savings": {**SAVER, "savings": {**SAVER["savings"], "has_savings_account": True}},
        "maxed": {**HIGH_UTIL, "credit": {**HIGH_UTIL["credit"], "max_utilization": 0.97}},
        "low_income": {**HIGH_UTIL, "income": {"avg_monthly_income": 1200.0}},
    }
    result = run(
        users, {"has_savings": (4, None), "maxed": (1, None), "low_income": (1, None)}, catalog
    )
    excl = {(r["user_id"], r["item_id"]): r["reason"] for r in result.exclusions.to_dicts()}
    assert excl[("has_savings", "off_high_yield_savings")] == "already has a savings account"
    assert "above the 90% maximum" in excl[("maxed", "off_balance_transfer_card")]
    assert "below the $2500 minimum" in excl[("low_income", "off_balance_transfer_card")]
    shown = set(
        zip(result.recommendations["user_id"], result.recommendations["item_id"], strict=True)
    )
    assert not shown & set(excl)
    young = run({"young": HIGH_UTIL}, {"young": (1, None)}, catalog, age="18-24")
    young_excl = young.exclusions.filter(pl.col("item_id") == "off_balance_transfer_card")
    assert young_excl["reason"].to_list() == ["age band 18-24 is below the minimum age 21"]


def test_harmful_offer_never_produced_even_if_catalog_lists_it(catalog: Catalog) -> None:
    payday = catalog.offers[0].model_copy(update={"id": "off_payday", "category": "payday_loan",
                                                  "weight": 1.0})  # fmt: skip
    tampered = Catalog(catalog.education, (*catalog.offers, payday), "cat-test")
    result = run({"hu": HIGH_UTIL}, {"hu": (1, None)}, tampered)
    assert "off_payday" not in result.recommendations["item_id"].to_list()
    reasons = result.exclusions.filter(pl.col("item_id") == "off_payday")["reason"].to_list()
    assert reasons == ["harmful product category or wording: never offered"]


def test_consent_required(catalog: Catalog) -> None:
    features = features_for({"a": HIGH_UTIL, "b": HIGH_UTIL})
    users = pl.DataFrame({"user_id": ["a", "b"], "consent_status": ["granted", "revoked"],
                          "age_band": ["25-34", "25-34"]})  # fmt: skip
    result = recommend(features, assignments_for({"a": (1, None), "b": (1, None)}), users, catalog,
                       as_of=AS_OF, generated_at=GENERATED, config_version="t")  # fmt: skip
    assert set(result.recommendations["user_id"]) == {"a"}


def test_shortfall_recorded_and_tone_failures_dropped(catalog: Catalog) -> None:
    streams = [{"stream_id": "s", "direction": "outflow", "merchant_name": "Reckless Records",
                "frequency": "MONTHLY", "monthly_amount": 80.0, "status": "MATURE",
                "is_subscription": True}]  # fmt: skip
    result = run({"s": {**SUBS, "recurring_streams": streams}}, {"s": (3, None)}, catalog)
    tone = result.exclusions.filter(pl.col("reason").str.starts_with("tone:"))
    assert {"edu_negotiation_tips"} <= set(tone["item_id"])
    assert not result.recommendations["rationale"].str.contains("Reckless").any()
    empty = Catalog(catalog.education, (), "cat-empty")
    short = run({"x": SUBS}, {"x": (3, None)}, empty).shortfalls
    assert short["kind"].to_list() == ["offer"]
    assert short["reason"][0].startswith("fewer than the minimum: 0 matched")


def test_deterministic(catalog: Catalog) -> None:
    a = run({"hu": HIGH_UTIL}, {"hu": (1, 3)}, catalog)
    b = run({"hu": HIGH_UTIL}, {"hu": (1, 3)}, catalog)
    assert a.recommendations.equals(b.recommendations)
    assert a.traces.equals(b.traces)
    assert parse_catalog({}).version == parse_catalog({}).version


def test_without_traces_every_other_table_is_the_same(
    mixed: RecommendationResult, catalog: Catalog
) -> None:
    """traces=False (runs that store no trace) builds none and changes nothing else."""
    users, personas = _mixed()
    bare = recommend(features_for(users), assignments_for(personas), users_for(list(users)),
                     catalog, as_of=AS_OF, generated_at=GENERATED, config_version="test",
                     traces=False)  # fmt: skip
    assert bare.traces.height == 0 and bare.traces.schema == mixed.traces.schema
    for table in ("recommendations", "exclusions", "shortfalls"):
        assert getattr(bare, table).equals(getattr(mixed, table)), table
