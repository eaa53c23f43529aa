"""Non-recurring activity: groceries, fuel, discretionary spend, refunds, cash, gig deposits."""

from __future__ import annotations

import numpy as np
import polars as pl

from spendsense.synth import catalog as cat
from spendsense.synth.streams import HISTORY_DAYS, acct

SHOPPING = (
    "GENERAL_MERCHANDISE_ONLINE_MARKETPLACES",
    "GENERAL_MERCHANDISE_SUPERSTORES",
    "GENERAL_MERCHANDISE_CLOTHING_AND_ACCESSORIES",
)


def _frame(
    users: pl.DataFrame, rows: np.ndarray, day: np.ndarray, amount: np.ndarray, **cols: object
) -> pl.DataFrame:
    """Transactions for users[rows] with the given days, amounts and constant or array columns."""
    data: dict[str, object] = {
        "uid": users["uid"].to_numpy()[rows],
        "day": day,
        "amount_cents": amount,
    }
    frame = pl.DataFrame(data).with_columns(auth_lag=pl.lit(0), pending=pl.lit(False))
    series = {
        k: v.alias(k) if isinstance(v, pl.Series) else pl.Series(k, v)
        for k, v in cols.items()
        if isinstance(v, np.ndarray | pl.Series)
    }
    consts = {
        k: pl.lit(v) for k, v in cols.items() if not isinstance(v, np.ndarray | pl.Expr | pl.Series)
    }
    exprs = {k: v for k, v in cols.items() if isinstance(v, pl.Expr)}
    return frame.with_columns(**series, **consts).with_columns(**exprs)


def _merchants(pool: tuple[str, ...], idx: np.ndarray) -> pl.Series:
    """Merchant names for pool indices (a gather, not per-row Python strings)."""
    return pl.Series(pool).gather(pl.Series(idx))


def _visits(
    rng: np.random.Generator, users: pl.DataFrame, spend: cat.Spend, rate: np.ndarray
) -> pl.DataFrame:
    """Poisson visits at ``rate`` per 30 days to random merchants of a category pool."""
    pfc, channel, pool, median, sigma = spend
    counts = rng.poisson(rate * HISTORY_DAYS / 30)
    rows = np.repeat(np.arange(users.height), counts)
    scale = users["spend_scale"].to_numpy()[rows] ** 0.5
    amount = np.round(median * scale * rng.lognormal(0, sigma, rows.size)).astype(np.int64) + 50
    return _frame(
        users, rows, rng.integers(0, HISTORY_DAYS, rows.size), amount,
        merchant_name=_merchants(pool, rng.integers(0, len(pool), rows.size)),
        channel=channel, pfc_detailed=pfc, kind="spend",
    ).with_columns(name=pl.col("merchant_name").str.to_uppercase())  # fmt: skip


def _weekly(
    rng: np.random.Generator, users: pl.DataFrame, spend: cat.Spend, rows: np.ndarray
) -> pl.DataFrame:
    """About-weekly visits (day jitter ±2) with amounts that vary too much to be a stream."""
    pfc, channel, pool, median, sigma = spend
    weeks = HISTORY_DAYS // 7 + 1
    r = np.repeat(rows, weeks)
    k = np.tile(np.arange(weeks), rows.size)
    day = np.repeat(rng.integers(0, 7, rows.size), weeks) + 7 * k + rng.integers(-2, 3, r.size)
    keep = (day >= 0) & (day < HISTORY_DAYS) & (rng.random(r.size) < 0.9)
    r, day = r[keep], day[keep]
    scale = users["spend_scale"].to_numpy()[r] ** 0.6
    amount = np.round(median * scale * rng.lognormal(0, sigma, r.size)).astype(np.int64) + 100
    home = np.repeat(rng.integers(0, len(pool), users.height), 1)[r]
    pick = np.where(rng.random(r.size) < 0.75, home, rng.integers(0, len(pool), r.size))
    return _frame(
        users, r, day, amount, merchant_name=_merchants(pool, pick),
        channel=channel, pfc_detailed=pfc, kind="spend",
    ).with_columns(name=pl.col("merchant_name").str.to_uppercase())  # fmt: skip


def _on_card(
    rng: np.random.Generator, frame: pl.DataFrame, users: pl.DataFrame, share: float
) -> pl.DataFrame:
    """Route a share of purchases to the user's card (if any), the rest to checking."""
    cards = frame.join(users.select("uid", "n_cards"), on="uid", how="left", maintain_order="left")[
        "n_cards"
    ].to_numpy()
    u = rng.random(frame.height)
    which = np.where((cards > 0) & (u < share), np.where((cards > 1) & (u < share / 3), 2, 1), 0)
    lag = rng.choice(3, frame.height, p=[0.5, 0.35, 0.15])
    return frame.with_columns(
        account_id=pl.format(
            "acc_{}_{}",
            pl.col("uid").cast(pl.String).str.zfill(7),
            pl.Series(["chk", "cc1", "cc2"]).gather(pl.Series(which)),
        ),
        auth_lag=pl.Series(np.where(frame["channel"].to_numpy() == "in store", lag, 0)),
    )


def variable_spend(rng: np.random.Generator, users: pl.DataFrame) -> pl.DataFrame:
    """Groceries, fuel, discretionary purchases and refunds for every user of the block."""
    n = users.height
    scale = users["spend_scale"].to_numpy()
    parts = [_weekly(rng, users, cat.GROCERY, np.arange(n))]
    parts.append(_weekly(rng, users, cat.FUEL, np.flatnonzero(users["has_car"].to_numpy())))
    for spend, rate in cat.DISCRETIONARY:
        parts.append(_visits(rng, users, spend, np.full(n, rate) * scale**0.7))
    spend_all = pl.concat(parts)
    spend_all = _on_card(rng, spend_all, users, 0.55)
    # refunds: ~4% of shopping purchases come back 3-20 days later, in full or in part
    shop = spend_all.filter(pl.col("pfc_detailed").is_in(SHOPPING))
    pick = rng.random(shop.height) < 0.04
    ref = shop.filter(pl.Series(pick))
    part = np.where(rng.random(ref.height) < 0.7, 1.0, rng.uniform(0.2, 0.8, ref.height))
    ref = ref.with_columns(
        day=pl.col("day") + pl.Series(rng.integers(3, 21, ref.height)),
        amount_cents=-(pl.col("amount_cents") * pl.Series(part)).round().cast(pl.Int64),
        name=pl.format("REFUND {}", "name"),
        channel=pl.lit("online"),
        auth_lag=pl.lit(0),
        kind=pl.lit("refund"),
    ).filter(pl.col("day") < HISTORY_DAYS)
    return pl.concat([spend_all, ref], how="vertical_relaxed")


def desteady(rng: np.random.Generator, frame: pl.DataFrame) -> pl.DataFrame:
    """Make each merchant's successive purchases differ by at least 22% so they never look steady.

    Random visits to one merchant (three lunches at the same diner) could otherwise land
    within 10% of each other on a monthly-looking rhythm and pass for a subscription. Each
    (user, merchant) series is its first amount times exp(z), where z alternates up and
    down by 0.2-0.5 per visit: bounded, varied, and never two neighbours alike.
    """
    spend = pl.col("kind") == "spend"
    group = ("uid", "merchant_name", "kind")
    k = pl.int_range(pl.len()).over(group, order_by="day")
    step = (
        pl.when(k == 0)
        .then(0.0)
        .otherwise(pl.when(k % 2 == 1).then(1.0).otherwise(-1.0) * pl.col("u"))
    )
    walked = (
        frame.with_columns(u=pl.Series(rng.uniform(0.2, 0.5, frame.height)))
        .with_columns(z=step.cum_sum().over(group, order_by="day"))
        .with_columns(
            amount_cents=pl.when(spend)
            .then(
                (pl.col("amount_cents").first().over(group, order_by="day") * pl.col("z").exp())
                .round()
                .cast(pl.Int64)
            )
            .otherwise("amount_cents")
        )
    )
    return walked.drop("u", "z")


def card_anchors(rng: np.random.Generator, accounts: pl.DataFrame) -> pl.DataFrame:
    """One online purchase per card per month, so no statement is too small to read."""
    cards = accounts.filter(pl.col("type") == "credit")
    months = HISTORY_DAYS // 30 + 1
    rows = np.repeat(np.arange(cards.height), months)
    day = np.tile(np.arange(months) * 30, cards.height) + rng.integers(0, 30, rows.size)
    keep = day < HISTORY_DAYS
    rows, day = rows[keep], day[keep]
    pool = cat.DISCRETIONARY[3][0][2]
    merchant = np.asarray(pool, dtype=object)[rng.integers(0, len(pool), rows.size)]
    biz = cards["holder_category"].to_numpy()[rows] == "business"
    return _frame(
        cards, rows, day, np.round(rng.lognormal(np.log(9000), 0.5, rows.size)).astype(np.int64) + 1500,
        account_id=cards["account_id"].to_numpy()[rows],
        merchant_name=np.where(biz, "Staples Business", merchant).astype(object),
        name=np.char.upper(np.where(biz, "Staples Business", merchant).astype(str)).astype(object),
        channel="online",
        pfc_detailed=np.where(biz, "GENERAL_MERCHANDISE_OFFICE_SUPPLIES", "GENERAL_MERCHANDISE_ONLINE_MARKETPLACES").astype(object),
        kind="spend",
    )  # fmt: skip


def cash_withdrawals(
    rng: np.random.Generator, users: pl.DataFrame, payroll: pl.DataFrame
) -> pl.DataFrame:
    """Stressed users take out 35-50% of each paycheck in cash the day after payday."""
    per_month = {"WEEKLY": 4.33, "BIWEEKLY": 2.17, "SEMI_MONTHLY": 2.0, "MONTHLY": 1.0}
    stressed = users.filter("cfs").select("uid", "income_cents", "pay_cadence")
    paid = payroll.join(stressed, on="uid", maintain_order="left")
    check = (
        paid["income_cents"].to_numpy() / paid["pay_cadence"].replace_strict(per_month).to_numpy()
    )
    amount = (check * rng.uniform(0.35, 0.5, paid.height) / 2000).round().astype(np.int64) * 2000
    return (
        paid.select("uid", "day")
        .with_columns(
            day=pl.col("day") + 1,
            amount_cents=pl.Series(amount),
            account_id=acct("chk"),
            auth_lag=pl.lit(0),
            pending=pl.lit(False),
            merchant_name=pl.lit(None, pl.String),
            name=pl.lit("ATM WITHDRAWAL"),
            channel=pl.lit("in store"),
            pfc_detailed=pl.lit("TRANSFER_OUT_WITHDRAWAL"),
            kind=pl.lit("cash"),
        )
        .filter(pl.col("day") < HISTORY_DAYS)
    )


def gig_deposits(rng: np.random.Generator, users: pl.DataFrame) -> pl.DataFrame:
    """Gig payouts: lumpy every 52-68 days for variable earners, small and random as a side gig."""
    vi = np.flatnonzero(users["vi"].to_numpy())
    # the latest two lumps sit inside the last 90 days (so a 30-day lookback sees a >45-day gap)
    since = rng.integers(28, 39, vi.size)  # days since the latest lump
    steps = rng.integers(52, 69, (vi.size, 4))
    steps[:, 0] = 0
    steps[:, 1] = rng.integers(47, 90 - since)
    last = HISTORY_DAYS - 1 - since
    days = last[:, None] - np.cumsum(steps, axis=1)
    rows = np.repeat(vi, 4)
    day = days.ravel()
    # only the latest lump also covers the 3-7 days still to come before the next one
    remaining = (rng.integers(3, 8, (vi.size, 4)) * (np.arange(4)[None, :] == 0)).ravel()
    keep = day >= 0
    side = np.flatnonzero(users["side_gig"].to_numpy())
    counts = rng.poisson(4, side.size)
    side_rows = np.repeat(side, counts)
    platform = np.asarray(cat.GIG_PLATFORMS, dtype=object)
    all_rows = np.r_[rows[keep], side_rows]
    merchant = platform[rng.integers(0, len(platform), all_rows.size)]
    side_amount = -rng.integers(50, 400, side_rows.size) * 100
    frame = _frame(
        users, all_rows, np.r_[day[keep], rng.integers(0, HISTORY_DAYS, side_rows.size)],
        np.r_[np.zeros(keep.sum(), dtype=np.int64), side_amount],
        merchant_name=merchant, name=np.char.add(np.char.upper(merchant.astype(str)), " PAYOUT").astype(object),
        channel="other", pfc_detailed="INCOME_GIG_ECONOMY",
        kind=np.r_[np.full(keep.sum(), "gig"), np.full(side_rows.size, "side_gig")].astype(object),
        remaining=np.r_[remaining[keep], np.zeros(side_rows.size, dtype=np.int64)],
    )  # fmt: skip
    return frame.with_columns(account_id=acct("chk"))


def savings_one_offs(rng: np.random.Generator, users: pl.DataFrame) -> pl.DataFrame:
    """Half of non-builder savers move a small one-off amount (under $150) to savings."""
    pick = np.flatnonzero(
        users["has_savings"].to_numpy() & ~users["sb"].to_numpy() & (rng.random(users.height) < 0.5)
    )
    amount = rng.integers(25, 150, pick.size) * 100
    return _frame(
        users, pick, rng.integers(0, HISTORY_DAYS, pick.size), amount,
        merchant_name=None, name="ONLINE TRANSFER TO SAVINGS", channel="online",
        pfc_detailed="TRANSFER_OUT_SAVINGS", kind="save",
    ).with_columns(account_id=acct("chk"), merchant_name=pl.lit(None, pl.String))  # fmt: skip
