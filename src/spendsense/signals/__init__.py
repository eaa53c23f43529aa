"""Signals stage: behavioural features per user, window and as-of date, computed whole-table."""

from __future__ import annotations

from spendsense.signals.compute import compute_features, compute_features_from_scope
from spendsense.signals.config import SignalsConfig
from spendsense.signals.recurring import detect_recurring
from spendsense.signals.story import BehaviorSignals, behavior_signals, detect_subscriptions

__all__ = [
    "BehaviorSignals",
    "SignalsConfig",
    "behavior_signals",
    "compute_features",
    "compute_features_from_scope",
    "detect_recurring",
    "detect_subscriptions",
]
