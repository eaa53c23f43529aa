from __future__ import annotations

import math

import pytest

from spendsense.ledger.money import MoneyError, format_dollars, to_cents


@pytest.mark.parametrize(
    ("value", "cents"),
    [
        (935.0000000000001, 93500),
        (0.1, 10),
        (0.29, 29),
        ("12.34", 1234),
        (" -7500 ", -750000),
        (5, 500),
        (1e-9, 0),
        (0.005, 0),  # banker's rounding: half to even
        (0.015, 2),
    ],
)
def test_to_cents_is_exact(value: object, cents: int) -> None:
    assert to_cents(value) == cents


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, -math.inf, "abc", None, True, "1e400", 1e16, "NaN"]
)
def test_to_cents_rejects_non_amounts(value: object) -> None:
    with pytest.raises(MoneyError):
        to_cents(value)


def test_format_dollars() -> None:
    assert format_dollars(340000) == "$3,400"
    assert format_dollars(8712) == "$87.12"
    assert format_dollars(-5) == "-$0.05"


def test_cents_to_dollars_is_exact_for_one_row_and_many() -> None:
    import polars as pl

    from spendsense.ledger.money import cents_to_dollars

    one = pl.DataFrame({"c": [-182961]}).select(cents_to_dollars(pl.col("c")))["c"].to_list()
    many = (
        pl.DataFrame({"c": [-182961, 5, 10]}).select(cents_to_dollars(pl.col("c")))["c"].to_list()
    )
    assert one == [-1829.61]
    assert many == [-1829.61, 0.05, 0.1]
