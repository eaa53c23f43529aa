"""Concurrency: racing operators get one winner and a 409; ingest while the app serves reads."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from apiseed import Seeded
from fastapi.testclient import TestClient

from spendsense.api.app import create_app
from spendsense.store.auth import create_operator, create_operator_token
from spendsense.store.db import BUSY_TIMEOUT_MS


def test_two_operators_same_version_one_wins(seeded: Seeded) -> None:
    create_operator(seeded.conn, "bob", "another long password")
    tokens = [seeded.operator_token, create_operator_token(seeded.conn, "bob")]
    app = create_app(seeded.settings, cookie_secure=False)
    barrier = threading.Barrier(2)
    for round_ in range(5):
        version = seeded.conn.execute(
            "SELECT version FROM recommendations WHERE recommendation_id = 'r1'"
        ).fetchone()[0]
        action = "flag" if round_ % 2 == 0 else "unflag"

        def act(token: str, version: int = version, action: str = action) -> tuple[int, dict]:
            with TestClient(app) as client:
                barrier.wait()
                r = client.post(
                    f"/operator/recommendations/r1/{action}",
                    json={"version": version, "reason": "race"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                return r.status_code, r.json()

        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(act, tokens))
        codes = sorted(code for code, _ in results)
        assert codes == [200, 409], results
        loser = next(body for code, body in results if code == 409)
        assert loser["error"]["code"] == "conflict" and "reload" in loser["error"]["message"]
    audited = seeded.conn.execute(
        "SELECT COUNT(*) FROM audit_log WHERE target_id = 'r1' AND action LIKE 'recommendation.%'"
    ).fetchone()[0]
    assert audited == 5


def test_busy_timeout_is_set_on_every_pooled_connection(seeded: Seeded) -> None:
    app = create_app(seeded.settings)
    conns = [app.state.pool.acquire() for _ in range(3)]
    for conn in conns:
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == BUSY_TIMEOUT_MS
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        app.state.pool.release(conn)


@pytest.mark.slow
def test_ingest_while_serving_reads(seeded: Seeded, tmp_path: Path) -> None:
    """A big ingest holds the write lock for a while; reads keep answering 200 meanwhile."""
    from spendsense.services import ingest_into_store

    txns = [
        {"transaction_id": f"x{i}", "account_id": "a9", "date": "2025-06-01", "amount": 1.5,
         "iso_currency_code": "USD", "name": "Coffee"}
        for i in range(60_000)
    ]  # fmt: skip
    doc = {"user": {"user_id": "u9", "consent": "granted"},
           "accounts": [{"account_id": "a9", "type": "depository", "subtype": "checking",
                         "balances": {"current": 1, "iso_currency_code": "USD"}}],
           "transactions": txns}  # fmt: skip
    path = tmp_path / "big.json"
    path.write_text(json.dumps(doc))
    done = threading.Event()
    errors: list[BaseException] = []

    def ingest() -> None:
        try:
            ingest_into_store(seeded.settings, [path])
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            done.set()

    statuses: list[int] = []
    with TestClient(create_app(seeded.settings, cookie_secure=False)) as client:
        worker = threading.Thread(target=ingest)
        worker.start()
        while not done.is_set() or len(statuses) < 20:
            for path_ in ("/recommendations/u1", "/profile/u1", "/operator/review"):
                r = client.get(path_, headers=seeded.op())
                statuses.append(r.status_code)
                assert "locked" not in r.text
        worker.join()
        # a write from the app while nothing else writes still works afterwards
        ok = client.post(
            "/operator/recommendations/r1/approve", json={"version": 1}, headers=seeded.op()
        )
        assert ok.status_code == 200
    assert not errors, errors
    assert set(statuses) == {200}, sorted(set(statuses))
