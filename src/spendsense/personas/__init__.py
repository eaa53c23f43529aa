"""Personas stage: rules -> priority -> severity -> primary/secondary + trace."""

from __future__ import annotations

from spendsense.personas.assign import ASSIGNMENT_COLUMNS, assign_personas
from spendsense.personas.config import PersonasConfig
from spendsense.personas.confusion import (
    ARCHETYPE_PERSONA,
    confusion_matrix,
    render_confusion,
    render_confusion_matrix,
)
from spendsense.personas.metadata import PERSONA_METADATA

__all__ = [
    "ARCHETYPE_PERSONA",
    "ASSIGNMENT_COLUMNS",
    "PERSONA_METADATA",
    "PersonasConfig",
    "assign_personas",
    "confusion_matrix",
    "render_confusion",
    "render_confusion_matrix",
]
