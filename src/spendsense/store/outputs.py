"""Stage outputs: SQLite tables replaced per (as-of, users) and Parquet copies merged atomically.

Big output frames reach SQLite as Arrow (``bulk_sources``): written through ADBC into a
scratch database, sorted by their table's key so SQLite's B-trees fill in order,
attached, and moved with one ``INSERT ... SELECT`` per table inside the caller's
transaction. Small frames (the one-user path behind the API) go by ``executemany``: a
scratch file would cost more than it saves.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from spendsense.store.db import scratch_adbc, scratch_file
from spendsense.store.files import write_parquet_atomic
from spendsense.store.ledger import sql_frame, sql_rows
from spendsense.store.tables import OUTPUT_TABLES, Table

FEATURES_DIR = "features"
BULK_ROWS = 5_000  # a frame this big reaches SQLite as Arrow, through ADBC and a scratch file
BULK = "spendsense_bulk"  # schema name of the attached scratch database


@contextmanager
def bulk_sources(
    conn: sqlite3.Connection, frames: Mapping[Table, pl.DataFrame]
) -> Iterator[dict[str, str]]:
    """Stage the big frames (``BULK_ROWS`` rows and up) for ``insert_rows(..., source=)``.

    Each is sorted by its table's key, written through ADBC into one scratch file, which
    is attached to ``conn`` for the ``with`` block; yields table name -> source
    (``spendsense_bulk.<table>``). Enter it outside a transaction (SQLite attaches only
    there), and open the transaction inside it.
    """
    big = {t: f for t, f in frames.items() if f.height >= BULK_ROWS}
    if not big:
        yield {}
        return
    with scratch_file(conn) as path:
        with scratch_adbc(path) as adbc:
            for table, frame in big.items():
                ordered = frame.sort(list(table.key), maintain_order=True)
                adbc.ingest(table.name, _arrow_ready(ordered).to_arrow(), "create")
            adbc.commit()
        conn.execute(f"ATTACH DATABASE ? AS {BULK}", (str(path),))
        try:
            yield {t.name: f"{BULK}.{t.name}" for t in big}
        finally:
            conn.execute(f"DETACH DATABASE {BULK}")


def drop_staged_users(
    conn: sqlite3.Connection, sources: Mapping[str, str], users: set[str]
) -> None:
    """Delete ``users``' rows from every staged frame (``bulk_sources``) before it is copied."""
    if not users:
        return
    listed = json.dumps(sorted(users))
    for source in sources.values():
        conn.execute(
            f"DELETE FROM {source} WHERE user_id IN (SELECT value FROM json_each(?))", (listed,)
        )


def _arrow_ready(frame: pl.DataFrame) -> pl.DataFrame:
    """SQLite's types (``sql_frame``), all-null columns as text (ADBC has no null type)."""
    frame = sql_frame(frame)
    nulls = [c for c, t in frame.schema.items() if t == pl.Null]
    return frame.with_columns(pl.col(nulls).cast(pl.String)) if nulls else frame


@dataclass
class StageOutputs:
    """Everything one chunk of users produces."""

    features: dict[str, pl.DataFrame]
    assignments: pl.DataFrame
    extra: dict[str, pl.DataFrame] = field(default_factory=dict)


def replace_rows(
    conn: sqlite3.Connection,
    table: str,
    frame: pl.DataFrame,
    *,
    as_of: date,
    user_ids: list[str] | None = None,
    source: str | None = None,
) -> int:
    """Delete the table's rows at ``as_of`` (for ``user_ids``, or all) and insert ``frame``.

    Call inside a transaction: the caller decides what commits together. ``source``: the
    frame as staged by ``bulk_sources``.
    """
    if user_ids is None:
        conn.execute(f"DELETE FROM {table} WHERE as_of_date = ?", (as_of.isoformat(),))
    else:
        conn.executemany(
            f"DELETE FROM {table} WHERE as_of_date = ? AND user_id = ?",
            [(as_of.isoformat(), u) for u in user_ids],
        )
    return insert_rows(conn, table, frame, source=source)


def insert_rows(
    conn: sqlite3.Connection,
    table: str,
    frame: pl.DataFrame,
    *,
    verb: str = "INSERT",
    on_conflict: str = "",
    source: str | None = None,
) -> int:
    """``verb INTO table (frame's columns) VALUES ... on_conflict`` for every row of ``frame``.

    With ``source`` (the frame staged by ``bulk_sources``): one ``INSERT ... SELECT`` from
    it, in its (key) order.
    """
    if frame.height == 0:
        return 0
    quoted = ", ".join(f'"{c}"' for c in frame.columns)
    if source is not None:
        # WHERE true: without it SQLite would read ON CONFLICT as a join constraint
        conn.execute(
            f"{verb} INTO {table} ({quoted}) SELECT {quoted} FROM {source} WHERE true "
            f"ORDER BY rowid {on_conflict}"
        )
        return frame.height
    conn.executemany(
        f"{verb} INTO {table} ({quoted}) VALUES ({', '.join('?' * frame.width)}) {on_conflict}",
        sql_rows(frame),
    )
    return frame.height


def merge_parquet(
    features_dir: Path,
    table: Table,
    frame: pl.DataFrame,
    *,
    as_of: date,
    user_ids: list[str] | None = None,
    consented: list[str] | None = None,
) -> Path:
    """Replace the rows at ``as_of`` (for ``user_ids``, or all) in a table's Parquet copy, atomically.

    Writes the table's Parquet columns in its sort order. With ``consented``, rows of anyone
    else at any date are dropped too: a full run is also the sweep that honours a revocation
    whose own Parquet rewrite was interrupted.
    """
    path = features_dir / table.parquet_file
    frame = frame.select(table.parquet_subset)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        old = pl.read_parquet(path)
        keep = pl.col("as_of_date") != as_of
        if user_ids is not None:
            keep = keep | ~pl.col("user_id").is_in(
                pl.lit(pl.Series(user_ids, dtype=pl.String)).implode()
            )
        if consented is not None:
            allowed = pl.lit(pl.Series(consented, dtype=pl.String)).implode()
            keep = keep & pl.col("user_id").is_in(allowed)
        old = old.filter(keep)
        if old.height:
            frame = pl.concat([old, frame.select(old.columns)], how="vertical_relaxed")
    return write_parquet_atomic(frame.sort(table.sort_key, maintain_order=True), path)


def purge_user_parquet(features_dir: Path, user_id: str) -> int:
    """Drop one user's rows from every Parquet copy (consent revoked), each file replaced atomically."""
    return drop_parquet_rows(features_dir, pl.col("user_id") == user_id)


def drop_parquet_rows(features_dir: Path, drop: pl.Expr) -> int:
    """Drop the rows matching ``drop`` from every Parquet copy of an output, each file replaced
    atomically (call under the writer lock); the number of rows dropped."""
    removed = 0
    for table in OUTPUT_TABLES:
        path = features_dir / table.parquet_file if table.parquet else None
        if path is None or not path.exists():
            continue
        frame = pl.read_parquet(path)
        keep = frame.filter(~drop)
        if keep.height == frame.height:
            continue
        write_parquet_atomic(keep, path)
        removed += frame.height - keep.height
    return removed


def features_dir_of(conn: sqlite3.Connection) -> Path | None:
    """DIR/features beside the connection's database file (None for in-memory databases)."""
    row = conn.execute("PRAGMA database_list").fetchone()
    return Path(row[2]).parent / FEATURES_DIR if row and row[2] else None
