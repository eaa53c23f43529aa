"""Savings seen only as transfers: checking's TRANSFER_OUT_SAVINGS stands in for a silent savings account."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import polars as pl
import pytest
from signal_builders import AS_OF, LedgerBuilder

from spendsense.personas import PersonasConfig, assign_personas
from spendsense.signals import SignalsConfig, compute_features

TO_SAVINGS = {"primary": "TRANSFER_OUT", "detailed": "TRANSFER_OUT_SAVINGS"}
MONTHS = [5 + 30 * i for i in range(6)]  # six monthly transfers inside the 180-day window


def saver(monthly_cents: int, *, own_history: bool = False) -> LedgerBuilder:
    """Checking moves ``monthly_cents`` to savings each month; the savings account holds $5,000.

    A card at 10% utilisation keeps Savings Builder's credit test passing.
    """
    lb = LedgerBuilder().user().account("chk", current=300000)
    lb.account("sav", subtype="savings", current=500000)
    lb.account("card", type_="credit", subtype="credit card", current=50000, limit=500000)
    lb.series(MONTHS, monthly_cents, merchant=None, name="TRANSFER TO SAVINGS", **TO_SAVINGS)
    if own_history:
        lb.series(
            MONTHS,
            -monthly_cents,
            merchant=None,
            name="TRANSFER FROM CHECKING",
            account_id="sav",
            primary="TRANSFER_IN",
            detailed="TRANSFER_IN_SAVINGS",
        )
    return lb


def savings_row(lb: LedgerBuilder, window: int = 180) -> dict:
    out = compute_features(lb.build(), AS_OF, SignalsConfig())
    rows = out["savings"].filter(pl.col("window_days") == window)
    assert rows.height == 1
    return rows.row(0, named=True)


def persona(lb: LedgerBuilder, window: int = 180) -> dict:
    features = compute_features(lb.build(), AS_OF, SignalsConfig())
    out = assign_personas(features, PersonasConfig(), datetime(2025, 7, 1, tzinfo=UTC))
    row = out.filter(pl.col("window_days") == window).row(0, named=True)
    row["trace"] = json.loads(row["assignment_trace"])
    return row


def test_transfers_stand_in_for_missing_savings_history() -> None:
    r = savings_row(saver(60000))
    assert r["savings_inflow_source"] == "checking_transfers"
    assert r["net_inflow"] == 3600.0 and r["net_inflow_monthly"] == 600.0
    assert r["savings_balance"] == 5000.0 and r["savings_balance_start"] == 1400.0
    assert r["growth_rate"] == pytest.approx(3600 / 1400)


def test_own_history_wins_and_transfers_are_not_counted_twice() -> None:
    r = savings_row(saver(60000, own_history=True))
    assert r["savings_inflow_source"] == "savings_account"
    assert r["net_inflow_monthly"] == 600.0


def test_transfers_after_the_window_only_move_the_balance_back() -> None:
    """30-day window: one transfer inside it (day 5), the rest before."""
    r = savings_row(saver(60000), window=30)
    assert r["savings_inflow_source"] == "checking_transfers"
    assert r["net_inflow"] == 600.0 and r["savings_balance_start"] == 4400.0


def test_no_savings_account_means_no_source() -> None:
    lb = LedgerBuilder().user().account("chk", current=300000)
    lb.series(MONTHS, 60000, merchant=None, name="TRANSFER TO SAVINGS", **TO_SAVINGS)
    r = savings_row(lb)
    assert r["has_savings_account"] is False and r["savings_inflow_source"] is None
    assert r["net_inflow"] == 0.0


def test_600_a_month_with_low_card_use_is_a_savings_builder() -> None:
    row = persona(saver(60000))
    assert row["primary_persona_name"] == "Savings Builder"
    crit = row["trace"]["evaluations"]["persona_4"]["criteria"]
    assert crit["net_inflow_monthly"]["value"] == 600.0
    assert crit["net_inflow_monthly"]["source"] == "checking_transfers"
    assert crit["growth_rate"]["source"] == "checking_transfers"


@pytest.mark.parametrize(("monthly_cents", "met"), [(19999, False), (20000, True)])
def test_savings_by_transfer_boundary_at_200_a_month(monthly_cents: int, met: bool) -> None:
    """$200/month is the line (>=); the balance is large so growth stays under 2%."""
    lb = saver(monthly_cents)
    lb.accounts[1]["current_cents"] = 10_000_000  # $100,000: 6 x $200 is 1.2% growth
    r = savings_row(lb)
    assert r["net_inflow_monthly"] == monthly_cents * 6 * 30 / 180 / 100
    assert r["growth_rate"] < 0.02
    crit = persona(lb)["trace"]["evaluations"]["persona_4"]
    assert crit["criteria"]["net_inflow_monthly"]["met"] is met
    assert crit["matched"] is met
