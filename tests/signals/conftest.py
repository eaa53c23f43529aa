"""Fixtures for the signal tests (builders live in signal_builders.py)."""

from __future__ import annotations

import pytest
from signal_builders import LedgerBuilder


@pytest.fixture
def lb() -> LedgerBuilder:
    """A builder with one consented user and a personal checking account."""
    return LedgerBuilder().user().account("chk")
