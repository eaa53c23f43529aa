"""Recurring streams: one spec row per stream, expanded to dated charges with calendar noise."""

from __future__ import annotations

import numpy as np
import polars as pl

from spendsense.synth import catalog as cat

HISTORY_DAYS = 200
PERIOD_DAYS = {"WEEKLY": 7, "BIWEEKLY": 14}
MONTH_STEP = {"MONTHLY": 1, "QUARTERLY": 3, "ANNUALLY": 12, "SEMI_MONTHLY": 1}


def acct(kind: str) -> pl.Expr:
    """The account id of kind ``kind`` for each row's ``uid`` (ids are built the same way)."""
    return pl.format("acc_{}_" + kind, pl.col("uid").cast(pl.String).str.zfill(7))


def _catalog_rows(
    rng: np.random.Generator, items: tuple[cat.Sub, ...], idx: np.ndarray
) -> dict[str, np.ndarray]:
    """Merchant fields and a price drawn from each chosen catalog item."""
    prices = [it[4] or (0,) for it in items]
    width = max(len(p) for p in prices)
    grid = np.array([list(p) + [p[-1]] * (width - len(p)) for p in prices])
    count = np.array([len(p) for p in prices])
    col = (rng.random(idx.size) * count[idx]).astype(np.int64)
    field = [np.asarray([it[j] for it in items], dtype=object)[idx] for j in range(4)]
    return {
        "merchant_name": field[0],
        "name": field[1],
        "pfc_detailed": field[2],
        "channel": field[3],
        "amount_cents": grid[idx, col],
    }


def _spec(
    rng: np.random.Generator,
    users: pl.DataFrame,
    items: tuple[cat.Sub, ...],
    idx: np.ndarray,
    account: pl.Expr,
    cadence: str | np.ndarray,
    **extra: object,
) -> pl.DataFrame:
    """A spec frame for ``users`` (one row each) choosing ``items[idx]``."""
    n = users.height
    base = _catalog_rows(rng, items, idx)
    frame = users.select("uid").with_columns(
        account_id=account,
        **{k: pl.Series(k, v) for k, v in base.items()},
        cadence=pl.Series(np.broadcast_to(np.asarray(cadence, dtype=object), n)),
        dom=pl.Series(rng.integers(1, 29, n)),
        phase=pl.Series(rng.integers(0, 14, n)),
        shift=pl.lit("none"),
        jitter=pl.lit(0),
        noise=pl.lit(0.0),
        is_subscription=pl.lit(False),
        business=pl.lit(False),
        direction=pl.lit("outflow"),
        kind=pl.lit("bill"),
    )
    return frame.with_columns(
        **{k: pl.lit(v) if not isinstance(v, pl.Expr) else v for k, v in extra.items()}
    )


def _choose_distinct(
    rng: np.random.Generator, n: int, pool: int, k: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Row and item indices: ``k[i]`` distinct items out of ``pool`` for each row i."""
    order = np.argsort(rng.random((n, pool)), axis=1)
    take = np.arange(pool)[None, :] < k[:, None]
    rows = np.nonzero(take)[0]
    return rows, order[take]


def build_specs(rng: np.random.Generator, users: pl.DataFrame) -> pl.DataFrame:
    """Every recurring stream of the block: bills, loans, subscriptions, savings, payroll."""
    n = users.height
    chk = acct("chk")
    parts: list[pl.DataFrame] = []
    scale = users["income_cents"].to_numpy()
    # housing: rent or mortgage, monthly on the 1st-5th
    housing = users.with_columns(
        amount=pl.Series((scale * rng.uniform(0.22, 0.32, n) / 500).round() * 500).cast(pl.Int64)
    )
    for items, cond in (
        ((cat.RENT,), ~pl.col("homeowner")),
        ((cat.MORTGAGE,), pl.col("homeowner")),
    ):
        sub = housing.filter(cond)
        f = _spec(
            rng, sub, items, np.zeros(sub.height, dtype=np.int64), chk, "MONTHLY", shift="bill"
        )
        parts.append(
            f.with_columns(
                amount_cents=sub["amount"], dom=pl.Series(rng.integers(1, 6, sub.height))
            )
        )
    stu = users.filter("student")
    f = _spec(
        rng, stu, (cat.STUDENT,), np.zeros(stu.height, dtype=np.int64), chk, "MONTHLY", shift="bill"
    )
    parts.append(f.with_columns(amount_cents=pl.Series(rng.integers(15, 46, stu.height) * 1000)))
    # utilities and insurance
    parts.append(_spec(rng, users, cat.PHONE, rng.integers(0, 2, n), chk, "MONTHLY"))
    parts.append(
        _spec(
            rng,
            users,
            cat.ELECTRIC,
            rng.integers(0, 2, n),
            chk,
            "MONTHLY",
            shift="bill",
            noise=0.03,
        )
    )
    own = users.filter("homeowner")
    parts.append(
        _spec(
            rng,
            own,
            (cat.WATER,),
            np.zeros(own.height, dtype=np.int64),
            chk,
            "QUARTERLY",
            shift="bill",
        )
    )
    car = users.filter("has_car")
    parts.append(
        _spec(rng, car, (cat.INSURANCE,), np.zeros(car.height, dtype=np.int64), chk, "MONTHLY")
    )
    # subscriptions: heavy users take 5-9 services; others at most one (phone and internet are bills)
    u = rng.random(n)
    sh = users["sh"].to_numpy()
    internet = users.filter(pl.Series(sh | (u < 0.55)))
    parts.append(
        _spec(
            rng,
            internet,
            cat.INTERNET,
            rng.integers(0, 2, internet.height),
            chk,
            "MONTHLY",
        )
    )
    k = np.where(sh, rng.integers(5, 10, n), (u >= 0.55) & (u < 0.8))
    rows, picked = _choose_distinct(rng, n, len(cat.SUBSCRIPTIONS), k)
    subs = users[rows]
    on_card = pl.Series((rng.random(rows.size) < 0.5) & (subs["n_cards"].to_numpy() > 0))
    sub_account = pl.when(on_card).then(acct("cc1")).otherwise(chk)
    # Phone and internet are bills, not subscriptions (docs/decisions.md): a heavy user's own
    # services carry the persona. At their top price, any 5 cost over $50 a month, and billed
    # on days 4-25 every one is charged inside a 30-day window ending on a month's last day.
    heavy = pl.Series(subs["sh"].to_numpy())
    top = pl.Series(np.array([max(it[4]) for it in cat.SUBSCRIPTIONS])[picked])
    parts.append(
        _spec(
            rng,
            subs,
            cat.SUBSCRIPTIONS,
            picked,
            sub_account,
            "MONTHLY",
            is_subscription=True,
            jitter=2,
            kind="sub",
        ).with_columns(
            amount_cents=pl.when(heavy).then(top).otherwise("amount_cents"),
            dom=pl.when(heavy).then(4 + (pl.col("dom") - 1) % 22).otherwise("dom"),
        )
    )
    prime = users.filter(pl.Series(sh & (rng.random(n) < 0.3)))
    parts.append(
        _spec(
            rng,
            prime,
            (cat.PRIME,),
            np.zeros(prime.height, dtype=np.int64),
            acct("chk"),
            "ANNUALLY",
            is_subscription=True,
            kind="sub",
        ).with_columns(phase=pl.Series(rng.integers(0, 12, prime.height)))
    )
    # business accounts: 2-3 SaaS charges on the business card
    biz = users.filter("business")
    rows, picked = _choose_distinct(
        rng, biz.height, len(cat.BUSINESS_SUBS), rng.integers(2, 4, biz.height)
    )
    parts.append(
        _spec(
            rng,
            biz[rows],
            cat.BUSINESS_SUBS,
            picked,
            acct("bcc"),
            "MONTHLY",
            is_subscription=True,
            business=True,
            jitter=1,
            kind="sub",
        )
    )
    # savings builders move 8-20% of pay (at least $320/month) to savings
    sb = users.filter("sb")
    monthly = np.maximum(32000, sb["income_cents"].to_numpy() * rng.uniform(0.08, 0.2, sb.height))
    biweekly = rng.random(sb.height) < 0.4
    save_item: cat.Sub = (
        "Savings transfer",
        "ONLINE TRANSFER TO SAVINGS",
        "TRANSFER_OUT_SAVINGS",
        "online",
        (),
    )
    parts.append(
        _spec(
            rng,
            sb,
            (save_item,),
            np.zeros(sb.height, dtype=np.int64),
            chk,
            np.where(biweekly, "BIWEEKLY", "MONTHLY"),
            kind="save",
        ).with_columns(
            dom=pl.Series(
                rng.integers(2, 29, sb.height)
            ),  # never the 1st: every 30-day window sees one
            amount_cents=pl.Series(
                (np.where(biweekly, monthly * 12 / 26, monthly) / 1000).round() * 1000
            ).cast(pl.Int64),
        )
    )
    # payroll for regular earners; the amount is sized later from the user's outflows
    pay = users.filter(~pl.col("vi"))
    pay_item: cat.Sub = ("", "", "INCOME_SALARY", "other", ())
    parts.append(
        _spec(
            rng,
            pay,
            (pay_item,),
            np.zeros(pay.height, dtype=np.int64),
            chk,
            pay["pay_cadence"].to_numpy(),
            shift="pay",
            direction="inflow",
            kind="payroll",
        ).with_columns(
            merchant_name=pay["employer"], name=pay["employer"].str.to_uppercase() + " PAYROLL"
        )
    )
    specs = pl.concat([p.select(parts[0].columns) for p in parts], how="vertical_relaxed")
    return specs.with_columns(sid=pl.int_range(pl.len(), dtype=pl.Int64))
