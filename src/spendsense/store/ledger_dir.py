"""A canonical-schema ledger in Parquet at any folder: read lazily, user by user range."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import cast

import polars as pl
import pyarrow.parquet as pq

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


def users_filter(user_ids: list[str]) -> pl.Expr:
    """The rows of ``user_ids`` (none when empty): a range test, which lets a scan of a
    user-sorted ledger skip row groups, then ``is_in``, which decides. A filter keeps the
    rows' order."""
    if not user_ids:
        return pl.lit(False)
    keep = pl.Series("user_id", user_ids, dtype=pl.String).implode()
    span = pl.col("user_id").is_between(pl.lit(min(user_ids)), pl.lit(max(user_ids)))
    return span & pl.col("user_id").is_in(keep)


def read_chunk(
    folder: Path,
    ledger: Mapping[str, pl.LazyFrame],
    user_ids: list[str],
    categorical: Mapping[str, Sequence[str]],
) -> dict[str, pl.DataFrame | pl.LazyFrame]:
    """The ledger rows of ``user_ids`` (``ledger`` is ``read_ledger_dir(folder)``), in ledger
    order, with the ``categorical`` columns of each table as Categorical.

    Those are read from the Parquet dictionary pages (PyArrow's ``read_dictionary``), so each
    distinct string is interned once per page rather than once per row: casting a 25k-user
    chunk's text columns after the read cost more than reading them (docs/performance.md).
    Such a table comes as a lazy frame over the row groups read, filtered to the users when
    it is used, so only the columns a stage selects are cut to the users' rows.
    """
    where = users_filter(user_ids)
    out: dict[str, pl.DataFrame | pl.LazyFrame] = {}
    for table, frame in ledger.items():
        files = table_files(folder, table)
        cats = categorical.get(table, ())
        if cats and files and user_ids:
            parts = [
                part
                for path in files
                for part in _row_group_runs(path, TABLES[table], cats, min(user_ids), max(user_ids))
            ]
            if parts:
                # The row groups are cut to the range already; the users' codes decide.
                codes = pl.Series(user_ids, dtype=pl.Categorical).to_physical().implode()
                user = pl.col("user_id").to_physical()
                out[table] = pl.concat(parts).lazy().filter(user.is_in(codes))
                continue
        out[table] = frame.filter(where).with_columns(pl.col(cats).cast(pl.Categorical)).collect()
    return out


def _row_group_runs(
    path: Path, schema: Mapping[str, pl.DataType], categorical: Sequence[str], low: str, high: str
) -> Iterator[pl.DataFrame]:
    """The file's runs of consecutive row groups whose user_id statistics meet [low, high], in
    the canonical schema: the ``categorical`` columns read by PyArrow as dictionaries, the
    others by Polars (its strings are cheaper to make than PyArrow's)."""
    source = pq.ParquetFile(path, read_dictionary=list(categorical))
    meta = source.metadata
    user = source.schema_arrow.get_field_index("user_id")
    starts = [0]
    for i in range(meta.num_row_groups):
        starts.append(starts[-1] + meta.row_group(i).num_rows)
    groups = [
        i
        for i in range(meta.num_row_groups)
        if _may_hold(meta.row_group(i).column(user).statistics, low, high)
    ]
    plain = [pl.col(c).cast(t) for c, t in schema.items() if c not in categorical]
    while groups:
        run = [groups.pop(0)]
        while groups and groups[0] == run[-1] + 1:
            run.append(groups.pop(0))
        start, stop = starts[run[0]], starts[run[-1] + 1]
        rest = pl.scan_parquet(path).slice(start, stop - start).select(plain).collect()
        coded = cast(pl.DataFrame, pl.from_arrow(source.read_row_groups(run, list(categorical))))
        frame = pl.concat([rest, coded.cast(pl.Categorical)], how="horizontal")
        yield frame.select(list(schema))


def _may_hold(stats: object, low: str, high: str) -> bool:
    """A row group's user_id statistics (None when not written) may hold a user in [low, high]."""
    if stats is None or not getattr(stats, "has_min_max", False):
        return True
    return bool(stats.min <= high and stats.max >= low)  # type: ignore[attr-defined]
