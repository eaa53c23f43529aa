"""The same stages on Spark: partition the ledger by user, map the Polars chunk function over it.

Design (see docs/performance.md):

1. Every ledger table is read with Spark, filtered to consented users and tagged with
   its name; the tables are unioned by column name into one *wide* frame (same-named
   columns share one type across tables, so the union stays narrow: ~50 columns).
2. ``repartition(n, user_id)`` puts all rows of a user in one partition, and
   ``mapInArrow`` hands each partition to :func:`chunk_function`, which splits the
   wide rows back into canonical tables and calls ``stages.compute_stages`` (the
   embedded engine's chunk function) on slices of ``chunk_users`` users.
3. One pass emits every output table as a *tagged union*: a row per (table, chunk)
   holding the table name, its Arrow schema and the rows as an Arrow IPC stream. The
   blobs are persisted, the schemas are unified on the driver, and a cheap decode pass
   per table (``mapInArrow`` again) writes it as Parquet with Spark.

The catalog is loaded once on the driver and broadcast: each executor fetches it once.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import reduce
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa

from spendsense.config import Settings
from spendsense.errors import UserError
from spendsense.ledger.schema import PRIMARY_KEYS, TABLES
from spendsense.stages import (
    compute_stages,
    load_content,
    resolve_as_of,
    slice_users,
    user_chunks,
)
from spendsense.store.chunked import named_tables, sort_output

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

TAG = "_table"
BLOB_SCHEMA = "table string, schema binary, ipc binary, rows long"


def split_wide(wide: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Wide tagged rows -> one canonical frame per ledger table (sorted like the SQLite copies)."""

    return {
        table: wide.filter(pl.col(TAG) == table)
        .select([pl.col(c).cast(t) for c, t in schema.items()])
        .sort(list(PRIMARY_KEYS[table]))
        for table, schema in TABLES.items()
    }


def _ipc(frame: pl.DataFrame) -> bytes:
    sink = io.BytesIO()
    frame.write_ipc(sink, compression="zstd")
    return sink.getvalue()


def _schema_bytes(schema: pa.Schema) -> bytes:
    return bytes(schema.serialize().to_pybytes())


@dataclass(frozen=True)
class ChunkJob:
    """What every partition needs: the run's parameters (pickled once per task)."""

    as_of: date
    computed_at: datetime
    settings: Settings
    operational: bool = False


def chunk_function(
    job: ChunkJob, catalog: Any
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The mapInArrow function: a partition of wide ledger rows -> tagged IPC blobs per table."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        table = pa.Table.from_batches(list(batches))
        if table.num_rows == 0:
            return
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        ledger = split_wide(frame)
        users = ledger["users"]["user_id"].sort().to_list()
        for chunk in user_chunks(users, job.settings.chunk_users):
            if not chunk:
                continue
            part = slice_users({name: f.lazy() for name, f in ledger.items()}, chunk)
            outputs = compute_stages(
                part,
                job.as_of,
                job.settings,
                job.computed_at,
                catalog.value,
                traces=job.operational,  # only the whole frames carry traces
            )
            for name, out in named_tables(outputs, job.operational).items():
                arrow = out.to_arrow()
                yield pa.RecordBatch.from_pydict(
                    {
                        "table": [name],
                        "schema": [_schema_bytes(arrow.schema)],
                        "ipc": [_ipc(out)],
                        "rows": [out.height],
                    },
                    schema=pa.schema(
                        [
                            ("table", pa.string()),
                            ("schema", pa.binary()),
                            ("ipc", pa.binary()),
                            ("rows", pa.int64()),
                        ]
                    ),
                )

    return run


def spark_type(dtype: pa.DataType) -> pa.DataType:
    """An Arrow type Spark accepts: plain strings and lists, signed integers, UTC timestamps."""
    if pa.types.is_large_string(dtype) or pa.types.is_string_view(dtype):
        return pa.string()
    if pa.types.is_large_binary(dtype) or pa.types.is_binary_view(dtype):
        return pa.binary()
    if pa.types.is_dictionary(dtype):
        return spark_type(dtype.value_type)
    if pa.types.is_null(dtype):
        return pa.string()
    if pa.types.is_unsigned_integer(dtype):
        return pa.int64()
    if pa.types.is_timestamp(dtype):
        return pa.timestamp("us", tz="UTC" if dtype.tz else None)
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype) or pa.types.is_list_view(dtype):
        return pa.list_(spark_type(dtype.value_type))
    if pa.types.is_struct(dtype):
        return pa.struct([pa.field(f.name, spark_type(f.type)) for f in dtype])
    return dtype


def unify(schemas: list[bytes]) -> pa.Schema:
    """One Spark-friendly Arrow schema for a table from the schemas its chunks reported."""
    parsed = [pa.ipc.read_schema(pa.py_buffer(s)) for s in schemas]
    merged = pa.unify_schemas(parsed, promote_options="permissive")
    return pa.schema([pa.field(f.name, spark_type(f.type)) for f in merged])


def decode_function(
    target: pa.Schema,
) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The mapInArrow function of the write pass: IPC blobs -> rows in the table's schema."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            for blob in batch.column("ipc").to_pylist():
                frame = sort_output(pl.read_ipc(io.BytesIO(blob)))
                yield from frame.to_arrow().cast(target).to_batches()

    return run


def spark_session(master: str | None = "local[2]", memory: str = "4g") -> SparkSession:
    """A session for the job (UTC, Arrow on); ``master=None`` keeps what spark-submit set."""
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.appName("spendsense")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
    )
    if master is not None:
        # Local workers run this interpreter (the one with spendsense), not whatever is on PATH.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = (
            builder.master(master)
            .config("spark.driver.memory", memory)
            .config("spark.sql.shuffle.partitions", "8")
        )
    return builder.getOrCreate()


def _spark_schema(schema: dict[str, pl.DataType]) -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema

    arrow = pl.DataFrame(schema=schema).to_arrow().schema
    return from_arrow_schema(pa.schema([pa.field(f.name, spark_type(f.type)) for f in arrow]))


def _exists(spark: SparkSession, path: str) -> bool:
    """Whether Hadoop's file system for ``path`` has it (asked first: a miss logs a stack trace)."""
    try:
        jvm = spark.sparkContext._jvm
        assert jvm is not None
        hpath = jvm.org.apache.hadoop.fs.Path(path)
        fs = hpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
        return bool(fs.exists(hpath))
    except Exception:  # no JVM access (Spark Connect): let the read decide
        return True


def read_ledger(spark: SparkSession, path: str) -> dict[str, DataFrame]:
    """Each ledger table from ``path/<table>.parquet`` or ``path/<table>/`` (absent: empty)."""
    from pyspark.errors import AnalysisException
    from pyspark.sql import functions as F

    frames: dict[str, DataFrame] = {}
    base = path.rstrip("/")
    for table, schema in TABLES.items():
        frame = None
        for candidate in (f"{base}/{table}.parquet", f"{base}/{table}"):
            if not _exists(spark, candidate):
                continue
            try:
                frame = spark.read.parquet(candidate)
                break
            except AnalysisException:
                continue
        if frame is None:
            frame = spark.createDataFrame([], _spark_schema(schema))
        spark_schema = _spark_schema(schema)
        frames[table] = frame.select(
            [F.col(f.name).cast(f.dataType).alias(f.name) for f in spark_schema.fields]
        )
    return frames


def wide_ledger(frames: dict[str, DataFrame]) -> DataFrame:
    """Consented users' rows of every table, tagged and unioned by name into one wide frame."""
    from pyspark.sql import functions as F

    granted = frames["users"].filter(F.col("consent_status") == "granted").select("user_id")
    tagged = [
        frame.join(F.broadcast(granted), "user_id", "left_semi").withColumn(TAG, F.lit(table))
        for table, frame in frames.items()
    ]
    return reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), tagged)


@dataclass
class SparkRun:
    """What a Spark run wrote: rows per output table, users, partitions."""

    as_of: date
    users: int
    partitions: int
    rows: dict[str, int]


def run_spark(
    spark: SparkSession,
    ledger_path: str,
    out_path: str,
    settings: Settings,
    computed_at: datetime,
    as_of: date | None = None,
    partitions: int | None = None,
    operational: bool = False,
    force: bool = False,
) -> SparkRun:
    """Compute every stage on Spark and write ``out_path/<table>.parquet`` folders.

    ``force`` allows an ``as_of`` after the newest ledger date (``stages.resolve_as_of``).
    """
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    try:
        import pandas  # noqa: F401  (PySpark's Arrow UDFs need it)
    except ImportError as exc:
        raise UserError(
            "the Spark engine needs pandas>=2.2,<3 beside pyspark (pip install 'pyspark[sql]')"
        ) from exc

    frames = read_ledger(spark, ledger_path)
    newest = frames["transactions"].agg(F.max("date")).collect()[0][0]
    if newest is None:
        raise UserError(f"{ledger_path}: the ledger has no transactions")
    as_of = resolve_as_of(as_of, newest, force=force)
    users = frames["users"].filter(F.col("consent_status") == "granted").count()
    n = partitions or max(spark.sparkContext.defaultParallelism, -(-users // settings.chunk_users))
    catalog = spark.sparkContext.broadcast(load_content(settings))
    job = ChunkJob(as_of, computed_at, settings, operational)
    blobs = (
        wide_ledger(frames)
        .repartition(n, "user_id")
        .mapInArrow(chunk_function(job, catalog), BLOB_SCHEMA)
        .persist(StorageLevel.DISK_ONLY)
    )
    # One pass over the blobs: every schema each table was reported with, and its row count
    # (so the written folders are not read back to count them).
    schemas: dict[str, list[bytes]] = {}
    rows: dict[str, int] = {}
    for row in blobs.groupBy("table", "schema").agg(F.sum("rows").alias("rows")).collect():
        schemas.setdefault(row["table"], []).append(bytes(row["schema"]))
        rows[row["table"]] = rows.get(row["table"], 0) + int(row["rows"])
    from pyspark.sql.pandas.types import from_arrow_schema

    for name, reported in sorted(schemas.items()):
        target = unify(reported)
        table = blobs.filter(F.col("table") == name).select("ipc")
        decoded = table.mapInArrow(decode_function(target), from_arrow_schema(target))
        keys = [c for c in ("as_of_date", "user_id", "window_days") if c in target.names]
        decoded.sortWithinPartitions(*keys).write.mode("overwrite").parquet(
            f"{out_path.rstrip('/')}/{name}.parquet"
        )
    blobs.unpersist()
    return SparkRun(as_of, users, n, rows)
