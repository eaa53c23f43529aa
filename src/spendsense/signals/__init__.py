"""Signals stage: behavioural features per user, window and as-of date, computed whole-table."""

from __future__ import annotations

from spendsense.signals.compute import compute_features
from spendsense.signals.config import SignalsConfig
from spendsense.signals.recurring import detect_recurring

__all__ = ["SignalsConfig", "compute_features", "detect_recurring"]
