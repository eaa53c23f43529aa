"""Ledger repository: transactional upserts into SQLite and the Parquet copies for analytics."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from spendsense.errors import OwnershipConflict
from spendsense.ledger.batch import LedgerBatch
from spendsense.ledger.schema import PRIMARY_KEYS, TABLES, conform, empty
from spendsense.store import scratchdb
from spendsense.store.db import (
    bump_version,
    ledger_version,
    scratch_adbc,
    scratch_dir,
    scratch_file,
    sweep_scratch,
    transaction,
    writer_lock,
)
from spendsense.store.files import replacing
from spendsense.store.outcome import ApplyOutcome
from spendsense.store.scratchdb import ScratchDB

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
EXPORT_CHUNK_ROWS = 1_000_000  # rows per Arrow batch when the ledger is exported to Parquet
STAGE = "spendsense_stage"  # schema name of the attached scratch database a batch is staged in
PROBE = "spendsense_probe"  # temporary table of ids looked up in the stage (``staged_ids``)
TWINS = "spendsense_twins"  # the staged posted transactions' pending twins (``_twins``)
PARQUET_BASE = "parquet_base"  # meta: the ledger version the copies were last whole at
CHANGED = "spendsense_changed"  # the users an export rewrites, in its scratch copy
# Above this share of the users marked, reading every table back is cheaper than reading
# theirs by index and merging (5k users, all marked: 14.3 s of CPU merged, 10.9 s in full)
MERGE_SHARE = 0.25
MARKED = "spendsense_marked"  # the users a load into a non-empty ledger marks (``_mark_staged``)


def sql_frame(frame: pl.DataFrame) -> pl.DataFrame:
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
    return sql_frame(frame).rows()


def _rows(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Canonical columns, one row per primary key (the last wins), sorted by key.

    Sorted by key: B-tree inserts in order touch each page once (about 2x faster in bulk).
    """
    keys = list(PRIMARY_KEYS[table])
    frame = conform(table, frame).unique(subset=keys, keep="last", maintain_order=True)
    return frame.sort(keys)


def _twins(rows: pl.DataFrame) -> pl.DataFrame:
    """(user, pending id) named by posted transactions: each replaces its user's pending
    row of that id, never another user's, never a posted one (``_apply``)."""
    posted = ~pl.col("pending").fill_null(True) & pl.col("pending_transaction_id").is_not_null()
    return rows.filter(posted).select(
        pl.col("user_id").cast(pl.String), pl.col("pending_transaction_id").cast(pl.String)
    )


class ParquetCopies:
    """The ledger's Parquet copies written from the frames being loaded (not read back).

    One file per table in a scratch folder inside DIR/ledger (swept if a killed ingest left
    it), a row group per chunk, named ``<table>.parquet.part`` until ``publish`` renames it
    into place (each atomically), then VERSION: a file still being written (no footer yet)
    never matches ``*.parquet``, so a glob over the folder never picks up a killed load's. Only valid when the rows loaded are exactly the ledger's rows (``Stage``
    decides: a load into an empty ledger); otherwise they go with the folder and the
    caller exports by reading the ledger back.
    """

    def __init__(self, folder: Path, out: Path) -> None:
        self.folder = folder
        self.out = out
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.rows = dict.fromkeys(TABLES, 0)
        self.left_out: set[str] = set()  # pending transactions never written (see ``write``)

    def write(self, table: str, rows: pl.DataFrame) -> None:
        """Append one chunk's rows to the table's copy.

        A pending transaction whose posted twin (of its user) is in the same chunk (a
        bundle or sync page holds both) is left out here: ``_apply``'s twin rule deletes it from the
        ledger, so ``drop`` need not rewrite the copy for it. Twins across chunks, and
        removals, still go through ``drop``; ``Stage._copies_match`` checks the counts.
        """
        if table == "transactions":
            posted = ~pl.col("pending").fill_null(True)
            twins = rows.filter(posted & pl.col("pending_transaction_id").is_not_null()).select(
                "user_id", pl.col("pending_transaction_id").alias("transaction_id")
            )
            if twins.height:  # the rule is per user, and replaces only a pending row
                named = twins.unique().with_columns(pl.lit(True).alias("_named"))
                marked = rows.join(
                    named, on=["user_id", "transaction_id"], how="left", maintain_order="left"
                )
                gone = pl.col("_named").fill_null(False) & pl.col("pending").fill_null(False)
                self.left_out.update(marked.filter(gone)["transaction_id"].to_list())
                rows = marked.filter(~gone).drop("_named")
        arrow = rows.to_arrow()
        if table not in self.writers:
            self.writers[table] = pq.ParquetWriter(
                self._part(table), arrow.schema, compression="zstd"
            )
        self.writers[table].write_table(arrow)
        self.rows[table] += rows.height

    def drop(self, table: str, key: str, ids: list[str]) -> None:
        """Take rows out of one table's copy (rewritten a row group at a time)."""
        path = self._part(table)
        if not ids or table not in self.writers:
            return
        self.writers.pop(table).close()
        gone = pl.Series(ids, dtype=pl.String).implode()
        kept = self.folder / f".{table}.kept"
        source = pq.ParquetFile(path)
        with pq.ParquetWriter(kept, source.schema_arrow, compression="zstd") as writer:
            for i in range(source.num_row_groups):
                group = pl.from_arrow(source.read_row_group(i))
                assert isinstance(group, pl.DataFrame)
                rows = group.filter(~pl.col(key).is_in(gone))
                self.rows[table] -= group.height - rows.height
                writer.write_table(rows.to_arrow())
        kept.replace(path)

    def _part(self, table: str) -> Path:
        """The table's copy while it is written (not named ``*.parquet`` until published)."""
        return self.folder / f"{table}.parquet.part"

    def close(self) -> None:
        for writer in self.writers.values():
            writer.close()
        self.writers = {}

    def publish(self, version: int) -> Path:
        """Every table's file into DIR/ledger (empty tables too), then VERSION. Call under the
        writer lock, with ``version`` the ledger's as these rows' transaction committed it."""
        self.close()
        for table in TABLES:
            path = self._part(table)
            if not path.exists():
                empty(table).write_parquet(path)
            path.replace(self.out / f"{table}.parquet")
        with replacing(self.out / "VERSION") as tmp:
            tmp.write_text(str(version))
        return self.out


def is_empty(conn: sqlite3.Connection) -> bool:
    """No ledger table holds a row (a first, bulk load)."""
    return not any(conn.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone() for t in WRITE_ORDER)


def _upsert_sql(table: str, source: str, order: str = "") -> str:
    """``INSERT INTO table SELECT * FROM source ... ON CONFLICT DO UPDATE``: one statement.

    Users and accounts keep known values over nulls. A stored record's owner (``user_id``)
    is never changed (``_ownership_violations`` refuses such a batch) and an existing user's
    consent is never changed here: consent changes go through ``store.consents``.
    """
    cols = list(TABLES[table])
    keys = PRIMARY_KEYS[table]
    keep_known = table in KEEP_KNOWN_VALUES
    fixed = {"user_id", *(("consent_status",) if table == "users" else ())}
    sets = []
    for c in cols:
        if c in keys or c in fixed:
            continue
        value = f"COALESCE(excluded.{c}, {table}.{c})" if keep_known else f"excluded.{c}"
        sets.append(f"{c}={value}")
    names = ", ".join(cols)
    # WHERE true: without it SQLite would read ON CONFLICT as a join constraint
    return (
        f"INSERT INTO {table} ({names}) SELECT {names} FROM {source} WHERE true "
        + (f"ORDER BY {order} " if order else "")
        + f"ON CONFLICT({', '.join(keys)}) DO "
        + (f"UPDATE SET {', '.join(sets)}" if sets else "NOTHING")
    )


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
        self.adbc: ScratchDB | None = scratch_adbc(path)
        self.written = dict.fromkeys(WRITE_ORDER, 0)
        self.removed: list[tuple[str, str]] = []  # (user_id, transaction_id)
        self.snapshots: list[str] = []
        self.cursors: list[tuple[str, str, str]] = []
        self.outcome = ApplyOutcome()
        self.fresh = is_empty(conn)  # a bulk load: indexes built after, copies from the frames
        self.copies: ParquetCopies | None = None  # set by ``staging`` for a fresh load
        self.published: Path | None = None
        self.deleted: list[str] = []  # transactions a fresh load's deletes took out
        # one chunk is written while the next is read and validated (``add``)
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="spendsense-stage")
        self._pending: Future[None] | None = None

    def add(self, batch: LedgerBatch) -> None:
        """Stage one chunk's rows (each table's sorted by key), removals and cursors.

        The rows are written on the stage's own thread (SQLite, Arrow and zstd let go of
        the interpreter), so the caller validates the next chunk meanwhile; whatever asks
        the stage next (``staged_ids``, ``add``, ``apply``) waits for it first and gets
        its error if it failed. Memory holds one more chunk's frames.
        """
        assert self.adbc is not None, "already applied"
        self._wait()
        self.removed.extend(batch.removed_transaction_ids)
        self.snapshots.extend(batch.snapshots)
        self.cursors.extend(batch.cursors)
        self._pending = self._writer.submit(self._write, dict(batch.frames))

    def _write(self, frames: dict[str, pl.DataFrame]) -> None:
        assert self.adbc is not None, "already applied"
        for table in WRITE_ORDER:
            frame = frames.pop(table)
            if frame.height:
                rows = _rows(table, frame)
                self.adbc.ingest(table, sql_frame(rows).to_arrow(), "create_append")
                if not self.written[table]:  # for ``staged_ids``; kept up by later appends
                    key = PRIMARY_KEYS[table][0]
                    self.adbc.execute(f"CREATE INDEX {STAGE}_{table}_key ON {table}({key})")
                self.written[table] += rows.height
                if self.copies is not None:
                    self.copies.write(table, rows)
                if table == "transactions":
                    self.adbc.ingest(TWINS, _twins(rows).to_arrow(), "create_append")
        self.adbc.commit()

    def _wait(self) -> None:
        """Until the chunk being written is (raises what writing it raised)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def staged_ids(self, table: str, ids: pl.Series) -> pl.Series:
        """Those of ``ids`` (repeats allowed) already staged in ``table`` by earlier chunks.

        The ids go to a temporary table and are looked up by the staged table's index on
        its key, so a chunk costs its own ids, however much was staged before it.
        """
        assert self.adbc is not None, "already applied"
        self._wait()
        found = pl.Series(dtype=pl.String)
        if not self.written.get(table) or ids.len() == 0:
            return found
        key = PRIMARY_KEYS[table][0]
        probe = pl.DataFrame({"id": ids.cast(pl.String)}).to_arrow()
        self.adbc.ingest(PROBE, probe, "replace", temporary=True)
        frame = pl.from_arrow(
            self.adbc.query(
                f"SELECT p.id FROM temp.{PROBE} p WHERE EXISTS "
                f"(SELECT 1 FROM {table} s WHERE s.{key} = p.id)"
            )
        )
        assert isinstance(frame, pl.DataFrame)
        return frame["id"].cast(pl.String) if frame.height else found

    def staged_owners(self, table: str, ids: pl.Series) -> pl.DataFrame:
        """The users who staged ``ids`` in ``table`` (earlier chunks): a frame of ``id``,
        ``user_id``, as ``ingest.ownership.OwnerLookup`` (sync removals check them)."""
        owners = pl.DataFrame(schema={"id": pl.String, "user_id": pl.String})
        found = self.staged_ids(table, ids)  # waits for the chunk being written
        if found.len() == 0:
            return owners
        assert self.adbc is not None
        key = PRIMARY_KEYS[table][0]
        frame = pl.from_arrow(
            self.adbc.query(
                f"SELECT DISTINCT s.{key} AS id, s.user_id FROM {table} s "
                f"WHERE s.{key} IN (SELECT id FROM temp.{PROBE})"
            )
        )
        assert isinstance(frame, pl.DataFrame)
        return frame.select(pl.col("id").cast(pl.String), pl.col("user_id").cast(pl.String))

    @property
    def empty(self) -> bool:
        """Nothing to write: no rows, no removals (cursors alone do not make a run)."""
        self._wait()
        return not any(self.written.values()) and not self.removed

    def apply(self) -> dict[str, int]:
        """Apply everything staged in one transaction: all of it lands, or none of it does.

        Rows are read back sorted by key (B-tree inserts in order touch each page once); a
        key staged twice keeps its last row, as ``_rows`` does within a chunk. A load into
        an empty ledger publishes the Parquet copies written from its frames, under the
        same writer lock as its transaction (``published`` says where), when they hold
        exactly the ledger's rows.
        """
        self._wait()
        if self.adbc is not None:
            self.adbc.close()  # two copies of SQLite must never have one file open at once
            self.adbc = None
        conn = self.conn
        cache = conn.execute("PRAGMA cache_size").fetchone()[0]
        conn.execute(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")  # keep index pages cached
        if self.fresh:  # references checked once, in bulk (``_check_references``)
            conn.execute("PRAGMA foreign_keys=OFF")  # (SQLite changes it between transactions)
        with writer_lock(conn):
            conn.execute(f"ATTACH DATABASE ? AS {STAGE}", (str(self.path),))
            try:
                exact = _apply(conn, self, STAGE)
            finally:
                conn.execute(f"DETACH DATABASE {STAGE}")
                conn.execute(f"PRAGMA cache_size={int(cache)}")
                conn.execute("PRAGMA foreign_keys=ON")
            copies, self.copies = self.copies, None
            if copies is not None:
                if exact:
                    left = [t for t in self.deleted if t not in copies.left_out]
                    copies.drop("transactions", "transaction_id", left)
                if exact and self._copies_match(copies):
                    version = ledger_version(conn)
                    self.published = copies.publish(version)
                    _set_parquet_base(conn, version, mark=None)
                else:
                    copies.close()  # the folder goes with ``staging``
        return {t: self.written[t] for t in WRITE_ORDER}

    def _copies_match(self, copies: ParquetCopies) -> bool:
        """The copies hold as many rows per table as the ledger now does (a key staged
        twice, merged by the upsert, is one row in SQLite and two in the copies)."""
        return all(
            conn_rows == copies.rows[t]
            for t in TABLES
            for (conn_rows,) in [self.conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()]
        )

    def close(self) -> None:
        """Let go of everything (after an error too: a chunk being written is waited for,
        its own error left to whoever raised first)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            futures_wait([pending])
        self._writer.shutdown()
        if self.adbc is not None:
            self.adbc.close()
            self.adbc = None
        if self.copies is not None:
            self.copies.close()
            self.copies = None


@contextmanager
def staging(conn: sqlite3.Connection, copies_to: Path | None = None) -> Iterator[Stage]:
    """A ``Stage`` for ``conn`` in a scratch file next to its database, deleted afterwards.

    ``copies_to``: the data folder whose DIR/ledger Parquet copies a load into an empty
    ledger writes from its own frames (``Stage.published`` says whether it did).
    """
    with ExitStack() as stack:
        stage = Stage(conn, stack.enter_context(scratch_file(conn)))
        stack.callback(stage.close)
        out = None if copies_to is None else copies_to / LEDGER_DIR
        if out is not None and stage.fresh:
            stage.copies = ParquetCopies(stack.enter_context(scratch_dir(out)), out)
        elif out is not None and out.is_dir():
            sweep_scratch(out)  # copies a killed load left unpublished
        yield stage


def apply_batch(conn: sqlite3.Connection, batch: LedgerBatch) -> dict[str, int]:
    """Apply a whole batch in one transaction: all of it lands, or none of it does."""
    with staging(conn) as stage:
        stage.add(batch)
        return stage.apply()


# Bookkeeping tables in the scratch database (gone with it): staged users stored before
# this batch, and the users whose bundle replaces their ledger.
PRIOR = f"{STAGE}.spendsense_prior"
SNAPSHOT = f"{STAGE}.spendsense_snapshot"
IDENTITY = ("name", "age_band", "gender", "income_tier", "region")
LEDGER_ROWS = ("transactions", "liabilities_credit", "liabilities_mortgage", "liabilities_student")


def _staged_keys(staged: set[str], schema: str, table: str) -> str:
    """SQL for the keys of ``table`` in the stage ('' when nothing of it was staged)."""
    key = PRIMARY_KEYS[table][0]
    return f"SELECT {key} FROM {schema}.{table}" if table in staged else "SELECT NULL WHERE 0"


def _prepare_outcome(conn: sqlite3.Connection, stage: Stage, staged: set[str], schema: str) -> None:
    """Before anything is written: which staged users exist, and how the batch changes them."""
    out = stage.outcome
    conn.execute(f"DROP TABLE IF EXISTS {PRIOR}")
    conn.execute(f"DROP TABLE IF EXISTS {SNAPSHOT}")
    conn.execute(f"CREATE TABLE {SNAPSHOT} (user_id TEXT PRIMARY KEY)")
    conn.executemany(
        f"INSERT OR IGNORE INTO {SNAPSHOT} VALUES (?)", [(u,) for u in stage.snapshots]
    )
    if "users" not in staged:
        conn.execute(f"CREATE TABLE {PRIOR} (user_id TEXT PRIMARY KEY)")
        return
    conn.execute(
        f"CREATE TABLE {PRIOR} AS SELECT DISTINCT m.user_id FROM main.users m "
        f"JOIN {schema}.users s ON s.user_id = m.user_id"
    )
    rows = conn.execute(
        f"SELECT DISTINCT s.user_id, m.user_id IS NULL FROM {schema}.users s "
        "LEFT JOIN main.users m ON m.user_id = s.user_id ORDER BY s.user_id"
    ).fetchall()
    out.new_users = [u for u, new in rows if new]
    for user, wanted in conn.execute(
        f"SELECT s.user_id, s.consent_status FROM {schema}.users s "
        "JOIN main.users m ON m.user_id = s.user_id WHERE s.consent_status != 'none' "
        "AND s.consent_status != m.consent_status ORDER BY s.user_id"
    ):
        (out.bundle_revocations if wanted == "revoked" else out.ignored_grants).append(user)
    differs = " OR ".join(
        f"(s.{c} IS NOT NULL AND m.{c} IS NOT NULL AND s.{c} != m.{c})" for c in IDENTITY
    )
    for user, name_was, name_now in conn.execute(
        f"SELECT s.user_id, m.name, s.name FROM {schema}.users s JOIN main.users m "
        f"ON m.user_id = s.user_id WHERE s.user_id IN (SELECT user_id FROM {SNAPSHOT}) "
        f"AND ({differs}) ORDER BY s.user_id"
    ):
        what = f"name {name_was!r} -> {name_now!r}" if name_was != name_now else "demographics"
        out.identity_changes.append(f"{user}: the bundle describes another person ({what})")
    if "accounts" in staged:
        for (user,) in conn.execute(
            f"SELECT DISTINCT a.user_id FROM main.accounts a WHERE a.user_id IN "
            f"(SELECT user_id FROM {SNAPSHOT}) AND NOT EXISTS (SELECT 1 FROM {schema}.accounts s "
            "JOIN main.accounts b ON b.account_id = s.account_id WHERE b.user_id = a.user_id) "
            "ORDER BY a.user_id"
        ):
            if not any(c.startswith(f"{user}:") for c in out.identity_changes):
                out.identity_changes.append(
                    f"{user}: the bundle shares no account with the stored ledger"
                )
    changed = _changed_users(conn, staged, schema)
    prior = [r[0] for r in conn.execute(f"SELECT user_id FROM {PRIOR} ORDER BY user_id")]
    out.updated_users = [u for u in prior if u in changed]
    out.unchanged_users = [u for u in prior if u not in changed]


def _changed_users(conn: sqlite3.Connection, staged: set[str], schema: str) -> set[str]:
    """Stored users whose rows this batch adds, changes or (as a snapshot) removes."""
    changed: set[str] = set()
    for table in WRITE_ORDER:
        if table == "consents":
            continue
        cols = [c for c in TABLES[table] if c not in ("source", "consent_status")]
        names = ", ".join(cols)
        if table in staged:
            changed.update(
                r[0]
                for r in conn.execute(
                    f"SELECT DISTINCT user_id FROM (SELECT {names} FROM {schema}.{table} "
                    f"WHERE user_id IN (SELECT user_id FROM {PRIOR}) EXCEPT SELECT {names} "
                    f"FROM main.{table} WHERE user_id IN (SELECT user_id FROM {PRIOR}))"
                )
            )
        if table != "users":
            key = PRIMARY_KEYS[table][0]
            changed.update(
                r[0]
                for r in conn.execute(
                    f"SELECT DISTINCT user_id FROM main.{table} WHERE user_id IN "
                    f"(SELECT user_id FROM {SNAPSHOT}) AND {key} NOT IN "
                    f"({_staged_keys(staged, schema, table)})"
                )
            )
    return changed


def _replace_snapshots(conn: sqlite3.Connection, staged: set[str], schema: str) -> None:
    """A bundle is its user's whole ledger: their stored rows it does not hold go."""
    for table in (*LEDGER_ROWS, "accounts"):  # children first, for the foreign keys
        key = PRIMARY_KEYS[table][0]
        conn.execute(
            f"DELETE FROM main.{table} WHERE user_id IN (SELECT user_id FROM {SNAPSHOT}) "
            f"AND {key} NOT IN ({_staged_keys(staged, schema, table)})"
        )


def _check_references(conn: sqlite3.Connection, fresh: bool) -> None:
    """Every reference resolves, as the foreign keys say, when ``Stage.apply`` turned their
    enforcement off for a load that began into an empty ledger (a row's lookups of its
    account and user are about 40% of inserting it). Into a ledger still empty, the
    transactions' accounts were checked with their owners (``_ownership_violations``), so
    only the other ledger tables are; else all of them. Raises IntegrityError as SQLite would.
    """
    for table in WRITE_ORDER:  # the tables a load writes that have references
        if fresh and table == "transactions":
            continue
        bad = conn.execute(f'PRAGMA main.foreign_key_check("{table}")').fetchone()
        if bad is not None:
            raise sqlite3.IntegrityError(
                f"FOREIGN KEY constraint failed: {table} row {bad[1]} names a missing {bad[2]}"
            )


def _ownership_violations(
    conn: sqlite3.Connection, staged: set[str], schema: str, once: frozenset[str] = frozenset()
) -> list[str]:
    """Staged rows whose stored owner differs (the upsert never moves them): should be none.

    ``once``: tables loaded into an empty ledger that hold as many rows as were staged, so
    no staged row met another of its key: every stored row is a staged row as it was, and
    only their accounts need checking (a full join less per table). A staged row whose
    account does not exist raises IntegrityError (the foreign key, see ``_check_references``).
    """
    found: list[str] = []
    for table in ("accounts", *LEDGER_ROWS):
        if table not in staged:
            continue
        key = PRIMARY_KEYS[table][0]
        if table not in once:
            rows = conn.execute(
                f"SELECT s.{key} FROM {schema}.{table} s JOIN main.{table} m "
                f"ON m.{key} = s.{key} WHERE m.user_id != s.user_id LIMIT 5"
            ).fetchall()
            found += [f"{key} '{r[0]}' belongs to another user" for r in rows]
        if table != "accounts":
            rows = conn.execute(
                f"SELECT s.{key}, s.account_id, a.account_id IS NULL FROM {schema}.{table} s "
                "LEFT JOIN main.accounts a ON a.account_id = s.account_id "
                "WHERE a.account_id IS NULL OR a.user_id != s.user_id LIMIT 5"
            ).fetchall()
            for row_key, account, missing in rows:
                if missing:
                    raise sqlite3.IntegrityError(
                        f"FOREIGN KEY constraint failed: {table} '{row_key}' names a missing "
                        f"account '{account}'"
                    )
                found.append(f"{key} '{row_key}' is on account '{account}', another user's")
    return found


def _apply(conn: sqlite3.Connection, stage: Stage, schema: str) -> bool:
    """Upsert every staged table, then removals, pending twins and cursors, in one transaction.

    Every check runs on every load: the outcome (new, updated, unchanged users, identity
    changes), snapshot replacement, the consent rule and the ownership check. Into an empty
    ledger (``stage.fresh``) the rows go in as staged (each chunk sorted by key, no global
    sort) and the ledger's secondary indexes are dropped first and built once after. True
    for such a load: the ledger then holds the staged rows less ``stage.deleted``.
    """
    staged = {r[0] for r in conn.execute(f"SELECT name FROM {schema}.sqlite_master")}
    staged &= set(WRITE_ORDER)
    with transaction(conn):
        fresh = stage.fresh and is_empty(conn)  # still empty now that we hold the write lock
        _prepare_outcome(conn, stage, staged, schema)
        if stage.snapshots:
            _replace_snapshots(conn, staged, schema)
        indexes = _drop_ledger_objects(conn, "index") if fresh else []
        # the upserts do not mark their users row by row (a trigger per row costs ~20% of a
        # big load): after them, the staged users are marked in bulk (``_mark_staged``); into
        # an empty ledger nobody is, as the copies are whole again only if this load
        # publishes its own (``Stage.apply``), else the next export is full
        triggers = _drop_ledger_objects(conn, "trigger")
        if fresh:
            conn.execute("DELETE FROM meta WHERE key = ?", (PARQUET_BASE,))
        for table in WRITE_ORDER:  # parents first, for the foreign keys
            if table not in staged:
                continue
            order = "" if fresh else ", ".join([*PRIMARY_KEYS[table], "rowid"])
            source = f"{schema}.{table}"
            if table == "consents":  # a bundle's consent counts for users it creates only
                source = (
                    f"(SELECT * FROM {source} WHERE user_id NOT IN (SELECT user_id FROM {PRIOR}))"
                )
            conn.execute(_upsert_sql(table, source, order))
        if not fresh:  # the triggers mark what the deletes below take out
            _mark_staged(conn, staged, schema)
            for sql in triggers:
                conn.execute(sql)
            triggers = []
        once = frozenset(
            t
            for t in staged
            if fresh
            for (stored,) in [conn.execute(f"SELECT COUNT(*) FROM main.{t}").fetchone()]
            if stored == stage.written[t]
        )
        for sql in indexes:
            conn.execute(sql)
        violations = _ownership_violations(conn, staged, schema, once)
        if violations:
            raise OwnershipConflict(
                "nothing was loaded: " + "; ".join(violations) + " (records are never moved)"
            )
        twins = f"SELECT user_id, pending_transaction_id FROM {schema}.{TWINS}"  # see _twins
        if stage.removed:
            conn.executemany(
                "DELETE FROM transactions WHERE transaction_id = ? AND user_id = ?",
                [(t, u) for u, t in stage.removed],
            )
            conn.executemany(
                "INSERT OR IGNORE INTO removed_transactions VALUES (?,?,?)",
                [(t, u, datetime.now(UTC).isoformat()) for u, t in stage.removed],
            )
        if "transactions" in staged:  # a posted transaction replaces its pending twin
            conn.execute(  # the first IN finds the rows by key, the second keeps the user's
                "DELETE FROM transactions WHERE transaction_id IN "
                f"(SELECT pending_transaction_id FROM ({twins})) "
                f"AND pending AND (user_id, transaction_id) IN ({twins})"
            )
        if fresh:  # what the deletes took out, for the Parquet copies
            named = "SELECT value AS id FROM json_each(?)"
            if "transactions" in staged:
                named += f" UNION SELECT pending_transaction_id FROM {schema}.{TWINS}"
            stage.deleted = [
                r[0]
                for r in conn.execute(
                    f"SELECT id FROM ({named}) WHERE id NOT IN "
                    "(SELECT transaction_id FROM transactions) ORDER BY id",
                    (json.dumps([t for _, t in stage.removed]),),
                )
            ]
        for user_id, item_id, cursor in stage.cursors:
            conn.execute(
                "INSERT INTO sync_cursors VALUES (?,?,?,?) ON CONFLICT(user_id, item_id) "
                "DO UPDATE SET next_cursor=excluded.next_cursor, updated_at=excluded.updated_at",
                (user_id, item_id, cursor, datetime.now(UTC).isoformat()),
            )
        if stage.fresh:  # foreign keys were off (``Stage.apply``)
            _check_references(conn, fresh)
        for sql in triggers:
            conn.execute(sql)
        bump_version(conn)
    return fresh


def _mark_staged(conn: sqlite3.Connection, staged: set[str], schema: str) -> None:
    """Mark every user with a staged row in ``ledger_changes``, as the triggers would: a
    mark deleted and inserted again, so above any mark an export has read."""
    users = " UNION ".join(f"SELECT user_id FROM {schema}.{t}" for t in sorted(staged))
    if not users:
        return
    conn.execute(f"CREATE TEMP TABLE {MARKED} AS {users}")
    try:
        conn.execute(f"DELETE FROM ledger_changes WHERE user_id IN (SELECT user_id FROM {MARKED})")
        conn.execute(f"INSERT INTO ledger_changes (user_id) SELECT user_id FROM {MARKED}")
    finally:
        conn.execute(f"DROP TABLE temp.{MARKED}")


def _drop_ledger_objects(conn: sqlite3.Connection, kind: str) -> list[str]:
    """Drop the ledger tables' own indexes (not their keys) or triggers; the statements that
    create them again."""
    marks = ",".join("?" * len(WRITE_ORDER))
    found = conn.execute(
        f"SELECT name, sql FROM sqlite_master WHERE type = ? AND sql IS NOT NULL "
        f"AND tbl_name IN ({marks})",
        (kind, *WRITE_ORDER),
    ).fetchall()
    for name, _ in found:
        conn.execute(f'DROP {kind.upper()} "{name}"')
    return [sql for _, sql in found]


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


def _export_tables_arrow(conn: sqlite3.Connection, out: Path, changed: int | None) -> bool:
    """Write the ledger tables to Parquet through ADBC, ``EXPORT_CHUNK_ROWS`` rows at a time.

    The ADBC driver carries its own copy of SQLite, and two copies must never open the
    same file at once (closing one drops the other's POSIX locks and can checkpoint the
    WAL under it: a corrupt database). So ``conn`` first copies the tables, in key order,
    into a scratch file (``CREATE TABLE ... AS SELECT``, one read transaction: one
    snapshot), and ADBC reads only that, chunk by chunk of rowids, so memory holds one
    chunk however large the ledger. Each chunk is read as one Arrow batch because the
    driver types a column from its first batch. With ``changed`` (a mark of
    ``ledger_changes``), only the rows of the users marked up to it are copied, and each
    table's file becomes its old rows of the other users followed by theirs
    (``_merge_users``). False when a column mixes SQLite storage classes: the caller then
    reads row by row.
    """
    with scratch_file(conn) as path:
        conn.execute(f"ATTACH DATABASE ? AS {STAGE}", (str(path),))
        try:
            conn.execute("BEGIN")
            try:
                users = ""
                if changed is not None:
                    conn.execute(
                        f"CREATE TABLE {STAGE}.{CHANGED} AS SELECT user_id "
                        "FROM main.ledger_changes WHERE mark <= ?",
                        (changed,),
                    )
                    users = f"WHERE user_id IN (SELECT user_id FROM {STAGE}.{CHANGED})"
                for table, schema in TABLES.items():
                    cols = ", ".join(schema)
                    order = ", ".join(PRIMARY_KEYS[table])
                    conn.execute(
                        f"CREATE TABLE {STAGE}.{table} AS SELECT {cols} FROM main.{table} "
                        f"{users} ORDER BY {order}"
                    )
            finally:
                conn.execute("COMMIT")
        finally:
            conn.execute(f"DETACH DATABASE {STAGE}")
        with ScratchDB(path) as scratch:
            marked = None
            if changed is not None:
                found = pl.from_arrow(scratch.query(f"SELECT user_id FROM {CHANGED}"))
                assert isinstance(found, pl.DataFrame)
                marked = found["user_id"].cast(pl.String)
            for table in TABLES:
                try:
                    if marked is None:
                        with replacing(out / f"{table}.parquet") as tmp:
                            _export_table(scratch, table, tmp)
                    else:
                        part = path.parent / f"{table}.parquet"
                        _export_table(scratch, table, part)
                        _merge_users(out / f"{table}.parquet", part, marked)
                except scratchdb.Error:
                    return False
    return True


def _merge_users(copy: Path, theirs: Path, users: pl.Series) -> None:
    """``copy`` without the rows of ``users``, then ``theirs`` (their rows now), streamed."""
    kept = pl.scan_parquet(copy).filter(~pl.col("user_id").is_in(users.implode()))
    with replacing(copy) as tmp:
        pl.concat([kept, pl.scan_parquet(theirs)]).sink_parquet(tmp, compression="zstd")


def _export_table(scratch: ScratchDB, table: str, tmp: Path) -> None:
    """One table from the scratch copy to ``tmp``, chunk by chunk (rowids follow key order)."""
    last = scratch.query(f"SELECT coalesce(max(rowid), 0) AS n FROM {table}")["n"][0].as_py()
    writer: pq.ParquetWriter | None = None
    try:
        for start in range(0, int(last), EXPORT_CHUNK_ROWS):
            raw = pl.from_arrow(
                scratch.query(
                    f"SELECT * FROM {table} WHERE rowid > {start} "
                    f"AND rowid <= {start + EXPORT_CHUNK_ROWS} ORDER BY rowid",
                    batch_rows=EXPORT_CHUNK_ROWS,
                )
            )
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


def export_parquet(conn: sqlite3.Connection, data_dir: Path, *, full: bool = False) -> Path:
    """Bring DIR/ledger/<table>.parquet up to the ledger, each file replaced atomically.

    Every change to a ledger table marks its user in ``ledger_changes`` (SQLite triggers,
    whatever the entry point); ``meta.parquet_base`` is the ledger version the copies were
    last made whole at. When the copies on disk are that version (their VERSION file), only
    the marked users' rows are read from SQLite and merged in (none marked: nothing is
    rewritten). Otherwise (no copies yet, a bulk load that did not publish its own, copies
    from another database), with more than ``MERGE_SHARE`` of the users marked, or with
    ``full``, every table is read back. The marks read are cleared after; a change made
    meanwhile keeps its mark.
    """
    out = data_dir / LEDGER_DIR
    out.mkdir(parents=True, exist_ok=True)
    with writer_lock(conn):  # one export at a time; never beside a revocation's purge
        version = ledger_version(conn)
        mark, changed = conn.execute(
            "SELECT coalesce(max(mark), 0), COUNT(*) FROM ledger_changes"
        ).fetchone()
        (users,) = conn.execute("SELECT COUNT(*) FROM users").fetchone()
        whole = (
            not full
            and changed <= MERGE_SHARE * users
            and _copies_version(out) == _parquet_base(conn)
            and all((out / f"{table}.parquet").exists() for table in TABLES)
        )
        merged = whole and (mark == 0 or _export_tables_arrow(conn, out, mark))
        if not merged and not _export_tables_arrow(conn, out, None):
            for table in TABLES:
                with replacing(out / f"{table}.parquet") as tmp:
                    read_table(conn, table).write_parquet(tmp)
        with replacing(out / "VERSION") as tmp:
            tmp.write_text(str(version))
        _set_parquet_base(conn, version, mark)
    return out


def _copies_version(out: Path) -> int | None:
    """The ledger version the Parquet copies in ``out`` were written at (None: none yet)."""
    try:
        return int((out / "VERSION").read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def _parquet_base(conn: sqlite3.Connection) -> int | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (PARQUET_BASE,)).fetchone()
    return None if row is None else int(row[0])


def _set_parquet_base(conn: sqlite3.Connection, version: int, mark: int | None) -> None:
    """The copies are whole at ``version``; the changes marked up to ``mark`` are in them."""
    with transaction(conn):
        conn.execute(
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (PARQUET_BASE, str(version)),
        )
        if mark is not None:
            conn.execute("DELETE FROM ledger_changes WHERE mark <= ?", (mark,))


def read_ledger_parquet(data_dir: Path) -> dict[str, pl.LazyFrame]:
    """The Parquet copies of the ledger as lazy frames (empty frames for absent tables)."""
    out = data_dir / LEDGER_DIR
    frames: dict[str, pl.LazyFrame] = {}
    for table, schema in TABLES.items():
        path = out / f"{table}.parquet"
        frames[table] = pl.scan_parquet(path) if path.exists() else pl.LazyFrame(schema=schema)
    return frames


def current_ledger(conn: sqlite3.Connection, data_dir: Path) -> dict[str, pl.LazyFrame]:
    """The ledger's Parquet copies, brought up to date first if SQLite moved on since."""
    copies = _copies_version(data_dir / LEDGER_DIR)
    changed = conn.execute("SELECT 1 FROM ledger_changes LIMIT 1").fetchone() is not None
    if changed or copies != ledger_version(conn) or copies != _parquet_base(conn):
        export_parquet(conn, data_dir)
    return read_ledger_parquet(data_dir)
