"""HTTP hardening: body limits, bounded numbers, security headers, no server paths, no URL alerts,
secrets out of logs however spelled, and scratch files of a killed ingest swept."""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from apiseed import Seeded, csrf_of, sign_in
from fastapi.testclient import TestClient

from spendsense.api.hardening import RedactSecrets, redact
from spendsense.store.db import SCRATCH_PREFIX, sweep_scratch

MB = 1024 * 1024


def _users(seeded: Seeded) -> int:
    return int(seeded.conn.execute("SELECT COUNT(*) FROM users").fetchone()[0])


def test_a_50_mb_body_is_refused_with_413(client: TestClient, seeded: Seeded) -> None:
    before = _users(seeded)
    junk = b"x" * (50 * MB)
    for path in ("/users", "/users/u1/plaid", "/consent"):
        r = client.post(
            path, content=junk, headers={**seeded.op(), "content-type": "application/json"}
        )
        assert r.status_code == 413, path
        assert r.json()["error"]["code"] == "payload_too_large"
    assert _users(seeded) == before


def test_a_streamed_body_without_length_is_cut_off_at_the_limit(
    client: TestClient, seeded: Seeded
) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"y" * MB

    r = client.post(
        "/users/u1/plaid",
        content=chunks(),
        headers={**seeded.op(), "content-type": "application/json"},
    )
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"


def test_a_normal_body_still_passes(client: TestClient, seeded: Seeded) -> None:
    r = client.post("/users", json={"user_id": "u_new"}, headers=seeded.op())
    assert r.status_code == 201


HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"/operator/review?offset={HUGE}", None),
        ("GET", f"/operator/audit?offset={HUGE}", None),
        ("GET", f"/operator/review?limit={HUGE}", None),
        ("GET", f"/operator/review?window={HUGE}", None),
        ("GET", f"/console/users?page={HUGE}", None),
        ("GET", f"/console/review?page={HUGE}", None),
        ("GET", f"/console/audit?page={HUGE}", None),
        ("POST", "/operator/recommendations/r1/approve", {"version": int(HUGE)}),
        ("GET", "/users?as_of=99999-12-31", None),
        ("GET", "/users?as_of=2025-13-45", None),
        ("GET", "/users?as_of=2026-02-30", None),
        ("GET", "/users?as_of=0000-01-01", None),
    ],
)
def test_out_of_range_numbers_and_dates_are_422_not_500(
    client: TestClient, seeded: Seeded, method: str, path: str, body: object
) -> None:
    r = client.request(method, path, json=body, headers=seeded.op())
    assert r.status_code == 422, (path, r.status_code, r.text[:200])
    assert r.json()["error"]["code"] == "invalid_input"


@pytest.mark.parametrize("as_of", ["2025-13-45", "2026-02-30", "99999-12-31"])
@pytest.mark.parametrize("path", ["/console/users", "/console/users/u1"])
def test_console_refuses_a_date_that_is_not_on_the_calendar(
    client: TestClient, as_of: str, path: str
) -> None:
    r = _signed_in(client).get(path, params={"as_of": as_of})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "as_of" in r.text and 'href="/console/review"' in r.text  # the console stays around


def test_a_real_date_still_passes(client: TestClient, seeded: Seeded) -> None:
    r = client.get("/users", params={"as_of": "2024-02-29"}, headers=seeded.op())
    assert r.status_code == 200 and r.json()["items"][0]["as_of_date"] == "2024-02-29"


def _signed_in(client: TestClient) -> TestClient:
    assert sign_in(client) == 303
    return client


def test_security_headers_on_pages_and_api(client: TestClient, seeded: Seeded) -> None:
    client.get(f"/me?token={seeded.tokens['u1']}")
    answers = {
        "/me": client.get("/me"),
        "/login": client.get("/login"),
        "/recommendations/u1": client.get("/recommendations/u1", headers=seeded.op()),
        "/nowhere": client.get("/nowhere"),
    }
    client.cookies.clear()
    _signed_in(client)
    answers["/console/users"] = client.get("/console/users")
    for path, r in answers.items():
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"], path
        assert r.headers["x-frame-options"] == "DENY", path
        assert r.headers["referrer-policy"] == "no-referrer", path
        assert r.headers["x-content-type-options"] == "nosniff", path
        assert r.headers["cache-control"] == "no-store", path
    static = client.get("/static/style.css")
    assert static.status_code == 200 and static.headers.get("cache-control") != "no-store"
    assert "frame-ancestors 'none'" in static.headers["content-security-policy"]


def test_responses_carry_no_server_paths(client: TestClient, seeded: Seeded) -> None:
    bundle = {
        "user": {"user_id": "u1"},
        "accounts": [{"account_id": "bad", "type": "nonsense"}],
        "transactions": [{"transaction_id": "t-bad", "account_id": "bad", "amount": "abc",
                          "date": "99999-01-01"}],
    }  # fmt: skip
    answers = [
        client.post("/users/u1/plaid", json=bundle, headers=seeded.op()),
        client.post("/users/u1/plaid", json={"nothing": "useful"}, headers=seeded.op()),
        client.post("/users/u1/plaid", json={"user": {"user_id": "u2"}}, headers=seeded.op()),
    ]
    data_dir = str(seeded.settings.data_dir.resolve())
    for r in answers:
        assert r.status_code < 500, r.text
        assert data_dir not in r.text and "/tmp" not in r.text and "spendsense-upload" not in r.text
    quarantine = answers[0].json()["quarantine"]
    assert quarantine.startswith("quarantine/") and not quarantine.startswith("/")
    assert (seeded.settings.data_dir / quarantine).exists()


def test_url_text_never_becomes_an_official_alert(client: TestClient, seeded: Seeded) -> None:
    _signed_in(client)
    fake = "Your account is suspended: call 555-0100"
    paths = {"operator": ("/console/users", "/console/review", "/login"),
             "customer": ("/me", "/me/signed-out")}  # fmt: skip
    for who, pages in paths.items():
        if who == "customer":
            client.cookies.clear()
            client.get(f"/me?token={seeded.tokens['u1']}")
        for path in pages:
            r = client.get(path, params={"error": fake, "ok": fake, "notice": fake})
            assert r.status_code == 200, path
            assert fake not in r.text and 'class="notice' not in r.text, path
    client.cookies.clear()
    _signed_in(client)
    page = client.get("/console/users/u1").text
    r = client.post(
        "/console/recommendations/r1/approve",
        data={"csrf_token": csrf_of(page), "version": "1", "next": "/console/users/u1"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "?" not in r.headers["location"]  # nothing in the URL
    shown = client.get(r.headers["location"]).text
    assert "approved (version 2)" in shown and 'class="notice ok"' in shown
    assert 'class="notice' not in client.get(r.headers["location"]).text  # once only


@pytest.mark.parametrize(
    "spelling",
    ["token", "TOKEN", "%74oken", "to%6Ben", "%2574oken", "csrf_token", "pass%77ord", "+token"],
)
def test_any_query_spelling_of_a_secret_is_redacted(spelling: str) -> None:
    secret = "s3cr3t-value"
    line = f'127.0.0.1:5 - "GET /me?a=1&{spelling}={secret}&b=2 HTTP/1.1" 303'
    assert secret not in redact(line)
    assert "a=1" in redact(line) and "b=2" in redact(line)
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", f"/me?{spelling}={secret}", "1.1", 303), None,
    )  # fmt: skip
    RedactSecrets().filter(record)
    assert secret not in record.getMessage()


def test_the_server_reads_the_encoded_spelling_as_the_token(
    client: TestClient, seeded: Seeded
) -> None:
    """Why the redaction decodes: %74oken= is the personal link to the server."""
    r = client.get(f"/me?%74oken={seeded.tokens['u1']}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/me"


def test_scratch_left_by_a_killed_ingest_is_swept(tmp_path: Path) -> None:
    stale_locked = tmp_path / f"{SCRATCH_PREFIX}dead1"
    stale_locked.mkdir()
    (stale_locked / "owner.lock").touch()
    (stale_locked / "scratch.db").write_bytes(b"x" * 1000)
    stale_old = tmp_path / f"{SCRATCH_PREFIX}dead2"  # from before the lock file existed
    stale_old.mkdir()
    long_ago = time.time() - 3600
    os.utime(stale_old, (long_ago, long_ago))
    live = tmp_path / f"{SCRATCH_PREFIX}live"
    live.mkdir()
    with (live / "owner.lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        fresh = tmp_path / f"{SCRATCH_PREFIX}starting"  # being created right now
        fresh.mkdir()
        removed = sweep_scratch(tmp_path)
    assert sorted(p.name for p in removed) == [stale_locked.name, stale_old.name]
    assert live.exists() and fresh.exists() and not stale_locked.exists()


def test_an_ingest_sweeps_stale_scratch_and_leaves_none(tmp_path: Path) -> None:
    from spendsense.ledger.batch import LedgerBatch
    from spendsense.store.db import connect
    from spendsense.store.ledger import apply_batch

    conn = connect(tmp_path / "spendsense.db")
    stale = tmp_path / f"{SCRATCH_PREFIX}killed"
    stale.mkdir()
    (stale / "owner.lock").touch()
    apply_batch(conn, LedgerBatch())
    assert not stale.exists()
    assert list(tmp_path.glob(f"{SCRATCH_PREFIX}*")) == []
