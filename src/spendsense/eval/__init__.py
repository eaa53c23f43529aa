"""eval stage: metrics recomputed from the stored outputs, fairness, and the report."""

from __future__ import annotations

from spendsense.eval.report import build_report, compute_metrics
from spendsense.eval.result import EvalResult, Metric

__all__ = ["EvalResult", "Metric", "build_report", "compute_metrics"]
