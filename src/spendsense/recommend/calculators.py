"""The working calculators behind ``format: calculator`` items: inputs prefilled from the
customer's numbers, results as plain sentences (which meet the sentence contract).

Three kinds (``catalog.CALCULATORS``): ``card_payoff`` (months and interest to pay a card
balance off at a monthly payment), ``emergency_fund`` (a safety-net target and the months
to reach it) and ``savings_rate`` (saving as a share of income). Pure functions: the page
and the API prefill from the same values; the web route computes what a customer typed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from spendsense.text import money, pct, plural, render_value

TYPICAL_CARD_RATE = 24.0
"""Yearly card rate (%) offered when the customer's own cannot be estimated (labelled so)."""
SAFETY_NET_MONTHS = 3.0
"""The emergency-fund goal offered first, in months of expenses (they can change it)."""
MAX_MONTHS = 600
"""Longer payoffs are reported as "more than 50 years"."""
LIMIT = 100_000_000.0
"""Largest amount a field accepts."""


@dataclass(frozen=True)
class Field:
    """One input: its form name, label, value (as typed or prefilled), unit and hint."""

    name: str
    label: str
    value: float
    unit: str  # "$", "%" or "months"
    hint: str | None = None

    @property
    def shown(self) -> str:
        """The value as the form shows it (no thousands separators, cents only when needed)."""
        return f"{self.value:.2f}".removesuffix(".00")


@dataclass(frozen=True)
class Calculator:
    """A calculator's kind, its inputs and the sentences it gives for them."""

    kind: str
    title: str
    fields: tuple[Field, ...]
    result: tuple[str, ...]
    error: str | None = None


def _num(values: Mapping[str, Any], key: str) -> float | None:
    value = values.get(key)
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _months_phrase(months: int) -> str:
    if months >= MAX_MONTHS:
        return "more than 50 years"
    years, rest = divmod(months, 12)
    if years == 0:
        return f"{months} {plural(months, 'month')}"
    tail = f" and {rest} {plural(rest, 'month')}" if rest else ""
    return f"{years} {plural(years, 'year')}{tail}"


def payoff_months(balance: float, rate_pct: float, payment: float) -> tuple[int, float] | None:
    """(months, total interest) to pay ``balance`` at ``payment`` a month, or None when the
    payment never catches up with the interest."""
    monthly_rate = rate_pct / 100 / 12
    left, interest, months = balance, 0.0, 0
    while left > 0.005 and months < MAX_MONTHS:
        charge = left * monthly_rate
        if payment <= charge:
            return None
        interest += charge
        left = left + charge - payment
        months += 1
    return months, interest


def _card_payoff(fields: dict[str, float]) -> tuple[str, ...]:
    balance, rate, payment = fields["balance"], fields["rate"], fields["payment"]
    if balance <= 0.005:
        return ("Enter the balance you owe to see how long paying it off would take.",)
    if payment <= 0.005:
        return ("Enter a monthly payment to see how long paying it off would take.",)
    found = payoff_months(balance, rate, payment)
    if found is None:
        return (
            f"At {money(payment)} a month the payment does not cover the interest, so the"
            " balance would not go down. Try a larger amount.",
        )
    months, interest = found
    first = f"At {money(payment)} a month, {money(balance)} would be paid off in about {_months_phrase(months)}"
    if interest >= 0.005:
        return (f"{first}, with about {money(interest)} in interest along the way.",)
    return (f"{first}.",)


def _emergency_fund(fields: dict[str, float]) -> tuple[str, ...]:
    expenses, saved = fields["expenses"], fields["saved"]
    goal_months, monthly = fields["goal_months"], fields["monthly"]
    if expenses <= 0.005 or goal_months <= 0:
        return ("Enter your monthly expenses and a goal in months to see your target.",)
    target = expenses * goal_months
    goal = render_value(goal_months, "months")
    first = f"A safety net of {goal} of expenses is about {money(target)}."
    if saved >= target:
        return (first, "Your savings already reach it.")
    if monthly <= 0.005:
        return (first, "Enter an amount to set aside each month to see how long it would take.")
    months = math.ceil((target - saved) / monthly)
    start = f"With {money(saved)} saved" if saved >= 0.005 else "Starting from nothing saved"
    return (
        first,
        f"{start}, {money(monthly)} a month would get you there in about {_months_phrase(months)}.",
    )


def _savings_rate(fields: dict[str, float]) -> tuple[str, ...]:
    income, saving = fields["income"], fields["saving"]
    if income <= 0.005:
        return ("Enter your monthly income to see your savings rate.",)
    if saving <= 0.005:
        return ("Enter an amount you save each month to see your savings rate.",)
    rate = saving / income
    if render_value(rate, "pct") == "0%":
        return (f"Saving {money(saving)} of {money(income)} a month is under 1% of your income.",)
    return (f"Saving {money(saving)} of {money(income)} a month is a savings rate of {pct(rate)}.",)


_TITLES = {
    "card_payoff": "Card payoff calculator",
    "emergency_fund": "Emergency fund calculator",
    "savings_rate": "Savings rate calculator",
}
_COMPUTE = {
    "card_payoff": _card_payoff,
    "emergency_fund": _emergency_fund,
    "savings_rate": _savings_rate,
}


def _defaults(kind: str, values: Mapping[str, Any]) -> tuple[Field, ...]:
    if kind == "card_payoff":
        balance = max(_num(values, "card.balance") or 0.0, 0.0)
        interest = _num(values, "card.interest_charges_monthly")
        minimum = _num(values, "card.minimum_payment")
        if interest is not None and interest > 0 and balance > 0:
            rate = round(min(interest * 12 / balance * 100, 60.0), 1)
            hint = "Estimated from your recent interest charges."
        else:
            rate, hint = TYPICAL_CARD_RATE, "A typical card rate: change it to your card's."
        payment = (
            round(minimum * 1.5, 2)
            if minimum and minimum > 0
            else round(max(balance * 0.03, 25.0), 2)
        )
        return (
            Field("balance", "Balance you owe", round(balance, 2), "$"),
            Field("rate", "Yearly interest rate", rate, "%", hint),
            Field("payment", "Monthly payment", payment, "$", "Try a few amounts side by side."),
        )
    if kind == "emergency_fund":
        expenses = max(_num(values, "savings.avg_monthly_expenses") or 0.0, 0.0)
        saved = max(_num(values, "savings.savings_balance") or 0.0, 0.0)
        inflow = _num(values, "savings.net_inflow_monthly")
        monthly = (
            round(inflow, 2) if inflow and inflow > 0 else round(max(expenses * 0.05, 25.0), 2)
        )
        return (
            Field("expenses", "Monthly expenses", round(expenses, 2), "$"),
            Field("saved", "Saved so far", round(saved, 2), "$"),
            Field("goal_months", "Goal", SAFETY_NET_MONTHS, "months"),
            Field("monthly", "Set aside each month", monthly, "$"),
        )
    income = max(_num(values, "income.avg_monthly_income") or 0.0, 0.0)
    inflow = _num(values, "savings.net_inflow_monthly")
    saving = round(inflow, 2) if inflow and inflow > 0 else round(income * 0.1, 2)
    example = None if inflow and inflow > 0 else "An example: 10% of your income."
    return (
        Field("income", "Monthly income", round(income, 2), "$"),
        Field("saving", "Saved each month", saving, "$", example),
    )


def calculator(kind: str, values: Mapping[str, Any]) -> Calculator:
    """The calculator prefilled from the customer's values (one window's), with its result."""
    fields = _defaults(kind, values)
    return Calculator(
        kind, _TITLES[kind], fields, _COMPUTE[kind]({f.name: f.value for f in fields})
    )


_NUMBER = re.compile(r"^\s*\$?\s*([0-9][0-9,]*(?:\.[0-9]*)?|\.[0-9]+)\s*%?\s*$")


def parse_amount(text: str) -> float | None:
    """A typed amount (``1,250.00``, ``$250``, ``24%``) as a number, None when it is not one."""
    match = _NUMBER.match(text or "")
    if not match:
        return None
    number = float(match.group(1).replace(",", ""))
    return number if number <= LIMIT else None


def recalculate(base: Calculator, typed: Mapping[str, str]) -> Calculator:
    """``base`` with the customer's typed values; an unreadable value keeps the old one and
    says so (no result is computed from a guess)."""
    fields: list[Field] = []
    bad: list[str] = []
    for f in base.fields:
        raw = typed.get(f.name)
        number = f.value if raw is None else parse_amount(raw)
        if number is None:
            bad.append(f.label.lower())
            fields.append(f)
        else:
            fields.append(replace(f, value=number))
    if bad:
        return replace(
            base,
            fields=tuple(fields),
            result=(),
            error=f"Enter {' and '.join(bad)} as a number, for example 250 or 1,250.00.",
        )
    values = {f.name: f.value for f in fields}
    return replace(base, fields=tuple(fields), result=_COMPUTE[base.kind](values), error=None)
