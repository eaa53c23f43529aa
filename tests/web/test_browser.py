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


def expect_pressed(button: Any, pressed: bool = True) -> None:
    """Wait until a toggle button reports its state to assistive tech (aria-pressed)."""
    from playwright.sync_api import expect

    expect(button).to_have_attribute("aria-pressed", "true" if pressed else "false")


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
    page.get_by_text("Stop my insights").click()  # opens the confirmation; nothing happens yet
    assert (
        seeded.conn.execute("SELECT consent_status FROM users WHERE user_id='u3'").fetchone()[0]
        == "granted"
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Yes, stop and remove my insights").click()
    assert page.get_by_role("button", name="Yes, show me my insights").is_visible()
    assert (
        seeded.conn.execute("SELECT consent_status FROM users WHERE user_id='u3'").fetchone()[0]
        == "revoked"
    )

    page.goto(f"{server}/me?token={seeded.tokens['u1']}")
    card = page.get_by_role("article").first
    card.get_by_role("button", name="Helpful", exact=True).click()  # sent in the background
    expect_pressed(card.get_by_role("button", name="Helpful", exact=True))
    assert "you said this was helpful" in card.inner_text()
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
    assert "Your insights" in page.content()  # signed in: the page the replay must not show
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
    assert "not valid any more" in page.content() and "Your insights" not in page.content()
    assert context.cookies() == []  # the dead link starts no session
    context.close()


# --- the merged customer page over a population the real pipeline computed ----------------

PHONE = {"width": 390, "height": 844}
SCREENS = 4


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """40 generated users: generate -> ingest -> run; offers of the users under test approved
    by an operator (the default delivery policy shows offers only after review)."""
    from spendsense.api.actions import act
    from spendsense.config import Settings
    from spendsense.pipeline import run_pipeline
    from spendsense.services import ingest_into_store
    from spendsense.store.auth import create_operator
    from spendsense.store.db import connect
    from spendsense.synth import generate_population

    root = tmp_path_factory.mktemp("me-population")
    generate_population(40, 42, root / "raw")
    settings = Settings(data_dir=root / "data")
    ingest_into_store(settings, [root / "raw" / "bundles"])
    run_pipeline(settings, log=lambda _: None)
    conn = connect(settings.db_path)
    create_operator(conn, "alice", PASSWORD)
    status = {
        r[0]: r[1]
        for r in conn.execute(
            "SELECT p.user_id, GROUP_CONCAT(DISTINCT p.status) FROM persona_assignments p"
            " JOIN users u USING (user_id) WHERE u.consent_status = 'granted' GROUP BY 1"
        )
    }
    cards = dict(
        conn.execute("SELECT user_id, COUNT(DISTINCT item_id) FROM recommendations GROUP BY 1")
    )
    assigned = sorted(
        (u for u, s in status.items() if s == "ASSIGNED"), key=lambda u: (-cards.get(u, 0), u)
    )
    chosen = {"typical": assigned[0], "revoked": assigned[1],
              "stable": sorted(u for u, s in status.items() if s == "STABLE")[0]}  # fmt: skip
    for user_id in chosen.values():
        offers = conn.execute(
            "SELECT recommendation_id, version FROM recommendations"
            " WHERE user_id = ? AND kind = 'offer'", (user_id,)
        ).fetchall()  # fmt: skip
        for rec_id, version in offers:
            act(conn, settings, rec_id, "approve", version=version, actor="alice")
    conn.close()
    return {"root": root / "data", "users": chosen}


@pytest.fixture
def live(population: dict[str, Any], tmp_path: Path) -> Iterator[tuple[str, Any, dict[str, str]]]:
    """A private copy of the population, served; (base url, settings, user ids by role)."""
    import shutil

    import uvicorn

    from spendsense.api.app import create_app
    from spendsense.config import Settings

    data = tmp_path / "data"
    shutil.copytree(population["root"], data)
    settings = Settings(data_dir=data)
    port = _free_port()
    app = create_app(settings, cookie_secure=False)
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", settings, population["users"]
    srv.should_exit = True
    thread.join(timeout=5)


def _open_as(browser: Any, base: str, settings: Any, user_id: str) -> Any:
    from spendsense.store.auth import create_customer_token
    from spendsense.store.db import connect

    token = create_customer_token(connect(settings.db_path), user_id)
    page = browser.new_page(viewport=PHONE, is_mobile=True)
    page.goto(f"{base}/me?token={token}")
    return page


def _axe_clean(page: Any) -> None:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


def _fits_a_phone(page: Any) -> int:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"page scrolls sideways on a phone ({width}px)"
    return int(page.evaluate("document.documentElement.scrollHeight"))


def _merged(page: Any) -> list[str]:
    titles = page.locator("article.rec h3").all_inner_texts()
    assert titles and len(titles) == len(set(titles)), titles  # each idea once
    html = page.content()
    assert html.count("This is educational content, not financial advice.") == 1
    assert page.get_by_role("heading", name="What we see").count() == 1  # insights once
    assert "Because We" not in html and "—" not in page.locator("main").inner_text()
    return titles


def test_merged_page_for_a_typical_user(
    live: tuple[str, Any, dict[str, str]], browser: Any
) -> None:
    from spendsense.store.db import connect

    base, settings, users = live
    page = _open_as(browser, base, settings, users["typical"])
    titles = _merged(page)
    cards = page.locator("article.rec")
    offers = page.locator("article.rec.offer")
    assert 4 <= len(titles) <= 8 and 1 <= offers.count() <= 3
    assert "Partner offer from" in offers.first.inner_text()
    page.screenshot(path=str(SHOTS / "10-me-merged-typical.png"), full_page=True)
    height = _fits_a_phone(page)
    assert height <= SCREENS * PHONE["height"], f"{height}px is more than {SCREENS} screens"
    _axe_clean(page)

    offers.first.locator("summary").click()  # the offer opens its content and terms
    assert offers.first.locator("dl.terms").is_visible()
    assert "not a SpendSense product" in offers.first.inner_text()
    first = cards.first
    first.locator("details.content > summary").click()
    assert first.locator("p.summary").is_visible()
    _axe_clean(page)

    # a vote shows on the card, does not move the page, and can be changed (one vote per card)
    rec_id = first.get_attribute("id").removeprefix("rec-")
    helpful = first.get_by_role("button", name="Helpful", exact=True)
    helpful.scroll_into_view_if_needed()
    box = helpful.bounding_box()
    before = page.evaluate("window.scrollY")
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # no auto-scroll
    expect_pressed(first.get_by_role("button", name="Helpful", exact=True))
    assert page.url == f"{base}/me" and page.evaluate("window.scrollY") == before
    assert first.get_by_role("status").first.inner_text().startswith("Thanks")
    first.get_by_role("button", name="Not helpful").click()
    expect_pressed(first.get_by_role("button", name="Not helpful"))
    expect_pressed(first.get_by_role("button", name="Helpful", exact=True), pressed=False)
    votes = (
        connect(settings.db_path)
        .execute("SELECT helpful FROM feedback WHERE recommendation_id = ?", (rec_id,))
        .fetchall()
    )
    assert [v[0] for v in votes] == [0]
    page.reload()  # the state is stored, not just drawn
    card = page.locator(f'[id="rec-{rec_id}"]')
    expect_pressed(card.get_by_role("button", name="Not helpful"))
    page.screenshot(path=str(SHOTS / "11-me-vote-kept.png"), full_page=False)


def test_a_calculator_card_calculates(live: tuple[str, Any, dict[str, str]], browser: Any) -> None:
    from spendsense.api.customer import customer_page
    from spendsense.api.service import delivered_recommendations
    from spendsense.store import reads
    from spendsense.store.db import connect

    base, settings, _ = live
    conn = connect(settings.db_path)
    users = [
        r[0]
        for r in conn.execute("SELECT user_id FROM users WHERE consent_status='granted' ORDER BY 1")
    ]
    owner = None
    for user_id in users:
        as_of = reads.latest_as_of(conn, user_id)
        recs = delivered_recommendations(conn, user_id, settings.delivery_policy, as_of=as_of)
        if any(c.calculator for c in customer_page(conn, settings, user_id, recs, as_of).cards):
            owner = user_id
            break
    assert owner is not None, "some page in the population has a calculator"
    page = _open_as(browser, base, settings, owner)
    form = page.locator("form.calculator").first
    form.locator("xpath=ancestor::details").locator("summary").first.click()
    result = form.locator("output")
    shown = result.inner_text()
    assert shown.strip()
    number = form.locator("input").last
    number.fill("1234.5")
    form.get_by_role("button", name="Calculate").click()
    page.wait_for_function(
        "(old) => document.querySelector('form.calculator output').innerText !== old", arg=shown
    )
    assert page.url == f"{base}/me"  # answered in place
    assert "$1,234.50" in page.locator("form.calculator output").first.inner_text()
    _axe_clean(page)
    page.screenshot(path=str(SHOTS / "12-me-calculator.png"), full_page=False)


def test_merged_page_for_a_stable_user(live: tuple[str, Any, dict[str, str]], browser: Any) -> None:
    base, settings, users = live
    page = _open_as(browser, base, settings, users["stable"])
    titles = _merged(page)
    cfg = settings.recommend
    education = page.locator("article.rec.education").count()
    assert (
        1 <= education <= cfg.stable_education
        and len(titles) <= cfg.stable_education + cfg.stable_offers
    )
    _fits_a_phone(page)
    _axe_clean(page)
    page.screenshot(path=str(SHOTS / "13-me-merged-stable.png"), full_page=True)


def test_revoked_user_confirms_then_opts_back_in_and_is_recomputed(
    live: tuple[str, Any, dict[str, str]], browser: Any
) -> None:
    from spendsense.store.db import connect

    base, settings, users = live
    user_id = users["revoked"]
    page = _open_as(browser, base, settings, user_id)
    before = page.locator("article.rec h3").all_inner_texts()
    page.get_by_text("Stop my insights").click()
    conn = connect(settings.db_path)
    status = "SELECT consent_status FROM users WHERE user_id = ?"
    assert conn.execute(status, (user_id,)).fetchone()[0] == "granted"  # nothing yet
    _axe_clean(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Yes, stop and remove my insights").click()
    assert conn.execute(status, (user_id,)).fetchone()[0] == "revoked"
    assert "You opted out earlier" in page.content() and not page.locator("article.rec").count()
    n = conn.execute("SELECT COUNT(*) FROM recommendations WHERE user_id = ?", (user_id,))
    assert n.fetchone()[0] == 0
    _axe_clean(page)
    page.screenshot(path=str(SHOTS / "14-me-revoked.png"), full_page=True)

    with page.expect_navigation():
        page.get_by_role("button", name="Yes, show me my insights").click()
    assert page.get_by_role("heading", name="Your insights").is_visible()
    assert "not enough recent activity" not in page.content()  # recomputed at once
    after = page.locator("article.rec h3").all_inner_texts()
    assert after and set(after) <= set(before) | set(after)
    assert page.locator(".insights li").count() > 0
    page.screenshot(path=str(SHOTS / "15-me-opted-back-in.png"), full_page=True)
