"""Tone guardrail: the corpus, the Polars expression, and agreement between the two."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import yaml

from spendsense.guardrails.tone import tone_violations, tone_violations_expr

CORPUS = yaml.safe_load((Path(__file__).parent / "data" / "tone_corpus.yaml").read_text())


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS["acceptable"]) >= 20
    assert len(CORPUS["unacceptable"]) >= 20


@pytest.mark.parametrize("sentence", CORPUS["acceptable"])
def test_acceptable_sentences_pass(sentence: str) -> None:
    assert tone_violations(sentence) == []


@pytest.mark.parametrize("sentence", CORPUS["unacceptable"])
def test_unacceptable_sentences_fail(sentence: str) -> None:
    assert tone_violations(sentence) != []


def test_expression_agrees_with_python_check() -> None:
    sentences = [*CORPUS["acceptable"], *CORPUS["unacceptable"]]
    found = pl.DataFrame({"t": sentences}).select(tone_violations_expr("t"))["t"].to_list()
    assert [bool(v) for v in found] == [bool(tone_violations(s)) for s in sentences]
