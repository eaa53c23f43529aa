"""One run's outputs written: SQLite in one transaction, then the Parquet copies (atomic renames)."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import polars as pl

from spendsense.store.consents import granted_among
from spendsense.store.db import transaction, writer_lock
from spendsense.store.outputs import (
    StageOutputs,
    bulk_sources,
    drop_staged_users,
    merge_parquet,
    replace_rows,
)
from spendsense.store.personas import assignment_rows, upsert_assignments
from spendsense.store.recommendations import output_rows, store_recommendations
from spendsense.store.tables import FEATURES, PERSONA_ASSIGNMENTS, RECOMMENDATIONS, Table


def write_outputs(
    conn: sqlite3.Connection,
    features_dir: Path,
    outputs: StageOutputs,
    as_of: date,
    user_ids: list[str] | None = None,
    consented: list[str] | None = None,
) -> set[str]:
    """Write every output at ``as_of`` (for ``user_ids``, or everyone) in one SQLite transaction,
    then merge the Parquet copies under ``features_dir``; returns the users written.

    Consent is checked again inside the write transaction, under the writer lock that a
    revocation takes too: the outputs of a user who revoked while the stages ran are dropped,
    in SQLite and in Parquet, so a run that started before a revocation never undoes it.
    ``consented`` (a full run's population) also drops everyone else's older Parquet rows.

    Big frames reach SQLite as Arrow (``outputs.bulk_sources``), staged before the
    transaction opens (SQLite attaches only outside one) with the users granted at that
    moment, under the same writer lock; whoever the re-check inside the transaction no
    longer finds granted is deleted from the staged rows before they are copied.
    """
    scope = user_ids if user_ids is not None else consented
    with writer_lock(conn):
        staged = granted_among(conn, scope)
        outputs = only_users(outputs, staged)
        rows = _table_rows(outputs, as_of)
        with bulk_sources(conn, rows) as sources, transaction(conn):
            granted = granted_among(conn, scope)
            if granted != staged:
                drop_staged_users(conn, sources, staged - granted)
                outputs = only_users(outputs, granted)
                rows = _table_rows(outputs, as_of)
            _write_sqlite(conn, outputs, rows, sources, as_of, user_ids)
        population = sorted(granted) if consented is not None else None
        copies = [(FEATURES[name], frame) for name, frame in outputs.features.items()]
        if "recommendations" in outputs.extra:
            copies.append((RECOMMENDATIONS, outputs.extra["recommendations"]))
        copies.append((PERSONA_ASSIGNMENTS, outputs.assignments))
        for table, frame in copies:
            merge_parquet(
                features_dir, table, frame, as_of=as_of, user_ids=user_ids, consented=population
            )
    return granted


def only_users(outputs: StageOutputs, users: set[str]) -> StageOutputs:
    """The outputs of ``users`` only (every frame that has a user_id column)."""
    keep = pl.Series(sorted(users), dtype=pl.String)

    def cut(frame: pl.DataFrame) -> pl.DataFrame:
        return (
            frame.filter(pl.col("user_id").is_in(keep.implode())) if "user_id" in frame else frame
        )

    return StageOutputs(
        features={k: cut(v) for k, v in outputs.features.items()},
        assignments=cut(outputs.assignments),
        extra={k: cut(v) for k, v in outputs.extra.items()},
    )


def _table_rows(outputs: StageOutputs, as_of: date) -> dict[Table, pl.DataFrame]:
    """The rows each output table receives."""
    rows = {FEATURES[name]: frame for name, frame in outputs.features.items()}
    rows[PERSONA_ASSIGNMENTS] = assignment_rows(outputs.assignments)
    extra = outputs.extra
    if "recommendations" in extra:
        rows |= output_rows(extra["recommendations"], extra["traces"], extra["exclusions"], as_of)
    return rows


def _write_sqlite(
    conn: sqlite3.Connection,
    outputs: StageOutputs,
    rows: dict[Table, pl.DataFrame],
    sources: dict[str, str],
    as_of: date,
    user_ids: list[str] | None,
) -> None:
    """Every output table (inside the caller's transaction); ``sources``: the staged big frames."""
    for name in outputs.features:
        table = FEATURES[name]
        replace_rows(
            conn,
            table.name,
            rows[table],
            as_of=as_of,
            user_ids=user_ids,
            source=sources.get(table.name),
        )
    if user_ids is None:
        conn.execute(
            f"DELETE FROM {PERSONA_ASSIGNMENTS.name} WHERE as_of_date = ?", (as_of.isoformat(),)
        )
    upsert_assignments(
        conn, rows[PERSONA_ASSIGNMENTS], source=sources.get(PERSONA_ASSIGNMENTS.name)
    )
    extra = outputs.extra
    if "recommendations" in extra:
        store_recommendations(
            conn,
            extra["recommendations"],
            extra["traces"],
            extra["exclusions"],
            as_of=as_of,
            user_ids=user_ids,
            sources=sources,
        )
