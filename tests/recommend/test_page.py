"""The customer's page: the merge across windows, insights from the same numbers, calculators."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import pytest
from edge_population import AS_OF, WINDOWS, edge_features, edge_users

from spendsense.config import Settings
from spendsense.recommend.calculators import calculator, parse_amount, payoff_months, recalculate
from spendsense.recommend.catalog import Catalog
from spendsense.recommend.config import RecommendConfig
from spendsense.recommend.fields import FIELD_TYPES, build_view, view_rows
from spendsense.recommend.insights import load_insights, render_insight
from spendsense.recommend.page import build_page, merge_windows
from spendsense.recommend.triggers import threshold_values
from spendsense.text import sentence_problems

LEVELS = threshold_values(Settings().personas.thresholds)


@dataclass(frozen=True)
class Rec:
    recommendation_id: str
    window_days: int
    kind: str
    item_id: str
    rank_score: float | None
    rank: int = 1
    title: str = ""
    rationale: str = "We suggested this because of your numbers."
    status: str = "proposed"
    trace_id: str = "t"


def rec(item: str, window: int, score: float, kind: str = "education") -> Rec:
    return Rec(f"{item}@{window}", window, kind, item, score, title=f"Title {item}")


def test_view_rows_equal_build_view_for_every_field() -> None:
    features = edge_features(300, seed=3)
    users = edge_users(300)
    keys = pl.DataFrame(
        {"user_id": users["user_id"].to_list() * 2, "window_days": [30] * 300 + [180] * 300},
        schema={"user_id": pl.String, "window_days": pl.Int32},
    )
    view = build_view(features, keys, users, as_of=AS_OF, thresholds=LEVELS)
    expected = {(r["user_id"], r["window_days"]): r for r in view.to_dicts()}
    for user_id in users["user_id"].to_list()[:300]:
        tables = {
            t: f.filter(pl.col("user_id") == user_id)
            .with_columns(pl.col("as_of_date").cast(pl.String))
            .to_dicts()
            for t, f in features.items()
        }
        for window, row in view_rows(tables, LEVELS).items():
            want = expected[(user_id, window)]
            cited = [f for f in FIELD_TYPES if not f.startswith("user.")]  # never cited
            assert {f: row[f] for f in cited} == {f: want[f] for f in cited}


def test_each_item_once_best_version_first_within_the_limits(catalog: Catalog) -> None:
    recs = [
        rec("edu_hysa_basics", 30, 35.0),
        rec("edu_hysa_basics", 180, 36.0),
        *(rec(i.id, 180, 20.0 - n) for n, i in enumerate(catalog.education[:8])),
        *(rec(i.id, 30, 10.0 - n, "offer") for n, i in enumerate(catalog.offers[:5])),
    ]
    chosen, _, left_out = merge_windows(recs, catalog, stable=False)
    ids = [r.item_id for r in chosen]
    assert len(ids) == len(set(ids)) == 5 + 3
    assert chosen[0].item_id == "edu_hysa_basics" and chosen[0].window_days == 180
    assert [r.kind for r in chosen] == ["education"] * 5 + ["offer"] * 3
    assert any("already has 5" in why for _, why in left_out)
    stable, _, _ = merge_windows(recs, catalog, stable=True)
    assert sum(r.kind == "education" for r in stable) == 3 and len(stable) == 4
    wide = RecommendConfig(education_max=2, offer_max=1)
    assert len(merge_windows(recs, catalog, stable=False, config=wide)[0]) == 3


def test_a_number_is_never_shown_from_two_periods(catalog: Catalog) -> None:
    # both cite savings.emergency_fund_months; the second must use the first one's period
    first = rec("edu_emergency_fund_calculator", 30, 40.0)
    second_180 = rec("edu_next_savings_goal", 180, 39.0)
    second_30 = rec("edu_next_savings_goal", 30, 30.0)
    only_180 = rec("off_round_up_savings", 180, 38.0, "offer")
    chosen, bound, left_out = merge_windows(
        [first, second_180, second_30, only_180], catalog, stable=False
    )
    assert [(r.item_id, r.window_days) for r in chosen] == [
        ("edu_emergency_fund_calculator", 30),
        ("edu_next_savings_goal", 30),
    ]
    assert bound["savings.emergency_fund_months"] == 30
    assert left_out == [
        ("off_round_up_savings", "its numbers come from another period than the page's")
    ]


def test_insights_use_the_cards_numbers_and_name_their_period(catalog: Catalog) -> None:
    """The found page said 10.9 months in one place and 14.3 months in another."""
    values = {
        30: {"savings.has_savings_account": True, "savings.emergency_fund_months": 10.94,
             "savings.savings_balance": 5000.0, "window.days": 30, **LEVELS},
        180: {"savings.has_savings_account": True, "savings.emergency_fund_months": 14.3,
              "savings.savings_balance": 5000.0, "income.pay_frequency": "irregular",
              "income.avg_monthly_income": 0.001, "window.days": 180, **LEVELS},
    }  # fmt: skip
    recs = [rec("edu_next_savings_goal", 30, 40.0), rec("edu_hysa_basics", 180, 30.0)]
    page = build_page(recs, catalog, load_insights(), values, stable=False)
    text = " ".join(s for g in page.insights for s in g.sentences)
    assert "10.9 months" in text and "14.3" not in text
    assert "Your pay arrives on an irregular schedule." in text and "$0.00" not in text
    periods = {g.window_days: g.period for g in page.insights}
    assert periods[30] == "Based on your last 30 days." and 180 in periods
    # two periods (a tie: the longer is the page's): the other card names its own
    assert page.period_note == "These ideas use your last 180 days unless a card says otherwise."
    assert [c.period_label for c in page.cards] == ["Based on your last 30 days.", None]
    one = build_page(recs[:1], catalog, load_insights(), values, stable=False)
    assert one.period_note == "Based on your last 30 days." and one.cards[0].period_label is None


def test_cards_carry_content_offer_terms_and_a_working_calculator(catalog: Catalog) -> None:
    values = {180: {"card.balance": 3400.0, "card.minimum_payment": 102.0,
                    "card.interest_charges_monthly": 56.67, "window.days": 180, **LEVELS}}  # fmt: skip
    recs = [
        rec("edu_payoff_calculator", 180, 40.0),
        rec("off_balance_transfer_card", 180, 9.0, "offer"),
    ]
    page = build_page(
        recs,
        catalog,
        load_insights(),
        values,
        stable=False,
        feedback={"edu_payoff_calculator@180": True},
    )
    calc_card, offer = page.cards
    item = catalog.get("edu_payoff_calculator")
    assert calc_card.body == item.body and calc_card.summary == item.summary
    assert calc_card.format_label == "A calculator, about 3 minutes to read."
    assert calc_card.feedback is True and offer.feedback is None
    assert calc_card.calculator is not None and calc_card.calculator.kind == "card_payoff"
    rate = next(f for f in calc_card.calculator.fields if f.name == "rate")
    assert rate.value == 20.0  # 56.67 a month on 3,400.00 is about 20% a year
    assert calc_card.calculator.result[0].startswith(
        "At $153.00 a month, $3,400.00 would be paid off in about 2 years"
    )
    assert offer.partner == "Meridian Card Co." and offer.terms and "fees" in offer.terms
    assert offer.offer_disclosure and "Meridian Card Co." in offer.offer_disclosure


def test_calculators_compute_and_refuse_guesses() -> None:
    months, interest = payoff_months(1000.0, 0.0, 100.0) or (0, 0.0)
    assert (months, interest) == (10, 0.0)
    assert payoff_months(1000.0, 24.0, 10.0) is None  # $10 never covers $20 of interest
    fund = calculator("emergency_fund", {"savings.avg_monthly_expenses": 2000.0,
                                         "savings.savings_balance": 0.0,
                                         "savings.net_inflow_monthly": 250.0})  # fmt: skip
    assert fund.result == (
        "A safety net of 3 months of expenses is about $6,000.00.",
        "Starting from nothing saved, $250.00 a month would get you there in about 2 years.",
    )
    rate = calculator(
        "savings_rate", {"income.avg_monthly_income": 4000.0, "savings.net_inflow_monthly": 300.0}
    )
    assert rate.result == ("Saving $300.00 of $4,000.00 a month is a savings rate of 8%.",)
    assert parse_amount("$1,250.50") == 1250.5 and parse_amount("24%") == 24.0
    assert parse_amount("abc") is None and parse_amount("-5") is None
    typed = recalculate(rate, {"income": "5,000", "saving": "lots"})
    assert typed.result == () and typed.error and "saved each month" in typed.error
    payoff = recalculate(
        calculator("card_payoff", {}), {"balance": "500", "rate": "24", "payment": "5"}
    )
    assert "does not cover the interest" in payoff.result[0]


@pytest.mark.parametrize("kind", ["card_payoff", "emergency_fund", "savings_rate"])
@pytest.mark.parametrize(
    "typed",
    [{}, {"balance": "0", "payment": "0", "expenses": "0", "income": "0", "saving": "0"},
     {"balance": "1", "rate": "0", "payment": "1", "saved": "99999", "monthly": "0.01"},
     {"balance": "99999999", "rate": "59.9", "payment": "99999999", "income": "1", "saving": "0.001"}],
)  # fmt: skip
def test_every_calculator_sentence_meets_the_contract(kind: str, typed: dict[str, str]) -> None:
    worked = recalculate(calculator(kind, {}), typed)
    for sentence in [*worked.result, *(f.hint for f in worked.fields if f.hint)]:
        assert sentence_problems(sentence) == [], sentence


def test_insight_wordings_fall_back_instead_of_showing_zero() -> None:
    pay = next(i for i in load_insights() if i.id == "pay")
    render = lambda values: render_insight(pay, values)  # noqa: E731
    assert render(
        {"income.pay_frequency": "biweekly", "income.avg_monthly_income": 4200.0}
    ).sentence == (  # type: ignore[union-attr]
        "Your pay arrives every two weeks, about $4,200.00 a month."
    )
    assert render(
        {"income.pay_frequency": "irregular", "income.avg_monthly_income": 0.0}
    ).sentence == (  # type: ignore[union-attr]
        "Your pay arrives on an irregular schedule."
    )
    assert render({"income.pay_frequency": "unknown", "income.avg_monthly_income": 0.0}) is None
    assert set(WINDOWS) == {30, 180}
