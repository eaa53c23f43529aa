"""Server-rendered pages: console and user page render, escape ledger text, and act through forms."""

from __future__ import annotations

import pytest
from apiseed import DISCLOSURE, EVIL, Seeded, csrf_of
from fastapi.testclient import TestClient

CONSOLE_PAGES = [
    "/console/users",
    "/console/users?q=Alice&persona=High+Utilization&window=30&consent=granted&status=flagged",
    "/console/users/u1",
    "/console/users/u3",
    "/console/review",
    "/console/review?status=approved&window=180",
    "/console/metrics",
    "/console/audit",
]


@pytest.mark.parametrize("path", CONSOLE_PAGES)
def test_console_pages_render_and_escape(console: TestClient, path: str) -> None:
    r = console.get(path)
    assert r.status_code == 200, r.text
    assert "<script>" not in r.text
    assert 'href="/static/style.css"' in r.text


def test_user_page_content(console: TestClient) -> None:
    html = console.get("/console/users/u1").text
    assert "&lt;script&gt;" in html  # names are shown, escaped
    for text in ("30 days", "180 days", "High Utilization", "Highest card utilization", "not met",
                 "Matched on card utilization", "<polyline", "Netflix", "Approve", "Override", "Flag"):  # fmt: skip
        assert text in html, text


def test_users_filter(console: TestClient) -> None:
    html = console.get("/console/users?consent=none").text
    assert "u3" in html and "/console/users/u1" not in html


def test_console_redirects_to_login_when_signed_out(client: TestClient) -> None:
    r = client.get("/console/users/u1", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/console/users/u1"


def test_customer_cannot_open_console(client: TestClient, seeded: Seeded) -> None:
    client.get(f"/me?token={seeded.tokens['u1']}")
    r = client.get("/console/users")
    assert r.status_code == 403 and "different sign-in" in r.text


def test_form_actions_and_conflict_notice(console: TestClient, seeded: Seeded) -> None:
    csrf = csrf_of(console.get("/console/users/u1").text)
    form = {"csrf_token": csrf, "version": "1", "next": "/console/users/u1"}
    r = console.post("/console/recommendations/r1/approve", data=form)
    assert r.status_code == 200 and "approved (version 2)" in r.text
    r = console.post("/console/recommendations/r1/flag", data={**form, "reason": "numbers"})
    assert "changed since you loaded it" in r.text
    status = seeded.conn.execute("SELECT status FROM recommendations WHERE recommendation_id='r1'")
    assert status.fetchone()[0] == "approved"


def test_operator_consent_and_personal_link(console: TestClient, seeded: Seeded) -> None:
    csrf = csrf_of(console.get("/console/users/u3").text)
    r = console.post("/console/users/u3/consent", data={"csrf_token": csrf, "action": "grant"})
    assert "consent granted" in r.text
    r = console.post("/console/users/u3/token", data={"csrf_token": csrf})
    assert "/me?token=" in r.text


def test_me_flow_consent_insights_feedback_optout(client: TestClient, seeded: Seeded) -> None:
    r = client.get(f"/me?token={seeded.tokens['u3']}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/me"
    page = client.get("/me")
    assert "Yes, show me my insights" in page.text
    csrf = csrf_of(page.text)
    page = client.post("/me/consent", data={"csrf_token": csrf, "action": "grant"})
    assert "Your insights" in page.text
    assert client.post("/me/consent", data={"action": "revoke"}).status_code == 403  # no CSRF


def test_me_insights_show_cards_with_disclosure(client: TestClient, seeded: Seeded) -> None:
    client.get(f"/me?token={seeded.tokens['u1']}")
    html = client.get("/me").text
    assert html.count(DISCLOSURE) == 1  # once for the page, not once per card
    assert "Title r1" in html and "Title r3" in html and "Title r2" not in html  # r2 is flagged
    assert EVIL not in html and "&lt;script&gt;" in html
    assert "biweekly" not in html and "Your pay arrives every two weeks, about $4,200.00" in html
    assert html.count("Your pay arrives") == 1  # insights once, not once per window
    csrf = csrf_of(html)
    r = client.post(
        "/me/feedback", data={"csrf_token": csrf, "recommendation_id": "r1", "helpful": "no"}
    )
    assert "you said this was not helpful" in r.text
    assert seeded.conn.execute("SELECT helpful FROM feedback").fetchone()[0] == 0
    r = client.post("/me/consent", data={"csrf_token": csrf, "action": "revoke"})
    assert "Stop your insights?" in r.text  # a confirmation first: nothing removed yet
    assert (
        seeded.conn.execute("SELECT consent_status FROM users WHERE user_id='u1'").fetchone()[0]
        == "granted"
    )
    r = client.post("/me/consent", data={"csrf_token": csrf, "action": "revoke", "confirm": "yes"})
    assert "Yes, show me my insights" in r.text and "Title r1" not in r.text


def test_me_without_link_or_with_bad_link(client: TestClient) -> None:
    assert client.get("/me").status_code == 401
    r = client.get("/me?token=forged")
    assert r.status_code == 401 and "not valid" in r.text


def test_me_refuses_operator(console: TestClient) -> None:
    assert console.get("/me").status_code == 403


def test_me_vote_is_one_per_card_changeable_and_shown_on_the_card(
    client: TestClient, seeded: Seeded
) -> None:
    client.get(f"/me?token={seeded.tokens['u1']}")
    csrf = csrf_of(client.get("/me").text)
    vote = {"csrf_token": csrf, "recommendation_id": "r1"}
    fetch = {"X-Requested-With": "fetch"}
    r = client.post("/me/feedback", data={**vote, "helpful": "yes"}, headers=fetch)
    assert r.status_code == 200 and r.text.lstrip().startswith('<form method="post"')  # a fragment
    assert "<html" not in r.text and 'value="yes" class="choice" aria-pressed="true"' in r.text
    r = client.post("/me/feedback", data={**vote, "helpful": "no", "text": "too long"})
    assert 'value="no" class="choice" aria-pressed="true"' in r.text  # no-JS: back to the page
    assert 'value="yes" class="choice" aria-pressed="false"' in r.text
    client.post("/me/feedback", data={**vote, "helpful": "no"}, headers=fetch)
    rows = seeded.conn.execute(
        "SELECT helpful, text FROM feedback WHERE recommendation_id = 'r1'"
    ).fetchall()
    assert [tuple(r) for r in rows] == [(0, "too long")]  # one vote, changed, comment kept


def test_me_calculator_route_refuses_other_users_cards(client: TestClient, seeded: Seeded) -> None:
    client.get(f"/me?token={seeded.tokens['u2']}")
    assert client.get("/me/calculate/r1?balance=100").status_code == 404  # r1 is u1's
    assert client.get("/me/calculate/r4").status_code == 404  # u2's, but no calculator
