"""Credentials with a lifecycle: expiry, sign-out and revocation, audited issue, throttling."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from apiseed import PASSWORD, Seeded, csrf_of, sign_in
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from spendsense.api.deps import CUSTOMER_COOKIE
from spendsense.cli import app as cli
from spendsense.errors import Unauthorized
from spendsense.store import auth
from spendsense.store.auth import (
    CLIENT_FREE_FAILURES,
    FREE_FAILURES,
    TooManyAttempts,
    authenticate,
    create_customer_token,
    sha256_hex,
)
from spendsense.store.db import connect


def _open_link(client: TestClient, token: str) -> Any:
    return client.get(f"/me?token={token}", follow_redirects=False)


def test_cookie_holds_a_session_id_not_the_token(client: TestClient, seeded: Seeded) -> None:
    token = seeded.tokens["u1"]
    r = _open_link(client, token)
    assert r.status_code == 303
    cookie = r.cookies[CUSTOMER_COOKIE]
    assert cookie != token and token not in r.headers["set-cookie"]
    stored = seeded.conn.execute(
        "SELECT COUNT(*) FROM api_tokens WHERE token_hash = ?", (sha256_hex(cookie),)
    ).fetchone()[0]
    assert stored == 0  # the session secret is not a bearer token
    bearer = client.get("/recommendations/u1", headers={"Authorization": f"Bearer {cookie}"})
    assert bearer.status_code == 401
    assert client.get("/me").status_code == 200


def test_signout_revokes_the_session_and_the_link_server_side(
    client: TestClient, seeded: Seeded
) -> None:
    token = seeded.tokens["u1"]
    _open_link(client, token)
    cookie = client.cookies[CUSTOMER_COOKIE]
    page = client.get("/me").text
    assert client.post("/me/signout", data={"csrf_token": csrf_of(page)}).status_code == 200
    client.cookies.clear()
    client.cookies.set(CUSTOMER_COOKIE, cookie)  # the old cookie, replayed
    assert client.get("/me", follow_redirects=False).status_code == 401
    client.cookies.clear()
    assert _open_link(client, token).status_code == 401  # the old link
    api = client.get("/recommendations/u1", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 401


def test_expired_tokens_and_sessions_stop_working(client: TestClient, seeded: Seeded) -> None:
    token = seeded.tokens["u1"]
    _open_link(client, token)
    assert client.get("/me").status_code == 200
    seeded.conn.execute(
        "UPDATE api_tokens SET expires_at = '2000-01-01T00:00:00.000000Z' WHERE token_hash = ?",
        (sha256_hex(token),),
    )
    assert client.get("/me", follow_redirects=False).status_code == 401  # session dies with it
    client.cookies.clear()
    assert _open_link(client, token).status_code == 401
    assert client.get("/profile/u1", headers=seeded.cust("u1")).status_code == 401


def test_new_tokens_carry_an_expiry(seeded: Seeded) -> None:
    created, expires = seeded.conn.execute(
        "SELECT created_at, expires_at FROM api_tokens WHERE token_hash = ?",
        (sha256_hex(seeded.tokens["u1"]),),
    ).fetchone()
    assert expires[:10] > created[:10]
    op = seeded.conn.execute(
        "SELECT expires_at FROM api_tokens WHERE kind = 'operator'"
    ).fetchone()[0]
    assert op


def test_issuing_a_customer_token_is_audited_without_the_secret(
    client: TestClient, seeded: Seeded
) -> None:
    r = client.post("/users/u2/token", headers=seeded.op())
    assert r.status_code == 201 and r.json()["expires_in_days"] == 30
    secret = r.json()["token"]
    entry = client.get("/operator/audit", headers=seeded.op()).json()["items"][0]
    assert (entry["action"], entry["actor"], entry["target_id"]) == (
        "customer_token.issue", "alice", "u2",
    )  # fmt: skip
    assert entry["after"]["token_id"].startswith("tok_") and entry["after"]["expires_at"]
    assert secret not in str(entry) and sha256_hex(secret) not in str(entry)


def test_api_revokes_a_users_links_and_a_single_token(client: TestClient, seeded: Seeded) -> None:
    extra = create_customer_token(seeded.conn, "u1", actor="test")
    r = client.post("/users/u1/token/revoke", headers=seeded.op())
    assert r.status_code == 200 and r.json()["tokens_revoked"] == 2
    for token in (seeded.tokens["u1"], extra):
        assert (
            client.get("/profile/u1", headers={"Authorization": f"Bearer {token}"}).status_code
            == 401
        )
    one = client.post(
        "/operator/tokens/revoke", json={"token": seeded.tokens["u2"]}, headers=seeded.op()
    )
    assert one.status_code == 200 and one.json()["token_id"].startswith("tok_")
    assert client.get("/profile/u2", headers=seeded.cust("u2")).status_code == 401
    actions = [
        e["action"] for e in client.get("/operator/audit", headers=seeded.op()).json()["items"]
    ]
    assert actions[:2] == ["customer_token.revoke", "customer_token.revoke_all"]


def test_disabling_an_operator_ends_sessions_and_tokens(client: TestClient, seeded: Seeded) -> None:
    auth.create_operator(seeded.conn, "bob", PASSWORD)
    bob = auth.create_operator_token(seeded.conn, "bob")
    assert (
        client.get("/operator/review", headers={"Authorization": f"Bearer {bob}"}).status_code
        == 200
    )
    r = client.post("/operator/operators/bob/disable", headers=seeded.op())
    assert r.status_code == 200 and r.json()["disabled"] is True
    assert (
        client.get("/operator/review", headers={"Authorization": f"Bearer {bob}"}).status_code
        == 401
    )
    login = {
        "username": "bob",
        "password": PASSWORD,
        "csrf_token": csrf_of(client.get("/login").text),
    }
    assert client.post("/login", data=login).status_code == 401
    client.post("/operator/operators/bob/enable", headers=seeded.op())
    # re-enabled: can sign in again, but the revoked token stays revoked
    login["csrf_token"] = csrf_of(client.get("/login").text)
    assert client.post("/login", data=login, follow_redirects=False).status_code == 303
    assert (
        client.get("/operator/review", headers={"Authorization": f"Bearer {bob}"}).status_code
        == 401
    )


def test_cli_revoke_disable_and_password_reset(seeded: Seeded) -> None:
    runner = CliRunner()
    data = ["--data-dir", str(seeded.settings.data_dir)]

    def run(*args: str) -> str:
        result = runner.invoke(cli, [*data, *args])
        assert result.exit_code == 0, result.output
        return result.output

    assert "revoked 1 token(s) of u1" in run("customer", "revoke", "u1")
    assert auth.principal_from_token(seeded.conn, seeded.tokens["u1"]) is None
    assert "revoked" in run("token", "revoke", seeded.tokens["u2"])
    assert auth.principal_from_token(seeded.conn, seeded.tokens["u2"]) is None
    secret, _ = auth.create_session(seeded.conn, authenticate(seeded.conn, "alice", PASSWORD))
    run("operator", "reset-password", "alice", "--password", "a brand new passphrase")
    assert auth.principal_from_session(seeded.conn, secret) is None
    with pytest.raises(Unauthorized):
        authenticate(seeded.conn, "alice", PASSWORD, client="cli-test")
    assert authenticate(seeded.conn, "alice", "a brand new passphrase", client="cli-test")
    run("operator", "disable", "alice")
    assert auth.principal_from_token(seeded.conn, seeded.operator_token) is None
    actions = {
        r[0] for r in seeded.conn.execute("SELECT action FROM audit_log WHERE actor = 'cli'")
    }
    assert {"customer_token.revoke_all", "customer_token.revoke", "operator.password_reset",
            "operator.disable"} <= actions  # fmt: skip
    assert "a brand new passphrase" not in str(
        seeded.conn.execute("SELECT * FROM audit_log").fetchall()
    )


@pytest.mark.parametrize("csrf", ["a-different-token", "", None], ids=["wrong", "empty", "missing"])
def test_wrong_csrf_token_on_login_is_refused(
    client: TestClient, seeded: Seeded, csrf: str | None
) -> None:
    client.get("/login")  # sets the double-submit cookie
    form = {"username": "alice", "password": PASSWORD}
    if csrf is not None:
        form["csrf_token"] = csrf
    r = client.post("/login", data=form, follow_redirects=False)
    assert r.status_code == 403 and "ss_session" not in r.cookies
    assert "Your sign-in form expired" in r.text
    # refused before the password check: nothing counted against the account
    assert seeded.conn.execute("SELECT COUNT(*) FROM login_attempts").fetchone()[0] == 0
    assert sign_in(client) == 303


def _count_checks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count argon2 verifications (each sign-in attempt that reaches the password check)."""
    checks: list[int] = []
    real: Callable[[], Any] = auth._hasher

    class Counting:
        def __init__(self) -> None:
            self.inner = real()

        def verify(self, stored: str, password: str) -> bool:
            checks.append(1)
            return bool(self.inner.verify(stored, password))

        def hash(self, password: str) -> str:
            return str(self.inner.hash(password))

    monkeypatch.setattr(auth, "_hasher", Counting)
    return checks


def test_forty_concurrent_attempts_reach_at_most_five_password_checks(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks = _count_checks(monkeypatch)
    # Widen the window between counting the failures and recording this one (the insert's
    # timestamp is formatted in between): without one write transaction around both, every
    # thread would count zero failures and all 40 would reach the check.
    real_iso = auth._iso

    def slow_iso(when: datetime) -> str:
        time.sleep(0.05)
        return real_iso(when)

    monkeypatch.setattr(auth, "_iso", slow_iso)
    outcomes: list[str] = []
    start = threading.Barrier(40)

    def attempt() -> None:
        conn = connect(seeded.settings.db_path, migrate=False)
        start.wait()
        try:
            authenticate(conn, "alice", "wrong password", client="10.0.0.9")
            outcomes.append("ok")
        except TooManyAttempts:
            outcomes.append("throttled")
        except Unauthorized:
            outcomes.append("wrong")
        finally:
            conn.close()

    threads = [threading.Thread(target=attempt) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(checks) <= FREE_FAILURES
    assert outcomes.count("wrong") == len(checks) and outcomes.count("throttled") == 40 - len(
        checks
    )
    recorded = seeded.conn.execute(
        "SELECT COUNT(*) FROM login_attempts WHERE client = '10.0.0.9'"
    ).fetchone()[0]
    assert recorded == len(checks)


def test_nobody_can_lock_the_admin_out_from_another_client(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(FREE_FAILURES):
        with pytest.raises(Unauthorized):
            authenticate(seeded.conn, "alice", "wrong password", client="attacker")
    with pytest.raises(TooManyAttempts, match="try again in 30 seconds"):
        authenticate(seeded.conn, "alice", PASSWORD, client="attacker")
    # the operator, from their own device, signs in at once
    assert authenticate(seeded.conn, "alice", PASSWORD, client="admin-laptop")


def test_backoff_doubles_and_then_lets_the_client_try_again(seeded: Seeded) -> None:
    def fail(n: int) -> None:
        for _ in range(n):
            with pytest.raises(Unauthorized):
                authenticate(seeded.conn, "alice", "wrong password", client="c1")

    def age(seconds: float) -> None:  # move this client's attempts into the past
        rows = seeded.conn.execute("SELECT rowid, at FROM login_attempts WHERE client = 'c1'")
        for rowid, at in rows.fetchall():
            older = auth._iso(auth._parse(at) - timedelta(seconds=seconds))
            seeded.conn.execute("UPDATE login_attempts SET at = ? WHERE rowid = ?", (older, rowid))

    fail(FREE_FAILURES)
    with pytest.raises(TooManyAttempts):
        authenticate(seeded.conn, "alice", PASSWORD, client="c1")
    age(31)
    fail(1)  # allowed after 30 s; the sixth failure doubles the wait to 60 s
    age(31)
    with pytest.raises(TooManyAttempts, match=r"try again in (29|30) seconds"):
        authenticate(seeded.conn, "alice", PASSWORD, client="c1")
    age(30)
    assert authenticate(seeded.conn, "alice", PASSWORD, client="c1")
    # a success clears the pair's count
    fail(FREE_FAILURES - 1)
    assert authenticate(seeded.conn, "alice", PASSWORD, client="c1")


def test_a_client_spraying_usernames_is_slowed(seeded: Seeded) -> None:
    for i in range(CLIENT_FREE_FAILURES):
        with pytest.raises(Unauthorized):
            authenticate(seeded.conn, f"user{i}", "wrong password", client="sprayer")
    with pytest.raises(TooManyAttempts):
        authenticate(seeded.conn, "someone-new", "wrong password", client="sprayer")
    with pytest.raises(Unauthorized):  # another client is not affected
        authenticate(seeded.conn, "someone-new", "wrong password", client="elsewhere")
