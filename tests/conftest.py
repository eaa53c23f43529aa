"""Shared fixtures: every test works in its own tmp_path, never ./data."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from spendsense.store import auth

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data folder; SPENDSENSE_DATA_DIR points at it so nothing touches ./data."""
    d = tmp_path / "data"
    d.mkdir()
    monkeypatch.setenv("SPENDSENSE_DATA_DIR", str(d))
    return d


@pytest.fixture
def shared_data() -> Path:
    """The read-only outside data sets beside the repository (../shared/data)."""
    path = SHARED / "data"
    if not path.exists():
        pytest.skip("../shared/data is not beside this checkout")
    return path


@pytest.fixture
def seed_config() -> dict[str, Any]:
    """The configuration block of the persona design seed (../shared/seeds), read where it lies."""
    for seed in sorted((SHARED / "seeds").glob("*")):
        found = re.search(r"Extend `config\.json`:\s*```json\n(.*?)```", seed.read_text(), re.S)
        if found:
            block: dict[str, Any] = json.loads(found.group(1))
            return block
    pytest.skip("the persona design seed is not beside this checkout")


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashing() -> Iterator[None]:
    """Argon2 with the smallest work factor: hashes stay real argon2 (verified the same way),
    but seeding an operator per test no longer costs the production work factor each time."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            auth, "_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
        )
        yield
