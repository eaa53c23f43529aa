"""Pipeline runs: list them, and delete one as-of date's outputs (a run made by mistake)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from spendsense.errors import NotFound
from spendsense.store.audit import append_audit
from spendsense.store.consents import DERIVED_TABLES
from spendsense.store.db import transaction

# Every table a run writes at its as-of date (recommendations and traces apart: delivered
# items stay, they are the record of what a customer was shown).
RUN_TABLES = (*DERIVED_TABLES, "persona_assignments", "eligibility_exclusions", "pipeline_runs")


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
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    removed: dict[str, int] = {}
    with transaction(conn):
        for table in RUN_TABLES:
            if table in tables:
                n = conn.execute(f"DELETE FROM {table} WHERE as_of_date = ?", (day,)).rowcount
                if n:
                    removed[table] = n
        kept = conn.execute(
            "SELECT COUNT(*) FROM recommendations WHERE as_of_date = ? AND status = 'delivered'",
            (day,),
        ).fetchone()[0]
        removed["recommendations"] = conn.execute(
            "DELETE FROM recommendations WHERE as_of_date = ? AND status != 'delivered'", (day,)
        ).rowcount
        removed["decision_traces"] = conn.execute(
            "DELETE FROM decision_traces WHERE as_of_date = ? AND trace_id NOT IN"
            " (SELECT trace_id FROM recommendations WHERE as_of_date = ?)",
            (day, day),
        ).rowcount
        removed = {k: v for k, v in removed.items() if v}
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

    removed = 0
    for path in sorted(features_dir.glob("*.parquet")):
        frame = pl.read_parquet(path)
        if "as_of_date" not in frame.columns:
            continue
        keep = frame.filter(pl.col("as_of_date").cast(pl.String) != as_of.isoformat())
        if keep.height == frame.height:
            continue
        tmp = path.with_name(f".{path.name}.tmp")
        keep.write_parquet(tmp)
        tmp.replace(path)
        removed += frame.height - keep.height
    return removed
