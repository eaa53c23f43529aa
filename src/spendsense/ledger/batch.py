"""What an ingest hands to the store: validated ledger frames plus removals and cursors."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from spendsense.ledger.schema import TABLES, conform, empty


@dataclass(frozen=True)
class Reject:
    """A record that failed validation: where it came from and why."""

    file: str
    position: str  # e.g. "transactions[12]" or "row 7"
    table: str
    reason: str
    record: object = None
    kind: str = "invalid"  # "ownership": the record names something that is another user's


@dataclass
class LedgerBatch:
    """Validated rows for each ledger table, applied by the store in one transaction."""

    frames: dict[str, pl.DataFrame] = field(default_factory=lambda: {t: empty(t) for t in TABLES})
    removed_transaction_ids: list[tuple[str, str]] = field(default_factory=list)  # (user, id)
    snapshots: list[str] = field(default_factory=list)  # users loaded from a bundle (whole ledger)
    cursors: list[tuple[str, str, str]] = field(
        default_factory=list
    )  # (user_id, item_id, next_cursor)
    rejects: list[Reject] = field(default_factory=list)

    def add(self, table: str, frame: pl.DataFrame) -> None:
        """Append rows (conformed to the table's schema)."""
        self.frames[table] = pl.concat([self.frames[table], conform(table, frame)], how="vertical")

    def extend(self, other: LedgerBatch) -> None:
        for table, frame in other.frames.items():
            if frame.height:
                self.frames[table] = pl.concat([self.frames[table], frame], how="vertical")
        self.removed_transaction_ids.extend(other.removed_transaction_ids)
        self.snapshots.extend(other.snapshots)
        self.cursors.extend(other.cursors)
        self.rejects.extend(other.rejects)

    def counts(self) -> dict[str, int]:
        return {t: f.height for t, f in self.frames.items()}
