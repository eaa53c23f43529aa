"""A hand-made population written straight into a fresh database, with the right answers known."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import polars as pl

from spendsense.store.db import connect

AS_OF = "2025-06-30"
DISCLOSURE = (
    "This is educational content, not financial advice. "
    "Consult a licensed advisor for personalized guidance."
)
_ITEM = """
  - id: {id}
    title: A short title
    summary: A summary long enough.
    body: A body long enough to pass the catalog check.
    personas: {personas}
    signals: [general]
    fields: [credit.max_utilization]
    rationale: We suggested this because a card is at {{credit.max_utilization:pct}}.
"""
# A thin but valid catalog: the report reads it through the recommender's own loader.
CATALOG = "items:" + "".join(
    _ITEM.format(id=i, personas=p) + "    format: article\n    reading_time_minutes: 2\n" + extra
    for i, p, extra in (
        ("edu_util", "[1]", ""),
        ("edu_subs", "[3]", ""),
        ("edu_general", "[]", "    general: true\n"),
    )
)
OFFERS = (
    "items:"
    + _ITEM.format(id="offer_card", personas="[1]")
    + (
        "    partner: Example Bank\n    category: balance_transfer\n"
        "    terms:\n      rate: 0% intro APR for 12 months\n      fees: no annual fee\n"
        "    eligibility:\n      min_monthly_income: 5000\n"
    )
)


def insert(conn: sqlite3.Connection, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert dict rows (missing columns stay NULL)."""
    for row in rows:
        cols = ", ".join(f'"{c}"' for c in row)
        conn.execute(
            f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' * len(row))})", list(row.values())
        )


def _assign(
    user: str, window: int, pid: int | None, name: str | None, status: str
) -> dict[str, Any]:
    trace = {"user_id": user, "window_days": window, "result": {"status": status}}
    return {
        "assignment_id": f"pa:{user}:{window}", "user_id": user, "window_days": window,
        "as_of_date": AS_OF, "primary_persona_id": pid, "primary_persona_name": name,
        "status": status, "assignment_trace": json.dumps(trace),
    }  # fmt: skip


def _rec(rid: str, user: str, item: str, kind: str, rationale: str, **extra: Any) -> dict[str, Any]:
    row = {
        "recommendation_id": rid, "user_id": user, "window_days": 180, "as_of_date": AS_OF,
        "kind": kind, "item_id": item, "title": f"Title {item}", "rationale": rationale,
        "disclosure": DISCLOSURE, "rank": 1, "trace_id": f"t_{rid}",
    }  # fmt: skip
    row.update(extra)
    return row


def _trace(rid: str, user: str, item: str, **drop: bool) -> dict[str, Any]:
    body = {"user_id": user, "item": {"id": item}, "personas": {"primary_persona_id": 1},
            "signal_values": {"credit.max_utilization": 0.68}, "rule": {"id": "primary_persona"},
            "eligibility": {"passed": [], "failed": []}, "tone": {"passed": True}, "rank_score": 1.0,
            "catalog_version": "cat-test", "config_version": "cfg-test",
            "generated_at": "2026-10-31T00:00:00+00:00"}  # fmt: skip
    for key in drop:
        body.pop(key)
    return {"trace_id": f"t_{rid}", "user_id": user, "window_days": 180, "as_of_date": AS_OF,
            "item_id": item, "trace": json.dumps(body)}  # fmt: skip


def build(data_dir: Path) -> Path:
    """Five users; known answers are in tests/eval/test_metrics.py."""
    conn = connect(data_dir / "spendsense.db")
    insert(conn, "users", [
        {"user_id": "u1", "consent_status": "granted", "age_band": "25-34", "gender": "female", "income_tier": "low", "region": "west"},
        {"user_id": "u2", "consent_status": "granted", "age_band": "35-44", "gender": "male", "income_tier": "high", "region": "west"},
        {"user_id": "u3", "consent_status": "granted", "age_band": "25-34", "gender": "female", "income_tier": "high", "region": "south"},
        {"user_id": "u4", "consent_status": "granted", "age_band": "65+", "gender": "male", "income_tier": "low", "region": "south"},
        {"user_id": "u5", "consent_status": "none", "age_band": "18-24", "gender": "female", "income_tier": "low", "region": "west"},
    ])  # fmt: skip
    rows = []
    for w in (30, 180):
        rows += [_assign("u1", w, 1, "High Utilization", "ASSIGNED"),
                 _assign("u2", w, 3, "Subscription-Heavy", "ASSIGNED"),
                 _assign("u3", w, None, None, "STABLE")]  # fmt: skip
    insert(conn, "persona_assignments", rows)
    for w in (30, 180):
        key = {"window_days": w, "as_of_date": AS_OF}
        insert(conn, "feature_subscriptions", [
            {"user_id": "u1", **key, "recurring_merchant_count": 2, "monthly_recurring_spend": 25.5},
            {"user_id": "u2", **key, "recurring_merchant_count": 2, "monthly_recurring_spend": 45.5},
            {"user_id": "u3", **key, "recurring_merchant_count": 4},
        ])  # fmt: skip
        insert(conn, "feature_credit", [
            {"user_id": "u1", **key, "max_utilization": 0.68, "interest_charges_present": 1, "card_count": 1},
            {"user_id": "u3", **key, "max_utilization": 0.45, "card_count": 1},
        ])  # fmt: skip
        insert(conn, "feature_credit_cards", [
            {"user_id": "u1", **key, "account_id": "a1", "mask": "4523", "balance": 3400.0,
             "limit": 5000.0, "utilization": 0.68},
        ])  # fmt: skip
        insert(conn, "feature_income", [
            {"user_id": "u1", **key, "median_pay_gap_days": 14.0, "avg_monthly_income": 2800.0},
            {"user_id": "u2", **key, "median_pay_gap_days": 14.0, "avg_monthly_income": 3000.0},
            {"user_id": "u3", **key, "median_pay_gap_days": 30.0, "avg_monthly_income": 9000.0},
        ])  # fmt: skip
        insert(conn, "feature_cash_flow", [
            {"user_id": "u1", **key, "min_daily_balance": 50.0},
            {"user_id": "u3", **key, "min_daily_balance": 20.0},
        ])  # fmt: skip
        insert(conn, "feature_recurring_streams", [
            {"user_id": "u1", **key, "stream_id": "s1", "direction": "outflow", "merchant_name": "NETFLIX",
             "frequency": "MONTHLY", "status": "MATURE"},
            {"user_id": "u1", **key, "stream_id": "s2", "direction": "outflow", "merchant_name": "Gym Co",
             "frequency": "MONTHLY", "status": "TOMBSTONED"},
            {"user_id": "u1", **key, "stream_id": "s3", "direction": "inflow", "merchant_name": "ACME Payroll",
             "frequency": "BIWEEKLY", "status": "MATURE"},
            # a candidate, not a claim: left out of precision
            {"user_id": "u1", **key, "stream_id": "s4", "direction": "outflow", "merchant_name": "Chance Cafe",
             "frequency": "WEEKLY", "status": "EARLY_DETECTION"},
        ])  # fmt: skip
    insert(conn, "recommendations", [
        _rec("r1", "u1", "edu_util", "education",
             "Your card ending in 4523 is at 68% utilization ($3,400 of $5,000 limit)."),
        _rec("r2", "u2", "edu_util", "education", "You pay 7 subscriptions costing $99.00 a month."),
        _rec("r3", "u2", "offer_card", "offer", "Stop overspending: your income is $3,000 a month."),
        _rec("r4", "u5", "edu_subs", "education", "You have 2 subscriptions.", disclosure="Not advice."),
    ])  # fmt: skip
    insert(conn, "decision_traces", [
        _trace("r1", "u1", "edu_util"), _trace("r2", "u2", "edu_util", signal_values=True),
        _trace("r3", "u2", "offer_card"),
    ])  # fmt: skip
    insert(conn, "pipeline_runs", [
        {"run_id": "run1", "as_of_date": AS_OF, "windows": "30,180", "config_version": "t",
         "started_at": "2025-07-01T00:00:00+00:00", "finished_at": "2025-07-01T00:00:04+00:00", "users": 4},
    ])  # fmt: skip
    conn.close()
    truth = data_dir / "raw" / "ground_truth"
    truth.mkdir(parents=True)
    pl.DataFrame({
        "user_id": ["u1", "u2", "u3", "u4", "u5"],
        "archetypes": [["high_utilization"], ["subscription_heavy"], ["stable"], ["savings_builder"],
                       ["high_utilization", "variable_income"]],
    }).with_columns(primary_archetype=pl.col("archetypes").list.first()).write_parquet(truth / "users.parquet")  # fmt: skip
    pl.DataFrame({
        "user_id": ["u1", "u1", "u1", "u1", "u1"], "account_id": ["a", "a", "b", "a", "a"],
        "merchant_name": ["Netflix", "Spotify", "Office Rent", "ACME Payroll", "Annual Club"],
        "direction": ["outflow", "outflow", "outflow", "inflow", "outflow"],
        "cadence": ["monthly", "monthly", "monthly", "biweekly", "annually"],
        "amount_cents": [1599, 999, 90000, -200000, 9900],
        "is_subscription": [True, True, False, False, True], "business": [False, False, True, False, False],
        # one annual charge in the history: unobservable, so not counted against recall
        "n_charges": [6, 6, 6, 12, 1],
    }).write_parquet(truth / "recurring_streams.parquet")  # fmt: skip
    content = data_dir / "content"
    (content / "education").mkdir(parents=True)
    (content / "offers").mkdir()
    (content / "education" / "edu.yaml").write_text(CATALOG)
    (content / "offers" / "offers.yaml").write_text(OFFERS)
    return content
