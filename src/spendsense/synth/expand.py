"""Expand recurring stream specs into dated charges: calendar, weekend shifts, jitter, noise."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from spendsense.synth.streams import HISTORY_DAYS, MONTH_STEP, PERIOD_DAYS

TXN_COLS = (
    "uid", "account_id", "day", "auth_lag", "amount_cents", "name", "merchant_name", "channel",
    "pfc_detailed", "kind", "pending",
)  # fmt: skip


def history_start(as_of: date) -> date:
    """First day of the generated history (``HISTORY_DAYS`` days ending at as-of)."""
    return as_of - timedelta(days=HISTORY_DAYS - 1)


def _lookup(cadence: pl.Series, table: dict[str, int]) -> np.ndarray:
    """Per-stream integer from a cadence table (a whole-column replace, no Python loop)."""
    return cadence.replace_strict(table, return_dtype=pl.Int64).to_numpy()


def _day_numbers(
    semi: np.ndarray,
    period: np.ndarray,
    step: np.ndarray,
    phase: np.ndarray,
    dom: np.ndarray,
    k: np.ndarray,
    h0: np.datetime64,
) -> np.ndarray:
    """Day index (0 = history start) of candidate occurrence ``k`` of each stream."""
    by_period = phase % np.maximum(period, 1) + k * period
    m0 = h0.astype("datetime64[M]")
    mon = m0 + np.where(semi, k // 2, phase % step + k * step)
    first = mon.astype("datetime64[D]")
    mlen = ((mon + 1).astype("datetime64[D]") - first).astype(np.int64)
    day_of_month = np.where(semi, np.where(k % 2 == 0, 15, mlen), np.minimum(dom, mlen))
    by_month = (first - h0).astype(np.int64) + day_of_month - 1
    return np.where(period > 0, by_period, by_month)


def _candidates(n_months: int) -> dict[str, int]:
    return {
        "WEEKLY": HISTORY_DAYS // 7 + 1,
        "BIWEEKLY": HISTORY_DAYS // 14 + 1,
        "SEMI_MONTHLY": 2 * n_months,
        "MONTHLY": n_months,
        "QUARTERLY": n_months // 3 + 1,
        "ANNUALLY": 1,
    }  # fmt: skip


def expand(
    rng: np.random.Generator, specs: pl.DataFrame, as_of: date
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Dated charges of every stream, and the per-stream ground truth of what was generated."""
    h0 = np.datetime64(history_start(as_of), "D")
    n_months = int((np.datetime64(as_of, "M") - h0.astype("datetime64[M]")).astype(np.int64)) + 1
    cadence = specs["cadence"]
    ncand = _lookup(cadence, _candidates(n_months))
    period = _lookup(cadence, {c: PERIOD_DAYS.get(c, 0) for c in _candidates(n_months)})
    step = _lookup(cadence, {c: MONTH_STEP.get(c, 1) for c in _candidates(n_months)})
    semi = (cadence == "SEMI_MONTHLY").to_numpy()
    rep = np.repeat(np.arange(specs.height), ncand)
    k = np.arange(rep.size) - np.repeat(np.cumsum(ncand) - ncand, ncand)
    day = _day_numbers(
        semi[rep], period[rep], step[rep], specs["phase"].to_numpy()[rep],
        specs["dom"].to_numpy()[rep], k, h0,
    )  # fmt: skip
    weekday = (day + h0.astype(np.int64) + 3) % 7  # Monday = 0
    shift = specs["shift"].to_numpy().astype(str)[rep]
    day = day + np.where(shift == "bill", np.select([weekday == 5, weekday == 6], [2, 1], 0), 0)
    day = day - np.where(shift == "pay", np.select([weekday == 5, weekday == 6], [1, 2], 0), 0)
    jit_max = specs["jitter"].to_numpy()[rep]
    jit = np.clip(rng.integers(-1, 3, rep.size), -jit_max, jit_max)
    day = day + np.where(rng.random(rep.size) < 0.6, 0, jit)
    keep = (day >= 0) & (day < HISTORY_DAYS)
    rep, day = rep[keep], day[keep]
    # ordinal of each kept charge within its stream, and stream sizes
    starts = np.flatnonzero(np.r_[True, rep[1:] != rep[:-1]])
    sizes = np.diff(np.r_[starts, rep.size])
    ordinal = np.arange(rep.size) - np.repeat(starts, sizes)
    count = np.zeros(specs.height, dtype=np.int64)
    count[rep[starts]] = sizes
    kind = specs["kind"].to_numpy().astype(str)
    amount = specs["amount_cents"].to_numpy().astype(np.int64)
    s = specs.height
    changes = (kind == "sub") & (rng.random(s) < 0.12) & (count >= 3)
    change_at = np.ceil(count * rng.uniform(0.35, 0.75, s)).astype(np.int64)
    new_amount = (amount * rng.uniform(1.08, 1.25, s) // 100) * 100 + 99
    missed = np.isin(kind, ["sub", "bill"]) & (count >= 5) & (rng.random(s) < 0.06)
    drop = missed[rep] & (ordinal == count[rep] // 2)
    changed = changes[rep] & (ordinal >= change_at[rep])
    noise = specs["noise"].to_numpy()[rep] * np.clip(rng.standard_normal(rep.size), -2, 2)
    amt = np.where(changed, new_amount[rep], amount[rep])
    amt = np.round(amt * (1 + noise)).astype(np.int64)
    flows = np.where(specs["direction"].to_numpy().astype(str)[rep] == "inflow", -1, 1)
    rep, day, amt, changed, flows = rep[~drop], day[~drop], amt[~drop], changed[~drop], flows[~drop]
    occ = specs[rep].select(
        "sid", "uid", "account_id", "name", "merchant_name", "channel", "pfc_detailed", "kind"
    )
    occ = occ.with_columns(
        day=pl.Series(day),
        auth_lag=pl.lit(0),
        amount_cents=pl.Series(amt * flows),
        pending=pl.lit(False),
    )
    first_change = (
        pl.DataFrame({"sid": rep[changed], "price_change_day": day[changed]})
        .group_by("sid")
        .agg(pl.col("price_change_day").min())
    )
    extra = specs.with_columns(
        new_amount_cents=pl.Series(new_amount), missed_count=pl.Series(missed.astype(np.int64))
    )
    truth = (
        occ.group_by("sid")
        .agg(first_day=pl.col("day").min(), last_day=pl.col("day").max(), n_charges=pl.len())
        .join(extra, on="sid")
        .join(first_change, on="sid", how="left")
        .with_columns(
            new_amount_cents=pl.when(pl.col("price_change_day").is_not_null()).then(
                "new_amount_cents"
            )
        )
        .sort("sid")
    )
    return occ, truth
