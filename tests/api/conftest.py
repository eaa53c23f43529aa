"""Fixtures for the API tests: a seeded database in tmp_path and a TestClient on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from apiseed import Seeded, seed
from fastapi.testclient import TestClient

from spendsense.api.app import create_app


@pytest.fixture
def seeded(tmp_path: Path) -> Seeded:
    return seed(tmp_path / "data")


@pytest.fixture
def client(seeded: Seeded) -> Iterator[TestClient]:
    app = create_app(seeded.settings, cookie_secure=False)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
