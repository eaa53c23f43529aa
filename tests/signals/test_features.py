"""Feature families: scope, savings, credit, income, cash flow, subscriptions and window effects."""

from __future__ import annotations

import polars as pl
import pytest
from signal_builders import AS_OF, LedgerBuilder, day

from spendsense.signals import SignalsConfig, compute_features
from spendsense.signals.schema import FEATURE_TABLES


def features(lb: LedgerBuilder, **cfg: object) -> dict[str, pl.DataFrame]:
    """compute_features over the builder's ledger."""
    return compute_features(lb.build(), AS_OF, SignalsConfig(**cfg))


def row(out: dict[str, pl.DataFrame], table: str, window: int = 30, user: str = "u1") -> dict:
    """One user's row of one table and window."""
    rows = out[table].filter((pl.col("user_id") == user) & (pl.col("window_days") == window))
    assert rows.height == 1
    return rows.row(0, named=True)


def test_schema_and_one_row_per_user_and_window(lb: LedgerBuilder) -> None:
    lb.user("u2").user("u3", consent="revoked").user("u4", consent="none")
    lb.account("chk3", user_id="u3").tx(day(3), 500, account_id="chk3", user_id="u3")
    out = features(lb)
    assert set(out) == set(FEATURE_TABLES)
    for name, schema in FEATURE_TABLES.items():
        assert out[name].schema == pl.Schema(schema), name
    for name in ("subscriptions", "savings", "credit", "income", "cash_flow"):
        keys = out[name].select("user_id", "window_days").rows()
        assert keys == [("u1", 30), ("u1", 180), ("u2", 30), ("u2", 180)], name
        assert out[name]["as_of_date"].unique().to_list() == [AS_OF]


def test_no_consent_no_rows() -> None:
    lb = LedgerBuilder().user("u1", consent="revoked").account("chk")
    lb.series([2, 32, 62], 1500)
    out = features(lb)
    assert all(frame.height == 0 for frame in out.values())


def test_defaults_for_a_user_without_data(lb: LedgerBuilder) -> None:
    out = features(lb)
    assert row(out, "subscriptions")["subscription_share"] == 0.0
    assert row(out, "credit")["max_utilization"] is None
    assert row(out, "income")["pay_frequency"] == "none"
    assert row(out, "savings")["emergency_fund_months"] is None


def test_business_accounts_excluded(lb: LedgerBuilder) -> None:
    lb.account("biz", subtype="checking", holder="business", current=5_000_000)
    lb.account(
        "bizcard",
        type_="credit",
        subtype="credit card",
        holder="business",
        current=9000,
        limit=10000,
    )
    lb.series([2, 32, 62], 1500, account_id="biz")
    lb.tx(
        day(3), 80000, merchant="Office Depot", account_id="bizcard", primary="GENERAL_MERCHANDISE"
    )
    out = features(lb)
    assert out["recurring_streams"].height == 0
    assert row(out, "subscriptions")["total_spend"] == 0.0
    assert row(out, "credit")["card_count"] == 0
    assert row(out, "cash_flow")["avg_daily_balance"] == 0.0


# --- subscriptions -----------------------------------------------------------------------


def test_subscription_features(lb: LedgerBuilder) -> None:
    lb.series([2, 32, 62], 1500)
    lb.series(
        [1, 8, 15, 22, 29, 36, 43, 50, 57, 64, 71, 78],
        1000,
        merchant="Gym",
        primary="PERSONAL_CARE",
        detailed="PERSONAL_CARE_GYMS_AND_FITNESS_CENTERS",
    )
    lb.tx(day(5), 7500, merchant="Target", primary="GENERAL_MERCHANDISE")
    lb.tx(
        day(6),
        50000,
        merchant="Transfer",
        primary="TRANSFER_OUT",
        detailed="TRANSFER_OUT_ACCOUNT_TRANSFER",
    )
    lb.tx(day(7), -2000, merchant="Target", primary="GENERAL_MERCHANDISE")  # refund: not subtracted
    r = row(features(lb), "subscriptions")
    assert r["recurring_merchant_count"] == 2
    assert r["monthly_recurring_spend"] == pytest.approx(15.0 + 10.0 * 4.33)
    assert r["subscription_spend"] == pytest.approx(15.0 + 5 * 10.0)
    assert r["total_spend"] == pytest.approx(15.0 + 50.0 + 75.0)
    assert r["subscription_share"] == pytest.approx(65.0 / 140.0)


@pytest.mark.parametrize(
    "detailed",
    [
        "RENT_AND_UTILITIES_GAS_AND_ELECTRICITY",
        "RENT_AND_UTILITIES_TELEPHONE",
        "RENT_AND_UTILITIES_INTERNET_AND_CABLE",
        "RENT_AND_UTILITIES_WATER",
        "RENT_AND_UTILITIES_OTHER_UTILITIES",
        "RENT_AND_UTILITIES_RENT",
    ],
)
def test_utilities_are_bills_not_subscriptions(lb: LedgerBuilder, detailed: str) -> None:
    """Every utility, phone and internet included, is a recurring bill; a streaming service counts."""
    lb.series(
        [2, 32, 62], 9000, merchant="Utility Co", primary="RENT_AND_UTILITIES", detailed=detailed
    )
    lb.series([3, 33, 63], 1549, merchant="Netflix")
    out = features(lb)
    streams = out["recurring_streams"].filter(pl.col("window_days") == 30)
    assert set(streams["merchant_name"]) == {"Utility Co", "Netflix"}
    assert dict(zip(streams["merchant_name"], streams["is_subscription"], strict=True)) == {
        "Utility Co": False,
        "Netflix": True,
    }
    assert row(out, "subscriptions")["recurring_merchant_count"] == 1


def test_window_effects_cancelled_subscription(lb: LedgerBuilder) -> None:
    lb.series([40, 70, 100, 130, 160], 1500)  # ended 40 days ago
    out = features(lb)
    assert row(out, "subscriptions", 30)["recurring_merchant_count"] == 0
    assert row(out, "subscriptions", 180)["recurring_merchant_count"] == 1


def test_window_effects_new_subscription(lb: LedgerBuilder) -> None:
    lb.series([1, 8, 15, 22, 29, 36], 1000, merchant="Gym")  # began 36 days ago
    out = features(lb)
    assert row(out, "subscriptions", 30)["recurring_merchant_count"] == 1
    assert row(out, "subscriptions", 180)["recurring_merchant_count"] == 1
    assert row(out, "subscriptions", 30)["subscription_spend"] == 50.0


def test_window_effects_spend_and_interest(lb: LedgerBuilder) -> None:
    lb.account("card", type_="credit", subtype="credit card", current=1000, limit=100000)
    lb.tx(
        day(40),
        2500,
        merchant=None,
        name="INTEREST CHARGE",
        account_id="card",
        primary="BANK_FEES",
        detailed="BANK_FEES_INTEREST_CHARGE",
    )
    lb.tx(day(40), 30000, merchant="Best Buy", primary="GENERAL_MERCHANDISE")
    out = features(lb)
    assert row(out, "credit", 30)["interest_charges_present"] is False
    assert row(out, "credit", 180)["interest_charges_present"] is True
    assert row(out, "credit", 180)["interest_charges_monthly"] == pytest.approx(25.0 / 6)
    assert row(out, "subscriptions", 30)["total_spend"] == 0.0
    assert row(out, "subscriptions", 180)["total_spend"] == 325.0


def test_empty_ledger_gives_empty_tables_with_schema() -> None:
    out = compute_features({}, AS_OF, SignalsConfig())
    for name, schema in FEATURE_TABLES.items():
        assert out[name].height == 0 and out[name].schema == pl.Schema(schema)


def test_every_config_field_is_documented() -> None:
    for name, field in SignalsConfig.model_fields.items():
        assert field.description, name


def test_windows_are_configurable(lb: LedgerBuilder) -> None:
    lb.series([2, 32, 62], 1500)
    out = features(lb, windows=[45])
    assert out["subscriptions"]["window_days"].to_list() == [45]
    assert row(out, "subscriptions", 45)["recurring_merchant_count"] == 1
