"""The ledger's Parquet copies follow SQLite by the users that changed, whatever changed them.

Every insert, update and delete of a ledger table marks its user (SQLite triggers); an
export rewrites only the marked users' rows and clears the marks it read. The property
checked after every entry point's change: the copies equal the ledger read back, table for
table, and the export that made them was incremental.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import spendsense.store.ledger as ledger
from spendsense.config import Settings
from spendsense.ledger.schema import PRIMARY_KEYS, TABLES
from spendsense.services import ingest_into_store
from spendsense.store import consents, oversight
from spendsense.store.db import connect, ledger_version
from spendsense.store.ledger import LEDGER_DIR, current_ledger, export_parquet, read_table
from spendsense.synth import generate_population

EVENTS = ("insert", "update", "delete")


def marked(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT user_id FROM ledger_changes")}


def assert_copies_are_the_ledger(conn: sqlite3.Connection, data: Path) -> None:
    for table in TABLES:
        copy = pl.read_parquet(data / LEDGER_DIR / f"{table}.parquet")
        assert copy.sort(PRIMARY_KEYS[table]).equals(read_table(conn, table)), table


@pytest.fixture
def exports(monkeypatch: pytest.MonkeyPatch) -> list[int | None]:
    """What each export read: a mark of ``ledger_changes`` (incremental) or None (every table)."""
    seen: list[int | None] = []
    real = ledger._export_tables_arrow

    def spy(conn: sqlite3.Connection, out: Path, changed: int | None) -> bool:
        seen.append(changed)
        return real(conn, out, changed)

    monkeypatch.setattr(ledger, "_export_tables_arrow", spy)
    return seen


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("population")
    generate_population(12, 5, root / "raw", fmt="plaid-json")
    return root / "raw" / "bundles"


@pytest.fixture
def loaded(bundles: Path, tmp_path: Path) -> tuple[Settings, sqlite3.Connection]:
    """A ledger loaded into an empty store: its copies were published from the frames."""
    settings = Settings(data_dir=tmp_path / "data")
    ingest_into_store(settings, [bundles])
    return settings, connect(settings.db_path)


def test_every_ledger_table_marks_its_users_on_insert_update_and_delete(
    loaded: tuple[Settings, sqlite3.Connection],
) -> None:
    _, conn = loaded
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
    assert {f"{t}_changes_{e}" for t in TABLES for e in EVENTS} <= names
    conn.execute("PRAGMA foreign_keys=OFF")  # rows taken out and put back, parents included
    for table in TABLES:
        cols = ", ".join(TABLES[table])
        row = conn.execute(f"SELECT rowid, {cols} FROM {table} LIMIT 1").fetchone()
        if row is None:
            continue  # (the generator writes no liabilities_other: the names above hold)
        rowid = row[0]
        user = dict(zip(TABLES[table], row[1:], strict=True))["user_id"]
        steps = {
            "update": (f"UPDATE {table} SET user_id = user_id WHERE rowid = ?", (rowid,)),
            "delete": (f"DELETE FROM {table} WHERE rowid = ?", (rowid,)),
            "insert": (
                f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' * len(TABLES[table]))})",
                tuple(row[1:]),
            ),
        }
        for event, (sql, params) in steps.items():
            conn.execute("DELETE FROM ledger_changes")
            conn.execute(sql, params)
            assert marked(conn) == {user}, (table, event)
    conn.execute("PRAGMA foreign_keys=ON")


def test_a_load_into_an_empty_ledger_leaves_nothing_to_export(
    loaded: tuple[Settings, sqlite3.Connection], exports: list[int | None]
) -> None:
    settings, conn = loaded
    version = (settings.data_dir / LEDGER_DIR / "VERSION").read_text()
    files = {
        t: (settings.data_dir / LEDGER_DIR / f"{t}.parquet").stat().st_mtime_ns for t in TABLES
    }
    assert marked(conn) == set()  # its rows went in unmarked: the copies were its own
    current_ledger(conn, settings.data_dir)
    assert exports == []
    assert (settings.data_dir / LEDGER_DIR / "VERSION").read_text() == version
    assert files == {
        t: (settings.data_dir / LEDGER_DIR / f"{t}.parquet").stat().st_mtime_ns for t in TABLES
    }
    assert_copies_are_the_ledger(conn, settings.data_dir)


def _bundle(bundles: Path, user: str) -> dict[str, Any]:
    return json.loads(next(bundles.rglob(f"{user}.json")).read_text())


def test_copies_follow_every_entry_point_by_its_users_only(
    loaded: tuple[Settings, sqlite3.Connection],
    bundles: Path,
    tmp_path: Path,
    exports: list[int | None],
) -> None:
    settings, conn = loaded
    users = [r[0] for r in conn.execute("SELECT user_id FROM users ORDER BY user_id")]
    more = tmp_path / "more"
    more.mkdir()
    # a bundle that changes one transaction and drops another (a snapshot: the dropped goes)
    first = _bundle(bundles, users[0])
    first["transactions"][0]["amount"] = 4321.09
    gone = first["transactions"].pop()["transaction_id"]
    (more / f"{users[0]}.json").write_text(json.dumps(first))
    # a sync page that removes one of another user's transactions
    second = _bundle(bundles, users[1])
    removed = second["transactions"][0]["transaction_id"]
    sync = {"removed": [{"transaction_id": removed}]}
    (more / f"{users[1]}.sync.json").write_text(json.dumps(sync))
    # a sync page that only changes a value (no snapshot, no twin): the upsert alone marks
    third = next(
        t
        for t in _bundle(bundles, users[3])["transactions"]
        if not t.get("pending") and not t.get("pending_transaction_id")
    )
    modified = {"modified": [{**third, "amount": 1234.56}]}
    (more / f"{users[3]}.sync.json").write_text(json.dumps(modified))
    steps = [
        ({*users[:2], users[3]}, lambda: ingest_into_store(settings, [more], export=False)),
        ({users[2]}, lambda: consents.change_consent(conn, users[2], "revoke", source="cli", actor="t")),
        ({"u_new"}, lambda: oversight.create_user(conn, "u_new", {"name": "New"}, actor="t")),
        ({users[2]}, lambda: consents.change_consent(conn, users[2], "grant", source="cli", actor="t")),
    ]  # fmt: skip
    for touched, change in steps:
        change()
        assert marked(conn) == touched
        exports.clear()
        current_ledger(conn, settings.data_dir)
        assert exports and all(e is not None for e in exports), "incremental, not a full export"
        assert marked(conn) == set()
        assert_copies_are_the_ledger(conn, settings.data_dir)
    ids = pl.read_parquet(settings.data_dir / LEDGER_DIR / "transactions.parquet")["transaction_id"]
    assert gone not in ids and removed not in ids
    assert (settings.data_dir / LEDGER_DIR / "VERSION").read_text() == str(ledger_version(conn))


def test_an_ingest_that_marks_most_users_exports_every_table(
    loaded: tuple[Settings, sqlite3.Connection], bundles: Path, exports: list[int | None]
) -> None:
    """Past ``MERGE_SHARE`` of the users, reading them by index and merging costs more."""
    settings, conn = loaded
    ingest_into_store(settings, [bundles])  # the same bundles again: upserts, every user marked
    assert exports == [None]
    assert marked(conn) == set()
    assert_copies_are_the_ledger(conn, settings.data_dir)


def test_a_change_made_during_an_export_keeps_its_mark(
    loaded: tuple[Settings, sqlite3.Connection], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The export reads the marks up to a rowid, and clears only those: a user changed again
    while it writes (another connection, after its snapshot) stays marked for the next."""
    settings, conn = loaded
    users = [r[0] for r in conn.execute("SELECT user_id FROM users ORDER BY user_id LIMIT 2")]
    conn.execute("UPDATE users SET name = 'Before' WHERE user_id = ?", (users[0],))
    other = connect(settings.db_path)
    real = ledger._merge_users
    writes: list[str] = []

    def merge_then_write(copy: Path, theirs: Path, marked_users: pl.Series) -> None:
        real(copy, theirs, marked_users)
        if not writes:  # once, after the export's snapshot: the same user and another
            for user in users:
                other.execute("UPDATE users SET name = 'During' WHERE user_id = ?", (user,))
                writes.append(user)

    monkeypatch.setattr(ledger, "_merge_users", merge_then_write)
    export_parquet(conn, settings.data_dir)
    assert marked(conn) == set(users)
    copies = pl.read_parquet(settings.data_dir / LEDGER_DIR / "users.parquet")
    assert copies.filter(pl.col("user_id") == users[0])["name"].to_list() == ["Before"]
    monkeypatch.setattr(ledger, "_merge_users", real)
    current_ledger(conn, settings.data_dir)
    assert marked(conn) == set()
    assert_copies_are_the_ledger(conn, settings.data_dir)


def test_copies_not_made_whole_at_the_base_are_exported_in_full(
    loaded: tuple[Settings, sqlite3.Connection], exports: list[int | None]
) -> None:
    """Copies the ledger cannot vouch for (another VERSION, or none) are never merged into."""
    settings, conn = loaded
    (settings.data_dir / LEDGER_DIR / "VERSION").write_text("999")
    conn.execute("UPDATE users SET name = 'Changed' WHERE user_id = 'u_0000001'")
    current_ledger(conn, settings.data_dir)
    assert exports == [None]
    assert_copies_are_the_ledger(conn, settings.data_dir)


def test_a_bulk_load_whose_copies_are_not_published_leaves_a_full_export(
    bundles: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exports: list[int | None]
) -> None:
    """A load into an empty ledger marks no rows: if its own copies do not go out, the base
    is gone and the next export reads every table (here the ledger was emptied after copies
    of it were made whole: merging into those would keep them empty)."""
    settings = Settings(data_dir=tmp_path / "data")
    ingest_into_store(settings, [bundles])
    conn = connect(settings.db_path)
    for table in reversed(ledger.WRITE_ORDER):
        conn.execute(f"DELETE FROM {table}")
    export_parquet(conn, settings.data_dir)
    assert pl.read_parquet(settings.data_dir / LEDGER_DIR / "transactions.parquet").is_empty()
    exports.clear()
    monkeypatch.setattr(ledger.Stage, "_copies_match", lambda self, copies: False)
    ingest_into_store(settings, [bundles])
    assert exports == [None]  # the ingest's own export, since nothing was published
    assert_copies_are_the_ledger(conn, settings.data_dir)
