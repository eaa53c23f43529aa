"""Ownership over the upload route: every attack × every party, and nothing written when refused.

Two real users (A = ua, B = ub) are ingested from bundles; then A's customer token and an
operator post bodies that name B's account, B's transaction, B as a record's user, B's
transactions as removals, or ids that do not exist. Each must be refused (409, the record
named) with the whole ledger byte-for-byte unchanged; A's own data must load.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from spendsense.api.app import create_app
from spendsense.config import Settings
from spendsense.ledger.schema import TABLES
from spendsense.services import change_consent, ingest_into_store
from spendsense.store.auth import create_customer_token, create_operator, create_operator_token
from spendsense.store.db import connect


def _acct(account_id: str) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "type": "depository",
        "subtype": "checking",
        "mask": "0001",
        "balances": {"current": 1000.0, "available": 900, "iso_currency_code": "USD"},
    }


def _txn(transaction_id: str, account_id: str, day: int = 1, **over: Any) -> dict[str, Any]:
    return {
        "transaction_id": transaction_id,
        "account_id": account_id,
        "date": f"2026-10-{day:02d}",
        "amount": 12.5,
        "iso_currency_code": "USD",
        "name": "Coffee",
        "merchant_name": "Cafe",
        "payment_channel": "in store",
        "pending": False,
        "personal_finance_category": {
            "primary": "FOOD_AND_DRINK",
            "detailed": "FOOD_AND_DRINK_COFFEE",
        },
        **over,
    }


def _bundle(user: str, accounts: list[str], txns: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "user": {"user_id": user, "name": user.upper(), "consent": "granted"},
        "accounts": [_acct(a) for a in accounts],
        "transactions": txns,
    }


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[TestClient, Settings, dict[str, dict[str, str]]]]:
    settings = Settings(data_dir=tmp_path / "data")
    raw = tmp_path / "raw"
    raw.mkdir()
    a = _bundle("ua", ["a_a"], [_txn(f"ta{i}", "a_a", i + 1) for i in range(5)])
    b = _bundle("ub", ["a_b"], [_txn(f"tb{i}", "a_b", i + 1) for i in range(5)])
    (raw / "ua.json").write_text(json.dumps(a))
    (raw / "ub.json").write_text(json.dumps(b))
    ingest_into_store(settings, [raw])
    conn = connect(settings.db_path)
    create_operator(conn, "op", "a long operator password")
    heads = {
        "customer": {"Authorization": f"Bearer {create_customer_token(conn, 'ua')}"},
        "operator": {"Authorization": f"Bearer {create_operator_token(conn, 'op')}"},
    }
    with TestClient(create_app(settings, cookie_secure=False), raise_server_exceptions=False) as c:
        yield c, settings, heads


def _ledger(settings: Settings) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(settings.db_path) as conn:
        return {
            t: sorted(map(tuple, conn.execute(f"SELECT * FROM {t}")), key=repr)
            for t in [*TABLES, "removed_transactions"]
        }


ATTACKS: dict[str, Callable[[], dict[str, Any]]] = {
    "bundle names B's account": lambda: _bundle("ua", ["a_a", "a_b"], []),
    "transaction on B's account": lambda: {"transactions": [_txn("ta_new", "a_b")]},
    "transaction reuses B's id": lambda: {"transactions": [_txn("tb0", "a_a")]},
    "record names user B": lambda: {"transactions": [_txn("ta_new", "a_a", user_id="ub")]},
    "account record names user B": lambda: {"accounts": [{**_acct("a_new"), "user_id": "ub"}]},
    "sync removes B's transaction": lambda: {
        "added": [],
        "removed": [{"transaction_id": "tb1"}],
        "next_cursor": "c1",
    },
    "sync removes an id that never existed": lambda: {
        "added": [],
        "removed": [{"transaction_id": "t_never"}],
        "next_cursor": "c1",
    },
    "liability on B's account": lambda: {
        "liabilities": {"credit": [{"account_id": "a_b", "aprs": []}]}
    },
}


@pytest.mark.parametrize("party", ["customer", "operator"])
@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_foreign_records_are_refused_and_nothing_is_written(
    world: tuple[TestClient, Settings, dict[str, dict[str, str]]], party: str, attack: str
) -> None:
    client, settings, heads = world
    before = _ledger(settings)
    r = client.post("/users/ua/plaid", json=ATTACKS[attack](), headers=heads[party])
    assert r.status_code == 409, r.text
    error = r.json()["error"]
    assert error["code"] == "ownership_conflict" and "nothing was loaded" in error["message"]
    if "names user B" not in attack:  # only an id the caller sent is echoed back
        assert "ub" not in error["message"], "the refusal does not name the other user"
    assert _ledger(settings) == before


def test_removals_of_others_and_of_nothing_answer_alike(
    world: tuple[TestClient, Settings, dict[str, dict[str, str]]],
) -> None:
    client, _, heads = world
    theirs = client.post("/users/ua/plaid", json=ATTACKS["sync removes B's transaction"](),
                         headers=heads["customer"])  # fmt: skip
    nothing = client.post("/users/ua/plaid", json=ATTACKS["sync removes an id that never existed"](),
                          headers=heads["customer"])  # fmt: skip
    shape = (theirs.status_code, theirs.json()["error"]["message"].replace("tb1", "ID"))
    assert shape == (
        nothing.status_code,
        nothing.json()["error"]["message"].replace("t_never", "ID"),
    )


@pytest.mark.parametrize("party", ["customer", "operator"])
def test_own_data_loads_and_own_removal_is_idempotent(
    world: tuple[TestClient, Settings, dict[str, dict[str, str]]], party: str
) -> None:
    client, settings, heads = world
    body = {"added": [_txn("ta_new", "a_a", 20)], "removed": [{"transaction_id": "ta0"}],
            "next_cursor": "c2"}  # fmt: skip
    r = client.post("/users/ua/plaid", json=body, headers=heads[party])
    assert r.status_code == 200, r.text
    assert r.json()["recomputed"] is True
    again = client.post("/users/ua/plaid", json=body, headers=heads[party])  # a retried sync
    assert again.status_code == 200, again.text
    with sqlite3.connect(settings.db_path) as conn:
        ids = {
            r[0] for r in conn.execute("SELECT transaction_id FROM transactions WHERE user_id='ua'")
        }
        theirs = conn.execute("SELECT COUNT(*) FROM transactions WHERE user_id='ub'").fetchone()[0]
    assert "ta_new" in ids and "ta0" not in ids
    assert theirs == 5


def test_an_upload_that_adds_and_removes_its_own_transaction_loads(
    world: tuple[TestClient, Settings, dict[str, dict[str, str]]],
) -> None:
    """One sync response adding ta_flash and removing it (its removed list applies after its
    added): the upload is not refused as naming someone else's transaction, ta_flash ends
    absent and recorded as removed, and a removal of B's id in the same body is still 409."""
    client, settings, heads = world
    body = {"added": [_txn("ta_flash", "a_a", 20)], "removed": [{"transaction_id": "ta_flash"}],
            "next_cursor": "c3"}  # fmt: skip
    r = client.post("/users/ua/plaid", json=body, headers=heads["customer"])
    assert r.status_code == 200, r.text
    with sqlite3.connect(settings.db_path) as conn:
        assert (
            conn.execute("SELECT 1 FROM transactions WHERE transaction_id='ta_flash'").fetchone()
            is None
        )
        removed = conn.execute(
            "SELECT user_id FROM removed_transactions WHERE transaction_id='ta_flash'"
        )
        assert removed.fetchall() == [("ua",)]
    before = _ledger(settings)
    body["removed"].append({"transaction_id": "tb2"})
    r = client.post("/users/ua/plaid", json=body, headers=heads["customer"])
    assert r.status_code == 409, r.text
    assert _ledger(settings) == before


def test_unknown_path_user_is_not_created(
    world: tuple[TestClient, Settings, dict[str, dict[str, str]]],
) -> None:
    client, settings, heads = world
    before = _ledger(settings)
    r = client.post(
        "/users/u_new/plaid", json=_bundle("u_new", ["a_n"], []), headers=heads["operator"]
    )
    assert r.status_code == 404
    assert _ledger(settings) == before


def test_consent_is_checked_before_anything_is_ingested(
    world: tuple[TestClient, Settings, dict[str, dict[str, str]]],
) -> None:
    client, settings, heads = world
    change_consent(settings, "ua", "revoke", source="cli", actor="t")
    before = _ledger(settings)
    r = client.post("/users/ua/plaid", json={"transactions": [_txn("ta_new", "a_a")]},
                    headers=heads["customer"])  # fmt: skip
    assert r.status_code == 403 and r.json()["error"]["code"] == "consent_required"
    assert _ledger(settings) == before


def test_cli_ingest_quarantines_foreign_records_and_loads_the_rest(
    world: tuple[TestClient, Settings, dict[str, dict[str, str]]], tmp_path: Path
) -> None:
    """Batch ingest: the same rule, but per record (good records still load)."""
    _, settings, _ = world
    path = tmp_path / "ua.transactions.json"
    path.write_text(json.dumps({"transactions": [_txn("ta_ok", "a_a"), _txn("ta_bad", "a_b")]}))
    report = ingest_into_store(settings, [path])
    assert report.per_table["transactions"] == (1, 1)
    assert report.quarantine is not None
    [line] = [json.loads(x) for x in report.quarantine.read_text().splitlines()]
    assert line["position"] == "transactions[1]" and "belongs to another user" in line["reason"]
