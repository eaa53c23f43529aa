from __future__ import annotations

import math

import polars as pl
import pytest

from spendsense.ingest.parse import money
from spendsense.ingest.records import text


def _cents(value: object) -> tuple[int | None, str | None]:
    """An amount as a reader stages it (JSON value -> text), through the ingest money parser."""
    frame = pl.DataFrame({"v": [text(value)]}, schema={"v": pl.String})
    cents, reason = money(pl.col("v"), "amount")
    row = frame.select(cents.alias("c"), reason.alias("r")).row(0)
    return row[0], row[1]


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
def test_amounts_become_exact_cents(value: object, cents: int) -> None:
    assert _cents(value) == (cents, None)


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, -math.inf, "abc", True, "1e400", 1e16, "NaN"]
)
def test_non_amounts_are_refused_with_a_reason(value: object) -> None:
    got, reason = _cents(value)
    assert got is None and reason


def test_cents_to_dollars_is_exact_for_one_row_and_many() -> None:
    import polars as pl

    from spendsense.ledger.money import cents_to_dollars

    one = pl.DataFrame({"c": [-182961]}).select(cents_to_dollars(pl.col("c")))["c"].to_list()
    many = (
        pl.DataFrame({"c": [-182961, 5, 10]}).select(cents_to_dollars(pl.col("c")))["c"].to_list()
    )
    assert one == [-1829.61]
    assert many == [-1829.61, 0.05, 0.1]
