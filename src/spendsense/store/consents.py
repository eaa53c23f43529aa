"""Consent: the one service that changes it, for every source, and what a revocation removes.

Every consent change — CLI, API, console, the customer's page, a bundle's ``consent``
field — goes through ``change_consent``: it records who, when (server time) and why in
the consent history and the audit log, and on revocation removes everything derived from
the user's data from SQLite and from every Parquet copy, all under the writer lock, before
it returns. What stays is the record a bank must keep and that holds no financial values:
the user row, the ledger itself, the consent history and the audit log.
"""

from __future__ import annotations

import importlib
import sqlite3

from spendsense.errors import UserError, unknown
from spendsense.store.audit import append_audit, now_iso
from spendsense.store.db import CONSENT_WAIT_S, bump_version, transaction, writer_lock

CONSENT_ACTIONS = {"grant": "granted", "revoke": "revoked"}
SOURCES = ("cli", "api", "console", "web", "bundle")
# Tables with a user_id that a revocation keeps: the user, their ledger (the bank's own
# records, not derived), the consent history and the sync state. Every other table with a
# user_id holds something derived from the user's data and is emptied for the user.
RETAINED_ON_REVOKE = frozenset(
    {
        "users",
        "accounts",
        "transactions",
        "liabilities_credit",
        "liabilities_mortgage",
        "liabilities_student",
        "consents",
        "sync_cursors",
        "removed_transactions",
        "liabilities_other",
        "customer_sessions",  # credentials: a customer who opts out can still opt back in
        "ledger_changes",  # the mark that the user's Parquet copy is stale (the revocation's own)
    }
)


def derived_tables(conn: sqlite3.Connection) -> list[str]:
    """Every table holding data derived from a user's ledger (purged on revocation)."""
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return sorted(
        t
        for t in tables
        if t not in RETAINED_ON_REVOKE
        and any(c[1] == "user_id" for c in conn.execute(f'PRAGMA table_info("{t}")'))
    )


def change_consent(
    conn: sqlite3.Connection,
    user_id: str,
    action: str,
    *,
    source: str,
    actor: str,
    reason: str | None = None,
) -> dict[str, object]:
    """Grant or revoke consent: history row, audit entry and (on revoke) the purge, atomically.

    The SQLite part is one transaction; the Parquet purge follows under the same writer
    lock, so no run, export or other revocation interleaves, and when this returns the
    user's rows are gone from every file.
    """
    if action not in CONSENT_ACTIONS:
        raise UserError(f"consent action must be grant or revoke, not {action!r}", field="action")
    if source not in SOURCES:
        raise UserError(f"consent source must be one of {', '.join(SOURCES)}", field="source")
    status = CONSENT_ACTIONS[action]
    if (
        status == "revoked"
        and conn.execute("SELECT 1 FROM users WHERE user_id = ?", (user_id,)).fetchone()
    ):
        # Load the Parquet purge (Polars) before taking the writer lock: on a busy machine
        # the import takes seconds, and every other writer would wait them out. Not for an
        # unknown user: a mistyped id stays a fast command.
        importlib.import_module("spendsense.store.outputs")
    with writer_lock(conn, wait_s=CONSENT_WAIT_S):  # waits for a running ingest or run
        when = now_iso()
        with transaction(conn):
            row = conn.execute(
                "SELECT consent_status FROM users WHERE user_id = ?", (user_id,)
            ).fetchone()
            if row is None:
                raise unknown("user", user_id, field="user_id")
            conn.execute("UPDATE users SET consent_status = ? WHERE user_id = ?", (status, user_id))
            conn.execute(
                "INSERT OR IGNORE INTO consents (user_id, status, changed_at, source, actor)"
                " VALUES (?,?,?,?,?)",
                (user_id, status, when, source, actor),
            )
            removed = purge_derived(conn, user_id) if status == "revoked" else 0
            bump_version(conn)  # the Parquet copy of users is stale now
            append_audit(
                conn,
                actor=actor,
                action=f"consent.{action}",
                target_type="user",
                target_id=user_id,
                before={"consent_status": row[0]},
                after={"consent_status": status, "source": source},
                reason=reason
                or (f"removed {removed} derived rows" if status == "revoked" else None),
            )
        if status == "revoked":
            # imported here: Polars is needed only to purge Parquet, and a consent command must
            # start fast (docs/decisions.md, "CLI start-up: heavy imports where they are used");
            # for a known user it was loaded before the lock (above)
            from spendsense.store.outputs import features_dir_of, purge_user_parquet

            features = features_dir_of(conn)
            if features is not None and features.exists():
                removed += purge_user_parquet(features, user_id)
    return {
        "user_id": user_id,
        "status": status,
        "changed_at": when,
        "source": source,
        "removed_rows": removed,
        "before": row[0],
    }


def purge_derived(conn: sqlite3.Connection, user_id: str) -> int:
    """Delete the user's rows from every derived table (inside the caller's transaction)."""
    return sum(
        conn.execute(f'DELETE FROM "{t}" WHERE user_id = ?', (user_id,)).rowcount
        for t in derived_tables(conn)
    )


def consent_history(conn: sqlite3.Connection, user_id: str) -> list[dict[str, object]]:
    """Every consent change for a user, oldest first (server time, so the order is true)."""
    rows = conn.execute(
        "SELECT status, changed_at, source, actor FROM consents WHERE user_id = ?"
        " ORDER BY changed_at, rowid",
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


def granted_among(conn: sqlite3.Connection, user_ids: list[str] | None) -> set[str]:
    """Which of ``user_ids`` (or of every user, for None) have consent granted right now."""
    granted = set(consented_user_ids(conn))
    return granted if user_ids is None else granted & set(user_ids)
