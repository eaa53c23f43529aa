"""The console in a real browser on a real pipeline run (generated users, two as-of dates)."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from test_browser import ARGS, CHROMIUM, SHOTS, _free_port

from spendsense.cli import main

pytestmark = pytest.mark.browser
PASSWORD = "a long operator password"
EARLIER = "2026-09-30"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("console") / "data"
    d = ["--data-dir", str(data)]
    main([*d, "generate", "--users", "15", "--seed", "5"])
    main([*d, "ingest", str(data / "raw" / "bundles")])
    main([*d, "run", "--as-of", EARLIER])
    main([*d, "run"])
    main([*d, "operator", "create", "ops", "--password", PASSWORD])
    return data


@pytest.fixture(scope="module")
def base(run_dir: Path) -> Iterator[str]:
    import uvicorn

    from spendsense.api.app import create_app
    from spendsense.config import load_settings

    port = _free_port()
    app = create_app(load_settings(None, run_dir), cookie_secure=False)
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def page(base: str) -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        tab = browser.new_page(viewport={"width": 1280, "height": 900})
        tab.goto(f"{base}/login")
        tab.get_by_label("Username").fill("ops")
        tab.get_by_label("Password").fill(PASSWORD)
        with tab.expect_navigation():
            tab.get_by_role("button", name="Sign in").click()
        yield tab
        browser.close()


def _user_with_recs(run_dir: Path) -> str:
    with sqlite3.connect(run_dir / "spendsense.db") as db:
        row = db.execute(
            "SELECT user_id FROM recommendations GROUP BY user_id ORDER BY COUNT(*) DESC LIMIT 1"
        ).fetchone()
    return str(row[0])


def test_filter_with_any_window_lists_users(page: Any, base: str) -> None:
    page.goto(f"{base}/console/users")
    before = page.locator("tbody tr").count()
    page.get_by_label("Window").select_option("")
    page.get_by_label("Consent").select_option("granted")
    with page.expect_navigation():
        page.get_by_role("button", name="Filter").click()
    assert "window=" in page.url
    assert page.get_by_role("heading", name=re.compile("Users")).is_visible()
    assert 0 < page.locator("tbody tr").count() <= before
    page.screenshot(path=str(SHOTS / "20-users-any-window.png"), full_page=True)


def test_a_bad_request_keeps_the_console_around_it(page: Any, base: str) -> None:
    page.goto(f"{base}/console/review?persona=Nobody")
    assert page.get_by_role("heading", name="Please check that request").is_visible()
    assert "use one of High Utilization" in page.locator("#error").inner_text()
    nav = page.get_by_role("navigation", name="Console")
    assert nav.get_by_role("link", name="Review queue").is_visible()
    page.screenshot(path=str(SHOTS / "21-error-in-console.png"))


def test_approve_far_down_comes_back_at_the_card(page: Any, base: str, run_dir: Path) -> None:
    user = _user_with_recs(run_dir)
    page.goto(f"{base}/console/users/{user}")
    card = page.locator("article.rec").last
    card_id = card.get_attribute("id")
    card.scroll_into_view_if_needed()
    with page.expect_navigation():
        card.get_by_role("button", name="Approve").click()
    assert unquote(page.url).endswith(f"#{card_id}")
    page.wait_for_timeout(300)
    assert page.evaluate("window.scrollY") > 1000  # not back at the top
    box = page.locator(f'[id="{card_id}"]').bounding_box()
    assert box is not None and -5 <= box["y"] < 900, box
    assert "approved" in page.locator(".notice.ok").inner_text()


def test_signals_traces_and_streams_read_plainly(page: Any, base: str, run_dir: Path) -> None:
    user = _user_with_recs(run_dir)
    page.goto(f"{base}/console/users/{user}")
    signals = page.locator("table.signals").inner_text()
    assert "$" in signals and "%" in signals and re.search(r"\b(yes|no)\b", signals)
    assert "Persona threshold" in signals and re.search(r"[≥≤<>] .* · ", signals)
    page.locator("details.decision-trace summary").first.click()
    decision = page.locator("details.decision-trace").first.inner_text()
    assert "Why this item" in decision and "Versions" in decision
    assert not re.search(r"\d\.\d{5,}", decision) and "{" not in decision
    body = page.locator("main").inner_text()
    assert "threshold_ratio" not in body and not re.search(r"\d\.\d{5,}", body)
    for window in (30, 180):  # the count in the signals equals the streams marked counted
        counted = page.locator(f"#streams-{window} .met").count()
        cell = page.locator('tr[data-signal="recurring_merchant_count"] td').nth(
            0 if window == 30 else 1
        )
        assert int(cell.inner_text()) == counted, window
    page.screenshot(path=str(SHOTS / "22-user-signals.png"), full_page=True)


def test_the_operator_chooses_the_as_of(page: Any, base: str, run_dir: Path) -> None:
    user = _user_with_recs(run_dir)
    page.goto(f"{base}/console/users/{user}")
    newest = page.locator("#as-of").inner_text()
    assert newest > EARLIER
    page.locator("#as-of-form select").select_option(EARLIER)
    with page.expect_navigation():
        page.locator("#as-of-form").get_by_role("button", name="Show").click()
    assert page.locator("#as-of").inner_text() == EARLIER
    assert f"as of {EARLIER}" in page.locator("article.rec").first.inner_text()
    page.goto(f"{base}/console/users?as_of={EARLIER}")
    assert EARLIER in page.locator("tbody").inner_text()


def test_audit_log_fits_links_and_filters(page: Any, base: str, run_dir: Path) -> None:
    user = _user_with_recs(run_dir)
    page.goto(f"{base}/console/users/{user}")
    card = page.locator("article.rec").first
    card.locator("summary", has_text="Flag").click()
    card.get_by_label("Why flag it?").fill("the numbers look off to me")
    with page.expect_navigation():
        card.get_by_role("button", name="Flag").click()
    page.goto(f"{base}/console/audit")
    table = page.locator("table.audit")
    width = table.evaluate("t => t.scrollWidth")
    room = page.locator("main").evaluate(
        "m => m.clientWidth - parseFloat(getComputedStyle(m).paddingLeft)"
        " - parseFloat(getComputedStyle(m).paddingRight)"
    )
    assert width <= room + 1, (width, room)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    page.get_by_label("Action contains").fill("flag")
    with page.expect_navigation():
        page.get_by_role("button", name="Filter").click()
    rows = page.locator("table.audit tbody tr")
    assert rows.count() >= 1 and "recommendation.flag" in rows.first.inner_text()
    assert "→" in rows.first.inner_text()  # the diff, rendered
    assert not re.search(r":\d{2}\.\d{3,}", rows.first.inner_text())
    page.screenshot(path=str(SHOTS / "23-audit.png"), full_page=True)
    with page.expect_navigation():
        rows.first.locator("a").first.click()
    assert f"/console/users/{user}" in page.url and "#rec-" in page.url
