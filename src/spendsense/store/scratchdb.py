"""A scratch SQLite file written and read through ADBC: Arrow in and out, no Python per row.

The ADBC driver is its own copy of SQLite, so it only ever opens scratch files (see
``store.db.scratch_file``). This module drives it through ``adbc_driver_manager``'s
low-level classes rather than the DB-API layer (``adbc_driver_sqlite.dbapi``): that
layer imports ``pyarrow.dataset``, which imports pandas, about 1.5 s of CPU on every
command that writes in bulk, for nothing the three calls here need.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Literal

import adbc_driver_manager as adbc
import adbc_driver_sqlite
import pyarrow as pa

# The ADBC specification's ingest modes (``adbc.ingest.mode.*``)
Mode = Literal["create", "append", "create_append", "replace"]
_TEMPORARY = adbc.StatementOptions.INGEST_TEMPORARY.value
BATCH_ROWS = "adbc.sqlite.query.batch_rows"  # the SQLite driver's rows per Arrow batch
Error = adbc.Error  # what the driver raises
PRAGMAS = ("journal_mode=OFF", "synchronous=OFF")  # thrown away whatever happens: no journal


class ScratchDB:
    """An ADBC connection to a scratch file: no rollback journal and no fsync, explicit
    commits (``commit``); use as a context manager or ``close`` it."""

    def __init__(self, path: Path) -> None:
        self._db = adbc_driver_sqlite.connect(str(path))
        self._conn = adbc.AdbcConnection(self._db)
        for pragma in PRAGMAS:  # set outside a transaction: SQLite ignores them inside one
            self.query(f"PRAGMA {pragma}")
        self._conn.set_autocommit(False)

    def ingest(self, table: str, data: pa.Table, mode: Mode, *, temporary: bool = False) -> int:
        """Write ``data`` into ``table`` (created as ``mode`` says); the rows written."""
        with adbc.AdbcStatement(self._conn) as stmt:
            stmt.set_options(
                **{
                    adbc.StatementOptions.INGEST_TARGET_TABLE.value: table,
                    adbc.StatementOptions.INGEST_MODE.value: f"adbc.ingest.mode.{mode}",
                    _TEMPORARY: "true" if temporary else "false",
                }
            )
            stmt.bind_stream(data)
            return int(stmt.execute_update())

    def execute(self, sql: str) -> None:
        """Run one statement that returns no rows."""
        with adbc.AdbcStatement(self._conn) as stmt:
            stmt.set_sql_query(sql)
            stmt.execute_update()

    def query(self, sql: str, *, batch_rows: int | None = None) -> pa.Table:
        """Run one query; its rows as an Arrow table (read ``batch_rows`` rows at a time:
        the driver types a column from its first batch)."""
        with adbc.AdbcStatement(self._conn) as stmt:
            if batch_rows is not None:
                stmt.set_options(**{BATCH_ROWS: str(batch_rows)})
            stmt.set_sql_query(sql)
            handle, _ = stmt.execute_query()
            return pa.RecordBatchReader.from_stream(handle).read_all()

    def commit(self) -> None:
        self._conn.commit()

    def close(self) -> None:
        """Close the connection (what was not committed is rolled back)."""
        if self._conn is not None:
            self._conn.close()
            self._db.close()
            self._conn = None  # type: ignore[assignment]

    def __enter__(self) -> ScratchDB:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
