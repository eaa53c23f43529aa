"""Plaid-named Parquet parts (``generate --format parquet``) -> a canonical ledger, part by part.

The scale benchmarks need a 1M-user ledger without a 150M-row SQLite ingest. This
reuses ingest's own per-table normalisers (the same money, date and category rules)
on one part file at a time, so memory stays bounded by a part (10k users), and
writes ``<dest>/<table>/<part>.parquet`` sorted by user, which lets a user-range
filter skip row groups. ``copies`` repeats the population with re-keyed ids
(``r<k>-`` prefixes), a cheap way to reach 1M users from a 100k generation.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl

from spendsense.ingest import tables as T
from spendsense.ingest.tabular import read_table
from spendsense.ledger.schema import TABLES, conform
from spendsense.ledger.vocab import APR_TYPES

PLAID_TABLES = (
    "users",
    "accounts",
    "transactions",
    "liabilities_credit",
    "liabilities_mortgage",
    "liabilities_student",
)
ID_COLUMNS = ("user_id", "account_id", "transaction_id", "pending_transaction_id")
ROW_GROUP = 250_000
# Canonical column <- Plaid-named column, where the names differ.
SOURCES = {
    "consent_status": "consent",
    "current_cents": "balances_current",
    "available_cents": "balances_available",
    "limit_cents": "balances_limit",
    "amount_cents": "amount",
    "pfc_primary": "personal_finance_category_primary",
    "pfc_detailed": "personal_finance_category_detailed",
    "pfc_confidence": "personal_finance_category_confidence_level",
    "interest_rate_pct": "interest_rate_percentage",
    "loan_status": "loan_status_type",
    "purchase_apr_pct": "aprs_purchase_apr_percentage",
    "last_payment_amount_cents": "last_payment_amount",
    "last_statement_balance_cents": "last_statement_balance",
    "minimum_payment_amount_cents": "minimum_payment_amount",
    "next_monthly_payment_cents": "next_monthly_payment",
    "past_due_amount_cents": "past_due_amount",
}
LOWER = {"consent_status", "type", "subtype", "holder_category", "payment_channel"}
DEFAULTS = {"consent_status": "none", "holder_category": "personal", "payment_channel": "other"}


def _aprs_by_kind(frame: pl.DataFrame) -> pl.DataFrame:
    """Flattened ``aprs_apr_type/percentage`` -> ``aprs_<type>_percentage`` as the JSON reader does."""
    if "aprs_apr_type" not in frame.columns:
        return frame
    kind = pl.col("aprs_apr_type").str.strip_chars().str.to_lowercase()
    return frame.with_columns(
        expr
        for k in APR_TYPES
        for expr in (
            pl.when(kind == k).then(pl.col("aprs_apr_percentage")).alias(f"aprs_{k}_percentage"),
            pl.when(kind == k)
            .then(pl.col("aprs_interest_charge_amount"))
            .alias(f"aprs_{k}_interest_charge_amount"),
        )
    )


def normalise_part(files: dict[str, Path]) -> dict[str, pl.DataFrame]:
    """One part of every Plaid-named table -> canonical ledger frames (rejected rows dropped)."""
    out: dict[str, pl.DataFrame] = {}
    for table in PLAID_TABLES:
        path = files.get(table)
        if path is None:
            out[table] = pl.DataFrame(schema=TABLES[table])
            continue
        staged = read_table(path).with_columns(pl.lit(str(path)).alias("_file"))
        if table == "liabilities_credit":
            staged = _aprs_by_kind(staged)
        frame = T.NORMALISERS[table](staged)
        good = frame.filter(pl.col("_reason").is_null())
        out[table] = conform(table, good)
        if table == "users":
            out["consents"] = conform(
                "consents",
                good.filter(pl.col("consent_status").is_in(["granted", "revoked"]))
                .select(
                    "user_id",
                    pl.col("consent_status").alias("status"),
                    pl.col("_consent_day").cast(pl.Datetime("us", "UTC")).alias("changed_at"),
                    pl.lit("bundle").alias("source"),
                    pl.format("convert:{}", pl.col("_file")).alias("actor"),
                )
                .filter(pl.col("changed_at").is_not_null()),
            )
    return out


def _typed_column(table: str, name: str, dtype: pl.DataType, frame: pl.DataFrame) -> pl.Expr:
    """One canonical column from a typed Plaid-named frame (the fast path; see ``fast_part``)."""
    source = SOURCES.get(name, name)
    if table == "accounts" and name == "iso_currency_code":
        source = "balances_iso_currency_code"
    if source not in frame.columns:
        return pl.lit(None, dtype).alias(name)
    expr = pl.col(source)
    src_type = frame.schema[source]
    if name.endswith("_cents") and src_type.is_float():
        expr = (expr * 100).round(0).cast(pl.Int64)
    elif dtype == pl.Date and src_type == pl.String:
        expr = expr.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    if name in LOWER:
        expr = expr.str.to_lowercase()
    if name in DEFAULTS:
        expr = expr.fill_null(DEFAULTS[name])
    if name == "mask":
        expr = expr.str.slice(-4)
    if name == "pending":
        expr = expr.fill_null(False)
    return expr.cast(dtype).alias(name)


def fast_part(files: dict[str, Path]) -> dict[str, pl.DataFrame]:
    """Typed column mapping for the generator's clean parts (equal to ``normalise_part``, tested).

    Ingest's text normalisers validate every value of untrusted input; the generator's
    own parts are typed and valid, so the bulk conversion maps columns directly.
    """
    out: dict[str, pl.DataFrame] = {}
    for table in PLAID_TABLES:
        path = files.get(table)
        if path is None:
            out[table] = pl.DataFrame(schema=TABLES[table])
            continue
        frame = pl.read_parquet(path).with_columns(pl.lit(str(path)).alias("_file"))
        if table == "liabilities_credit":
            frame = _aprs_by_kind(frame)
        exprs = [_typed_column(table, c, t, frame) for c, t in TABLES[table].items()]
        if table == "users":
            exprs[list(TABLES[table]).index("source")] = pl.col("_file").alias("source")
        if table == "liabilities_credit":
            charges = [pl.col(f"aprs_{k}_interest_charge_amount") for k in APR_TYPES]
            total = pl.when(pl.any_horizontal(c.is_not_null() for c in charges)).then(
                (pl.sum_horizontal(charges) * 100).round(0).cast(pl.Int64)
            )
            exprs[list(TABLES[table]).index("interest_charge_cents")] = total.alias(
                "interest_charge_cents"
            )
        out[table] = frame.select(exprs)
    out["consents"] = pl.DataFrame(schema=TABLES["consents"])
    return out


def rekey(frame: pl.DataFrame, prefix: str) -> pl.DataFrame:
    """Prefix every id column so a copy of the population never collides with another."""
    if not prefix:
        return frame
    return frame.with_columns(
        (pl.lit(prefix) + pl.col(c)).alias(c) for c in ID_COLUMNS if c in frame.columns
    )


def convert_synth(
    src: Path,
    dest: Path,
    *,
    copies: int = 1,
    max_parts: int | None = None,
    log: Callable[[str], object] | None = None,
    fast: bool = True,
) -> dict[str, int]:
    """Convert ``src/parquet/<table>/part-*.parquet`` into a ledger at ``dest``; rows per table."""
    root = src / "parquet" if (src / "parquet").is_dir() else src
    parts = sorted(p.name for p in (root / "users").glob("*.parquet"))[:max_parts]
    counts = dict.fromkeys(TABLES, 0)
    for table in TABLES:
        (dest / table).mkdir(parents=True, exist_ok=True)
    for part in parts:
        files = {t: root / t / part for t in PLAID_TABLES if (root / t / part).exists()}
        frames = fast_part(files) if fast else normalise_part(files)
        for k in range(copies):
            prefix = f"r{k}-" if copies > 1 else ""
            for table, frame in frames.items():
                keys = [
                    "user_id",
                    *[c for c in TABLES[table] if c.endswith("_id") and c != "user_id"][:1],
                ]
                out = rekey(frame, prefix).sort(keys)
                out.write_parquet(dest / table / f"{prefix}{part}", row_group_size=ROW_GROUP)
                counts[table] += out.height
        if log is not None:
            log(f"converted {part} x{copies}")
    return counts
