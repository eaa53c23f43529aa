"""What an operator reads in the console: units and thresholds, traces, missing data, errors
with navigation, empty filters, audit log and as-of dates (server-rendered pages)."""

from __future__ import annotations

import json
import re

import pytest
from apiseed import AS_OF, Seeded, csrf_of
from fastapi.testclient import TestClient

OLDER = "2025-05-31"
LONG_FLOAT = re.compile(r"\d\.\d{5,}")
DECISION = {
    "item": {"id": "edu_util", "kind": "education", "title": "Paying down a card"},
    "rule": {"id": "primary_persona", "description": "made for the user's primary persona"},
    "personas": {"status": "ASSIGNED", "primary_persona_name": "High Utilization",
                 "primary_severity": 0.6800000000000002},
    "matched_signals": ["high_utilization"], "signal_strengths": [0.9166666666666666],
    "signal_values": {"credit.max_utilization": 0.6812345678, "credit.interest_charges_monthly": 87.0},
    "eligibility": {"passed": ["min_monthly_income"], "failed": []},
    "tone": {"passed": True, "violations": []},
    "rank": 1, "rank_score": 36.250000000000004, "catalog_version": "cat-1",
    "config_version": "2026-11-21.1", "generated_at": "2026-12-03T13:57:51.123456+00:00",
}  # fmt: skip


def _page(console: TestClient, path: str) -> str:
    r = console.get(path)
    assert r.status_code == 200, (path, r.text[:500])
    return r.text


@pytest.mark.parametrize(
    "path",
    ["/console/users?q=&persona=&window=&consent=&status=&as_of=",
     "/console/review?status=&persona=&window=",
     "/console/audit?action=",
     "/console/users/u1?as_of="],
)  # fmt: skip
def test_empty_filters_mean_any(console: TestClient, path: str) -> None:
    _page(console, path)


def test_empty_window_lists_the_same_users_as_no_window(console: TestClient) -> None:
    assert _page(console, "/console/users?window=").count("/console/users/u") == _page(
        console, "/console/users"
    ).count("/console/users/u")


@pytest.mark.parametrize(
    ("path", "says"),
    [("/console/users?window=0", "window"),
     ("/console/review?persona=Nope", "use one of High Utilization"),
     ("/console/users/u1?as_of=yesterday", "as_of")],
)  # fmt: skip
def test_errors_render_inside_the_console(console: TestClient, path: str, says: str) -> None:
    r = console.get(path)
    assert r.status_code == 422 and says in r.text
    for link in ("/console/users", "/console/review", "/console/audit", "Sign out"):
        assert link in r.text, link  # the navigation is there


def test_signals_show_units_groups_and_thresholds(console: TestClient) -> None:
    html = _page(console, "/console/users/u1")
    for text in ("Credit cards", "Highest card utilization", "68%", "$45.50 a month",
                 "Has a savings account", "0.4 months", "$1,234.50"):  # fmt: skip
        assert text in html, text
    row = re.search(r'data-signal="max_utilization">(.*?)</tr>', html, re.S)
    assert row and "≥ 50% · High Utilization" in row.group(1) and 'class="meets"' in row.group(1)
    assert not LONG_FLOAT.search(html)
    assert ">0.68<" not in html and "utilization flag" not in html


def test_trace_shows_missing_data_and_no_mode_names(console: TestClient, seeded: Seeded) -> None:
    trace = json.loads(seeded.conn.execute(
        "SELECT assignment_trace FROM persona_assignments WHERE assignment_id = 'pa_u1_30'"
    ).fetchone()[0])  # fmt: skip
    trace["missing_features"] = ["savings", "income"]
    trace["result"]["severity_comparison"] = "threshold_ratio"
    seeded.conn.execute(
        "UPDATE persona_assignments SET assignment_trace = ? WHERE assignment_id = 'pa_u1_30'",
        (json.dumps(trace),),
    )
    html = _page(console, "/console/users/u1")
    assert "Missing data: no savings-account data; no income deposits" in html
    assert "threshold_ratio" not in html
    assert "severity measured against each persona&#39;s threshold" in html


def test_decision_trace_is_rendered_not_dumped(console: TestClient, seeded: Seeded) -> None:
    seeded.conn.execute(
        "UPDATE decision_traces SET trace = ? WHERE trace_id = 'tr_r1'", (json.dumps(DECISION),)
    )
    html = _page(console, "/console/users/u1")
    card = html[html.index('id="rec-r1"') :]
    card = card[: card.index("</article>")]
    for text in ("Paying down a card", "made for the user", "High Utilization (severity 0.68)",
                 "high utilization", "(strength 0.92)", "Highest card utilization: 68.1%",
                 "Interest charged: $87.00 a month", "passed: min_monthly_income",
                 "score 36.25", "2026-12-03 13:57:51 UTC"):  # fmt: skip
        assert text in card, text
    assert not LONG_FLOAT.search(card) and "{&#34;" not in card and '{"' not in card


def test_approve_returns_to_the_item(console: TestClient) -> None:
    csrf = csrf_of(console.get("/console/users/u1").text)
    form = {"csrf_token": csrf, "version": "1", "next": "/console/users/u1#rec-r1"}
    r = console.post("/console/recommendations/r1/approve", data=form, follow_redirects=False)
    assert r.status_code == 303
    # the notice waits in the session (never in the URL); the redirect keeps the anchor
    assert r.headers["location"] == "/console/users/u1#rec-r1"
    html = console.get("/console/users/u1").text
    assert 'name="next" value="/console/users/u1#rec-r1"' in html


def test_review_queue_comes_back_at_the_next_card(console: TestClient) -> None:
    html = _page(console, "/console/review")
    cards = re.findall(r'id="rec-(r\d)"', html)
    assert len(cards) >= 2
    first = html[html.index(f'id="rec-{cards[0]}"') : html.index(f'id="rec-{cards[1]}"')]
    assert f'value="/console/review#rec-{cards[1]}"' in first


def test_audit_log_filters_by_part_links_and_diffs(console: TestClient) -> None:
    csrf = csrf_of(console.get("/console/users/u1").text)
    console.post("/console/recommendations/r1/flag",
                 data={"csrf_token": csrf, "version": "1", "reason": "numbers look off",
                       "next": "/console/users/u1"})  # fmt: skip
    console.post("/console/users/u3/consent", data={"csrf_token": csrf, "action": "grant"})
    html = _page(console, "/console/audit?action=flag")
    assert "recommendation.flag" in html and "consent.grant" not in html
    assert 'href="/console/users/u1#rec-r1"' in html
    assert "<del>proposed</del> → <ins>flagged</ins>" in html
    assert "numbers look off" in html
    assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d", html)  # no microseconds
    everything = _page(console, "/console/audit")
    assert 'href="/console/users/u3"' in everything
    assert _page(console, "/console/audit?action=100%25").count('id="audit-') == 0


def _older_run(seeded: Seeded) -> None:
    seeded.conn.execute(
        "INSERT INTO persona_assignments (assignment_id, user_id, window_days, as_of_date,"
        " primary_persona_id, primary_persona_name, status) VALUES"
        " ('old_u1_30', 'u1', 30, ?, 3, 'Subscription-Heavy', 'ASSIGNED')",
        (OLDER,),
    )


def test_lists_show_the_as_of_and_the_operator_chooses_it(
    console: TestClient, seeded: Seeded
) -> None:
    _older_run(seeded)
    users = _page(console, "/console/users")
    assert f"<td>{AS_OF}</td>" in users and f'<option value="{OLDER}"' in users
    older = _page(console, f"/console/users?as_of={OLDER}")
    row = re.search(r'href="/console/users/u1\?as_of=[^"]+">u1</a>.*?</tr>', older, re.S)
    assert row and OLDER in row.group(0) and "Subscription-Heavy" in row.group(0)
    page = _page(console, f"/console/users/u1?as_of={OLDER}")
    assert f'<strong id="as-of">{OLDER}</strong>' in page
    assert f'<strong id="as-of">{AS_OF}</strong>' in _page(console, "/console/users/u1")
    assert f"as of {AS_OF}" in _page(console, "/console/review")


def test_an_overridden_item_still_renders_readably(console: TestClient) -> None:
    """An override writes its own trace (guardrail checks, booleans): the page still reads."""
    csrf = csrf_of(console.get("/console/users/u1").text)
    form = {"csrf_token": csrf, "version": "1", "reason": "plainer", "title": "A clearer title",
            "next": "/console/users/u1"}  # fmt: skip
    assert "overridden" in console.post("/console/recommendations/r1/override", data=form).text
    html = _page(console, "/console/users/u1")
    card = html[html.index('id="rec-r1"') :]
    card = card[: card.index("</article>")]
    i = card.find("{&#34;")
    assert i < 0, card[max(0, i - 300) : i + 200]
    m = LONG_FLOAT.search(card)
    assert m is None, card[max(0, m.start() - 300) : m.end() + 50]
    assert "A clearer title" in card
