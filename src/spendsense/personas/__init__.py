"""Personas stage: rules -> priority -> severity -> primary/secondary + trace."""

from __future__ import annotations

from spendsense.personas.assign import ASSIGNMENT_COLUMNS, assign_personas
from spendsense.personas.config import PersonasConfig
from spendsense.personas.metadata import PERSONA_METADATA

__all__ = ["ASSIGNMENT_COLUMNS", "PERSONA_METADATA", "PersonasConfig", "assign_personas"]
