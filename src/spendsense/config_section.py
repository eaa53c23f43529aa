"""The base of every configuration section: unknown keys are an error, never silently dropped."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A configuration block; a key it does not declare fails validation (typos surface)."""

    model_config = ConfigDict(extra="forbid")
