"""Staging: parsed records flattened into all-text frames, before validation.

Every reader turns its input into *staged frames*: one frame per source table,
every column a String holding the value as written (JSON numbers through their
shortest repr), nested objects flattened with ``_`` (``balances_current``).
Bookkeeping columns travel with each row: ``_file``, ``_pos`` (e.g.
``transactions[12]`` or ``row 7``), ``_rid`` (index of the original record,
kept for the quarantine), ``_user`` and ``_seq`` (the file's place in its chunk).
Validation then works on whole frames.

Files read natively (``ingest.native``) stage *typed* frames instead (numbers stay
numbers); ``Staged.groups`` hands validation the text and the typed rows of a table
as separate frames, each normalised by the same table function.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from spendsense.ingest.bulk import chunk_frame
from spendsense.ingest.records import Chunk, flatten, frame_of, text

META = ("_file", "_pos", "_rid", "_user")
SEQ = "_seq"


@dataclass
class Staged:
    """Staged frames per source table, plus what a reader found outside the tables."""

    frames: dict[str, list[pl.DataFrame]] = field(default_factory=dict)
    typed: dict[str, list[pl.DataFrame]] = field(default_factory=dict)  # read natively
    originals: list[object] = field(default_factory=list)
    # sync removals: file, pos, user, id, the file's place in its chunk (``_seq``)
    removed: list[tuple[str, str, str, str, int]] = field(default_factory=list)
    snapshots: list[str] = field(default_factory=list)  # users whose bundle (whole ledger) this is
    cursors: list[tuple[str, str, str]] = field(default_factory=list)
    file_rejects: list[tuple[str, str, str, str, object]] = field(default_factory=list)
    chunks: list[Chunk] = field(default_factory=list)
    rows: int = 0  # records staged so far (frames and waiting chunks): how big a chunk is

    def add_records(
        self,
        table: str,
        records: object,
        *,
        file: str,
        where: str,
        user: str | None,
        extra: dict[str, str | None] | None = None,
        bulk: bool = False,
    ) -> None:
        """Stage a JSON list of records found at ``where`` (non-objects are staged empty, to reject).

        ``bulk``: the records were parsed with ``bulk.TEXT_HOOKS`` and wait as a chunk, to be
        turned into rows for many files at once (``flush``). No copy is kept for the
        quarantine: a rejected record is read again from its file (``_rid`` is null).
        """
        if not isinstance(records, list):
            if records is not None:
                self.file_rejects.append((file, where, table, "expected a list of records", None))
            return
        if bulk and not extra and all(type(r) is dict for r in records):
            if records:
                self.chunks.append(Chunk(table, records, file, where, user))
                self.rows += len(records)
            return
        rows = []
        for i, rec in enumerate(records):
            if isinstance(rec, dict):
                flat = {k: v for k, v in flatten(rec).items() if not k.startswith("_")}
            else:
                flat = {"_not_object": text(rec) or "null"}
            if extra:
                flat = {**extra, **flat}
            flat.update({"_file": file, "_pos": f"{where}[{i}]", "_rid": str(len(self.originals))})
            flat["_user"] = user
            self.originals.append(rec)
            rows.append(flat)
        if rows:
            self.add_frame(table, frame_of(rows))

    def add_frame(self, table: str, frame: pl.DataFrame) -> None:
        """Stage an already-built text frame."""
        self.frames.setdefault(table, []).append(frame)
        self.rows += frame.height

    def add_typed(self, table: str, frame: pl.DataFrame) -> None:
        """Stage a typed frame read natively (same column names, typed values)."""
        self.typed.setdefault(table, []).append(frame)
        self.rows += frame.height

    def extend(self, other: Staged, seq: int | None = None) -> None:
        """Merge another file's staging (record ids are renumbered; ``seq``: its place)."""
        offset = len(self.originals)
        self.originals.extend(other.originals)
        tag = [] if seq is None else [pl.lit(seq, pl.Int64).alias(SEQ)]
        for table, frames in other.frames.items():
            for f in frames:
                shifted = f.with_columns(
                    (pl.col("_rid").cast(pl.Int64) + offset).cast(pl.String).alias("_rid"), *tag
                )
                self.add_frame(table, shifted)
        for table, frames in other.typed.items():
            for f in frames:
                self.add_typed(table, f)
        if seq is not None:
            for chunk in other.chunks:
                chunk.seq = seq
        self.chunks.extend(other.chunks)
        self.rows += sum(len(c.records) for c in other.chunks)
        self.removed.extend(
            other.removed if seq is None else [(*r[:4], seq) for r in other.removed]
        )
        self.snapshots.extend(other.snapshots)
        self.cursors.extend(other.cursors)
        self.file_rejects.extend(other.file_rejects)

    def flush(self) -> None:
        """Turn waiting chunks into one staged frame per table (see ``bulk.chunk_frame``)."""
        by_table: dict[str, list[Chunk]] = {}
        for chunk in self.chunks:
            by_table.setdefault(chunk.table, []).append(chunk)
        self.chunks = []
        for table, chunks in by_table.items():
            self.frames.setdefault(table, []).append(chunk_frame(chunks))  # already counted

    def table(self, name: str) -> pl.DataFrame:
        """All staged text frames of one table, stacked (String columns; missing columns null)."""
        self.flush()
        frames = self.frames.get(name, [])
        if not frames:
            return pl.DataFrame(schema=dict.fromkeys(META, pl.String()))
        return _with_meta(pl.concat(frames, how="diagonal") if len(frames) > 1 else frames[0])

    def groups(self, name: str) -> list[pl.DataFrame]:
        """One table's staged rows as frames of one kind each: the text rows, the typed rows.

        Rows carry ``_seq`` (their file's place): put them back in file order with it.
        """
        self.flush()
        out = []
        if self.frames.get(name):
            out.append(self.table(name))
        typed = self.typed.get(name, [])
        if typed:
            out.append(_with_meta(pl.concat(typed, how="diagonal") if len(typed) > 1 else typed[0]))
        return out


def _with_meta(frame: pl.DataFrame) -> pl.DataFrame:
    """The bookkeeping columns present (null where a reader had none)."""
    missing = [pl.lit(None, pl.String).alias(c) for c in META if c not in frame.columns]
    if SEQ not in frame.columns:
        missing.append(pl.lit(0, pl.Int64).alias(SEQ))
    return frame.with_columns(missing)
