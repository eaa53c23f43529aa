"""Atomic file replacement: write beside the target under a unique name, then rename."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A unique temporary path beside ``path``; renamed over it if the block succeeds.

    Unique (``mkstemp``), so two writers never share a temp file; a reader sees the old
    file or the new one, never a partial one; on error the temp file is removed.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def write_parquet_atomic(frame: pl.DataFrame, path: Path) -> Path:
    """``frame.write_parquet(path)`` through ``replacing``."""
    with replacing(path) as tmp:
        frame.write_parquet(tmp)
    return path
