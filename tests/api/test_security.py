"""CSRF on every state-changing route, secrets kept out of logs, escaping, login timing."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from apiseed import EVIL, PASSWORD, Seeded, csrf_of, seed, sign_in
from fastapi.testclient import TestClient
from test_authz_matrix import CUSTOMER, OPEN, OWN_CARD, PARAMS, POLICY, app_routes

from spendsense.api.app import RedactSecrets, create_app

POSTS = sorted(key for key in POLICY if key[0] == "POST" and POLICY[key][0] != OPEN)


def _path(template: str) -> str:
    for name, value in PARAMS.items():
        template = template.replace(name, value)
    return template


def _operator_browser(client: TestClient) -> None:
    assert sign_in(client) == 303


def _customer_browser(client: TestClient, seeded: Seeded) -> None:
    r = client.get(f"/me?token={seeded.tokens['u1']}", follow_redirects=False)
    assert r.status_code == 303 and "ss_me" in r.cookies


def test_every_post_route_is_covered() -> None:
    app_posts = {k for k in app_routes(create_app_for_listing()) if k[0] == "POST"}
    assert app_posts - {("POST", "/login")} == set(POSTS)


def create_app_for_listing():  # type: ignore[no-untyped-def]
    import tempfile

    return create_app(seed(Path(tempfile.mkdtemp()) / "data").settings)


@pytest.mark.parametrize(("method", "template"), POSTS)
@pytest.mark.parametrize("csrf", ["missing", "forged"])
def test_cookie_post_without_csrf_is_refused(
    tmp_path: Path, method: str, template: str, csrf: str
) -> None:
    """A browser session (operator or customer cookie) cannot change state without its token."""
    seeded = seed(tmp_path / "data")
    policy, request = POLICY[(method, template)]
    with TestClient(create_app(seeded.settings, cookie_secure=False)) as client:
        if policy in (CUSTOMER, OWN_CARD):
            _customer_browser(client, seeded)
        else:
            _operator_browser(client)
        before = _state(seeded)
        kwargs = {k: dict(v) for k, v in request.items() if k != "path"}
        if csrf == "forged":
            if "data" in kwargs:
                kwargs["data"]["csrf_token"] = "forged"
            else:
                kwargs["headers"] = {"X-CSRF-Token": "forged"}
        r = client.request(method, _path(template), follow_redirects=False, **kwargs)
    assert r.status_code == 403, (template, r.status_code, r.text[:300])
    assert _state(seeded) == before


def _state(seeded: Seeded) -> tuple[object, ...]:
    conn = seeded.conn
    return (
        conn.execute("SELECT group_concat(status || version) FROM recommendations").fetchone()[0],
        conn.execute("SELECT group_concat(consent_status) FROM users").fetchone()[0],
        conn.execute("SELECT COUNT(*) FROM users").fetchone()[0],
        conn.execute("SELECT COUNT(*) FROM api_tokens").fetchone()[0],
        conn.execute("SELECT COUNT(*) FROM feedback").fetchone()[0],
        conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0],
    )


def test_secrets_never_logged(
    seeded: Seeded, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    """Sign-in, bearer use, the personal link and new tokens leave no secret in any log."""
    caplog.set_level(logging.DEBUG)
    secrets = [PASSWORD, seeded.operator_token, *seeded.tokens.values()]
    with TestClient(create_app(seeded.settings, cookie_secure=False)) as client:
        for wrong in ("wrong password 1", "wrong password 2"):
            csrf = csrf_of(client.get("/login").text)
            client.post("/login", data={"username": "alice", "password": wrong, "csrf_token": csrf})
            secrets.append(wrong)
        _operator_browser(client)
        secrets.append(client.cookies["ss_session"])
        client.get("/recommendations/u1", headers=seeded.op())
        client.get("/recommendations/u1", headers={"Authorization": "Bearer not-a-real-token"})
        new = client.post("/users/u2/token", headers=seeded.op()).json()
        secrets.append(new["token"])
        client.cookies.clear()
        client.get(f"/me?token={seeded.tokens['u1']}", follow_redirects=False)
        client.get("/me?token=bogus-token-value")
    secrets.append("not-a-real-token")
    out, err = capfd.readouterr()
    # httpx logs the test client's own requests (the client side, not the app): left out
    server = [
        r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))
    ]
    logged = "\n".join(server) + out + err
    for secret in secrets:
        assert secret not in logged


def test_access_log_redacts_the_personal_link(caplog: pytest.LogCaptureFixture) -> None:
    """uvicorn logs the full path; the app's filter blanks the token before it is written."""
    app_logger = logging.getLogger("uvicorn.access")
    caplog.set_level(logging.INFO, logger="uvicorn.access")
    assert any(isinstance(f, RedactSecrets) for f in app_logger.filters) or _install()
    app_logger.info(
        '%s - "%s %s HTTP/%s" %d',
        "127.0.0.1:5",
        "GET",
        "/me?token=SECRETVALUE&x=1",
        "1.1",
        303,
    )
    assert "SECRETVALUE" not in caplog.text and "token=[redacted]&x=1" in caplog.text


def _install() -> bool:
    from spendsense.api.app import install_log_redaction

    install_log_redaction()
    return True


def test_unknown_username_costs_a_password_check(seeded: Seeded) -> None:
    """No fast path for unknown usernames (timing would reveal which exist)."""
    import time

    from spendsense.errors import Unauthorized
    from spendsense.store.auth import authenticate

    def timed(user: str) -> float:
        start = time.perf_counter()
        with pytest.raises(Unauthorized):
            authenticate(seeded.conn, user, "wrong password")
        return time.perf_counter() - start

    timed("nobody")  # builds the dummy hash once
    known, unknown = timed("alice"), timed("nobody-else")
    assert unknown > known / 4


PAGES = [
    "/console/users",
    "/console/users/u1",
    "/console/review",
    "/console/metrics",
    "/console/audit",
    "/console/users?q=%3Cscript%3Ealert(1)%3C/script%3E",
    "/login?next=%22%3E%3Cscript%3Ealert(1)%3C/script%3E",
]


def test_no_page_echoes_markup(seeded: Seeded) -> None:
    """Hostile names (seeded with <script>) and hostile query strings come back escaped."""
    raw = re.compile(r"<script>alert", re.IGNORECASE)
    with TestClient(create_app(seeded.settings, cookie_secure=False)) as client:
        _operator_browser(client)
        for page in PAGES:
            r = client.get(page)
            assert r.status_code == 200, page
            assert not raw.search(r.text), page
        client.cookies.clear()
        _customer_browser(client, seeded)
        me = client.get("/me")
        assert me.status_code == 200 and not raw.search(me.text)
        assert EVIL not in me.text
