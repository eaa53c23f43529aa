"""A bundle is its user's whole ledger: re-ingesting another person's bundle replaces, never mixes."""

from __future__ import annotations

import json
from pathlib import Path

from ingest_helpers import account, bundle, txn, write

from spendsense.config import Settings
from spendsense.services import ingest_into_store
from spendsense.store.db import connect


def _ledger(settings: Settings, user: str) -> tuple[list[str], list[str]]:
    conn = connect(settings.db_path)
    accts = [
        r[0]
        for r in conn.execute("SELECT account_id FROM accounts WHERE user_id=? ORDER BY 1", (user,))
    ]
    txns = [
        r[0]
        for r in conn.execute(
            "SELECT transaction_id FROM transactions WHERE user_id=? ORDER BY 1", (user,)
        )
    ]
    return accts, txns


def test_rebundle_replaces_the_users_ledger_and_warns_of_a_new_identity(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    old = bundle(
        "u1",
        accounts=[account("chk"), account("card")],
        transactions=[txn("t1", "chk"), txn("t2", "card")],
    )
    (tmp_path / "a").mkdir()
    first = ingest_into_store(settings, [write(tmp_path / "a" / "u1.json", old)])
    assert first.outcome.new_users == ["u1"]
    new = bundle("u1", accounts=[account("chk2")], transactions=[txn("t9", "chk2")])
    new["user"]["name"] = "Bob"
    (tmp_path / "b").mkdir()
    report = ingest_into_store(settings, [write(tmp_path / "b" / "u1.json", new)])
    assert _ledger(settings, "u1") == (["chk2"], ["t9"]), "no old card left beside the new person"
    assert report.outcome.updated_users == ["u1"]
    assert any("another person" in w for w in report.warnings)
    again = ingest_into_store(settings, [tmp_path / "b" / "u1.json"])
    assert again.outcome.unchanged_users == ["u1"]


def test_a_bundle_with_rejected_records_does_not_delete_their_stored_rows(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    (tmp_path / "a").mkdir()
    ingest_into_store(
        settings,
        [write(tmp_path / "a" / "u1.json", bundle("u1", transactions=[txn("t1"), txn("t2")]))],
    )
    partial = bundle("u1", transactions=[txn("t1"), txn("t2", amount="abc")])
    (tmp_path / "b").mkdir()
    report = ingest_into_store(settings, [write(tmp_path / "b" / "u1.json", partial)])
    assert report.total_rejected == 1
    assert _ledger(settings, "u1")[1] == ["t1", "t2"]
    assert (
        json.loads(report.quarantine.read_text().splitlines()[0])["position"] == "transactions[1]"
    )  # type: ignore[union-attr]
