"""One threshold, every place: a persona threshold changed in the configuration file moves the
persona, its trace, the recommendation trigger that asks the same question, the trigger's words,
the recommendations, and the sentences that quote the level."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from recommend_builders import AS_OF, GENERATED, features_for, users_for

from spendsense.config import Settings, load_settings
from spendsense.personas import assign_personas
from spendsense.personas.reasoning import lit_number, lit_pct
from spendsense.recommend.catalog import Catalog
from spendsense.recommend.engine import recommend
from spendsense.recommend.fields import KEYS, build_view
from spendsense.recommend.insights import load_insights, render_insight
from spendsense.recommend.triggers import threshold_values, triggers, utilization_guide


@dataclass(frozen=True)
class Case:
    persona: int
    key: str  # personas.thresholds.persona_<n>.<key>
    criterion: str
    value: float
    user: dict[str, dict[str, Any]]
    signal: str  # the trigger asking the same question
    shown: str  # how the new value reads in words


NEUTRAL_CARD = {"credit": {"max_utilization": 0.12}}
CASES = [
    Case(1, "utilization_threshold", "max_utilization", 0.70,
         {"credit": {"max_utilization": 0.60}, "credit_cards": {"utilization": 0.60}},
         "high_utilization", "70%"),
    Case(2, "pay_gap_days_threshold", "median_pay_gap_days", 70,
         {"income": {"median_pay_gap_days": 60.0, "cash_flow_buffer_months": 0.5,
                     "pay_frequency": "monthly"}}, "irregular_income", "70"),
    Case(2, "buffer_months_threshold", "cash_flow_buffer_months", 0.4,
         {"income": {"median_pay_gap_days": 60.0, "cash_flow_buffer_months": 0.5,
                     "pay_frequency": "monthly"}}, "low_buffer", "0.4"),
    Case(3, "recurring_merchant_count_threshold", "recurring_merchant_count", 5,
         {"subscriptions": {"recurring_merchant_count": 4, "monthly_recurring_spend": 80.0,
                            "subscription_share": 0.12}}, "subscriptions", "5"),
    Case(3, "monthly_spend_threshold", "monthly_recurring_spend", 100.0,
         {"subscriptions": {"recurring_merchant_count": 4, "monthly_recurring_spend": 80.0,
                            "subscription_share": 0.05}}, "subscription_spend", "$100"),
    Case(3, "subscription_share_threshold", "subscription_share", 0.15,
         {"subscriptions": {"recurring_merchant_count": 4, "monthly_recurring_spend": 20.0,
                            "subscription_share": 0.12}}, "subscription_spend", "15%"),
    Case(4, "growth_rate_threshold", "growth_rate", 0.05,
         {"savings": {"growth_rate": 0.03, "net_inflow_monthly": 50.0}}, "savings_growth", "5%"),
    Case(4, "net_inflow_monthly_threshold", "net_inflow_monthly", 300.0,
         {"savings": {"growth_rate": 0.0, "net_inflow_monthly": 250.0}}, "savings_growth", "$300"),
    Case(4, "max_utilization_threshold", "max_utilization", 0.20,
         {"savings": {"growth_rate": 0.03}, "credit": {"max_utilization": 0.25},
          "credit_cards": {"utilization": 0.25}}, "utilization_watch", "20%"),
    Case(5, "pct_days_below_100_threshold", "pct_days_below_100", 0.5,
         {"cash_flow": {"pct_days_below_100": 0.4, "balance_std": 5000.0,
                        "avg_daily_balance": 1000.0, "balance_volatility": 5.0}},
         "low_balance_days", "50%"),
    Case(5, "balance_volatility_threshold", "balance_volatility", 3.0,
         {"cash_flow": {"pct_days_below_100": 0.4, "balance_std": 2000.0,
                        "avg_daily_balance": 1000.0, "balance_volatility": 2.0}},
         "volatile_balance", "3"),
]  # fmt: skip


def _settings(tmp_path: Path, case: Case | None) -> Settings:
    """Settings read from a configuration file, as the CLI reads them."""
    raw: dict[str, Any] = {}
    if case is not None:
        raw = {"personas": {"thresholds": {f"persona_{case.persona}": {case.key: case.value}}}}
    path = tmp_path / ("changed.yaml" if case else "default.yaml")
    path.write_text(yaml.safe_dump(raw))
    return load_settings(path, data_dir=tmp_path)


def _outcome(settings: Settings, case: Case, catalog: Catalog) -> dict[str, Any]:
    features = features_for({"u1": case.user})
    assignments = assign_personas(features, settings.personas, GENERATED)
    users = users_for(["u1"])
    rules, own = settings.personas.thresholds, settings.recommend.thresholds
    found = triggers(rules, own)[case.signal]
    population = assignments.select(*KEYS, "status", "primary_persona_id", "secondary_persona_id")
    view = build_view(features, population, users, as_of=AS_OF, thresholds=threshold_values(rules))
    result = recommend(features, assignments, users, catalog, as_of=AS_OF, generated_at=GENERATED,
                       config_version="t", config=settings.recommend, personas=rules)  # fmt: skip
    row = assignments.row(0, named=True)
    trace = json.loads(row["assignment_trace"])
    return {
        "persona": case.persona in (row["primary_persona_id"], row["secondary_persona_id"]),
        "traced": trace["evaluations"][f"persona_{case.persona}"]["criteria"][case.criterion][
            "threshold"
        ],
        "signal": view.select(found.present.fill_null(False)).item(),
        "words": found.description,
        "recs": sorted(result.recommendations.select("item_id", "rationale").rows()),
    }


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"persona_{c.persona}.{c.key}")
def test_a_persona_threshold_in_configuration_reaches_every_place(
    case: Case, tmp_path: Path, catalog: Catalog
) -> None:
    before = _outcome(_settings(tmp_path, None), case, catalog)
    after = _outcome(_settings(tmp_path, case), case, catalog)
    # The test user sits on the default side of the line: the persona and its trigger fire.
    assert before["persona"] and before["signal"] != (case.signal == "utilization_watch")
    # Moving the threshold past the user's value flips the persona and the trigger together.
    assert after["persona"] is not before["persona"]
    assert after["signal"] is not before["signal"]
    assert after["traced"] == pytest.approx(case.value)
    assert case.shown in after["words"] and case.shown not in before["words"]
    assert after["recs"] != before["recs"]


def test_the_utilization_guide_level_reaches_rationales_and_the_customer_page(
    tmp_path: Path, catalog: Catalog
) -> None:
    case = CASES[8]
    assert case.key == "max_utilization_threshold"
    settings = _settings(tmp_path, case)
    guide = utilization_guide(settings.personas.thresholds)
    assert guide == 0.20
    user = {"credit": {"max_utilization": 0.68}, "credit_cards": {"utilization": 0.68}}
    features = features_for({"u1": user})
    assignments = assign_personas(features, settings.personas, GENERATED)
    result = recommend(features, assignments, users_for(["u1"]), catalog, as_of=AS_OF,
                       generated_at=GENERATED, config_version="t", config=settings.recommend,
                       personas=settings.personas.thresholds)  # fmt: skip
    explainer = result.recommendations.filter(pl.col("item_id") == "edu_utilization_explainer")
    assert explainer.height == 1
    assert f"below {lit_pct(guide)} could" in explainer["rationale"].item()
    insight = next(i for i in load_insights() if i.id == "card_limit")
    values = {"credit.max_utilization": 0.68, **threshold_values(settings.personas.thresholds)}
    line = render_insight(insight, values)
    assert line is not None and line.sentence == (
        "Your highest card balance is 68% of its limit (many people aim to stay under 20%)."
    )
    assert lit_number(guide * 100) + "%" == "20%"
