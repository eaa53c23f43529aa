"""Recurring-stream precision and recall against the synthetic generator's ground truth."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from spendsense.ledger.schema import conform
from spendsense.signals import SignalsConfig, compute_features

PRECISION_FLOOR = 0.97
RECALL_FLOOR = 0.97


def cents(col: str) -> pl.Expr:
    """Plaid dollars -> integer cents."""
    return (pl.col(col) * 100).round().cast(pl.Int64)


def ledger_from_plaid_parquet(root: Path) -> dict[str, pl.DataFrame]:
    """Map the generator's Plaid-named Parquet parts to ledger frames (a test-only mini ingest)."""

    def read(table: str) -> pl.DataFrame:
        return pl.read_parquet(root / "parquet" / table / "*.parquet")

    # Detection accuracy is measured over every user; consent filtering is tested elsewhere.
    users = read("users").with_columns(consent_status=pl.lit("granted"))
    accounts = read("accounts").with_columns(
        current_cents=cents("balances_current"), limit_cents=cents("balances_limit")
    )
    txns = read("transactions").with_columns(
        amount_cents=cents("amount"),
        date=pl.col("date").str.to_date(),
        authorized_date=pl.col("authorized_date").str.to_date(strict=False),
        pfc_primary=pl.col("personal_finance_category_primary"),
        pfc_detailed=pl.col("personal_finance_category_detailed"),
    )
    liab = (
        read("liabilities_credit")
        .group_by("account_id", "user_id")
        .agg(
            pl.col("is_overdue").first(),
            last_payment_amount_cents=cents("last_payment_amount").first(),
            minimum_payment_amount_cents=cents("minimum_payment_amount").first(),
            interest_charge_cents=cents("aprs_interest_charge_amount").sum(),
        )
    )
    return {
        "users": conform("users", users),
        "accounts": conform("accounts", accounts),
        "transactions": conform("transactions", txns),
        "liabilities_credit": conform("liabilities_credit", liab),
    }


def stream_accuracy(root: Path, as_of: date) -> dict[str, float | int]:
    """Outflow streams on personal accounts, matched by user + merchant + cadence, 180-day window."""
    ledger = ledger_from_plaid_parquet(root)
    found = (
        compute_features(ledger, as_of, SignalsConfig(windows=[180]))["recurring_streams"]
        .filter((pl.col("direction") == "outflow") & (pl.col("status") != "EARLY_DETECTION"))
        .select("user_id", "merchant_name", cadence=pl.col("frequency"))
        .unique()
    )
    truth_all = pl.read_parquet(root / "ground_truth" / "recurring_streams.parquet").filter(
        (pl.col("direction") == "outflow") & ~pl.col("business")
    )
    # Streams with too few charges in the history to be recurring (e.g. one annual charge).
    needed = pl.when(pl.col("cadence") == "ANNUALLY").then(2).otherwise(3)
    truth = (
        truth_all.filter(pl.col("n_charges") >= needed)
        .select("user_id", "merchant_name", "cadence")
        .unique()
    )
    hits = found.join(truth, on=["user_id", "merchant_name", "cadence"], how="semi").height
    return {
        "precision": hits / found.height if found.height else 1.0,
        "recall": hits / truth.height if truth.height else 1.0,
        "detected": found.height,
        "truth": truth.height,
        "truth_unobservable": truth_all.height - truth.height,
    }


@pytest.mark.slow
def test_recurring_precision_recall(tmp_path: Path) -> None:
    synth = pytest.importorskip("spendsense.synth")
    as_of = date(2026, 10, 31)
    result = synth.generate_population(100, 42, tmp_path, fmt="parquet", as_of=as_of)
    scores = stream_accuracy(tmp_path, as_of)
    print(f"recurring streams ({result.users} users): {scores}")
    assert scores["precision"] >= PRECISION_FLOOR, scores
    assert scores["recall"] >= RECALL_FLOOR, scores
