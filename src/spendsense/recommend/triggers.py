"""User signals that select content: which are present for a user, and how strongly (0-1).

These are recommendation triggers derived from the feature view, not new
features: each is a pair of expressions (present?, strength) over namespaced
columns, evaluated for every user at once.

A trigger that asks the same question as a persona criterion *is* that
criterion: its test comes from :func:`spendsense.personas.evaluators.persona_rules`
over the view's columns, so one threshold in ``personas.thresholds`` moves the
persona, the trigger and the wording together. Only the emergency-fund level
has no persona behind it; it lives in ``recommend.thresholds``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import polars as pl

from spendsense.personas.config import PersonaThresholds
from spendsense.personas.evaluators import PersonaRule, persona_rules
from spendsense.personas.inputs import NEEDED
from spendsense.personas.reasoning import lit_money, lit_number, lit_pct
from spendsense.recommend.config import SignalThresholds
from spendsense.signals.config import LOW_BALANCE_CENTS

_FAMILY_OF: Final[dict[str, str]] = {col: fam for fam, cols in NEEDED.items() for col in cols}


def view_column(name: str) -> pl.Expr:
    """A persona feature read from the recommendation view: ``max_utilization`` -> ``credit.max_utilization``."""
    return pl.col(f"{_FAMILY_OF[name]}.{name}")


@dataclass(frozen=True)
class Trigger:
    """One signal: what it means in words, whether it is present, and how strongly (0-1)."""

    description: str
    present: pl.Expr
    strength: pl.Expr


def _c(name: str) -> pl.Expr:
    return pl.col(name)


def _clip(e: pl.Expr) -> pl.Expr:
    return e.cast(pl.Float64).clip(0.0, 1.0)


def utilization_guide(personas: PersonaThresholds) -> float:
    """The utilization level content calls the common guide (30%): persona 4's card ceiling."""
    return personas.persona_4.max_utilization_threshold


def threshold_values(personas: PersonaThresholds) -> dict[str, float]:
    """The value of every ``threshold.*`` field of the view (what rationales may quote)."""
    return {
        "threshold.utilization_guide": utilization_guide(personas),
        "threshold.utilization_high": personas.persona_1.utilization_threshold,
        "threshold.low_balance": LOW_BALANCE_CENTS / 100,
    }


def triggers(personas: PersonaThresholds, own: SignalThresholds) -> dict[str, Trigger]:
    """Every signal id -> its trigger, built from the persona rules and ``own`` thresholds."""
    rules: dict[int, PersonaRule] = {r.persona_id: r for r in persona_rules(personas, view_column)}

    def met(persona: int, criterion: str) -> pl.Expr:
        return rules[persona].criterion(criterion).met

    p1, p2, p3 = personas.persona_1, personas.persona_2, personas.persona_3
    p4, p5 = personas.persona_4, personas.persona_5
    util = _c("credit.max_utilization")
    gap, buffer = _c("income.median_pay_gap_days"), _c("income.cash_flow_buffer_months")
    gap_thr, buf_thr = p2.pay_gap_days_threshold, p2.buffer_months_threshold
    fund = _c("savings.emergency_fund_months")
    out = {
        # Persona 4's "every card under" test failing: a card at the guide level or above.
        "utilization_watch": Trigger(
            f"a card at {lit_pct(utilization_guide(personas))} utilization or more",
            ~met(4, "max_utilization"),
            _clip(util),
        ),
        "high_utilization": Trigger(
            f"a card at {lit_pct(p1.utilization_threshold)} utilization or more",
            met(1, "max_utilization"),
            _clip(util),
        ),
        "interest_charges": Trigger(
            "interest charged on cards",
            met(1, "interest_charges"),
            _clip(0.5 + _c("credit.interest_charges_monthly").fill_null(0) / 200),
        ),
        "minimum_payment_only": Trigger(
            "only the minimum paid on a card", met(1, "minimum_payment_only"), pl.lit(0.8)
        ),
        "overdue": Trigger("a card payment past due", met(1, "is_overdue"), pl.lit(1.0)),
        "irregular_income": Trigger(
            f"pay arrives irregularly or more than {lit_number(gap_thr)} days apart",
            met(2, "median_pay_gap_days") | (_c("income.pay_frequency") == "irregular"),
            _clip(gap.fill_null(gap_thr) / (2 * gap_thr)),
        ),
        "gig_income": Trigger("income from gig work", _c("income.has_gig_income"), pl.lit(0.5)),
        "low_buffer": Trigger(
            f"checking covers less than {lit_number(buf_thr)} months of expenses",
            met(2, "cash_flow_buffer_months"),
            _clip(1 - buffer / buf_thr),
        ),
        "subscriptions": Trigger(
            f"{p3.recurring_merchant_count_threshold} or more recurring subscriptions",
            met(3, "recurring_merchant_count"),
            _clip(_c("subscriptions.recurring_merchant_count") / 10),
        ),
        "subscription_spend": Trigger(
            f"subscriptions of {lit_money(p3.monthly_spend_threshold)} a month or"
            f" {lit_pct(p3.subscription_share_threshold)} of spending",
            met(3, "monthly_recurring_spend") | met(3, "subscription_share"),
            _clip(_c("subscriptions.subscription_share") * 3),
        ),
        "savings_growth": Trigger(
            f"savings growing {lit_pct(p4.growth_rate_threshold)} or"
            f" {lit_money(p4.net_inflow_monthly_threshold)} a month",
            met(4, "growth_rate") | met(4, "net_inflow_monthly"),
            _clip(0.3 + _c("savings.growth_rate").fill_null(0) * 5),
        ),
        "no_savings_account": Trigger(
            "no savings account yet",
            ~_c("savings.has_savings_account").fill_null(False),
            pl.lit(0.6),
        ),
        "low_emergency_fund": Trigger(
            f"savings cover less than {lit_number(own.emergency_fund_months)} months of expenses",
            fund < own.emergency_fund_months,
            _clip(1 - fund / own.emergency_fund_months),
        ),
        "low_balance_days": Trigger(
            f"checking under the low-balance level on {lit_pct(p5.pct_days_below_100_threshold)}"
            " of days or more",
            met(5, "pct_days_below_100"),
            _clip(_c("cash_flow.pct_days_below_100")),
        ),
        "volatile_balance": Trigger(
            f"checking balance swings by more than {lit_number(p5.balance_volatility_threshold)}"
            " times its average",
            met(5, "balance_volatility"),
            _clip(_c("cash_flow.balance_volatility").fill_null(3.0) / 3),
        ),
        "general": Trigger("always present: general financial wellness", pl.lit(True), pl.lit(0.0)),
    }
    return out


SIGNAL_IDS: Final[tuple[str, ...]] = tuple(triggers(PersonaThresholds(), SignalThresholds()))
"""Every signal id a catalog item may answer (the ids do not depend on the thresholds)."""


def signal_strength_columns(personas: PersonaThresholds, own: SignalThresholds) -> list[pl.Expr]:
    """One ``sig:<name>`` column per signal: its strength when present, null when absent."""
    return [
        pl.when(t.present.fill_null(False))
        .then(t.strength.fill_null(0.0).cast(pl.Float64))
        .alias(f"sig:{name}")
        for name, t in triggers(personas, own).items()
    ]
