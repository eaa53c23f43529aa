"""Named output tables of a chunk, and a writer that appends chunk after chunk to one Parquet file."""

from __future__ import annotations

import sqlite3
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from spendsense.store.consents import granted_among
from spendsense.store.db import writer_lock
from spendsense.store.files import replacing
from spendsense.store.outputs import StageOutputs
from spendsense.store.tables import PERSONA_ASSIGNMENTS, RECOMMENDATIONS

# The Parquet contract's tables (DIR/features/<name>.parquet) beside the feature tables.
CONTRACT_TABLES = ("persona_assignments", "recommendations")
# Whole frames the SQLite store needs, kept apart from the contract files.
OPERATIONAL_TABLES = ("assignments_full", "recommendations_full", "traces", "exclusions")
SORT_KEYS = ("as_of_date", "user_id", "window_days")


def named_tables(outputs: StageOutputs, operational: bool = False) -> dict[str, pl.DataFrame]:
    """Every output of a chunk by file name, in the contract's columns (plus whole frames if asked)."""
    tables = dict(outputs.features)
    tables[PERSONA_ASSIGNMENTS.parquet or ""] = outputs.assignments.select(
        PERSONA_ASSIGNMENTS.parquet_subset
    )
    recs = outputs.extra.get("recommendations")
    if recs is not None:
        tables[RECOMMENDATIONS.parquet or ""] = recs.select(RECOMMENDATIONS.parquet_subset)
    if operational:
        tables["assignments_full"] = outputs.assignments
        for name in ("recommendations", "traces", "exclusions"):
            if name in outputs.extra:
                key = "recommendations_full" if name == "recommendations" else name
                tables[key] = outputs.extra[name]
    return tables


def sort_output(frame: pl.DataFrame) -> pl.DataFrame:
    """The order every output file is written in (as the embedded store sorts)."""
    keys = [c for c in SORT_KEYS if c in frame.columns]
    return frame.sort(keys, maintain_order=True) if keys else frame


class ChunkedParquetWriter:
    """Append each chunk's tables as row groups of ``<folder>/<name>.parquet`` (bounded memory).

    Chunks arrive in user order, so each file ends up sorted like the embedded store's.
    Files are written under unique temporary names (two runs never share one) and renamed on
    ``close``. With ``store`` (the data folder's database, the authority on consent) the
    renames happen under its writer lock, after the rows of users whose consent was revoked
    while the run computed are taken out: a revocation during the run is never undone.
    """

    def __init__(self, folder: Path, store: sqlite3.Connection | None = None) -> None:
        self.folder = folder
        self.store = store
        self.writers: dict[str, tuple[pq.ParquetWriter, pl.Schema, Path]] = {}
        self.rows: dict[str, int] = {}
        self.users: set[str] = set()
        self.temps = ExitStack()  # each file's unique temp name, renamed when it closes

    def write(self, tables: dict[str, pl.DataFrame]) -> None:
        for name, frame in tables.items():
            if name not in self.writers:
                self.folder.mkdir(parents=True, exist_ok=True)
                tmp = self.temps.enter_context(replacing(self.folder / f"{name}.parquet"))
                arrow = frame.to_arrow()
                writer = pq.ParquetWriter(tmp, arrow.schema, compression="zstd")
                self.writers[name] = (writer, frame.schema, tmp)
                self.rows[name] = 0
            writer, schema, _ = self.writers[name]
            if frame.height:
                table: pa.Table = sort_output(frame).cast(schema).to_arrow()
                writer.write_table(table.cast(writer.schema))
                if self.store is not None and "user_id" in frame.columns:
                    self.users.update(frame.get_column("user_id").unique().to_list())
            self.rows[name] += frame.height

    def close(self) -> dict[str, int]:
        for writer, _, _ in self.writers.values():
            writer.close()
        if self.store is None:
            self._publish(set())
        else:
            with writer_lock(self.store):
                self._publish(self.users - granted_among(self.store, sorted(self.users)))
        self.writers.clear()
        return self.rows

    def _publish(self, revoked: set[str]) -> None:
        """Rename every file into place, without the rows of ``revoked`` users."""
        for name, (_, schema, tmp) in self.writers.items():
            if revoked and "user_id" in schema:
                frame = pl.read_parquet(tmp, memory_map=False)
                frame = frame.filter(~pl.col("user_id").is_in(sorted(revoked)))
                frame.write_parquet(tmp, compression="zstd")
                self.rows[name] = frame.height
        self.temps.close()

    def __enter__(self) -> ChunkedParquetWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            for writer, _, _ in self.writers.values():
                writer.close()
            self.temps.__exit__(exc_type, exc, tb)  # removes the temp files
