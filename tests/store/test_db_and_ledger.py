from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from spendsense.ledger.batch import LedgerBatch
from spendsense.ledger.schema import TABLES
from spendsense.store.db import connect, schema_version
from spendsense.store.ledger import (
    apply_batch,
    export_parquet,
    ledger_version,
    read_ledger_parquet,
    read_table,
    staging,
)
from spendsense.store.migrations import MIGRATIONS


def _batch(amount: int = 1299, consent: str = "granted") -> LedgerBatch:
    b = LedgerBatch()
    b.add("users", pl.DataFrame({"user_id": ["u1"], "name": ["Ada"], "consent_status": [consent]}))
    b.add(
        "accounts",
        pl.DataFrame(
            {
                "account_id": ["a1"],
                "user_id": ["u1"],
                "type": ["depository"],
                "subtype": ["checking"],
                "holder_category": ["personal"],
                "current_cents": [100_00],
            }
        ),
    )
    b.add(
        "transactions",
        pl.DataFrame(
            {
                "transaction_id": ["t1", "t2"],
                "account_id": ["a1", "a1"],
                "user_id": ["u1", "u1"],
                "date": [date(2026, 10, 1), date(2026, 10, 2)],
                "amount_cents": [amount, -5000],
                "pending": [False, False],
                "merchant_name": ["Netflix", None],
            }
        ),
    )
    return b


def test_migrations_apply_once_and_are_versioned(tmp_path: Path) -> None:
    conn = connect(tmp_path / "s.db")
    assert schema_version(conn) == len(MIGRATIONS)
    conn.close()
    conn = connect(tmp_path / "s.db")  # reopening applies nothing new
    assert schema_version(conn) == len(MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_migrated_database_matches_a_new_one(tmp_path: Path) -> None:
    """A database made before the later migrations ends up with the same tables and columns."""
    import sqlite3

    from spendsense.signals.schema import FEATURE_TABLES
    from spendsense.store.db import _split

    old = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    for version, sql in enumerate(MIGRATIONS[:5], start=1):
        for statement in _split(sql() if callable(sql) else sql):
            old.execute(statement)
        old.execute(f"PRAGMA user_version={version}")
    old.close()

    def columns(conn: object) -> dict[str, list[str]]:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]  # type: ignore[attr-defined]
        return {
            t: [r[1] for r in conn.execute(f"PRAGMA table_info({t})")]  # type: ignore[attr-defined]
            for t in sorted(names)
        }

    migrated, new = connect(tmp_path / "old.db"), connect(tmp_path / "new.db")
    assert columns(migrated) == columns(new)
    for table, schema in FEATURE_TABLES.items():
        assert set(columns(new)[f"feature_{table}"]) == set(schema)


def test_apply_batch_roundtrips_exact_types(tmp_path: Path) -> None:
    conn = connect(tmp_path / "s.db")
    apply_batch(conn, _batch())
    tx = read_table(conn, "transactions")
    assert tx.schema == pl.Schema(TABLES["transactions"])
    assert tx["amount_cents"].to_list() == [1299, -5000]
    assert tx["date"].to_list() == [date(2026, 10, 1), date(2026, 10, 2)]


def test_reapplying_the_same_batch_changes_nothing(tmp_path: Path) -> None:
    conn = connect(tmp_path / "s.db")
    apply_batch(conn, _batch())
    before = {t: read_table(conn, t) for t in TABLES}
    apply_batch(conn, _batch())
    after = {t: read_table(conn, t) for t in TABLES}
    for t in TABLES:
        assert before[t].equals(after[t]), t


def test_upsert_updates_by_plaid_id(tmp_path: Path) -> None:
    conn = connect(tmp_path / "s.db")
    apply_batch(conn, _batch(amount=1299))
    apply_batch(conn, _batch(amount=1499))
    assert read_table(conn, "transactions")["amount_cents"].to_list() == [1499, -5000]


def test_chunks_staged_apply_once_and_a_later_chunk_wins(tmp_path: Path) -> None:
    conn = connect(tmp_path / "s.db")
    with staging(conn) as stage:
        stage.add(_batch(amount=1299))
        assert read_table(conn, "transactions").height == 0  # staged, not applied
        stage.add(_batch(amount=1499))
        written = stage.apply()
    assert written["transactions"] == 4  # rows staged (a key twice: the last one lands)
    assert read_table(conn, "transactions")["amount_cents"].to_list() == [1499, -5000]
    assert ledger_version(conn) == 1  # one transaction
    assert not list(tmp_path.glob(".ledger-scratch-*"))


def test_failed_batch_leaves_previous_state_intact(tmp_path: Path) -> None:
    conn = connect(tmp_path / "s.db")
    apply_batch(conn, _batch())
    bad = _batch(amount=1)
    # a transaction pointing at an account that exists nowhere violates the foreign key mid-batch
    bad.add(
        "transactions",
        pl.DataFrame(
            {
                "transaction_id": ["t9"],
                "account_id": ["nope"],
                "user_id": ["u1"],
                "date": [date(2026, 10, 3)],
                "amount_cents": [1],
                "pending": [False],
            }
        ),
    )
    with pytest.raises(Exception, match="FOREIGN KEY"):
        apply_batch(conn, bad)
    assert read_table(conn, "transactions")["amount_cents"].to_list() == [1299, -5000]
    assert ledger_version(conn) == 1


def test_posted_transaction_replaces_pending_twin_and_removed_ids_go(tmp_path: Path) -> None:
    conn = connect(tmp_path / "s.db")
    b = _batch()
    b.add(
        "transactions",
        pl.DataFrame(
            {
                "transaction_id": ["p1"],
                "account_id": ["a1"],
                "user_id": ["u1"],
                "date": [date(2026, 10, 5)],
                "amount_cents": [700],
                "pending": [True],
            }
        ),
    )
    apply_batch(conn, b)
    b2 = LedgerBatch()
    b2.add(
        "transactions",
        pl.DataFrame(
            {
                "transaction_id": ["p1-posted"],
                "account_id": ["a1"],
                "user_id": ["u1"],
                "date": [date(2026, 10, 6)],
                "amount_cents": [700],
                "pending": [False],
                "pending_transaction_id": ["p1"],
            }
        ),
    )
    b2.removed_transaction_ids.append(("u1", "t2"))
    b2.cursors.append(("u1", "item", "cursor-2"))
    apply_batch(conn, b2)
    ids = read_table(conn, "transactions")["transaction_id"].to_list()
    assert ids == ["p1-posted", "t1"]
    assert conn.execute("SELECT next_cursor FROM sync_cursors").fetchone()[0] == "cursor-2"


def test_bundle_consent_none_keeps_recorded_consent(tmp_path: Path) -> None:
    conn = connect(tmp_path / "s.db")
    apply_batch(conn, _batch(consent="granted"))
    apply_batch(conn, _batch(consent="none"))
    assert read_table(conn, "users")["consent_status"].to_list() == ["granted"]


def test_parquet_export_matches_sqlite(tmp_path: Path) -> None:
    conn = connect(tmp_path / "s.db")
    apply_batch(conn, _batch())
    export_parquet(conn, tmp_path)
    lazy = read_ledger_parquet(tmp_path)
    for t in TABLES:
        assert lazy[t].collect().equals(read_table(conn, t)), t
    assert (tmp_path / "ledger" / "VERSION").read_text() == "1"


def test_conform_keeps_zero_rows() -> None:
    from spendsense.ledger.schema import conform

    assert conform("users", pl.DataFrame({"other": []})).height == 0


def test_partial_user_row_does_not_erase_known_values(tmp_path: Path) -> None:
    conn = connect(tmp_path / "s.db")
    apply_batch(conn, _batch())
    b = LedgerBatch()
    b.add("users", pl.DataFrame({"user_id": ["u1"], "consent_status": ["none"]}))
    apply_batch(conn, b)
    users = read_table(conn, "users")
    assert users["name"].to_list() == ["Ada"]
    assert users["consent_status"].to_list() == ["granted"]


def test_staging_scratch_database_is_removed(tmp_path: Path) -> None:
    conn = connect(tmp_path / "s.db")
    apply_batch(conn, _batch())
    bad = _batch()
    bad.add(
        "transactions",
        pl.DataFrame(
            {
                "transaction_id": ["t9"],
                "account_id": ["nope"],
                "user_id": ["u1"],
                "date": [date(2026, 10, 3)],
                "amount_cents": [1],
                "pending": [False],
            }
        ),
    )
    with pytest.raises(Exception, match="FOREIGN KEY"):
        apply_batch(conn, bad)
    assert sorted(p.name for p in tmp_path.iterdir() if "scratch" in p.name) == []
    assert [r[1] for r in conn.execute("PRAGMA database_list")] == ["main"]


@pytest.mark.parametrize("chunk_rows", [1_000_000, 700])
def test_parquet_export_matches_sqlite_when_values_start_late(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk_rows: int
) -> None:
    """The Arrow reader types columns by their values: nulls in the first rows (or in whole
    export chunks) must not matter, and a chunked export equals the table in key order."""
    import spendsense.store.ledger as ledger_store

    monkeypatch.setattr(ledger_store, "EXPORT_CHUNK_ROWS", chunk_rows)
    conn = connect(tmp_path / "s.db")
    b = _batch()
    n = 5000
    b.add(
        "transactions",
        pl.DataFrame(
            {
                "transaction_id": [f"x{i:05d}" for i in range(n)],
                "account_id": ["a1"] * n,
                "user_id": ["u1"] * n,
                "date": [date(2026, 1, 1)] * n,
                "amount_cents": list(range(n)),
                "pending": [i % 2 == 0 for i in range(n)],
                "authorized_date": [None] * (n - 1) + [date(2026, 1, 2)],
                "name": [None] * (n - 1) + ["Late"],
            }
        ),
    )
    apply_batch(conn, b)
    export_parquet(conn, tmp_path)
    lazy = read_ledger_parquet(tmp_path)
    for t in TABLES:
        assert lazy[t].collect().equals(read_table(conn, t)), t
    assert lazy["transactions"].collect()["name"].drop_nulls().to_list() == ["Late"]


def test_a_scratch_adbc_connection_skips_journal_and_fsync_and_still_commits(
    tmp_path: Path,
) -> None:
    import sqlite3

    import pyarrow as pa

    from spendsense.store.db import scratch_adbc

    path = tmp_path / "scratch.db"
    with scratch_adbc(path) as adbc:
        adbc.ingest("t", pa.table({"x": [1, 2, 3]}), "create_append")
        journal = adbc.query("PRAGMA journal_mode").to_pylist()
        synchronous = adbc.query("PRAGMA synchronous").to_pylist()
        adbc.commit()
    assert (journal, synchronous) == ([{"journal_mode": "off"}], [{"synchronous": 0}])
    assert sqlite3.connect(path).execute("SELECT count(*) FROM t").fetchone() == (3,)


def _second_user(transaction_id: str, on_account: str) -> LedgerBatch:
    """u2 with an account a2, and a transaction ``transaction_id`` of u2's on ``on_account``."""
    b = LedgerBatch()
    b.add("users", pl.DataFrame({"user_id": ["u2"], "name": ["Bo"], "consent_status": ["granted"]}))
    b.add(
        "accounts",
        pl.DataFrame(
            {"account_id": ["a2"], "user_id": ["u2"], "type": ["depository"],
             "subtype": ["checking"], "holder_category": ["personal"], "current_cents": [5_00]}
        ),
    )  # fmt: skip
    b.add(
        "transactions",
        pl.DataFrame(
            {"transaction_id": [transaction_id], "account_id": [on_account], "user_id": ["u2"],
             "date": [date(2026, 10, 3)], "amount_cents": [700], "pending": [False]}
        ),
    )  # fmt: skip
    return b


@pytest.mark.parametrize(
    ("transaction_id", "on_account", "reason"),
    [
        ("t1", "a2", "transaction_id 't1' belongs to another user"),
        ("t9", "a1", "transaction_id 't9' is on account 'a1', another user's"),
    ],
)
def test_a_fresh_load_refuses_a_record_staged_twice_under_two_owners(
    tmp_path: Path, transaction_id: str, on_account: str, reason: str
) -> None:
    """Into an empty ledger, the store's own ownership check still catches what validation
    let through: u1's t1 staged again by u2 in a later chunk (the upsert keeps the first
    owner, so the ledger holds a row fewer than was staged), or u2's row on u1's account."""
    from spendsense.errors import OwnershipConflict

    conn = connect(tmp_path / "s.db")
    with pytest.raises(OwnershipConflict, match=reason), staging(conn) as stage:
        assert stage.fresh
        stage.add(_batch())
        stage.add(_second_user(transaction_id, on_account))
        stage.apply()
    assert read_table(conn, "transactions").is_empty() and read_table(conn, "users").is_empty()


@pytest.mark.parametrize(
    ("table", "row"),
    [
        ("transactions", {"transaction_id": "t9", "account_id": "nope", "user_id": "u1",
                          "date": date(2026, 10, 3), "amount_cents": 1, "pending": False}),
        ("accounts", {"account_id": "a9", "user_id": "nobody", "type": "depository"}),
        ("liabilities_credit", {"account_id": "nope", "user_id": "u1"}),
        ("consents", {"user_id": "nobody", "status": "granted", "source": "bundle",
                      "changed_at": datetime(2026, 10, 1, tzinfo=UTC)}),
    ],
)  # fmt: skip
def test_a_fresh_load_checks_every_reference_though_it_inserts_without_foreign_keys(
    tmp_path: Path, table: str, row: dict[str, object]
) -> None:
    """Into an empty ledger rows go in with foreign keys off and are checked in bulk after:
    a row naming a missing account or user still fails the whole load, and the connection
    has its foreign keys back on."""
    conn = connect(tmp_path / "s.db")
    bad = _batch()
    bad.add(table, pl.DataFrame([row]))
    with pytest.raises(Exception, match="FOREIGN KEY constraint failed"):
        apply_batch(conn, bad)
    assert all(read_table(conn, t).is_empty() for t in TABLES)
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert apply_batch(conn, _batch())["transactions"] == 2  # and the good batch then loads


def test_a_load_that_found_the_ledger_empty_but_lost_the_race_still_checks_references(
    tmp_path: Path,
) -> None:
    """Foreign keys go off when the stage found the ledger empty; if another load commits
    first, the transaction is no longer a fresh load and every ledger table is checked."""
    conn = connect(tmp_path / "s.db")
    bad = _second_user("t9", "nope")
    with pytest.raises(Exception, match="FOREIGN KEY constraint failed"), staging(conn) as stage:
        assert stage.fresh
        stage.add(bad)
        other = connect(tmp_path / "s.db")
        apply_batch(other, _batch())  # commits before this stage applies
        other.close()
        stage.apply()
    assert read_table(conn, "transactions")["transaction_id"].to_list() == ["t1", "t2"]
    assert read_table(conn, "users")["user_id"].to_list() == ["u1"]


def test_a_chunk_that_fails_on_the_stage_thread_fails_the_load_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks are written on the stage's own thread; an error there reaches the caller at
    its next call to the stage, and nothing is stored or left behind."""
    import spendsense.store.ledger as ledger

    conn = connect(tmp_path / "s.db")
    real = ledger.sql_frame

    def broken(frame: pl.DataFrame) -> pl.DataFrame:
        if "transaction_id" in frame.columns and "t9" in frame["transaction_id"].to_list():
            raise OSError("disk full")
        return real(frame)

    monkeypatch.setattr(ledger, "sql_frame", broken)
    with pytest.raises(OSError, match="disk full"), staging(conn) as stage:
        stage.add(_batch())
        stage.add(_second_user("t9", "a2"))
        stage.apply()
    assert all(read_table(conn, t).is_empty() for t in TABLES)
    assert not [p for p in tmp_path.iterdir() if "scratch" in p.name]
