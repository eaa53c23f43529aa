"""A whole data folder copied for a throwaway run (the report's latency probe works on one)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from spendsense.paths import DB_NAME
from spendsense.store.ledger import LEDGER_DIR
from spendsense.store.outputs import FEATURES_DIR


def copy_data_dir(src: Path, dst: Path) -> Path:
    """Copy spendsense.db (through SQLite's backup API, so WAL content is included), the ledger
    and feature Parquet copies; returns ``dst``."""
    dst.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(src / DB_NAME)
    target = sqlite3.connect(dst / DB_NAME)
    with target:
        source.backup(target)
    source.close()
    target.close()
    for sub in (LEDGER_DIR, FEATURES_DIR):
        if (src / sub).is_dir():
            shutil.copytree(src / sub, dst / sub, dirs_exist_ok=True)
    return dst
