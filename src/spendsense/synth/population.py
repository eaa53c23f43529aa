"""Draw one block of users: demographics, archetypes, consent, income, and their accounts."""

from __future__ import annotations

import numpy as np
import polars as pl

from spendsense.synth import catalog as cat

ARCH_INDEX = {a: i for i, a in enumerate(cat.ARCHETYPES)}
FLAG_COLS = ("hu", "cfs", "vi", "sh", "sb", "stable")
PAY_CADENCES = ("WEEKLY", "BIWEEKLY", "SEMI_MONTHLY", "MONTHLY")


def _archetype_matrix(rng: np.random.Generator, n: int) -> np.ndarray:
    """Boolean (n, 6) archetype flags: ~75% single archetypes in equal shares, ~25% pairs."""
    n_mix = round(0.25 * n)
    singles = n - n_mix
    counts = np.full(6, singles // 6)
    counts[rng.permutation(6)[: singles % 6]] += 1
    codes = np.repeat(np.arange(6), counts)
    flags = np.zeros((n, 6), dtype=bool)
    flags[np.arange(singles), codes] = True
    mix = rng.integers(0, len(cat.MIXES), n_mix)
    pairs = np.array([[ARCH_INDEX[a], ARCH_INDEX[b]] for a, b in cat.MIXES])[mix]
    rows = singles + np.arange(n_mix)
    flags[rows, pairs[:, 0]] = True
    flags[rows, pairs[:, 1]] = True
    return flags[rng.permutation(n)]


def _pick(rng: np.random.Generator, options: tuple[str, ...], n: int, p: list[float]) -> np.ndarray:
    return np.asarray(options, dtype=object)[rng.choice(len(options), n, p=p)]


def draw_users(rng: np.random.Generator, first: int, n: int) -> pl.DataFrame:
    """Users of one block with archetype flags and the behavioural parameters the streams use."""
    uid = np.arange(first + 1, first + n + 1)
    flags = _archetype_matrix(rng, n)
    hu, cfs, vi, sh, sb, st = (flags[:, i] for i in range(6))
    age = rng.choice(6, n, p=[0.12, 0.24, 0.22, 0.18, 0.14, 0.10])
    tier_p = np.array(
        [
            [0.18, 0.24, 0.28, 0.18, 0.12],
            [0.40, 0.35, 0.20, 0.05, 0.00],
            [0.05, 0.15, 0.30, 0.30, 0.20],
        ]
    )
    group = np.where(cfs, 1, np.where(sb, 2, 0))
    cum = tier_p.cumsum(axis=1)[group]
    tier = (rng.random(n)[:, None] > cum).sum(axis=1).clip(0, 4)
    lo, hi = np.asarray(cat.TIER_INCOME).T
    income = (lo[tier] + rng.random(n) * (hi[tier] - lo[tier])).astype(np.int64)
    names = np.char.add(
        np.char.add(np.asarray(cat.FIRST_NAMES)[rng.integers(0, len(cat.FIRST_NAMES), n)], " "),
        np.asarray(cat.LAST_NAMES)[rng.integers(0, len(cat.LAST_NAMES), n)],
    )
    home_p = np.where(age == 0, 0.0, 0.12 + 0.08 * tier + 0.12 * (age >= 2))
    u = rng.random((n, 8))
    return (
        pl.DataFrame(
            {
                "uid": uid,
                "name": names.tolist(),
                "consent": _pick(rng, ("granted", "revoked", "none"), n, [0.9, 0.05, 0.05]),
                "age_band": np.asarray(cat.AGE_BANDS, dtype=object)[age],
                "gender": _pick(rng, cat.GENDERS, n, [0.49, 0.48, 0.03]),
                "income_tier": np.asarray(cat.INCOME_TIERS, dtype=object)[tier],
                "region": _pick(rng, cat.REGIONS, n, [0.17, 0.21, 0.38, 0.24]),
                "hu": hu,
                "cfs": cfs,
                "vi": vi,
                "sh": sh,
                "sb": sb,
                "stable": st,
                "income_cents": income,
                "pay_cadence": _pick(rng, PAY_CADENCES, n, [0.15, 0.45, 0.25, 0.15]),
                "employer": np.asarray(cat.EMPLOYERS, dtype=object)[
                    rng.integers(0, len(cat.EMPLOYERS), n)
                ],
                "homeowner": u[:, 0] < home_p,
                "student": (age <= 2) & (u[:, 1] < 0.35),
                "has_car": u[:, 2] < 0.8,
                "has_savings": sb | (u[:, 3] < np.where(cfs, 0.3, np.where(vi, 0.4, 0.65))),
                "n_cards": np.where(
                    hu | (u[:, 4] < np.where(cfs, 0.4, 0.7)), 1 + (u[:, 5] < 0.3), 0
                ).astype(np.int8),
                "business": u[:, 6] < 0.08,
                "side_gig": ~vi & (u[:, 7] < 0.15),
                "spend_scale": income / 450000.0 * rng.uniform(0.8, 1.2, n),
            }
        )
        .with_columns(
            user_id=pl.format("u_{}", pl.col("uid").cast(pl.String).str.zfill(7)),
            archetypes=pl.concat_list(
                [
                    pl.when(pl.col(c)).then(pl.lit(a))
                    for c, a in zip(FLAG_COLS, cat.ARCHETYPES, strict=True)
                ]
            ).list.drop_nulls(),
            bank=pl.Series(np.asarray(cat.BANKS, dtype=object)[rng.integers(0, len(cat.BANKS), n)]),
        )
        .with_columns(primary_archetype=pl.col("archetypes").list.first())
    )


def _masks(rng: np.random.Generator, n: int) -> pl.Series:
    return pl.Series(rng.integers(0, 10000, n)).cast(pl.String).str.zfill(4)


def draw_accounts(rng: np.random.Generator, users: pl.DataFrame) -> pl.DataFrame:
    """Accounts for the block: checking for all, savings, cards, loans and business accounts."""
    kinds = [
        ("chk", pl.lit(True), "depository", "checking", "personal"),
        ("sav", pl.col("has_savings"), "depository", "savings", "personal"),
        ("cc1", pl.col("n_cards") >= 1, "credit", "credit card", "personal"),
        ("cc2", pl.col("n_cards") >= 2, "credit", "credit card", "personal"),
        ("mtg", pl.col("homeowner"), "loan", "mortgage", "personal"),
        ("stu", pl.col("student"), "loan", "student", "personal"),
        ("bchk", pl.col("business"), "depository", "checking", "business"),
        ("bcc", pl.col("business"), "credit", "credit card", "business"),
    ]
    label = {
        "chk": "Everyday Checking",
        "sav": "High Yield Savings",
        "cc1": "Cash Rewards Visa",
        "cc2": "Everyday Card",
        "mtg": "Home Mortgage",
        "stu": "Student Loan",
        "bchk": "Business Checking",
        "bcc": "Business Platinum Card",
    }
    parts = [
        users.filter(cond).select(
            "uid",
            "user_id",
            "bank",
            kind=pl.lit(k),
            type=pl.lit(t),
            subtype=pl.lit(s),
            holder_category=pl.lit(h),
        )
        for k, cond, t, s, h in kinds
    ]
    acc = pl.concat(parts).sort("uid", "kind")
    return acc.with_columns(
        account_id=pl.format("acc_{}_{}", pl.col("uid").cast(pl.String).str.zfill(7), "kind"),
        mask=_masks(rng, acc.height),
        name=pl.col("kind").replace_strict(label),
    ).with_columns(official_name=pl.format("{} {}", "bank", "name"))
