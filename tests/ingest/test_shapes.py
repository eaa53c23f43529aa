"""Outside export shapes: each a small fixture with its mapping and the ledger it must give.

``tests/data/shapes/<shape>/`` holds ``export.json`` (or an ``input/`` folder of files),
``mapping.yaml`` and ``expected/<table>.csv`` with the rows (and columns) the ledger table
must hold exactly; ``expected/rejects.csv`` lists the rejected positions and reasons (none
when absent).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from ingest_helpers import ingest_paths

from spendsense.ledger.schema import PRIMARY_KEYS

SHAPES = Path(__file__).resolve().parents[1] / "data" / "shapes"


def shape_input(folder: Path) -> Path:
    return folder / "input" if (folder / "input").is_dir() else folder / "export.json"


@pytest.mark.parametrize("shape", sorted(p.name for p in SHAPES.iterdir() if p.is_dir()))
def test_shape_loads_into_the_expected_ledger(shape: str) -> None:
    folder = SHAPES / shape
    batch = ingest_paths([shape_input(folder)], mapping=folder / "mapping.yaml")
    expected_dir = folder / "expected"
    for path in sorted(expected_dir.glob("*.csv")):
        want = pl.read_csv(path, infer_schema=False)
        if path.stem == "rejects":
            got = sorted((r.position, r.reason) for r in batch.rejects)
            assert got == sorted(want.rows()), shape
            continue
        frame = batch.frames[path.stem].sort(list(PRIMARY_KEYS[path.stem]))
        got_rows = frame.select(want.columns).cast(pl.String).rows()
        assert got_rows == want.rows(), f"{shape}: {path.stem}"
    if not (expected_dir / "rejects.csv").exists():
        assert batch.rejects == [], shape


@pytest.mark.parametrize("shape", ["reverse_sign", "unsigned", "csv_set"])
def test_shape_without_its_sign_is_refused_naming_the_fix(shape: str, tmp_path: Path) -> None:
    """Without its ``sign:`` line the export's every transaction is refused, the fix named."""
    folder = SHAPES / shape
    lines = (folder / "mapping.yaml").read_text().splitlines()
    sign = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("sign:"))
    unsigned = tmp_path / "mapping.yaml"
    unsigned.write_text("\n".join(line for line in lines if not line.startswith("sign:")))
    batch = ingest_paths([shape_input(folder)], mapping=unsigned)
    assert batch.frames["transactions"].height == 0
    refused = [r for r in batch.rejects if r.table == "transactions"]
    assert refused and all(f"set `sign: {sign}` in the mapping" in r.reason for r in refused)
