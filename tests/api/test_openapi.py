"""The OpenAPI document is complete enough to generate a client; /docs works offline; the REST
edges an integrator meets (empty filters, enums, unknown personas, GET /users)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from apiseed import Seeded
from fastapi.testclient import TestClient

ERROR_CODES = {"401", "403", "404", "409", "422"}
BODIES_WITH_EXAMPLES = {"UserCreate", "ConsentIn", "FeedbackIn", "ActionIn", "OverrideIn",
                        "FlagIn", "PlaidIn"}  # fmt: skip


@pytest.fixture
def doc(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, path, op) for path, ops in doc["paths"].items() for m, op in ops.items()]


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [
            r for v in node.values() for r in _refs(v)
        ]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_every_operation_is_named_described_and_secured(doc: dict[str, Any]) -> None:
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    ops = _operations(doc)
    assert len(ops) >= 16
    ids = [op["operationId"] for _, _, op in ops]
    assert len(set(ids)) == len(ids) and all(re.fullmatch(r"[a-z_]+", i) for i in ids), ids
    for method, path, op in ops:
        assert op.get("summary") and op.get("description"), (method, path)
        assert op.get("tags"), (method, path)
        if path == "/healthz":
            assert "security" not in op and set(op["responses"]) == {"200"}
        else:
            assert op.get("security") == [{"bearer": []}], (method, path)
            assert {"401", "403"} <= set(op["responses"]), (method, path)


def test_error_responses_are_per_route_and_realistic(doc: dict[str, Any]) -> None:
    paths = doc["paths"]
    assert "409" not in paths["/operator/review"]["get"]["responses"]  # a read cannot conflict
    assert "404" not in paths["/users"]["get"]["responses"]
    assert (
        "409" in paths["/operator/recommendations/{recommendation_id}/approve"]["post"]["responses"]
    )
    for method, path, op in _operations(doc):
        for code, response in op["responses"].items():
            assert response.get("description"), (method, path, code)
            if code in ERROR_CODES:
                content = response["content"]["application/json"]
                assert content["schema"]["$ref"].endswith("/ErrorOut"), (method, path, code)
                example = content["example"]["error"]
                assert example["code"] and example["message"], (method, path, code)
            else:
                assert "$ref" in str(response["content"]), (method, path, code)


def test_schemas_have_descriptions_enums_and_examples(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    assert "HTTPValidationError" not in schemas  # our 422 has the one error shape
    for name, schema in schemas.items():
        assert schema.get("description"), name
        for prop, spec in (schema.get("properties") or {}).items():
            assert spec.get("description"), f"{name}.{prop}"
    rec = schemas["RecommendationOut"]["properties"]
    assert rec["kind"]["enum"] == ["education", "offer"]
    assert set(rec["status"]["enum"]) == {
        "proposed",
        "approved",
        "overridden",
        "flagged",
        "delivered",
    }
    assert set(schemas["UserOut"]["properties"]["consent_status"]["enum"]) == {
        "granted", "revoked", "none",
    }  # fmt: skip
    age = schemas["UserCreate"]["properties"]["age_band"]["anyOf"][0]
    assert "65+" in age["enum"]
    for name in BODIES_WITH_EXAMPLES:
        assert schemas[name].get("examples"), name
    plaid = doc["paths"]["/users/{user_id}/plaid"]["post"]["requestBody"]
    assert plaid["content"]["application/json"]["schema"]["$ref"].endswith("/PlaidIn")
    assert {"user", "accounts", "transactions", "liabilities", "added"} <= set(
        schemas["PlaidIn"]["properties"]
    )
    for ref in _refs(doc):  # every reference resolves: a generator can follow them all
        assert ref.removeprefix("#/components/schemas/") in schemas, ref


def test_docs_page_is_served_from_the_app(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    scripts = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert scripts and all(s.startswith("/") for s in scripts), scripts  # no CDN
    for url in scripts:
        assert client.get(url).status_code == 200, url
    assert "<script>" not in page.text  # no inline script
    assert "SwaggerUIBundle" in client.get("/docs/assets/swagger-ui-bundle.js").text


def test_empty_filters_mean_any(client: TestClient, seeded: Seeded) -> None:
    everything = client.get("/operator/review", headers=seeded.op()).json()
    blank = client.get("/operator/review?window=&status=&persona=", headers=seeded.op())
    assert blank.status_code == 200 and blank.json() == everything
    assert client.get("/operator/audit?action=&actor=", headers=seeded.op()).status_code == 200
    users = client.get("/users?window=&consent=&status=&as_of=", headers=seeded.op())
    assert users.status_code == 200 and users.json()["total"] == 3


def test_unknown_persona_names_the_valid_values(client: TestClient, seeded: Seeded) -> None:
    for path in ("/operator/review", "/users"):
        r = client.get(f"{path}?persona=High%20Utilisation", headers=seeded.op())
        assert r.status_code == 422, path
        error = r.json()["error"]
        assert error["field"] == "persona"
        assert "Subscription-Heavy" in error["message"] and "STABLE" in error["message"]
        assert "Did you mean 'High Utilization'?" in error["message"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("age_band", "banana"), ("gender", "x"), ("income_tier", "rich"), ("region", "mars")],
)
def test_demographics_are_validated(
    client: TestClient, seeded: Seeded, field: str, value: str
) -> None:
    r = client.post("/users", json={"user_id": "u_new", field: value}, headers=seeded.op())
    assert r.status_code == 422 and r.json()["error"]["field"] == field
    ok = client.post("/users", json={"user_id": "u_ok", "age_band": "25-34"}, headers=seeded.op())
    assert ok.status_code == 201 and ok.json()["age_band"] == "25-34"


def test_get_users_pages_and_filters_for_operators(client: TestClient, seeded: Seeded) -> None:
    page = client.get("/users?limit=2", headers=seeded.op()).json()
    assert page["total"] == 3 and [u["user_id"] for u in page["items"]] == ["u1", "u2"]
    rest = client.get("/users?limit=2&offset=2", headers=seeded.op()).json()
    assert [u["user_id"] for u in rest["items"]] == ["u3"]
    u1 = client.get("/users?persona=High%20Utilization", headers=seeded.op()).json()
    assert [u["user_id"] for u in u1["items"]] == ["u1"]
    assert u1["items"][0]["as_of_date"] == "2025-06-30"
    assert u1["items"][0]["persona_30"] == "High Utilization"
    none = client.get("/users?consent=none", headers=seeded.op()).json()
    assert [u["user_id"] for u in none["items"]] == ["u3"]
    assert client.get("/users", headers=seeded.cust("u1")).status_code == 403
    assert client.get("/users").status_code == 401
