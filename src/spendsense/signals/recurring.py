"""Recurring streams (Plaid's recurring semantics), detected whole-table over all users at once.

Charges are merged per (user, direction, merchant key, day), sorted once, and every
per-charge test uses the sorted order or window expressions over the stream id.
"""

from __future__ import annotations

from datetime import date
from typing import cast

import polars as pl

from spendsense.signals.config import SignalsConfig
from spendsense.signals.windows import (
    INTEREST_CHARGE,
    dollars,
    drop_pending_twins,
    in_window,
    income_expr,
    merchant_key,
    ratio,
    window_start,
)

STREAM_KEY = ("user_id", "direction", "merchant_key")
NOMINAL_DAYS: dict[str, int] = {
    "WEEKLY": 7,
    "BIWEEKLY": 14,
    "SEMI_MONTHLY": 15,
    "MONTHLY": 30,
    "QUARTERLY": 91,
    "ANNUALLY": 365,
}
NEXT_OFFSET: dict[str, str] = {
    "WEEKLY": "7d",
    "BIWEEKLY": "14d",
    "SEMI_MONTHLY": "15d",
    "MONTHLY": "1mo",
    "QUARTERLY": "3mo",
    "ANNUALLY": "1y",
}
MONTHLY_FACTOR: dict[str, float] = {
    "WEEKLY": 4.33,
    "BIWEEKLY": 26 / 12,
    "SEMI_MONTHLY": 2.0,
    "MONTHLY": 1.0,
    "QUARTERLY": 1 / 3,
    "ANNUALLY": 1 / 12,
}
# Recurring streams that are bills, not subscriptions: rent and every utility (gas and
# electricity, water, sewage, phone, internet and cable, other), loans, transfers, income,
# fees, insurance and taxes (docs/decisions.md, "Utilities are bills").
NOT_SUBSCRIPTION_PREFIXES: tuple[str, ...] = (
    "RENT_AND_UTILITIES_",
    "LOAN_PAYMENTS_",
    "TRANSFER_IN_",
    "TRANSFER_OUT_",
    "INCOME_",
    "BANK_FEES_",
)
NOT_SUBSCRIPTION_DETAILED: tuple[str, ...] = (
    "GENERAL_SERVICES_INSURANCE",
    "GOVERNMENT_AND_NON_PROFIT_TAX_PAYMENT",
)


def _ensure_columns(txns: pl.LazyFrame) -> pl.LazyFrame:
    """Accept bare ledger transactions: add the merchant key, display name and flags when absent."""
    names = txns.collect_schema().names()
    if "pending_transaction_id" in names and "pending" in names:
        txns = drop_pending_twins(txns)
    extra = []
    if "merchant_key" not in names:
        extra.append(merchant_key().alias("merchant_key"))
    if "display_name" not in names:
        extra.append(pl.coalesce("merchant_name", "name").alias("display_name"))
    if "is_depository" not in names:
        extra.append(pl.lit(True).alias("is_depository"))
    return txns.with_columns(extra) if extra else txns


def charges(
    txns: pl.LazyFrame | pl.DataFrame, as_of: date, lookback_days: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Candidate charges in the lookback: ``(base, ch)``.

    ``base`` holds the candidate transactions (strings included); ``ch`` holds one row per
    stream and day (same-day charges merged) for streams with at least two days, sorted by
    stream id ``sid`` then date, with ``ri`` pointing at the day's last row in ``base`` (in
    ledger order).
    Sorting and grouping run on integer codes, never on the strings.
    """
    lf = _ensure_columns(txns.lazy())
    direction = (
        pl.when(income_expr())
        .then(pl.lit("inflow"))
        .when(
            (pl.col("amount_cents") > 0)
            & (pl.col("pfc_primary").fill_null("") != "INCOME")
            # Interest follows the card balance; it is not a commitment the user signed up for.
            & (pl.col("pfc_detailed").fill_null("") != INTEREST_CHARGE)
        )
        .then(pl.lit("outflow"))
    )
    base = (
        lf.filter(in_window(as_of, lookback_days))
        .with_columns(direction=direction)
        .filter(pl.col("direction").is_not_null() & pl.col("merchant_key").is_not_null())
        .select(
            "user_id",
            "direction",
            "merchant_key",
            "date",
            pl.col("amount_cents").abs(),
            "display_name",
            "pfc_primary",
            "pfc_detailed",
        )
        .collect()
        .with_row_index("ri")
    )
    # One 64-bit stream key (user code, direction, merchant code) and, when the codes leave
    # room, the day in its low bits: a one-column sort (else stream key, then date). The
    # sort is stable, so same-day charges keep their ledger order (the last one names the day).
    user = pl.col("user_id").cast(pl.Categorical).to_physical().cast(pl.UInt64)
    inflow = (pl.col("direction") == "inflow").cast(pl.UInt64)
    merchant = pl.col("merchant_key").cast(pl.Categorical).to_physical().cast(pl.UInt64)
    top_user, top_merchant = base.select(user.max(), merchant.max()).row(0)
    merchant_bits = int(top_merchant or 0).bit_length()
    day_bits = max(lookback_days - 1, 0).bit_length()
    fits = (2 * int(top_user or 0) + 1).bit_length() + merchant_bits + day_bits <= 64
    day = (pl.col("date") - pl.lit(window_start(as_of, lookback_days))).dt.total_days() - 1
    order = [pl.col("key") * (1 << day_bits) + day.cast(pl.UInt64)] if fits else ["key", "date"]
    keyed = base.lazy().select(
        "ri", "date", "amount_cents", key=(user * 2 + inflow) * (1 << merchant_bits) + merchant
    )
    same_key = (pl.col("key") == pl.col("key").shift(1)).fill_null(False)
    same_day = pl.col("same_key") & (pl.col("date") == pl.col("date").shift(1)).fill_null(False)
    # Same-day charges of a stream are consecutive after the sort: sum each run with a running
    # total and keep its last row; a stream needs two days (a neighbour with the same key).
    run_total = pl.col("amount_cents").cum_sum()
    before_run = pl.when(~pl.col("same_day")).then(run_total.shift(1).fill_null(0)).forward_fill()
    last_of_day = ~pl.col("same_day").shift(-1).fill_null(False)
    ch = (
        keyed.sort(order, maintain_order=True)
        .with_columns(same_key=same_key)
        .with_columns(same_day=same_day)
        .with_columns(day_total=run_total - before_run)
        .filter(last_of_day)
        .with_columns(same_key=same_key)
        .filter(pl.col("same_key") | pl.col("same_key").shift(-1).fill_null(False))
        .with_columns(sid=(~pl.col("same_key")).cum_sum())
        .select("sid", "date", pl.col("day_total").alias("amount_cents"), "ri")
    )
    return base, ch.collect()


def restrict(charges: pl.DataFrame, as_of: date, lookback_days: int) -> pl.DataFrame:
    """Charges of a longer lookback cut to a shorter one (streams keep at least two days)."""
    # Rows stay sorted by stream: a stream keeps two days iff a kept row has a neighbour of
    # its stream (no window function over the streams).
    sid = pl.col("sid")
    return charges.filter(in_window(as_of, lookback_days)).filter(
        (sid == sid.shift(1)).fill_null(False) | (sid == sid.shift(-1)).fill_null(False)
    )


def _mapped(col: str, mapping: dict[str, object], dtype: pl.DataType) -> pl.Expr:
    """Look up ``col`` in a small dict (null when absent)."""
    return pl.col(col).replace_strict(mapping, default=None, return_dtype=dtype)


def _gap_tests(lo: int, hi: int, jitter: int) -> tuple[pl.Expr, pl.Expr]:
    """A gap within a cadence's band (widened by the jitter), and one only in twice the band
    (a missed charge)."""
    gap = pl.col("gap")
    in_band = gap.is_between(lo - jitter, hi + jitter)
    return in_band, gap.is_between(2 * lo - jitter, 2 * hi + jitter) & ~in_band


def _explainable(ch: pl.DataFrame, config: SignalsConfig) -> pl.DataFrame:
    """The charges of streams some cadence could explain: every gap in its band or twice it,
    at most ``max_missed_payments`` of them twice it (what the stream filter below requires of
    the cadence it picks). Most streams (a grocer visited every few days) fail for every
    cadence: dropping them first leaves the per-stream sums a third of the rows."""
    allowed = config.max_missed_payments
    misfits = []
    for i, (lo, hi) in enumerate(config.cadence_bands.values()):
        in_band, in_double = _gap_tests(lo, hi, config.gap_jitter_days)
        # A gap outside both weighs more than the missed charges allowed: a sum within the
        # allowance means no such gap and few enough missed charges.
        weight = (
            pl.when(pl.col("gap").is_null() | in_band)
            .then(pl.lit(0, pl.UInt32))
            .when(in_double)
            .then(pl.lit(1, pl.UInt32))
            .otherwise(pl.lit(allowed + 1, pl.UInt32))
        )
        misfits.append(weight.sum().alias(f"misfit_{i}"))
    if ch.height == 0 or not misfits:
        return ch
    explained = (
        ch.lazy()
        .group_by("sid")
        .agg(misfits)
        .filter(pl.any_horizontal(pl.col(f"misfit_{i}") <= allowed for i in range(len(misfits))))
        .collect()
        .get_column("sid")
    )
    return _of_streams(ch, explained).collect()


def _of_streams(ch: pl.DataFrame, sids: pl.Series) -> pl.LazyFrame:
    """The charges of the streams ``sids``: a lookup indexed by stream id, not a semi-join."""
    size = cast(int, ch.get_column("sid").max() or 0) + 1
    keep = pl.zeros(size, pl.Boolean, eager=True).scatter(sids, True)
    return ch.lazy().filter(pl.lit(keep).gather(pl.col("sid")))


def streams_from_charges(
    base: pl.DataFrame, charges: pl.DataFrame, as_of: date, config: SignalsConfig
) -> pl.LazyFrame:
    """Streams from sorted merged charges: cadence, steady amounts, status, Plaid-style fields."""
    bands = dict(config.cadence_bands)
    tol = config.amount_tolerance
    same = (pl.col("sid") == pl.col("sid").shift(1)).fill_null(False)
    prev = pl.col("amount_cents").shift(1)
    # Day of month folded so month ends (and 1sts moved back to a Friday) sit together near 0.
    dim = pl.col("date").dt.month_end().dt.day().cast(pl.Int32)
    dom = pl.col("date").dt.day().cast(pl.Int32)
    u = pl.when(dom >= dim - 3).then(31 - (dim - dom)).otherwise(dom)
    # Row-wise work on the sorted charges first (shifts need the order), then group-bys and
    # integer joins; no per-group sorting and no string columns per charge.
    rows = (
        charges.lazy()
        .with_columns(same=same)
        .with_columns(
            gap=pl.when(pl.col("same")).then(
                (pl.col("date") - pl.col("date").shift(1)).dt.total_days()
            ),
            jump=pl.col("same") & ((pl.col("amount_cents") - prev).abs() > tol * prev),
        )
        .with_columns(seg_id=(~pl.col("same") | pl.col("jump")).cum_sum())
        .collect()  # reused by several group-bys below: compute once
    )
    jitter = config.gap_jitter_days
    semi_bands = {**bands, "SEMI_MONTHLY": bands.get("BIWEEKLY", (12, 17))}
    gap, amount = pl.col("gap"), pl.col("amount_cents")
    ch_df = _explainable(rows, config)
    ch = ch_df.lazy()
    # One pass per stream, only sums: for every cadence, the gaps below and within its band
    # (the lower median of the gaps lies in the band iff fewer than k gaps are below it and at
    # least k are at most its top, k = its rank), the gaps in the band widened by the jitter,
    # and those only in twice the band (a missed charge). No per-group sorting, no join back.
    band_counts = []
    for i, (lo, hi) in enumerate(bands.values()):
        in_band, in_double = _gap_tests(lo, hi, jitter)
        band_counts += [
            (gap < lo).sum().alias(f"below_{i}"),
            (gap <= hi).sum().alias(f"upto_{i}"),
            in_band.sum().alias(f"ok_{i}"),
            in_double.sum().alias(f"miss_{i}"),
        ]
    sums = ch.group_by("sid").agg(
        *band_counts,
        pl.col("ri").last(),  # charges are sorted by date within a stream
        pl.len().alias("transaction_count"),
        pl.col("date").min().alias("first_date"),
        pl.col("date").max().alias("last_date"),
        amount.sum().alias("sum_cents"),
        amount.last().alias("last_cents"),
        lo_amount=amount.min(),
        hi_amount=amount.max(),
        n_jumps=pl.col("jump").sum(),
    )
    rank = (pl.col("transaction_count") - 2) // 2 + 1  # the lower median among n - 1 gaps
    cadence: pl.Expr = pl.lit(None, pl.String)
    for i, name in enumerate(bands):
        hit = (pl.col(f"below_{i}") < rank) & (pl.col(f"upto_{i}") >= rank)
        cadence = pl.when(hit).then(pl.lit(name)).otherwise(cadence)

    def pick(prefix: str) -> pl.Expr:
        out: pl.Expr = pl.lit(None, pl.UInt32)
        for i, name in enumerate(bands):
            out = pl.when(pl.col("freq0") == name).then(pl.col(f"{prefix}_{i}")).otherwise(out)
        return out

    def steady(med: pl.Expr) -> pl.Expr:
        """Every amount within the tolerance of ``med`` (tested on the extremes)."""
        return (pl.col("hi_amount") - med <= tol * med) & (med - pl.col("lo_amount") <= tol * med)

    per_stream = (
        sums.with_columns(freq0=cadence)
        .with_columns(n_ok=pick("ok"), n_missed=pick("miss"))
        .filter(
            pl.col("freq0").is_not_null()
            & (pl.col("n_ok") + pl.col("n_missed") == pl.col("transaction_count") - 1)
            & (pl.col("n_missed") <= config.max_missed_payments)
        )
        # A spread within the tolerance of the smallest amount is steady around any median.
        .with_columns(narrow=pl.col("hi_amount") - pl.col("lo_amount") <= tol * pl.col("lo_amount"))
        .collect()
    )
    medians = (
        _of_streams(ch_df, per_stream.filter(~pl.col("narrow")).get_column("sid"))
        .group_by("sid")
        .agg(med=amount.median())
    )
    # A missed charge and a price step each spend evidence: a short stream may use one.
    both = (pl.col("n_missed") > 0) & (
        pl.col("transaction_count") < config.both_tolerances_min_charges
    )
    per_stream = (
        per_stream.lazy()
        .join(medians, on="sid", how="left")
        .with_columns(steady_all=pl.col("narrow") | steady(pl.col("med")).fill_null(False))
        .filter(pl.col("steady_all") | ((pl.col("n_jumps") == 1) & ~both))
        .collect()
    )
    # One price step: each side of the step must be steady on its own (few streams).
    stepped = (
        _of_streams(ch_df, per_stream.filter(~pl.col("steady_all")).get_column("sid"))
        .group_by("seg_id")
        .agg(
            pl.col("sid").first(),
            med=amount.median(),
            lo_amount=amount.min(),
            hi_amount=amount.max(),
        )
        .group_by("sid")
        .agg(steps_ok=steady(pl.col("med")).all())
    )
    # Two day-of-month clusters (semi-monthly) are checked only for biweekly-band streams.
    spread = config.semi_monthly_day_spread
    mid = (pl.col("dom_u").min().over("sid") + pl.col("dom_u").max().over("sid")) / 2
    clusters = (
        _of_streams(ch_df, per_stream.filter(pl.col("freq0") == "BIWEEKLY").get_column("sid"))
        .with_columns(dom_u=pl.when(u >= 29).then(u - 31).otherwise(u))
        .group_by("sid", (pl.col("dom_u") > mid).alias("half"))
        .agg(n=pl.len(), spread=pl.col("dom_u").max() - pl.col("dom_u").min())
        .group_by("sid")
        .agg(
            semi_days=(pl.len() == 2)
            & (pl.col("n").min() >= 2)
            & (pl.col("spread").max() <= spread)
        )
    )
    agg = (
        per_stream.lazy()
        .join(stepped, on="sid", how="left")
        .join(clusters, on="sid", how="left")
        .filter(pl.col("steady_all") | pl.col("steps_ok").fill_null(False))
        .collect()
    )
    # The stream's last charge names it: its base row by position, not a join on the row index.
    named = pl.concat(
        [agg, base.drop("ri").select(pl.all().gather(agg.get_column("ri")))], how="horizontal"
    )
    semi = (pl.col("freq0") == "BIWEEKLY") & pl.col("semi_days").fill_null(False)
    required = (
        pl.when(pl.col("frequency") == "ANNUALLY")
        .then(pl.lit(config.annual_min_occurrences))
        .otherwise(pl.lit(config.min_occurrences))
    )
    tolerance = {
        name: hi - NOMINAL_DAYS[name] + config.gap_jitter_days
        for name, (_, hi) in {**semi_bands}.items()
        if name in NOMINAL_DAYS
    }
    next_offset = _mapped("frequency", dict(NEXT_OFFSET), pl.String())
    predicted = pl.col("last_date").dt.offset_by(next_offset)
    late = pl.lit(as_of) - pl.col("predicted_next_date")
    out = (
        named.lazy()
        .with_columns(
            pl.col("merchant_key", "display_name", "pfc_primary", "pfc_detailed").cast(pl.String)
        )
        .with_columns(frequency=pl.when(semi).then(pl.lit("SEMI_MONTHLY")).otherwise("freq0"))
        .with_columns(
            predicted_next_date=predicted,
            is_mature=pl.col("transaction_count") >= required,
        )
        .with_columns(
            status=pl.when(late.dt.total_days() > _mapped("frequency", dict(tolerance), pl.Int64()))
            .then(pl.lit("TOMBSTONED"))
            .when(pl.col("is_mature"))
            .then(pl.lit("MATURE"))
            .otherwise(pl.lit("EARLY_DETECTION")),
            average_amount=ratio(pl.col("sum_cents"), pl.col("transaction_count") * 100),
            last_amount=dollars(pl.col("last_cents")),
            is_subscription=(pl.col("direction") == "outflow")
            & ~pl.any_horizontal(
                [
                    pl.col("pfc_detailed").fill_null("").str.starts_with(p)
                    for p in NOT_SUBSCRIPTION_PREFIXES
                ]
            )
            & ~pl.col("pfc_detailed").fill_null("").is_in(NOT_SUBSCRIPTION_DETAILED),
        )
        .with_columns(
            monthly_amount=dollars(
                (
                    pl.col("average_amount")
                    * 100
                    * _mapped("frequency", dict(MONTHLY_FACTOR), pl.Float64())
                ).round()
            ),
            stream_id=pl.concat_str(
                "user_id", pl.col("direction").str.slice(0, 1), "merchant_key", separator="|"
            ),
        )
    )
    # A stream that never matured and then stopped was never established: drop it.
    out = out.filter(pl.col("is_mature") | (pl.col("status") != "TOMBSTONED"))
    return out.select(
        "sid",
        "user_id",
        "stream_id",
        "direction",
        pl.col("display_name").alias("merchant_name"),
        "merchant_key",
        pl.col("pfc_primary").alias("category"),
        "pfc_detailed",
        "frequency",
        "average_amount",
        "last_amount",
        "first_date",
        "last_date",
        "predicted_next_date",
        "status",
        pl.col("transaction_count").cast(pl.Int32),
        "monthly_amount",
        "is_subscription",
        "is_mature",
    )


def detect_recurring(
    transactions: pl.DataFrame | pl.LazyFrame,
    as_of: date,
    lookback_days: int,
    config: SignalsConfig | None = None,
) -> pl.DataFrame:
    """Recurring inflow and outflow streams for every user in ``transactions``, sorted by stream."""
    cfg = config or SignalsConfig()
    base, ch = charges(transactions, as_of, lookback_days)
    return (
        streams_from_charges(base, ch, as_of, cfg)
        .drop("sid")
        .sort("user_id", "stream_id")
        .collect()
    )
