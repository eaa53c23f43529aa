"""Ledger repository: transactional upserts into SQLite and the Parquet copies for analytics."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from spendsense.ledger.batch import LedgerBatch
from spendsense.ledger.schema import PRIMARY_KEYS, TABLES, conform
from spendsense.store.db import transaction

# Order matters for foreign keys: parents first.
WRITE_ORDER = (
    "users",
    "accounts",
    "transactions",
    "liabilities_credit",
    "liabilities_mortgage",
    "liabilities_student",
    "consents",
)
LEDGER_DIR = "ledger"
# A raw Plaid response names a user or account without describing it fully: a null there
# must not erase what an earlier bundle said (name, demographics, official name, mask).
KEEP_KNOWN_VALUES = frozenset({"users", "accounts"})
BULK_CACHE_KIB = 256 * 1024  # SQLite page cache while a batch is written


def _sql_rows(frame: pl.DataFrame) -> list[tuple[object, ...]]:
    """Frame -> rows for sqlite: dates/datetimes as ISO text, booleans as 0/1."""
    exprs = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if dtype == pl.Date:
            col = col.dt.strftime("%Y-%m-%d")
        elif isinstance(dtype, pl.Datetime):
            col = col.dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
        elif dtype == pl.Boolean:
            col = col.cast(pl.Int8)
        exprs.append(col.alias(name))
    return frame.select(exprs).rows()


def upsert_frame(conn: sqlite3.Connection, table: str, frame: pl.DataFrame) -> int:
    """Insert or update rows keyed by the table's primary key (Plaid ids). Idempotent."""
    if frame.height == 0:
        return 0
    # sorted by key: B-tree inserts in order touch each page once (about 2x faster in bulk)
    frame = (
        conform(table, frame)
        .unique(subset=list(PRIMARY_KEYS[table]), keep="last", maintain_order=True)
        .sort(list(PRIMARY_KEYS[table]))
    )
    cols = list(TABLES[table])
    keys = PRIMARY_KEYS[table]
    keep_known = table in KEEP_KNOWN_VALUES
    updates = ", ".join(
        f"{c}=COALESCE(excluded.{c}, {table}.{c})" if keep_known else f"{c}=excluded.{c}"
        for c in cols
        if c not in keys
    )
    sql = (
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
        f"ON CONFLICT({', '.join(keys)}) DO " + (f"UPDATE SET {updates}" if updates else "NOTHING")
    )
    conn.executemany(sql, _sql_rows(frame))
    return frame.height


def apply_batch(conn: sqlite3.Connection, batch: LedgerBatch) -> dict[str, int]:
    """Apply a whole batch in one transaction: all of it lands, or none of it does."""
    written: dict[str, int] = {}
    cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    conn.execute(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")  # big batches: keep index pages cached
    try:
        _apply(conn, batch, written)
    finally:
        conn.execute(f"PRAGMA cache_size={int(cache)}")
    return written


def _apply(conn: sqlite3.Connection, batch: LedgerBatch, written: dict[str, int]) -> None:
    with transaction(conn):
        for table in WRITE_ORDER:
            frame = batch.frames[table]
            if table == "users" and frame.height:
                frame = _keep_existing_consent(conn, frame)
            written[table] = upsert_frame(conn, table, frame)
        posted = batch.frames["transactions"].filter(
            pl.col("pending_transaction_id").is_not_null() & ~pl.col("pending")
        )
        stale = [*batch.removed_transaction_ids, *posted["pending_transaction_id"].to_list()]
        if stale:
            conn.executemany(
                "DELETE FROM transactions WHERE transaction_id = ?", [(t,) for t in stale]
            )
        for user_id, item_id, cursor in batch.cursors:
            conn.execute(
                "INSERT INTO sync_cursors VALUES (?,?,?,?) ON CONFLICT(user_id, item_id) "
                "DO UPDATE SET next_cursor=excluded.next_cursor, updated_at=excluded.updated_at",
                (user_id, item_id, cursor, datetime.now(UTC).isoformat()),
            )
        bump_version(conn)


def _keep_existing_consent(conn: sqlite3.Connection, users: pl.DataFrame) -> pl.DataFrame:
    """A bundle's consent of 'none' never overwrites a consent already recorded."""
    ids = users["user_id"].to_list()
    known: dict[str, str] = {}
    for chunk_start in range(0, len(ids), 900):
        chunk = ids[chunk_start : chunk_start + 900]
        q = f"SELECT user_id, consent_status FROM users WHERE user_id IN ({','.join('?' * len(chunk))})"
        known.update({r[0]: r[1] for r in conn.execute(q, chunk)})
    if not known:
        return users
    existing = pl.DataFrame(
        {"user_id": list(known), "_known": list(known.values())},
        schema={"user_id": pl.String, "_known": pl.String},
    )
    return (
        users.join(existing, on="user_id", how="left")
        .with_columns(
            pl.when((pl.col("consent_status") == "none") & pl.col("_known").is_not_null())
            .then(pl.col("_known"))
            .otherwise(pl.col("consent_status"))
            .alias("consent_status")
        )
        .drop("_known")
    )


def bump_version(conn: sqlite3.Connection) -> None:
    conn.execute(
        "INSERT INTO meta VALUES ('ledger_version', '1') ON CONFLICT(key) "
        "DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)"
    )


def ledger_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key='ledger_version'").fetchone()
    return int(row[0]) if row else 0


def read_table(
    conn: sqlite3.Connection, table: str, where: str = "", params: tuple[object, ...] = ()
) -> pl.DataFrame:
    """Read a ledger table from SQLite into a frame with the canonical schema."""
    schema = TABLES[table]
    cols = list(schema)
    cur = conn.execute(f"SELECT {', '.join(cols)} FROM {table} {where}", params)
    raw = pl.DataFrame(
        cur.fetchall(), schema=[(c, _sqlite_dtype(schema[c])) for c in cols], orient="row"
    )
    exprs = []
    for c, dtype in schema.items():
        if dtype == pl.Date:
            exprs.append(pl.col(c).str.to_date("%Y-%m-%d"))
        elif isinstance(dtype, pl.Datetime):
            exprs.append(pl.col(c).str.to_datetime(time_zone="UTC", time_unit="us"))
        elif dtype == pl.Boolean:
            exprs.append(pl.col(c).cast(pl.Boolean))
        else:
            exprs.append(pl.col(c))
    return raw.with_columns(exprs).sort(list(PRIMARY_KEYS[table]))


def _sqlite_dtype(dtype: pl.DataType) -> pl.DataType:
    if dtype == pl.Date or isinstance(dtype, pl.Datetime):
        return pl.String()
    if dtype == pl.Boolean:
        return pl.Int64()
    return dtype


def export_parquet(conn: sqlite3.Connection, data_dir: Path) -> Path:
    """Write every ledger table to DIR/ledger/<table>.parquet atomically (tmp + rename)."""
    out = data_dir / LEDGER_DIR
    out.mkdir(parents=True, exist_ok=True)
    version = ledger_version(conn)
    for table in TABLES:
        frame = read_table(conn, table)
        tmp = out / f".{table}.parquet.tmp"
        frame.write_parquet(tmp)
        tmp.replace(out / f"{table}.parquet")
    (out / "VERSION").write_text(str(version))
    return out


def read_ledger_parquet(data_dir: Path) -> dict[str, pl.LazyFrame]:
    """The Parquet copies of the ledger as lazy frames (empty frames for absent tables)."""
    out = data_dir / LEDGER_DIR
    frames: dict[str, pl.LazyFrame] = {}
    for table, schema in TABLES.items():
        path = out / f"{table}.parquet"
        frames[table] = pl.scan_parquet(path) if path.exists() else pl.LazyFrame(schema=schema)
    return frames
