"""Coverage: consented users with a persona assignment and at least three detected behaviours.

An assignment is ASSIGNED or STABLE (the persona design's "100% coverage: all users have
assignments"); the two are reported separately, and users with no assignment are never
covered. A behaviour is a pattern the signal stage detected in the user's own data, each
defined below and quoted in the report.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from spendsense.eval.result import Metric, metric, share
from spendsense.personas.reasoning import LOW_BALANCE
from spendsense.signals.config import LOW_BALANCE_CENTS

KEYS: Final = ["user_id", "window_days"]
MIN_BEHAVIOURS: Final = 3
COVERAGE_TARGET: Final = 1.0

# (id, feature table, expression, definition quoted in the report). Null features never count.
BEHAVIOURS: Final[tuple[tuple[str, str, pl.Expr, str], ...]] = (
    (
        "recurring_payments",
        "recurring_streams",
        (pl.col("direction") == "outflow") & (pl.col("status") != "EARLY_DETECTION"),
        "at least 1 recurring payment stream (bills, rent, loans or subscriptions), MATURE or TOMBSTONED",
    ),
    (
        "subscription",
        "subscriptions",
        pl.col("recurring_merchant_count").fill_null(0) >= 1,
        "at least 1 recurring subscription with a charge in the window",
    ),
    (
        "savings_activity",
        "savings",
        pl.col("net_inflow").fill_null(0) != 0,
        "money moved into or out of savings-like accounts over the window (net flow not $0)",
    ),
    (
        "card_use",
        "credit",
        pl.col("max_utilization").fill_null(0) > 0,
        "a credit card carrying a balance (utilization above 0%)",
    ),
    (
        "card_cost",
        "credit",
        pl.col("interest_charges_present").fill_null(False)
        | pl.col("minimum_payment_only").fill_null(False)
        | pl.col("is_overdue").fill_null(False),
        "card interest charged, minimum-payment-only, or an overdue card",
    ),
    (
        "income_cadence",
        "income",
        pl.col("median_pay_gap_days").is_not_null(),
        "at least 2 income deposits, so a pay cadence (regular or irregular) was measured",
    ),
    (
        "low_balance_day",
        "cash_flow",
        pl.col("min_daily_balance").is_not_null()
        & (pl.col("min_daily_balance") < LOW_BALANCE_CENTS / 100),
        f"at least one day with checking balance below {LOW_BALANCE}",
    ),
)


def behaviour_flags(features: dict[str, pl.DataFrame], population: pl.DataFrame) -> pl.DataFrame:
    """One row per (user_id, window_days) of ``population`` with a boolean column per behaviour."""
    out = population.select(
        pl.col("user_id").cast(pl.String), pl.col("window_days").cast(pl.Int64)
    ).unique()
    for name, table, expr, _ in BEHAVIOURS:
        frame = features.get(table)
        if frame is None or frame.height == 0:
            out = out.with_columns(pl.lit(False).alias(name))
            continue
        flags = (
            frame.with_columns(pl.col("window_days").cast(pl.Int64))
            .group_by(KEYS)
            .agg(expr.any().alias(name))
        )
        out = out.join(flags, on=KEYS, how="left").with_columns(pl.col(name).fill_null(False))
    names = [b[0] for b in BEHAVIOURS]
    return out.with_columns(
        behaviours=pl.sum_horizontal([pl.col(n).cast(pl.Int32) for n in names])
    ).sort(KEYS)


def coverage_table(
    consented: pl.DataFrame,
    assignments: pl.DataFrame,
    features: dict[str, pl.DataFrame],
    windows: list[int],
) -> pl.DataFrame:
    """Every consented user × window with status (ASSIGNED, STABLE or NONE), behaviours, covered."""
    grid = consented.select("user_id").join(
        pl.DataFrame({"window_days": windows}, schema={"window_days": pl.Int64}), how="cross"
    )
    status = assignments.select("user_id", pl.col("window_days").cast(pl.Int64), "status").unique(
        KEYS, keep="first"
    )
    flags = behaviour_flags(features, grid)
    return (
        grid.join(status, on=KEYS, how="left")
        .join(flags, on=KEYS, how="left")
        .with_columns(pl.col("status").fill_null("NONE"), pl.col("behaviours").fill_null(0))
        .with_columns(
            covered=pl.col("status").is_in(["ASSIGNED", "STABLE"])
            & (pl.col("behaviours") >= MIN_BEHAVIOURS)
        )
        .sort(KEYS)
    )


def coverage_metrics(table: pl.DataFrame, windows: list[int]) -> tuple[list[Metric], pl.DataFrame]:
    """Coverage per window (the target) with ASSIGNED, STABLE and unassigned shares beside it."""
    counts = (
        table.group_by("window_days")
        .agg(
            users=pl.len(),
            covered=pl.col("covered").sum(),
            assigned=(pl.col("status") == "ASSIGNED").sum(),
            assigned_lt3=((pl.col("status") == "ASSIGNED") & ~pl.col("covered")).sum(),
            covered_assigned=((pl.col("status") == "ASSIGNED") & pl.col("covered")).sum(),
            covered_stable=((pl.col("status") == "STABLE") & pl.col("covered")).sum(),
            stable=(pl.col("status") == "STABLE").sum(),
            unassigned=(pl.col("status") == "NONE").sum(),
            mean_behaviours=pl.col("behaviours").mean(),
        )
        .sort("window_days")
    )
    by_window = {r["window_days"]: r for r in counts.to_dicts()}
    out: list[Metric] = []
    for w in windows:
        r = by_window.get(w, {})
        n = int(r.get("users", 0))
        out.append(
            metric(
                "coverage",
                f"covered_{w}d",
                share(int(r.get("covered", 0)), n),
                target=COVERAGE_TARGET,
                op=">=",
                unit="%",
                n=n,
                note=f"ASSIGNED or STABLE, and >= {MIN_BEHAVIOURS} behaviours; unassigned users are never covered",
            )
        )
        for key in ("covered_assigned", "covered_stable", "assigned", "stable", "unassigned"):
            out.append(
                metric("coverage", f"{key}_{w}d", share(int(r.get(key, 0)), n), unit="%", n=n)
            )
    return out, counts


def behaviour_rates(table: pl.DataFrame) -> pl.DataFrame:
    """Share of consented users showing each behaviour, per window."""
    names = [b[0] for b in BEHAVIOURS]
    return (
        table.group_by("window_days")
        .agg([pl.col(n).mean().alias(n) for n in names])
        .sort("window_days")
    )
