"""Sync removals apply in page order: a removal of a transaction the same ingest added earlier,
of another user's staged one, and a re-add after a removal; each through both readers, in one
chunk or a file a chunk, into an empty ledger (copies from the frames) and a stored one."""

from __future__ import annotations

import functools
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from ingest_helpers import account, bundle, txn, write

import spendsense.ingest
from spendsense.config import Settings
from spendsense.ingest.ownership import NOT_THEIRS
from spendsense.ledger.schema import PRIMARY_KEYS, TABLES
from spendsense.services import ingest_into_store
from spendsense.store.db import connect
from spendsense.store.ledger import LEDGER_DIR, read_table

NATIVE = {"native reader": True, "per-file reader": False}
CHUNKS = {"one chunk": None, "a file a chunk": 1}
PATHS = ("empty ledger", "stored ledger")


def _pages(folder: Path) -> Path:
    """Files sort in page order: u2's bundle (tb), u1's bundle (t0), then u1's sync pages.

    p1 adds x1 and modifies x3; p2 adds x2 and removes x1, x2 (added in the same response), x3, u2's
    tb (staged by this ingest, not u1's) and an id that never existed; p3 adds x3 again.
    """
    folder.mkdir()
    write(
        folder / "1-u2.json", bundle("u2", accounts=[account("a2")], transactions=[txn("tb", "a2")])
    )
    write(folder / "2-u1.json", bundle("u1", accounts=[account("a1")], transactions=[txn("t0")]))
    write(
        folder / "u1.p1.sync.json",
        {"added": [txn("x1")], "modified": [txn("x3", amount=1.0)], "removed": [],
         "next_cursor": "c1", "has_more": True},
    )  # fmt: skip
    gone = ["x1", "x2", "x3", "tb", "never"]
    write(
        folder / "u1.p2.sync.json",
        {"added": [txn("x2")], "modified": [], "removed": [{"transaction_id": t} for t in gone],
         "next_cursor": "c2", "has_more": True},
    )  # fmt: skip
    write(
        folder / "u1.p3.sync.json",
        {"added": [txn("x3", amount=3.0)], "modified": [], "removed": [], "next_cursor": "c3",
         "has_more": False},
    )  # fmt: skip
    return folder


def _ingest(settings: Settings, raw: Path, native: bool, chunk_files: int | None) -> Any:
    with pytest.MonkeyPatch.context() as mp:  # services imports ingest_chunks when it runs
        real = spendsense.ingest.ingest_chunks
        mp.setattr(spendsense.ingest, "ingest_chunks", functools.partial(real, native=native))
        return ingest_into_store(settings, [raw], chunk_files=chunk_files)


def _ledger(data: Path) -> dict[str, pl.DataFrame]:
    conn = connect(data / "spendsense.db")
    return {t: read_table(conn, t) for t in TABLES}


def _copies(data: Path) -> dict[str, pl.DataFrame]:
    folder = data / LEDGER_DIR
    return {t: pl.read_parquet(folder / f"{t}.parquet").sort(PRIMARY_KEYS[t]) for t in TABLES}


def _removed(data: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(data / "spendsense.db") as conn:
        return sorted(conn.execute("SELECT user_id, transaction_id FROM removed_transactions"))


def _rejects(path: Path | None) -> list[tuple[str, str, str]]:
    if path is None:  # nothing was rejected
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return sorted((Path(r["file"]).name, r["position"], r["reason"]) for r in rows)


@dataclass
class Result:
    ledger: dict[str, pl.DataFrame]
    copies: dict[str, pl.DataFrame]
    removed: list[tuple[str, str]]
    rejects: list[tuple[str, str, str]]
    rerun: dict[str, pl.DataFrame]
    rerun_removed: list[tuple[str, str]]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str, str], Result]:
    """Every reader x chunking x load path, each ingested twice (the rerun must change nothing)."""
    root = tmp_path_factory.mktemp("sync")
    raw = _pages(root / "raw")
    other = root / "other"  # an unrelated user, so the second path loads into a stored ledger
    other.mkdir()
    write(
        other / "u0.json", bundle("u0", accounts=[account("a0")], transactions=[txn("t_u0", "a0")])
    )
    out = {}
    for reader, native in NATIVE.items():
        for chunks, chunk_files in CHUNKS.items():
            for path in PATHS:
                settings = Settings(data_dir=root / f"{native}-{chunk_files}-{path}")
                if path == "stored ledger":
                    _ingest(settings, other, native, chunk_files)
                report = _ingest(settings, raw, native, chunk_files)
                data = settings.data_dir
                first = (_ledger(data), _copies(data), _removed(data), _rejects(report.quarantine))
                _ingest(settings, raw, native, chunk_files)
                out[reader, chunks, path] = Result(*first, _ledger(data), _removed(data))
    return out


COMBOS = [(r, c, p) for r in NATIVE for c in CHUNKS for p in PATHS]


def _amounts(result: Result) -> dict[str, int]:
    rows = result.ledger["transactions"].select("transaction_id", "amount_cents").rows()
    return dict(rows)


@pytest.mark.parametrize("combo", COMBOS, ids="-".join)
def test_a_removal_of_a_transaction_added_earlier_in_the_ingest_takes_it_out(
    results: dict[tuple[str, str, str], Result], combo: tuple[str, str, str]
) -> None:
    """x1 (added on page 1, removed on page 2) and x2 (added and removed in one response)
    end absent from the ledger and its Parquet copies, and recorded as removed like any
    removal; the rest of the user's ledger stays."""
    result = results[combo]
    ids = set(_amounts(result))
    assert {"x1", "x2"}.isdisjoint(ids)
    assert {"t0", "tb"} <= ids
    assert {("u1", "x1"), ("u1", "x2")} <= set(result.removed)
    for table in TABLES:
        assert result.copies[table].equals(result.ledger[table]), table


@pytest.mark.parametrize("combo", COMBOS, ids="-".join)
def test_a_removal_of_another_users_staged_transaction_is_refused_like_one_that_never_existed(
    results: dict[tuple[str, str, str], Result], combo: tuple[str, str, str]
) -> None:
    """u2's tb, staged by the same ingest, stays u2's; the refusal reads as for an id that
    never existed and names no other user."""
    result = results[combo]
    owners = dict(result.ledger["transactions"].select("transaction_id", "user_id").rows())
    assert owners["tb"] == "u2"
    assert ("u2", "tb") not in result.removed and ("u1", "tb") not in result.removed
    assert result.rejects == [
        ("u1.p2.sync.json", "removed[3]", f"removed transaction 'tb' {NOT_THEIRS}"),
        ("u1.p2.sync.json", "removed[4]", f"removed transaction 'never' {NOT_THEIRS}"),
    ]
    assert "u2" not in result.rejects[0][2]


@pytest.mark.parametrize("combo", COMBOS, ids="-".join)
def test_a_re_add_after_a_removal_ends_present_with_the_later_pages_values(
    results: dict[tuple[str, str, str], Result], combo: tuple[str, str, str]
) -> None:
    """x3: added on page 1 ($1), removed on page 2, added again on page 3 ($3): present with
    page 3's amount, not a duplicate of page 1's row, and not recorded as removed."""
    result = results[combo]
    assert _amounts(result)["x3"] == 300
    assert ("u1", "x3") not in result.removed


@pytest.mark.parametrize("combo", COMBOS, ids="-".join)
def test_rerunning_the_same_pages_gives_the_same_ledger(
    results: dict[tuple[str, str, str], Result], combo: tuple[str, str, str]
) -> None:
    result = results[combo]
    for table in TABLES:
        assert result.rerun[table].equals(result.ledger[table]), table
    assert result.rerun_removed == result.removed


def test_every_reader_chunking_and_load_path_agree(
    results: dict[tuple[str, str, str], Result],
) -> None:
    first = results[COMBOS[0]]
    for combo in COMBOS[1:]:
        other = results[combo]
        assert other.rejects == first.rejects, combo
        mine = other.ledger["transactions"].filter(pl.col("user_id") != "u0")
        assert mine.equals(first.ledger["transactions"]), combo


@pytest.mark.parametrize("native", list(NATIVE.values()), ids=list(NATIVE))
def test_a_stored_transaction_removed_then_added_again_stays_with_the_new_values(
    tmp_path: Path, native: bool
) -> None:
    """The stored ledger holds u1's s1 and s2; page 1 removes both, page 2 adds s1 again:
    s1 is present with page 2's amount, s2 is gone and recorded as removed, in SQLite and
    in the Parquet copies."""
    settings = Settings(data_dir=tmp_path / "data")
    first = tmp_path / "first"
    first.mkdir()
    write(first / "u1.json", bundle("u1", transactions=[txn("s1"), txn("s2")]))
    _ingest(settings, first, native, None)
    pages = tmp_path / "pages"
    pages.mkdir()
    removed = [{"transaction_id": "s1"}, {"transaction_id": "s2"}]
    write(pages / "u1.p1.sync.json", {"added": [], "removed": removed, "next_cursor": "c1"})
    write(pages / "u1.p2.sync.json", {"added": [txn("s1", amount=7.0)], "next_cursor": "c2"})
    report = _ingest(settings, pages, native, 1)
    assert report.total_rejected == 0
    amounts = dict(_ledger(settings.data_dir)["transactions"].select(
        "transaction_id", "amount_cents").rows())  # fmt: skip
    assert amounts == {"s1": 700}
    assert _removed(settings.data_dir) == [("u1", "s2")]
    copies, stored = _copies(settings.data_dir), _ledger(settings.data_dir)
    for table in TABLES:  # the copies of a load into a stored ledger follow it
        assert copies[table].equals(stored[table]), table
