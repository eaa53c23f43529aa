"""The five persona rules as whole-table expressions; every threshold comes from configuration."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from spendsense.personas.config import (
    Persona1Thresholds,
    Persona2Thresholds,
    Persona3Thresholds,
    Persona4Thresholds,
    Persona5Thresholds,
    PersonaThresholds,
)
from spendsense.personas.reasoning import (
    LOW_BALANCE,
    fmt_money,
    fmt_number,
    fmt_pct,
    lit_money,
    lit_number,
    lit_pct,
)


@dataclass(frozen=True)
class Criterion:
    """One test of one persona: the value, its threshold and operator, and a prose fragment."""

    name: str
    value: pl.Expr
    threshold: float | bool
    op: str
    met: pl.Expr  # null-safe: a null value never meets a test unless the seed says so
    phrase: pl.Expr
    extra: dict[str, pl.Expr] = field(default_factory=dict)


@dataclass(frozen=True)
class PersonaRule:
    """A persona's criteria, how they combine, its severity, and severity at the threshold."""

    persona_id: int
    rule: str
    criteria: tuple[Criterion, ...]
    severity: pl.Expr
    severity_at_threshold: float

    def met_col(self, criterion: str) -> str:
        """Column holding whether ``criterion`` was met."""
        return f"p{self.persona_id}__{criterion}__met"

    @property
    def matched_col(self) -> str:
        return f"p{self.persona_id}__matched"

    @property
    def severity_col(self) -> str:
        return f"p{self.persona_id}__severity"

    def matched(self) -> pl.Expr:
        """The combination of the criteria (read from their met columns)."""
        met = {c.name: pl.col(self.met_col(c.name)) for c in self.criteria}
        return _COMBINE[self.persona_id](met)

    def criterion(self, name: str) -> Criterion:
        """The criterion called ``name`` (recommendation triggers reuse its test)."""
        return next(c for c in self.criteria if c.name == name)


Column = Callable[[str], pl.Expr]
"""Feature name -> the expression reading it: ``pl.col`` over the persona stage's wide frame;
the recommendation view passes its namespaced columns (``credit.max_utilization``)."""


def _ge(value: pl.Expr, threshold: float) -> pl.Expr:
    return (value >= threshold).fill_null(False)


def _flag(value: pl.Expr) -> pl.Expr:
    return value.fill_null(False)


def persona_1(t: Persona1Thresholds, col: Column = pl.col) -> PersonaRule:
    """High Utilization: any card ≥ threshold OR interest OR minimum-payment-only OR overdue."""
    thr = t.utilization_threshold
    util = col("max_utilization")
    return PersonaRule(
        persona_id=1,
        rule="max_utilization OR interest_charges OR minimum_payment_only OR is_overdue",
        criteria=(
            Criterion(
                "max_utilization",
                util,
                thr,
                ">=",
                _ge(col("max_utilization"), thr),
                "max_utilization (" + fmt_pct(util) + f" vs {lit_pct(thr)} threshold)",
            ),
            Criterion(
                "interest_charges",
                col("interest_charges_present"),
                True,
                "==",
                _flag(col("interest_charges_present")),
                pl.lit("interest charges"),
            ),
            Criterion(
                "minimum_payment_only",
                col("minimum_payment_only"),
                True,
                "==",
                _flag(col("minimum_payment_only")),
                pl.lit("minimum-payment-only"),
            ),
            Criterion(
                "is_overdue",
                col("is_overdue"),
                True,
                "==",
                _flag(col("is_overdue")),
                pl.lit("an overdue card"),
            ),
        ),
        severity=util.fill_null(0.0),
        severity_at_threshold=thr,
    )


def persona_2(t: Persona2Thresholds, col: Column = pl.col) -> PersonaRule:
    """Variable Income Budgeter: median pay gap > threshold AND buffer < threshold."""
    gap_thr, buf_thr = t.pay_gap_days_threshold, t.buffer_months_threshold
    gap, buf = col("median_pay_gap_days"), col("cash_flow_buffer_months")
    return PersonaRule(
        persona_id=2,
        rule="median_pay_gap_days AND cash_flow_buffer_months",
        criteria=(
            Criterion(
                "median_pay_gap_days",
                gap,
                gap_thr,
                ">",
                (gap > gap_thr).fill_null(False),
                "a median pay gap of "
                + fmt_number(gap, 1)
                + f" days (vs {lit_number(gap_thr)} threshold)",
            ),
            Criterion(
                "cash_flow_buffer_months",
                buf,
                buf_thr,
                "<",
                (buf < buf_thr).fill_null(False),
                "a cash-flow buffer of "
                + fmt_number(buf, 2)
                + f" months (vs {lit_number(buf_thr)} threshold)",
            ),
        ),
        # The seed's gap / 45, normalised to the configured gap threshold (45 by default).
        severity=gap.fill_null(0.0) / (gap_thr if gap_thr > 0 else 1.0),
        severity_at_threshold=1.0,
    )


def persona_3(t: Persona3Thresholds, col: Column = pl.col) -> PersonaRule:
    """Subscription-Heavy: merchants ≥ threshold AND (monthly spend ≥ threshold OR share ≥ threshold)."""
    n_thr = t.recurring_merchant_count_threshold
    spend_thr, share_thr = t.monthly_spend_threshold, t.subscription_share_threshold
    n, spend = col("recurring_merchant_count"), col("monthly_recurring_spend")
    share = col("subscription_share")
    return PersonaRule(
        persona_id=3,
        rule="recurring_merchant_count AND (monthly_recurring_spend OR subscription_share)",
        criteria=(
            Criterion(
                "recurring_merchant_count",
                n,
                n_thr,
                ">=",
                _ge(col("recurring_merchant_count"), n_thr),
                n.cast(pl.String) + f" recurring merchants (vs {n_thr} threshold)",
            ),
            Criterion(
                "monthly_recurring_spend",
                spend,
                spend_thr,
                ">=",
                _ge(col("monthly_recurring_spend"), spend_thr),
                fmt_money(spend)
                + f" monthly recurring spend (vs {lit_money(spend_thr)} threshold)",
            ),
            Criterion(
                "subscription_share",
                share,
                share_thr,
                ">=",
                _ge(col("subscription_share"), share_thr),
                fmt_pct(share) + f" subscription share (vs {lit_pct(share_thr)} threshold)",
            ),
        ),
        severity=share.fill_null(0.0),
        severity_at_threshold=share_thr,
    )


def persona_4(t: Persona4Thresholds, col: Column = pl.col) -> PersonaRule:
    """Savings Builder: (growth ≥ threshold OR inflow/month ≥ threshold) AND every card < threshold."""
    g_thr, in_thr = t.growth_rate_threshold, t.net_inflow_monthly_threshold
    u_thr = t.max_utilization_threshold
    growth, inflow = col("growth_rate"), col("net_inflow_monthly")
    util = col("max_utilization")
    # Savings account history, or the checking side's savings transfers when it has none.
    source = {"source": col("savings_inflow_source")}
    return PersonaRule(
        persona_id=4,
        rule="(growth_rate OR net_inflow_monthly) AND max_utilization",
        criteria=(
            Criterion(
                "growth_rate",
                growth,
                g_thr,
                ">=",
                _ge(col("growth_rate"), g_thr),
                "savings growth of " + fmt_pct(growth) + f" (vs {lit_pct(g_thr)} threshold)",
                extra=source,
            ),
            Criterion(
                "net_inflow_monthly",
                inflow,
                in_thr,
                ">=",
                _ge(col("net_inflow_monthly"), in_thr),
                "net savings inflow of "
                + fmt_money(inflow)
                + f"/month (vs {lit_money(in_thr)} threshold)",
                extra=source,
            ),
            Criterion(
                "max_utilization",
                util,
                u_thr,
                "<",
                util.is_null() | (util < u_thr).fill_null(False),
                pl.when(util.is_null())
                .then(pl.lit("no credit cards"))
                .otherwise(
                    "every card under " + pl.lit(lit_pct(u_thr)) + " (max " + fmt_pct(util) + ")"
                ),
                extra={"no_cards": util.is_null()},
            ),
        ),
        severity=growth.fill_null(0.0),
        severity_at_threshold=g_thr,
    )


def persona_5(t: Persona5Thresholds, col: Column = pl.col) -> PersonaRule:
    """Cash Flow Stressed: days below the low-balance level ($100) ≥ threshold AND balance_std > threshold × mean."""
    pct_thr, vol_thr = t.pct_days_below_100_threshold, t.balance_volatility_threshold
    pct, std = col("pct_days_below_100"), col("balance_std")
    avg = col("avg_daily_balance")
    return PersonaRule(
        persona_id=5,
        rule="pct_days_below_100 AND balance_volatility",
        criteria=(
            Criterion(
                "pct_days_below_100",
                pct,
                pct_thr,
                ">=",
                _ge(col("pct_days_below_100"), pct_thr),
                fmt_pct(pct) + f" of days below {LOW_BALANCE} (vs {lit_pct(pct_thr)} threshold)",
            ),
            Criterion(
                "balance_volatility",
                col("balance_volatility"),
                vol_thr,
                ">",
                # std_dev > threshold x mean: also holds when the mean balance is <= 0.
                (std > avg * vol_thr).fill_null(False),
                "balance volatility (std "
                + fmt_money(std)
                + f" vs {lit_number(vol_thr)} × average "
                + fmt_money(avg)
                + ")",
                extra={"balance_std": std, "avg_daily_balance": avg},
            ),
        ),
        severity=pct.fill_null(0.0),
        severity_at_threshold=pct_thr,
    )


_COMBINE = {
    1: lambda m: (
        m["max_utilization"] | m["interest_charges"] | m["minimum_payment_only"] | m["is_overdue"]
    ),
    2: lambda m: m["median_pay_gap_days"] & m["cash_flow_buffer_months"],
    3: lambda m: (
        m["recurring_merchant_count"] & (m["monthly_recurring_spend"] | m["subscription_share"])
    ),
    4: lambda m: (m["growth_rate"] | m["net_inflow_monthly"]) & m["max_utilization"],
    5: lambda m: m["pct_days_below_100"] & m["balance_volatility"],
}


def persona_rules(thresholds: PersonaThresholds, col: Column = pl.col) -> list[PersonaRule]:
    """The five rules, in persona-id order (``col`` resolves a feature name to its column)."""
    return [
        persona_1(thresholds.persona_1, col),
        persona_2(thresholds.persona_2, col),
        persona_3(thresholds.persona_3, col),
        persona_4(thresholds.persona_4, col),
        persona_5(thresholds.persona_5, col),
    ]


def evaluate(wide: pl.LazyFrame, rules: list[PersonaRule]) -> pl.LazyFrame:
    """Add, for every rule, one met column per criterion, a matched column and a severity column."""
    met = [c.met.alias(r.met_col(c.name)) for r in rules for c in r.criteria]
    return wide.with_columns(met).with_columns(
        [
            e
            for r in rules
            for e in (
                r.matched().alias(r.matched_col),
                r.severity.fill_nan(0.0).alias(r.severity_col),
            )
        ]
    )
