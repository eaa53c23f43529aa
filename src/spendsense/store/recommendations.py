"""Recommendations, decision traces and eligibility exclusions from a run."""

from __future__ import annotations

import sqlite3
from datetime import date

import polars as pl

from spendsense.store.outputs import insert_rows
from spendsense.store.tables import DECISION_TRACES, ELIGIBILITY_EXCLUSIONS, RECOMMENDATIONS

IGNORE = "INSERT OR IGNORE"  # reviewed items and their traces are never overwritten


def _scope(as_of: date, user_ids: list[str] | None) -> tuple[str, list[tuple[object, ...]]]:
    if user_ids is None:
        return "as_of_date = ?", [(as_of.isoformat(),)]
    return "as_of_date = ? AND user_id = ?", [(as_of.isoformat(), u) for u in user_ids]


def store_recommendations(
    conn: sqlite3.Connection,
    recommendations: pl.DataFrame,
    traces: pl.DataFrame,
    exclusions: pl.DataFrame,
    *,
    as_of: date,
    user_ids: list[str] | None = None,
) -> int:
    """Replace the proposals at ``as_of``; items an operator already reviewed are kept as they are.

    Call inside a transaction. A rerun re-proposes only what nobody has acted on: an
    approved, overridden, flagged or delivered item keeps its row and its original trace.
    """
    where, params = _scope(as_of, user_ids)
    conn.executemany(
        f"DELETE FROM decision_traces WHERE trace_id IN "
        f"(SELECT trace_id FROM recommendations WHERE {where} AND status = 'proposed')",
        params,
    )
    conn.executemany(f"DELETE FROM recommendations WHERE {where} AND status = 'proposed'", params)
    conn.executemany(f"DELETE FROM eligibility_exclusions WHERE {where}", params)
    before = conn.total_changes
    recs = recommendations.select(RECOMMENDATIONS.columns)
    insert_rows(conn, RECOMMENDATIONS.name, recs, verb=IGNORE)
    inserted = conn.total_changes - before
    insert_rows(conn, DECISION_TRACES.name, traces.select(DECISION_TRACES.columns), verb=IGNORE)
    if exclusions.height:
        excl = exclusions.with_columns(as_of_date=pl.lit(as_of))
        insert_rows(
            conn,
            ELIGIBILITY_EXCLUSIONS.name,
            excl.select(ELIGIBILITY_EXCLUSIONS.columns),
            verb=IGNORE,
        )
    return inserted
