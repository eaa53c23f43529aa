"""Where a data folder is and what lives in it, without the settings models.

The settings (``spendsense.config``) are Pydantic models whose import and validation cost a
few tenths of a second; the CLI's light commands (consent, operator, customer, runs, token,
audit) need only the database's path, so they read it from here (docs/decisions.md, "CLI
start-up: heavy imports where they are used").
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DATA_DIR = Path("data")
DATA_DIR_ENV = "SPENDSENSE_DATA_DIR"
DB_NAME = "spendsense.db"


def resolve_data_dir(given: Path | None) -> Path:
    """The data folder given, else ``$SPENDSENSE_DATA_DIR``, else ``./data``."""
    if given is not None:
        return given
    named = os.environ.get(DATA_DIR_ENV)
    return Path(named) if named else DEFAULT_DATA_DIR


def db_path(data_dir: Path) -> Path:
    """The SQLite database of a data folder."""
    return data_dir / DB_NAME
