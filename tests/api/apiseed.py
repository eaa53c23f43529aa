"""A tiny database built row by row for the API and page tests (no pipeline involved)."""

from __future__ import annotations

import json
import re
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from fastapi.testclient import TestClient

from spendsense.config import Settings
from spendsense.guardrails.disclosure import offer_disclosure
from spendsense.store.auth import create_customer_token, create_operator, create_operator_token
from spendsense.store.db import connect

AS_OF = "2025-06-30"
EVIL = "<script>alert('x')</script>"
DISCLOSURE = (
    "This is educational content, not financial advice. "
    "Consult a licensed advisor for personalized guidance."
)
PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The first CSRF token in a page."""
    match = CSRF.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def sign_in(client: TestClient, username: str = "alice", password: str = PASSWORD) -> int:
    """Sign in through the console's form (CSRF token from the page); the answer's status."""
    form = {
        "username": username,
        "password": password,
        "csrf_token": csrf_of(client.get("/login").text),
    }
    return client.post("/login", data=form, follow_redirects=False).status_code


@dataclass
class Seeded:
    """Handles on the seeded database."""

    settings: Settings
    conn: sqlite3.Connection
    operator_token: str
    tokens: dict[str, str] = field(default_factory=dict)

    def op(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.operator_token}"}

    def cust(self, user_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user_id]}"}


def _trace(user_id: str, window: int) -> str:
    return json.dumps(
        {
            "user_id": user_id,
            "window_days": window,
            "as_of_date": AS_OF,
            "evaluations": {
                "persona_1": {
                    "persona_name": "High Utilization",
                    "matched": True,
                    "rule": "any card utilization >= 0.5 OR interest charges > 0",
                    "criteria": {
                        "max_utilization": {
                            "value": 0.68,
                            "threshold": 0.5,
                            "op": ">=",
                            "met": True,
                        },
                        "interest_charges": {
                            "value": 87.0,
                            "threshold": 0.0,
                            "op": ">",
                            "met": True,
                        },
                    },
                    "triggered_by": ["max_utilization", "interest_charges"],
                    "severity": 0.68,
                    "priority": "HIGH",
                },
                "persona_3": {
                    "persona_name": "Subscription-Heavy",
                    "matched": False,
                    "rule": "recurring merchants >= 3 AND monthly recurring spend >= 50",
                    "criteria": {
                        "recurring_merchant_count": {
                            "value": 2,
                            "threshold": 3,
                            "op": ">=",
                            "met": False,
                        }
                    },
                    "triggered_by": [],
                    "severity": None,
                    "priority": "MEDIUM",
                },
            },
            "result": {
                "primary_persona_id": 1,
                "primary_persona_name": "High Utilization",
                "primary_reasoning": "Matched on card utilization 68% (>= 50%). Severity: 0.68. Priority: HIGH.",
                "status": "ASSIGNED",
            },
        }
    )


OFFER = {  # the shipped catalog's balance transfer card (u1 is eligible for it)
    "partner": "Meridian Card Co.",
    "offer_terms": json.dumps(
        {
            "fees": "3% of each transfer (minimum $5); no annual fee",
            "rate": "0% intro APR on transfers for 18 months, then 19.99%-28.99% variable APR",
        },
        sort_keys=True,
    ),
    "offer_disclosure": offer_disclosure("Meridian Card Co."),
}


def _rec(
    rec_id: str, user_id: str, window: int, kind: str, item: str, status: str, rank: int
) -> tuple:
    offer = OFFER if kind == "offer" else dict.fromkeys(OFFER)
    return (
        rec_id, user_id, window, AS_OF, kind, item, f"Title {rec_id}",
        f"Your Visa ending in 4523 is at 68% utilization ({EVIL})", DISCLOSURE, rank, 0.9,
        status, f"tr_{rec_id}", 1, None, *offer.values(),
    )  # fmt: skip


_TEMPLATE: list[Seeded] = []


def seed(data_dir: Path) -> Seeded:
    """Three users: u1 (consented, full data, hostile names), u2 (consented), u3 (no consent).

    Built once per test process, then copied into ``data_dir`` for each test (SQLite's backup
    API): every test still gets its own database, without re-seeding rows and hashing.
    """
    if not _TEMPLATE:
        _TEMPLATE.append(_build(Path(tempfile.mkdtemp(prefix="spendsense-apiseed-")) / "data"))
    template = _TEMPLATE[0]
    settings = Settings(data_dir=data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    target = sqlite3.connect(settings.db_path)
    template.conn.backup(target)
    target.close()
    return Seeded(
        settings, connect(settings.db_path), template.operator_token, dict(template.tokens)
    )


def _build(data_dir: Path) -> Seeded:
    """The seeded database itself (see ``seed``)."""
    settings = Settings(data_dir=data_dir)
    conn = connect(settings.db_path)
    conn.executemany(
        "INSERT INTO users (user_id, name, consent_status, age_band) VALUES (?,?,?,?)",
        [
            ("u1", f"Alice {EVIL}", "granted", "25-34"),
            ("u2", "Bob", "granted", "35-44"),
            ("u3", "Cara", "none", "18-24"),
        ],
    )
    conn.executemany(
        "INSERT INTO accounts (account_id, user_id, type, subtype, current_cents, mask) VALUES (?,?,?,?,?,?)",
        [("a1", "u1", "depository", "checking", 150_000, "1111"), ("a2", "u2", "depository", "checking", 5_000, "2222")],
    )  # fmt: skip
    txns = [
        (f"t{i}", "a1", "u1", f"2025-06-{i:02d}", 2_500 if i % 3 else -40_000, f"{EVIL} Coffee")
        for i in range(1, 31)
    ]
    conn.executemany(
        "INSERT INTO transactions (transaction_id, account_id, user_id, date, amount_cents, merchant_name) VALUES (?,?,?,?,?,?)",
        txns,
    )
    for window in (30, 180):
        key = ("u1", window, AS_OF)
        conn.execute(
            "INSERT INTO feature_subscriptions (user_id, window_days, as_of_date, recurring_merchant_count, monthly_recurring_spend, subscription_share) VALUES (?,?,?,?,?,?)",
            (*key, 2, 45.5, 0.08),
        )
        conn.execute(
            "INSERT INTO feature_credit (user_id, window_days, as_of_date, card_count, max_utilization, interest_charges_monthly) VALUES (?,?,?,?,?,?)",
            (*key, 1, 0.68, 87.0),
        )
        conn.execute(
            "INSERT INTO feature_income (user_id, window_days, as_of_date, pay_frequency, avg_monthly_income) VALUES (?,?,?,?,?)",
            (*key, "biweekly", 4200.0),
        )
        conn.execute(
            "INSERT INTO feature_cash_flow (user_id, window_days, as_of_date, avg_daily_balance) VALUES (?,?,?,?)",
            (*key, 1234.5),
        )
        conn.execute(
            "INSERT INTO feature_savings (user_id, window_days, as_of_date, has_savings_account, savings_balance, emergency_fund_months) VALUES (?,?,?,?,?,?)",
            (*key, 1, 800.0, 0.4),
        )
        conn.execute(
            "INSERT INTO feature_recurring_streams (user_id, window_days, as_of_date, stream_id, merchant_name, frequency, monthly_amount, is_subscription) VALUES (?,?,?,?,?,?,?,?)",
            (*key, f"s{window}", f"{EVIL}Netflix", "MONTHLY", 15.49, 1),
        )
        conn.execute(
            "INSERT INTO persona_assignments (assignment_id, user_id, window_days, as_of_date, primary_persona_id, primary_persona_name, primary_priority, primary_severity, status, assignment_trace) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                f"pa_u1_{window}",
                *key,
                1,
                "High Utilization",
                "HIGH",
                0.68,
                "ASSIGNED",
                _trace("u1", window),
            ),
        )
    conn.execute(
        "INSERT INTO persona_assignments (assignment_id, user_id, window_days, as_of_date, status) VALUES (?,?,?,?,?)",
        ("pa_u2_30", "u2", 30, AS_OF, "STABLE"),
    )
    recs = [
        _rec("r1", "u1", 30, "education", "edu_utilization_explainer", "proposed", 1),
        _rec("r2", "u1", 30, "offer", "off_balance_transfer_card", "flagged", 1),
        _rec("r3", "u1", 180, "education", "edu_autopay_setup", "approved", 1),
        _rec("r4", "u2", 30, "education", "edu_fifty_thirty_twenty", "proposed", 1),
    ]
    conn.executemany(
        "INSERT INTO recommendations (recommendation_id, user_id, window_days, as_of_date, kind,"
        " item_id, title, rationale, disclosure, rank, rank_score, status, trace_id, version,"
        f" updated_at, partner, offer_terms, offer_disclosure) VALUES ({','.join('?' * 18)})",
        recs,
    )
    conn.executemany(
        "INSERT INTO decision_traces VALUES (?,?,?,?,?,?)",
        [
            (r[12], r[1], r[2], AS_OF, r[5], json.dumps({"eligible": True, "signals": {"max_utilization": 0.68}, "note": EVIL}))
            for r in recs
        ],
    )  # fmt: skip
    create_operator(conn, "alice", PASSWORD)
    seeded = Seeded(settings, conn, create_operator_token(conn, "alice"))
    for user_id in ("u1", "u2", "u3"):
        seeded.tokens[user_id] = create_customer_token(conn, user_id)
    return seeded
