"""Eligibility guardrail: each requirement, and the harmful list."""

from __future__ import annotations

from typing import Any

import polars as pl

from spendsense.guardrails.eligibility import (
    eligibility_checks,
    failed_check_ids,
    harmful_expr,
    harmful_reason,
)

USER = {"user_id": "u", "window_days": 30, "item_id": "off", "title": "Offer",
        "summary": "A plain offer", "body": "Plain text", "partner": "Bank", "category": "high_yield_savings",
        "income.avg_monthly_income": 3000.0, "credit.max_utilization": 0.2, "credit.is_overdue": False,
        "savings.has_savings_account": False, "credit.card_count": 1, "user.age_band": "25-34"}  # fmt: skip
NO_REQUIREMENTS = {"elig_min_monthly_income": None, "elig_max_utilization": None,
                   "elig_no_overdue": False, "elig_exclude_savings_account": False,
                   "elig_exclude_credit_card": False, "elig_min_age": None}  # fmt: skip


def _check(user: dict[str, Any], req: dict[str, Any]) -> pl.DataFrame:
    row = {**USER, **NO_REQUIREMENTS, **user, **req}
    schema = {"elig_min_monthly_income": pl.Float64, "elig_max_utilization": pl.Float64,
              "elig_min_age": pl.Int32, "credit.max_utilization": pl.Float64,
              "income.avg_monthly_income": pl.Float64, "user.age_band": pl.String}  # fmt: skip
    frame = pl.DataFrame([row], schema_overrides=schema).with_columns(
        harmful_expr().alias("item_harmful")  # as the catalog frame computes it per item
    )
    reasons = pl.concat_list(
        [
            pl.when(ok).then(None).otherwise(why.cast(pl.String))
            for _, ok, why in eligibility_checks()
        ]
    ).list.drop_nulls()
    return frame.with_columns(checks_failed=failed_check_ids(), fail_reasons=reasons).with_columns(
        eligible=pl.col("checks_failed").list.len() == 0
    )


def test_no_requirements_pass() -> None:
    out = _check({}, {})
    assert out["eligible"].to_list() == [True]
    assert out["checks_failed"][0].to_list() == []


def test_existing_savings_account_excludes() -> None:
    out = _check({"savings.has_savings_account": True}, {"elig_exclude_savings_account": True})
    assert out["checks_failed"][0].to_list() == ["no_existing_savings_account"]
    assert out["fail_reasons"][0].to_list() == ["already has a savings account"]


def test_utilization_above_maximum_excludes() -> None:
    out = _check({"credit.max_utilization": 0.92}, {"elig_max_utilization": 0.9})
    assert out["fail_reasons"][0].to_list() == ["card utilization 92% is above the 90% maximum"]


def test_income_below_minimum_and_unknown_exclude() -> None:
    low = _check({"income.avg_monthly_income": 1800.0}, {"elig_min_monthly_income": 2500.0})
    assert low["fail_reasons"][0].to_list() == ["monthly income $1800 is below the $2500 minimum"]
    unknown = _check({"income.avg_monthly_income": None}, {"elig_min_monthly_income": 2500.0})
    assert unknown["eligible"].to_list() == [False]


def test_age_below_minimum_excludes() -> None:
    young = _check({"user.age_band": "18-24"}, {"elig_min_age": 21})
    assert young["checks_failed"][0].to_list() == ["min_age"]
    older = _check({"user.age_band": "65+"}, {"elig_min_age": 21})
    assert older["eligible"].to_list() == [True]


def test_overdue_excludes() -> None:
    out = _check({"credit.is_overdue": True}, {"elig_no_overdue": True})
    assert out["checks_failed"][0].to_list() == ["no_overdue"]


def test_harmful_by_category_and_keyword() -> None:
    assert harmful_reason("payday_loan", ["Quick money"]) is not None
    assert harmful_reason("personal_loan", ["Get a cash advance today"]) is not None
    assert harmful_reason("budgeting_app", ["Plan to your next payday"]) is None
    out = _check({"category": "title_loan"}, {})
    assert out["checks_failed"][0].to_list() == ["not_harmful"]
    out = _check({"body": "Guaranteed approval, no credit check!"}, {})
    assert out["eligible"].to_list() == [False]
