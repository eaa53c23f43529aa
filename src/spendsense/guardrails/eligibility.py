"""Eligibility guardrail: offers a user qualifies for, and products that are never offered.

Offer requirements travel as data (``elig_*`` columns built from the catalog);
each check is a pair of Polars expressions: does the row pass, and if not, why.
The harmful list lives here, in code, so no catalog entry can override it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import polars as pl

HARMFUL_CATEGORIES: frozenset[str] = frozenset(
    {
        "payday_loan",
        "cash_advance",
        "high_fee_cash_advance",
        "merchant_cash_advance",
        "title_loan",
        "auto_title_loan",
        "pawn_loan",
        "rent_to_own",
        "buy_here_pay_here",
        "check_cashing",
        "refund_anticipation_loan",
        "high_cost_installment_loan",
        "debt_settlement",
        "credit_repair",
    }
)

HARMFUL_KEYWORDS: tuple[str, ...] = (
    r"pay\s?day\s+(?:loans?|lenders?|lending|advances?)",
    r"cash\s+advance",
    r"title\s+loan",
    r"pawn",
    r"rent[-\s]to[-\s]own",
    r"no\s+credit\s+check",
    r"guaranteed\s+approval",
    r"instant\s+(?:cash|loan)",
    r"check\s+cashing",
    r"refund\s+anticipation",
    r"debt\s+settlement",
    r"credit\s+repair",
    r"buy\s+here,?\s+pay\s+here",
)

HARMFUL_REGEX = r"(?i)\b(?:" + "|".join(HARMFUL_KEYWORDS) + r")"
_COMPILED = re.compile(HARMFUL_REGEX)


def harmful_reason(category: str, texts: Iterable[str]) -> str | None:
    """Why an offer is harmful (its category or a keyword in its text), or None when it is not."""
    if category.strip().lower() in HARMFUL_CATEGORIES:
        return f"harmful: category '{category}' is never offered"
    for text in texts:
        found = _COMPILED.search(text)
        if found:
            return f"harmful: wording '{found.group(0)}' is never offered"
    return None


def harmful_expr(text_columns: Iterable[str] = ("title", "summary", "body", "partner")) -> pl.Expr:
    """Polars expression: True where the row's ``category`` or text columns mark a harmful product."""
    by_category = pl.col("category").str.to_lowercase().is_in(sorted(HARMFUL_CATEGORIES))
    by_text = pl.any_horizontal(
        [pl.col(c).fill_null("").str.contains(HARMFUL_REGEX) for c in text_columns]
    )
    return by_category | by_text


def age_lower_bound(age_band: str = "user.age_band") -> pl.Expr:
    """The youngest age in an ``age_band`` like ``25-34`` or ``65+`` (null when unknown)."""
    return pl.col(age_band).str.extract(r"^\s*(\d+)").cast(pl.Int32)


# (check id, passes, reason when it does not). Missing requirement (null) always passes.
CHECK_FIELDS: tuple[str, ...] = (
    "income.avg_monthly_income",
    "credit.max_utilization",
    "credit.is_overdue",
    "savings.has_savings_account",
    "credit.card_count",
    "user.age_band",
)
"""The user fields the checks read."""
REQUIREMENT_COLUMNS: tuple[str, ...] = (
    "elig_min_monthly_income", "elig_max_utilization", "elig_no_overdue",
    "elig_exclude_savings_account", "elig_exclude_credit_card", "elig_min_age", "item_harmful",
)  # fmt: skip
"""An offer's requirements as catalog-frame columns (``recommend.catalog.Catalog.frame``)."""
_INCOME = pl.col("income.avg_monthly_income")
_UTIL = pl.col("credit.max_utilization")


def eligibility_checks(
    requirements: dict[str, pl.Expr] | None = None,
) -> list[tuple[str, pl.Expr, pl.Expr]]:
    """Every offer check as (id, pass expression, failure reason expression).

    ``requirements`` replaces the ``elig_*`` / ``item_harmful`` columns with other
    expressions (the engine passes one offer's requirements as literals).
    """
    req = requirements or {}

    def need(name: str) -> pl.Expr:
        return req.get(name, pl.col(name))

    min_income = need("elig_min_monthly_income")
    max_util = need("elig_max_utilization")
    min_age = need("elig_min_age")
    age = age_lower_bound()
    return [
        (
            "min_monthly_income",
            min_income.is_null() | (_INCOME.is_not_null() & (min_income <= _INCOME)),
            pl.when(_INCOME.is_null())
            .then(
                pl.format(
                    "monthly income unknown (minimum ${})", min_income.round(0).cast(pl.Int64)
                )
            )
            .otherwise(
                pl.format(
                    "monthly income ${} is below the ${} minimum",
                    _INCOME.round(0).cast(pl.Int64),
                    min_income.round(0).cast(pl.Int64),
                )
            ),
        ),
        (
            "max_utilization",
            max_util.is_null() | _UTIL.is_null() | (max_util >= _UTIL),
            pl.format(
                "card utilization {}% is above the {}% maximum",
                (_UTIL * 100).round(0).cast(pl.Int64),
                (max_util * 100).round(0).cast(pl.Int64),
            ),
        ),
        (
            "no_overdue",
            ~need("elig_no_overdue").fill_null(False)
            | ~pl.col("credit.is_overdue").fill_null(False),
            pl.lit("a card payment is overdue"),
        ),
        (
            "no_existing_savings_account",
            ~need("elig_exclude_savings_account").fill_null(False)
            | ~pl.col("savings.has_savings_account").fill_null(False),
            pl.lit("already has a savings account"),
        ),
        (
            "no_existing_credit_card",
            ~need("elig_exclude_credit_card").fill_null(False)
            | (pl.col("credit.card_count").fill_null(0) == 0),
            pl.lit("already has a credit card"),
        ),
        (
            "min_age",
            min_age.is_null() | (age.is_not_null() & (age >= min_age)),
            pl.when(age.is_null())
            .then(pl.format("age unknown (minimum {})", min_age))
            .otherwise(
                pl.format(
                    "age band {} is below the minimum age {}", pl.col("user.age_band"), min_age
                )
            ),
        ),
        (
            "not_harmful",
            ~need("item_harmful").fill_null(True),
            pl.lit("harmful product category or wording: never offered"),
        ),
    ]


def failed_check_ids() -> pl.Expr:
    """The ids of the checks a row fails, as a list (empty when eligible).

    The row holds the user's :data:`CHECK_FIELDS` and the offer's
    :data:`REQUIREMENT_COLUMNS`; the report re-checks stored offers with it.
    """
    return pl.concat_list(
        [
            pl.when(ok.fill_null(False)).then(pl.lit(None, pl.String)).otherwise(pl.lit(name))
            for name, ok, _ in eligibility_checks()
        ]
    ).list.drop_nulls()
