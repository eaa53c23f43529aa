"""Every REST endpoint, with the seeded database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from apiseed import DISCLOSURE, Seeded
from fastapi.testclient import TestClient


def test_health_and_openapi_are_open(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/users", "/consent", "/profile/{user_id}", "/recommendations/{user_id}",
                 "/feedback", "/operator/review", "/traces/{trace_id}", "/operator/audit",
                 "/users/{user_id}/plaid"):  # fmt: skip
        assert path in paths


def test_create_user_then_duplicate_conflicts(client: TestClient, seeded: Seeded) -> None:
    r = client.post("/users", json={"user_id": "u9", "name": "Dee"}, headers=seeded.op())
    assert r.status_code == 201
    assert r.json()["consent_status"] == "none"
    again = client.post("/users", json={"user_id": "u9"}, headers=seeded.op())
    assert again.status_code == 409
    assert again.json()["error"]["field"] == "user_id"


def test_issue_customer_token(client: TestClient, seeded: Seeded) -> None:
    r = client.post("/users/u2/token", headers=seeded.op())
    assert r.status_code == 201
    token = r.json()["token"]
    ok = client.get("/recommendations/u2", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200


def test_profile_has_both_windows(client: TestClient, seeded: Seeded) -> None:
    r = client.get("/profile/u1", headers=seeded.cust("u1"))
    assert r.status_code == 200
    body = r.json()
    assert body["as_of_date"] == "2025-06-30"
    assert [w["window_days"] for w in body["windows"]] == [30, 180]
    w30 = body["windows"][0]
    assert w30["signals"]["credit"]["max_utilization"] == 0.68
    assert w30["persona"]["primary_persona_name"] == "High Utilization"
    assert w30["persona"]["assignment_trace"]["result"]["status"] == "ASSIGNED"


def test_customer_sees_unflagged_operator_sees_all(client: TestClient, seeded: Seeded) -> None:
    mine = client.get("/recommendations/u1", headers=seeded.cust("u1")).json()["items"]
    assert {i["recommendation_id"] for i in mine} == {"r1", "r3"}
    assert all(i["disclosure"] == DISCLOSURE and i["trace_id"] and i["rationale"] for i in mine)
    everything = client.get("/recommendations/u1", headers=seeded.op()).json()["items"]
    assert {i["recommendation_id"] for i in everything} == {"r1", "r2", "r3"}


def test_no_consent_no_recommendations_or_profile(client: TestClient, seeded: Seeded) -> None:
    for path in ("/recommendations/u3", "/profile/u3"):
        r = client.get(path, headers=seeded.cust("u3"))
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "consent_required"


def test_revoke_hides_recommendations_at_once(client: TestClient, seeded: Seeded) -> None:
    r = client.post("/consent", json={"user_id": "u1", "action": "revoke"},
                    headers=seeded.cust("u1"))  # fmt: skip
    assert r.status_code == 200
    assert r.json()["status"] == "revoked"
    assert client.get("/recommendations/u1", headers=seeded.cust("u1")).status_code == 403
    assert client.get("/recommendations/u1", headers=seeded.op()).status_code == 403
    left = seeded.conn.execute("SELECT COUNT(*) FROM recommendations WHERE user_id='u1'").fetchone()
    assert left[0] == 0


@pytest.mark.parametrize(
    "extra",
    [{"at": "2020-01-01T00:00:00Z"}, {"source": "phone"}, {"at": None}, {"changed_at": "2020"}],
)
def test_consent_refuses_client_time_and_source(
    client: TestClient, seeded: Seeded, extra: dict[str, Any]
) -> None:
    """The server sets when and the source: a backdated revoke cannot sort before the grant."""
    body = {"user_id": "u1", "action": "revoke", **extra}
    r = client.post("/consent", json=body, headers=seeded.cust("u1"))
    assert r.status_code == 422 and r.json()["error"]["field"] == next(iter(extra))
    assert (
        seeded.conn.execute("SELECT consent_status FROM users WHERE user_id = 'u1'").fetchone()[0]
        == "granted"
    )


def test_consent_grant_with_server_time_and_operator_audit(
    client: TestClient, seeded: Seeded
) -> None:
    from datetime import timedelta

    r = client.post("/consent", json={"user_id": "u3", "action": "grant"}, headers=seeded.op())
    assert r.status_code == 200
    assert r.json()["source"] == "api"
    changed = datetime.fromisoformat(r.json()["changed_at"].replace("Z", "+00:00"))
    assert abs(datetime.now(UTC) - changed) < timedelta(minutes=1)
    audit = client.get("/operator/audit", params={"action": "consent.grant"}, headers=seeded.op())
    entry = audit.json()["items"][0]
    assert entry["actor"] == "alice" and entry["target_id"] == "u3"
    assert entry["before"] == {"consent_status": "none"}
    assert client.get("/recommendations/u3", headers=seeded.cust("u3")).status_code == 200


def test_customer_consent_change_is_audited_as_the_customer(
    client: TestClient, seeded: Seeded
) -> None:
    client.post("/consent", json={"user_id": "u3", "action": "grant"}, headers=seeded.cust("u3"))
    items = client.get("/operator/audit", headers=seeded.op()).json()["items"]
    mine = [e for e in items if e["action"] == "consent.grant" and e["target_id"] == "u3"]
    assert [e["actor"] for e in mine] == ["user:u3"]


def test_feedback_stored_and_owner_checked(client: TestClient, seeded: Seeded) -> None:
    r = client.post("/feedback", json={"recommendation_id": "r1", "helpful": True, "text": "nice"},
                    headers=seeded.cust("u1"))  # fmt: skip
    assert r.status_code == 201
    row = seeded.conn.execute("SELECT user_id, helpful, text FROM feedback").fetchone()
    assert tuple(row) == ("u1", 1, "nice")
    other = client.post("/feedback", json={"recommendation_id": "r4", "helpful": False},
                        headers=seeded.cust("u1"))  # fmt: skip
    assert other.status_code == 404  # not yours reads as not there
    missing = client.post("/feedback", json={"recommendation_id": "nope", "helpful": False},
                          headers=seeded.cust("u1"))  # fmt: skip
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"r1", "r2", "r4"}),
        ({"status": "approved"}, {"r3"}),
        ({"window": 30, "persona": "High Utilization"}, {"r1", "r2"}),
        ({"persona": "STABLE"}, {"r4"}),
    ],
)
def test_review_queue_filters(
    client: TestClient, seeded: Seeded, params: dict[str, Any], expected: set[str]
) -> None:
    r = client.get("/operator/review", params=params, headers=seeded.op())
    assert r.status_code == 200
    assert {i["recommendation_id"] for i in r.json()["items"]} == expected


def _act(client: TestClient, seeded: Seeded, rec: str, action: str, **body: Any) -> Any:
    return client.post(f"/operator/recommendations/{rec}/{action}", json=body, headers=seeded.op())


def test_approve_then_stale_version_conflicts(client: TestClient, seeded: Seeded) -> None:
    r = _act(client, seeded, "r1", "approve", version=1)
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["version"]) == ("approved", 2)
    stale = _act(client, seeded, "r1", "flag", version=1, reason="tone")
    assert stale.status_code == 409
    err = stale.json()["error"]
    assert err["code"] == "conflict" and err["field"] == "version"
    assert "version 1" in err["message"] and "version 2" in err["message"]


def test_override_edits_text_and_requires_reason(client: TestClient, seeded: Seeded) -> None:
    missing = _act(client, seeded, "r1", "override", version=1, title="New")
    assert missing.status_code == 422 and missing.json()["error"]["field"] == "reason"
    r = _act(client, seeded, "r1", "override", version=1, title="Plainer title", reason="clearer")
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["title"]) == ("overridden", "Plainer title")
    replaced = _act(
        client, seeded, "r1", "override", version=2, item_id="edu_hysa_basics", reason="better fit"
    )
    assert replaced.status_code == 200, replaced.text
    body = replaced.json()
    assert body["item_id"] == "edu_hysa_basics" and body["title"] != "Plainer title"
    assert "$800" in body["rationale"]  # the new item's template, filled with u1's numbers


def test_flag_hides_from_customer_unflag_restores(client: TestClient, seeded: Seeded) -> None:
    assert _act(client, seeded, "r3", "flag", version=1, reason="wrong tone").status_code == 200
    ids = {
        i["recommendation_id"]
        for i in client.get("/recommendations/u1", headers=seeded.cust("u1")).json()["items"]
    }
    assert "r3" not in ids
    r = _act(client, seeded, "r3", "unflag", version=2)
    assert r.json()["status"] == "proposed"
    assert _act(client, seeded, "r3", "unflag", version=3).status_code == 409


def test_actions_are_audited_with_before_after(client: TestClient, seeded: Seeded) -> None:
    _act(client, seeded, "r1", "flag", version=1, reason="check numbers")
    entry = client.get("/operator/audit", headers=seeded.op()).json()["items"][0]
    assert entry["action"] == "recommendation.flag" and entry["reason"] == "check numbers"
    assert entry["before"]["status"] == "proposed" and entry["after"]["status"] == "flagged"
    audit = client.get("/operator/audit", headers=seeded.op()).json()
    assert audit["chain_ok"] is True and audit["problems"] == []


def test_trace_access(client: TestClient, seeded: Seeded) -> None:
    r = client.get("/traces/tr_r1", headers=seeded.cust("u1"))
    assert r.status_code == 200 and r.json()["trace"]["eligible"] is True
    assert client.get("/traces/tr_r4", headers=seeded.cust("u1")).status_code == 404  # u2's
    assert client.get("/traces/tr_nope", headers=seeded.op()).status_code == 404


def test_plaid_upload_ingests_then_recomputes(
    client: TestClient, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    from spendsense import pipeline, services
    from spendsense.services import IngestReport

    calls: list[Any] = []

    def fake_ingest(
        settings: Any, paths: list[Any], *, user_id: str | None = None, **_: Any
    ) -> IngestReport:
        calls.append(("ingest", paths[0].read_text(), user_id))
        return IngestReport(per_table={"transactions": (3, 1)})

    monkeypatch.setattr(services, "ingest_into_store", fake_ingest)
    monkeypatch.setattr(pipeline, "recompute_user", lambda s, u: calls.append(("recompute", u)))
    body = {"user": {"user_id": "u2"}, "accounts": [], "transactions": []}
    r = client.post("/users/u2/plaid", json=body, headers=seeded.cust("u2"))
    assert r.status_code == 200, r.text
    assert r.json() == {"user_id": "u2", "loaded": {"transactions": 3}, "rejected": {"transactions": 1},
                        "quarantine": None, "recomputed": True}  # fmt: skip
    assert calls[0][0] == "ingest" and '"u2"' in calls[0][1] and calls[0][2] == "u2"
    assert calls[1] == ("recompute", "u2")
    wrong = client.post("/users/u2/plaid", json={"user": {"user_id": "u1"}}, headers=seeded.op())
    assert wrong.status_code == 409 and wrong.json()["error"]["field"] == "user.user_id"
    assert client.post("/users/u1/plaid", json=body, headers=seeded.cust("u2")).status_code == 404


def test_recommendations_carry_the_merged_page(client: TestClient, seeded: Seeded) -> None:
    body = client.get("/recommendations/u1", headers=seeded.cust("u1")).json()
    page = body["page"]
    ids = [c["recommendation_id"] for c in page["cards"]]
    assert ids and len(ids) == len({c["item_id"] for c in page["cards"]})  # each item once
    assert "r2" not in ids  # flagged: the delivery policy withholds it
    card = page["cards"][0]
    for key in ("summary", "body", "format", "format_label", "reading_time_minutes", "why",
                "window_days", "period_label", "partner", "terms", "offer_disclosure",
                "calculator", "feedback"):  # fmt: skip
        assert key in card, key
    assert page["disclosure"].startswith("This is educational content")
    assert any("every two weeks" in s for g in page["insights"] for s in g["sentences"])
    assert body["items"]  # the per-window items are still there
