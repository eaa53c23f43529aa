"""Fairness on a made-up population: a large gap is significant, a small group is not over-read."""

from __future__ import annotations

import math

import polars as pl
import pytest

from spendsense.eval import fairness


def _table() -> pl.DataFrame:
    """income_tier high: 100 users, 50 offers; low: 100 users, 10 offers; mid: 10 users, 0 offers."""
    tiers = ["high"] * 100 + ["low"] * 100 + ["mid"] * 10
    offers = [1] * 50 + [0] * 50 + [1] * 10 + [0] * 90 + [0] * 10
    n = len(tiers)
    return pl.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(n)],
            "age_band": ["25-34"] * n,
            "gender": (["female", "male"] * n)[:n],
            "income_tier": tiers,
            "region": ["west"] * n,
            "offer": offers,
        }
    )


def test_two_sided_p_matches_the_normal_table() -> None:
    assert fairness.two_sided_p(1.959964) == pytest.approx(0.05, abs=1e-6)
    assert fairness.two_sided_p(0.0) == pytest.approx(1.0)
    assert fairness.two_sided_p(None) is None


def test_group_rates_ratio_and_z_test() -> None:
    rates = fairness.group_rates(_table()).filter(pl.col("attribute") == "income_tier")
    got = {r["group"]: r for r in rates.to_dicts()}
    assert got["high"]["rate"] == 0.5 and got["low"]["ratio"] == pytest.approx(0.2)
    # low vs rest: 10/100 vs 50/110, pooled 60/210.
    p, q = 60 / 210, 0.1 - 50 / 110
    z = q / math.sqrt(p * (1 - p) * (1 / 100 + 1 / 110))
    assert got["low"]["z"] == pytest.approx(z)
    assert got["low"]["significant_violation"] is True
    assert got["mid"]["below_four_fifths"] is True and got["mid"]["reliable"] is False
    assert got["high"]["below_four_fifths"] is False


def test_fairness_target_fails_only_on_the_significant_attribute() -> None:
    metrics = {m.name: m for m in fairness.fairness_metrics(fairness.group_rates(_table()), 180)}
    assert metrics["offer_significant_violations_income_tier"].value == 1
    assert metrics["offer_significant_violations_income_tier"].passed is False
    assert metrics["offer_significant_violations_gender"].passed is True
    assert metrics["offer_four_fifths_ratio_income_tier"].value == 0.0
    assert metrics["offer_parity_difference_income_tier"].value == 0.5


def test_likely_cause_names_income_gating() -> None:
    table = _table()
    rates = fairness.group_rates(table)
    excluded = table.filter(pl.col("income_tier") == "low").select("user_id")
    exclusions = excluded.with_columns(
        window_days=pl.lit(180), item_id=pl.lit("offer_card"),
        reason=pl.lit("monthly income $2000 is below the $5000 minimum"),
    )  # fmt: skip
    causes = fairness.likely_causes(rates, table, exclusions, {}, 180)
    low = causes.filter((pl.col("group") == "low") & (pl.col("outcome") == "offer"))
    assert low["cause"].item().startswith("offers gated by a minimum income")


def test_no_offers_is_not_measured_and_fails() -> None:
    table = _table().with_columns(offer=pl.lit(0))
    metrics = fairness.fairness_metrics(fairness.group_rates(table), 180)
    targeted = [m for m in metrics if m.op == "=="]
    assert all(m.value is None and m.passed is False for m in targeted)
