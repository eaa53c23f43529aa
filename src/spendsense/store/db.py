"""SQLite connection, pragmas and versioned migrations."""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from spendsense.errors import StoreBusy
from spendsense.store.migrations import MIGRATIONS

if TYPE_CHECKING:  # pyarrow and ADBC are loaded by the commands that write in bulk only
    from spendsense.store.scratchdb import ScratchDB

BUSY_TIMEOUT_MS = 30_000
CONSENT_WAIT_S = 900.0
"""How long a consent change waits for another writer (a long ingest's commit, a run's
publish) before giving up: a revocation should wait its turn, not be refused after 30 s."""


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


class _WriterLock:
    """One writer at a time per data folder: threads of a process, and processes.

    Threads queue on a re-entrant lock (not in SQLite's busy handler, whose back-off
    sleeps made contended writes slow); the outermost holder also takes an exclusive
    ``flock`` on ``<db>.writer.lock``, so a CLI ``run`` and the server's revocations
    never interleave their SQLite commits and Parquet rewrites. Re-entrant, so a
    consent change can hold it across its transaction and its Parquet purge.
    """

    def __init__(self, lock_file: Path | None) -> None:
        self.lock_file = lock_file
        self.rlock = threading.RLock()
        self.depth = 0
        self.fd: int | None = None

    @contextmanager
    def hold(self, wait_s: float) -> Iterator[None]:
        with self.rlock:
            if self.depth == 0 and self.lock_file is not None:
                self.fd = _flock(self.lock_file, wait_s)
            self.depth += 1
            try:
                yield
            finally:
                self.depth -= 1
                if self.depth == 0 and self.fd is not None:
                    os.close(self.fd)  # closing the descriptor releases the flock
                    self.fd = None


def _flock(path: Path, wait_s: float) -> int:
    """An exclusive flock on ``path`` (created if need be), waiting up to ``wait_s``."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError as exc:
            if time.monotonic() > deadline:
                os.close(fd)
                raise StoreBusy(
                    f"another process has been writing to {path.parent} for too long: try again"
                ) from exc
            time.sleep(0.01)


_LOCKS: dict[str, _WriterLock] = {}
_LOCKS_GUARD = threading.Lock()


def database_file(conn: sqlite3.Connection) -> str:
    """The file behind ``conn`` ("" for an in-memory database)."""
    return next((str(r[2]) for r in conn.execute("PRAGMA database_list") if r[1] == "main"), "")


def _lock_for(conn: sqlite3.Connection) -> _WriterLock:
    main = database_file(conn)
    with _LOCKS_GUARD:
        lock = _LOCKS.get(main)
        if lock is None:
            lock = _LOCKS[main] = _WriterLock(Path(main + ".writer.lock") if main else None)
        return lock


@contextmanager
def writer_lock(conn: sqlite3.Connection, *, wait_s: float | None = None) -> Iterator[None]:
    """Hold the data folder's writer lock (re-entrant): SQLite writes and Parquet rewrites
    that must not interleave with another writer's go inside it. Another process holding it
    is waited for up to ``wait_s`` (default: the busy timeout), then :class:`StoreBusy`."""
    with _lock_for(conn).hold(BUSY_TIMEOUT_MS / 1000 if wait_s is None else wait_s):
        yield


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT under the writer lock, rolled back on any error: all or nothing."""
    with writer_lock(conn):
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


SCRATCH_PREFIX = ".ledger-scratch-"
_SCRATCH_LOCK = "owner.lock"
_SCRATCH_GRACE_SECONDS = 60.0
"""A scratch folder without its lock file is left alone this long (it may be being created)."""


@contextmanager
def scratch_dir(parent: Path) -> Iterator[Path]:
    """A new scratch folder in ``parent``, deleted after.

    The folder holds a lock for as long as it is in use, so scratch folders left behind by a
    killed process (lock released by the kernel) are swept before a new one is made, while
    those of processes still running are not.
    """
    parent.mkdir(parents=True, exist_ok=True)
    sweep_scratch(parent)
    folder = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=parent))
    lock = (folder / _SCRATCH_LOCK).open("w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        lock.close()


@contextmanager
def scratch_file(conn: sqlite3.Connection) -> Iterator[Path]:
    """A scratch database file next to ``conn``'s (system temp if in memory), deleted after
    (in a ``scratch_dir``).

    Big frames reach SQLite through one: the ADBC driver (its own copy of SQLite) writes
    Arrow into the scratch file, which only it has open; ``conn`` then attaches it and
    copies with ``INSERT ... SELECT``. Two copies of SQLite must never open one file at
    once (closing one drops the other's POSIX locks), so ADBC never opens ``conn``'s file.
    """
    main = database_file(conn)
    with scratch_dir(Path(main).parent if main else Path(tempfile.gettempdir())) as folder:
        yield folder / "scratch.db"


def scratch_adbc(path: Path) -> ScratchDB:
    """An ADBC connection (``store.scratchdb.ScratchDB``) to a ``scratch_file``: no rollback
    journal and no fsync, since the file is thrown away whatever happens to the process."""
    from spendsense.store.scratchdb import ScratchDB

    return ScratchDB(path)


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
