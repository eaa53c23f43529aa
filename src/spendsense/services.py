"""Service functions shared by the CLI and the web app: orchestrate stages and the store.

Heavy modules (Polars, the ledger store) are imported where they are used: the consent
commands import this module and must start fast (docs/decisions.md, CLI start-up).
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from spendsense.errors import OwnershipConflict, UserError
from spendsense.store import consents
from spendsense.store.audit import append_audit
from spendsense.store.db import connect, transaction
from spendsense.store.outcome import ApplyOutcome

if TYPE_CHECKING:
    import polars as pl

    from spendsense.config import Settings
    from spendsense.ingest.ownership import OwnerLookup
    from spendsense.ingest.quarantine import RejectGroup
    from spendsense.ledger.batch import Reject


@dataclass
class IngestReport:
    """Loaded and rejected counts per table, what happened to users, and where rejects went."""

    per_table: dict[str, tuple[int, int]] = field(default_factory=dict)
    quarantine: Path | None = None
    run_id: str = ""
    reasons: list[RejectGroup] = field(default_factory=list)  # rejects grouped by cause
    outcome: ApplyOutcome = field(default_factory=ApplyOutcome)
    warnings: list[str] = field(default_factory=list)

    @property
    def total_loaded(self) -> int:
        return sum(loaded for loaded, _ in self.per_table.values())

    @property
    def total_rejected(self) -> int:
        return sum(rejected for _, rejected in self.per_table.values())


def owner_lookup(conn: sqlite3.Connection) -> OwnerLookup:
    """The store's owners of ids, for ``ingest.ownership`` (one query per table and chunk)."""
    import polars as pl

    keys = {
        "accounts": "account_id",
        "transactions": "transaction_id",
        "removed_transactions": "transaction_id",
    }

    def lookup(table: str, ids: pl.Series) -> pl.DataFrame:
        key = keys[table]
        rows = []  # an empty table (a first load) owns nothing: no need to send it the ids
        if conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None:
            rows = conn.execute(
                f"SELECT {key}, user_id FROM {table} WHERE {key} IN "
                "(SELECT value FROM json_each(?))",
                (json.dumps(ids.cast(pl.String).unique().to_list()),),
            ).fetchall()
        return pl.DataFrame(
            [tuple(r) for r in rows], schema={"id": pl.String, "user_id": pl.String}, orient="row"
        )

    return lookup


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
    actor: str = "cli",
    strict_owner: bool = False,
) -> IngestReport:
    """Read, validate and load files; the ledger changes in one transaction or not at all.

    ``progress(step, done, total)`` is told each file read, then each later step (total 0).

    Files are read and validated a chunk at a time (``chunk_files``/``chunk_rows``, see
    ``ingest_chunks``) and staged outside the ledger, so memory does not grow with the
    input; the staged rows are applied together at the end.

    Ownership: a record that names another user, or whose id or account is another
    user's, is rejected (``ingest.ownership``); with ``strict_owner`` (uploads) any such
    record refuses the whole input with ``OwnershipConflict`` and nothing is written.
    Consent: a bundle's ``consent`` sets it for users the bundle creates; for a stored
    user a bundle's revocation goes through the consent service (audited, purged) and a
    bundle's grant is ignored with a warning. Every ingest that loads rows is audited.
    """
    from spendsense.ingest import ingest_chunks
    from spendsense.ingest.quarantine import Quarantine
    from spendsense.ledger.schema import TABLES
    from spendsense.store.ledger import export_parquet, staging

    conn = connect(settings.db_path)
    known_accounts = {r[0] for r in conn.execute("SELECT account_id FROM accounts")}
    known_users = {r[0] for r in conn.execute("SELECT user_id FROM users")}
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    started = datetime.now(UTC).isoformat()
    rejected: dict[str, int] = {}
    quarantined = Quarantine(settings.data_dir, run_id)
    outcome = ApplyOutcome()
    try:
        with staging(conn, settings.data_dir if export else None) as stage:
            for batch in ingest_chunks(
                paths,
                user_id=user_id,
                mapping=mapping,
                known_account_ids=known_accounts,
                known_user_ids=known_users,
                chunk_files=chunk_files,
                chunk_rows=chunk_rows,
                on_file=None if progress is None else lambda n, of: progress("reading", n, of),
                owner_lookup=owner_lookup(conn),
                staged_lookup=stage.staged_ids,
                staged_owners=stage.staged_owners,
            ):
                if strict_owner:
                    _refuse_foreign(batch.rejects)
                if batch.rejects:  # a bundle replaces a ledger only when all of it loaded:
                    batch.snapshots = []  # a rejected record must not delete its stored one
                stage.add(batch)
                quarantined.add(batch.rejects)
                for reject in batch.rejects:
                    rejected[reject.table] = rejected.get(reject.table, 0) + 1
                del batch  # staged: let it go before the next chunk is validated
            if progress is not None:
                progress("loading into the ledger", 0, 0)
            written = {} if stage.empty else stage.apply()
            outcome = stage.outcome
            published = stage.published is not None
    except BaseException:
        quarantined.discard()
        raise
    quarantine = quarantined.close()
    report = IngestReport(
        run_id=run_id, quarantine=quarantine, reasons=quarantined.summary(), outcome=outcome
    )
    for table in [*TABLES, *sorted(set(rejected) - set(TABLES))]:
        loaded, bad = written.get(table, 0), rejected.get(table, 0)
        if loaded or bad or table in ("users", "accounts", "transactions"):
            report.per_table[table] = (loaded, bad)
    report.warnings += outcome.identity_changes
    report.warnings += [
        f"{u}: the input says consent granted; a stored user's consent changes only through "
        "`spendsense consent`, the console or the customer (kept as it was)"
        for u in outcome.ignored_grants
    ]
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
    if written:
        _audit_ingest(conn, report, actor)
    for user in outcome.bundle_revocations:
        consents.change_consent(
            conn, user, "revoke", source="bundle", actor=f"ingest:{run_id}",
            reason="the input records a revocation",
        )  # fmt: skip
    # a load into an empty ledger wrote its Parquet copies from its own frames (Stage); any
    # other reads the ledger back, or leaves it to the next batch run (VERSION differs)
    if written and export and not published:
        if progress is not None:
            progress("writing the Parquet copies", 0, 0)
        export_parquet(conn, settings.data_dir)
    return report


def _refuse_foreign(rejects: list[Reject]) -> None:
    """Uploads are all or nothing on ownership: name the records and write nothing."""
    foreign = [r for r in rejects if r.kind == "ownership"]
    if foreign:
        named = "; ".join(f"{r.position}: {r.reason}" for r in foreign[:5])
        more = f" (and {len(foreign) - 5} more)" if len(foreign) > 5 else ""
        raise OwnershipConflict(f"nothing was loaded: {named}{more}", field=foreign[0].position)


def _audit_ingest(conn: sqlite3.Connection, report: IngestReport, actor: str) -> None:
    """One audit entry per ingest that changed the ledger: counts and the users it touched."""
    out = report.outcome
    with transaction(conn):
        append_audit(
            conn,
            actor=actor,
            action="ingest.load",
            target_type="ingest",
            target_id=report.run_id,
            after={
                "loaded": report.total_loaded,
                "rejected": report.total_rejected,
                "new_users": out.new_users[:100],
                "updated_users": out.updated_users[:100],
                "new_user_count": len(out.new_users),
                "updated_user_count": len(out.updated_users),
                "unchanged_user_count": len(out.unchanged_users),
                "identity_changes": len(out.identity_changes),
            },
        )


def change_consent(
    settings: Settings | Callable[[], Settings],
    user_id: str,
    action: str,
    *,
    source: str,
    actor: str,
    reason: str | None = None,
    db_path: Path | None = None,
) -> dict[str, object]:
    """Change consent through the one consent service; a grant recomputes the user at once.

    Revoking purges everything derived (``store.consents.change_consent``); granting then
    computes the user's signals, personas and recommendations from their ledger, so the
    page they return to is current rather than empty or stale. The CLI passes ``db_path``
    and a function that builds the settings, so a revocation never builds them (start-up).
    """
    conn = connect(db_path if db_path is not None else _settings(settings).db_path)
    result = consents.change_consent(
        conn, user_id, action, source=source, actor=actor, reason=reason
    )
    result["recomputed"] = False
    if result["status"] == "granted":
        from spendsense import pipeline  # the stages: Polars, only when there is work

        try:
            pipeline.recompute_user(_settings(settings), user_id)
            result["recomputed"] = True
        except UserError:  # no transactions yet: nothing to compute until data arrives
            pass
    return result


def _settings(settings: Settings | Callable[[], Settings]) -> Settings:
    return settings() if callable(settings) else settings
