"""Service functions shared by the CLI and the web app: orchestrate stages and the store."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from spendsense.config import Settings
from spendsense.ingest.quarantine import RejectGroup
from spendsense.ledger.schema import TABLES
from spendsense.store.db import connect
from spendsense.store.ledger import export_parquet, staging


@dataclass
class IngestReport:
    """Loaded and rejected counts per table, and where the rejects went."""

    per_table: dict[str, tuple[int, int]] = field(default_factory=dict)
    quarantine: Path | None = None
    run_id: str = ""
    reasons: list[RejectGroup] = field(default_factory=list)  # rejects grouped by cause

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
    chunk_files: int | None = None,
    chunk_rows: int | None = None,
    progress: Callable[[str, int, int], object] | None = None,
) -> IngestReport:
    """Read, validate and load files; the ledger changes in one transaction or not at all.

    ``progress(step, done, total)`` is told each file read, then each later step (total 0).

    Files are read and validated a chunk at a time (``chunk_files``/``chunk_rows``, see
    ``ingest_chunks``) and staged outside the ledger, so memory does not grow with the
    input; the staged rows are applied together at the end.
    """
    from spendsense.ingest import ingest_chunks
    from spendsense.ingest.quarantine import Quarantine

    conn = connect(settings.db_path)
    known_accounts = {r[0] for r in conn.execute("SELECT account_id FROM accounts")}
    known_users = {r[0] for r in conn.execute("SELECT user_id FROM users")}
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    started = datetime.now(UTC).isoformat()
    rejected: dict[str, int] = {}
    quarantined = Quarantine(settings.data_dir, run_id)
    try:
        with staging(conn) as stage:
            for batch in ingest_chunks(
                paths,
                user_id=user_id,
                mapping=mapping,
                known_account_ids=known_accounts,
                known_user_ids=known_users,
                chunk_files=chunk_files,
                chunk_rows=chunk_rows,
                on_file=None if progress is None else lambda n, of: progress("reading", n, of),
            ):
                stage.add(batch)
                quarantined.add(batch.rejects)
                for reject in batch.rejects:
                    rejected[reject.table] = rejected.get(reject.table, 0) + 1
            if progress is not None:
                progress("loading into the ledger", 0, 0)
            written = {} if stage.empty else stage.apply()
    except BaseException:
        quarantined.discard()
        raise
    quarantine = quarantined.close()
    report = IngestReport(run_id=run_id, quarantine=quarantine, reasons=quarantined.summary())
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
        if progress is not None:
            progress("writing the Parquet copies", 0, 0)
        export_parquet(conn, settings.data_dir)
    return report
