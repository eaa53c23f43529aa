"""Size income to outflows and pick opening balances so each archetype's cash flow holds."""

from __future__ import annotations

import numpy as np
import polars as pl

from spendsense.synth.streams import HISTORY_DAYS

WINDOWS = ((HISTORY_DAYS - 180, HISTORY_DAYS), (HISTORY_DAYS - 30, HISTORY_DAYS))
EXCLUDED_EXPENSE = (
    "TRANSFER_OUT_SAVINGS",
    "TRANSFER_OUT_WITHDRAWAL",
    "LOAN_PAYMENTS_CREDIT_CARD_PAYMENT",
)


def size_income(rng: np.random.Generator, users: pl.DataFrame, txns: pl.DataFrame) -> pl.DataFrame:
    """Set payroll and lumpy gig amounts from each user's checking outflows."""
    chk = pl.col("account_id").str.ends_with("_chk")
    out = txns.filter(chk & (pl.col("amount_cents") > 0))
    total_out = out.group_by("uid").agg(out=pl.col("amount_cents").sum())
    n_pay = txns.filter(pl.col("kind") == "payroll").group_by("uid").agg(n_pay=pl.len())
    factor = users.select(
        "uid",
        factor=pl.when("cfs").then(1.0).otherwise(pl.Series(rng.uniform(1.03, 1.10, users.height))),
    )
    pay = (
        total_out.join(n_pay, on="uid")
        .join(factor, on="uid")
        .select(
            "uid",
            paycheck=(pl.col("out") * pl.col("factor") / pl.col("n_pay")).round().cast(pl.Int64),
        )
    )
    # a lump covers the outflows until the next one (the last also the days still to come)
    gig = (
        txns.filter(pl.col("kind") == "gig")
        .select("uid", "day", "remaining")
        .sort("uid", "day")
        .with_columns(
            jitter=pl.Series(rng.uniform(0.99, 1.01, txns.filter(pl.col("kind") == "gig").height))
        )
        .sort("day", maintain_order=True)
    )
    seg = out.sort("day").join_asof(
        gig.rename({"day": "gday"}),
        left_on="day",
        right_on="gday",
        by="uid",
        check_sortedness=False,
    )
    seg_sum = (
        seg.filter(pl.col("gday").is_not_null())
        .group_by("uid", "gday")
        .agg(seg=pl.col("amount_cents").sum())
    )
    rate = total_out.select("uid", rate=pl.col("out") / HISTORY_DAYS)
    lumps = (
        gig.join(seg_sum, left_on=["uid", "day"], right_on=["uid", "gday"], how="left")
        .join(rate, on="uid")
        .with_columns(
            lump=(pl.col("seg").fill_null(0) + pl.col("rate") * pl.col("remaining"))
            * pl.col("jitter")
        )
        .select("uid", "day", lump=pl.col("lump").round().cast(pl.Int64))
    )
    return (
        txns.join(pay, on="uid", how="left")
        .join(lumps, on=["uid", "day"], how="left")
        .with_columns(
            amount_cents=pl.when(pl.col("kind") == "payroll")
            .then(-pl.col("paycheck"))
            .when(pl.col("kind") == "gig")
            .then(-pl.col("lump"))
            .otherwise("amount_cents")
        )
        .drop("paycheck", "lump")
    )


def _checking_path(txns: pl.DataFrame, accounts: pl.DataFrame) -> pl.DataFrame:
    """Relative end-of-day balance (start = 0) of every checking account on every day."""
    chk = accounts.filter(pl.col("subtype") == "checking").select(
        "account_id", "uid", "holder_category"
    )
    grid = chk.join(pl.DataFrame({"day": np.arange(HISTORY_DAYS)}), how="cross")
    daily = txns.group_by("account_id", "day").agg(net=pl.col("amount_cents").sum())
    return (
        grid.join(daily, on=["account_id", "day"], how="left")
        .sort("account_id", "day")
        .with_columns(rel=-pl.col("net").fill_null(0).cum_sum().over("account_id"))
    )


def _window_stats(path: pl.DataFrame, lo: int, hi: int, tag: str) -> pl.DataFrame:
    inside = path.filter((pl.col("day") >= lo) & (pl.col("day") < hi))
    return inside.group_by("account_id").agg(
        **{
            f"q_{tag}": pl.col("rel").quantile(0.6),
            f"mean_{tag}": pl.col("rel").mean(),
            f"std_{tag}": pl.col("rel").std(ddof=0),
        }
    )


def _monthly_expenses(txns: pl.DataFrame) -> pl.DataFrame:
    """Approximate avg monthly expenses over the 180-day window (the signal's definition)."""
    personal = pl.col("account_id").str.ends_with("_chk") | pl.col("account_id").str.contains("_cc")
    return (
        txns.filter(
            personal
            & (pl.col("amount_cents") > 0)
            & (pl.col("day") >= WINDOWS[0][0])
            & ~pl.col("pfc_detailed").is_in(EXCLUDED_EXPENSE)
        )
        .group_by("uid")
        .agg(expenses=pl.col("amount_cents").sum() / 6.0)
    )


def checking_starts(
    rng: np.random.Generator, users: pl.DataFrame, accounts: pl.DataFrame, txns: pl.DataFrame
) -> pl.DataFrame:
    """Opening balance per checking account: healthy floor, low end (variable), or stressed shape."""
    path = _checking_path(txns, accounts)
    stats = path.group_by("account_id").agg(
        min_rel=pl.col("rel").min(), end_rel=pl.col("rel").last(), uid=pl.col("uid").first(),
        holder=pl.col("holder_category").first(),
    )  # fmt: skip
    for lo, hi in WINDOWS:
        stats = stats.join(_window_stats(path, lo, hi, str(hi - lo)), on="account_id")
    stats = (
        stats.join(users.select("uid", "cfs", "vi", "income_cents"), on="uid")
        .join(_monthly_expenses(txns), on="uid", how="left")
        .sort("account_id")
    )
    u1 = pl.Series(rng.uniform(0.3, 1.0, stats.height))
    u2 = pl.Series(rng.uniform(0.1, 0.3, stats.height))
    healthy = pl.max_horizontal(pl.lit(60000.0), pl.col("income_cents") * u1) - pl.col("min_rel")
    variable = pl.max_horizontal(
        pl.col("expenses").fill_null(100000) * u2 - pl.col("end_rel"), 15000 - pl.col("min_rel")
    )
    stressed = pl.min_horizontal(
        *[6000 - pl.col(f"q_{w}") for w in ("180", "30")],
        *[pl.col(f"std_{w}") / 1.5 - pl.col(f"mean_{w}") for w in ("180", "30")],
    )
    personal = pl.col("holder") == "personal"
    return stats.select(
        "account_id",
        start_cents=pl.when(personal & pl.col("cfs"))
        .then(stressed)
        .when(personal & pl.col("vi"))
        .then(variable)
        .otherwise(healthy)
        .round()
        .cast(pl.Int64),
    )
