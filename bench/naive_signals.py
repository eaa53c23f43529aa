"""Naive reference: the same core signals computed one user at a time in plain Python.

This is how the story's per-user code would run over a population: a loop over users,
each grouping its transactions by merchant, computing gaps, and walking its days.
It covers recurring outflow streams, total spend, subscription share, income gaps and
daily checking balances (the heaviest parts of compute_features); it is for timing only.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections import defaultdict
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_signals import AS_OF, build_ledger, time_features

BANDS = {"WEEKLY": (5, 10), "BIWEEKLY": (12, 17), "MONTHLY": (26, 35), "QUARTERLY": (85, 100)}
FACTOR = {"WEEKLY": 4.33, "BIWEEKLY": 26 / 12, "MONTHLY": 1.0, "QUARTERLY": 1 / 3}
NON_SPEND = {"TRANSFER_IN", "TRANSFER_OUT", "LOAN_PAYMENTS", "LOAN_DISBURSEMENTS", "INCOME"}


def user_signals(txns: list[dict], checking_cents: int, window: int, as_of: date) -> dict:
    """One user's subscription, income and cash-flow numbers."""
    start = as_of - timedelta(days=window)
    lookback = as_of - timedelta(days=max(window, 90))
    by_merchant: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    spend = 0
    deposits: dict[date, int] = defaultdict(int)
    daily: dict[date, int] = defaultdict(int)
    for t in txns:
        d, amt = t["date"], t["amount_cents"]
        if d <= lookback or d > as_of:
            continue
        if amt > 0 and t["pfc_primary"] != "INCOME":
            by_merchant[t["merchant_name"]][d] += amt
        if t["pfc_primary"] == "INCOME" and amt < 0:
            deposits[d] -= amt
        if d > start:
            if amt > 0 and t["pfc_primary"] not in NON_SPEND:
                spend += amt
            if t["account_id"].endswith("chk"):
                daily[d] += amt
    monthly, sub_spend, count = 0.0, 0, 0
    for charges in by_merchant.values():
        if len(charges) < 3:
            continue
        days = sorted(charges)
        amounts = [charges[d] for d in days]
        gaps = [(b - a).days for a, b in pairwise(days)]
        gap = statistics.median_low(gaps)
        freq = next((f for f, (lo, hi) in BANDS.items() if lo <= gap <= hi), None)
        med = statistics.median(amounts)
        if freq is None or any(abs(a - med) > 0.1 * med for a in amounts):
            continue
        if days[-1] > start:
            count += 1
            monthly += statistics.mean(amounts) * FACTOR[freq]
            sub_spend += sum(a for d, a in zip(days, amounts, strict=True) if d > start)
    pay_days = sorted(deposits)
    pay_gaps = [(b - a).days for a, b in pairwise(pay_days)]
    balance, balances = checking_cents, []
    for i in range(window):
        d = as_of - timedelta(days=i)
        balances.append(balance)
        balance += daily.get(d, 0)
    mean = sum(balances) / window
    return {
        "recurring_merchant_count": count,
        "monthly_recurring_spend": monthly / 100,
        "subscription_share": sub_spend / spend if spend else 0.0,
        "median_pay_gap_days": statistics.median(pay_gaps) if pay_gaps else None,
        "pct_days_below_100": sum(b < 10_000 for b in balances) / window,
        "balance_std": statistics.pstdev(balances) / 100,
        "avg_daily_balance": mean / 100,
    }


def run(ledger: dict, as_of: date = AS_OF, windows: tuple[int, ...] = (30, 180)) -> dict:
    """Loop over users and windows."""
    per_user: dict[str, list[dict]] = defaultdict(list)
    for t in ledger["transactions"].iter_rows(named=True):
        per_user[t["user_id"]].append(t)
    checking = {
        r["user_id"]: r["current_cents"]
        for r in ledger["accounts"].iter_rows(named=True)
        if r["subtype"] == "checking"
    }
    return {
        (u, w): user_signals(per_user[u], checking.get(u, 0), w, as_of)
        for u in ledger["users"]["user_id"]
        for w in windows
    }


def main() -> None:
    """Time the naive loop and compute_features on the same N users; record the ratio."""
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000
    ledger = build_ledger(n)
    t0 = time.perf_counter()
    run(ledger)
    naive = time.perf_counter() - t0
    whole = min(time_features(ledger) for _ in range(3))
    result = {
        "users": n,
        "transactions": ledger["transactions"].height,
        "naive_seconds": round(naive, 3),
        "compute_features_seconds": round(whole, 3),
        "speedup": round(naive / whole, 1),
        "note": "naive covers streams, spend, pay gaps and daily balances only",
    }
    print(json.dumps(result))
    out = Path("bench/results/signals.json")
    data = json.loads(out.read_text()) if out.exists() else {}
    data.setdefault("naive_vs_whole_table", {})[str(n)] = result
    out.write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    main()
