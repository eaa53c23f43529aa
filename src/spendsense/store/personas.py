"""Persona assignments repository: SQLite upserts keyed by (user, window, as-of), Parquet copy, history."""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import Final

import polars as pl

from spendsense.store.db import transaction
from spendsense.store.outputs import insert_rows
from spendsense.store.tables import PERSONA_ASSIGNMENTS

TABLE: Final = "persona_assignments"
KEY: Final[tuple[str, ...]] = ("user_id", "window_days", "as_of_date")
PARQUET_NAME: Final = "persona_assignments.parquet"
STABLE_LABEL: Final = "STABLE"  # how a row without a primary persona reads in a transition

SCHEMA: Final[dict[str, pl.DataType]] = {
    "assignment_id": pl.String(),
    "user_id": pl.String(),
    "window_days": pl.Int32(),
    "as_of_date": pl.String(),
    "primary_persona_id": pl.Int32(),
    "primary_persona_name": pl.String(),
    "primary_priority": pl.String(),
    "primary_severity": pl.Float64(),
    "secondary_persona_id": pl.Int32(),
    "secondary_persona_name": pl.String(),
    "secondary_priority": pl.String(),
    "secondary_severity": pl.Float64(),
    "status": pl.String(),
    "assignment_trace": pl.String(),
    "computed_at": pl.String(),
}
# The stored columns are the registry's (store.tables); SCHEMA is how they read back.
ASSIGNMENT_COLUMNS: Final[tuple[str, ...]] = PERSONA_ASSIGNMENTS.columns
PARQUET_COLUMNS: Final[tuple[str, ...]] = PERSONA_ASSIGNMENTS.parquet_subset


def assignment_rows(assignments: pl.DataFrame) -> pl.DataFrame:
    """The rows ``upsert_assignments`` writes: the table's columns, one per key (the last)."""
    return assignments.select(ASSIGNMENT_COLUMNS).unique(
        subset=list(KEY), keep="last", maintain_order=True
    )


def upsert_assignments(
    conn: sqlite3.Connection, assignments: pl.DataFrame, *, source: str | None = None
) -> int:
    """Insert or replace rows by (user_id, window_days, as_of_date), all in one transaction.

    A rerun at the same as-of replaces that day's rows; a run at a new as-of adds rows, so
    the table accumulates one assignment per user, window and as-of date. ``source``: the
    rows (``assignment_rows``) as staged by ``outputs.bulk_sources``.
    """
    if assignments.height == 0:
        return 0
    frame = assignment_rows(assignments)
    updates = ", ".join(f"{c}=excluded.{c}" for c in ASSIGNMENT_COLUMNS if c not in KEY)
    upsert = f"ON CONFLICT({', '.join(KEY)}) DO UPDATE SET {updates}"
    if conn.in_transaction:
        return insert_rows(conn, TABLE, frame, on_conflict=upsert, source=source)
    with transaction(conn):
        return insert_rows(conn, TABLE, frame, on_conflict=upsert, source=source)


def _typed(frame: pl.DataFrame) -> pl.DataFrame:
    """Text dates from SQLite back to Date / Datetime."""
    return frame.with_columns(
        pl.col("as_of_date").str.to_date("%Y-%m-%d"),
        pl.col("computed_at").str.to_datetime(strict=False, time_zone="UTC"),
    )


def read_assignments(
    conn: sqlite3.Connection,
    *,
    user_id: str | None = None,
    window_days: int | None = None,
    as_of_date: date | None = None,
) -> pl.DataFrame:
    """Stored assignments, optionally for one user / window / as-of, sorted by the key."""
    where, params = [], []
    for col, value in (
        ("user_id", user_id),
        ("window_days", window_days),
        ("as_of_date", as_of_date.isoformat() if as_of_date else None),
    ):
        if value is not None:
            where.append(f"{col} = ?")
            params.append(value)
    sql = f"SELECT {', '.join(SCHEMA)} FROM {TABLE}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY user_id, window_days, as_of_date"
    rows = [tuple(r) for r in conn.execute(sql, params).fetchall()]
    return _typed(pl.DataFrame(rows, schema=SCHEMA, orient="row"))


def persona_history(conn: sqlite3.Connection, user_id: str) -> pl.DataFrame:
    """A user's assignments over as-of dates, per window, with the transition from the last one.

    Columns: window_days, as_of_date, primary/secondary ids and names, status,
    previous_primary_persona_id/name, changed (primary differs from the previous as-of;
    null on the first), transition ("Savings Builder -> High Utilization"; STABLE for none).
    """
    history = read_assignments(conn, user_id=user_id).sort("window_days", "as_of_date")
    label = pl.coalesce(pl.col("primary_persona_name"), pl.lit(STABLE_LABEL))
    previous = label.shift(1).over("window_days", order_by="as_of_date")
    prev_id = pl.col("primary_persona_id").shift(1).over("window_days", order_by="as_of_date")
    first = pl.int_range(pl.len()).over("window_days", order_by="as_of_date") == 0
    return history.select(
        "user_id",
        "window_days",
        "as_of_date",
        "primary_persona_id",
        "primary_persona_name",
        "primary_severity",
        "secondary_persona_id",
        "secondary_persona_name",
        "status",
        pl.when(first).then(None).otherwise(prev_id).alias("previous_primary_persona_id"),
        pl.when(first).then(None).otherwise(previous).alias("previous_primary"),
        pl.when(first).then(None).otherwise(previous != label).alias("changed"),
        pl.when(first)
        .then(pl.lit("-> ") + label)
        .otherwise(previous + pl.lit(" -> ") + label)
        .alias("transition"),
        "computed_at",
    )
