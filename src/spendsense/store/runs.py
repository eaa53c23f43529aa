"""Pipeline runs: list them, and delete one as-of date's outputs (a run made by mistake)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from spendsense.errors import NotFound
from spendsense.store.audit import append_audit
from spendsense.store.db import transaction, writer_lock


def record_run(
    conn: sqlite3.Connection,
    *,
    as_of: date,
    windows: list[int],
    config_version: str,
    computed_at: datetime,
    users: int,
) -> None:
    """A pipeline_runs row (what ``newest_run_as_of`` reads)."""
    conn.execute(
        "INSERT OR REPLACE INTO pipeline_runs VALUES (?,?,?,?,?,?,?)",
        (
            computed_at.strftime("%Y%m%dT%H%M%S") + f"-{as_of.isoformat()}",
            as_of.isoformat(),
            ",".join(map(str, windows)),
            config_version,
            computed_at.isoformat(),
            datetime.now(UTC).isoformat(),
            users,
        ),
    )


def newest_run_as_of(conn: sqlite3.Connection) -> date | None:
    """The as-of date of the newest pipeline run, if any."""
    row = conn.execute(
        "SELECT as_of_date FROM pipeline_runs ORDER BY finished_at DESC LIMIT 1"
    ).fetchone()
    return date.fromisoformat(row[0]) if row else None


@dataclass(frozen=True)
class RunRow:
    """One as-of date with stored outputs."""

    as_of_date: str
    runs: int
    last_finished_at: str | None
    users: int | None
    assignments: int
    recommendations: int


@dataclass(frozen=True)
class Deleted:
    """What ``delete_run`` removed (rows per table) and kept."""

    as_of_date: str
    rows: dict[str, int]
    parquet_rows: int
    kept_delivered: int

    @property
    def total(self) -> int:
        return sum(self.rows.values()) + self.parquet_rows


def list_runs(conn: sqlite3.Connection) -> list[RunRow]:
    """Every as-of date with outputs, newest first (from the outputs, not only pipeline_runs)."""
    rows = conn.execute(
        """
        WITH dates AS (
            SELECT as_of_date FROM pipeline_runs UNION SELECT as_of_date FROM persona_assignments
            UNION SELECT as_of_date FROM recommendations
        )
        SELECT d.as_of_date,
               (SELECT COUNT(*) FROM pipeline_runs p WHERE p.as_of_date = d.as_of_date) AS runs,
               (SELECT MAX(finished_at) FROM pipeline_runs p WHERE p.as_of_date = d.as_of_date)
                   AS last_finished_at,
               (SELECT users FROM pipeline_runs p WHERE p.as_of_date = d.as_of_date
                ORDER BY finished_at DESC LIMIT 1) AS users,
               (SELECT COUNT(*) FROM persona_assignments a WHERE a.as_of_date = d.as_of_date)
                   AS assignments,
               (SELECT COUNT(*) FROM recommendations r WHERE r.as_of_date = d.as_of_date)
                   AS recommendations
        FROM dates d ORDER BY d.as_of_date DESC
        """
    ).fetchall()
    return [RunRow(**dict(r)) for r in rows]


def delete_run(conn: sqlite3.Connection, features_dir: Path, as_of: date, *, actor: str) -> Deleted:
    """Remove every output at ``as_of`` from SQLite (one audited transaction), then from Parquet.

    Delivered recommendations and their traces are kept: a customer has seen them.
    """
    day = as_of.isoformat()
    if not any(r.as_of_date == day for r in list_runs(conn)):
        raise NotFound(f"no run outputs as of {day} (see `spendsense runs list`)", field="as_of")
    # imported here: the registry reads the stage schemas (Polars); `runs list` must start fast
    from spendsense.store.tables import OUTPUT_TABLES

    removed: dict[str, int] = {}
    with writer_lock(conn):  # the SQLite removal and the Parquet purge, never beside a revocation
        with transaction(conn):
            kept = conn.execute(
                "SELECT COUNT(*) FROM recommendations WHERE as_of_date = ? AND status = 'delivered'",
                (day,),
            ).fetchone()[0]
            for table in OUTPUT_TABLES:  # every output, delivered items and their traces kept
                n = conn.execute(table.removal("as_of_date = :day"), {"day": day}).rowcount
                if n:
                    removed[table.name] = n
            append_audit(
                conn, actor=actor, action="run.delete", target_type="run", target_id=day,
                after={"removed_rows": removed, "kept_delivered": kept},
                reason="run outputs deleted from the command line",
            )  # fmt: skip
        parquet = _purge_parquet(features_dir, as_of)
    return Deleted(day, removed, parquet, int(kept))


def _purge_parquet(features_dir: Path, as_of: date) -> int:
    """Drop the rows at ``as_of`` from every Parquet output, each file replaced atomically."""
    if not features_dir.exists():
        return 0
    import polars as pl  # only here: listing runs must not pay for Polars

    from spendsense.store.outputs import drop_parquet_rows

    return drop_parquet_rows(
        features_dir, pl.col("as_of_date").cast(pl.String) == as_of.isoformat()
    )
