"""Every outside data set loads with the expected counts; no account numbers are stored."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from ingest_helpers import ingest_paths

from spendsense.ingest import write_quarantine

REPO = Path(__file__).resolve().parents[2]
SANDBOX = {
    # file: (accounts, transactions, credit, student, rejects)
    "assets_custom_user2.json": (4, 84, 1, 1, 0),
    "blank_template_custom_sandbox_user.json": (0, 0, 0, 0, 2),
    "bank_income_basic.json": (1, 74, 0, 0, 0),
    "bank_income_custom_user_random_income_over_90_days.json": (2, 10, 0, 0, 0),
    "payroll_income_custom_user.json": (0, 0, 0, 0, 1),
    "selfEmployedGiguser.json": (1, 34, 0, 0, 0),
    "welderTestUser.json": (1, 79, 0, 0, 0),
    "credit_card_custom_user.json": (1, 5, 1, 0, 0),
    "student_loan_custom_user.json": (1, 0, 0, 1, 0),
    "business_account.json": (1, 36, 0, 0, 0),
    "transactions_checking+savings_custom_user.json": (2, 4, 0, 0, 0),
}


@pytest.mark.parametrize("name", sorted(SANDBOX))
def test_sandbox_file_counts(shared_data: Path, name: str) -> None:
    path = next((shared_data / "plaid-sandbox-custom-users").rglob(name))
    b = ingest_paths([path])
    c = b.counts()
    got = (
        c["accounts"],
        c["transactions"],
        c["liabilities_credit"],
        c["liabilities_student"],
        len(b.rejects),
    )
    assert got == SANDBOX[name]


def test_business_account_and_no_numbers(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "plaid-sandbox-custom-users"
    b = ingest_paths([folder])
    accts = b.frames["accounts"]
    business = accts.filter(pl.col("holder_category") == "business")
    assert business["user_id"].to_list() == ["business_account"]
    assert business["mask"].to_list() == ["5555"]
    assert set(accts["holder_category"]) == {"business", "personal"}
    dump = "".join(f.write_csv() for f in b.frames.values())
    qpath = write_quarantine(b.rejects, tmp_path, "r")
    assert qpath is not None
    dump += qpath.read_text()
    for secret in ("1111222233335555", "122105155"):
        assert secret not in dump


def test_sandbox_ids_are_deterministic(shared_data: Path) -> None:
    folder = shared_data / "plaid-sandbox-custom-users"
    a, b = ingest_paths([folder]), ingest_paths([folder])
    for table in a.frames:
        assert a.frames[table].equals(b.frames[table])
    assert a.rejects == b.rejects


def test_andychuong_with_mapping(shared_data: Path) -> None:
    b = ingest_paths(
        [shared_data / "foreign" / "andychuong"], mapping=REPO / "mappings" / "andychuong.yaml"
    )
    c = b.counts()
    assert (
        c["users"],
        c["accounts"],
        c["transactions"],
        c["liabilities_mortgage"],
        c["liabilities_other"],
    ) == (5, 25, 4201, 5, 5)
    assert b.rejects == []
    auto = b.frames["liabilities_other"].row(0, named=True)
    assert (auto["kind"], auto["balance_cents"], auto["minimum_payment_amount_cents"]) == (
        "auto",
        1850000,
        42500,
    )
    assert auto["interest_rate_pct"] == 4.75
    t = b.frames["transactions"]
    # every amount is positive in the export: payroll is money in once signed by category
    pay = t.filter(pl.col("pfc_primary") == "INCOME")
    assert pay.height == 165 and (pay["amount_cents"] < 0).all()
    assert (t.filter(pl.col("pfc_primary") != "INCOME")["amount_cents"] > 0).all()
    assert set(t["payment_channel"]) <= {"online", "in store", "other"}
    assert "OTHER_OTHER" not in set(t["pfc_detailed"])
    assert set(b.frames["accounts"]["holder_category"]) == {"personal"}


def test_andychuong_users_have_income_and_the_saver_saves(shared_data: Path) -> None:
    """Signed by category, every user has pay; the savings builder's transfers are seen."""
    from datetime import date

    from spendsense.personas import PersonasConfig, assign_personas
    from spendsense.signals import SignalsConfig, compute_features

    b = ingest_paths(
        [shared_data / "foreign" / "andychuong"], mapping=REPO / "mappings" / "andychuong.yaml"
    )
    frames = dict(b.frames)
    frames["users"] = frames["users"].with_columns(consent_status=pl.lit("granted"))
    features = compute_features(frames, date(2025, 11, 5), SignalsConfig())
    income = features["income"].filter(pl.col("window_days") == 180)
    assert income.height == 5 and (income["avg_monthly_income"] > 2000).all()
    saver = features["savings"].filter(
        (pl.col("window_days") == 180) & pl.col("user_id").str.starts_with("4444")
    )
    assert saver["savings_inflow_source"].to_list() == ["checking_transfers"]
    assert saver["growth_rate"][0] > 0.02
    personas = assign_personas(features, PersonasConfig(), datetime.now(UTC))
    saver_persona = personas.filter(
        (pl.col("window_days") == 180) & pl.col("user_id").str.starts_with("4444")
    )
    assert "Savings Builder" in saver_persona.select(
        "primary_persona_name", "secondary_persona_name"
    ).row(0)


def test_sainathyai_with_mapping(shared_data: Path) -> None:
    path = shared_data / "foreign" / "sainathyai" / "plaid_data.json"
    b = ingest_paths([path], mapping=REPO / "mappings" / "sainathyai.yaml")
    c = b.counts()
    assert (c["users"], c["accounts"], c["transactions"], c["liabilities_credit"]) == (
        190,
        620,
        4997,
        185,
    )
    assert b.rejects == []
    assert b.frames["liabilities_credit"]["purchase_apr_pct"].null_count() == 0
    assert "OTHER_OTHER" not in set(b.frames["transactions"]["pfc_detailed"])
    raw = json.loads(path.read_text())
    assert len({a["customer_id"] for a in raw["accounts"]}) == 190
