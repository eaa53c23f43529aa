"""SQLite connection, pragmas and versioned migrations."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from spendsense.store.migrations import MIGRATIONS

BUSY_TIMEOUT_MS = 30_000


def connect(path: Path, *, migrate: bool = True) -> sqlite3.Connection:
    """Open the database in WAL mode, with foreign keys on, migrated to the newest schema."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    conn.row_factory = sqlite3.Row
    if migrate:
        apply_migrations(conn)
    return conn


def bump_version(conn: sqlite3.Connection) -> None:
    """The ledger changed: its Parquet copies are stale (kept here, free of Polars, for the CLI)."""
    conn.execute(
        "INSERT INTO meta VALUES ('ledger_version', '1') ON CONFLICT(key) "
        "DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)"
    )


def ledger_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key='ledger_version'").fetchone()
    return int(row[0]) if row else 0


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def apply_migrations(conn: sqlite3.Connection) -> int:
    """Apply every migration newer than the database's ``user_version``, each in one transaction."""
    current = schema_version(conn)
    for version, sql in enumerate(MIGRATIONS, start=1):
        if version <= current:
            continue
        with transaction(conn):
            for statement in _split(sql):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version={version}")
    return schema_version(conn)


def _split(sql: str) -> list[str]:
    return [s.strip() for s in sql.split(";\n") if s.strip()]


# One writer at a time within a process: threads queue here instead of in SQLite's busy
# handler, whose back-off sleeps (up to 100 ms each) made contended writes slow. Other
# processes still meet the busy timeout.
_WRITE_LOCK = threading.Lock()


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error: all or nothing."""
    with _WRITE_LOCK:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
