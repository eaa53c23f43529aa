"""The delivery policy: one rule, its SQL and Polars forms, and every surface applying it alike."""

from __future__ import annotations

import itertools
import sqlite3
import sys
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))

from apiseed import PASSWORD, Seeded, csrf_of, seed

from spendsense.api.app import create_app
from spendsense.config import Settings, load_settings
from spendsense.guardrails.delivery import (
    DEFAULT_POLICY,
    KINDS,
    POLICIES,
    STATUSES,
    delivered_expr,
    delivered_sql,
    delivery_state,
    is_delivered,
)
from spendsense.guardrails.disclosure import offer_disclosure
from spendsense.recommend.catalog import OfferItem, load_catalog

GRID = list(itertools.product(POLICIES, KINDS, STATUSES))


def test_default_policy_gates_offers_on_review_but_not_education() -> None:
    assert DEFAULT_POLICY == "offers_reviewed"
    assert Settings().delivery_policy == DEFAULT_POLICY
    assert is_delivered("education", "proposed", DEFAULT_POLICY)
    assert not is_delivered("offer", "proposed", DEFAULT_POLICY)
    assert is_delivered("offer", "approved", DEFAULT_POLICY)
    assert is_delivered("offer", "overridden", DEFAULT_POLICY)
    assert delivery_state("offer", "proposed", DEFAULT_POLICY) == "awaiting_review"


@pytest.mark.parametrize("policy", list(POLICIES))
def test_flagged_is_never_delivered(policy: str) -> None:
    for kind in KINDS:
        assert not is_delivered(kind, "flagged", policy)
        assert delivery_state(kind, "flagged", policy) == "withheld"


def test_all_reviewed_holds_everything_unreviewed() -> None:
    assert not is_delivered("education", "proposed", "all_reviewed")
    assert is_delivered("education", "approved", "all_reviewed")
    assert is_delivered("offer", "proposed", "guardrails_only")


def test_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown delivery policy"):
        is_delivered("education", "proposed", "yolo")
    with pytest.raises(ValueError):
        Settings(delivery_policy="yolo")  # type: ignore[arg-type]


def test_sql_and_polars_forms_agree_with_the_rule_everywhere() -> None:
    """Derived forms, checked over every policy x kind x status (and an unknown kind)."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE r (kind TEXT, status TEXT)")
    pairs = [*itertools.product((*KINDS, "other"), STATUSES)]
    conn.executemany("INSERT INTO r VALUES (?, ?)", pairs)
    frame = pl.DataFrame(pairs, schema=["kind", "status"], orient="row")
    for policy in POLICIES:
        want = {(k, s) for k, s in pairs if is_delivered(k, s, policy)}
        where, args = delivered_sql(policy)
        got_sql = set(conn.execute(f"SELECT kind, status FROM r WHERE {where}", args).fetchall())
        got_pl = set(frame.filter(delivered_expr(policy)).iter_rows())
        assert got_sql == want == got_pl, policy


def test_policy_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPENDSENSE_DELIVERY_POLICY", "all_reviewed")
    assert load_settings().delivery_policy == "all_reviewed"


def _client(tmp_path: Path, policy: str) -> tuple[TestClient, Seeded]:
    seeded = seed(tmp_path / "data")
    # a proposed partner offer beside the seed's proposed education (r1), flagged offer (r2),
    # approved education (r3)
    offer = load_catalog().get("off_credit_union_consolidation")
    assert isinstance(offer, OfferItem)
    seeded.conn.execute(
        "INSERT INTO recommendations (recommendation_id, user_id, window_days, as_of_date, kind,"
        " item_id, title, rationale, disclosure, rank, status, trace_id, partner, offer_terms,"
        " offer_disclosure) SELECT 'r5', user_id, window_days, as_of_date, 'offer', ?, ?,"
        " rationale, disclosure, 2, 'proposed', 'tr_r5', ?, ?, ? FROM recommendations"
        " WHERE recommendation_id = 'r1'",
        (
            offer.id,
            offer.title,
            offer.partner,
            offer.terms.as_json(),
            offer_disclosure(offer.partner),
        ),
    )
    settings = seeded.settings.model_copy(update={"delivery_policy": policy})
    return TestClient(create_app(settings, cookie_secure=False)), seeded


def _me_ids(client: TestClient, token: str) -> set[str]:
    client.get(f"/me?token={token}")
    html = client.get("/me").text
    client.cookies.clear()
    return {rid for rid in ("r1", "r2", "r3", "r5") if f'id="rec-{rid}"' in html}


@pytest.mark.parametrize("policy", list(POLICIES))
def test_user_page_api_and_console_apply_the_same_policy(tmp_path: Path, policy: str) -> None:
    client, seeded = _client(tmp_path, policy)
    statuses = {
        r["recommendation_id"]: (r["kind"], r["status"])
        for r in seeded.conn.execute(
            "SELECT recommendation_id, kind, status FROM recommendations WHERE user_id = 'u1'"
        )
    }
    want = {rid for rid, (k, s) in statuses.items() if is_delivered(k, s, policy)}
    with client:
        api = client.get("/recommendations/u1", headers=seeded.cust("u1")).json()
        assert api["delivery_policy"] == policy
        assert {i["recommendation_id"] for i in api["items"]} == want
        assert {i["delivery"] for i in api["items"]} <= {"delivered"}
        assert _me_ids(client, seeded.tokens["u1"]) == want
        op = client.get("/recommendations/u1", headers=seeded.op()).json()
        assert {i["recommendation_id"]: i["delivery"] for i in op["items"]} == {
            rid: delivery_state(k, s, policy) for rid, (k, s) in statuses.items()
        }
        login = client.get("/login")
        client.post(
            "/login",
            data={"username": "alice", "password": PASSWORD, "csrf_token": csrf_of(login.text)},
        )
        page = client.get("/console/users/u1").text
        for rid, (k, s) in statuses.items():
            state = delivery_state(k, s, policy)
            block = page.split(f'id="rec-{rid}"')[1].split("</h3>")[0]
            assert f'data-delivery="{state}"' in block, (rid, state)


def test_approving_an_offer_delivers_it_under_the_default(tmp_path: Path) -> None:
    client, seeded = _client(tmp_path, DEFAULT_POLICY)
    with client:
        cust = seeded.cust("u1")
        ids = {
            i["recommendation_id"]
            for i in client.get("/recommendations/u1", headers=cust).json()["items"]
        }
        assert "r5" not in ids
        r = client.post(
            "/operator/recommendations/r5/approve",
            json={"version": 1},
            headers=seeded.op(),
        )
        assert r.status_code == 200, r.text
        assert r.json()["delivery"] == "delivered"
        ids = {
            i["recommendation_id"]
            for i in client.get("/recommendations/u1", headers=cust).json()["items"]
        }
        assert "r5" in ids
