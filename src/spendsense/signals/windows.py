"""Scope and windows: consented users, personal accounts, deduplicated transactions, date bounds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import cast

import polars as pl

from spendsense.ledger.money import cents_to_dollars
from spendsense.ledger.schema import TABLES
from spendsense.signals.config import SignalsConfig

NON_SPENDING_PRIMARIES: tuple[str, ...] = (
    "TRANSFER_IN",
    "TRANSFER_OUT",
    "LOAN_PAYMENTS",
    "LOAN_DISBURSEMENTS",
    "INCOME",
)
CARD_PAYMENT = "LOAN_PAYMENTS_CREDIT_CARD_PAYMENT"
INTEREST_CHARGE = "BANK_FEES_INTEREST_CHARGE"
GIG_INCOME = "INCOME_GIG_ECONOMY"

# Transaction columns the signal stage keeps after scoping (plus account kind flags).
TXN_COLUMNS: tuple[str, ...] = (
    "transaction_id",
    "user_id",
    "account_id",
    "date",
    "amount_cents",
    "merchant_name",
    "name",
    "pfc_primary",
    "pfc_detailed",
)

# Transaction text columns the scope keeps as Categorical (integer codes for every later
# group-by and join); a chunk reader may hand them over as Categorical already.
TXN_CATEGORICAL: tuple[str, ...] = (
    "account_id",
    "user_id",
    "merchant_name",
    "name",
    "pfc_primary",
    "pfc_detailed",
)


@dataclass(frozen=True)
class Scope:
    """The slice of the ledger the signal stage may see, collected once per run."""

    users: pl.DataFrame  # user_id of every consented user
    accounts: pl.DataFrame  # personal accounts of those users, with kind flags
    transactions: pl.DataFrame  # their transactions, pending twins dropped, with kind flags
    liabilities: pl.DataFrame  # credit liabilities of personal cards


def window_start(as_of: date, days: int) -> date:
    """Last day *outside* a window of ``days`` ending at ``as_of``: the window is (start, as_of]."""
    return as_of - timedelta(days=days)


def dollars(cents: pl.Expr) -> pl.Expr:
    """Integer cents as Float64 dollars, exactly (see ``ledger.money.cents_to_dollars``)."""
    return cents_to_dollars(cents)


def ratio(numerator: pl.Expr, denominator: pl.Expr | int) -> pl.Expr:
    """Integer / integer as Float64 via Decimal (12 places), identical for one row or many."""
    return (numerator.cast(pl.Decimal(38, 12)) / denominator).cast(pl.Float64)


def per_month(cents: pl.Expr, window: int) -> pl.Expr:
    """Cents over a window -> dollars per 30 days."""
    return ratio(cents * 30, 100 * window)


def in_window(as_of: date, days: int, column: str = "date") -> pl.Expr:
    """True for dates inside ``(as_of - days, as_of]``."""
    return (pl.col(column) > window_start(as_of, days)) & (pl.col(column) <= as_of)


def lookback_days(window: int, config: SignalsConfig) -> int:
    """History used for streams and pay gaps: ``max(window, subscription_lookback_days)``."""
    return max(window, config.subscription_lookback_days)


def merchant_name_key(value: pl.Expr) -> pl.Expr:
    """A merchant_name as a grouping key: lower-cased, trimmed."""
    return value.str.to_lowercase().str.strip_chars()


def name_key(value: pl.Expr) -> pl.Expr:
    """A transaction name as a grouping key: lower-cased, digits and symbols dropped."""
    return (
        value.str.to_lowercase()
        .str.replace_all(r"[^a-z&' ]+", " ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )


def merchant_key() -> pl.Expr:
    """Stream grouping key: lower-cased merchant_name, else the name stripped of digits and symbols."""
    return (
        pl.when(pl.col("merchant_name").is_not_null() & (pl.col("merchant_name") != ""))
        .then(merchant_name_key(pl.col("merchant_name")))
        .otherwise(name_key(pl.col("name")))
    )


def pending_twin_rows(txns: pl.LazyFrame) -> pl.Series | None:
    """Row numbers of the pending rows whose id a posted row of the same user names as its
    twin (None when no posted row names one): the posted one counts once. Only a pending row,
    and only its own user's: another user's posted row naming the id changes nothing (ids are
    matched per user, as the ledger does)."""
    pending = pl.col("pending").fill_null(False)
    twins = (
        txns.filter(~pending & pl.col("pending_transaction_id").is_not_null())
        .select("user_id", pl.col("pending_transaction_id").cast(pl.String).alias(_TWIN_ID))
        .unique()
        .collect()
    )
    if twins.height == 0:  # the common case: skip hashing every transaction id
        return None
    # Only pending rows can go: match those few against the twins, not every transaction id
    # (a string join over all of them cost more than the rest of the scope).
    return (
        txns.with_row_index(_ROW)
        .filter(pending)
        .select(_ROW, "user_id", pl.col("transaction_id").cast(pl.String).alias(_TWIN_ID))
        .join(twins.lazy(), on=["user_id", _TWIN_ID], how="semi")
        .collect()
        .get_column(_ROW)
    )


def not_twin(rows: pl.Series | None) -> pl.Expr:
    """On a frame numbered by ``with_row_index(_ROW)``: the row is not in ``rows``."""
    return pl.lit(True) if rows is None else ~pl.col(_ROW).is_in(rows.implode())


def drop_pending_twins(txns: pl.LazyFrame) -> pl.LazyFrame:
    """``txns`` without the pending rows of :func:`pending_twin_rows`."""
    rows = pending_twin_rows(txns)
    if rows is None:
        return txns
    return txns.with_row_index(_ROW).filter(not_twin(rows)).drop(_ROW)


_TWIN_ID, _ROW = "_twin_id", "_row"


def _frame(ledger: Mapping[str, pl.DataFrame | pl.LazyFrame], table: str) -> pl.LazyFrame:
    """The ledger table as a lazy frame in the canonical schema (missing columns null); a
    text column that arrives as Categorical stays one."""
    frame = ledger.get(table)
    if frame is None:
        return pl.LazyFrame(schema=TABLES[table])
    lf = frame.lazy()
    have = lf.collect_schema()

    def column(name: str, dtype: pl.DataType) -> pl.Expr:
        if name not in have:
            return pl.lit(None, dtype).alias(name)
        if dtype == pl.String and isinstance(have[name], pl.Categorical):
            return pl.col(name)
        return pl.col(name).cast(dtype)

    return lf.select(column(name, dtype) for name, dtype in TABLES[table].items())


def account_flags(accounts: pl.LazyFrame, config: SignalsConfig) -> pl.LazyFrame:
    """Personal accounts with boolean kind flags (checking, savings-like, card, depository)."""
    subtype = pl.col("subtype").str.to_lowercase()
    kind = pl.col("type").str.to_lowercase()
    return accounts.filter(
        pl.col("holder_category").is_null()
        | (pl.col("holder_category").str.to_lowercase() != "business")
    ).with_columns(
        is_depository=(kind == "depository").fill_null(False),
        is_checking=((kind == "depository") & (subtype == "checking")).fill_null(False),
        is_savings=((kind == "depository") & subtype.is_in(config.savings_subtypes)).fill_null(
            False
        ),
        is_card=((kind == "credit") & (subtype == "credit card")).fill_null(False),
        is_credit=(kind == "credit").fill_null(False),
    )


def _normalised_per_value(column: pl.Series, key: pl.Expr) -> pl.Series:
    """``key`` of each row's categorical value, computed once per distinct value (null stays)."""
    distinct = column.drop_nulls().unique()
    codes = column.to_physical()
    size = cast(int, codes.max() or 0) + 1
    slot = pl.zeros(size, pl.UInt32, eager=True).scatter(
        distinct.to_physical(), pl.int_range(distinct.len(), dtype=pl.UInt32, eager=True)
    )
    small = pl.DataFrame({"value": distinct.cast(pl.String)}).select(key.cast(pl.Categorical))
    return small.to_series().gather(slot.gather(codes))


def with_merchant_keys(txns: pl.DataFrame) -> pl.DataFrame:
    """Add merchant_key and display_name, normalising each distinct string once (not per row)."""
    if txns.height == 0:
        return txns.with_columns(
            merchant_key=pl.lit(None, pl.Categorical), display_name=pl.lit(None, pl.Categorical)
        ).drop("merchant_name", "name")
    merchant, name = txns.get_column("merchant_name"), txns.get_column("name")
    by_merchant = _normalised_per_value(merchant, merchant_name_key(pl.col("value")))
    by_name = _normalised_per_value(name, name_key(pl.col("value")))
    return (
        txns.with_columns(by_merchant=by_merchant, by_name=by_name)
        .with_columns(
            merchant_key=pl.when(
                pl.col("by_merchant").is_not_null() & (pl.col("by_merchant") != "")
            )
            .then(pl.col("by_merchant"))
            .otherwise(pl.col("by_name")),
            display_name=pl.when(pl.col("merchant_name").is_not_null())
            .then(pl.col("merchant_name"))
            .otherwise(pl.col("name")),
        )
        .drop("merchant_name", "name", "by_merchant", "by_name")
    )


def build_scope(
    ledger: Mapping[str, pl.DataFrame | pl.LazyFrame], as_of: date, config: SignalsConfig
) -> Scope:
    """Collect what the signals may use: consented users, personal accounts, deduplicated txns."""
    users = (
        _frame(ledger, "users")
        .filter(pl.col("consent_status") == "granted")
        .select("user_id")
        .unique()
    )
    accounts = account_flags(
        _frame(ledger, "accounts").join(users, on="user_id", how="semi"), config
    ).select(
        "account_id",
        "user_id",
        "name",
        "official_name",
        "mask",
        "current_cents",
        "limit_cents",
        pl.col("balance_date").fill_null(as_of),
        "is_depository",
        "is_checking",
        "is_savings",
        "is_card",
        "is_credit",
    )
    accounts_df = accounts.with_columns(
        pl.col("account_id", "user_id").cast(pl.Categorical)
    ).collect()
    frame = _frame(ledger, "transactions")
    twins = pending_twin_rows(frame)
    # Account kinds as bits in a lookup indexed by the account's categorical code: a gather
    # instead of a 15M-row hash join (bit 0: in scope, i.e. personal and consented). Codes
    # past the accounts' are clipped to the last slot, which no account holds (0: out of scope).
    acc_codes = accounts_df.get_column("account_id").to_physical()
    size = cast(int, acc_codes.max() if acc_codes.len() else 0) + 2
    kinds = ("is_depository", "is_checking", "is_savings", "is_card", "is_credit")
    bits = accounts_df.select(
        pl.sum_horizontal(
            pl.lit(1, pl.UInt8),
            *[pl.col(k).cast(pl.UInt8) * (2 << i) for i, k in enumerate(kinds)],
        ).cast(pl.UInt8)
    ).to_series()
    lookup = pl.zeros(size, pl.UInt8, eager=True).scatter(acc_codes, bits)
    account_code = pl.col("account_id").to_physical().clip(upper_bound=size - 1)
    # Categoricals keep 15M rows compact and make every later group-by and join integer work;
    # one pass drops the twins and the rows out of scope.
    txns = (
        frame.with_row_index(_ROW)
        .select(_ROW, *TXN_COLUMNS)
        .with_columns(pl.col("account_id", "user_id").cast(pl.Categorical))
        .with_columns(bits=pl.lit(lookup).gather(account_code))
        .filter(((pl.col("bits") & 1) > 0) & not_twin(twins))
        .with_columns(
            pl.col(TXN_CATEGORICAL).cast(pl.Categorical),
            **{k: (pl.col("bits") & (2 << i)) > 0 for i, k in enumerate(kinds)},
        )
        .drop(_ROW, "bits", "transaction_id")
        .collect()
    )
    txns = with_merchant_keys(txns)
    liabilities = (
        _frame(ledger, "liabilities_credit")
        .with_columns(pl.col("account_id", "user_id").cast(pl.Categorical))
        .join(
            accounts_df.lazy().filter(pl.col("is_card")).select("account_id"),
            on="account_id",
            how="semi",
        )
    )
    return Scope(
        users=users.collect().sort("user_id"),
        accounts=accounts_df,
        transactions=txns,
        liabilities=liabilities.collect(),
    )


def scope_chunks(scope: Scope, chunk_users: int) -> list[Scope]:
    """Split a scope into chunks of at most ``chunk_users`` users (the unit of work)."""
    if scope.users.height <= chunk_users:
        return [scope]
    codes = scope.users.select(pl.col("user_id").cast(pl.Categorical).to_physical()).to_series()
    codes = codes.sort()
    code = pl.col("user_id").cast(pl.Categorical).to_physical()
    chunks = []
    for start in range(0, codes.len(), chunk_users):
        in_chunk = code.is_between(codes[start], codes[min(start + chunk_users, codes.len()) - 1])
        chunks.append(
            Scope(
                users=scope.users.filter(in_chunk),
                accounts=scope.accounts.filter(in_chunk),
                transactions=scope.transactions.filter(in_chunk),
                liabilities=scope.liabilities.filter(in_chunk),
            )
        )
    return chunks


def grid(users: pl.DataFrame, windows: list[int], as_of: date) -> pl.LazyFrame:
    """One row per (user_id, window_days, as_of_date): the key every per-user table fills."""
    win = pl.LazyFrame({"window_days": windows}, schema={"window_days": pl.Int32})
    return users.lazy().join(win, how="cross").with_columns(as_of_date=pl.lit(as_of, pl.Date))


def spending_expr() -> pl.Expr:
    """A positive amount in a spending category (for total_spend)."""
    return (pl.col("amount_cents") > 0) & ~pl.col("pfc_primary").fill_null("").is_in(
        NON_SPENDING_PRIMARIES
    )


def expense_expr() -> pl.Expr:
    """A positive amount counted as an expense (excludes transfers out and card payments)."""
    return (
        (pl.col("amount_cents") > 0)
        & (pl.col("is_depository") | pl.col("is_credit"))
        & (pl.col("pfc_primary").fill_null("") != "TRANSFER_OUT")
        & (pl.col("pfc_detailed").fill_null("") != CARD_PAYMENT)
    )


def income_expr() -> pl.Expr:
    """An income deposit: negative INCOME amount on a personal depository account."""
    return (
        (pl.col("amount_cents") < 0)
        & (pl.col("pfc_primary") == "INCOME").fill_null(False)
        & pl.col("is_depository")
    )


def account_balances(
    accounts: pl.LazyFrame, txns: pl.LazyFrame, as_of: date, window: int
) -> pl.LazyFrame:
    """Per account: balance at the end of ``as_of`` and at the window start, and window net (cents).

    The balance is read on ``balance_date``; money out is positive, so the balance on
    day d is ``current + sum(amounts dated after d) - sum(amounts dated after balance_date)``.
    """
    start = window_start(as_of, window)
    sums = (
        txns.join(accounts.select("account_id", "balance_date"), on="account_id", how="inner")
        .group_by("account_id")
        .agg(
            after_as_of=pl.col("amount_cents").filter(pl.col("date") > as_of).sum(),
            after_read=pl.col("amount_cents").filter(pl.col("date") > pl.col("balance_date")).sum(),
            in_window=pl.col("amount_cents")
            .filter((pl.col("date") > start) & (pl.col("date") <= as_of))
            .sum(),
        )
    )
    return (
        accounts.join(sums, on="account_id", how="left")
        .with_columns(pl.col("after_as_of", "after_read", "in_window").fill_null(0))
        .with_columns(
            balance_cents=pl.col("current_cents").fill_null(0)
            + pl.col("after_as_of")
            - pl.col("after_read")
        )
        .with_columns(start_cents=pl.col("balance_cents") + pl.col("in_window"))
    )
