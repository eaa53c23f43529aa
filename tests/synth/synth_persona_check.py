"""A compact re-implementation of docs/signal-definitions.md persona criteria, for checking the generator."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl

from spendsense.synth.catalog import ARCHETYPE_PERSONA as PERSONA_OF

ARCHETYPE_PERSONA = {a: f"p{p}" for a, p in PERSONA_OF.items() if p is not None}
NON_SPEND = ["TRANSFER_IN", "TRANSFER_OUT", "LOAN_PAYMENTS", "LOAN_DISBURSEMENTS", "INCOME"]


def _read(out: Path, table: str) -> pl.DataFrame:
    return pl.read_parquet(out / "parquet" / table / "*.parquet")


def persona_flags(out: Path, window: int, as_of: date) -> pl.DataFrame:
    """One row per user: p1..p5 booleans computed as the signal definitions describe."""
    acc = _read(out, "accounts").filter(pl.col("holder_category") == "personal")
    tx = _read(out, "transactions").join(
        acc.select("account_id", "type", "subtype"), on="account_id"
    )
    twins = tx["pending_transaction_id"].drop_nulls()
    tx = tx.filter(~pl.col("transaction_id").is_in(twins.implode())).with_columns(
        d=pl.col("date").str.to_date(), cents=(pl.col("amount") * 100).round().cast(pl.Int64)
    )
    lo = as_of - timedelta(days=window)
    win = tx.filter(pl.col("d") > lo)
    users = _read(out, "users").select("user_id")
    months = window / 30
    # credit
    cards = acc.filter(pl.col("subtype") == "credit card")
    liab = _read(out, "liabilities_credit")
    interest_tx = (
        win.filter(
            (pl.col("personal_finance_category_detailed") == "BANK_FEES_INTEREST_CHARGE")
            & (pl.col("cents") > 0)
        )
        .group_by("user_id")
        .agg(int_tx=pl.len())
    )
    credit = (
        cards.join(liab, on=["account_id", "user_id"], how="left")
        .group_by("user_id")
        .agg(
            max_util=(pl.col("balances_current") / pl.col("balances_limit")).max(),
            min_only=(
                pl.col("last_payment_amount").is_not_null()
                & (pl.col("minimum_payment_amount") > 0)
                & (pl.col("last_payment_amount") <= pl.col("minimum_payment_amount") + 1.0)
            ).any(),
            liab_int=(pl.col("aprs_interest_charge_amount") > 0).any(),
            overdue=pl.col("is_overdue").any(),
        )
        .join(interest_tx, on="user_id", how="left")
    )
    # subscriptions (streams from the truth, counted when charged in the window)
    truth = pl.read_parquet(out / "ground_truth" / "recurring_streams.parquet").filter(
        pl.col("is_subscription") & ~pl.col("business")
    )
    charged = win.join(truth.select("user_id", "account_id", "merchant_name", "cadence"),
                       on=["user_id", "account_id", "merchant_name"])  # fmt: skip
    spend = (
        win.filter(
            ~pl.col("personal_finance_category_primary").is_in(NON_SPEND)
            & (pl.col("cents") > 0)
            & pl.col("type").is_in(["depository", "credit"])
        )
        .group_by("user_id")
        .agg(total=pl.col("cents").sum())
    )
    per_stream = (
        charged.filter(pl.col("cents") > 0)
        .group_by("user_id", "merchant_name")
        .agg(
            spent=pl.col("cents").sum(),
            amt=pl.col("cents").median(),
            cadence=pl.col("cadence").first(),
        )
    )
    factor = pl.col("cadence").replace_strict(
        {"MONTHLY": 1.0, "ANNUALLY": 1 / 12, "QUARTERLY": 1 / 3}, default=1.0
    )
    subs = (
        per_stream.group_by("user_id")
        .agg(
            n_subs=pl.len(),
            monthly=(pl.col("amt") * factor).sum() / 100,
            sub_spend=pl.col("spent").sum(),
        )
        .join(spend, on="user_id", how="left")
    )
    # savings
    sav = acc.filter(pl.col("subtype") == "savings").select(
        "account_id", "user_id", "balances_current"
    )
    sav_tx = (
        win.join(sav.select("account_id"), on="account_id")
        .group_by("account_id")
        .agg(s=pl.col("cents").sum())
    )
    savings = (
        sav.join(sav_tx, on="account_id", how="left")
        .group_by("user_id")
        .agg(bal=(pl.col("balances_current") * 100).sum(), s=pl.col("s").fill_null(0).sum())
        .with_columns(start=pl.col("bal") + pl.col("s"), net=-pl.col("s") / 100)
    )
    # income and cash flow
    chk = acc.filter(pl.col("subtype") == "checking")
    look = as_of - timedelta(days=max(window, 90))
    deposits = (
        tx.filter((pl.col("personal_finance_category_primary") == "INCOME") & (pl.col("cents") < 0)
                  & (pl.col("type") == "depository") & (pl.col("d") > look))
        .select("user_id", "d").unique().sort("user_id", "d")
        .with_columns(gap=(pl.col("d").diff().over("user_id")).dt.total_days())
        .group_by("user_id").agg(median_gap=pl.col("gap").median())
    )  # fmt: skip
    expenses = (
        win.filter(
            (pl.col("cents") > 0)
            & pl.col("type").is_in(["depository", "credit"])
            & (pl.col("personal_finance_category_primary") != "TRANSFER_OUT")
            & (pl.col("personal_finance_category_detailed") != "LOAN_PAYMENTS_CREDIT_CARD_PAYMENT")
        )
        .group_by("user_id")
        .agg(exp=pl.col("cents").sum() / months / 100)
    )
    days = pl.DataFrame({"day": pl.date_range(lo + timedelta(days=1), as_of, eager=True)})
    chk_daily = (
        tx.join(chk.select("account_id"), on="account_id")
        .group_by("user_id", "d")
        .agg(net=pl.col("cents").sum())
    )
    chk_cur = chk.group_by("user_id").agg(cur=(pl.col("balances_current") * 100).sum())
    grid = (
        chk_cur.join(days, how="cross")
        .join(chk_daily.rename({"d": "day"}), on=["user_id", "day"], how="left")
        .sort("user_id", "day", descending=[False, True])
    )
    # end-of-day balance = current + sum of amounts dated after the day
    grid = grid.with_columns(
        after=pl.col("net").fill_null(0).cum_sum().over("user_id") - pl.col("net").fill_null(0)
    )
    future = chk_daily.filter(pl.col("d") > as_of).group_by("user_id").agg(fut=pl.col("net").sum())
    cash = (
        grid.with_columns(bal=(pl.col("cur") + pl.col("after")) / 100)
        .group_by("user_id")
        .agg(
            below=(pl.col("bal") < 100).mean(),
            mean=pl.col("bal").mean(),
            std=pl.col("bal").std(ddof=0),
            cur=pl.col("cur").first() / 100,
        )
        .join(future, on="user_id", how="left")
    )
    return (
        users.join(credit, on="user_id", how="left")
        .join(subs, on="user_id", how="left")
        .join(savings, on="user_id", how="left")
        .join(deposits, on="user_id", how="left")
        .join(expenses, on="user_id", how="left")
        .join(cash, on="user_id", how="left")
        .with_columns(
            p1=(pl.col("max_util") >= 0.5).fill_null(False) | pl.col("min_only").fill_null(False)
            | pl.col("liab_int").fill_null(False) | pl.col("int_tx").is_not_null()
            | pl.col("overdue").fill_null(False),
            p2=((pl.col("median_gap") > 45) & (pl.col("cur") / pl.col("exp") < 1)).fill_null(False),
            p3=((pl.col("n_subs") >= 3) & ((pl.col("monthly") >= 50) | (pl.col("sub_spend") / pl.col("total") >= 0.1))).fill_null(False),
            p4=(((pl.col("start") > 0) & ((pl.col("bal") - pl.col("start")) / pl.col("start") >= 0.02))
                | (pl.col("net") / months >= 200)).fill_null(False)
            & (pl.col("max_util").is_null() | (pl.col("max_util") < 0.3)),
            p5=((pl.col("below") >= 0.3) & (pl.col("std") > pl.col("mean"))).fill_null(False),
        )
    )  # fmt: skip


def mismatches(out: Path, window: int, as_of: date) -> pl.DataFrame:
    """Users whose matched personas differ from their archetypes' personas."""
    flags = persona_flags(out, window, as_of)
    truth = pl.read_parquet(out / "ground_truth" / "users.parquet").select("user_id", "archetypes")
    expected = truth.with_columns(
        **{p: pl.col("archetypes").list.contains(a) for a, p in ARCHETYPE_PERSONA.items()}
    )
    joined = flags.join(expected, on="user_id", suffix="_want")
    bad = pl.any_horizontal(pl.col(p) != pl.col(f"{p}_want") for p in ARCHETYPE_PERSONA.values())
    return joined.filter(bad)
