"""Ingest: read Plaid-style inputs (any format, detected per file), validate, quarantine bad records.

``ingest_chunks`` is the one entry point: files or folders in, validated
``LedgerBatch`` chunks out. See docs/ingest.md for formats, rules and reject reasons.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl

from spendsense.errors import InputUnreadable
from spendsense.ingest.bulk import TEXT_HOOKS, loads
from spendsense.ingest.conventions import Conventions
from spendsense.ingest.mapping import Mapping, load_mapping
from spendsense.ingest.native import Document, read_native
from spendsense.ingest.ownership import OwnerLookup
from spendsense.ingest.plaid import kind_of, read_plaid, stamp_of, user_from_name
from spendsense.ingest.prefetch import read_ahead
from spendsense.ingest.quarantine import write_quarantine
from spendsense.ingest.sandbox import read_sandbox
from spendsense.ingest.shapes import prepare, read_mapped
from spendsense.ingest.staging import Staged
from spendsense.ingest.tabular import read_tabular_parts, utf8_bytes
from spendsense.ingest.validate import Seen, StagedLookup, finish, validate_chunk
from spendsense.ledger.batch import LedgerBatch

__all__ = ["ingest_chunks", "write_quarantine"]

SUFFIXES = {".json": "json", ".csv": "table", ".parquet": "table", ".pq": "table"}
SKIP_DIR = "ground_truth"
FLUSH_EVERY = 2000  # files per chunk: staged in bulk, then validated together (bounds memory)
CHUNK_ROWS = 500_000  # records per chunk (a bigger single file is a chunk of its own)
BYTES_PER_RECORD = 400  # a JSON file's records, estimated from its size (bundles: ~450 B each)
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


def read_parts(
    path: Path, *, user_id: str | None, mapping: Mapping | None, rows: int | None
) -> Iterator[Staged]:
    """Stage one file, a big Parquet file ``rows`` rows at a time (else whole).

    Raises InputUnreadable if the file cannot be read (a Parquet file damaged past its
    first slice: after the slices before the damage).
    """
    file = str(path)
    if not path.exists():
        raise InputUnreadable(f"{path.name}: no such file or folder ({path})")
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InputUnreadable(f"{path.name}: not JSON, CSV or Parquet")
    user = user_id or user_from_name(path)
    if kind == "table":
        parts = read_tabular_parts(path, file, user, mapping, rows or 2**62)
        while True:
            try:
                part = next(parts, None)
            except (OSError, pl.exceptions.PolarsError) as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise InputUnreadable(f"{path.name}: cannot read table ({first})") from exc
            if part is None:
                return
            yield part
    yield _read_json_file(path, file, user, user_id=user_id, mapping=mapping)


def _read_json_file(
    path: Path, file: str, user: str | None, *, user_id: str | None, mapping: Mapping | None
) -> Staged:
    doc = _read_json(path, TEXT_HOOKS)  # numbers as text, for bulk staging
    shape = kind_of(doc)
    if shape == "sandbox":
        return read_sandbox(_read_json(path), file, user_id or path.stem)  # type: ignore[arg-type]
    if mapping is not None and mapping.lists and isinstance(doc, dict):
        return read_mapped(_read_json(path), file, user_id, mapping, stamp_of(path))  # type: ignore[arg-type]
    if shape is None:
        staged = Staged()
        staged.file_rejects.append((file, "file", "unknown", UNKNOWN_JSON, None))
        return staged
    assert isinstance(doc, dict)
    own = doc.get("user_id")
    if user is None and isinstance(own, str) and own.strip():
        user = own
    return read_plaid(doc, file, user, stamp_of(path))


def ingest_chunks(
    paths: list[Path],
    *,
    user_id: str | None = None,
    mapping: Path | None = None,
    known_account_ids: set[str] | None = None,
    known_user_ids: set[str] | None = None,
    chunk_files: int | None = None,
    chunk_rows: int | None = None,
    on_file: Callable[[int, int], object] | None = None,
    native: bool = True,
    owner_lookup: OwnerLookup | None = None,
    staged_lookup: StagedLookup | None = None,
    staged_owners: OwnerLookup | None = None,
) -> Iterator[LedgerBatch]:
    """Read and validate the files under ``paths`` a chunk at a time, in bounded memory.

    Each chunk (``chunk_files`` files or about ``chunk_rows`` records, whichever comes
    first) is staged, validated and yielded as its own batch; between chunks only ids are
    kept (``validate.Seen``), so a duplicate of an earlier chunk's id is still rejected and
    an account loaded by an earlier chunk is known. A last batch brings the placeholder
    users. The batches belong together: apply all of them or none.

    Args:
        paths: files or folders (folders are searched recursively for .json/.csv/.parquet).
        user_id: the user for raw Plaid responses and sandbox configs (else from the file name).
        mapping: a YAML column mapping for outside exports (see mappings/).
        known_account_ids: accounts already stored, so transactions may reference them.
        known_user_ids: users already stored (no placeholder user row is made for them).
        chunk_files: files per chunk (default ``FLUSH_EVERY``).
        chunk_rows: records per chunk (default ``CHUNK_ROWS``); a big Parquet file is read in
            slices of this many rows, a big JSON file is one chunk.
        on_file: told ``(files done, files in all)`` before each file and at the end.
        native: read JSON files with the columnar reader (``native``), the per-file path only
            for what it cannot take; False reads every file the per-file way (for tests).
        owner_lookup: the store's owners of ids, so a record that is another user's is
            rejected (see ``ingest.ownership``).
        staged_lookup: where the caller stages the batches (``store.ledger.Stage.staged_ids``):
            duplicates of transactions and liabilities of earlier chunks are looked up there
            instead of kept in memory. The caller must then stage each batch before it asks
            for the next one.
        staged_owners: the users of those staged ids (``store.ledger.Stage.staged_owners``),
            so a sync removal of a transaction an earlier chunk added is judged by its user.

    Raises InputUnreadable when a single input, or every input, cannot be read (after the
    other chunks were yielded: the caller must not have applied them yet).
    """
    max_files = chunk_files or FLUSH_EVERY
    max_rows = chunk_rows or CHUNK_ROWS
    rules = load_mapping(mapping) if mapping is not None else None
    adjust = (rules.conventions() if rules is not None else Conventions()).adjust
    files = discover(paths)
    if not files:
        raise InputUnreadable(
            "no JSON, CSV or Parquet files found in " + ", ".join(map(str, paths))
        )
    seen = Seen.of(known_account_ids, known_user_ids, owner_lookup, staged_lookup, staged_owners)
    read = _staged_chunks(files, user_id, rules, native, max_files, max_rows, on_file)
    for staged in read_ahead(read):
        if rules is not None:
            prepare(staged, rules)
        yield validate_chunk(staged, seen, adjust)
    yield finish(seen)


def _staged_chunks(
    files: list[Path],
    user_id: str | None,
    rules: Mapping | None,
    native: bool,
    max_files: int,
    max_rows: int,
    on_file: Callable[[int, int], object] | None,
) -> Iterator[Staged]:
    """The files read into staged chunks (see ``ingest_chunks``), not yet validated.

    Raises InputUnreadable when a single input, or every input, cannot be read.
    """
    staged = Staged()
    counts = [0]  # files read
    errors: list[InputUnreadable] = []
    pending: list[tuple[Path, int]] = []  # JSON files waiting to be read natively, together
    pending_rows = in_chunk = 0  # their records, estimated from their size; files in the chunk
    for done, path in enumerate(files):
        if on_file is not None:
            on_file(done, len(files))
        seq = in_chunk
        in_chunk += 1
        if (
            native
            and rules is None
            and SUFFIXES.get(path.suffix.lower()) == "json"
            and path.is_file()
        ):
            pending.append((path, seq))
            pending_rows += path.stat().st_size // BYTES_PER_RECORD
        else:
            try:
                for part in read_parts(path, user_id=user_id, mapping=rules, rows=max_rows):
                    staged.extend(part, seq=seq)
                    if staged.rows + pending_rows >= max_rows:
                        _read_pending(pending, staged, counts, errors, user_id)
                        yield staged
                        staged, pending, pending_rows = Staged(), [], 0
                counts[0] += 1
            except InputUnreadable as exc:
                errors.append(exc)
                staged.file_rejects.append((str(path), "file", "file", exc.message, None))
        if in_chunk >= max_files or staged.rows + pending_rows >= max_rows:
            _read_pending(pending, staged, counts, errors, user_id)
            yield staged
            staged, pending, pending_rows, in_chunk = Staged(), [], 0, 0
    _read_pending(pending, staged, counts, errors, user_id)
    if on_file is not None:
        on_file(len(files), len(files))
    if counts[0] == 0:
        raise (
            errors[0]
            if len(errors) == 1
            else InputUnreadable(
                f"none of {len(files)} inputs could be read; first: {errors[0].message}"
            )
        )
    if (
        staged.rows
        or staged.file_rejects
        or staged.removed
        or staged.cursors
        or staged.typed
        or staged.chunks
    ):
        yield staged


def _read_pending(
    pending: list[tuple[Path, int]],
    staged: Staged,
    counts: list[int],
    errors: list[InputUnreadable],
    user_id: str | None,
) -> None:
    """Read the waiting JSON files into ``staged``: natively, else one by one (``native``)."""
    if not pending:
        return
    docs = [
        Document(p, seq, user_id or user_from_name(p), functools.partial(stamp_of, p))
        for p, seq in pending
    ]
    result = read_native(docs)
    staged.extend(result.staged)
    counts[0] += len(docs) - len(result.fallback)
    for doc in sorted(result.fallback, key=lambda d: d.seq):
        try:
            part = _read_json_file(doc.path, str(doc.path), doc.user, user_id=user_id, mapping=None)
        except InputUnreadable as exc:
            errors.append(exc)
            staged.file_rejects.append((str(doc.path), "file", "file", exc.message, None))
            continue
        staged.extend(part, seq=doc.seq)
        counts[0] += 1
