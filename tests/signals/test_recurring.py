"""Recurring stream detection: cadences, tolerances, statuses and the data quirks it must survive."""

from __future__ import annotations

import polars as pl
import pytest
from signal_builders import AS_OF, LedgerBuilder, day

from spendsense.signals import SignalsConfig, compute_features, detect_recurring


def streams(lb: LedgerBuilder, lookback: int = 180, **cfg: object) -> pl.DataFrame:
    """Streams over the builder's transactions."""
    return detect_recurring(lb.build()["transactions"], AS_OF, lookback, SignalsConfig(**cfg))


def every(gap: int, n: int, start: int = 2) -> list[int]:
    """``n`` day offsets ``gap`` apart, the latest ``start`` days before AS_OF."""
    return [start + gap * k for k in range(n)]


@pytest.mark.parametrize(
    ("gap", "expected"),
    [
        (4, None),
        (5, None),
        (6, "WEEKLY"),
        (8, "WEEKLY"),
        (9, None),
        (11, None),
        (12, "BIWEEKLY"),
        (17, "BIWEEKLY"),
        (18, None),
        (25, None),
        (26, "MONTHLY"),
        (35, "MONTHLY"),
        (36, None),
        (84, None),
        (85, "QUARTERLY"),
        (100, "QUARTERLY"),
        (101, None),
    ],
)
def test_cadence_bounds(lb: LedgerBuilder, gap: int, expected: str | None) -> None:
    lb.series(every(gap, 3), 1500)
    out = streams(lb, lookback=3 * gap + 10)
    assert (out["frequency"].to_list() or [None]) == [expected]


@pytest.mark.parametrize(("gap", "found"), [(329, False), (330, True), (400, True), (401, False)])
def test_annual_needs_two_and_its_band(lb: LedgerBuilder, gap: int, found: bool) -> None:
    lb.series(every(gap, 2), 9900)
    out = streams(lb, lookback=gap + 10)
    assert out.height == int(found)
    if found:
        assert out.row(0, named=True)["status"] == "MATURE"
        assert out["frequency"][0] == "ANNUALLY"


@pytest.mark.parametrize(("n", "status"), [(2, "EARLY_DETECTION"), (3, "MATURE"), (4, "MATURE")])
def test_min_occurrences(lb: LedgerBuilder, n: int, status: str) -> None:
    lb.series(every(30, n), 1500)
    out = streams(lb)
    assert out["status"].to_list() == [status]
    assert out["transaction_count"][0] == n


def test_min_occurrences_is_configurable(lb: LedgerBuilder) -> None:
    lb.series(every(30, 3), 1500)
    assert streams(lb, min_occurrences=4)["status"].to_list() == ["EARLY_DETECTION"]


@pytest.mark.parametrize(("third", "steady"), [(1100, True), (1099, True), (1111, False)])
def test_amount_tolerance_at_under_over(lb: LedgerBuilder, third: int, steady: bool) -> None:
    # median 1000; 1100 is exactly 10% off, 1099 under, 1111 over (no step: the jump returns).
    lb.series(every(30, 5), [1000, 1000, third, 1000, 1000])
    assert (streams(lb).height == 1) is steady


def test_variable_grocery_amounts_are_not_a_stream(lb: LedgerBuilder) -> None:
    amounts = [4210, 8830, 6120, 12040, 5530, 9990, 7310, 6660]
    lb.series(every(7, 8), amounts, merchant="FreshMart", primary="FOOD_AND_DRINK")
    assert streams(lb).height == 0


def test_one_price_change_is_allowed_two_are_not(lb: LedgerBuilder) -> None:
    lb.series(every(30, 6), [1799, 1799, 1799, 1549, 1549, 1549])
    assert streams(lb)["last_amount"].to_list() == [17.99]
    other = LedgerBuilder().user().account("chk")
    other.series(every(30, 6), [2500, 2500, 1799, 1799, 1549, 1549])
    assert streams(other).height == 0


def test_one_missed_payment_tolerated_two_not(lb: LedgerBuilder) -> None:
    lb.series([2, 32, 92, 122, 152], 1500)  # 62 skipped
    out = streams(lb)
    assert out["frequency"].to_list() == ["MONTHLY"]
    two = LedgerBuilder().user().account("chk")
    two.series([2, 62, 122, 152], 1500)  # two 60-day gaps
    assert streams(two).height == 0


def test_fuel_visits_are_not_a_stream_with_a_missed_charge_and_a_price_step(
    lb: LedgerBuilder,
) -> None:
    """Three fill-ups (gaps 29 and 17 days, $33.41, $36.64, $40.34) are chance, not biweekly."""
    lb.series(
        [4, 21, 50],
        [4034, 3664, 3341],
        merchant="Chevron",
        primary="TRANSPORTATION",
        detailed="TRANSPORTATION_GAS",
    )
    assert streams(lb).height == 0


@pytest.mark.parametrize(("n", "found"), [(4, False), (5, True)])
def test_missed_charge_and_price_step_together_need_five_charges(
    lb: LedgerBuilder, n: int, found: bool
) -> None:
    days = [2, 32, 92, 122, 152][:n]  # the 62-day gap is a missed month
    lb.series(days, [2000, 2000, 1500, 1500, 1500][:n])  # and a price rise
    out = streams(lb)
    assert out["frequency"].to_list() == (["MONTHLY"] if found else [])


def test_missed_payment_with_three_charges(lb: LedgerBuilder) -> None:
    lb.series([2, 32, 92], 1500)
    assert streams(lb)["frequency"].to_list() == ["MONTHLY"]


def test_weekend_shift_jitter(lb: LedgerBuilder) -> None:
    lb.series([1, 33, 60, 93, 120, 152], 1500)  # gaps 32, 27, 33, 27, 32
    assert streams(lb)["frequency"].to_list() == ["MONTHLY"]


def test_irregular_gaps_not_a_stream(lb: LedgerBuilder) -> None:
    lb.series([2, 9, 40, 44, 100], 1500)
    assert streams(lb).height == 0


@pytest.mark.parametrize(
    "days",
    [
        [58, 8, 2],  # gaps 50, 6: the story's mean gap (28) reads "monthly"
        [62, 32, 28, 2],  # gaps 30, 4, 26: mean 20
        [40, 33, 30, 23, 2],  # gaps 7, 3, 7, 21: mean 9.5 reads "weekly"
        [70, 40, 36, 2],  # gaps 30, 4, 34: mean 22.7; two of three gaps monthly
    ],
)
def test_chance_repeat_visits_are_not_streams(lb: LedgerBuilder, days: list[int]) -> None:
    """Same store, same basket, irregular visits: every gap must fit the cadence, not the mean."""
    lb.series(
        days,
        6240,
        merchant="Safeway",
        primary="FOOD_AND_DRINK",
        detailed="FOOD_AND_DRINK_GROCERIES",
    )
    assert streams(lb).height == 0


def test_pending_twin_counted_once(lb: LedgerBuilder) -> None:
    lb.series(every(30, 3), 1500)
    lb.tx(day(2), 1500, pending=True, txn_id="p1")
    lb.tx(day(2), 1500, pending_id="p1")
    lb.txns = [t for i, t in enumerate(lb.txns) if i != 0]  # the posted twin replaces day 2
    out = streams(lb)
    assert out["transaction_count"].to_list() == [3]
    assert out["average_amount"].to_list() == [15.0]


def test_a_twin_named_by_another_user_or_a_posted_row_is_kept() -> None:
    """Twins are matched per user and only a pending row is replaced: u2's posted row naming
    u1's pending id, or u1's posted row naming another posted row, drops nothing of u1's."""
    lb = LedgerBuilder().user("u1").account("chk").user("u2").account("chk2", user_id="u2")
    lb.series(every(30, 2, start=32), 1500)
    lb.tx(day(2), 1500, pending=True, txn_id="p1")
    lb.tx(day(5), 700, merchant="Cafe", account_id="chk2", user_id="u2", pending_id="p1")
    lb.tx(day(9), 700, merchant="Cafe", pending_id=lb.txns[0]["transaction_id"])
    out = streams(lb).filter(pl.col("user_id") == "u1", pl.col("merchant_name") == "Netflix")
    assert out["transaction_count"].to_list() == [3]


def test_refund_is_not_a_charge(lb: LedgerBuilder) -> None:
    lb.series(every(30, 3), 1500)
    lb.tx(day(10), -1500)
    out = streams(lb)
    assert out["transaction_count"].to_list() == [3]


def test_refunds_alone_are_no_stream(lb: LedgerBuilder) -> None:
    lb.series(every(30, 4), -1500)
    assert streams(lb).height == 0


def test_tombstoned_when_the_next_charge_is_late(lb: LedgerBuilder) -> None:
    # last charge May 23 -> predicted June 23, 7 days before as-of: within 5 + 2 jitter.
    lb.series(every(30, 4, start=38), 1500)
    assert streams(lb)["status"].to_list() == ["MATURE"]
    late = LedgerBuilder().user().account("chk")
    late.series(every(30, 4, start=39), 1500)  # predicted June 22: 8 days late
    row = streams(late).row(0, named=True)
    assert row["status"] == "TOMBSTONED"
    assert row["predicted_next_date"] == day(8)


def test_semi_monthly_vs_biweekly(lb: LedgerBuilder) -> None:
    from datetime import date

    for month in range(1, 7):
        for dom in (1, 15):
            lb.tx(
                date(2025, month, dom),
                -200000,
                merchant="Acme",
                primary="INCOME",
                detailed="INCOME_SALARY",
            )
    lb.series(
        every(14, 12, start=3), -150000, merchant="Beta", primary="INCOME", detailed="INCOME_SALARY"
    )
    out = streams(lb).sort("merchant_name")
    assert out["frequency"].to_list() == ["SEMI_MONTHLY", "BIWEEKLY"]
    assert out["direction"].to_list() == ["inflow", "inflow"]
    assert out["monthly_amount"].to_list() == pytest.approx([4000.0, 1500.0 * 26 / 12])


def test_merchant_key_falls_back_to_normalised_name(lb: LedgerBuilder) -> None:
    for k, n in enumerate(every(30, 3)):
        lb.tx(day(n), 999, merchant=None, name=f"SPOTIFY USA #{1000 + k}")
    out = streams(lb)
    assert out.height == 1
    assert out["stream_id"][0] == "u1|o|spotify usa"


@pytest.mark.parametrize("names", [("NETFLIX", "Netflix"), ("Netflix", "NETFLIX")])
def test_same_day_charges_the_later_ledger_row_names_the_stream(
    lb: LedgerBuilder, names: tuple[str, str]
) -> None:
    # Two charges on the stream's last day merge into one; of the two spellings (one merchant
    # key), the row later in the ledger names the stream, whatever the sort does with ties.
    lb.series(every(30, 3, start=32), 500, merchant="Netflix")
    for merchant in names:
        lb.tx(day(2), 500, merchant=merchant)
    row = streams(lb).row(0, named=True)
    assert row["merchant_name"] == names[1]
    assert row["transaction_count"] == 4 and row["last_amount"] == 10.0


def test_plaid_fields(lb: LedgerBuilder) -> None:
    lb.series(every(30, 4), [1549, 1549, 1549, 1649])
    row = streams(lb).row(0, named=True)
    assert row["first_date"] == day(92) and row["last_date"] == day(2)
    assert row["average_amount"] == pytest.approx((1549 * 3 + 1649) / 400)
    assert row["last_amount"] == 15.49
    assert row["category"] == "ENTERTAINMENT" and row["is_subscription"] is True


def test_rent_is_a_stream_but_not_a_subscription(lb: LedgerBuilder) -> None:
    lb.series(
        every(30, 4),
        150000,
        merchant="Oak Apts",
        primary="RENT_AND_UTILITIES",
        detailed="RENT_AND_UTILITIES_RENT",
    )
    row = streams(lb).row(0, named=True)
    assert row["frequency"] == "MONTHLY" and row["is_subscription"] is False


def test_streams_table_in_compute_features(lb: LedgerBuilder) -> None:
    lb.series(every(30, 6), 1500)
    out = compute_features(lb.build(), AS_OF, SignalsConfig())["recurring_streams"]
    assert out["window_days"].to_list() == [30, 180]
    assert out["transaction_count"].to_list() == [3, 6]  # 30-day window looks back 90 days
