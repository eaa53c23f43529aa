"""Write generated tables: one JSON bundle per user, Parquet parts, and ground-truth files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

SHARD_SIZE = 1000


def _nest(frame: pl.DataFrame, fields: dict[str, pl.Expr]) -> pl.DataFrame:
    """Group rows into one list of structs per user, keys in sorted order (as sort_keys would)."""
    struct = pl.struct([fields[k].alias(k) for k in sorted(fields)])
    return frame.group_by("user_id", maintain_order=True).agg(struct.alias("items"))


def _cols(frame: pl.DataFrame, drop: tuple[str, ...] = ("user_id",)) -> dict[str, pl.Expr]:
    return {c: pl.col(c) for c in frame.columns if c not in drop}


def bundles(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """One row per user: user_id and the bundle as a nested struct, Plaid-shaped."""
    acc = tables["accounts"]
    balances = pl.struct(
        available="balances_available",
        current="balances_current",
        iso_currency_code="balances_iso_currency_code",
        limit="balances_limit",
    )
    acc_fields = {
        **_cols(acc.select(pl.exclude("^balances_.*$"))),
        "balances": balances,
    }
    tx = tables["transactions"]
    pfc = pl.struct(
        confidence_level="personal_finance_category_confidence_level",
        detailed="personal_finance_category_detailed",
        primary="personal_finance_category_primary",
        version="personal_finance_category_version",
    )
    tx_fields = {  # a flat-categories variant has no PFC columns to nest
        **_cols(tx.select(pl.exclude("^personal_finance_category_.*$"))),
        **(
            {"personal_finance_category": pfc} if "personal_finance_category_detailed" in tx else {}
        ),
    }
    cr = tables["liabilities_credit"]
    aprs = pl.concat_list(
        pl.struct(
            apr_percentage="aprs_apr_percentage",
            apr_type="aprs_apr_type",
            balance_subject_to_apr="aprs_balance_subject_to_apr",
            interest_charge_amount="aprs_interest_charge_amount",
        )
    )
    cr_fields = {**_cols(cr.select(pl.exclude("^aprs_.*$"))), "aprs": aprs}
    mo = tables["liabilities_mortgage"]
    mo_fields = {
        **_cols(mo.select(pl.exclude("^interest_rate_.*$"))),
        "interest_rate": pl.struct(
            percentage="interest_rate_percentage", type="interest_rate_type"
        ),
    }
    st = tables["liabilities_student"]
    st_fields = {
        **_cols(st.select(pl.exclude("loan_status_type"))),
        "loan_status": pl.struct(type="loan_status_type"),
    }
    users = tables["users"]
    out = users.select("user_id", user=pl.struct(*sorted(users.columns)))
    parts = {
        "accounts": _nest(acc, acc_fields),
        "transactions": _nest(tx, tx_fields),
        "credit": _nest(cr, cr_fields),
        "mortgage": _nest(mo, mo_fields),
        "student": _nest(st, st_fields),
    }
    for name, part in parts.items():
        out = out.join(
            part.rename({"items": name}), on="user_id", how="left", maintain_order="left"
        )
    empty = {name: pl.col(name).fill_null(pl.lit([], dtype=out.schema[name])) for name in parts}
    out = out.with_columns(**empty)
    return out.select(
        "user_id",
        bundle=pl.struct(
            "accounts",
            pl.struct("credit", "mortgage", "student").alias("liabilities"),
            "transactions",
            "user",
        ),
    )


def write_bundles(tables: dict[str, pl.DataFrame], out: Path, uid_first: int) -> list[Path]:
    """Write ``out/bundles/<shard>/<user_id>.json`` for every user of the tables."""
    frame = bundles(tables)
    lines = frame.select(pl.col("bundle").struct.unnest()).write_ndjson().splitlines()
    paths: list[Path] = []
    ids = frame["user_id"].to_list()
    for i, (user_id, line) in enumerate(zip(ids, lines, strict=True)):  # serialisation only
        shard = out / "bundles" / f"{(uid_first + i) // SHARD_SIZE:04d}"
        shard.mkdir(parents=True, exist_ok=True)
        path = shard / f"{user_id}.json"
        path.write_text(line + "\n")
        paths.append(path)
    return paths


class ParquetAppender:
    """Append each table's chunks as row groups of one Parquet file (bounded memory)."""

    def __init__(self, path_for: Callable[[str], Path]) -> None:
        self.path_for = path_for
        self.writers: dict[str, pq.ParquetWriter] = {}

    def write(self, tables: dict[str, pl.DataFrame]) -> None:
        for name, frame in tables.items():
            table = frame.to_arrow()
            if name not in self.writers:
                path = self.path_for(name)
                path.parent.mkdir(parents=True, exist_ok=True)
                self.writers[name] = pq.ParquetWriter(path, table.schema, compression="zstd")
            writer = self.writers[name]
            writer.write_table(table.cast(writer.schema))

    def close(self) -> list[Path]:
        for writer in self.writers.values():
            writer.close()
        return [self.path_for(name) for name in self.writers]


def part_writer(out: Path, part: int) -> ParquetAppender:
    """Writer for ``out/parquet/<table>/part-NNNNN.parquet``."""
    return ParquetAppender(lambda name: out / "parquet" / name / f"part-{part:05d}.parquet")


def truth_writer(out: Path) -> ParquetAppender:
    """Writer for ``out/ground_truth/<table>.parquet``."""
    return ParquetAppender(lambda name: out / "ground_truth" / f"{name}.parquet")
