"""Authentication and authorisation: 401, 403, sessions, cookies, CSRF, throttling."""

from __future__ import annotations

import re

import pytest
from apiseed import PASSWORD, Seeded
from fastapi.testclient import TestClient

from spendsense.api.app import create_app
from spendsense.store.auth import MAX_FAILURES, create_operator, principal_from_token, sha256_hex

PROTECTED = [
    ("post", "/users", {"user_id": "x"}),
    ("post", "/users/u1/token", None),
    ("post", "/users/u1/plaid", {"accounts": []}),
    ("post", "/consent", {"user_id": "u1", "action": "grant"}),
    ("get", "/profile/u1", None),
    ("get", "/recommendations/u1", None),
    ("post", "/feedback", {"recommendation_id": "r1", "helpful": True}),
    ("get", "/operator/review", None),
    ("post", "/operator/recommendations/r1/approve", {"version": 1}),
    ("get", "/traces/tr_r1", None),
    ("get", "/operator/audit", None),
]
OPERATOR_ONLY = [
    ("post", "/users", {"user_id": "x"}),
    ("post", "/users/u1/token", None),
    ("get", "/operator/review", None),
    ("post", "/operator/recommendations/r1/approve", {"version": 1}),
    ("post", "/operator/recommendations/r1/override", {"version": 1, "reason": "x", "title": "y"}),
    ("post", "/operator/recommendations/r1/flag", {"version": 1, "reason": "x"}),
    ("post", "/operator/recommendations/r2/unflag", {"version": 1}),
    ("get", "/operator/audit", None),
]


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED)
def test_anonymous_gets_401(client: TestClient, method: str, path: str, body: object) -> None:
    r = client.request(method, path, json=body)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("path", ["/healthz", "/openapi.json", "/login", "/static/style.css"])
def test_open_paths(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 200


@pytest.mark.parametrize(("method", "path", "body"), OPERATOR_ONLY)
def test_customer_refused_on_operator_routes(
    client: TestClient, seeded: Seeded, method: str, path: str, body: object
) -> None:
    r = client.request(method, path, json=body, headers=seeded.cust("u1"))
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/profile/u2", None),
        ("get", "/recommendations/u2", None),
        ("post", "/consent", {"user_id": "u2", "action": "revoke"}),
        ("post", "/feedback", {"recommendation_id": "r4", "helpful": True}),
        ("get", "/traces/tr_r4", None),
    ],
)
def test_customer_refused_on_other_customer(
    client: TestClient, seeded: Seeded, method: str, path: str, body: object
) -> None:
    """Another customer's data is not there for them: 404, as for an id nobody has."""
    r = client.request(method, path, json=body, headers=seeded.cust("u1"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


def test_bad_tokens_are_401(client: TestClient) -> None:
    for header in ("Bearer nope", "Basic abc", "Bearer "):
        r = client.get("/recommendations/u1", headers={"Authorization": header})
        assert r.status_code == 401


def test_only_token_hashes_are_stored(seeded: Seeded) -> None:
    stored = {r[0] for r in seeded.conn.execute("SELECT token_hash FROM api_tokens")}
    assert seeded.operator_token not in stored
    assert sha256_hex(seeded.operator_token) in stored
    pw = seeded.conn.execute("SELECT password_hash FROM operators").fetchone()[0]
    assert pw.startswith("$argon2") and PASSWORD not in pw
    seeded.conn.execute("UPDATE api_tokens SET revoked = 1")
    assert principal_from_token(seeded.conn, seeded.operator_token) is None


def _login(client: TestClient, username: str = "alice", password: str = PASSWORD):  # type: ignore[no-untyped-def]
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf.group(1)},
        follow_redirects=False,
    )


def test_login_sets_httponly_lax_cookie(client: TestClient) -> None:
    r = _login(client)
    assert r.status_code == 303 and r.headers["location"] == "/console/users"
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("ss_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert client.get("/console/users").status_code == 200


def test_secure_cookie_flag_under_https(seeded: Seeded) -> None:
    with TestClient(create_app(seeded.settings), base_url="https://testserver") as c:
        r = _login(c)
        cookie = next(x for x in r.headers.get_list("set-cookie") if x.startswith("ss_session="))
        assert "Secure" in cookie


def test_session_post_without_csrf_is_refused(client: TestClient) -> None:
    _login(client)
    r = client.post("/operator/recommendations/r1/approve", json={"version": 1})
    assert r.status_code == 403 and r.json()["error"]["field"] == "csrf_token"
    form = client.post(
        "/console/recommendations/r1/approve", data={"version": "1", "csrf_token": "forged"}
    )
    assert form.status_code == 403
    page = client.get("/console/users/u1")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    ok = client.post("/operator/recommendations/r1/approve", json={"version": 1},
                     headers={"X-CSRF-Token": token.group(1)})  # fmt: skip
    assert ok.status_code == 200


def test_login_form_needs_its_csrf_cookie(client: TestClient) -> None:
    r = client.post("/login", data={"username": "alice", "password": PASSWORD, "csrf_token": "x"})
    assert r.status_code == 403
    assert "ss_session" not in r.cookies


def test_wrong_password_then_throttled(client: TestClient) -> None:
    for _ in range(MAX_FAILURES):
        assert _login(client, password="wrong password").status_code == 401
    r = _login(client)  # the right password, but too late
    assert r.status_code == 429
    assert "too many" in r.text.lower()
    assert _login(client, username="someone-else", password="x" * 9).status_code == 401


def test_logout_ends_session(client: TestClient) -> None:
    _login(client)
    page = client.get("/console/users")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    client.post("/logout", data={"csrf_token": token.group(1)})
    r = client.get("/console/users", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_create_operator_validates_and_audits(seeded: Seeded) -> None:
    from spendsense.errors import Conflict, UserError

    with pytest.raises(UserError):
        create_operator(seeded.conn, "bob", "short")
    with pytest.raises(Conflict):
        create_operator(seeded.conn, "alice", "long enough password")
    create_operator(seeded.conn, "bob", "long enough password")
    actions = [r[0] for r in seeded.conn.execute("SELECT action FROM audit_log")]
    assert actions.count("operator.create") == 2
