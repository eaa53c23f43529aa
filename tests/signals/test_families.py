"""Feature families: credit, savings, income and cash flow, threshold by threshold."""

from __future__ import annotations

import polars as pl
import pytest
from signal_builders import AS_OF, LedgerBuilder, day

from spendsense.signals import SignalsConfig, compute_features
from spendsense.signals.config import LOW_BALANCE_CENTS


def features(lb: LedgerBuilder, **cfg: object) -> dict[str, pl.DataFrame]:
    """compute_features over the builder's ledger."""
    return compute_features(lb.build(), AS_OF, SignalsConfig(**cfg))


def row(out: dict[str, pl.DataFrame], table: str, window: int = 30, user: str = "u1") -> dict:
    """One user's row of one table and window."""
    rows = out[table].filter((pl.col("user_id") == user) & (pl.col("window_days") == window))
    assert rows.height == 1
    return rows.row(0, named=True)


# --- credit ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("balance", "flags"),
    [
        (2999, (False, False, False)),
        (3000, (True, False, False)),
        (3001, (True, False, False)),
        (4999, (True, False, False)),
        (5000, (True, True, False)),
        (5001, (True, True, False)),
        (7999, (True, True, False)),
        (8000, (True, True, True)),
        (8001, (True, True, True)),
    ],
)
def test_utilization_flags(lb: LedgerBuilder, balance: int, flags: tuple[bool, bool, bool]) -> None:
    lb.account("card", type_="credit", subtype="credit card", current=balance, limit=10000)
    r = row(features(lb), "credit")
    assert r["max_utilization"] == balance / 10000
    assert (r["utilization_flag_30"], r["utilization_flag_50"], r["utilization_flag_80"]) == flags


def test_max_utilization_over_cards_and_per_card_rows(lb: LedgerBuilder) -> None:
    lb.account("c1", type_="credit", subtype="credit card", current=2000, limit=10000)
    lb.account("c2", type_="credit", subtype="credit card", current=6000, limit=10000)
    lb.account("c3", type_="credit", subtype="credit card", current=100, limit=None)
    lb.liability("c2", is_overdue=True, minimum_payment_amount_cents=3500)
    out = features(lb)
    r = row(out, "credit")
    assert r["card_count"] == 3 and r["max_utilization"] == 0.6 and r["is_overdue"] is True
    assert r["total_card_balance"] == 81.0 and r["total_card_limit"] == 200.0
    cards = out["credit_cards"].filter(pl.col("window_days") == 30)
    assert cards["account_id"].to_list() == ["c1", "c2", "c3"]
    assert cards["utilization"].to_list() == [0.2, 0.6, None]
    assert cards["minimum_payment"].to_list() == [None, 35.0, None]
    assert cards["mask"].to_list() == ["4523"] * 3


@pytest.mark.parametrize(
    ("last", "minimum", "expected"),
    [
        (2599, 2500, True),
        (2600, 2500, True),
        (2601, 2500, False),
        (2500, 0, False),
        (None, 2500, False),
    ],
)
def test_minimum_payment_only(
    lb: LedgerBuilder, last: int | None, minimum: int, expected: bool
) -> None:
    lb.account("card", type_="credit", subtype="credit card", current=5000, limit=10000)
    lb.liability("card", last_payment_amount_cents=last, minimum_payment_amount_cents=minimum)
    assert row(features(lb), "credit")["minimum_payment_only"] is expected


def test_liability_interest_counts_when_no_window_charge(lb: LedgerBuilder) -> None:
    lb.account("card", type_="credit", subtype="credit card", current=5000, limit=10000)
    lb.liability("card", interest_charge_cents=1234)
    r = row(features(lb), "credit")
    assert r["interest_charges_present"] is True and r["interest_charges_monthly"] == 12.34


# --- savings -----------------------------------------------------------------------------


def test_savings(lb: LedgerBuilder) -> None:
    lb.account("sav", subtype="savings", current=120000)
    lb.tx(
        day(10),
        -20000,
        merchant=None,
        name="TRANSFER FROM CHK",
        account_id="sav",
        primary="TRANSFER_IN",
        detailed="TRANSFER_IN_ACCOUNT_TRANSFER",
    )
    lb.tx(
        day(100),
        -50000,
        merchant=None,
        name="TRANSFER FROM CHK",
        account_id="sav",
        primary="TRANSFER_IN",
        detailed="TRANSFER_IN_ACCOUNT_TRANSFER",
    )
    lb.tx(
        day(5),
        60000,
        merchant="Landlord",
        primary="RENT_AND_UTILITIES",
        detailed="RENT_AND_UTILITIES_RENT",
    )
    out = features(lb)
    r30, r180 = row(out, "savings", 30), row(out, "savings", 180)
    assert r30["savings_balance"] == 1200.0 and r30["savings_balance_start"] == 1000.0
    assert r30["net_inflow"] == 200.0 and r30["growth_rate"] == pytest.approx(0.2)
    assert r180["savings_balance_start"] == 500.0 and r180["net_inflow_monthly"] == pytest.approx(
        700 / 6
    )
    assert r30["avg_monthly_expenses"] == 600.0 and r30["emergency_fund_months"] == 2.0


def test_savings_growth_zero_when_start_not_positive(lb: LedgerBuilder) -> None:
    lb.account("sav", subtype="money market", current=20000)
    lb.tx(
        day(3),
        -20000,
        merchant=None,
        name="DEPOSIT",
        account_id="sav",
        primary="TRANSFER_IN",
        detailed="TRANSFER_IN_DEPOSIT",
    )
    r = row(features(lb), "savings")
    assert (
        r["has_savings_account"] is True
        and r["savings_balance_start"] == 0.0
        and r["growth_rate"] == 0.0
    )


# --- income ------------------------------------------------------------------------------


def pay(lb: LedgerBuilder, days: list[int], detailed: str = "INCOME_SALARY") -> None:
    lb.series(days, -250000, merchant="Acme Payroll", primary="INCOME", detailed=detailed)


def test_income_biweekly(lb: LedgerBuilder) -> None:
    pay(lb, [3, 17, 31, 45, 59, 73, 87])
    lb.tx(
        day(5),
        100000,
        merchant="Landlord",
        primary="RENT_AND_UTILITIES",
        detailed="RENT_AND_UTILITIES_RENT",
    )
    r = row(features(lb), "income")
    assert r["pay_frequency"] == "biweekly" and r["median_pay_gap_days"] == 14.0
    assert r["income_total"] == 5000.0 and r["payroll_deposit_count"] == 2
    assert r["has_gig_income"] is False and r["pay_gap_cv"] == 0.0


def test_same_day_deposits_merge_and_gig(lb: LedgerBuilder) -> None:
    pay(lb, [5, 5, 65], detailed="INCOME_GIG_ECONOMY")
    r = row(features(lb), "income")
    assert r["income_total"] == 5000.0 and r["median_pay_gap_days"] == 60.0
    assert r["has_gig_income"] is True and r["pay_frequency"] == "irregular"


@pytest.mark.parametrize(("delta", "expected"), [(0.0, "biweekly"), (1e-9, "irregular")])
def test_pay_gap_cv_threshold(lb: LedgerBuilder, delta: float, expected: str) -> None:
    pay(lb, [2, 14, 30])  # gaps 16 and 12: cv = 2/14
    out = features(lb, pay_gap_cv_irregular=2.0 / 14.0 - delta)
    assert row(out, "income")["pay_frequency"] == expected


def test_one_deposit_is_irregular_none_without(lb: LedgerBuilder) -> None:
    pay(lb, [3])
    r = row(features(lb), "income")
    assert r["pay_frequency"] == "irregular" and r["median_pay_gap_days"] is None


def test_income_on_card_or_business_is_not_income(lb: LedgerBuilder) -> None:
    lb.account("card", type_="credit", subtype="credit card", current=0, limit=1000)
    lb.series(
        [3, 17],
        -250000,
        merchant="Acme",
        account_id="card",
        primary="INCOME",
        detailed="INCOME_SALARY",
    )
    assert row(features(lb), "income")["pay_frequency"] == "none"


# --- cash flow ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cents", "pct"),
    [(LOW_BALANCE_CENTS - 1, 1.0), (LOW_BALANCE_CENTS, 0.0), (LOW_BALANCE_CENTS + 1, 0.0)],
)
def test_low_balance_threshold(cents: int, pct: float) -> None:
    assert LOW_BALANCE_CENTS == 10_000  # the level the field's name, pct_days_below_100, states
    lb = LedgerBuilder().user().account("chk", current=cents)
    assert row(features(lb), "cash_flow")["pct_days_below_100"] == pct


def test_daily_balance_reconstruction(lb: LedgerBuilder) -> None:
    lb.accounts[0]["current_cents"] = 50000
    lb.tx(
        day(10),
        20000,
        merchant="Landlord",
        primary="RENT_AND_UTILITIES",
        detailed="RENT_AND_UTILITIES_RENT",
    )
    r = row(features(lb), "cash_flow")
    assert r["days_observed"] == 30
    assert r["avg_daily_balance"] == pytest.approx((11 * 500 + 19 * 700) / 30)
    assert r["min_daily_balance"] == 500.0
    mean = (11 * 500 + 19 * 700) / 30
    std = ((11 * (500 - mean) ** 2 + 19 * (700 - mean) ** 2) / 30) ** 0.5
    assert r["balance_std"] == pytest.approx(std)
    assert r["balance_volatility"] == pytest.approx(std / mean)


def test_balance_read_before_as_of(lb: LedgerBuilder) -> None:
    lb.accounts[0].update(current_cents=50000, balance_date=day(5))
    lb.tx(
        day(2),
        45000,
        merchant="Landlord",
        primary="RENT_AND_UTILITIES",
        detailed="RENT_AND_UTILITIES_RENT",
    )
    out = features(lb)
    r = row(out, "cash_flow")
    assert r["min_daily_balance"] == 50.0 and r["pct_days_below_100"] == pytest.approx(3 / 30)


def test_volatility_null_when_mean_not_positive() -> None:
    lb = LedgerBuilder().user().account("chk", current=-5000)
    r = row(features(lb), "cash_flow")
    assert r["balance_volatility"] is None and r["pct_days_below_100"] == 1.0


def test_buffer_months(lb: LedgerBuilder) -> None:
    lb.accounts[0]["current_cents"] = 120000
    lb.tx(
        day(3),
        60000,
        merchant="Landlord",
        primary="RENT_AND_UTILITIES",
        detailed="RENT_AND_UTILITIES_RENT",
    )
    lb.tx(
        day(4),
        99999,
        merchant="Card",
        primary="LOAN_PAYMENTS",
        detailed="LOAN_PAYMENTS_CREDIT_CARD_PAYMENT",
    )
    assert row(features(lb), "income")["cash_flow_buffer_months"] == 2.0


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        ([3 + 7 * k for k in range(12)], "weekly"),
        ([3 + 30 * k for k in range(4)], "monthly"),
    ],
)
def test_pay_frequencies(lb: LedgerBuilder, days: list[int], expected: str) -> None:
    pay(lb, days)
    assert row(features(lb), "income")["pay_frequency"] == expected


def test_semi_monthly_pay(lb: LedgerBuilder) -> None:
    from datetime import date

    for month in (2, 3, 4, 5, 6):
        for dom in (1, 15):
            lb.tx(
                date(2025, month, dom),
                -200000,
                merchant="Acme",
                primary="INCOME",
                detailed="INCOME_SALARY",
            )
    r = row(features(lb), "income", 180)
    assert r["pay_frequency"] == "semi_monthly" and r["payroll_deposit_count"] == 10
