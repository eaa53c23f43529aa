"""Window boundaries: a window of N days ending at as-of is (as_of - N, as_of], in every family."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest
from signal_builders import AS_OF, LedgerBuilder, day

from spendsense.signals import SignalsConfig, compute_features
from spendsense.signals.windows import in_window, window_start


@pytest.mark.parametrize(
    ("days_before", "inside"),
    [(-1, False), (0, True), (1, True), (29, True), (30, False), (31, False)],
)
def test_in_window_is_half_open_at_the_start(days_before: int, inside: bool) -> None:
    frame = pl.DataFrame({"date": [AS_OF - timedelta(days=days_before)]})
    assert frame.select(in_window(AS_OF, 30)).item() is inside
    assert window_start(AS_OF, 30) == AS_OF - timedelta(days=30)


def _income(lb: LedgerBuilder, window: int) -> float:
    out = compute_features(lb.build(), AS_OF, SignalsConfig())["income"]
    return float(
        out.filter((pl.col("user_id") == "u1") & (pl.col("window_days") == window))[
            "income_total"
        ].item()
    )


def test_a_deposit_on_the_last_day_outside_the_window_counts_only_in_the_longer_one(
    lb: LedgerBuilder,
) -> None:
    pay = {"merchant": "Acme Payroll", "primary": "INCOME", "detailed": "INCOME_SALARY"}
    lb.tx(day(29), -250000, **pay)  # first day inside the 30-day window
    lb.tx(day(30), -100000, **pay)  # as_of - 30: the last day outside it
    lb.tx(AS_OF + timedelta(days=1), -70000, **pay)  # after as-of: in no window
    assert _income(lb, 30) == 2500.0
    assert _income(lb, 180) == 3500.0
