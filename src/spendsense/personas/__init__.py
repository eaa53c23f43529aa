"""Personas stage: rules -> priority -> severity -> primary/secondary + trace.

The names below load on first use (PEP 562), so that ``spendsense.personas.config`` (read by
the settings of every CLI command) does not pull in Polars: see docs/decisions.md, "CLI
start-up: heavy imports where they are used".
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spendsense.personas.assign import ASSIGNMENT_COLUMNS, assign_personas
    from spendsense.personas.config import PersonasConfig
    from spendsense.personas.confusion import (
        confusion_matrix,
        render_confusion,
        render_confusion_matrix,
    )
    from spendsense.personas.metadata import PERSONA_METADATA

_HOMES = {
    "ASSIGNMENT_COLUMNS": "assign",
    "assign_personas": "assign",
    "PersonasConfig": "config",
    "confusion_matrix": "confusion",
    "render_confusion": "confusion",
    "render_confusion_matrix": "confusion",
    "PERSONA_METADATA": "metadata",
}
__all__ = [
    "ASSIGNMENT_COLUMNS",
    "PERSONA_METADATA",
    "PersonasConfig",
    "assign_personas",
    "confusion_matrix",
    "render_confusion",
    "render_confusion_matrix",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
