"""Rules at their edges: every eligibility requirement at, just under and just over its value;
every trigger threshold at its boundary; and equal rank scores ordered by item id."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from recommend_builders import AS_OF, GENERATED, assignments_for, features_for, users_for

from spendsense.guardrails.check import guardrail_check
from spendsense.guardrails.disclosure import DISCLOSURE, offer_disclosure
from spendsense.personas.config import PersonaThresholds
from spendsense.recommend.catalog import Catalog, OfferItem, parse_catalog
from spendsense.recommend.config import SignalThresholds
from spendsense.recommend.engine import recommend
from spendsense.recommend.fields import FIELD_TYPES
from spendsense.recommend.triggers import signal_strength_columns

# A user who passes everything; each case moves one field.
ELIGIBLE = {
    "income.avg_monthly_income": 4000.0, "credit.max_utilization": 0.2,
    "credit.is_overdue": False, "savings.has_savings_account": False, "credit.card_count": 1,
    "user.age_band": "35-44",
}  # fmt: skip
VIEW_TYPES = {
    "income.avg_monthly_income": pl.Float64, "credit.max_utilization": pl.Float64,
    "credit.is_overdue": pl.Boolean, "savings.has_savings_account": pl.Boolean,
    "credit.card_count": pl.Int32, "user.age_band": pl.String,
}  # fmt: skip


def _eligible(catalog: Catalog, item_id: str, **user: Any) -> tuple[bool, list[str]]:
    """The guardrail check (pipeline gate and operator writes) for one offer and one user."""
    offer = catalog.get(item_id)
    assert isinstance(offer, OfferItem)
    rec = pl.DataFrame(
        [{"user_id": "u", "window_days": 30, "item_id": offer.id, "kind": "offer",
          "title": offer.title, "rationale": "We suggested this for you.",
          "disclosure": DISCLOSURE, "offer_disclosure": offer_disclosure(offer.partner),
          "partner": offer.partner}]
    )  # fmt: skip
    view = pl.DataFrame(
        [{"user_id": "u", "window_days": 30, **ELIGIBLE, **user}], schema_overrides=VIEW_TYPES
    )
    out = guardrail_check(rec, catalog.frame, view).row(0, named=True)
    return bool(out["eligibility_ok"]), list(out["eligibility_failed"])


# (item, user field, value, passes?) — the shipped requirement values, read from the catalog
# item below so a changed catalog value cannot leave the test passing vacuously.
BOUNDARIES = [
    # off_balance_transfer_card: min income $2,500, max utilization 90%, no overdue, min age 21
    ("off_balance_transfer_card", "income.avg_monthly_income", 2500.0, True),
    ("off_balance_transfer_card", "income.avg_monthly_income", 2499.99, False),
    ("off_balance_transfer_card", "income.avg_monthly_income", 2500.01, True),
    ("off_balance_transfer_card", "credit.max_utilization", 0.90, True),
    ("off_balance_transfer_card", "credit.max_utilization", 0.8999, True),
    ("off_balance_transfer_card", "credit.max_utilization", 0.9001, False),
    ("off_balance_transfer_card", "user.age_band", "21-24", True),
    ("off_balance_transfer_card", "user.age_band", "20-24", False),
    ("off_balance_transfer_card", "user.age_band", "22-24", True),
    ("off_balance_transfer_card", "credit.is_overdue", False, True),
    ("off_balance_transfer_card", "credit.is_overdue", True, False),
    # off_secured_credit_builder: min income $1,000, no existing card, min age 18
    ("off_secured_credit_builder", "income.avg_monthly_income", 1000.0, None),
    ("off_secured_credit_builder", "credit.card_count", 0, True),
    ("off_secured_credit_builder", "credit.card_count", 1, False),
    ("off_secured_credit_builder", "user.age_band", "18-24", True),
    ("off_secured_credit_builder", "user.age_band", "17-24", False),
]


@pytest.mark.parametrize(("item", "field", "value", "passes"), BOUNDARIES)
def test_eligibility_at_just_under_and_just_over(
    catalog: Catalog, item: str, field: str, value: Any, passes: bool | None
) -> None:
    offer = catalog.get(item)
    assert isinstance(offer, OfferItem)
    elig = offer.eligibility
    # the cases above are written against these catalog values
    assert {
        "off_balance_transfer_card": (2500, 0.9, True, 21, []),
        "off_secured_credit_builder": (1000, None, False, 18, ["credit_card"]),
    }[item] == (
        elig.min_monthly_income, elig.max_utilization, elig.no_overdue, elig.min_age,
        list(elig.exclude_if_has),
    )  # fmt: skip
    user = {field: value}
    if item == "off_secured_credit_builder" and field != "credit.card_count":
        user["credit.card_count"] = 0
    ok, failed = _eligible(catalog, item, **user)
    if passes is None:  # at the income minimum with no card: passes
        assert ok, failed
    else:
        assert ok is passes, (field, value, failed)


def test_savings_account_exclusion_at_the_boundary(catalog: Catalog) -> None:
    item = next(o.id for o in catalog.offers if "savings_account" in o.eligibility.exclude_if_has)
    assert _eligible(catalog, item, **{"savings.has_savings_account": False})[0]
    ok, failed = _eligible(catalog, item, **{"savings.has_savings_account": True})
    assert not ok and failed == ["no_existing_savings_account"]


P = PersonaThresholds()
S = SignalThresholds()
# (signal, field, threshold, does the threshold itself trigger?, a step toward triggering):
# ">=" rules trigger at the threshold, ">" and "<" rules do not.
TRIGGERS = [
    ("utilization_watch", "credit.max_utilization", P.persona_4.max_utilization_threshold, True, 1e-4),
    ("high_utilization", "credit.max_utilization", P.persona_1.utilization_threshold, True, 1e-4),
    ("subscriptions", "subscriptions.recurring_merchant_count",
     P.persona_3.recurring_merchant_count_threshold, True, 1),
    ("subscription_spend", "subscriptions.monthly_recurring_spend",
     P.persona_3.monthly_spend_threshold, True, 0.01),
    ("subscription_spend", "subscriptions.subscription_share",
     P.persona_3.subscription_share_threshold, True, 1e-4),
    ("irregular_income", "income.median_pay_gap_days", P.persona_2.pay_gap_days_threshold, False, 0.5),
    ("low_buffer", "income.cash_flow_buffer_months", P.persona_2.buffer_months_threshold, False, -0.01),
    ("savings_growth", "savings.growth_rate", P.persona_4.growth_rate_threshold, True, 1e-4),
    ("savings_growth", "savings.net_inflow_monthly", P.persona_4.net_inflow_monthly_threshold, True, 0.01),
    ("low_emergency_fund", "savings.emergency_fund_months", S.emergency_fund_months, False, -0.01),
    ("low_balance_days", "cash_flow.pct_days_below_100", P.persona_5.pct_days_below_100_threshold, True, 1e-4),
    # std > threshold x mean (mean $1,000 below): at the threshold the std equals the cut
    ("volatile_balance", "cash_flow.balance_std", 1000 * P.persona_5.balance_volatility_threshold, False, 10.0),
]  # fmt: skip


def _present(signal: str, field: str, value: float) -> bool:
    row = {name: None for name in FIELD_TYPES} | {
        "cash_flow.avg_daily_balance": 1000.0,
        field: value,
    }
    frame = pl.DataFrame([row], schema=FIELD_TYPES, strict=False)
    out = frame.select(signal_strength_columns(P, S))
    return out[f"sig:{signal}"][0] is not None


@pytest.mark.parametrize(("signal", "field", "at", "at_counts", "toward"), TRIGGERS)
def test_trigger_thresholds_at_their_boundary(
    signal: str, field: str, at: float, at_counts: bool, toward: float
) -> None:
    """At the threshold, one step to the triggering side, one step to the other side."""
    assert _present(signal, field, at) is at_counts
    assert _present(signal, field, at + toward) is True
    assert _present(signal, field, at - toward) is False


TIE_CATALOG = {
    "education/tie.yaml": """
items:
  - {id: edu_zeta_tie, title: Zeta budgeting note, summary: A short budgeting note for you.,
     body: A short note on planning a monthly budget with a simple list., personas: [4],
     signals: [savings_growth], fields: [savings.savings_balance], weight: 0.5,
     format: article, reading_time_minutes: 2,
     rationale: "We suggested this because your savings balance is {savings.savings_balance:money}."}
  - {id: edu_alpha_tie, title: Alpha budgeting note, summary: A short budgeting note for you.,
     body: A short note on planning a monthly budget with a simple list., personas: [4],
     signals: [savings_growth], fields: [savings.savings_balance], weight: 0.5,
     format: article, reading_time_minutes: 2,
     rationale: "We suggested this because your savings balance is {savings.savings_balance:money}."}
  - {id: edu_mid_tie, title: Middle budgeting note, summary: A short budgeting note for you.,
     body: A short note on planning a monthly budget with a simple list., personas: [4],
     signals: [savings_growth], fields: [savings.savings_balance], weight: 0.5,
     format: article, reading_time_minutes: 2,
     rationale: "We suggested this because your savings balance is {savings.savings_balance:money}."}
""",
    "offers/none.yaml": "items: []\n",
}


def test_equal_rank_scores_are_ordered_by_item_id() -> None:
    catalog = parse_catalog(TIE_CATALOG)
    saver = {"savings": {"growth_rate": 0.05, "net_inflow_monthly": 400.0, "net_inflow": 400.0}}
    result = recommend(
        features_for({"s": saver}), assignments_for({"s": (4, None)}), users_for(["s"]),
        catalog, as_of=AS_OF, generated_at=GENERATED, config_version="test",
    )  # fmt: skip
    recs = result.recommendations.sort("rank")
    assert recs["rank_score"].n_unique() == 1  # a real tie
    assert recs["item_id"].to_list() == ["edu_alpha_tie", "edu_mid_tie", "edu_zeta_tie"]
    assert recs["rank"].to_list() == [1, 2, 3]
