"""Per-user reference for the ingest bench: parse each bundle, compute signals and a persona.

What a plain script would do with the generator's Plaid JSON bundles: for every file,
``json.load`` it, turn amounts into cents and dates into dates, and for each consented user
and window compute the core signals the naive way (``naive_signals.user_signals``: recurring
streams, spend, subscription share, pay gaps, daily checking balances, plus card utilization,
interest, minimum-payment-only, overdue, savings inflow and growth), then pick the first
matching persona by priority with the thresholds of ``PersonasConfig``. No validation, no
store, no traces: it is for timing only (``bench/bench_ingest.py`` runs it beside the
product on the same files).

    python bench/naive_bundles.py FOLDER --as-of 2026-10-31 [--windows 30,180]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from naive_signals import user_signals

from spendsense.personas.config import PersonaThresholds


def _cents(value: object) -> int:
    return round(float(value) * 100) if isinstance(value, int | float) else 0


def credit(bundle: dict) -> dict:
    """Card utilization and the liability flags of one user."""
    limits = {
        a["account_id"]: (_cents(a["balances"].get("current")), _cents(a["balances"].get("limit")))
        for a in bundle.get("accounts", [])
        if a.get("type") == "credit"
    }
    utils = [cur / lim for cur, lim in limits.values() if lim > 0]
    cards = bundle.get("liabilities", {}).get("credit", [])
    return {
        "max_utilization": max(utils) if utils else None,
        "interest": any(
            (apr.get("interest_charge_amount") or 0) > 0 for c in cards for apr in c.get("aprs", [])
        ),
        "minimum_only": any(
            c.get("last_payment_amount") is not None
            and c.get("minimum_payment_amount") is not None
            and c["last_payment_amount"] <= c["minimum_payment_amount"]
            for c in cards
        ),
        "overdue": any(bool(c.get("is_overdue")) for c in cards),
    }


def savings(txns: list[dict], balances: dict[str, int], window: int, as_of: date) -> dict:
    """Net inflow into savings accounts over the window and growth against the start."""
    start = as_of - timedelta(days=window)
    inflow = sum(
        -t["amount_cents"]
        for t in txns
        if t["account_id"] in balances and start < t["date"] <= as_of
    )
    now = sum(balances.values())
    before = now - inflow
    return {
        "net_inflow_monthly": inflow / 100 / (window / 30),
        "growth_rate": inflow / before if before > 0 else None,
    }


def persona(f: dict, t: PersonaThresholds) -> int | None:
    """The first matching persona by priority (1 = highest), or None."""
    util = f["max_utilization"]
    if (util is not None and util >= t.persona_1.utilization_threshold) or (
        f["interest"] or f["minimum_only"] or f["overdue"]
    ):
        return 1
    gap, buffer = f["median_pay_gap_days"], f["buffer_months"]
    if (
        gap is not None
        and gap > t.persona_2.pay_gap_days_threshold
        and buffer is not None
        and buffer < t.persona_2.buffer_months_threshold
    ):
        return 2
    if f["recurring_merchant_count"] >= t.persona_3.recurring_merchant_count_threshold and (
        f["monthly_recurring_spend"] >= t.persona_3.monthly_spend_threshold
        or f["subscription_share"] >= t.persona_3.subscription_share_threshold
    ):
        return 3
    growth = f["growth_rate"]
    if (
        (growth is not None and growth >= t.persona_4.growth_rate_threshold)
        or f["net_inflow_monthly"] >= t.persona_4.net_inflow_monthly_threshold
    ) and (util is None or util < t.persona_4.max_utilization_threshold):
        return 4
    mean = f["avg_daily_balance"]
    volatility = f["balance_std"] / mean if mean > 0 else None
    if f["pct_days_below_100"] >= t.persona_5.pct_days_below_100_threshold or (
        volatility is not None and volatility > t.persona_5.balance_volatility_threshold
    ):
        return 5
    return None


def user_rows(bundle: dict, windows: tuple[int, ...], as_of: date, t: PersonaThresholds) -> list:
    """One user's (window, persona) pairs; none unless the bundle grants consent."""
    if bundle["user"].get("consent") != "granted":
        return []
    txns = [
        {
            "date": date.fromisoformat(x["date"]),
            "amount_cents": _cents(x["amount"]),
            "pfc_primary": (x.get("personal_finance_category") or {}).get("primary"),
            "merchant_name": x.get("merchant_name") or x.get("name"),
            "account_id": x["account_id"],
        }
        for x in bundle.get("transactions", [])
    ]
    accounts = bundle.get("accounts", [])
    checking = sum(
        _cents(a["balances"].get("current")) for a in accounts if a.get("subtype") == "checking"
    )
    saving = {
        a["account_id"]: _cents(a["balances"].get("current"))
        for a in accounts
        if a.get("subtype") == "savings"
    }
    cards = credit(bundle)
    rows = []
    for w in windows:
        f = user_signals(txns, checking, w, as_of) | cards | savings(txns, saving, w, as_of)
        monthly_spend = (
            sum(
                t["amount_cents"]
                for t in txns
                if t["amount_cents"] > 0 and as_of - timedelta(w) < t["date"] <= as_of
            )
            / 100
            / (w / 30)
        )
        f["buffer_months"] = checking / 100 / monthly_spend if monthly_spend > 0 else None
        rows.append((bundle["user"]["user_id"], w, persona(f, t)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--as-of", type=date.fromisoformat, required=True)
    parser.add_argument("--windows", default="30,180")
    args = parser.parse_args()
    windows = tuple(int(w) for w in args.windows.split(","))
    thresholds = PersonaThresholds()
    t0 = time.perf_counter()
    files = sorted(args.folder.rglob("*.json"))
    rows: list = []
    transactions = 0
    for path in files:
        with path.open("rb") as fh:
            bundle = json.load(fh)
        transactions += len(bundle.get("transactions", []))
        rows.extend(user_rows(bundle, windows, args.as_of, thresholds))
    counts: dict[str, int] = {}
    for _, _, p in rows:
        counts[str(p)] = counts.get(str(p), 0) + 1
    print(
        json.dumps(
            {
                "files": len(files),
                "transactions": transactions,
                "rows": len(rows),
                "personas": dict(sorted(counts.items())),
                "seconds": round(time.perf_counter() - t0, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
