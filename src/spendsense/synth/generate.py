"""Generate a seeded synthetic population block by block and write it as bundles or Parquet."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from spendsense.synth.block import generate_block
from spendsense.synth.output import (
    SHARD_SIZE,
    ParquetAppender,
    part_writer,
    truth_writer,
    write_bundles,
)
from spendsense.synth.plaid import plaid_tables, truth_tables
from spendsense.synth.variants import MAPPING_FILE, apply_variants, check, mapping_text

DEFAULT_AS_OF = date(2026, 10, 31)
FORMATS = ("plaid-json", "parquet")
PART_BLOCKS = 10  # blocks (of SHARD_SIZE users) per Parquet part: 10k users


@dataclass
class GenerateResult:
    """Counts and locations of what ``generate_population`` wrote."""

    users: int = 0
    accounts: int = 0
    transactions: int = 0
    out: Path = Path()
    fmt: str = "plaid-json"
    data_paths: list[Path] = field(default_factory=list)
    truth_paths: list[Path] = field(default_factory=list)
    mapping_path: Path | None = None  # with variants: the mapping that loads them


def generate_population(
    n_users: int,
    seed: int,
    out: Path,
    fmt: str = "plaid-json",
    as_of: date = DEFAULT_AS_OF,
    progress: Callable[[int], None] | None = None,
    variants: tuple[str, ...] = (),
) -> GenerateResult:
    """Write ``n_users`` synthetic users with ground truth under ``out``.

    Users are generated in blocks of 1,000 (each seeded by ``(seed, block)``), so the
    same seed gives the same users in either format and memory stays bounded.
    ``progress`` is called with the number of users done after each block. ``variants``
    reshape the data as outside exports do (``synth.variants``; the truth is unchanged) and
    ``out/mapping.yaml`` is written to load them back.
    """
    chosen = check(variants)
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if n_users < 1:
        raise ValueError("n_users must be at least 1")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result = GenerateResult(out=out, fmt=fmt)
    truth = truth_writer(out)
    parts: ParquetAppender | None = None
    n_blocks = -(-n_users // SHARD_SIZE)
    for block in range(n_blocks):  # one block of users at a time: bounded memory
        first = block * SHARD_SIZE
        n = min(SHARD_SIZE, n_users - first)
        generated = generate_block(seed, block, first, n, as_of)
        tables = apply_variants(plaid_tables(generated, as_of), chosen)
        truth.write(truth_tables(generated, as_of))
        result.users += tables["users"].height
        result.accounts += tables["accounts"].height
        result.transactions += tables["transactions"].height
        if fmt == "plaid-json":
            result.data_paths.extend(write_bundles(tables, out, first))
        else:  # each block is a row group; a part file holds PART_BLOCKS blocks
            parts = parts or part_writer(out, block // PART_BLOCKS)
            parts.write(tables)
            if (block + 1) % PART_BLOCKS == 0 or block == n_blocks - 1:
                result.data_paths.extend(parts.close())
                parts = None
        if progress is not None:
            progress(first + n)
    result.truth_paths = truth.close()
    if chosen:  # the mapping that loads these variants back, beside the data
        result.mapping_path = out / MAPPING_FILE
        result.mapping_path.write_text(mapping_text(chosen, bundles=fmt == "plaid-json"))
    return result
