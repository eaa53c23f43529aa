"""Browser tests: Playwright driving Debian chromium against a live server on a loopback port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apiseed import PASSWORD, Seeded

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(seeded: Seeded) -> Iterator[str]:
    import uvicorn

    from spendsense.api.app import create_app

    port = _free_port()
    app = create_app(seeded.settings, cookie_secure=False)
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=5)


@pytest.fixture
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def _sign_in(page: Any, base: str) -> None:
    page.goto(f"{base}/console/users/u1")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/console/users/u1")


def test_operator_signs_in_and_reviews(server: str, browser: Any, seeded: Seeded) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{server}/login")
    page.screenshot(path=str(SHOTS / "01-login.png"))
    _sign_in(page, server)
    assert "Alice <script>" in page.locator("h1").inner_text()  # shown as text, not run
    page.screenshot(path=str(SHOTS / "02-user-page.png"), full_page=True)

    card = page.locator("#rec-r1")
    with page.expect_navigation():
        card.get_by_role("button", name="Approve").click()
    assert "approved (version 2)" in page.locator(".notice.ok").inner_text()

    card = page.locator("#rec-r1")
    card.locator("summary", has_text="Override").click()
    card.get_by_label("Title").fill("A clearer title")
    card.get_by_label("Reason (required)").fill("plainer wording")
    with page.expect_navigation():
        card.get_by_role("button", name="Save override").click()
    assert "overridden (version 3)" in page.locator(".notice.ok").inner_text()

    card = page.locator("#rec-r3")
    card.locator("summary", has_text="Flag").click()
    card.get_by_label("Why flag it?").fill("numbers look off")
    with page.expect_navigation():
        card.get_by_role("button", name="Flag").click()
    assert "flagged" in page.locator(".notice.ok").inner_text()
    page.screenshot(path=str(SHOTS / "03-after-actions.png"), full_page=True)

    rows = seeded.conn.execute(
        "SELECT recommendation_id, status, title FROM recommendations WHERE user_id = 'u1' ORDER BY 1"
    ).fetchall()
    assert [tuple(r) for r in rows] == [
        ("r1", "overridden", "A clearer title"),
        ("r2", "flagged", "Title r2"),
        ("r3", "flagged", "Title r3"),
    ]
    page.goto(f"{server}/console/audit")
    assert "Hash chain verified" in page.locator("#chain-status").inner_text()
    page.screenshot(path=str(SHOTS / "04-audit.png"), full_page=True)
    for path, name in (("review", "05-review"), ("metrics", "06-metrics")):
        page.goto(f"{server}/console/{path}")
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_customer_consent_toggle_on_a_phone(server: str, browser: Any, seeded: Seeded) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    page.goto(f"{server}/me?token={seeded.tokens['u3']}")
    assert page.url == f"{server}/me"  # the token left the address bar
    page.screenshot(path=str(SHOTS / "07-me-consent.png"), full_page=True)
    page.keyboard.press("Tab")  # keyboard reachable: skip link first
    page.get_by_role("button", name="Yes, show me my insights").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_role("heading", name="Your insights").is_visible()
    assert (
        seeded.conn.execute("SELECT consent_status FROM users WHERE user_id='u3'").fetchone()[0]
        == "granted"
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Stop my insights").click()
    assert page.get_by_role("button", name="Yes, show me my insights").is_visible()
    assert (
        seeded.conn.execute("SELECT consent_status FROM users WHERE user_id='u3'").fetchone()[0]
        == "revoked"
    )

    page.goto(f"{server}/me?token={seeded.tokens['u1']}")
    with page.expect_navigation():
        page.get_by_role("article").first.get_by_role("button", name="Helpful", exact=True).click()
    assert "Thanks for your feedback" in page.content()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page scrolls sideways on a phone ({width}px)"
    page.screenshot(path=str(SHOTS / "08-me-insights-phone.png"), full_page=True)


def test_customer_signs_out_and_the_old_cookie_and_link_are_dead(
    server: str, browser: Any, seeded: Seeded
) -> None:
    context = browser.new_context()
    page = context.new_page()
    link = f"{server}/me?token={seeded.tokens['u1']}"
    page.goto(link)
    assert page.url == f"{server}/me"
    old_cookies = context.cookies()
    assert [c["name"] for c in old_cookies] == ["ss_me"]
    assert old_cookies[0]["value"] != seeded.tokens["u1"]  # a session id, not the token
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    assert page.url == f"{server}/me/signed-out"
    assert context.cookies() == []
    page.screenshot(path=str(SHOTS / "09-me-signed-out.png"), full_page=True)

    context.add_cookies(old_cookies)  # someone kept the cookie: replay it
    replay = page.goto(f"{server}/me")
    assert replay is not None and replay.status == 401
    assert "Your insights" not in page.content()
    context.clear_cookies()
    again = page.goto(link)  # and the old link
    assert again is not None and again.status == 401
    assert "not valid any more" in page.content()
    context.close()
