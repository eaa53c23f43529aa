"""Consent: the current state on users and the full history (who, when, how) in consents."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

from spendsense.errors import NotFound, UserError
from spendsense.store.db import bump_version, transaction

CONSENT_ACTIONS = {"grant": "granted", "revoke": "revoked"}
# Derived data removed when consent is revoked (delivered recommendations stay as the record of what was shown).
DERIVED_TABLES = (
    "feature_subscriptions",
    "feature_savings",
    "feature_credit",
    "feature_credit_cards",
    "feature_income",
    "feature_cash_flow",
    "feature_recurring_streams",
)


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
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    removed = 0
    for table in DERIVED_TABLES:
        if table in tables:
            removed += conn.execute(f"DELETE FROM {table} WHERE user_id = ?", (user_id,)).rowcount
    if "recommendations" in tables:
        removed += conn.execute(
            "DELETE FROM recommendations WHERE user_id = ? AND status != 'delivered'", (user_id,)
        ).rowcount
    if "eligibility_exclusions" in tables:
        removed += conn.execute(
            "DELETE FROM eligibility_exclusions WHERE user_id = ?", (user_id,)
        ).rowcount
    if "decision_traces" in tables:  # the traces of delivered items stay with them
        removed += conn.execute(
            "DELETE FROM decision_traces WHERE user_id = ? AND trace_id NOT IN"
            " (SELECT trace_id FROM recommendations WHERE user_id = ? AND trace_id IS NOT NULL)",
            (user_id, user_id),
        ).rowcount
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
