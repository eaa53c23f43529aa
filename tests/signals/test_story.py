"""The story's per-user face (seed 004): detect_subscriptions and BehaviorSignals."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
from signal_builders import AS_OF, LedgerBuilder, day

from spendsense.signals import (
    BehaviorSignals,
    SignalsConfig,
    behavior_signals,
    compute_features,
    detect_subscriptions,
)

EMPTY = {
    "recurring_merchants": [],
    "count": 0,
    "monthly_recurring_spend": 0,
    "percentage_of_spending": 0.0,
}


def story_tx(
    merchant: str, cents: int, days_ago: list[int], category: str = "ENTERTAINMENT"
) -> list[dict]:
    return [
        {
            "merchant_name": merchant,
            "amount": cents,
            "date": AS_OF - timedelta(days=n),
            "category": category,
        }
        for n in days_ago
    ]


def test_netflix_and_weekly_found() -> None:
    txs = story_tx("Netflix", 1549, [0, 30, 60, 90, 120, 150]) + story_tx(
        "Gym", 1000, [3 + 7 * k for k in range(25)]
    )
    txs += story_tx("Target", 8451, [10])
    out = detect_subscriptions(txs, 180)
    assert out["count"] == 2
    assert out["recurring_merchants"] == [
        {"name": "Gym", "frequency": "weekly", "avg_amount": 1000, "count": 25},
        {"name": "Netflix", "frequency": "monthly", "avg_amount": 1549, "count": 6},
    ]
    assert out["monthly_recurring_spend"] == round(1549 + 1000 * 4.33)
    assert out["percentage_of_spending"] == (1549 * 6 + 25000) / (1549 * 6 + 25000 + 8451) * 100


def test_fewer_than_three_transactions() -> None:
    assert detect_subscriptions(story_tx("Netflix", 1549, [0, 30]), 180) == EMPTY
    assert detect_subscriptions([], 30) == EMPTY


def test_irregular_gaps_and_no_subscriptions() -> None:
    assert detect_subscriptions(story_tx("Shop", 1500, [0, 3, 41, 50, 95]), 180) == EMPTY


def test_no_debits_and_zero_spend() -> None:
    assert (
        detect_subscriptions(story_tx("Employer", -200000, [0, 14, 28, 42], "INCOME"), 180) == EMPTY
    )


def test_string_dates_and_dataframe_input() -> None:
    txs = [{**t, "date": t["date"].isoformat()} for t in story_tx("Netflix", 1549, [0, 30, 60])]
    assert detect_subscriptions(txs, 30)["count"] == 1
    assert detect_subscriptions(pl.DataFrame(txs), 30)["count"] == 1


def test_wrappers_agree_with_whole_table() -> None:
    lb = LedgerBuilder()
    for u, price in (("u1", 1549), ("u2", 999), ("u3", 2500)):
        lb.user(u).account(f"chk-{u}", user_id=u, current=price * 10)
        lb.account(
            f"card-{u}",
            user_id=u,
            type_="credit",
            subtype="credit card",
            current=price * 3,
            limit=10000,
        )
        lb.series([2, 32, 62, 92], price, account_id=f"chk-{u}", user_id=u)
        lb.series(
            [5, 19, 33],
            -100000,
            merchant="Payroll",
            account_id=f"chk-{u}",
            user_id=u,
            primary="INCOME",
            detailed="INCOME_SALARY",
        )
        lb.tx(
            day(4),
            price * 2,
            merchant="Shop",
            account_id=f"card-{u}",
            user_id=u,
            primary="GENERAL_MERCHANDISE",
        )
    ledger = lb.build()
    whole = compute_features(ledger, AS_OF, SignalsConfig())
    for u in ("u1", "u2", "u3"):
        for window in (30, 180):
            one = behavior_signals(ledger, u, AS_OF, window)
            assert one == BehaviorSignals.from_features(whole, u, window)
            assert one.subscriptions["count"] == 1
            assert one.credit["card_count"] == 1
        txs = ledger["transactions"].filter(pl.col("user_id") == u)
        story = detect_subscriptions(
            txs.filter(pl.col("account_id").str.starts_with("chk")), 180, AS_OF
        )
        assert (
            story["recurring_merchants"]
            == BehaviorSignals.from_features(whole, u, 180).subscriptions["recurring_merchants"]
        )


def test_user_chunks_give_the_same_tables() -> None:
    lb = LedgerBuilder()
    for i, price in enumerate((1549, 999, 2500, 1200, 700)):
        u = f"u{i}"
        lb.user(u).account(f"chk-{u}", user_id=u, current=price * 10)
        lb.account(
            f"card-{u}",
            user_id=u,
            type_="credit",
            subtype="credit card",
            current=price,
            limit=10000,
        )
        lb.series([2, 32, 62, 92], price, account_id=f"chk-{u}", user_id=u)
        lb.series(
            [5, 19, 33],
            -100000,
            merchant="Payroll",
            account_id=f"chk-{u}",
            user_id=u,
            primary="INCOME",
            detailed="INCOME_SALARY",
        )
    lb.user("u_empty")
    ledger = lb.build()
    whole = compute_features(ledger, AS_OF, SignalsConfig())
    chunked = compute_features(ledger, AS_OF, SignalsConfig(), chunk_users=2)
    for name, frame in whole.items():
        assert chunked[name].equals(frame), name
