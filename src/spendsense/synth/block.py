"""Generate one block of users end to end: streams, spend, cards, income, balances, noise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from spendsense.synth import spend as sp
from spendsense.synth.balances import checking_starts, size_income
from spendsense.synth.cards import simulate_cards
from spendsense.synth.expand import TXN_COLS, expand, history_start
from spendsense.synth.population import draw_accounts, draw_users
from spendsense.synth.streams import HISTORY_DAYS, acct, build_specs

COLS = (*TXN_COLS, "sid", "remaining")


@dataclass(frozen=True)
class Block:
    """Internal frames of one block (cents, day indices) before conversion to Plaid shape."""

    users: pl.DataFrame
    accounts: pl.DataFrame
    txns: pl.DataFrame
    credit: pl.DataFrame
    truth: pl.DataFrame


def _conform(frame: pl.DataFrame) -> pl.DataFrame:
    have = set(frame.columns)
    fill = {"sid": pl.Int64, "remaining": pl.Int64, "merchant_name": pl.String}
    return frame.with_columns(
        [pl.lit(None, fill[c]).alias(c) for c in fill if c not in have]
    ).select(
        pl.col("uid", "day", "auth_lag", "amount_cents", "sid", "remaining").cast(pl.Int64),
        pl.col("account_id", "name", "merchant_name", "channel", "pfc_detailed", "kind").cast(
            pl.String
        ),
        pl.col("pending").cast(pl.Boolean),
    )


def _business_income(rng: np.random.Generator, users: pl.DataFrame) -> pl.DataFrame:
    biz = users.filter("business")
    rows = np.repeat(np.arange(biz.height), 12)
    day = np.tile(np.arange(12) * 16, biz.height) + rng.integers(0, 10, rows.size)
    keep = day < HISTORY_DAYS
    return pl.DataFrame({"uid": biz["uid"].to_numpy()[rows][keep], "day": day[keep]}).with_columns(
        account_id=acct("bchk"),
        amount_cents=-pl.Series(rng.integers(800, 6000, int(keep.sum())) * 100),
        name=pl.lit("STRIPE PAYOUT"),
        merchant_name=pl.lit("Stripe"),
        channel=pl.lit("other"),
        pfc_detailed=pl.lit("TRANSFER_IN_DEPOSIT"),
        kind=pl.lit("biz_in"),
        auth_lag=pl.lit(0),
        pending=pl.lit(False),
    )


def generate_block(seed: int, block: int, first: int, n: int, as_of: date) -> Block:
    """All internal frames for users ``first+1 .. first+n``, seeded by (seed, block)."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, block])))
    users = draw_users(rng, first, n)
    accounts = draw_accounts(rng, users)
    specs = build_specs(rng, users)
    occ, truth = expand(rng, specs, as_of)
    parts = [
        occ,
        sp.variable_spend(rng, users),
        sp.card_anchors(rng, accounts),
        sp.cash_withdrawals(rng, users, occ.filter(pl.col("kind") == "payroll")),
        sp.gig_deposits(rng, users),
        sp.savings_one_offs(rng, users),
        _business_income(rng, users),
    ]
    txns = sp.desteady(rng, pl.concat([_conform(p) for p in parts]))
    cards = simulate_cards(rng, users, accounts, txns, as_of)
    txns = pl.concat([txns, _conform(cards.txns)])
    mirror = txns.filter(pl.col("kind") == "save").with_columns(
        account_id=acct("sav"),
        amount_cents=-pl.col("amount_cents"),
        name=pl.lit("ONLINE TRANSFER FROM CHECKING"),
        pfc_detailed=pl.lit("TRANSFER_IN_SAVINGS"),
        sid=pl.lit(None, pl.Int64),
    )
    order = ["uid", "day", "account_id", "name", "amount_cents", "kind", "sid"]
    txns = size_income(rng, users, pl.concat([txns, mirror])).sort(order, maintain_order=True)
    # the last days' card swipes have not posted yet
    recent = (pl.col("kind") == "spend") & (pl.col("day") >= HISTORY_DAYS - 3)
    posted_recently = (pl.col("kind") == "spend") & (pl.col("day") >= HISTORY_DAYS - 10)
    txns = txns.with_columns(
        pending=recent & pl.Series(rng.random(txns.height) < 0.5),
        twin=posted_recently & pl.Series(rng.random(txns.height) < 0.35),
    ).with_columns(twin=pl.col("twin") & ~pl.col("pending"))
    txns = txns.sort(order, maintain_order=True)
    accounts = _balances(rng, users, accounts, txns, cards.cards)
    truth = _truth(truth, txns, cards.truth)
    return Block(users, accounts, txns, cards.liabilities, truth)


def _balances(
    rng: np.random.Generator,
    users: pl.DataFrame,
    accounts: pl.DataFrame,
    txns: pl.DataFrame,
    cards: pl.DataFrame,
) -> pl.DataFrame:
    """Opening and as-of balances for every account (depository falls as money goes out)."""
    net = txns.group_by("account_id").agg(net=pl.col("amount_cents").sum())
    chk = checking_starts(rng, users, accounts, txns)
    n = accounts.height
    accounts = accounts.sort("account_id").with_columns(
        r_builder=pl.Series(rng.integers(500, 8000, n) * 100),
        r_saver=pl.Series(rng.integers(2000, 30000, n) * 100),
        r_loan=pl.Series(rng.uniform(40, 300, n)),
    )
    sav_start = (
        pl.when(pl.col("sb")).then("r_builder").otherwise(pl.col("r_saver") - 100 * pl.col("net"))
    )
    housing = txns.filter(
        pl.col("pfc_detailed").is_in(
            ["LOAN_PAYMENTS_MORTGAGE_PAYMENT", "LOAN_PAYMENTS_STUDENT_LOAN_PAYMENT"]
        )
    )
    payment = housing.group_by("uid", "pfc_detailed").agg(pay=pl.col("amount_cents").last())
    loan_kind = (
        pl.when(pl.col("kind") == "mtg")
        .then(pl.lit("LOAN_PAYMENTS_MORTGAGE_PAYMENT"))
        .otherwise(pl.lit("LOAN_PAYMENTS_STUDENT_LOAN_PAYMENT"))
    )
    out = (
        accounts.with_columns(pfc_detailed=loan_kind)
        .join(net, on="account_id", how="left")
        .join(chk, on="account_id", how="left")
        .join(cards.rename({"start_cents": "card_start"}), on="account_id", how="left")
        .join(users.select("uid", "sb"), on="uid")
        .join(payment, on=["uid", "pfc_detailed"], how="left")
        .with_columns(net=pl.col("net").fill_null(0))
        .with_columns(
            start_cents=pl.when(pl.col("subtype") == "checking")
            .then("start_cents")
            .when(pl.col("subtype") == "savings")
            .then(sav_start)
            .when(pl.col("type") == "credit")
            .then("card_start")
            .otherwise(
                (pl.col("pay").fill_null(30000) * pl.col("r_loan") / 100).round().cast(pl.Int64)
                * 100
            )
        )
        .with_columns(
            current_cents=pl.when(pl.col("type") == "credit")
            .then(pl.col("start_cents") + pl.col("net"))
            .otherwise(pl.col("start_cents") - pl.col("net"))
        )
    )
    drop = ("pfc_detailed", "pay", "sb", "net", "r_builder", "r_saver", "r_loan")
    return out.drop(drop).sort("account_id")


def _truth(truth: pl.DataFrame, txns: pl.DataFrame, revolving: pl.DataFrame) -> pl.DataFrame:
    """Per-stream truth: expanded streams with sized payroll, plus revolving card payments."""
    paycheck = (
        txns.filter(pl.col("kind") == "payroll")
        .group_by("sid")
        .agg(pay=-pl.col("amount_cents").first())
    )
    truth = truth.join(paycheck, on="sid", how="left").with_columns(
        amount_cents=pl.coalesce("pay", "amount_cents"),
        new_amount_cents=pl.col("new_amount_cents").cast(pl.Int64),
    )
    card_pay = txns.filter(pl.col("kind") == "card_pay").join(
        revolving.select(
            "uid",
            account_id="fund",
            amount_cents="pay_fixed",
            missed_count=pl.col("overdue").cast(pl.Int64),
        ),
        on=["uid", "account_id", "amount_cents"],
    )
    card_truth = card_pay.group_by("uid", "account_id", "amount_cents", "missed_count").agg(
        first_day=pl.col("day").min(), last_day=pl.col("day").max(), n_charges=pl.len(),
        merchant_name=pl.col("merchant_name").first(),
    ).with_columns(
        direction=pl.lit("outflow"), cadence=pl.lit("MONTHLY"), is_subscription=pl.lit(False),
        pfc_detailed=pl.lit("LOAN_PAYMENTS_CREDIT_CARD_PAYMENT"), business=pl.lit(False),
        new_amount_cents=pl.lit(None, pl.Int64), price_change_day=pl.lit(None, pl.Int64),
    )  # fmt: skip
    cols = [
        "uid", "account_id", "merchant_name", "direction", "cadence", "amount_cents", "is_subscription",
        "pfc_detailed", "first_day", "last_day", "business", "new_amount_cents", "price_change_day",
        "missed_count", "n_charges",
    ]  # fmt: skip
    return pl.concat([truth.select(cols), card_truth.select(cols)], how="vertical_relaxed").sort(
        "uid", "account_id", "merchant_name"
    )


def day_to_date(expr: pl.Expr, as_of: date) -> pl.Expr:
    """Day index (0 = history start) -> calendar date."""
    return pl.lit(history_start(as_of)) + pl.duration(days=expr)
