"""Consent: the current state on users and the full history (who, when, how) in consents."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

from spendsense.errors import NotFound, UserError
from spendsense.store.db import bump_version, transaction

CONSENT_ACTIONS = {"grant": "granted", "revoke": "revoked"}


def set_consent(
    conn: sqlite3.Connection,
    user_id: str,
    action: str,
    *,
    source: str,
    actor: str,
    at: datetime | None = None,
    audit: Callable[[sqlite3.Connection, dict[str, object]], None] | None = None,
) -> dict[str, object]:
    """Grant or revoke consent; revoking removes the user's derived data and undelivered recommendations at once.

    ``audit``, when given, runs inside the same transaction with the result, so the change
    and its audit entry commit together or not at all.
    """
    if action not in CONSENT_ACTIONS:
        raise UserError(f"consent action must be grant or revoke, not {action!r}", field="action")
    status = CONSENT_ACTIONS[action]
    when = (at or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    removed = 0
    with transaction(conn):
        row = conn.execute(
            "SELECT consent_status FROM users WHERE user_id = ?", (user_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"unknown user {user_id!r}")
        conn.execute("UPDATE users SET consent_status = ? WHERE user_id = ?", (status, user_id))
        conn.execute(
            "INSERT OR IGNORE INTO consents (user_id, status, changed_at, source, actor) VALUES (?,?,?,?,?)",
            (user_id, status, when, source, actor),
        )
        if status == "revoked":
            removed = _remove_derived(conn, user_id)
        bump_version(conn)  # the Parquet copy of users is stale now
        result: dict[str, object] = {
            "user_id": user_id,
            "status": status,
            "changed_at": when,
            "source": source,
            "removed_rows": removed,
            "before": row[0],
        }
        if audit is not None:
            audit(conn, result)
    if status == "revoked":  # the analytics copies too, at once (a rerun rewrites them as well)
        # imported here: Polars is needed only to purge Parquet, and a consent command must
        # start fast (docs/decisions.md, "CLI start-up: heavy imports where they are used")
        from spendsense.store.outputs import features_dir_of, purge_user_parquet

        features = features_dir_of(conn)
        if features is not None and features.exists():
            result["removed_rows"] = removed + purge_user_parquet(features, user_id)
    return result


def _remove_derived(conn: sqlite3.Connection, user_id: str) -> int:
    """Delete what the table registry says a revocation removes, table by table, in its order."""
    # imported here: the registry reads the stage schemas (Polars), and a consent command must
    # start fast (docs/decisions.md, "CLI start-up: heavy imports where they are used")
    from spendsense.store.tables import OUTPUT_TABLES

    removed = 0
    for table in OUTPUT_TABLES:
        if table.revoked:
            removed += conn.execute(table.removal("user_id = :user"), {"user": user_id}).rowcount
    return removed


def consent_history(conn: sqlite3.Connection, user_id: str) -> list[dict[str, object]]:
    """Every consent change for a user, oldest first."""
    rows = conn.execute(
        "SELECT status, changed_at, source, actor FROM consents WHERE user_id = ? ORDER BY changed_at",
        (user_id,),
    ).fetchall()
    return [dict(r) for r in rows]


def is_consented(conn: sqlite3.Connection, user_id: str) -> bool:
    row = conn.execute("SELECT consent_status FROM users WHERE user_id = ?", (user_id,)).fetchone()
    return bool(row and row[0] == "granted")


def consented_user_ids(conn: sqlite3.Connection) -> list[str]:
    """Users with granted consent, sorted (SQLite is authoritative: consent changes outside ingest)."""
    rows = conn.execute(
        "SELECT user_id FROM users WHERE consent_status = 'granted' ORDER BY user_id"
    )
    return [r[0] for r in rows]
