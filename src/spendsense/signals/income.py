"""Income features: deposits, pay gaps and frequency, gig income, cash-flow buffer."""

from __future__ import annotations

from datetime import date

import polars as pl

from spendsense.signals.config import SignalsConfig
from spendsense.signals.windows import GIG_INCOME, dollars, in_window, income_expr, per_month

PAY_CADENCES: tuple[str, ...] = ("WEEKLY", "BIWEEKLY", "MONTHLY")


def deposits(txns: pl.LazyFrame, as_of: date, lookback: int) -> pl.LazyFrame:
    """Income deposits in the lookback, merged per user and day, sorted, with the gap before each."""
    same = (pl.col("user_id") == pl.col("user_id").shift(1)).fill_null(False)
    return (
        txns.filter(income_expr() & in_window(as_of, lookback))
        .group_by("user_id", "date")
        .agg(
            cents=-pl.col("amount_cents").sum(),
            gig=(pl.col("pfc_detailed") == GIG_INCOME).any(),
        )
        .sort(pl.col("user_id").to_physical(), "date")  # codes: the ids' text order is not needed
        .with_columns(
            gap=pl.when(same).then((pl.col("date") - pl.col("date").shift(1)).dt.total_days())
        )
    )


def income_features(
    txns: pl.LazyFrame,
    streams: pl.LazyFrame,
    charges: pl.LazyFrame,
    as_of: date,
    window: int,
    lookback: int,
    config: SignalsConfig,
) -> pl.LazyFrame:
    """Per user with deposits: totals in the window, pay-gap statistics over the lookback."""
    dep = deposits(txns, as_of, lookback)
    in_win = in_window(as_of, window)
    pay_streams = streams.filter((pl.col("direction") == "inflow") & pl.col("is_mature"))
    payroll = (
        charges.filter(in_win)
        .join(pay_streams.select("sid", "user_id"), on="sid")
        .group_by("user_id")
        .agg(payroll_deposit_count=pl.col("date").n_unique())
    )
    semi = (
        pay_streams.filter(pl.col("frequency") == "SEMI_MONTHLY")
        .select("user_id", semi=pl.lit(True))
        .unique()
    )
    gaps = pl.col("gap").drop_nulls()
    per_user = dep.group_by("user_id").agg(
        income_cents=pl.col("cents").filter(in_win).sum(),
        has_gig_income=pl.col("gig").filter(in_win).any(),
        median_pay_gap_days=gaps.median(),
        pay_gap_cv=pl.when(gaps.mean() > 0).then(gaps.std(ddof=0) / gaps.mean()),
    )
    cadence: pl.Expr = pl.lit(None, pl.String)
    bands = config.cadence_bands
    for name in PAY_CADENCES:
        if name in bands:
            lo, hi = bands[name]
            cadence = (
                pl.when(pl.col("median_pay_gap_days").is_between(lo, hi))
                .then(pl.lit(name.lower()))
                .otherwise(cadence)
            )
    frequency = (
        pl.when(
            pl.col("pay_gap_cv").is_null() | (pl.col("pay_gap_cv") > config.pay_gap_cv_irregular)
        )
        .then(pl.lit("irregular"))
        .when((cadence == "biweekly") & pl.col("semi").fill_null(False))
        .then(pl.lit("semi_monthly"))
        .otherwise(cadence.fill_null("irregular"))
    )
    return (
        per_user.join(payroll, on="user_id", how="left")
        .join(semi, on="user_id", how="left")
        .with_columns(
            income_total=dollars(pl.col("income_cents")),
            avg_monthly_income=per_month(pl.col("income_cents"), window),
            payroll_deposit_count=pl.col("payroll_deposit_count").fill_null(0),
            pay_frequency=frequency,
        )
        .drop("income_cents", "semi")
    )
