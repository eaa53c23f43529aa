"""The one formatter and the sentence contract (spendsense.text)."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spendsense import text
from spendsense.recommend.rationale import render_template, template_regex

NUMERIC = [name for name, f in text.FORMATS.items() if f.scale is not None]
values = st.one_of(
    st.none(),
    st.floats(min_value=-1e9, max_value=1e9, allow_nan=False),
    st.sampled_from([0.0, 0.004, 0.005, -0.005, 0.995, 1.0, 1.05, 9.95, 10.0, 1234.565]),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(values, min_size=1, max_size=20))
def test_python_and_polars_print_the_same(numbers: list[float | None]) -> None:
    frame = pl.DataFrame({"v": numbers}, schema={"v": pl.Float64})
    for fmt in NUMERIC:
        polars_text = frame.select(text.format_expr("v", fmt)).to_series().to_list()
        assert polars_text == [text.render_value(v, fmt) for v in numbers], fmt
        showable = frame.select(text.showable_expr("v", fmt)).to_series().to_list()
        assert showable == [text.showable(v, fmt) for v in numbers], fmt


@settings(max_examples=60, deadline=None)
@given(st.floats(min_value=-1e7, max_value=1e7, allow_nan=False))
def test_every_rendering_reads_back_as_the_same_units(number: float) -> None:
    frame = pl.DataFrame({"v": [number]})
    for fmt in NUMERIC:
        token = pl.lit(text.render_value(number, fmt))
        match = frame.select(text.shown_matches(token, pl.col("v"), fmt)).item()
        assert match, (fmt, number, text.render_value(number, fmt))
        regex = template_regex("{x.v:" + fmt + "}")
        assert pl.select(pl.lit(text.render_value(number, fmt)).str.contains(regex)).item(), fmt


def test_money_is_always_dollars_and_cents() -> None:
    assert text.money(1234.5) == "$1,234.50"
    assert text.money(65) == "$65.00"
    assert text.money(-40.5) == "-$40.50"
    assert text.money(None) is None
    assert text.balance(-1208.85) == "$1,208.85 below zero"
    assert text.balance(12.0) == "$12.00"
    assert text.pct(0.675) == "68%"
    assert text.render_value(10.9, "months") == "10.9 months"
    assert text.render_value(1.02, "months") == "1 month"
    assert text.render_value(1, "count_subscription") == "1 subscription"
    assert text.render_value(3, "count_recurring_charge") == "3 recurring charges"
    assert text.render_value("biweekly", "frequency") == "every two weeks"
    assert text.render_value("sometimes", "frequency") is None


def test_showable_refuses_zero_negative_and_unknown_values() -> None:
    assert not text.showable(0.004, "money")  # $0.00
    assert not text.showable(-3.0, "money")
    assert not text.showable(-0.03, "pct")  # "grew -3%"
    assert text.showable(-1208.85, "balance")  # said "below zero"
    assert not text.showable(0.001, "balance")
    assert not text.showable(0.04, "months")  # 0 months
    assert not text.showable("sometimes", "frequency")
    assert text.showable(0.06, "months") and text.showable(1, "count_card")


BAD = {
    "zero_value": "Your pay arrives on an irregular schedule, about $0.00 a month.",
    "empty_value": "Your savings balance is None.",
    "spacing": "Your balance is $12.00 .",
    "plural_one": "You have 1 recurring subscriptions.",
    "plural_many": "You have 3 card with balances.",
    "negative_money": "Your checking balance averaged -$1,208.85.",
    "negative_number": "Your savings grew -3% this month.",
    "money_format": "That is about $65 a month.",
    "percent_format": "Your card is at 68.5% of its limit.",
    "jargon": "Your utilization is 68%.",
    "capital_start": "your card is at 68% of its limit.",
    "full_stop": "Your card is at 68% of its limit",
    "because_twice": "Because we suggested this because it helps.",
    "shaming": "You are so bad with money.",
}
GOOD = [
    "We suggested this because you have 1 recurring subscription adding up to about $65.00 a month.",
    "Your checking balance averaged $1,208.85 below zero over the last 30 days.",
    "Your savings would cover about 10.9 months of your usual expenses.",
    "Your highest card balance is 68% of its limit (many people aim to stay under 30%).",
    "You have 2 cards and 12 recurring charges.",
]


@pytest.mark.parametrize("rule", [r.id for r in text.CONTRACT])
def test_each_rule_catches_its_example_in_python_and_polars(rule: str) -> None:
    sentence = BAD[rule]
    assert rule in text.sentence_problems(sentence)
    found = pl.select(text.sentence_problems_expr(pl.lit(sentence))).item().to_list()
    assert rule in found


def test_good_sentences_pass_both_checks() -> None:
    for sentence in GOOD:
        assert text.sentence_problems(sentence) == [], sentence
    frame = pl.DataFrame({"s": GOOD}).select(text.sentence_problems_expr("s"))
    assert frame.to_series().to_list() == [[] for _ in GOOD]


def test_python_and_polars_contract_agree_on_every_example() -> None:
    sentences = [*BAD.values(), *GOOD]
    frame = pl.DataFrame({"s": sentences}).select(text.sentence_problems_expr("s"))
    assert frame.to_series().to_list() == [text.sentence_problems(s) for s in sentences]


def test_render_template_in_python_matches_the_frame_renderer() -> None:
    template = "You have {s.n:count_subscription}, about {s.m:money} a month ({s.b:balance})."
    values = {"s.n": 1, "s.m": 65, "s.b": -12.5}
    assert render_template(template, values) == (
        "You have 1 subscription, about $65.00 a month ($12.50 below zero)."
    )
    assert render_template(template, {**values, "s.m": None}) is None
