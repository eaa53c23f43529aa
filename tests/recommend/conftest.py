"""Fixtures for the recommendation tests; the frame builders live in recommend_builders.py."""

from __future__ import annotations

import pytest

from spendsense.recommend.catalog import Catalog, load_catalog


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The shipped catalog (spendsense/content)."""
    return load_catalog()
