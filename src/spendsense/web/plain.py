"""Signals in plain, supportive language for the user's own page (no jargon, no judgement)."""

from __future__ import annotations

from typing import Any

from spendsense.web.templates import money

FREQUENCY_WORDS = {
    "weekly": "every week",
    "biweekly": "every two weeks",
    "semi_monthly": "twice a month",
    "monthly": "once a month",
    "irregular": "on an irregular schedule",
}


def _num(family: dict[str, Any], key: str) -> float | None:
    value = family.get(key)
    return None if value is None else float(value)


def plain_signals(
    signals: dict[str, dict[str, Any]], window_days: int, utilization_guide: float
) -> list[str]:
    """A few short sentences about one window's signals, skipping anything we do not know.

    ``utilization_guide`` is the configured utilization level content calls the common guide
    (``recommend.triggers.utilization_guide``).
    """
    out: list[str] = []
    period = f"the last {window_days} days"
    subs = signals.get("subscriptions", {})
    count, monthly = subs.get("recurring_merchant_count"), _num(subs, "monthly_recurring_spend")
    if count:
        share = _num(subs, "subscription_share")
        extra = f", about {share * 100:.0f}% of your spending" if share else ""
        out.append(
            f"You have {count} recurring subscription{'s' if count != 1 else ''},"
            f" around {money(monthly)} a month{extra}."
        )
    savings = signals.get("savings", {})
    if savings.get("has_savings_account"):
        net = _num(savings, "net_inflow_monthly")
        line = f"Your savings balance is {money(_num(savings, 'savings_balance'))}"
        if net and net > 0:
            line += f", and you added about {money(net)} a month in {period}"
        out.append(line + ".")
        months = _num(savings, "emergency_fund_months")
        if months is not None:
            out.append(f"That would cover about {months:.1f} months of your usual expenses.")
    credit = signals.get("credit", {})
    util = _num(credit, "max_utilization")
    if util is not None:
        out.append(
            f"Your highest credit card balance is {util * 100:.0f}% of its limit"
            f" (many people aim to stay under {utilization_guide * 100:.0f}%)."
        )
    interest = _num(credit, "interest_charges_monthly")
    if interest:
        out.append(f"Interest charges come to about {money(interest)} a month.")
    income = signals.get("income", {})
    freq = income.get("pay_frequency")
    if freq in FREQUENCY_WORDS:
        out.append(
            f"Your pay arrives {FREQUENCY_WORDS[freq]}, about"
            f" {money(_num(income, 'avg_monthly_income'))} a month."
        )
    cash = signals.get("cash_flow", {})
    avg = _num(cash, "avg_daily_balance")
    if avg is not None:
        out.append(f"Your checking balance averaged {money(avg)} over {period}.")
    return out
