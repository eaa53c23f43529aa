"""Fixtures for the evaluation tests: a hand-made population in a fresh tmp database."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import eval_population

from spendsense.config import Settings
from spendsense.eval.load import Stored, load_stored


@pytest.fixture
def populated(tmp_path: Path) -> tuple[Settings, Path]:
    """Settings pointing at a tmp data dir with the population, and its catalog folder."""
    content = eval_population.build(tmp_path)
    return Settings(data_dir=tmp_path), content


@pytest.fixture
def stored(populated: tuple[Settings, Path]) -> Stored:
    """The population as the metrics read it."""
    return load_stored(populated[0].data_dir)
