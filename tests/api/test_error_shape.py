"""Locks the one error shape: {"error": {"code", "message", "field"}} for every kind of error."""

from __future__ import annotations

from apiseed import Seeded
from fastapi.testclient import TestClient


def _shape(body: dict[str, object]) -> dict[str, object]:
    assert set(body) == {"error"}
    err = body["error"]
    assert isinstance(err, dict) and set(err) == {"code", "message", "field"}
    assert isinstance(err["message"], str) and err["message"]
    return err


def test_unknown_route_is_404_in_shape(client: TestClient) -> None:
    r = client.get("/no/such/route")
    assert r.status_code == 404
    assert _shape(r.json())["code"] == "not_found"


def test_method_not_allowed_in_shape(client: TestClient) -> None:
    r = client.delete("/healthz")
    assert r.status_code == 405
    assert _shape(r.json())["code"] == "method_not_allowed"


def test_unknown_ids_are_404(client: TestClient, seeded: Seeded) -> None:
    for path in ("/profile/nobody", "/recommendations/nobody", "/traces/nothing"):
        r = client.get(path, headers=seeded.op())
        assert r.status_code == 404
        assert _shape(r.json())["code"] == "not_found"
    r = client.post(
        "/operator/recommendations/nope/approve", json={"version": 1}, headers=seeded.op()
    )
    assert r.status_code == 404


def test_validation_422_names_the_field(client: TestClient, seeded: Seeded) -> None:
    cases = [
        ("/consent", {"user_id": "u1", "action": "maybe"}, "action"),
        ("/consent", {"action": "grant"}, "user_id"),
        ("/feedback", {"recommendation_id": "r1", "helpful": "perhaps"}, "helpful"),
        ("/users", {"user_id": "has spaces!"}, "user_id"),
        ("/operator/recommendations/r1/approve", {"version": 0}, "version"),
    ]
    for path, body, field in cases:
        r = client.post(path, json=body, headers=seeded.op())
        assert r.status_code == 422, (path, r.text)
        err = _shape(r.json())
        assert err["code"] == "invalid_input" and err["field"] == field
        assert field in str(err["message"])
    bad_query = client.get("/operator/review", params={"window": "soon"}, headers=seeded.op())
    assert bad_query.status_code == 422 and _shape(bad_query.json())["field"] == "window"
    not_json = client.post(
        "/consent", content=b"{", headers={**seeded.op(), "content-type": "application/json"}
    )
    assert not_json.status_code == 422
    _shape(not_json.json())


def test_auth_and_conflict_errors_in_shape(client: TestClient, seeded: Seeded) -> None:
    assert _shape(client.get("/recommendations/u1").json())["code"] == "unauthorized"
    forbidden = client.get("/operator/review", headers=seeded.cust("u1")).json()
    assert _shape(forbidden)["code"] == "forbidden"
    client.post("/operator/recommendations/r1/approve", json={"version": 1}, headers=seeded.op())
    conflict = client.post(
        "/operator/recommendations/r1/approve", json={"version": 1}, headers=seeded.op()
    )
    assert conflict.status_code == 409 and _shape(conflict.json())["code"] == "conflict"
