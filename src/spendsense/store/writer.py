"""One run's outputs written: SQLite in one transaction, then the Parquet copies (atomic renames)."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

from spendsense.store.db import transaction
from spendsense.store.outputs import StageOutputs, merge_parquet, replace_rows
from spendsense.store.personas import upsert_assignments
from spendsense.store.recommendations import store_recommendations
from spendsense.store.tables import FEATURES, PERSONA_ASSIGNMENTS, RECOMMENDATIONS


def write_outputs(
    conn: sqlite3.Connection,
    features_dir: Path,
    outputs: StageOutputs,
    as_of: date,
    user_ids: list[str] | None = None,
    consented: list[str] | None = None,
) -> None:
    """Write every output at ``as_of`` (for ``user_ids``, or everyone) in one SQLite transaction,
    then merge the Parquet copies under ``features_dir``.

    ``consented`` (a full run's population) also drops everyone else's older Parquet rows.
    """
    with transaction(conn):
        for name, frame in outputs.features.items():
            replace_rows(conn, FEATURES[name].name, frame, as_of=as_of, user_ids=user_ids)
        if user_ids is None:
            conn.execute(
                f"DELETE FROM {PERSONA_ASSIGNMENTS.name} WHERE as_of_date = ?", (as_of.isoformat(),)
            )
        upsert_assignments(conn, outputs.assignments)
        if "recommendations" in outputs.extra:
            store_recommendations(
                conn,
                outputs.extra["recommendations"],
                outputs.extra["traces"],
                outputs.extra["exclusions"],
                as_of=as_of,
                user_ids=user_ids,
            )
    copies = [(FEATURES[name], frame) for name, frame in outputs.features.items()]
    if "recommendations" in outputs.extra:
        copies.append((RECOMMENDATIONS, outputs.extra["recommendations"]))
    copies.append((PERSONA_ASSIGNMENTS, outputs.assignments))
    for table, frame in copies:
        merge_parquet(
            features_dir, table, frame, as_of=as_of, user_ids=user_ids, consented=consented
        )
