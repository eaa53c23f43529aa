"""A canonical-schema ledger in Parquet at any folder: read lazily, user by user range."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from spendsense.errors import UserError
from spendsense.ledger.schema import TABLES


def table_files(folder: Path, table: str) -> list[Path]:
    """The Parquet files of one table: ``<table>.parquet`` (file or Spark folder) or ``<table>/*``."""
    for candidate in (folder / f"{table}.parquet", folder / table):
        if candidate.is_file():
            return [candidate]
        if candidate.is_dir():
            return sorted(candidate.glob("*.parquet"))
    return []


def read_ledger_dir(folder: Path) -> dict[str, pl.LazyFrame]:
    """Every ledger table as a lazy scan in the canonical schema (absent tables empty)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: no such ledger folder (expected <table>.parquet files)")
    frames: dict[str, pl.LazyFrame] = {}
    for table, schema in TABLES.items():
        files = table_files(folder, table)
        if not files:
            frames[table] = pl.LazyFrame(schema=schema)
            continue
        scan = pl.scan_parquet(files)
        frames[table] = scan.select([pl.col(c).cast(t) for c, t in schema.items()])
    if not table_files(folder, "users"):
        raise UserError(f"{folder}: the ledger has no users table (users.parquet or users/)")
    return frames


def granted_users(ledger: dict[str, pl.LazyFrame]) -> list[str]:
    """Users whose ledger record grants consent, sorted (the Parquet path's consent source)."""
    return (
        ledger["users"]
        .filter(pl.col("consent_status") == "granted")
        .select("user_id")
        .unique()
        .sort("user_id")
        .collect()["user_id"]
        .to_list()
    )
