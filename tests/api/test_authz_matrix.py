"""Authorization matrix: every route in the app × anonymous, owner, other customer, operator.

A customer refused another user's data gets the answer an id nobody has gets (404, the same
body): ``test_not_yours_answers_as_not_there`` holds that over every route.

The routes are enumerated from the app itself, so a new route without an entry in POLICY fails
``test_every_route_has_a_policy`` instead of going unchecked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from apiseed import Seeded, seed
from fastapi import FastAPI
from fastapi.testclient import TestClient

from spendsense.api.app import create_app

OPEN, OPERATOR, OWNER, CUSTOMER = "open", "operator", "owner-or-operator", "customer"
OWN_CARD = "owner as customer"  # a customer acting on an item of their own (not operators)
# (method, path template) -> who may reach it, and a request that would succeed for them.
POLICY: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {
    ("GET", "/openapi.json"): (OPEN, {}),
    ("GET", "/static"): (OPEN, {"path": "/static/style.css"}),
    ("GET", "/healthz"): (OPEN, {}),
    ("GET", "/docs"): (OPEN, {}),
    ("GET", "/docs/assets"): (OPEN, {"path": "/docs/assets/swagger-ui-bundle.js"}),
    ("GET", "/users"): (OPERATOR, {}),
    ("GET", "/login"): (OPEN, {}),
    ("POST", "/login"): (OPEN, {"data": {"username": "x", "password": "y"}}),
    ("GET", "/me/signed-out"): (OPEN, {}),
    ("POST", "/users"): (OPERATOR, {"json": {"user_id": "u_new"}}),
    ("POST", "/users/{user_id}/token"): (OPERATOR, {}),
    ("POST", "/users/{user_id}/token/revoke"): (OPERATOR, {}),
    ("POST", "/operator/tokens/revoke"): (OPERATOR, {"json": {"token": "not-a-real-token"}}),
    ("POST", "/operator/operators/{username}/disable"): (
        OPERATOR,
        {"path": "/operator/operators/nobody/disable"},
    ),
    ("POST", "/operator/operators/{username}/enable"): (
        OPERATOR,
        {"path": "/operator/operators/nobody/enable"},
    ),
    ("POST", "/users/{user_id}/plaid"): (OWNER, {"json": {"accounts": []}}),
    ("POST", "/consent"): (OWNER, {"json": {"user_id": "u1", "action": "grant"}}),
    ("GET", "/profile/{user_id}"): (OWNER, {}),
    ("GET", "/recommendations/{user_id}"): (OWNER, {}),
    ("GET", "/traces/{trace_id}"): (OWNER, {}),
    ("POST", "/feedback"): (OWNER, {"json": {"recommendation_id": "r1", "helpful": True}}),
    ("GET", "/operator/review"): (OPERATOR, {}),
    ("POST", "/operator/recommendations/{recommendation_id}/approve"): (
        OPERATOR,
        {"json": {"version": 1}},
    ),
    ("POST", "/operator/recommendations/{recommendation_id}/override"): (
        OPERATOR,
        {"json": {"version": 1, "reason": "r", "title": "t"}},
    ),
    ("POST", "/operator/recommendations/{recommendation_id}/flag"): (
        OPERATOR,
        {"json": {"version": 1, "reason": "r"}},
    ),
    ("POST", "/operator/recommendations/bulk"): (
        OPERATOR,
        {"json": {"action": "approve", "items": [{"recommendation_id": "r1", "version": 1}]}},
    ),
    ("POST", "/console/review/bulk"): (OPERATOR, {"data": {"action": "approve", "item": "r1:1"}}),
    ("POST", "/operator/recommendations/{recommendation_id}/unflag"): (
        OPERATOR,
        {"json": {"version": 1}},
    ),
    ("GET", "/operator/audit"): (OPERATOR, {}),
    ("POST", "/logout"): (OPERATOR, {}),
    ("GET", "/console"): (OPERATOR, {}),
    ("GET", "/console/users"): (OPERATOR, {}),
    ("GET", "/console/users/{user_id}"): (OPERATOR, {}),
    ("POST", "/console/recommendations/{recommendation_id}/{action}"): (
        OPERATOR,
        {"data": {"version": "1", "reason": "r"}},
    ),
    ("POST", "/console/users/{user_id}/consent"): (OPERATOR, {"data": {"action": "grant"}}),
    ("POST", "/console/users/{user_id}/token"): (OPERATOR, {}),
    ("GET", "/console/review"): (OPERATOR, {}),
    ("GET", "/console/metrics"): (OPERATOR, {}),
    ("GET", "/console/audit"): (OPERATOR, {}),
    ("GET", "/me"): (CUSTOMER, {}),
    ("POST", "/me/consent"): (CUSTOMER, {"data": {"action": "grant"}}),
    ("POST", "/me/feedback"): (OWN_CARD, {"data": {"recommendation_id": "r1", "helpful": "yes"}}),
    ("POST", "/me/signout"): (CUSTOMER, {}),
    ("GET", "/me/calculate/{recommendation_id}"): (OWN_CARD, {}),
}
PARAMS = {
    "{user_id}": "u1",
    "{trace_id}": "tr_r1",
    "{recommendation_id}": "r1",
    "{action}": "approve",
}
PARTIES = ("anonymous", "other customer", "owner", "operator")


def app_routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, path) for every route, mounts and included routers too (HEAD folded into GET)."""

    def walk(routes: list[Any], prefix: str) -> Iterator[tuple[str, str]]:
        for route in routes:
            if hasattr(route, "original_router"):  # FastAPI >= 0.165 wraps included routers
                yield from walk(route.original_router.routes, prefix + route.include_context.prefix)
            elif hasattr(route, "methods") and route.methods:
                for method in sorted(set(route.methods) - {"HEAD"}):
                    yield method, prefix + route.path
            else:  # a Mount (static files)
                yield "GET", prefix + route.path

    yield from walk(list(app.router.routes), "")


def _allowed(policy: str, party: str) -> bool:
    return (
        policy == OPEN
        or (party == "operator" and policy in (OPERATOR, OWNER))
        or (party == "owner" and policy in (OWNER, CUSTOMER, OWN_CARD))
        or (party == "other customer" and policy == CUSTOMER)  # /me acts on the caller only
    )


def _headers(seeded: Seeded, party: str) -> dict[str, str]:
    return {
        "anonymous": {},
        "other customer": seeded.cust("u2"),
        "owner": seeded.cust("u1"),
        "operator": seeded.op(),
    }[party]


def test_every_route_has_a_policy(tmp_path: Any) -> None:
    app = create_app(seed(tmp_path / "data").settings)
    routes = set(app_routes(app))
    assert routes - POLICY.keys() == set(), "new routes need an entry in POLICY"
    assert POLICY.keys() - routes == set(), "POLICY names routes the app no longer has"


@pytest.mark.parametrize(("method", "template"), sorted(POLICY))
def test_route_reachable_only_by_the_right_party(tmp_path: Any, method: str, template: str) -> None:
    policy, request = POLICY[(method, template)]
    seeded = seed(tmp_path / "data")
    path = request.get("path", template)
    for name, value in PARAMS.items():
        path = path.replace(name, value)
    body = {k: v for k, v in request.items() if k != "path"}
    with TestClient(create_app(seeded.settings, cookie_secure=False)) as client:
        for party in PARTIES:  # the denied parties go first so they cannot change the state
            r = client.request(
                method, path, headers=_headers(seeded, party), follow_redirects=False, **body
            )
            hidden = party == "other customer" and r.status_code == 404  # not theirs: not there
            denied = (
                hidden
                or r.status_code in (401, 403)
                or (r.status_code == 303 and r.headers["location"].startswith("/login?"))
            )
            assert r.status_code < 500, (party, r.status_code, r.text[:200])
            if _allowed(policy, party):
                # POST /login with a made-up user is a 401/403 *answer*, not a refusal to reach it
                if (method, template) != ("POST", "/login"):
                    assert not denied, f"{party} refused on {method} {path}: {r.status_code}"
            else:
                assert denied, f"{party} reached {method} {path}: {r.status_code} {r.text[:200]}"


# u1's ids (PARAMS), as the other customer u2 names them, against ids of the same shape that
# nobody has, and against u3 (a user who exists but never consented).
MISSING = {"u1": "u_nobody", "r1": "r_nobody", "tr_r1": "tr_nobody", "approve": "approve"}
NO_CONSENT = {"u1": "u3"}


def _swap(value: Any, ids: dict[str, str]) -> Any:
    """``value`` (a request body) with every id in ``ids`` replaced."""
    if isinstance(value, dict):
        return {k: _swap(v, ids) for k, v in value.items()}
    return ids.get(value, value) if isinstance(value, str) else value


def _answer(client: TestClient, seeded: Seeded, method: str, template: str, ids: dict[str, str]):
    _, request = POLICY[(method, template)]
    path = request.get("path", template)
    for name, value in PARAMS.items():
        path = path.replace(name, ids.get(value, value))
    body = _swap({k: v for k, v in request.items() if k != "path"}, ids)
    r = client.request(method, path, headers=seeded.cust("u2"), follow_redirects=False, **body)
    text = r.text
    for old, new in ids.items():  # the id the caller named is echoed back: compare the rest
        text = text.replace(repr(new), repr(old))
    return r.status_code, text


def _names_an_id(template: str, request: dict[str, Any]) -> bool:
    body = {**request.get("json", {}), **request.get("data", {})}
    return any(p in template for p in PARAMS if p != "{action}") or any(
        v in MISSING for v in body.values() if isinstance(v, str)
    )


NAMED = sorted(key for key, (_, request) in POLICY.items() if _names_an_id(key[1], request))


def test_named_routes_cover_every_id_route() -> None:
    """Every route that takes a user, trace or recommendation id is in the property below."""
    assert {("GET", "/traces/{trace_id}"), ("POST", "/feedback"), ("POST", "/consent"),
            ("POST", "/me/feedback"), ("GET", "/me/calculate/{recommendation_id}"),
            ("POST", "/users/{user_id}/plaid")} <= set(NAMED)  # fmt: skip


@pytest.mark.parametrize(("method", "template"), NAMED)
def test_not_yours_answers_as_not_there(tmp_path: Any, method: str, template: str) -> None:
    """A customer naming another user's id gets, byte for byte, what a made-up id gets."""
    seeded = seed(tmp_path / "data")
    with TestClient(create_app(seeded.settings, cookie_secure=False)) as client:
        missing = _answer(client, seeded, method, template, MISSING)
        theirs = _answer(client, seeded, method, template, {})
        unconsented = _answer(client, seeded, method, template, NO_CONSENT)
    assert theirs == missing, f"{method} {template}: another user's id answers differently"
    assert unconsented == missing, f"{method} {template}: a user without consent shows"
    if POLICY[(method, template)][0] != OPERATOR:
        assert missing[0] == 404, (method, template, missing)
