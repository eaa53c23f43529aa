"""How the console shows signals and traces: a label and a unit for every feature column.

Operators see shares to a tenth of a percent (customers' pages round to whole percents, see
``spendsense.text``); money has the one format of ``spendsense.text.money``.

One table (:data:`COLUMNS`) names each column of the five signal families and how to read it
(money, a share as a percentage, months, days, a count, yes/no); a test fails when a feature
column has no entry. Persona thresholds are not copied here: they are read from the stored
assignment trace, which quotes the threshold each rule used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from spendsense.personas.reasoning import LOW_BALANCE

Unit = Literal["money", "money_month", "pct", "months", "days", "count", "yesno", "ratio", "text"]

FAMILY_TITLES = {
    "subscriptions": "Subscriptions",
    "savings": "Savings",
    "credit": "Credit cards",
    "income": "Income",
    "cash_flow": "Checking cash flow",
}

# column -> (label, unit); per family, in the order a person reads them
COLUMNS: dict[str, dict[str, tuple[str, Unit]]] = {
    "subscriptions": {
        "recurring_merchant_count": ("Subscriptions counted (see Recurring streams)", "count"),
        "monthly_recurring_spend": ("Subscription cost", "money_month"),
        "subscription_spend": ("Charged by subscriptions in the window", "money"),
        "total_spend": ("All spending in the window", "money"),
        "subscription_share": ("Subscriptions' share of spending", "pct"),
    },
    "savings": {
        "has_savings_account": ("Has a savings account", "yesno"),
        "savings_balance": ("Savings balance", "money"),
        "savings_balance_start": ("Savings balance at the window's start", "money"),
        "net_inflow": ("Net saved in the window", "money"),
        "net_inflow_monthly": ("Net saved per month", "money_month"),
        "growth_rate": ("Savings growth", "pct"),
        "avg_monthly_expenses": ("Usual monthly expenses", "money_month"),
        "emergency_fund_months": ("Emergency fund", "months"),
    },
    "credit": {
        "card_count": ("Credit cards", "count"),
        "max_utilization": ("Highest card utilization", "pct"),
        "total_card_balance": ("Card balances", "money"),
        "total_card_limit": ("Card limits", "money"),
        "utilization_flag_30": ("A card at 30% or more", "yesno"),
        "utilization_flag_50": ("A card at 50% or more", "yesno"),
        "utilization_flag_80": ("A card at 80% or more", "yesno"),
        "minimum_payment_only": ("Pays only the minimum", "yesno"),
        "interest_charges_present": ("Charged interest", "yesno"),
        "interest_charges_monthly": ("Interest charged", "money_month"),
        "is_overdue": ("A payment is overdue", "yesno"),
    },
    "income": {
        "income_total": ("Income in the window", "money"),
        "avg_monthly_income": ("Monthly income", "money_month"),
        "payroll_deposit_count": ("Pay deposits", "count"),
        "pay_frequency": ("Pay frequency", "text"),
        "median_pay_gap_days": ("Typical gap between pay days", "days"),
        "pay_gap_cv": ("Pay-gap variability (std / mean)", "ratio"),
        "has_gig_income": ("Gig income", "yesno"),
        "cash_flow_buffer_months": ("Checking buffer", "months"),
    },
    "cash_flow": {
        "days_observed": ("Days observed", "days"),
        "avg_daily_balance": ("Average daily balance", "money"),
        "min_daily_balance": ("Lowest daily balance", "money"),
        "pct_days_below_100": (f"Days below {LOW_BALANCE}", "pct"),
        "balance_std": ("Balance spread (std)", "money"),
        "balance_volatility": ("Balance volatility (std / mean)", "ratio"),
    },
}
UNITS: dict[str, Unit] = {c: u for fam in COLUMNS.values() for c, (_, u) in fam.items()}
LABELS: dict[str, str] = {c: lbl for fam in COLUMNS.values() for c, (lbl, _) in fam.items()}
# persona criteria named differently from the column they read
CRITERION_COLUMN = {"interest_charges": "interest_charges_present"}
OPS = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "="}
FAMILY_MISSING = {
    "subscriptions": "no spending or subscription data",
    "savings": "no savings-account data",
    "credit": "no credit-card data",
    "income": "no income deposits",
    "cash_flow": "no checking-account activity",
}
COMPARISONS = {
    "threshold_ratio": "Ties in priority are broken by severity measured against each persona's"
    " threshold (how far past its line the user is).",
    "raw": "Ties in priority are broken by the personas' raw severities.",
}


def _number(value: float, digits: int) -> str:
    text = f"{value:,.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def fmt(value: Any, unit: Unit | None) -> str:
    """A value in its unit: $1,234.56, 12%, 1.5 months, 53 days, yes/no (em dash if unknown)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if unit == "yesno" or isinstance(value, bool):
        return "yes" if bool(value) else "no"
    if isinstance(value, str) or unit == "text":
        return str(value).replace("_", " ")
    number = float(value)
    if unit in ("money", "money_month"):  # the one money format ($1,234.56), from text.py
        from spendsense.text import money

        return f"{money(number)}{' a month' if unit == 'money_month' else ''}"
    if unit == "pct":
        return f"{_number(number * 100, 1)}%"
    if unit in ("months", "days"):
        shown = _number(number, 1)
        return f"{shown} {unit[:-1] if shown == '1' else unit}"
    if unit == "count":
        return f"{int(number):,}"
    return _number(number, 2)


def fmt_signal(name: str, value: Any) -> str:
    """A value by its column name (``family.column`` or ``column``), else a rounded number."""
    column = name.rsplit(".", 1)[-1]
    column = CRITERION_COLUMN.get(column, column)
    unit = UNITS.get(column)
    if unit is None and isinstance(value, float):
        return _number(value, 4)
    return fmt(value, unit)


def label_of(name: str) -> str:
    column = name.rsplit(".", 1)[-1]
    return LABELS.get(CRITERION_COLUMN.get(column, column), column.replace("_", " "))


def when(text: Any) -> str:
    """An ISO timestamp to the second, in UTC: 2026-12-03 13:57:51 UTC."""
    if not text:
        return "—"
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return str(text)
    offset = moment.utcoffset()
    zone = "" if offset is None else (" UTC" if not offset else moment.strftime(" UTC%z"))
    return moment.strftime("%Y-%m-%d %H:%M:%S") + zone


@dataclass
class Threshold:
    """Where a persona draws its line on a signal, quoted from the assignment trace."""

    persona: str
    op: str
    threshold: Any
    met: dict[int, bool] = field(default_factory=dict)  # per window

    def text(self, column: str) -> str:
        return f"{OPS.get(self.op, self.op)} {fmt(self.threshold, UNITS.get(column))}"


@dataclass
class SignalRow:
    column: str
    label: str
    values: dict[int, str]
    thresholds: list[Threshold]

    def meets(self, window_days: int) -> bool:
        """A persona's threshold on this signal is met in the window."""
        return any(t.met.get(window_days) for t in self.thresholds)


@dataclass
class SignalGroup:
    family: str
    title: str
    rows: list[SignalRow]


def thresholds_by_column(windows: list[Any]) -> dict[str, list[Threshold]]:
    """Every persona criterion in the windows' traces, keyed by the column it reads."""
    found: dict[tuple[str, str], Threshold] = {}
    for w in windows:
        trace = (w.persona.assignment_trace if w.persona else None) or {}
        for ev in (trace.get("evaluations") or {}).values():
            for name, c in (ev.get("criteria") or {}).items():
                if c.get("threshold") is None or c.get("op") not in OPS:
                    continue
                column = CRITERION_COLUMN.get(name, name)
                if UNITS.get(column) == "yesno":
                    continue  # "is overdue = yes" adds nothing beside a yes/no value
                key = (column, str(ev.get("persona_name")))
                t = found.setdefault(
                    key, Threshold(str(ev.get("persona_name")), c["op"], c["threshold"])
                )
                t.met[int(w.window_days)] = bool(c.get("met"))
    out: dict[str, list[Threshold]] = {}
    for (column, _), t in found.items():
        out.setdefault(column, []).append(t)
    return out


def signal_groups(windows: list[Any]) -> list[SignalGroup]:
    """The profile's signals grouped by family, each value in its unit, thresholds beside."""
    limits = thresholds_by_column(windows)
    groups = []
    for family, columns in COLUMNS.items():
        present = [w for w in windows if w.signals.get(family)]
        if not present:
            continue
        seen = {c for w in present for c in w.signals[family]}
        names = [c for c in columns if c in seen] + sorted(seen - set(columns))
        rows = [
            SignalRow(
                column=c,
                label=label_of(c),
                values={
                    int(w.window_days): fmt_signal(c, (w.signals.get(family) or {}).get(c))
                    for w in windows
                },
                thresholds=limits.get(c, []),
            )
            for c in names
        ]
        groups.append(SignalGroup(family, FAMILY_TITLES.get(family, family), rows))
    return groups


def missing_data(trace: dict[str, Any] | None) -> list[str]:
    """What the persona rules had to do without, in words (from the trace's missing_features)."""
    missing = (trace or {}).get("missing_features") or []
    return [FAMILY_MISSING.get(f, f"no {str(f).replace('_', ' ')} data") for f in missing]


def comparison_note(mode: Any) -> str:
    return COMPARISONS.get(str(mode), "") if mode else ""


STREAM_STATUS = {
    "MATURE": "confirmed",
    "EARLY_DETECTION": "too few charges yet",
    "TOMBSTONED": "stopped",
}


@dataclass
class StreamWindow:
    """One window's recurring streams, marked with whether each counts as a subscription."""

    window_days: int
    rows: list[dict[str, Any]]
    counted: int


def streams_by_window(streams: list[dict[str, Any]]) -> list[StreamWindow]:
    """Recurring streams per window, each marked by the signal's own rule for what it counts.

    "Subscriptions counted" is a confirmed subscription charged inside the window, so a
    30-day count is often below the number of streams listed: the mark shows which.
    """
    if not streams:
        return []
    import polars as pl

    from spendsense.signals.subscriptions import counted_subscription

    frame = pl.DataFrame(streams, infer_schema_length=None).with_columns(
        pl.col("last_date", "as_of_date").cast(pl.String).str.to_date(strict=False),
        pl.col("is_subscription").cast(pl.Boolean),
        pl.col("window_days").cast(pl.Int64),
    )
    marked = frame.with_columns(counted=counted_subscription().fill_null(False))
    out = []
    for (window,), part in marked.sort("window_days").group_by("window_days", maintain_order=True):
        rows = part.with_columns(pl.col("last_date").cast(pl.String)).to_dicts()
        for r in rows:
            r["status_text"] = STREAM_STATUS.get(str(r.get("status")), str(r.get("status") or ""))
        out.append(StreamWindow(int(window), rows, int(part["counted"].sum())))
    return out
