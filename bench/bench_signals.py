"""Benchmark: compute_features on a vectorised synthetic ledger (N users x ~150 transactions)."""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from spendsense.signals import SignalsConfig, compute_features

AS_OF = date(2025, 6, 30)
DAYS = 180
SUBS = ["Netflix", "Spotify", "Hulu", "Planet Fitness", "Adobe", "NYTimes", "iCloud", "Xbox"]
SHOPS = [f"Shop {i}" for i in range(300)]


def _rows(user: np.ndarray, day: np.ndarray, cents: np.ndarray, merchant: np.ndarray, kind: int):
    """A block of transaction columns (kind picks the category and account)."""
    return {"u": user, "d": day, "c": cents, "m": merchant, "k": np.full(user.size, kind)}


def build_ledger(n_users: int, seed: int = 7, as_of: date = AS_OF) -> dict[str, pl.DataFrame]:
    """A ledger with paychecks, subscriptions, rent, groceries, shopping and card payments."""
    rng = np.random.default_rng(seed)
    uid = np.arange(n_users)
    blocks = []
    # Paychecks every 14 days (kind 0), monthly rent (kind 1), weekly groceries (kind 2).
    k = np.arange(13)
    u = np.repeat(uid, k.size)
    blocks.append(
        _rows(
            u,
            np.tile(k * 14, n_users) + rng.integers(0, 14, n_users).repeat(k.size),
            np.full(u.size, -250_000),
            np.zeros(u.size, int),
            0,
        )
    )
    k = np.arange(6)
    u = np.repeat(uid, k.size)
    blocks.append(
        _rows(
            u,
            np.tile(k * 30, n_users) + 2,
            rng.integers(90_000, 200_000, n_users).repeat(k.size),
            np.zeros(u.size, int),
            1,
        )
    )
    k = np.arange(25)
    u = np.repeat(uid, k.size)
    blocks.append(
        _rows(
            u,
            np.tile(k * 7, n_users) + rng.integers(0, 7, n_users).repeat(k.size),
            rng.integers(3_000, 15_000, u.size),
            np.zeros(u.size, int),
            2,
        )
    )
    # Subscriptions (kind 3): each user holds 0-5 of SUBS, monthly with jitter.
    n_sub = rng.integers(0, 6, n_users)
    su = np.repeat(uid, n_sub)
    sm = rng.integers(0, len(SUBS), su.size)
    price = rng.integers(599, 2_999, su.size)
    off = rng.integers(0, 30, su.size)
    k = np.arange(6)
    u = np.repeat(su, k.size)
    blocks.append(
        _rows(
            u,
            np.tile(k * 30, su.size) + off.repeat(k.size) + rng.integers(-1, 2, u.size),
            price.repeat(k.size),
            sm.repeat(k.size),
            3,
        )
    )
    # Shopping (kind 4): ~75 random purchases; card payments (kind 5): monthly.
    n_shop = rng.integers(60, 90, n_users)
    u = np.repeat(uid, n_shop)
    blocks.append(
        _rows(
            u,
            rng.integers(0, DAYS, u.size),
            rng.integers(500, 20_000, u.size),
            rng.integers(0, len(SHOPS), u.size),
            4,
        )
    )
    k = np.arange(6)
    u = np.repeat(uid, k.size)
    blocks.append(
        _rows(
            u,
            np.tile(k * 30, n_users) + 20,
            rng.integers(10_000, 60_000, u.size),
            np.zeros(u.size, int),
            5,
        )
    )
    cols = {key: np.concatenate([b[key] for b in blocks]) for key in ("u", "d", "c", "m", "k")}
    cat = pl.DataFrame(
        {
            "k": [0, 1, 2, 3, 4, 5],
            "pfc_primary": [
                "INCOME",
                "RENT_AND_UTILITIES",
                "FOOD_AND_DRINK",
                "ENTERTAINMENT",
                "GENERAL_MERCHANDISE",
                "LOAN_PAYMENTS",
            ],
            "pfc_detailed": [
                "INCOME_SALARY",
                "RENT_AND_UTILITIES_RENT",
                "FOOD_AND_DRINK_GROCERIES",
                "ENTERTAINMENT_TV_AND_MOVIES",
                "GENERAL_MERCHANDISE_OTHER_GENERAL_MERCHANDISE",
                "LOAN_PAYMENTS_CREDIT_CARD_PAYMENT",
            ],
            "fixed_name": [
                "ACME PAYROLL",
                "Oak Apartments",
                "FreshMart",
                None,
                None,
                "CARD PAYMENT",
            ],
            "acct": ["chk", "chk", "card", "card", "card", "chk"],
        }
    )
    subs = pl.Series(SUBS)
    shops = pl.Series(SHOPS)
    start = as_of - timedelta(days=DAYS - 1)
    tx = (
        pl.DataFrame(
            {
                "u": cols["u"],
                "d": np.clip(cols["d"], 0, DAYS - 1),
                "amount_cents": cols["c"],
                "m": cols["m"],
                "k": cols["k"],
            }
        )
        .join(cat, on="k", how="left")
        .with_columns(
            user_id=pl.format("u{}", pl.col("u")),
            date=pl.lit(start) + pl.duration(days=pl.col("d")),
            merchant_name=pl.when(pl.col("k") == 3)
            .then(pl.lit(subs).gather(pl.col("m") % len(SUBS)))
            .when(pl.col("k") == 4)
            .then(pl.lit(shops).gather(pl.col("m")))
            .otherwise(pl.col("fixed_name")),
        )
        .with_columns(
            account_id=pl.format("{}-{}", pl.col("user_id"), pl.col("acct")),
            name=pl.col("merchant_name").str.to_uppercase(),
            transaction_id=pl.format("t{}", pl.int_range(pl.len())),
            pending=pl.lit(False),
            pending_transaction_id=pl.lit(None, pl.String),
        )
        .drop("u", "d", "m", "k", "fixed_name", "acct")
    )
    users = pl.DataFrame({"user_id": [f"u{i}" for i in uid], "consent_status": "granted"})
    acc_kind = pl.DataFrame(
        {
            "acct": ["chk", "sav", "card"],
            "type": ["depository", "depository", "credit"],
            "subtype": ["checking", "savings", "credit card"],
        }
    )
    accounts = (
        users.select("user_id")
        .join(acc_kind, how="cross")
        .with_columns(
            account_id=pl.format("{}-{}", pl.col("user_id"), pl.col("acct")),
            name=pl.col("acct"),
            holder_category=pl.lit("personal"),
            current_cents=pl.lit(rng.integers(0, 800_000, 3 * n_users)),
            limit_cents=pl.when(pl.col("acct") == "card").then(pl.lit(1_000_000)),
            mask=pl.lit("0000"),
        )
        .drop("acct")
    )
    liab = accounts.filter(pl.col("type") == "credit").select(
        "account_id",
        "user_id",
        minimum_payment_amount_cents=pl.lit(2_500, pl.Int64),
        last_payment_amount_cents=pl.lit(rng.integers(2_500, 50_000, n_users)),
        is_overdue=pl.lit(False),
    )
    return {"users": users, "accounts": accounts, "transactions": tx, "liabilities_credit": liab}


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_features(ledger: dict[str, pl.DataFrame], as_of: date = AS_OF) -> float:
    """Wall seconds for compute_features over both windows."""
    return time_features_cpu(ledger, as_of)[0]


def time_features_cpu(ledger: dict[str, pl.DataFrame], as_of: date = AS_OF) -> tuple[float, float]:
    """(wall, CPU) seconds for compute_features; CPU bounds the wall time on an idle machine."""
    t0, c0 = time.perf_counter(), time.process_time()
    compute_features(ledger, as_of, SignalsConfig(), chunk_users=20_000)  # as before: 20k chunks
    return time.perf_counter() - t0, time.process_time() - c0


def cached_ledger(n_users: int, cache: Path) -> Path:
    """Build the ledger once in a child process and keep it as Parquet (so RSS here is honest)."""
    folder = cache / f"ledger-{n_users}"
    if not (folder / "transactions.parquet").exists():
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, __file__, "--users", str(n_users), "--build-only", str(folder)],
            check=True,
        )
    return folder


def load_ledger(folder: Path) -> dict[str, pl.DataFrame]:
    """The cached ledger tables."""
    return {p.stem: pl.read_parquet(p) for p in sorted(folder.glob("*.parquet"))}


def main() -> None:
    """Time compute_features (both windows) for one size and record it in bench/results/signals.json."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=Path("bench/results/signals.json"))
    parser.add_argument("--cache", type=Path, default=Path("/tmp/spendsense-bench"))
    parser.add_argument("--build-only", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    if args.build_only is not None:
        for name, frame in build_ledger(args.users).items():
            frame.write_parquet(args.build_only / f"{name}.parquet")
        return
    ledger = load_ledger(cached_ledger(args.users, args.cache))
    rows = ledger["transactions"].height
    base_rss = peak_rss_mb()
    secs, cpu = min(time_features_cpu(ledger) for _ in range(args.repeat))
    result = {
        "users": args.users,
        "transactions": rows,
        "windows": [30, 180],
        "seconds": round(secs, 2),
        "cpu_seconds": round(cpu, 2),
        "rows_per_second": round(rows / secs),
        "peak_rss_mb": round(peak_rss_mb()),
        "rss_with_ledger_loaded_mb": round(base_rss),
        "load_average_1m": round(os.getloadavg()[0], 1),
    }
    print(json.dumps(result))
    data = json.loads(args.out.read_text()) if args.out.exists() else {}
    data.setdefault("compute_features", {})[str(args.users)] = result
    args.out.write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    main()
