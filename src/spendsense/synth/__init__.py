"""Seeded synthetic population with archetypes and ground truth (Plaid-shaped bundles or Parquet)."""

from __future__ import annotations

from spendsense.synth.generate import DEFAULT_AS_OF, FORMATS, GenerateResult, generate_population

__all__ = ["DEFAULT_AS_OF", "FORMATS", "GenerateResult", "generate_population"]
