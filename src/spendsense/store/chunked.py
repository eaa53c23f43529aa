"""Named output tables of a chunk, and a writer that appends chunk after chunk to one Parquet file."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

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
    Files are written under a temporary name and renamed on ``close``.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.writers: dict[str, tuple[pq.ParquetWriter, pl.Schema, Path]] = {}
        self.rows: dict[str, int] = {}

    def write(self, tables: dict[str, pl.DataFrame]) -> None:
        for name, frame in tables.items():
            if name not in self.writers:
                self.folder.mkdir(parents=True, exist_ok=True)
                tmp = self.folder / f".{name}.parquet.tmp"
                arrow = frame.to_arrow()
                writer = pq.ParquetWriter(tmp, arrow.schema, compression="zstd")
                self.writers[name] = (writer, frame.schema, tmp)
                self.rows[name] = 0
            writer, schema, _ = self.writers[name]
            if frame.height:
                table: pa.Table = sort_output(frame).cast(schema).to_arrow()
                writer.write_table(table.cast(writer.schema))
            self.rows[name] += frame.height

    def close(self) -> dict[str, int]:
        for name, (writer, _, tmp) in self.writers.items():
            writer.close()
            tmp.replace(self.folder / f"{name}.parquet")
        self.writers.clear()
        return self.rows

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
            for writer, _, tmp in self.writers.values():
                writer.close()
                tmp.unlink(missing_ok=True)
