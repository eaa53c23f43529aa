"""An ingest stopped between chunks (a reader error on the read-ahead thread, Ctrl-C in the
caller): the ledger, its copies and the quarantine are as before, no scratch or thread left."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import spendsense.ingest as ingest_package
import spendsense.store.ledger as ledger
from spendsense.config import Settings
from spendsense.errors import OwnershipConflict
from spendsense.ledger.schema import TABLES
from spendsense.services import ingest_into_store
from spendsense.store.db import SCRATCH_PREFIX, connect
from spendsense.store.ledger import LEDGER_DIR, read_table


def _bundle(user: str) -> dict[str, object]:
    return {
        "user": {"user_id": user, "name": "Ann", "consent": "granted"},
        "accounts": [
            {"account_id": f"a_{user}", "type": "depository", "subtype": "checking",
             "balances": {"current": 10, "iso_currency_code": "USD"}}
        ],
        "transactions": [
            {"transaction_id": f"t_{user}", "account_id": f"a_{user}", "date": "2026-10-01",
             "amount": 1.5, "iso_currency_code": "USD", "name": "Coffee"},
            {"transaction_id": f"bad_{user}", "account_id": f"a_{user}", "date": "2026-10-01",
             "amount": "lots", "iso_currency_code": "USD"},  # a reject: quarantined
        ],
    }  # fmt: skip


def _inputs(folder: Path, users: list[str]) -> Path:
    folder.mkdir()
    for user in users:
        (folder / f"{user}.json").write_text(json.dumps(_bundle(user)))
    return folder


def _state(data: Path) -> tuple[dict[str, list[tuple[object, ...]]], dict[str, bytes], list[str]]:
    """The ledger's rows, the copies' bytes (with VERSION) and the data folder's files
    (SQLite's WAL files aside)."""
    conn = connect(data / "spendsense.db")
    rows = {t: read_table(conn, t).rows() for t in TABLES}
    copies = {p.name: p.read_bytes() for p in sorted((data / LEDGER_DIR).glob("*"))}
    conn.close()
    files = [p for p in data.rglob("*") if p.is_file() and not p.name.endswith(("-wal", "-shm"))]
    return rows, copies, sorted(str(p.relative_to(data)) for p in files)


def _stopped(data: Path, inputs: Path, error: type[BaseException]) -> None:
    with pytest.raises(error):
        ingest_into_store(Settings(data_dir=data), [inputs], chunk_files=1)
    assert not [t for t in threading.enumerate() if t.name == "ingest-read-ahead"]
    assert not list(data.rglob(f"{SCRATCH_PREFIX}*"))


def _fail_on_third_read(monkeypatch: pytest.MonkeyPatch) -> None:
    real: Callable[..., object] = ingest_package.read_native
    calls = [0]

    def read_native(docs: list[object]) -> object:
        calls[0] += 1
        if calls[0] == 3:  # the third chunk, read ahead on the thread
            raise OSError("disk gone while reading u3.json")
        return real(docs)

    monkeypatch.setattr(ingest_package, "read_native", read_native)


def _interrupt_second_stage(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while chunk 2 is staged and chunk 3 is being read (slowly, so the reader is
    still at it: it must be stopped and joined before the interrupt leaves the ingest)."""
    real_read: Callable[..., object] = ingest_package.read_native
    monkeypatch.setattr(
        ingest_package, "read_native", lambda docs: time.sleep(0.3) or real_read(docs)
    )
    real = ledger.Stage.add
    calls = [0]

    def add(self: ledger.Stage, batch: object) -> None:
        calls[0] += 1
        if calls[0] == 2:
            raise KeyboardInterrupt
        real(self, batch)  # type: ignore[arg-type]

    monkeypatch.setattr(ledger.Stage, "add", add)


@pytest.mark.parametrize("stored", [False, True], ids=["empty ledger", "stored ledger"])
@pytest.mark.parametrize(
    "stop",
    [(_fail_on_third_read, OSError), (_interrupt_second_stage, KeyboardInterrupt)],
    ids=["reader error", "ctrl-c"],
)
def test_an_ingest_stopped_between_chunks_changes_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    stored: bool,
    stop: tuple[Callable[[pytest.MonkeyPatch], None], type[BaseException]],
) -> None:
    data = tmp_path / "data"
    if stored:
        ingest_into_store(Settings(data_dir=data), [_inputs(tmp_path / "first", ["u0"])])
    else:
        connect(data / "spendsense.db").close()
    before = _state(data)
    inputs = _inputs(tmp_path / "raw", ["u1", "u2", "u3", "u4"])
    arm, error = stop
    arm(monkeypatch)
    _stopped(data, inputs, error)
    assert _state(data) == before
    monkeypatch.undo()  # the rerun loads everything
    ingest_into_store(Settings(data_dir=data), [inputs], chunk_files=1)
    ids = read_table(connect(data / "spendsense.db"), "transactions")["transaction_id"]
    assert ids.to_list() == [f"t_u{i}" for i in range(0 if stored else 1, 5)]


def test_an_upload_with_a_foreign_record_in_a_later_chunk_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Uploads are all or nothing on ownership (``strict_owner``): chunks 1 and 2 are staged
    when chunk 3 names another user's account; the whole input is refused, nothing written."""
    data = tmp_path / "data"
    ingest_into_store(Settings(data_dir=data), [_inputs(tmp_path / "first", ["u0"])])
    before = _state(data)
    upload = _inputs(tmp_path / "raw", ["u1"])
    txn = _bundle("u1")["transactions"][0]  # type: ignore[index]
    (upload / "u1.k.json").write_text(json.dumps({"transactions": [dict(txn, transaction_id="x")]}))
    foreign = dict(txn, transaction_id="y", account_id="a_u0")  # u0's account
    (upload / "u1.z.json").write_text(json.dumps({"transactions": [foreign]}))
    staged: list[object] = []
    real = ledger.Stage.add
    monkeypatch.setattr(ledger.Stage, "add", lambda self, b: staged.append(b) or real(self, b))
    with pytest.raises(OwnershipConflict, match="account 'a_u0' belongs to another user"):
        ingest_into_store(
            Settings(data_dir=data), [upload], user_id="u1", strict_owner=True, chunk_files=1
        )
    assert len(staged) == 2  # u1.json and u1.k.json were staged before u1.z.json was read
    assert _state(data) == before
    assert not list(data.rglob(f"{SCRATCH_PREFIX}*"))
