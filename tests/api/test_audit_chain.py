"""The audit log's hash chain: verifies clean, and catches edits and deletions (triggers bypassed)."""

from __future__ import annotations

import sqlite3

import pytest
from apiseed import Seeded

from spendsense.store.audit import append_audit, verify_audit_chain
from spendsense.store.db import transaction


def _fill(conn: sqlite3.Connection, n: int = 4) -> None:
    for i in range(n):
        with transaction(conn):
            append_audit(conn, actor="alice", action="recommendation.flag", target_type="recommendation",
                         target_id=f"r{i}", before={"status": "proposed"}, after={"status": "flagged"},
                         reason=f"reason {i}")  # fmt: skip


def _drop_triggers(conn: sqlite3.Connection) -> None:
    conn.execute("DROP TRIGGER audit_log_no_update")
    conn.execute("DROP TRIGGER audit_log_no_delete")


def test_clean_chain_verifies(seeded: Seeded) -> None:
    _fill(seeded.conn)
    assert verify_audit_chain(seeded.conn) == (True, [])


def test_triggers_block_update_and_delete(seeded: Seeded) -> None:
    _fill(seeded.conn)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        seeded.conn.execute("UPDATE audit_log SET reason = 'x'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        seeded.conn.execute("DELETE FROM audit_log")


def test_edit_is_detected(seeded: Seeded) -> None:
    _fill(seeded.conn)
    _drop_triggers(seeded.conn)
    seeded.conn.execute("UPDATE audit_log SET reason = 'nothing to see' WHERE seq = 3")
    ok, problems = verify_audit_chain(seeded.conn)
    assert not ok and any("row 3" in p and "edited" in p for p in problems)


def test_edit_with_recomputed_hash_breaks_the_next_link(seeded: Seeded) -> None:
    from spendsense.store.audit import row_hash

    _fill(seeded.conn)
    _drop_triggers(seeded.conn)
    row = dict(seeded.conn.execute("SELECT * FROM audit_log WHERE seq = 2").fetchone())
    row["actor"] = "mallory"
    seeded.conn.execute("UPDATE audit_log SET actor = ?, hash = ? WHERE seq = 2",
                        ("mallory", row_hash(row["prev_hash"], row)))  # fmt: skip
    ok, problems = verify_audit_chain(seeded.conn)
    assert not ok and any("row 3" in p and "prev_hash" in p for p in problems)


def test_middle_deletion_is_detected(seeded: Seeded) -> None:
    _fill(seeded.conn)
    _drop_triggers(seeded.conn)
    seeded.conn.execute("DELETE FROM audit_log WHERE seq = 2")
    ok, problems = verify_audit_chain(seeded.conn)
    assert not ok and any("missing" in p for p in problems)


def test_tail_deletion_is_detected(seeded: Seeded) -> None:
    _fill(seeded.conn)
    _drop_triggers(seeded.conn)
    seeded.conn.execute("DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)")
    ok, problems = verify_audit_chain(seeded.conn)
    assert not ok and any("newest row" in p for p in problems)
