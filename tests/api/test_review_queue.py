"""The review queue: what matters first (offers, then severity), filters, and bulk actions that
check and audit each item on its own."""

from __future__ import annotations

from typing import Any

from apiseed import AS_OF, Seeded, csrf_of, sign_in
from fastapi.testclient import TestClient

from spendsense.guardrails.disclosure import DISCLOSURE, offer_disclosure
from spendsense.recommend.catalog import OfferItem, load_catalog


def _add(seeded: Seeded, rec_id: str, user: str, kind: str, item: str, rank: int = 2) -> None:
    offer: dict[str, Any] = {"partner": None, "offer_terms": None, "offer_disclosure": None}
    if kind == "offer":
        entry = load_catalog().get(item)
        assert isinstance(entry, OfferItem)
        offer = {"partner": entry.partner, "offer_terms": entry.terms.as_json(),
                 "offer_disclosure": offer_disclosure(entry.partner)}  # fmt: skip
    seeded.conn.execute(
        "INSERT INTO recommendations (recommendation_id, user_id, window_days, as_of_date, kind,"
        " item_id, title, rationale, disclosure, rank, status, trace_id, partner, offer_terms,"
        " offer_disclosure) VALUES (?,?,30,?,?,?,?,?,?,?,'proposed',?,?,?,?)",
        (rec_id, user, AS_OF, kind, item, f"Title {rec_id}", "You have a card balance.",
         DISCLOSURE, rank, f"tr_{rec_id}", *offer.values()),
    )  # fmt: skip


def _severity(seeded: Seeded, user: str, value: float) -> None:
    seeded.conn.execute(
        "UPDATE persona_assignments SET primary_severity = ? WHERE user_id = ? AND window_days = 30",
        (value, user),
    )


def _queue(client: TestClient, seeded: Seeded, **params: Any) -> list[str]:
    r = client.get("/operator/review", params=params, headers=seeded.op())
    assert r.status_code == 200, r.text
    return [i["recommendation_id"] for i in r.json()["items"]]


def test_offers_first_then_severity_then_a_total_order(client: TestClient, seeded: Seeded) -> None:
    # u1 (severity 0.68) and u2 (STABLE, no severity): offers of both come before any education
    _add(seeded, "o_u2", "u2", "offer", "off_credit_union_consolidation")
    _add(seeded, "o_u1", "u1", "offer", "off_credit_union_consolidation")
    _add(seeded, "e_u1b", "u1", "education", "edu_hysa_basics", rank=2)
    order = _queue(client, seeded)
    # offers: u1's (severity 0.68; its flagged r2 at rank 1, then o_u1) before u2's (no
    # severity) though u2's was added first; then education by severity, then rank
    assert order == ["r2", "o_u1", "o_u2", "r1", "e_u1b", "r4"]
    _severity(seeded, "u2", 0.9)  # now u2 matters more: its items move up within each kind
    seeded.conn.execute(
        "INSERT INTO persona_assignments (assignment_id, user_id, window_days, as_of_date, status,"
        " primary_severity) VALUES ('pa_x', 'u2', 180, ?, 'ASSIGNED', 0.9)",
        (AS_OF,),
    )
    order = _queue(client, seeded)
    assert order.index("o_u2") < order.index("o_u1")
    assert order.index("r4") < order.index("r1")
    assert _queue(client, seeded) == order  # deterministic


def test_queue_filters_by_kind_and_delivery_state(client: TestClient, seeded: Seeded) -> None:
    _add(seeded, "o_u1", "u1", "offer", "off_credit_union_consolidation")
    assert set(_queue(client, seeded, kind="offer")) == {"o_u1", "r2"}
    assert set(_queue(client, seeded, kind="education")) == {"r1", "r4"}
    # default policy: proposed education is delivered, a proposed offer waits, flagged is withheld
    assert set(_queue(client, seeded, delivery="awaiting_review")) == {"o_u1"}
    assert set(_queue(client, seeded, delivery="withheld")) == {"r2"}
    assert set(_queue(client, seeded, delivery="delivered")) == {"r1", "r4"}
    r = client.get("/operator/review", params={"delivery": "maybe"}, headers=seeded.op())
    assert r.status_code == 422


def _audit(seeded: Seeded, action: str) -> list[str]:
    rows = seeded.conn.execute(
        "SELECT target_id FROM audit_log WHERE action = ? ORDER BY seq", (action,)
    )
    return [r[0] for r in rows]


def test_bulk_approve_checks_and_audits_each_item(client: TestClient, seeded: Seeded) -> None:
    _add(seeded, "o_u1", "u1", "offer", "off_credit_union_consolidation")
    seeded.conn.execute(  # one item fails the guardrails (tampered text)
        "UPDATE recommendations SET rationale = 'Stop wasting your money.' WHERE recommendation_id = 'r4'"
    )
    body = {
        "action": "approve",
        "items": [
            {"recommendation_id": "o_u1", "version": 1},
            {"recommendation_id": "r1", "version": 1},
            {"recommendation_id": "r4", "version": 1},
            {"recommendation_id": "r3", "version": 7},  # stale
            {"recommendation_id": "nope", "version": 1},
        ],
    }
    r = client.post("/operator/recommendations/bulk", json=body, headers=seeded.op())
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["done"], out["refused"]) == (2, 3)
    by_id = {x["recommendation_id"]: x for x in out["results"]}
    assert [x["recommendation_id"] for x in out["results"]] == ["o_u1", "r1", "r4", "r3", "nope"]
    assert by_id["o_u1"]["ok"] and by_id["o_u1"]["status"] == "approved"
    assert by_id["r4"]["error"]["code"] == "guardrails_failed"
    assert by_id["r3"]["error"]["code"] == "conflict"
    assert by_id["nope"]["error"]["code"] == "not_found"
    assert _audit(seeded, "recommendation.approve") == ["o_u1", "r1"]  # one entry per item
    assert _audit(seeded, "recommendation.approve.refused") == ["r4"]
    cust = client.get("/recommendations/u1", headers=seeded.cust("u1")).json()["items"]
    assert "o_u1" in {i["recommendation_id"] for i in cust}  # approved offer now delivered


def test_bulk_flag_needs_a_reason_and_is_bounded(client: TestClient, seeded: Seeded) -> None:
    items = [{"recommendation_id": "r1", "version": 1}]
    r = client.post("/operator/recommendations/bulk", json={"action": "flag", "items": items},
                    headers=seeded.op())  # fmt: skip
    assert r.status_code == 422 and r.json()["error"]["field"] == "reason"
    many = [{"recommendation_id": f"x{i}", "version": 1} for i in range(201)]
    r = client.post("/operator/recommendations/bulk", json={"action": "approve", "items": many},
                    headers=seeded.op())  # fmt: skip
    assert r.status_code == 422
    ok = client.post(
        "/operator/recommendations/bulk",
        json={"action": "flag", "reason": "numbers to check", "items": items},
        headers=seeded.op(),
    )
    assert ok.json()["done"] == 1 and _audit(seeded, "recommendation.flag") == ["r1"]


def test_console_bulk_form(client: TestClient, seeded: Seeded) -> None:
    _add(seeded, "o_u1", "u1", "offer", "off_credit_union_consolidation")
    assert sign_in(client) == 303
    page = client.get("/console/review").text
    assert page.index('id="rec-o_u1"') < page.index('id="rec-r1"')  # offers first
    assert 'value="o_u1:1"' in page and 'form="bulk"' in page
    r = client.post(
        "/console/review/bulk",
        data={"csrf_token": csrf_of(page), "action": "approve", "item": ["o_u1:1", "r1:1"],
              "next": "/console/review"},
    )  # fmt: skip
    assert r.status_code == 200 and "2 approved" in r.text
    assert _audit(seeded, "recommendation.approve") == ["o_u1", "r1"]
    r = client.post(
        "/console/review/bulk",
        data={
            "csrf_token": csrf_of(r.text),
            "action": "flag",
            "item": ["r4:1"],
            "next": "/console/review",
        },
    )
    assert "reason is required" in r.text
    filtered = client.get("/console/review", params={"kind": "offer"}).text
    assert 'id="rec-r1"' not in filtered and 'id="rec-r2"' in filtered
