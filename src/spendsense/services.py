"""Service functions shared by the CLI and the web app: orchestrate stages and the store."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from spendsense.config import Settings
from spendsense.ledger.schema import TABLES
from spendsense.store.db import connect
from spendsense.store.ledger import apply_batch, export_parquet


@dataclass
class IngestReport:
    """Loaded and rejected counts per table, and where the rejects went."""

    per_table: dict[str, tuple[int, int]] = field(default_factory=dict)
    quarantine: Path | None = None
    run_id: str = ""

    @property
    def total_loaded(self) -> int:
        return sum(loaded for loaded, _ in self.per_table.values())

    @property
    def total_rejected(self) -> int:
        return sum(rejected for _, rejected in self.per_table.values())


def ingest_into_store(
    settings: Settings,
    paths: list[Path],
    *,
    user_id: str | None = None,
    mapping: Path | None = None,
    export: bool = True,
) -> IngestReport:
    """Read, validate and load files; the ledger changes in one transaction or not at all."""
    from spendsense.ingest import ingest_paths, write_quarantine

    conn = connect(settings.db_path)
    known_accounts = {r[0] for r in conn.execute("SELECT account_id FROM accounts")}
    known_users = {r[0] for r in conn.execute("SELECT user_id FROM users")}
    batch = ingest_paths(
        paths,
        user_id=user_id,
        mapping=mapping,
        known_account_ids=known_accounts,
        known_user_ids=known_users,
    )
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    started = datetime.now(UTC).isoformat()
    rejected: dict[str, int] = {}
    for reject in batch.rejects:
        rejected[reject.table] = rejected.get(reject.table, 0) + 1
    written = (
        apply_batch(conn, batch)
        if any(batch.counts().values()) or batch.removed_transaction_ids
        else {}
    )
    quarantine = (
        write_quarantine(batch.rejects, settings.data_dir, run_id) if batch.rejects else None
    )
    report = IngestReport(run_id=run_id, quarantine=quarantine)
    for table in [*TABLES, *sorted(set(rejected) - set(TABLES))]:
        loaded, bad = written.get(table, 0), rejected.get(table, 0)
        if loaded or bad or table in ("users", "accounts", "transactions"):
            report.per_table[table] = (loaded, bad)
    conn.execute(
        "INSERT INTO ingest_runs VALUES (?,?,?,?,?,?)",
        (
            run_id,
            started,
            datetime.now(UTC).isoformat(),
            len(paths),
            report.total_loaded,
            report.total_rejected,
        ),
    )
    if written and export:  # otherwise the next batch run re-exports (ledger VERSION differs)
        export_parquet(conn, settings.data_dir)
    return report
