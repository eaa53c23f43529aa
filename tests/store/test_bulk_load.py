"""A load into an empty ledger: indexes built after, Parquet copies written from the loaded frames.

The copies must be exactly what reading the ledger back gives, pending twins and removals
taken out, and a run over them must give the same outputs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from copies_check import assert_run_over_copies_matches_read_back

import spendsense.store.ledger as ledger
from spendsense.config import Settings
from spendsense.ledger.schema import PRIMARY_KEYS, TABLES
from spendsense.services import ingest_into_store
from spendsense.store.db import connect
from spendsense.store.ledger import LEDGER_DIR, export_parquet
from spendsense.synth import generate_population


def write(path: Path, doc: object) -> None:
    path.write_text(json.dumps(doc))


def txn(transaction_id: str, account_id: str, **over: object) -> dict[str, object]:
    return {
        "transaction_id": transaction_id,
        "account_id": account_id,
        "date": "2026-10-30",
        "amount": 12.34,
        "iso_currency_code": "USD",
        "name": "Coffee",
        "payment_channel": "in store",
        "personal_finance_category": {
            "primary": "FOOD_AND_DRINK",
            "detailed": "FOOD_AND_DRINK_COFFEE",
        },
        **over,
    }


def _copies(data: Path) -> dict[str, pl.DataFrame]:
    folder = data / LEDGER_DIR
    return {t: pl.read_parquet(folder / f"{t}.parquet").sort(PRIMARY_KEYS[t]) for t in TABLES}


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("load")
    generate_population(40, 9, root / "raw", fmt="plaid-json")
    bundles = root / "raw" / "bundles"
    # a sync response: one removal of a bundle's transaction, a pending replaced by its post
    first = next(bundles.rglob("u_0000001.json"))
    doc = json.loads(first.read_text())
    account = doc["accounts"][0]["account_id"]
    pending = txn("p_extra", account, pending=True, date="2026-10-30")
    posted = txn("t_extra", account, pending=False, date="2026-10-31")
    posted["pending_transaction_id"] = "p_extra"
    write(bundles / "u_0000001.z.sync.json", {"added": [pending, posted]})
    write(
        bundles / "u_0000001.zz.sync.json",
        {"removed": [{"transaction_id": doc["transactions"][0]["transaction_id"]}]},
    )
    return bundles


def test_copies_from_the_frames_equal_the_ledger_read_back(
    raw: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exports: list[Path] = []
    real = ledger.export_parquet  # services imports it from store.ledger when it ingests
    monkeypatch.setattr(ledger, "export_parquet", lambda c, d: exports.append(d) or real(c, d))
    data = tmp_path / "data"
    ingest_into_store(Settings(data_dir=data), [raw], chunk_files=7)
    assert exports == []  # nothing read back: the copies came from the frames
    published = _copies(data)
    assert "p_extra" not in published["transactions"]["transaction_id"].to_list()
    assert "t_extra" in published["transactions"]["transaction_id"].to_list()
    conn = connect(data / "spendsense.db")
    version = (data / LEDGER_DIR / "VERSION").read_text()
    export_parquet(conn, data, full=True)  # the read-back export, for comparison
    assert (data / LEDGER_DIR / "VERSION").read_text() == version
    for table, frame in _copies(data).items():
        assert published[table].equals(frame), table
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"idx_transactions_user_date", "idx_transactions_account"} <= indexes


def test_a_twin_in_the_same_chunk_is_left_out_of_the_copies_not_rewritten(
    raw: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dropped: list[str] = []
    real = ledger.ParquetCopies.drop

    def drop(self: ledger.ParquetCopies, table: str, key: str, ids: list[str]) -> None:
        dropped.extend(ids)
        real(self, table, key, ids)

    monkeypatch.setattr(ledger.ParquetCopies, "drop", drop)
    data = tmp_path / "data"
    ingest_into_store(Settings(data_dir=data), [raw], chunk_files=7)
    # p_extra was never written: nothing to take out of the copies for it; only the sync
    # removal of the bundle's first transaction (added earlier in this ingest) is
    removal = json.loads(next(raw.rglob("u_0000001.zz.sync.json")).read_text())["removed"]
    assert dropped == [removal[0]["transaction_id"]]
    assert "p_extra" not in _copies(data)["transactions"]["transaction_id"].to_list()


def test_a_second_load_reads_the_ledger_back(raw: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = Settings(data_dir=data)
    ingest_into_store(settings, [raw])
    extra = tmp_path / "more"
    extra.mkdir()
    write(extra / "u_0000002.sync.json", {"removed": [{"transaction_id": "none-such"}]})
    ingest_into_store(settings, [raw, extra])  # not empty now: upserts, then a read-back export
    conn = connect(data / "spendsense.db")
    count = conn.execute("SELECT COUNT(*) FROM transactions").fetchone()[0]
    assert _copies(data)["transactions"].height == count


def test_a_run_over_the_copies_matches_a_run_over_the_read_back(raw: Path, tmp_path: Path) -> None:
    data = tmp_path / "copies"
    ingest_into_store(Settings(data_dir=data), [raw])
    assert_run_over_copies_matches_read_back(data, tmp_path)


def _hostile(bundles: Path, case: str, out: Path) -> Path:
    """A copy of ``bundles`` with one hostile twist a fresh load must handle like any other."""
    shutil.copytree(bundles, out)
    one, two = sorted(out.rglob("u_000000[12].json"))
    first, second = json.loads(one.read_text()), json.loads(two.read_text())
    if case == "account of another user":
        second["accounts"][0]["account_id"] = first["accounts"][0]["account_id"]
        write(two, second)
    elif case == "removal of another user's transaction":
        theirs = second["transactions"][0]["transaction_id"]
        write(one.with_name("u_0000001.zzz.sync.json"), {"removed": [{"transaction_id": theirs}]})
    elif case == "transaction in two chunks":
        again = dict(first["transactions"][1], amount=99.0)
        write(one.with_name("u_0000001.zzzz.sync.json"), {"added": [again]})
    elif case == "pending and posted twins in two chunks":
        account = first["accounts"][0]["account_id"]
        write(
            one.with_name("u_0000001.zy.sync.json"),
            {"added": [txn("p_far", account, pending=True)]},
        )
        later = out / "zz"  # sorts after the bundles' folders: a later chunk
        later.mkdir()
        posted = txn("t_far", account, pending=False, pending_transaction_id="p_far")
        write(later / "u_0000001.sync.json", {"added": [posted]})
    return out


@pytest.mark.parametrize(
    "case",
    [
        "account of another user",
        "removal of another user's transaction",
        "transaction in two chunks",
        "pending and posted twins in two chunks",
    ],
)
def test_a_hostile_fresh_load_keeps_the_rules_and_its_copies_equal_the_read_back(
    raw: Path, tmp_path: Path, case: str
) -> None:
    """The empty-ledger path runs the ownership and removal rules of every load: nothing
    moves between users, and whatever it publishes is what the ledger holds."""
    bundles = _hostile(raw, case, tmp_path / "bundles")
    fresh, reference = tmp_path / "fresh", tmp_path / "reference"
    # the reference: the same input into a ledger that is not empty (the upsert path)
    seed = tmp_path / "seed"
    seed.mkdir()
    shutil.copy(next(raw.rglob("u_0000039.json")), seed)
    ingest_into_store(Settings(data_dir=reference), [seed])
    reports = [
        ingest_into_store(Settings(data_dir=d), [bundles], chunk_files=7)
        for d in (fresh, reference)
    ]
    assert reports[0].total_rejected == reports[1].total_rejected
    ledgers = []
    for data in (fresh, reference):
        conn = connect(data / "spendsense.db")
        ledgers.append(
            {
                t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
                for t in ("accounts", "transactions")
            }
        )
        published = _copies(data)
        export_parquet(conn, data, full=True)
        for table, frame in _copies(data).items():
            assert published[table].equals(frame), (case, table)
    assert ledgers[0] == ledgers[1], "the empty-ledger path stores what the upsert path does"
    owners = dict(
        connect(fresh / "spendsense.db").execute("SELECT account_id, user_id FROM accounts")
    )
    assert (
        owners[
            json.loads(next(raw.rglob("u_0000001.json")).read_text())["accounts"][0]["account_id"]
        ]
        == "u_0000001"
    )
