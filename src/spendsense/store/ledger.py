"""Ledger repository: transactional upserts into SQLite and the Parquet copies for analytics."""

from __future__ import annotations

import fcntl
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import adbc_driver_sqlite.dbapi as adbc_sqlite
import polars as pl
import pyarrow.parquet as pq

from spendsense.ledger.batch import LedgerBatch
from spendsense.ledger.schema import PRIMARY_KEYS, TABLES, conform, empty
from spendsense.store.db import bump_version, ledger_version, transaction

# Order matters for foreign keys: parents first.
WRITE_ORDER = (
    "users",
    "accounts",
    "transactions",
    "liabilities_credit",
    "liabilities_mortgage",
    "liabilities_student",
    "liabilities_other",
    "consents",
)
LEDGER_DIR = "ledger"
# A raw Plaid response names a user or account without describing it fully: a null there
# must not erase what an earlier bundle said (name, demographics, official name, mask).
KEEP_KNOWN_VALUES = frozenset({"users", "accounts"})
BULK_CACHE_KIB = 256 * 1024  # SQLite page cache while a batch is written
ADBC_BATCH_ROWS = "adbc.sqlite.query.batch_rows"
EXPORT_CHUNK_ROWS = 1_000_000  # rows per Arrow batch when the ledger is exported to Parquet
STAGE = "spendsense_stage"  # schema name of the attached scratch database a batch is staged in


def _sql_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Frame with SQLite's types: dates/datetimes as ISO text, booleans as 0/1."""
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
    return frame.select(exprs)


def sql_rows(frame: pl.DataFrame) -> list[tuple[object, ...]]:
    """Frame -> rows for sqlite: dates/datetimes as ISO text, booleans as 0/1."""
    return _sql_frame(frame).rows()


def _prepared(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Canonical columns, one row per primary key (the last wins), sorted by key, SQLite types.

    Sorted by key: B-tree inserts in order touch each page once (about 2x faster in bulk).
    """
    keys = list(PRIMARY_KEYS[table])
    frame = conform(table, frame).unique(subset=keys, keep="last", maintain_order=True)
    return _sql_frame(frame.sort(keys))


def _upsert_sql(table: str, source: str, order: str = "") -> str:
    """``INSERT INTO table SELECT * FROM source ... ON CONFLICT DO UPDATE``: one statement.

    Users and accounts keep known values over nulls; a user's consent of ``none`` (a bundle
    that says nothing) never overwrites a consent already recorded.
    """
    cols = list(TABLES[table])
    keys = PRIMARY_KEYS[table]
    keep_known = table in KEEP_KNOWN_VALUES
    sets = []
    for c in cols:
        if c in keys:
            continue
        value = f"COALESCE(excluded.{c}, {table}.{c})" if keep_known else f"excluded.{c}"
        if table == "users" and c == "consent_status":
            value = f"CASE WHEN excluded.{c} = 'none' THEN {table}.{c} ELSE {value} END"
        sets.append(f"{c}={value}")
    names = ", ".join(cols)
    # WHERE true: without it SQLite would read ON CONFLICT as a join constraint
    return (
        f"INSERT INTO {table} ({names}) SELECT {names} FROM {source} WHERE true "
        + (f"ORDER BY {order} " if order else "")
        + f"ON CONFLICT({', '.join(keys)}) DO "
        + (f"UPDATE SET {', '.join(sets)}" if sets else "NOTHING")
    )


def _database_file(conn: sqlite3.Connection) -> str:
    """The file behind ``conn`` ("" for an in-memory database)."""
    return next((str(r[2]) for r in conn.execute("PRAGMA database_list") if r[1] == "main"), "")


SCRATCH_PREFIX = ".ledger-scratch-"
_SCRATCH_LOCK = "owner.lock"
_SCRATCH_GRACE_SECONDS = 60.0
"""A scratch folder without its lock file is left alone this long (it may be being created)."""


@contextmanager
def _scratch(conn: sqlite3.Connection) -> Iterator[Path]:
    """A scratch database file next to ``conn``'s (system temp if in memory), deleted after.

    The folder holds a lock for as long as it is in use, so scratch folders left behind by a
    killed ingest (lock released by the kernel) are swept before a new one is made, while
    those of ingests still running are not.
    """
    main = _database_file(conn)
    parent = Path(main).parent if main else Path(tempfile.gettempdir())
    sweep_scratch(parent)
    folder = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=parent))
    lock = (folder / _SCRATCH_LOCK).open("w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        yield folder / "scratch.db"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        lock.close()


def sweep_scratch(parent: Path) -> list[Path]:
    """Delete the scratch folders in ``parent`` whose ingest is gone; returns what was removed."""
    removed: list[Path] = []
    for folder in sorted(parent.glob(SCRATCH_PREFIX + "*")):
        if not folder.is_dir():
            continue
        lock_path = folder / _SCRATCH_LOCK
        if not lock_path.exists():
            if time.time() - folder.stat().st_mtime < _SCRATCH_GRACE_SECONDS:
                continue
        else:
            with lock_path.open("a") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # an ingest holds it
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


class Stage:
    """A batch staged chunk by chunk in a scratch database, then applied in one transaction.

    ``add`` bulk-loads each chunk's frames with ADBC (Arrow columns straight into SQLite,
    no Python per row) into a file only ADBC has open (see ``_export_tables_arrow``), so
    memory holds one chunk at a time; ``apply`` attaches the file to ``conn`` and upserts
    every table with one ``INSERT ... SELECT`` in one transaction. Use through
    ``staging(conn)``, which deletes the scratch file.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self.adbc: adbc_sqlite.Connection | None = adbc_sqlite.connect(str(path))
        self.written = dict.fromkeys(WRITE_ORDER, 0)
        self.removed: list[str] = []
        self.cursors: list[tuple[str, str, str]] = []

    def add(self, batch: LedgerBatch) -> None:
        """Stage one chunk's rows (each table's sorted by key), removals and cursors."""
        assert self.adbc is not None, "already applied"
        cur = self.adbc.cursor()
        for table in WRITE_ORDER:
            frame = batch.frames[table]
            if frame.height:
                prepared = _prepared(table, frame)
                cur.adbc_ingest(table, prepared.to_arrow(), mode="create_append")
                self.written[table] += prepared.height
        cur.close()
        self.adbc.commit()
        self.removed.extend(batch.removed_transaction_ids)
        self.cursors.extend(batch.cursors)

    @property
    def empty(self) -> bool:
        """Nothing to write: no rows, no removals (cursors alone do not make a run)."""
        return not any(self.written.values()) and not self.removed

    def apply(self) -> dict[str, int]:
        """Apply everything staged in one transaction: all of it lands, or none of it does.

        Rows are read back sorted by key (B-tree inserts in order touch each page once); a
        key staged twice keeps its last row, as ``_prepared`` does within a chunk.
        """
        if self.adbc is not None:
            self.adbc.close()  # two copies of SQLite must never have one file open at once
            self.adbc = None
        conn = self.conn
        cache = conn.execute("PRAGMA cache_size").fetchone()[0]
        conn.execute(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")  # keep index pages cached
        conn.execute(f"ATTACH DATABASE ? AS {STAGE}", (str(self.path),))
        try:
            _apply(conn, self, STAGE)
        finally:
            conn.execute(f"DETACH DATABASE {STAGE}")
            conn.execute(f"PRAGMA cache_size={int(cache)}")
        return {t: self.written[t] for t in WRITE_ORDER}

    def close(self) -> None:
        if self.adbc is not None:
            self.adbc.close()
            self.adbc = None


@contextmanager
def staging(conn: sqlite3.Connection) -> Iterator[Stage]:
    """A ``Stage`` for ``conn`` in a scratch file next to its database, deleted afterwards."""
    with _scratch(conn) as path:
        stage = Stage(conn, path)
        try:
            yield stage
        finally:
            stage.close()


def apply_batch(conn: sqlite3.Connection, batch: LedgerBatch) -> dict[str, int]:
    """Apply a whole batch in one transaction: all of it lands, or none of it does."""
    with staging(conn) as stage:
        stage.add(batch)
        return stage.apply()


def _apply(conn: sqlite3.Connection, stage: Stage, schema: str) -> None:
    staged = {r[0] for r in conn.execute(f"SELECT name FROM {schema}.sqlite_master")}
    with transaction(conn):
        for table in WRITE_ORDER:  # parents first, for the foreign keys
            if table in staged:
                order = ", ".join([*PRIMARY_KEYS[table], "rowid"])
                conn.execute(_upsert_sql(table, f"{schema}.{table}", order))
        if stage.removed:
            conn.executemany(
                "DELETE FROM transactions WHERE transaction_id = ?", [(t,) for t in stage.removed]
            )
        if "transactions" in staged:  # a posted transaction replaces its pending twin
            conn.execute(
                "DELETE FROM transactions WHERE transaction_id IN (SELECT "
                f"pending_transaction_id FROM {schema}.transactions WHERE "
                "pending_transaction_id IS NOT NULL AND NOT pending)"
            )
        for user_id, item_id, cursor in stage.cursors:
            conn.execute(
                "INSERT INTO sync_cursors VALUES (?,?,?,?) ON CONFLICT(user_id, item_id) "
                "DO UPDATE SET next_cursor=excluded.next_cursor, updated_at=excluded.updated_at",
                (user_id, item_id, cursor, datetime.now(UTC).isoformat()),
            )
        bump_version(conn)


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
    return _canonical(table, raw)


def _canonical(table: str, raw: pl.DataFrame) -> pl.DataFrame:
    """Columns as SQLite returns them (text dates, 0/1 booleans) -> the canonical schema."""
    exprs = []
    for c, dtype in TABLES[table].items():
        col = pl.col(c).cast(_sqlite_dtype(dtype))  # an all-null column may come back typed oddly
        if dtype == pl.Date:
            col = col.str.to_date("%Y-%m-%d")
        elif isinstance(dtype, pl.Datetime):
            col = col.str.to_datetime(time_zone="UTC", time_unit="us")
        elif dtype == pl.Boolean:
            col = col.cast(pl.Boolean)
        exprs.append(col)
    return raw.select(exprs).sort(list(PRIMARY_KEYS[table]))


def _sqlite_dtype(dtype: pl.DataType) -> pl.DataType:
    if dtype == pl.Date or isinstance(dtype, pl.Datetime):
        return pl.String()
    if dtype == pl.Boolean:
        return pl.Int64()
    return dtype


def _export_tables_arrow(conn: sqlite3.Connection, out: Path) -> bool:
    """Write every ledger table to Parquet through ADBC, ``EXPORT_CHUNK_ROWS`` rows at a time.

    The ADBC driver carries its own copy of SQLite, and two copies must never open the
    same file at once (closing one drops the other's POSIX locks and can checkpoint the
    WAL under it: a corrupt database). So ``conn`` first copies the tables, in key order,
    into a scratch file (``CREATE TABLE ... AS SELECT``, one read transaction: one
    snapshot), and ADBC reads only that, chunk by chunk of rowids, so memory holds one
    chunk however large the ledger. Each chunk is read as one Arrow batch because the
    driver types a column from its first batch. False when a column mixes SQLite storage
    classes: the caller then reads row by row.
    """
    with _scratch(conn) as path:
        conn.execute(f"ATTACH DATABASE ? AS {STAGE}", (str(path),))
        try:
            conn.execute("BEGIN")
            try:
                for table, schema in TABLES.items():
                    cols = ", ".join(schema)
                    order = ", ".join(PRIMARY_KEYS[table])
                    conn.execute(
                        f"CREATE TABLE {STAGE}.{table} AS SELECT {cols} FROM main.{table} "
                        f"ORDER BY {order}"
                    )
            finally:
                conn.execute("COMMIT")
        finally:
            conn.execute(f"DETACH DATABASE {STAGE}")
        with adbc_sqlite.connect(str(path)) as adbc_conn:
            for table in TABLES:
                tmp = out / f".{table}.parquet.tmp"
                try:
                    _export_table(adbc_conn, table, tmp)
                except adbc_sqlite.Error:
                    tmp.unlink(missing_ok=True)
                    return False
                tmp.replace(out / f"{table}.parquet")
    return True


def _export_table(adbc_conn: adbc_sqlite.Connection, table: str, tmp: Path) -> None:
    """One table from the scratch copy to ``tmp``, chunk by chunk (rowids follow key order)."""
    with adbc_conn.cursor() as cur:
        cur.adbc_statement.set_options(**{ADBC_BATCH_ROWS: str(EXPORT_CHUNK_ROWS)})
        cur.execute(f"SELECT coalesce(max(rowid), 0) FROM {table}")
        row = cur.fetchone()
        last = int(row[0]) if row else 0
        writer: pq.ParquetWriter | None = None
        try:
            for start in range(0, last, EXPORT_CHUNK_ROWS):
                cur.execute(
                    f"SELECT * FROM {table} WHERE rowid > {start} "
                    f"AND rowid <= {start + EXPORT_CHUNK_ROWS} ORDER BY rowid"
                )
                raw = pl.from_arrow(cur.fetch_arrow_table())
                assert isinstance(raw, pl.DataFrame)
                chunk = _canonical(table, raw).to_arrow()
                if writer is None:
                    writer = pq.ParquetWriter(tmp, chunk.schema, compression="zstd")
                writer.write_table(chunk)
        finally:
            if writer is not None:
                writer.close()
    if writer is None:  # an empty table still gets a file with the canonical schema
        empty(table).write_parquet(tmp)


def export_parquet(conn: sqlite3.Connection, data_dir: Path) -> Path:
    """Write every ledger table to DIR/ledger/<table>.parquet atomically (tmp + rename)."""
    out = data_dir / LEDGER_DIR
    out.mkdir(parents=True, exist_ok=True)
    version = ledger_version(conn)
    if not _export_tables_arrow(conn, out):
        for table in TABLES:
            tmp = out / f".{table}.parquet.tmp"
            read_table(conn, table).write_parquet(tmp)
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


def current_ledger(conn: sqlite3.Connection, data_dir: Path) -> dict[str, pl.LazyFrame]:
    """The ledger's Parquet copies, re-exported first if SQLite moved on since the last export."""
    version_file = data_dir / LEDGER_DIR / "VERSION"
    current = ledger_version(conn)
    if not version_file.exists() or version_file.read_text().strip() != str(current):
        export_parquet(conn, data_dir)
    return read_ledger_parquet(data_dir)
