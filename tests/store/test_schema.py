"""The frozen migrations build exactly the tables the registries describe, and revocation clears
every table that holds a user's derived data."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from spendsense.ledger.schema import PRIMARY_KEYS, TABLES
from spendsense.store import migrations
from spendsense.store.consents import RETAINED_ON_REVOKE, change_consent
from spendsense.store.db import apply_migrations, connect
from spendsense.store.tables import OUTPUT_TABLES, Table

BOOKKEEPING = {"recommendations": {"version", "updated_at"}}
"""Columns the store adds beyond what a run writes."""
# Tables with a user_id outside the output registry: the ones a revocation keeps on purpose
# (store.consents.RETAINED_ON_REVOKE: the ledger, who they are, consent history, sync state,
# sign-in sessions) and the customer's feedback, which it removes (derived from their page).
UNREGISTERED_REMOVED = {"feedback"}


@pytest.fixture
def conn() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:", isolation_level=None)
    apply_migrations(db)
    return db


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


def _keys(conn: sqlite3.Connection, table: str) -> set[tuple[str, ...]]:
    """The primary key and every UNIQUE index, as column tuples."""
    info = conn.execute(f"PRAGMA table_info({table})").fetchall()
    keys = {tuple(r[1] for r in sorted(info, key=lambda r: r[5]) if r[5])}
    for index in conn.execute(f"PRAGMA index_list({table})").fetchall():
        if index[2]:  # unique
            keys.add(tuple(r[2] for r in conn.execute(f"PRAGMA index_info({index[1]})")))
    return keys


def test_migrations_are_text_fixed_when_they_shipped() -> None:
    assert all(isinstance(sql, str) for sql in migrations.MIGRATIONS)
    assert migrations.MIGRATIONS[1] is migrations.FEATURES


@pytest.mark.parametrize("table", OUTPUT_TABLES, ids=lambda t: t.name)
def test_each_output_table_has_the_registry_columns_and_key(
    conn: sqlite3.Connection, table: Table
) -> None:
    stored = _columns(conn, table.name)
    assert set(stored) - set(table.columns) == BOOKKEEPING.get(table.name, set())
    assert [c for c in stored if c in table.columns] == list(table.columns)
    assert table.key in _keys(conn, table.name)
    assert set(table.parquet_subset) <= set(table.columns)


@pytest.mark.parametrize("name", list(TABLES))
def test_each_ledger_table_matches_the_ledger_schema(conn: sqlite3.Connection, name: str) -> None:
    assert _columns(conn, name) == list(TABLES[name])
    assert PRIMARY_KEYS[name] in _keys(conn, name)


def test_every_table_with_user_data_is_in_a_registry(conn: sqlite3.Connection) -> None:
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    with_users = {n for n in names if "user_id" in _columns(conn, n)}
    registered = {t.name for t in OUTPUT_TABLES}
    assert with_users - registered == RETAINED_ON_REVOKE | UNREGISTERED_REMOVED


def test_revoking_consent_clears_every_revoked_table(tmp_path: Path) -> None:
    conn = connect(tmp_path / "spendsense.db")
    for user in ("u1", "u2"):
        conn.execute("INSERT INTO users (user_id, consent_status) VALUES (?, 'granted')", (user,))
    for table in OUTPUT_TABLES:
        if "user_id" not in table.columns:
            continue
        for user in ("u1", "u2"):
            for status in ("proposed", "delivered"):
                row = {c: f"{user}-{table.name}-{status}-{c}" for c in table.columns}
                row |= {"user_id": user, "window_days": 30, "as_of_date": "2025-06-30"}
                if table.name == "recommendations":
                    row |= {"kind": "offer", "rank": 1, "status": status,
                            "trace_id": f"t-{user}-{status}"}  # fmt: skip
                elif table.name == "decision_traces":
                    row["trace_id"] = f"t-{user}-{status}"
                for number in ("window_days", "rank", "rank_score", "primary_persona_id"):
                    row[number] = 30 if number in row else None
                cols = [c for c in table.columns if row.get(c) is not None]
                quoted = ", ".join(f'"{c}"' for c in cols)
                conn.execute(
                    f"INSERT OR IGNORE INTO {table.name} ({quoted}) "
                    f"VALUES ({', '.join('?' * len(cols))})",
                    [row[c] for c in cols],
                )
    change_consent(conn, "u1", "revoke", source="cli", actor="test")

    def count(table: str, user: str) -> int:
        return int(
            conn.execute(f"SELECT COUNT(*) FROM {table} WHERE user_id = ?", (user,)).fetchone()[0]
        )

    for table in OUTPUT_TABLES:
        if "user_id" not in table.columns:
            continue
        assert count(table.name, "u2") > 0, table.name  # nobody else's rows are touched
        # everything derived goes, delivered items included (issue 12: nothing survives it)
        assert count(table.name, "u1") == 0, table.name
