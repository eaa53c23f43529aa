"""Credit cards: statement cycles, payments, interest, limits and the credit liabilities."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from spendsense.synth.expand import history_start
from spendsense.synth.streams import HISTORY_DAYS

PAYMENT = "LOAN_PAYMENTS_CREDIT_CARD_PAYMENT"


@dataclass(frozen=True)
class CardResult:
    """What the card simulation adds: transactions, per-card state, liabilities, truth streams."""

    txns: pl.DataFrame
    cards: pl.DataFrame  # account_id, start_cents, limit_cents
    liabilities: pl.DataFrame
    truth: pl.DataFrame


def _statement_days(stmt_dom: np.ndarray, as_of: date) -> tuple[np.ndarray, np.ndarray]:
    """(card row, day index) of every monthly statement from one before the history to as-of."""
    h0 = np.datetime64(history_start(as_of), "D")
    m0 = h0.astype("datetime64[M]") - 1
    n_months = int((np.datetime64(as_of, "M") - m0).astype(np.int64)) + 1
    rows = np.repeat(np.arange(stmt_dom.size), n_months)
    mon = m0 + np.tile(np.arange(n_months), stmt_dom.size)
    day = (mon.astype("datetime64[D]") - h0).astype(np.int64) + stmt_dom[rows] - 1
    return rows, day


def _txn(
    frame: pl.DataFrame, account: str, amount: pl.Expr, name: pl.Expr | str, pfc: str, kind: str
) -> pl.DataFrame:
    return frame.select(
        "uid",
        pl.col("day").cast(pl.Int64),
        account_id=pl.col(account),
        amount_cents=amount,
        name=name if isinstance(name, pl.Expr) else pl.lit(name),
        merchant_name=pl.lit(None, pl.String),
        channel=pl.lit("other"),
        pfc_detailed=pl.lit(pfc),
        kind=pl.lit(kind),
        auth_lag=pl.lit(0, pl.Int64),
        pending=pl.lit(False),
    )


def simulate_cards(
    rng: np.random.Generator,
    users: pl.DataFrame,
    accounts: pl.DataFrame,
    txns: pl.DataFrame,
    as_of: date,
) -> CardResult:
    """Pay-in-full or revolving behaviour per card; balances follow from the transactions."""
    cards = (
        accounts.filter(pl.col("type") == "credit")
        .join(users.select("uid", "hu", "income_cents"), on="uid")
        .sort("account_id")
    )
    n = cards.height
    revolving = cards["hu"].to_numpy() & (cards["kind"].to_numpy() == "cc1")
    u = rng.random((n, 4))
    overdue = revolving & (u[:, 0] < 0.25)
    min_only = revolving & (u[:, 1] < 0.5)
    limit0 = np.maximum(
        100000,
        (cards["income_cents"].to_numpy() * rng.uniform(0.8, 2.0, n) / 50000).round() * 50000,
    )
    target = limit0 * rng.uniform(0.6, 0.95, n)
    apr = np.round(rng.uniform(19.99, 29.99, n), 2)
    interest = np.where(revolving, np.round(target * apr / 1200), 0).astype(np.int64)
    pay_fixed = np.round(0.01 * target + interest).astype(np.int64)
    pay_fixed = pay_fixed + np.where(min_only, 0, rng.integers(12, 50, n) * 500)
    cards = cards.with_columns(
        row=pl.int_range(pl.len()),
        revolving=pl.Series(revolving),
        overdue=pl.Series(overdue),
        min_only=pl.Series(min_only),
        apr=pl.Series(apr),
        interest=pl.Series(interest),
        pay_fixed=pl.Series(pay_fixed),
        lag=pl.Series(rng.integers(18, 25, n)),
        target=pl.Series(target.round().astype(np.int64)),
        limit0=pl.Series(limit0),
        util=pl.Series(rng.uniform(0.04, 0.18, n)),
        fund=pl.format("acc_{}_{}", pl.col("uid").cast(pl.String).str.zfill(7),
                       pl.when(pl.col("holder_category") == "business").then(pl.lit("bchk")).otherwise(pl.lit("chk"))),
    )  # fmt: skip
    rows, sday = _statement_days(rng.integers(1, 29, n), as_of)
    stmts = (
        cards[rows]
        .select("account_id", "uid", "bank", "revolving", "interest", "pay_fixed", "lag", "fund")
        .with_columns(sday=pl.Series(sday))
    )
    purchases = txns.join(cards.select("account_id"), on="account_id").sort("day")
    cycle = purchases.join_asof(
        stmts.select("account_id", sday=pl.col("sday"), s=pl.col("sday")).sort("sday"),
        left_on="day", right_on="sday", by="account_id", strategy="forward", check_sortedness=False,
    )  # fmt: skip
    billed = cycle.group_by("account_id", "s").agg(billed=pl.col("amount_cents").sum())
    first_stmt_gap = (
        stmts.filter(pl.col("sday") < 0).group_by("account_id").agg(pl.col("sday").max())
    )
    opening = (
        stmts.join(first_stmt_gap, on=["account_id", "sday"])
        .sort("account_id")
        .with_columns(billed=pl.Series(rng.integers(40, 400, first_stmt_gap.height) * 100))
    )
    stmts = stmts.join(
        billed, left_on=["account_id", "sday"], right_on=["account_id", "s"], how="left"
    )
    stmts = pl.concat(
        [stmts.filter(pl.col("sday") >= 0), opening.select(stmts.columns)]
    ).with_columns(pay_day=pl.col("sday") + pl.col("lag"))
    pays = (
        stmts.filter((pl.col("pay_day") >= 0) & (pl.col("pay_day") < HISTORY_DAYS))
        .with_columns(
            pay=pl.when("revolving").then("pay_fixed").otherwise(pl.col("billed").fill_null(0)),
            day=pl.col("pay_day"),
        )
        .filter(pl.col("pay") > 0)
    )
    last_pay = pays.group_by("account_id").agg(pl.col("day").max().alias("last"))
    pays = pays.join(last_pay, on="account_id").join(
        cards.select("account_id", "overdue"), on="account_id"
    )
    pays = pays.filter(~(pl.col("overdue") & (pl.col("day") == pl.col("last"))))
    interest_txn = stmts.filter(pl.col("revolving") & (pl.col("sday") >= 0)).with_columns(
        day=pl.col("sday")
    )
    label = pl.format("{} CARD PAYMENT", pl.col("bank").str.to_uppercase())
    new = pl.concat(
        [
            _txn(pays, "account_id", -pl.col("pay"), "PAYMENT THANK YOU", PAYMENT, "card_pay"),
            _txn(pays, "fund", pl.col("pay"), label, PAYMENT, "card_pay").with_columns(
                merchant_name=pays["bank"] + " Card Services"
            ),
            _txn(interest_txn, "account_id", pl.col("interest"), "INTEREST CHARGE ON PURCHASES",
                 "BANK_FEES_INTEREST_CHARGE", "interest"),
        ]
    )  # fmt: skip
    on_card = pl.concat(
        [purchases.select(new.columns), new.join(cards.select("account_id"), on="account_id")]
    )
    total = on_card.group_by("account_id").agg(total=pl.col("amount_cents").sum())
    opened = opening.filter(pl.col("sday") + pl.col("lag") >= 0).select(
        "account_id", open_bal="billed"
    )
    cards = (
        cards.join(total, on="account_id", how="left")
        .join(opened, on="account_id", how="left")
        .with_columns(
            start_cents=pl.when("revolving")
            .then(pl.col("target") - pl.col("total").fill_null(0))
            .otherwise(pl.col("open_bal").fill_null(0))
        )
        .with_columns(current=pl.col("start_cents") + pl.col("total").fill_null(0))
    )
    path = (
        on_card.sort("account_id", "day")
        .join(cards.select("account_id", "start_cents"), on="account_id")
        .with_columns(
            bal=pl.col("start_cents") + pl.col("amount_cents").cum_sum().over("account_id")
        )
        .group_by("account_id", "day")
        .agg(pl.col("bal").last())
        .sort("day")
    )
    peak = path.group_by("account_id").agg(peak=pl.col("bal").max())
    cards = cards.join(peak, on="account_id", how="left").with_columns(
        limit_cents=(
            pl.max_horizontal(
                pl.when("revolving").then("limit0").otherwise(pl.col("current") / pl.col("util")),
                pl.col("peak").fill_null(0) / pl.when("revolving").then(0.98).otherwise(0.6),
                pl.lit(100000),
            )
            / 50000
        )
        .ceil()
        .cast(pl.Int64)
        * 50000
    )
    last_stmt = stmts.filter(pl.col("sday") >= 0).group_by("account_id").agg(pl.col("sday").max())
    stmt_bal = last_stmt.sort("sday").join_asof(
        path.rename({"day": "pday"}),
        left_on="sday",
        right_on="pday",
        by="account_id",
        strategy="backward",
        check_sortedness=False,
    )
    paid = pays.group_by("account_id").agg(
        last_payment_amount_cents=pl.col("pay").sort_by("day").last(),
        last_payment_day=pl.col("day").max(),
    )
    liab = (
        cards.join(stmt_bal, on="account_id", how="left")
        .join(paid, on="account_id", how="left")
        .with_columns(stmt=pl.coalesce("bal", "start_cents").clip(0))
        .select(
            "account_id", "uid", "apr", "sday", "last_payment_amount_cents", "last_payment_day",
            is_overdue=pl.col("overdue"),
            last_statement_balance_cents=pl.col("stmt"),
            minimum_payment_amount_cents=pl.when("min_only").then("pay_fixed")
            .when("revolving").then((pl.col("stmt") * 0.01).round().cast(pl.Int64) + pl.col("interest"))
            # a pay-in-full card's minimum never reaches what was paid last cycle
            .otherwise(pl.min_horizontal(
                "stmt",
                pl.max_horizontal(pl.lit(2500), (pl.col("stmt") * 0.01).round().cast(pl.Int64)),
                (pl.col("last_payment_amount_cents").fill_null(2500) - 500).clip(0),
            )),
            interest_charge_cents=pl.col("interest"),
            balance_subject_cents=pl.when("revolving").then("current").otherwise(0),
        )
    )  # fmt: skip
    truth = cards.filter("revolving").select("uid", "account_id", "pay_fixed", "fund", "overdue")
    return CardResult(
        txns=new,
        cards=cards.select("account_id", "start_cents", "limit_cents"),
        liabilities=liab,
        truth=truth,
    )
