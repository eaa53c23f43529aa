"""A generated population of feature rows that leans on the edges a sentence can trip over.

Every column of every feature table (``signals.schema.FEATURE_TABLES``, so a new column is
covered without touching this file) mixes ordinary values with the ones that broke
sentences before: missing, exactly zero, amounts that round to $0.00, exactly one, counts of
one, negatives, amounts below zero, values on a rounding edge (x.5, 0.995). Vectorised and
seeded: no per-user loop.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from spendsense.signals.schema import FEATURE_TABLES, KEY
from spendsense.text import FREQUENCY_WORDS

AS_OF = date(2026, 10, 31)
WINDOWS = (30, 180)
EDGES = np.array([0.0, 0.001, 0.004, 0.005, 0.995, 1.0, 1.05, 2.5, -0.004, -1.0, -1208.85])
TEXT = {
    "pay_frequency": [*FREQUENCY_WORDS, "unknown"],
    "card_name": ["Visa", "Cash Rewards Visa", "Store Card"],
    "mask": ["4523", "0001", "9114"],
    "merchant_name": ["Netflix", "Verizon", "Gym & Co"],
    "frequency": ["MONTHLY", "WEEKLY", "ANNUALLY"],
    "direction": ["outflow", "outflow", "inflow"],
    "status": ["MATURE", "EARLY_DETECTION", "TOMBSTONED"],
    "category": ["ENTERTAINMENT", "RENT_AND_UTILITIES"],
}
RATIO_HINTS = ("share", "utilization", "rate", "pct", "volatility", "cv")


def _float(rng: np.random.Generator, n: int, name: str) -> np.ndarray:
    ratio = any(h in name for h in RATIO_HINTS)
    usual = rng.uniform(0, 1.2, n) if ratio else rng.gamma(1.5, 900, n)
    if "months" in name:
        usual = rng.gamma(1.2, 2.0, n)
    if "days" in name:
        usual = rng.uniform(1, 90, n)
    if "balance" in name or "inflow" in name:
        usual = rng.normal(800, 2500, n)
    pick = rng.random(n)
    edge = rng.choice(EDGES, n)
    values = np.where(pick < 0.3, edge, usual.round(2))
    return np.where(pick > 0.93, np.nan, values)


def _column(rng: np.random.Generator, n: int, name: str, dtype: pl.DataType) -> pl.Series:
    if dtype == pl.Boolean():
        return pl.Series(name, rng.random(n) < 0.5)
    if dtype.is_integer():
        counts = np.where(rng.random(n) < 0.3, rng.choice([0, 1, 2], n), rng.poisson(4, n))
        return pl.Series(name, counts).cast(dtype)
    if dtype.is_float():
        return pl.Series(name, _float(rng, n, name)).fill_nan(None)
    if dtype == pl.Date():
        return pl.Series(name, [AS_OF] * n)
    options = TEXT.get(name, [name.replace("_", " ").title()])
    return pl.Series(name, rng.choice(np.array(options, dtype=object), n), dtype=pl.String)


def edge_features(n_users: int, seed: int = 15) -> dict[str, pl.DataFrame]:
    """Every feature table for ``n_users`` users x both windows (cards and streams: 1-2 each)."""
    rng = np.random.default_rng(seed)
    users = np.array([f"u_{i:06d}" for i in range(n_users)], dtype=object)
    out: dict[str, pl.DataFrame] = {}
    for table, schema in FEATURE_TABLES.items():
        copies = 2 if table in ("credit_cards", "recurring_streams") else 1
        n = n_users * len(WINDOWS) * copies
        frame = pl.DataFrame(
            {
                "user_id": np.tile(users, len(WINDOWS) * copies),
                "window_days": np.tile(np.repeat(np.array(WINDOWS), n_users), copies),
                "as_of_date": [AS_OF] * n,
            },
            schema={k: v for k, v in KEY.items()},
        )
        frame = frame.with_columns(_column(rng, n, c, t) for c, t in schema.items() if c not in KEY)
        if table == "credit_cards":
            frame = frame.with_columns(account_id=pl.format("{}_{}", "user_id", pl.int_range(n)))
        if table == "recurring_streams":
            frame = frame.with_columns(stream_id=pl.format("{}_{}", "user_id", pl.int_range(n)))
        out[table] = frame.select(list(schema))
    return out


def edge_users(n_users: int) -> pl.DataFrame:
    """Everyone granted; age bands that pass every offer's minimum age."""
    ids = [f"u_{i:06d}" for i in range(n_users)]
    return pl.DataFrame(
        {"user_id": ids, "consent_status": ["granted"] * n_users, "age_band": ["25-34"] * n_users}
    )
