"""Archetype × primary persona counts and the plain-text rendering."""

from __future__ import annotations

import polars as pl

from spendsense.personas import confusion_matrix, render_confusion_matrix
from spendsense.synth.catalog import ARCHETYPE_PERSONA

ASSIGNMENTS = pl.DataFrame(
    {
        "user_id": ["a", "b", "c", "a", "b"],
        "window_days": [30, 30, 30, 180, 180],
        "primary_persona_name": ["High Utilization", None, "Savings Builder", None, None],
        "status": ["ASSIGNED", "STABLE", "ASSIGNED", "STABLE", "STABLE"],
    }
)
TRUTH = pl.DataFrame(
    {
        "user_id": ["a", "b", "c", "d"],
        "primary_archetype": ["high_utilization", "stable", "high_utilization", "stable"],
        "archetypes": [["high_utilization"], ["stable"], ["high_utilization"], ["stable"]],
    }
)


def test_counts_per_archetype_and_window() -> None:
    m = confusion_matrix(ASSIGNMENTS, TRUTH, 30)
    assert m["primary_archetype"].to_list() == ["high_utilization", "stable"]
    assert m["users"].to_list() == [2, 2]
    assert m["High Utilization"].to_list() == [1, 0]
    assert m["Savings Builder"].to_list() == [1, 0]
    assert m["STABLE"].to_list() == [0, 1]
    assert m["not_assigned"].to_list() == [0, 1]
    m180 = confusion_matrix(ASSIGNMENTS, TRUTH, 180)
    assert m180["STABLE"].to_list() == [1, 1]


def test_agreement_with_expected_mapping_and_rendering() -> None:
    m = confusion_matrix(ASSIGNMENTS, TRUTH, 30, expected=ARCHETYPE_PERSONA)
    assert m["expected"].to_list() == ["High Utilization", "STABLE"]
    assert m["agreement"].to_list() == [0.5, 0.5]
    text = render_confusion_matrix(m, title="Window 30d")
    assert text.splitlines()[0] == "Window 30d"
    assert "P5 = Cash Flow Stressed" in text and "high_utilization" in text
