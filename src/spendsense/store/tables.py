"""The stored stage outputs, listed once: table, columns, key, Parquet copy, what revocation removes.

Writers, the revocation purge, sort orders and column lists read this registry; the DDL
itself is frozen in :mod:`spendsense.store.migrations` and ``tests/store/test_schema.py``
checks that the migrated database has exactly these tables, columns and keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from spendsense.personas.assign import ASSIGNMENT_COLUMNS
from spendsense.recommend.engine import RECOMMENDATION_COLUMNS, TRACE_COLUMNS
from spendsense.signals.schema import FEATURE_KEYS, FEATURE_TABLES


@dataclass(frozen=True)
class Table:
    """One stored output table.

    Attributes:
        name: the SQLite table.
        columns: the columns a run writes (the table may add bookkeeping ones, e.g. ``version``).
        key: the primary key (or the UNIQUE key a run upserts on).
        parquet: file stem of the Parquet copy under DIR/features (``store.outputs.FEATURES_DIR``);
            None: SQLite only.
        parquet_columns: the columns of the Parquet copy (None: ``columns``).
        revoked: whether revoking consent removes the user's rows (False: the table holds no
            user's data). A revocation removes every row of the user in every table with a
            user_id outside ``store.consents.RETAINED_ON_REVOKE`` (the consent tests pin the
            list), ``kept`` rows included: nothing derived from the data survives it.
        kept: rows that stay as the record of what a customer was shown when a run's outputs
            are deleted, as an SQL condition; ``{scope}`` stands for the removal's own condition.
    """

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    parquet: str | None = None
    parquet_columns: tuple[str, ...] | None = None
    revoked: bool = True
    kept: str | None = None

    def removal(self, scope: str) -> str:
        """``DELETE`` of this table's rows matching ``scope`` (an SQL condition), keeping ``kept``."""
        keep = f" AND NOT ({self.kept.format(scope=scope)})" if self.kept else ""
        return f"DELETE FROM {self.name} WHERE {scope}{keep}"

    @property
    def parquet_file(self) -> str:
        """``<stem>.parquet`` (only for tables with a Parquet copy)."""
        if self.parquet is None:
            raise ValueError(f"{self.name} has no Parquet copy")
        return f"{self.parquet}.parquet"

    @property
    def parquet_subset(self) -> tuple[str, ...]:
        return self.parquet_columns or self.columns

    @property
    def sort_key(self) -> tuple[str, ...]:
        """How the rows are ordered when written: as-of date, user, window, then the rest of the key."""
        first = tuple(c for c in ("as_of_date", "user_id", "window_days") if c in self.columns)
        return (*first, *(c for c in self.key if c not in first))


FEATURES: Final[dict[str, Table]] = {
    family: Table(f"feature_{family}", tuple(schema), FEATURE_KEYS[family], parquet=family)
    for family, schema in FEATURE_TABLES.items()
}
"""One table per signal family (``feature_<family>``), keyed like ``signals.schema``."""

PERSONA_ASSIGNMENTS: Final = Table(
    "persona_assignments",
    ASSIGNMENT_COLUMNS,
    ("user_id", "window_days", "as_of_date"),
    parquet="persona_assignments",
    # The Parquet copy is for analytics: no trace, no surrogate id (ARCHITECTURE.md, outputs).
    parquet_columns=tuple(
        c for c in ASSIGNMENT_COLUMNS if c not in ("assignment_id", "assignment_trace")
    ),
)

RECOMMENDATIONS: Final = Table(
    "recommendations",
    tuple(RECOMMENDATION_COLUMNS),
    ("user_id", "window_days", "as_of_date", "item_id"),
    parquet="recommendations",
    parquet_columns=(
        "user_id",
        "window_days",
        "as_of_date",
        "kind",
        "item_id",
        "title",
        "rationale",
        "disclosure",
        "rank",
        "status",
        "trace_id",
    ),  # fmt: skip  (the contract's columns, ARCHITECTURE.md)
    kept="status = 'delivered'",  # what was shown stays as the record of it
)

DECISION_TRACES: Final = Table(
    "decision_traces",
    tuple(TRACE_COLUMNS),
    ("trace_id",),
    # removed after recommendations: the traces of the items that stayed are kept with them
    kept="trace_id IN (SELECT trace_id FROM recommendations WHERE {scope} AND trace_id IS NOT NULL)",
)

ELIGIBILITY_EXCLUSIONS: Final = Table(
    "eligibility_exclusions",
    ("user_id", "window_days", "as_of_date", "item_id", "reason"),
    ("user_id", "window_days", "as_of_date", "item_id", "reason"),
)

PIPELINE_RUNS: Final = Table(
    "pipeline_runs",
    ("run_id", "as_of_date", "windows", "config_version", "started_at", "finished_at", "users"),
    ("run_id",),
    revoked=False,  # no user's data: when and how a run happened
)

OUTPUT_TABLES: Final[tuple[Table, ...]] = (
    *FEATURES.values(),
    PERSONA_ASSIGNMENTS,
    RECOMMENDATIONS,
    DECISION_TRACES,
    ELIGIBILITY_EXCLUSIONS,
    PIPELINE_RUNS,
)
"""Every stored stage output, in the order removals clear them (traces after recommendations)."""
