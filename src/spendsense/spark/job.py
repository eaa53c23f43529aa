"""Spark entry points: the ``spark-submit`` job and the ``run --engine spark`` glue.

spark-submit --py-files spendsense.zip job.py --ledger s3a://.../ledger --out s3a://.../out
python -m spendsense.spark.job --ledger DIR/ledger --out /tmp/out --as-of 2026-10-31

``spendsense.zip`` is the wheel under a .zip name (executors put only .zip/.egg/.jar
``--py-files`` on their path); docs/performance.md ("On a real cluster") has the recipe.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from spendsense.config import Settings, load_settings
from spendsense.pipeline import RunSummary, persona_counts
from spendsense.spark.engine import run_spark, spark_session
from spendsense.store.chunked import CONTRACT_TABLES, sort_output
from spendsense.store.db import connect
from spendsense.store.files import write_parquet_atomic
from spendsense.store.ledger import LEDGER_DIR, current_ledger
from spendsense.store.outputs import FEATURES_DIR, StageOutputs
from spendsense.store.runs import record_run
from spendsense.store.writer import write_outputs

SPARK_DIR = "spark"


def read_spark_table(folder: Path) -> pl.DataFrame:
    """A table Spark wrote as ``<name>.parquet/part-*.parquet`` (sorted like the embedded files)."""
    return sort_output(pl.read_parquet(sorted(folder.glob("*.parquet"))))


def run_with_spark(
    settings: Settings,
    ledger_path: Path | None = None,
    as_of: date | None = None,
    sqlite: bool = True,
    master: str | None = "local[*]",
    log: Callable[[str], object] = print,
    computed_at: datetime | None = None,
    *,
    force: bool = False,
) -> RunSummary:
    """``spendsense run --engine spark``: Spark computes, outputs land where the embedded run puts them.

    Without ``ledger_path`` the ledger is DIR/ledger (re-exported from SQLite when stale).
    With SQLite the whole frames come back and go through ``store.writer.write_outputs`` (SQLite and
    Parquet, as the embedded engine stores them); without, the contract's Parquet files
    are written from Spark's folders.
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if ledger_path is None:
        current_ledger(connect(settings.db_path), settings.data_dir)
        ledger_path = settings.data_dir / LEDGER_DIR
    computed_at = computed_at or datetime.now(UTC).replace(microsecond=0)
    out = settings.data_dir / SPARK_DIR / computed_at.strftime("%Y%m%dT%H%M%S")
    spark = spark_session(master)
    timings["start spark"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    result = run_spark(
        spark,
        str(ledger_path),
        str(out),
        settings,
        computed_at,
        as_of=as_of,
        operational=sqlite,
        force=force,
    )
    timings["spark: signals + personas + recommendations"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    tables = {name: read_spark_table(out / f"{name}.parquet") for name in result.rows}
    features = {n: f for n, f in tables.items() if n not in (*CONTRACT_TABLES, *_FULL)}
    if sqlite:
        outputs = StageOutputs(
            features,
            tables["assignments_full"],
            {
                "recommendations": tables["recommendations_full"],
                "traces": tables["traces"],
                "exclusions": tables["exclusions"],
            },
        )
        conn = connect(settings.db_path)
        write_outputs(conn, settings.data_dir / FEATURES_DIR, outputs, result.as_of)
        record_run(
            conn,
            as_of=result.as_of,
            windows=settings.windows,
            config_version=settings.version,
            computed_at=computed_at,
            users=result.users,
        )
    else:
        target = settings.data_dir / FEATURES_DIR
        target.mkdir(parents=True, exist_ok=True)
        for name in (*features, *CONTRACT_TABLES):
            if name in tables:
                write_parquet_atomic(tables[name], target / f"{name}.parquet")
    shutil.rmtree(out, ignore_errors=True)
    timings["store"] = time.perf_counter() - t2
    counts = persona_counts(tables["persona_assignments"])
    return RunSummary(result.as_of, settings.windows, result.users, timings, counts)


_FULL = ("assignments_full", "recommendations_full", "traces", "exclusions")


def main(argv: list[str] | None = None) -> int:
    """Run every stage on Spark over a canonical Parquet ledger and write Parquet outputs."""
    parser = argparse.ArgumentParser(prog="spendsense.spark.job", description=main.__doc__)
    parser.add_argument("--ledger", required=True, help="Folder of <table>.parquet or <table>/")
    parser.add_argument("--out", required=True, help="Output folder (<table>.parquet folders)")
    parser.add_argument("--as-of", type=date.fromisoformat, default=None)
    parser.add_argument(
        "--computed-at",
        type=datetime.fromisoformat,
        default=None,
        help="ISO timestamp stamped on outputs (default: now, UTC)",
    )
    parser.add_argument("--config", type=Path, default=None, help="Settings YAML/JSON")
    parser.add_argument("--content", type=Path, default=None, help="Catalog folder")
    parser.add_argument("--partitions", type=int, default=None)
    parser.add_argument("--chunk-users", type=int, default=None)
    parser.add_argument(
        "--master", default=None, help="e.g. local[2]; default: what spark-submit set"
    )
    parser.add_argument(
        "--operational",
        action="store_true",
        help="Also write whole frames (traces, exclusions, ...) for the SQLite store",
    )
    args = parser.parse_args(argv)
    settings = load_settings(args.config)
    update: dict[str, object] = {}
    if args.content is not None:
        update["content_dir"] = args.content
    if args.chunk_users is not None:
        update["chunk_users"] = args.chunk_users
    settings = settings.model_copy(update=update)
    computed_at = args.computed_at or datetime.now(UTC).replace(microsecond=0)
    if computed_at.tzinfo is None:
        computed_at = computed_at.replace(tzinfo=UTC)
    spark = spark_session(args.master)
    t0 = time.perf_counter()
    result = run_spark(
        spark,
        args.ledger,
        args.out,
        settings,
        computed_at,
        as_of=args.as_of,
        partitions=args.partitions,
        operational=args.operational,
    )
    summary = {
        "as_of": result.as_of.isoformat(),
        "computed_at": computed_at.isoformat(),
        "users": result.users,
        "partitions": result.partitions,
        "rows": result.rows,
        "seconds": round(time.perf_counter() - t0, 2),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
