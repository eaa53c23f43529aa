"""Read the stored outputs (SQLite and ground-truth Parquet) into frames, whole tables at once."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from spendsense.signals.schema import FEATURE_TABLES
from spendsense.store.db import connect
from spendsense.store.reads import feature_table
from spendsense.store.tables import RECOMMENDATIONS

PERSONA_COLUMNS = (
    "user_id", "window_days", "as_of_date", "primary_persona_id", "primary_persona_name",
    "secondary_persona_id", "secondary_persona_name", "status", "assignment_trace",
)  # fmt: skip
REC_COLUMNS = ("recommendation_id", *RECOMMENDATIONS.parquet_subset, "rank_score")
"""Stored recommendation columns the metrics read (rank_score: the customer's page merge)."""
"""A stored recommendation as the report reads it: its id and the contract's columns."""


@dataclass
class Stored:
    """Everything the metrics read, filtered to one as-of date."""

    as_of: date | None
    users: pl.DataFrame
    consents: pl.DataFrame
    assignments: pl.DataFrame
    recommendations: pl.DataFrame
    traces: pl.DataFrame
    exclusions: pl.DataFrame
    features: dict[str, pl.DataFrame]
    runs: pl.DataFrame
    truth_users: pl.DataFrame | None = None
    truth_streams: pl.DataFrame | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def consented(self) -> pl.DataFrame:
        """user_id and demographics of users whose consent is granted now."""
        return self.users.filter(pl.col("consent_status") == "granted")


def query(conn: sqlite3.Connection, sql: str, params: tuple[object, ...] = ()) -> pl.DataFrame:
    """A SQL query as a frame; column names kept even when no row matches."""
    cur = conn.execute(sql, params)
    names = [d[0] for d in cur.description]
    rows = [tuple(r) for r in cur.fetchall()]
    if not rows:
        return pl.DataFrame(schema={n: pl.String for n in names})
    return pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)


def _dated(frame: pl.DataFrame, as_of: date | None) -> pl.DataFrame:
    """Parse ``as_of_date`` and keep the rows at ``as_of``."""
    if "as_of_date" not in frame.columns:
        return frame
    frame = frame.with_columns(pl.col("as_of_date").cast(pl.String).str.to_date())
    return frame if as_of is None else frame.filter(pl.col("as_of_date") == as_of)


def newest_as_of(conn: sqlite3.Connection) -> date | None:
    """The as-of date evaluated: newest persona assignment, else newest pipeline run."""
    row = conn.execute("SELECT MAX(as_of_date) FROM persona_assignments").fetchone()
    if row and row[0]:
        return date.fromisoformat(str(row[0])[:10])
    row = conn.execute("SELECT MAX(as_of_date) FROM pipeline_runs").fetchone()
    return date.fromisoformat(str(row[0])[:10]) if row and row[0] else None


def _feature(conn: sqlite3.Connection, name: str, as_of: date | None) -> pl.DataFrame:
    """A feature table cast to its declared schema."""
    frame = feature_table(conn, name)
    return frame if as_of is None else frame.filter(pl.col("as_of_date") == as_of)


def _int_cols(frame: pl.DataFrame, *names: str) -> pl.DataFrame:
    return frame.with_columns(pl.col(n).cast(pl.Int64, strict=False) for n in names)


def load_stored(data_dir: Path, as_of: date | None = None) -> Stored:
    """Read users, assignments, recommendations, traces, features and ground truth."""
    conn = connect(data_dir / "spendsense.db")
    as_of = as_of or newest_as_of(conn)
    users = query(
        conn, "SELECT user_id, consent_status, age_band, gender, income_tier, region FROM users"
    )
    assignments = _int_cols(
        _dated(query(conn, f"SELECT {', '.join(PERSONA_COLUMNS)} FROM persona_assignments"), as_of),
        "window_days", "primary_persona_id", "secondary_persona_id",
    )  # fmt: skip
    recs = _int_cols(
        _dated(query(conn, f"SELECT {', '.join(REC_COLUMNS)} FROM recommendations"), as_of),
        "window_days", "rank",
    )  # fmt: skip
    traces = _int_cols(_dated(query(conn, "SELECT * FROM decision_traces"), as_of), "window_days")
    exclusions = _int_cols(
        _dated(query(conn, "SELECT * FROM eligibility_exclusions"), as_of), "window_days"
    )
    features = {name: _feature(conn, name, as_of) for name in FEATURE_TABLES}
    runs = query(conn, "SELECT * FROM pipeline_runs ORDER BY finished_at")
    consents = query(conn, "SELECT user_id, status, changed_at FROM consents")
    conn.close()
    stored = Stored(as_of, users, consents, assignments, recs, traces, exclusions, features, runs)
    truth_dir = data_dir / "raw" / "ground_truth"
    if (truth_dir / "users.parquet").exists():
        stored.truth_users = pl.read_parquet(truth_dir / "users.parquet")
    else:
        stored.notes.append("no ground truth at raw/ground_truth/users.parquet")
    if (truth_dir / "recurring_streams.parquet").exists():
        stored.truth_streams = pl.read_parquet(truth_dir / "recurring_streams.parquet")
    else:
        stored.notes.append("no ground truth at raw/ground_truth/recurring_streams.parquet")
    return stored
