"""Recommendations, decision traces and eligibility exclusions from a run."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import date

import polars as pl

from spendsense.store.outputs import insert_rows
from spendsense.store.tables import (
    DECISION_TRACES,
    ELIGIBILITY_EXCLUSIONS,
    RECOMMENDATIONS,
    Table,
)

IGNORE = "INSERT OR IGNORE"  # reviewed items and their traces are never overwritten


def _scope(as_of: date, user_ids: list[str] | None) -> tuple[str, list[tuple[object, ...]]]:
    if user_ids is None:
        return "as_of_date = ?", [(as_of.isoformat(),)]
    return "as_of_date = ? AND user_id = ?", [(as_of.isoformat(), u) for u in user_ids]


def output_rows(
    recommendations: pl.DataFrame, traces: pl.DataFrame, exclusions: pl.DataFrame, as_of: date
) -> dict[Table, pl.DataFrame]:
    """The rows ``store_recommendations`` writes, per table."""
    return {
        RECOMMENDATIONS: recommendations.select(RECOMMENDATIONS.columns),
        DECISION_TRACES: traces.select(DECISION_TRACES.columns),
        ELIGIBILITY_EXCLUSIONS: exclusions.with_columns(as_of_date=pl.lit(as_of)).select(
            ELIGIBILITY_EXCLUSIONS.columns
        ),
    }


def store_recommendations(
    conn: sqlite3.Connection,
    recommendations: pl.DataFrame,
    traces: pl.DataFrame,
    exclusions: pl.DataFrame,
    *,
    as_of: date,
    user_ids: list[str] | None = None,
    sources: Mapping[str, str] | None = None,
) -> int:
    """Replace the proposals at ``as_of``; items an operator already reviewed are kept as they are.

    Call inside a transaction. A rerun re-proposes only what nobody has acted on: an
    approved, overridden, flagged or delivered item keeps its row and its original trace.
    ``sources``: the rows (``output_rows``) as staged by ``outputs.bulk_sources``.
    """
    where, params = _scope(as_of, user_ids)
    conn.executemany(
        f"DELETE FROM decision_traces WHERE trace_id IN "
        f"(SELECT trace_id FROM recommendations WHERE {where} AND status = 'proposed')",
        params,
    )
    conn.executemany(f"DELETE FROM recommendations WHERE {where} AND status = 'proposed'", params)
    conn.executemany(f"DELETE FROM eligibility_exclusions WHERE {where}", params)
    sources = sources or {}
    before = conn.total_changes
    for table, frame in output_rows(recommendations, traces, exclusions, as_of).items():
        insert_rows(conn, table.name, frame, verb=IGNORE, source=sources.get(table.name))
        if table is RECOMMENDATIONS:
            inserted = conn.total_changes - before
    return inserted
