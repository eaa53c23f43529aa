"""The synthetic population: determinism, Plaid shape, truth, archetype criteria, chunking."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from synth_persona_check import mismatches

from spendsense.ledger.vocab import taxonomy
from spendsense.synth import DEFAULT_AS_OF, generate_population
from spendsense.synth import generate as gen_module

AS_OF = DEFAULT_AS_OF.isoformat()


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("json")
    generate_population(100, 11, out, "plaid-json")
    return out


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("parquet")
    generate_population(300, 5, out, "parquet")
    return out


def _read(out: Path, table: str) -> pl.DataFrame:
    return pl.read_parquet(out / "parquet" / table / "*.parquet")


def test_same_seed_is_byte_identical_and_other_seed_differs(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate_population(30, 3, a)
    generate_population(30, 3, b)
    generate_population(30, 4, c)
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)
    assert (a / "bundles" / "0000" / "u_0000001.json").read_bytes() != (
        c / "bundles" / "0000" / "u_0000001.json"
    ).read_bytes()


def test_bundle_shape_and_json_form(bundles: Path) -> None:
    files = sorted((bundles / "bundles" / "0000").glob("*.json"))
    assert len(files) == 100 and files[0].name == "u_0000001.json"
    text = files[0].read_text()
    doc = json.loads(text)
    assert text == json.dumps(doc, sort_keys=True, separators=(",", ":")) + "\n"
    assert set(doc) == {"user", "accounts", "transactions", "liabilities"}
    assert set(doc["user"]) == {
        "user_id",
        "name",
        "consent",
        "age_band",
        "gender",
        "income_tier",
        "region",
    }
    assert set(doc["liabilities"]) == {"credit", "mortgage", "student"}
    acc = doc["accounts"][0]
    assert set(acc) >= {
        "account_id",
        "balances",
        "mask",
        "name",
        "official_name",
        "type",
        "subtype",
        "holder_category",
    }
    assert set(acc["balances"]) == {"available", "current", "limit", "iso_currency_code"}
    tx = doc["transactions"][0]
    assert tx["iso_currency_code"] == "USD" and tx["unofficial_currency_code"] is None
    assert tx["payment_channel"] in {"online", "in store", "other"}
    assert tx["personal_finance_category"]["version"] == "v2"
    for f in files:
        text = f.read_text()
        d = json.loads(text)
        assert text == json.dumps(d, sort_keys=True, separators=(",", ":")) + "\n"
        for t in d["transactions"]:
            assert round(t["amount"], 2) == t["amount"]
            pfc = t["personal_finance_category"]
            assert taxonomy().v2_detailed_to_primary[pfc["detailed"]] == pfc["primary"]
        for c in d["liabilities"]["credit"]:
            assert {"aprs", "is_overdue", "last_payment_amount", "minimum_payment_amount"} <= set(c)
            assert {"apr_type", "apr_percentage", "interest_charge_amount"} <= set(c["aprs"][0])


def test_no_full_account_numbers(bundles: Path) -> None:
    for f in (bundles / "bundles" / "0000").glob("*.json"):
        text = f.read_text()
        assert not re.search(r"\d{9,}", text)
        assert "account_number" not in text and "routing" not in text
        for acc in json.loads(text)["accounts"]:
            assert re.fullmatch(r"\d{4}", acc["mask"])


def test_every_archetype_present_and_mixes(bundles: Path) -> None:
    users = pl.read_parquet(bundles / "ground_truth" / "users.parquet")
    assert users.height == 100
    singles = users.filter(pl.col("archetypes").list.len() == 1)["primary_archetype"].unique()
    assert set(singles) == {
        "high_utilization", "variable_income", "subscription_heavy", "savings_builder",
        "cash_flow_stressed", "stable",
    }  # fmt: skip
    pairs = users.filter(pl.col("archetypes").list.len() == 2).height
    assert 15 <= pairs <= 35


@pytest.mark.parametrize("window", [180, 30])
def test_archetypes_meet_exactly_their_persona_criteria(tables: Path, window: int) -> None:
    bad = mismatches(tables, window, DEFAULT_AS_OF)
    assert bad.height == 0, bad.select("user_id", "archetypes", "p1", "p2", "p3", "p4", "p5")


def test_truth_streams_have_their_charges(tables: Path) -> None:
    truth = pl.read_parquet(tables / "ground_truth" / "recurring_streams.parquet")
    assert set(truth["cadence"].unique()) >= {
        "WEEKLY",
        "BIWEEKLY",
        "SEMI_MONTHLY",
        "MONTHLY",
        "QUARTERLY",
    }
    assert truth.filter(pl.col("direction") == "inflow")["pfc_detailed"].unique().to_list() == [
        "INCOME_SALARY"
    ]
    assert truth["new_amount_cents"].drop_nulls().len() > 0 and truth["missed_count"].sum() > 0
    tx = (
        _read(tables, "transactions")
        .filter(~pl.col("pending"))
        .with_columns(
            d=pl.col("date").str.to_date(),
            cents=(pl.col("amount").abs() * 100).round().cast(pl.Int64),
        )
    )
    hits = (
        truth.with_row_index("stream")
        .join(tx, on=["user_id", "account_id", "merchant_name"])
        .filter(
            (pl.col("d") >= pl.col("first_date"))
            & (pl.col("d") <= pl.col("last_date"))
            & (pl.col("personal_finance_category_detailed") == pl.col("pfc_detailed"))
            & (
                ((pl.col("cents") - pl.col("amount_cents")).abs() <= 0.1 * pl.col("amount_cents"))
                | (pl.col("cents") == pl.col("new_amount_cents"))
            )
        )
        .group_by("stream", "n_charges")
        .agg(found=pl.len())
    )
    assert hits.height == truth.height
    assert (hits["found"] >= hits["n_charges"]).all()


def test_groceries_and_fuel_vary_and_are_not_streams(tables: Path) -> None:
    tx = _read(tables, "transactions").filter(
        pl.col("personal_finance_category_detailed").is_in(
            ["FOOD_AND_DRINK_GROCERIES", "TRANSPORTATION_GAS"]
        )
        & (pl.col("amount") > 0)
    )
    spread = tx.group_by("user_id", "merchant_name").agg(
        n=pl.len(), ratio=pl.col("amount").max() / pl.col("amount").median()
    )
    assert spread.filter(pl.col("n") >= 8)["ratio"].min() > 1.1
    truth = pl.read_parquet(tables / "ground_truth" / "recurring_streams.parquet")
    assert not truth["pfc_detailed"].is_in(["FOOD_AND_DRINK_GROCERIES", "TRANSPORTATION_GAS"]).any()


def test_business_accounts_and_consent_mix(tables: Path) -> None:
    acc = _read(tables, "accounts")
    biz = acc.filter(pl.col("holder_category") == "business")
    assert biz.height > 0
    truth = pl.read_parquet(tables / "ground_truth" / "recurring_streams.parquet")
    assert truth.filter("business")["account_id"].is_in(biz["account_id"].implode()).all()
    consent = _read(tables, "users")["consent"].value_counts()
    share = dict(zip(consent["consent"], consent["count"] / 300, strict=True))
    assert 0.84 <= share["granted"] <= 0.96 and share.get("revoked", 0) + share.get("none", 0) > 0


def test_dates_balances_pending_and_refunds(tables: Path) -> None:
    tx = _read(tables, "transactions")
    assert tx["date"].max() <= AS_OF and tx["authorized_date"].max() <= AS_OF
    assert (tx["authorized_date"] <= tx["date"]).all()
    truth = pl.read_parquet(tables / "ground_truth" / "recurring_streams.parquet")
    assert truth["last_date"].max() <= date.fromisoformat(AS_OF)
    posted = tx.filter(pl.col("pending_transaction_id").is_not_null())
    twins = tx.filter("pending").select("transaction_id", "account_id")
    linked = posted.join(
        twins,
        left_on=["pending_transaction_id", "account_id"],
        right_on=["transaction_id", "account_id"],
    )
    assert posted.height > 0 and linked.height == posted.height
    assert (
        tx.filter(
            (pl.col("amount") < 0)
            & (pl.col("personal_finance_category_primary") == "GENERAL_MERCHANDISE")
        ).height
        > 0
    )
    cards = _read(tables, "accounts").filter(pl.col("type") == "credit")
    assert (cards["balances_current"] <= cards["balances_limit"]).all()
    assert (
        (cards["balances_available"] - (cards["balances_limit"] - cards["balances_current"])).abs()
        < 0.005
    ).all()


def test_parquet_is_written_in_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gen_module, "SHARD_SIZE", 40)
    monkeypatch.setattr(gen_module, "PART_BLOCKS", 2)
    seen: list[int] = []
    result = generate_population(100, 1, tmp_path, "parquet", progress=seen.append)
    assert seen == [40, 80, 100]
    parts = sorted(p.name for p in (tmp_path / "parquet" / "transactions").iterdir())
    assert parts == ["part-00000.parquet", "part-00001.parquet"]
    assert _read(tmp_path, "users")["user_id"].n_unique() == result.users == 100
    assert _read(tmp_path, "transactions").height == result.transactions
    for name in ("accounts", "liabilities_credit", "liabilities_mortgage", "liabilities_student"):
        assert "user_id" in _read(tmp_path, name).columns


def test_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="format"):
        generate_population(1, 1, tmp_path, "csv")


@pytest.mark.slow
def test_archetype_criteria_hold_at_scale(tmp_path: Path) -> None:
    generate_population(3000, 99, tmp_path, "parquet")
    for window in (180, 30):
        assert mismatches(tmp_path, window, DEFAULT_AS_OF).height == 0
