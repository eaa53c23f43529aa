"""Signals stage: behavioural features per user, window and as-of date, computed whole-table.

The names below load on first use (PEP 562), so that ``spendsense.signals.config`` (read by
the settings of every CLI command) does not pull in Polars: see docs/decisions.md, "CLI
start-up: heavy imports where they are used".
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spendsense.signals.compute import compute_features, compute_features_from_scope
    from spendsense.signals.config import SignalsConfig
    from spendsense.signals.recurring import detect_recurring
    from spendsense.signals.story import (
        BehaviorSignals,
        behavior_signals,
        detect_subscriptions,
    )

_HOMES = {
    "compute_features": "compute",
    "compute_features_from_scope": "compute",
    "SignalsConfig": "config",
    "detect_recurring": "recurring",
    "BehaviorSignals": "story",
    "behavior_signals": "story",
    "detect_subscriptions": "story",
}
__all__ = [
    "BehaviorSignals",
    "SignalsConfig",
    "behavior_signals",
    "compute_features",
    "compute_features_from_scope",
    "detect_recurring",
    "detect_subscriptions",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
