"""Fixtures for the page tests: the API tests' seeded database, a client, a signed-in client."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))

from apiseed import Seeded, seed, sign_in

from spendsense.api.app import create_app


@pytest.fixture
def seeded(tmp_path: Path) -> Seeded:
    return seed(tmp_path / "data")


@pytest.fixture
def client(seeded: Seeded) -> Iterator[TestClient]:
    with TestClient(create_app(seeded.settings, cookie_secure=False)) as c:
        yield c


@pytest.fixture
def console(client: TestClient) -> TestClient:
    """A client signed in as the operator 'alice'."""
    assert sign_in(client) == 303
    return client
