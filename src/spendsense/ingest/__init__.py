"""Ingest: read Plaid-style inputs (any format, detected per file), validate, quarantine bad records.

``ingest_paths`` is the one entry point: files or folders in, a validated
``LedgerBatch`` out. See docs/ingest.md for formats, rules and reject reasons.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from spendsense.errors import InputUnreadable
from spendsense.ingest.bulk import TEXT_HOOKS, loads
from spendsense.ingest.mapping import Mapping, load_mapping, read_mapped
from spendsense.ingest.plaid import kind_of, read_plaid, stamp_of, user_from_name
from spendsense.ingest.quarantine import write_quarantine
from spendsense.ingest.sandbox import read_sandbox
from spendsense.ingest.staging import Staged
from spendsense.ingest.tabular import read_tabular, utf8_bytes
from spendsense.ingest.validate import validate
from spendsense.ledger.batch import LedgerBatch, Reject

__all__ = ["ingest_paths", "write_quarantine"]

SUFFIXES = {".json": "json", ".csv": "table", ".parquet": "table", ".pq": "table"}
SKIP_DIR = "ground_truth"
FLUSH_EVERY = 2000  # files staged in bulk before their records become frames (bounds memory)
UNKNOWN_JSON = (
    "unrecognised JSON: not a user bundle, a Plaid response (/accounts/get, /transactions/get, "
    "/transactions/sync, /liabilities/get) or a sandbox config (override_accounts)"
)


def discover(paths: list[Path]) -> list[Path]:
    """Files named directly, plus JSON/CSV/Parquet files under folders (sorted, recursive).

    Inside a folder, ``ground_truth/`` folders (the generator's answers, not ledger
    tables) are skipped.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file()
                    and p.suffix.lower() in SUFFIXES
                    and SKIP_DIR not in p.relative_to(path).parts[:-1]
                )
            )
        else:
            found.append(path)
    return list(dict.fromkeys(found))


def _read_json(path: Path, hooks: dict[str, Any] | None = None) -> object:
    """JSON in UTF-8/16/32 (json detects those, with or without a mark), else Windows-1252."""
    raw = path.read_bytes()
    try:
        try:
            return loads(raw, hooks)
        except UnicodeDecodeError:
            return loads(utf8_bytes(raw), hooks)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InputUnreadable(f"{path.name}: not valid JSON ({exc})") from exc


def read_file(path: Path, *, user_id: str | None, mapping: Mapping | None) -> Staged:
    """Stage one file in whatever format it is; InputUnreadable if it cannot be read at all."""
    file = str(path)
    if not path.exists():
        raise InputUnreadable(f"{path.name}: no such file or folder ({path})")
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InputUnreadable(f"{path.name}: not JSON, CSV or Parquet")
    user = user_id or user_from_name(path)
    if kind == "table":
        try:
            return read_tabular(path, file, user, mapping)
        except (OSError, pl.exceptions.PolarsError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputUnreadable(f"{path.name}: cannot read table ({first})") from exc
    doc = _read_json(path, TEXT_HOOKS)  # numbers as text, for bulk staging
    shape = kind_of(doc)
    if shape == "sandbox":
        return read_sandbox(_read_json(path), file, user_id or path.stem)  # type: ignore[arg-type]
    if mapping is not None and isinstance(doc, dict):
        return read_mapped(_read_json(path), file, user_id, mapping)  # type: ignore[arg-type]
    if shape is None:
        staged = Staged()
        staged.file_rejects.append((file, "file", "unknown", UNKNOWN_JSON, None))
        return staged
    assert isinstance(doc, dict)
    own = doc.get("user_id")
    if user is None and isinstance(own, str) and own.strip():
        user = own
    return read_plaid(doc, file, user, stamp_of(path))


def ingest_paths(
    paths: list[Path],
    *,
    user_id: str | None = None,
    mapping: Path | None = None,
    known_account_ids: set[str] | None = None,
    known_user_ids: set[str] | None = None,
) -> LedgerBatch:
    """Read, validate and normalise every file under ``paths`` into one batch.

    Args:
        paths: files or folders (folders are searched recursively for .json/.csv/.parquet).
        user_id: the user for raw Plaid responses and sandbox configs (else from the file name).
        mapping: a YAML column mapping for outside exports (see mappings/).
        known_account_ids: accounts already stored, so transactions may reference them.
        known_user_ids: users already stored (no placeholder user row is made for them).

    Raises InputUnreadable when a single input, or every input, cannot be read.
    """
    rules = load_mapping(mapping) if mapping is not None else None
    files = discover(paths)
    if not files:
        raise InputUnreadable(
            "no JSON, CSV or Parquet files found in " + ", ".join(map(str, paths))
        )
    staged = Staged()
    readable = 0
    errors: list[InputUnreadable] = []
    for path in files:
        try:
            part = read_file(path, user_id=user_id, mapping=rules)
        except InputUnreadable as exc:
            errors.append(exc)
            staged.file_rejects.append((str(path), "file", "file", exc.message, None))
            continue
        readable += 1
        staged.extend(part)
        if readable % FLUSH_EVERY == 0:
            staged.flush()
    if readable == 0:
        raise (
            errors[0]
            if len(errors) == 1
            else InputUnreadable(
                f"none of {len(files)} inputs could be read; first: {errors[0].message}"
            )
        )
    return validate(staged, known_account_ids=known_account_ids, known_user_ids=known_user_ids)


def reject_counts(rejects: list[Reject]) -> dict[str, int]:
    """Rejects per table (for summaries)."""
    counts: dict[str, int] = {}
    for r in rejects:
        counts[r.table] = counts.get(r.table, 0) + 1
    return counts
