"""Disclosure guardrail: the exact text, attached to every row."""

from __future__ import annotations

import polars as pl

from spendsense.guardrails.disclosure import DISCLOSURE, missing_disclosure, with_disclosure


def test_disclosure_text_is_the_contract() -> None:
    assert DISCLOSURE == (
        "This is educational content, not financial advice. "
        "Consult a licensed advisor for personalized guidance."
    )


def test_every_row_gets_the_disclosure() -> None:
    frame = with_disclosure(pl.DataFrame({"item_id": ["a", "b"], "disclosure": [None, "other"]}))
    assert frame["disclosure"].to_list() == [DISCLOSURE, DISCLOSURE]
    assert missing_disclosure(frame).height == 0
    assert missing_disclosure(pl.DataFrame({"disclosure": ["x"]})).height == 1
