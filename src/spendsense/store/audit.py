"""The append-only audit log: every operator action, chained by sha256 so edits and deletions show."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
HEAD_KEY = "audit_head"
ROW_FIELDS = (
    "seq",
    "at",
    "actor",
    "action",
    "target_type",
    "target_id",
    "before",
    "after",
    "reason",
)


@dataclass(frozen=True)
class AuditEntry:
    """One audit row as it is stored (before/after are JSON text)."""

    seq: int
    at: str
    actor: str
    action: str
    target_type: str
    target_id: str
    before: str | None
    after: str | None
    reason: str | None
    prev_hash: str
    hash: str


def canonical(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, UTF-8 kept; the same value always hashes the same."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def row_hash(prev_hash: str, row: dict[str, Any]) -> str:
    """sha256(prev_hash + canonical JSON of the row's fields)."""
    body = canonical({k: row.get(k) for k in ROW_FIELDS})
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def append_audit(
    conn: sqlite3.Connection,
    *,
    actor: str,
    action: str,
    target_type: str,
    target_id: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> AuditEntry:
    """Append one entry; call inside the caller's transaction so the action and its record commit together."""
    last = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    prev_hash = last["hash"] if last else GENESIS
    row: dict[str, Any] = {
        "seq": (last["seq"] + 1) if last else 1,
        "at": now_iso(),
        "actor": actor,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "before": canonical(before) if before is not None else None,
        "after": canonical(after) if after is not None else None,
        "reason": reason,
    }
    digest = row_hash(prev_hash, row)
    conn.execute(
        "INSERT INTO audit_log (seq, at, actor, action, target_type, target_id, before, after,"
        " reason, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (*(row[k] for k in ROW_FIELDS), prev_hash, digest),
    )
    # The head anchor catches deletion of the newest rows, which the chain alone cannot see.
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (HEAD_KEY, f"{row['seq']}:{digest}"),
    )
    return AuditEntry(**row, prev_hash=prev_hash, hash=digest)


def verify_audit_chain(conn: sqlite3.Connection) -> tuple[bool, list[str]]:
    """Recompute every hash in order; report each edit, deletion or reordering found."""
    problems: list[str] = []
    prev_hash = GENESIS
    expected_seq = 1
    last_seq, last_hash = 0, GENESIS
    for r in conn.execute("SELECT * FROM audit_log ORDER BY seq"):
        row = dict(r)
        if row["seq"] != expected_seq:
            problems.append(f"rows {expected_seq}..{row['seq'] - 1} are missing (deleted?)")
        if row["prev_hash"] != prev_hash:
            problems.append(f"row {row['seq']}: prev_hash does not match the row before it")
        if row_hash(row["prev_hash"], row) != row["hash"]:
            problems.append(f"row {row['seq']}: contents do not match its hash (edited?)")
        prev_hash = row["hash"]
        expected_seq = row["seq"] + 1
        last_seq, last_hash = row["seq"], row["hash"]
    head = conn.execute("SELECT value FROM meta WHERE key = ?", (HEAD_KEY,)).fetchone()
    if head is not None and head[0] != f"{last_seq}:{last_hash}":
        problems.append(f"the newest row should be {head[0].split(':')[0]} but is {last_seq}")
    if head is None and last_seq:
        problems.append("the audit head anchor is missing")
    return (not problems, problems)


def list_audit(
    conn: sqlite3.Connection,
    *,
    action: str | None = None,
    actor: str | None = None,
    target_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[AuditEntry], int]:
    """Audit entries, newest first, filtered; with the total count for paging."""
    where, args = _filters(action=action, actor=actor, target_id=target_id)
    total = conn.execute(f"SELECT COUNT(*) FROM audit_log{where}", args).fetchone()[0]
    rows = conn.execute(
        f"SELECT * FROM audit_log{where} ORDER BY seq DESC LIMIT ? OFFSET ?",
        (*args, limit, offset),
    ).fetchall()
    return [AuditEntry(**dict(r)) for r in rows], int(total)


def _filters(**values: str | None) -> tuple[str, tuple[str, ...]]:
    """Exact matches, except ``action``: any part of it ("flag" finds flag and unflag)."""
    clauses, args = [], []
    for name, value in values.items():
        if not value:
            continue
        if name == "action":
            escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append("action LIKE ? ESCAPE '\\'")
            args.append(f"%{escaped}%")
        else:
            clauses.append(f"{name} = ?")
            args.append(value)
    return ((" WHERE " + " AND ".join(clauses)) if clauses else ""), tuple(args)
